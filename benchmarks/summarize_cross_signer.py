#!/usr/bin/env python3
"""Pool the folds of benchmarks/cross_signer.sh: every photo scored by the model that never saw
its signer. Prints a markdown table and per-letter row, writes cross_signer.json and a confusion
PNG per set and box beside the folds.

    python3 benchmarks/summarize_cross_signer.py runs/cross_signer
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from asl_edge.artifacts import write_json
from asl_edge.labels import letter_to_class
from asl_edge.metrics import compute, plot_confusion

SETS = {"photos": "real photos (400x400, on black)", "scenes": "hands pasted into scenes"}


def pooled(out: Path, kind: str, roi: str) -> dict | None:
    """Per-image predictions of both folds for one image set and box, pooled."""
    truth, pred, folds = [], [], {}
    for fold in sorted(p for p in out.iterdir() if (p / f"eval-{kind}").is_dir()):
        found = [f for f in sorted((fold / f"eval-{kind}").glob(f"images_*_{roi}.json"))
                 if not f.name.startswith("images_summary_")]
        if not found:
            continue
        f = found[0]  # one model per fold (its FP32 export)
        report = json.loads(f.read_text())
        folds[fold.name] = {"accuracy": report["accuracy"], "count": report["count"],
                            "scored": f"photos not matching {report.get('skipped')}"}
        for r in report["per_image"]:
            truth.append(letter_to_class(r["truth"]))
            pred.append(letter_to_class(r["predicted"]))
    if not truth:
        return None
    m = compute(np.array(truth), np.array(pred))
    plot_confusion(m, out / f"cross_signer_{kind}_{roi}_confusion.png",
                   f"{SETS[kind]}, unseen signer, --roi {roi}")
    return {"set": kind, "roi": roi, "accuracy": m.accuracy, "count": m.count, "folds": folds,
            "per_letter_accuracy": m.per_class_accuracy, "confusion_matrix": m.confusion_matrix}


def main(out: str) -> int:
    root = Path(out)
    rows = [r for kind in SETS for roi in ("center", "auto")
            if (r := pooled(root, kind, roi)) is not None]
    if not rows:
        print(f"no fold results under {root}", file=sys.stderr)
        return 1
    write_json(root / "cross_signer.json", {"rows": rows})
    print("| images | `--roi` | accuracy (unseen signer) | per fold |")
    print("|---|---|---:|---|")
    for r in rows:
        folds = ", ".join(f"{k}-trained {100 * v['accuracy']:.1f} % of {v['count']}"
                          for k, v in r["folds"].items())
        print(f"| {SETS[r['set']]} | {r['roi']} | {100 * r['accuracy']:.2f} % of {r['count']} | "
              f"{folds} |")
    auto = next((r for r in rows if r["set"] == "photos" and r["roi"] == "auto"), None)
    if auto:
        letters = list(auto["per_letter_accuracy"])
        print("\n| " + " | ".join(letters) + " |\n|" + "---|" * len(letters))
        print("| " + " | ".join(f"{100 * v:.0f}" for v in auto["per_letter_accuracy"].values())
              + " |")
    print(f"\nresults: {root / 'cross_signer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs/cross_signer"))
