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


def model_files(out: Path, kind: str, roi: str) -> list[str]:
    """The model file stems scored in every fold (asl_fp32, asl_int8, ...), FP32 first."""
    stems = None
    for fold in sorted(p for p in out.iterdir() if (p / f"eval-{kind}").is_dir()):
        here = {f.name[len("images_"):-len(f"_{roi}.json")]
                for f in (fold / f"eval-{kind}").glob(f"images_*_{roi}.json")
                if not f.name.startswith("images_summary_")}
        stems = here if stems is None else stems & here
    return sorted(stems or (), key=lambda s: (0 if "fp32" in s else 1, s))


def pooled(out: Path, kind: str, roi: str, stem: str) -> dict | None:
    """Per-image predictions of one model file in both folds, for one image set and box."""
    truth, pred, folds = [], [], {}
    for fold in sorted(p for p in out.iterdir() if (p / f"eval-{kind}").is_dir()):
        f = fold / f"eval-{kind}" / f"images_{stem}_{roi}.json"
        if not f.is_file():
            continue
        report = json.loads(f.read_text())
        folds[fold.name] = {"accuracy": report["accuracy"], "count": report["count"],
                            "scored": f"photos not matching {report.get('skipped')}"}
        for r in report["per_image"]:
            truth.append(letter_to_class(r["truth"]))
            pred.append(letter_to_class(r["predicted"]))
    if not truth:
        return None
    m = compute(np.array(truth), np.array(pred))
    if "fp32" in stem:
        plot_confusion(m, out / f"cross_signer_{kind}_{roi}_confusion.png",
                       f"{SETS[kind]}, unseen signer, --roi {roi}")
    return {"set": kind, "roi": roi, "model": stem, "accuracy": m.accuracy, "count": m.count,
            "folds": folds,
            "per_letter_accuracy": m.per_class_accuracy, "confusion_matrix": m.confusion_matrix}


def main(out: str) -> int:
    root = Path(out)
    rows = [r for kind in SETS for roi in ("center", "auto")
            for stem in model_files(root, kind, roi)
            if (r := pooled(root, kind, roi, stem)) is not None]
    if not rows:
        print(f"no fold results under {root}", file=sys.stderr)
        return 1
    write_json(root / "cross_signer.json", {"rows": rows})
    print("| images | `--roi` | model | accuracy (unseen signer) | per fold |")
    print("|---|---|---|---:|---|")
    for r in rows:
        folds = ", ".join(f"{k}-trained {100 * v['accuracy']:.1f} % of {v['count']}"
                          for k, v in r["folds"].items())
        print(f"| {SETS[r['set']]} | {r['roi']} | {r['model']} | {100 * r['accuracy']:.2f} % "
              f"of {r['count']} | {folds} |")
    auto = next((r for r in rows if r["set"] == "photos" and r["roi"] == "auto"
                 and "fp32" in r["model"]), None)
    if auto:
        letters = list(auto["per_letter_accuracy"])
        print("\n| " + " | ".join(letters) + " |\n|" + "---|" * len(letters))
        print("| " + " | ".join(f"{100 * v:.0f}" for v in auto["per_letter_accuracy"].values())
              + " |")
    print(f"\nresults: {root / 'cross_signer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs/cross_signer"))
