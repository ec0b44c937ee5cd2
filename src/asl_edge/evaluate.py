"""``asl-eval``: accuracy of model files (.keras, .onnx, TensorRT engines) on the test split,
or with ``--images DIR`` on labelled photos through the camera pipeline.

Prints one table (artifact, precision, size, accuracy, agreement with FP32) and writes JSON
plus a confusion-matrix PNG per model. ``.keras`` needs TensorFlow; the rest do not.

``--images DIR``: files named or foldered by letter (``A/x.jpg``, ``A_x.jpg``) are treated as
camera frames: the hand is located (``--roi center`` for the fixed centre box, ``auto`` for
hand localisation), cropped, normalised as the model card says and classified; per-letter
accuracy, a confusion PNG and JSON per model.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import cli
from .artifacts import write_json
from .errors import AslEdgeError
from .metrics import compute, save_report
from .parity import compare, predict_in_batches

log = logging.getLogger("asl_edge.eval")

EXAMPLES = """\
  asl-eval                                     # the shipped ONNX models
  asl-eval runs/train/model.keras src/asl_edge/models/asl_int8.onnx --out runs/eval
  asl-eval model.engine --backend tensorrt
  asl-eval --images ../shared/data/real_photos/massey_dev --roi auto   # real photos
"""


@dataclass
class LoadedModel:
    path: Path
    precision: str
    predict: Callable[[np.ndarray], np.ndarray]  # model inputs (N, 28, 28, 1) -> (N, 24)
    backend: str
    normalize: str = "none"  # what turns a 28x28 uint8 crop into its input (asl_edge.normalize)
    training_photos: frozenset = frozenset()  # digests of real photos it was trained on


def load_model(path: str | Path, backend: str = "auto") -> LoadedModel:
    """A predict function (N, 28, 28, 1) -> (N, 24) for any model file the project makes."""
    path = Path(path)
    if not path.is_file():
        raise AslEdgeError(f"{path}: no such model file")
    if path.suffix == ".keras":
        from .export.onnx_export import load_keras

        from .normalize import keras_mode, keras_training_photos

        model = load_keras(path)
        return LoadedModel(path, "fp32 (keras)",
                           lambda x: model.predict_on_batch(x).astype(np.float32), "keras",
                           keras_mode(path), frozenset(keras_training_photos(path)))
    from .normalize import UnknownNormalization, check_mode
    from .runtime.backend import open_backend

    b = open_backend(path, backend)
    try:
        mode = check_mode(b.card.normalize)
    except UnknownNormalization as e:
        raise AslEdgeError(f"{path}: {e}") from None
    return LoadedModel(path, b.card.precision, b.infer, b.info.backend, mode,
                       frozenset(b.card.training_photos))


def shipped_models() -> list[Path]:
    from .runtime.models import available

    return list(available().values())


def evaluate(paths: Sequence[str | Path], data: str | None = None, backend: str = "auto",
             out: str | Path | None = None, batch_size: int = 512) -> list[dict]:
    from tqdm import tqdm

    from .data import load_split

    test = load_split("test", data)
    rows, ref_probs = [], None
    for path in tqdm(list(paths), desc="evaluating", unit="model", disable=None):
        from .normalize import normalize_images

        m = load_model(path, backend)
        probs = predict_in_batches(m.predict, normalize_images(test.images, m.normalize),
                                   batch_size)
        metrics = compute(test.labels, probs.argmax(1))
        if ref_probs is None:  # the first model (FP32 when given) is the reference
            ref_probs = probs
        agreement = compare(ref_probs, probs).top1_agreement
        row = {"artifact": str(m.path), "precision": m.precision, "backend": m.backend,
               "size_bytes": m.path.stat().st_size, "accuracy": metrics.accuracy,
               "agreement_with_reference": agreement, "count": metrics.count}
        rows.append(row)
        if out:
            save_report(out, f"eval_{m.path.stem}", metrics, extra={**row, "data": str(test.path)})
    if out:
        write_json(Path(out) / "eval_summary.json", {"data": str(test.path), "rows": rows})
    return rows


def format_table(rows: list[dict]) -> str:
    head = f"{'artifact':<28} {'precision':<13} {'backend':<9} {'size':>9} {'accuracy':>9} " \
           f"{'agree':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{Path(r['artifact']).name:<28} {r['precision']:<13} {r['backend']:<9} "
                     f"{r['size_bytes'] / 1024:>7.0f}KB {100 * r['accuracy']:>8.2f}% "
                     f"{100 * r['agreement_with_reference']:>7.2f}%")
    return "\n".join(lines)


def locate_images(images: str | Path, roi: str = "center", margin: float | None = None,
                  skip: Sequence[str] = (), hand_mask: bool = True
                  ) -> tuple[list[dict], dict]:
    """Every labelled image under ``images`` -> its 28x28 gray crop (uint8) and box.

    Each image is a new scene (no tracking). Returns the records and the localisation summary
    (methods used, per-image ms). Images without a letter in their path are skipped.
    """
    import time

    from .modelcard import photo_digest
    from .runtime.localize import black_outside_hand, make_localizer
    from .runtime.preprocess import MODEL_SIZE, preprocess
    from .runtime.sources import ImageSource

    source = ImageSource(images, skip)
    loc = make_localizer(roi, track=False, margin=margin)
    records, times, skipped = [], [], 0
    for fr in source:
        if fr.truth is None:
            skipped += 1
            continue
        t0 = time.perf_counter()
        found = loc.locate(fr.image)
        times.append(1e3 * (time.perf_counter() - t0))
        if hand_mask and found.landmarks is not None:  # as the Classifier does
            crop = preprocess(black_outside_hand(fr.image, found.landmarks, found.box), None)
        else:
            crop = preprocess(fr.image, found.box)  # x/255: the raw 28x28 gray, exactly
        gray = np.rint(crop.reshape(MODEL_SIZE, MODEL_SIZE) * 255.0).astype(np.uint8)
        records.append({"source": fr.source, "truth": fr.truth, "gray": gray,
                        "digest": photo_digest(fr.source),
                        "box": list(found.box), "method": found.method,
                        "size": list(fr.image.shape[:2])})
    if not records:
        raise AslEdgeError(f"no image under {images} is labelled by a letter folder "
                           "(A/x.jpg) or name (A_x.jpg)")
    if skipped:
        log.warning("%d images without a letter in their path were skipped", skipped)
    t = np.asarray(times)
    summary = {"roi": roi, "localizer": loc.name, "methods": loc.counts, "skipped": skipped,
               "hand_mask": hand_mask,
               "localise_ms": {"p50": float(np.percentile(t, 50)),
                               "p90": float(np.percentile(t, 90)), "mean": float(t.mean())}}
    return records, summary


def evaluate_images(paths: Sequence[str | Path], images: str | Path, roi: str = "center",
                    backend: str = "auto", out: str | Path | None = None,
                    margin: float | None = None, skip: Sequence[str] = (),
                    hand_mask: bool = True) -> list[dict]:
    """Accuracy of each model on labelled photos through the camera pipeline (see module)."""
    from .labels import letter_to_class
    from .normalize import normalize

    records, loc_summary = locate_images(images, roi, margin, skip, hand_mask)
    gray = np.stack([r["gray"] for r in records])
    truth = np.array([letter_to_class(r["truth"]) for r in records])
    rows, used = [], set()
    for k, path in enumerate(paths):
        m = load_model(path, backend)
        x = normalize(gray, m.normalize).reshape(len(gray), 28, 28, 1)
        probs = predict_in_batches(m.predict, x, 256)
        pred = probs.argmax(1)
        metrics = compute(truth, pred)
        seen = sum(r["digest"] in m.training_photos for r in records)
        if seen:
            log.warning("%s was trained on %d of these %d images: its accuracy here is not a "
                        "held-out figure (score a signer it has not seen: --skip)", m.path.name,
                        seen, len(records))
        row = {"artifact": str(m.path), "precision": m.precision, "backend": m.backend,
               "normalize": m.normalize, "images": str(images), "skipped": list(skip),
               "roi": roi, "seen_in_training": seen,
               "accuracy": metrics.accuracy, "count": metrics.count,
               "per_letter_accuracy": metrics.per_class_accuracy}
        rows.append(row)
        if out:
            name = f"images_{m.path.stem}_{roi.replace(',', '_')}"
            name = name if name not in used else f"{name}_{k}"  # same name, other folder
            used.add(name)
            per_image = [{"source": r["source"], "truth": r["truth"],
                          "predicted": metrics.letters[int(p)],
                          "confidence": round(float(probs[i, p]), 5), "box": r["box"],
                          "method": r["method"],
                          "seen_in_training": r["digest"] in m.training_photos}
                         for i, (r, p) in enumerate(zip(records, pred))]
            save_report(out, name, metrics, extra={**row, "localisation": loc_summary,
                                                   "per_image": per_image})
    if out:
        write_json(Path(out) / f"images_summary_{roi.replace(',', '_')}.json",
                   {"images": str(images), "skipped": list(skip), "roi": roi,
                    "localisation": loc_summary,
                    "rows": rows})
    for r in rows:
        r["localisation"] = loc_summary
    return rows


def format_images_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    letters = list(rows[0]["per_letter_accuracy"])
    loc = rows[0]["localisation"]
    head = f"{'artifact':<24} {'roi':<7} {'accuracy':>9}  " + " ".join(f"{k:>3}" for k in letters)
    lines = [f"{rows[0]['count']} images from {rows[0]['images']}; localisation "
             f"{loc['localizer']}: {loc['methods']}, p50 {loc['localise_ms']['p50']:.1f} ms",
             head, "-" * len(head)]
    names = [Path(r["artifact"]).name for r in rows]
    if len(set(names)) < len(names):  # same file names from different folders: say which
        names = ["/".join(Path(r["artifact"]).parts[-2:]) for r in rows]
    for r, name in zip(rows, names):
        per = " ".join("  -" if np.isnan(v) else f"{100 * v:>3.0f}"
                       for v in r["per_letter_accuracy"].values())
        mark = "*" if r.get("seen_in_training") else " "
        lines.append(f"{name:<24} {r['roi']:<7} "
                     f"{100 * r['accuracy']:>8.2f}%{mark} {per}")
    seen = [r for r in rows if r.get("seen_in_training")]
    if seen:
        lines.append(f"* trained on {seen[0]['seen_in_training']} of these images: not a "
                     "held-out figure")
    return "\n".join(lines)


def build_parser():
    p = cli.parser("asl-eval", "Test-split accuracy of model files, one table; JSON and PNGs "
                   "with --out. Agreement is against the first FP32 model given.", EXAMPLES)
    p.add_argument("models", nargs="*", help=".keras, .onnx or .engine files "
                   "(default: the shipped ONNX models)")
    p.add_argument("--data", help="data root or CSV folder ($ASL_DATA, ../shared/data)")
    p.add_argument("--backend", default="auto", help="auto, ort-cpu, ort-cuda, ort-trt, tensorrt")
    p.add_argument("--out", default="runs/eval", help="folder for JSON and PNG results")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--images", metavar="DIR", help="evaluate on labelled photos instead "
                   "(folders or names by letter: A/x.jpg, A_x.jpg) through the camera pipeline")
    p.add_argument("--roi", default="center", help="with --images: 'center' (fixed box), "
                   "'auto' (hand localisation), 'hands', 'skin' or 'cx,cy,size'")
    p.add_argument("--margin", type=float, default=None,
                   help="with --roi auto/hands/skin: box margin as a share of the hand's size")
    p.add_argument("--hand-mask", action=argparse.BooleanOptionalAction, default=True,
                   help="with --roi auto/hands: black out everything but the hand the landmark "
                   "model found (as asl-live does)")
    p.add_argument("--skip", action="append", default=[], metavar="PATTERN",
                   help="with --images: leave out files whose name or path matches (e.g. "
                   "'hand1_*' to score only the signer a model was not trained on)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    paths = args.models or shipped_models()
    if not paths:
        raise AslEdgeError("no model given and no shipped models found; pass MODEL files")
    # the reference first: Keras if given, else FP32
    paths = sorted(paths, key=lambda p: 0 if str(p).endswith(".keras")
                   else 1 if "fp32" in Path(p).name else 2)
    if args.images:
        rows = evaluate_images(paths, args.images, args.roi, args.backend, args.out,
                               args.margin, args.skip, args.hand_mask)
        print(format_images_table(rows))
        print(f"results: {Path(args.out) / ('images_summary_' + args.roi.replace(',', '_'))}"
              ".json (per-letter JSON and confusion PNG per model beside it)")
        return 0
    rows = evaluate(paths, args.data, args.backend, args.out, args.batch_size)
    print(format_table(rows))
    print(f"results: {Path(args.out) / 'eval_summary.json'}")
    return 0


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
