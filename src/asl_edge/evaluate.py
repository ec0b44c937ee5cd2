"""``asl-eval``: accuracy of model files (.keras, .onnx, TensorRT engines) on the test split.

Prints one table (artifact, precision, size, accuracy, agreement with FP32) and writes JSON
plus a confusion-matrix PNG per model. ``.keras`` needs TensorFlow; the rest do not.
"""

from __future__ import annotations

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
"""


@dataclass
class LoadedModel:
    path: Path
    precision: str
    predict: Callable[[np.ndarray], np.ndarray]
    backend: str


def load_model(path: str | Path, backend: str = "auto") -> LoadedModel:
    """A predict function (N, 28, 28, 1) -> (N, 24) for any model file the project makes."""
    path = Path(path)
    if not path.is_file():
        raise AslEdgeError(f"{path}: no such model file")
    if path.suffix == ".keras":
        from .export.onnx_export import load_keras

        model = load_keras(path)
        return LoadedModel(path, "fp32 (keras)",
                           lambda x: model.predict_on_batch(x).astype(np.float32), "keras")
    from .runtime.backend import open_backend

    b = open_backend(path, backend)
    return LoadedModel(path, b.card.precision, b.infer, b.info.backend)


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
        m = load_model(path, backend)
        probs = predict_in_batches(m.predict, test.images, batch_size)
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


def build_parser():
    p = cli.parser("asl-eval", "Test-split accuracy of model files, one table; JSON and PNGs "
                   "with --out. Agreement is against the first FP32 model given.", EXAMPLES)
    p.add_argument("models", nargs="*", help=".keras, .onnx or .engine files "
                   "(default: the shipped ONNX models)")
    p.add_argument("--data", help="data root or CSV folder ($ASL_DATA, ../shared/data)")
    p.add_argument("--backend", default="auto", help="auto, ort-cpu, ort-cuda, ort-trt, tensorrt")
    p.add_argument("--out", default="runs/eval", help="folder for JSON and PNG results")
    p.add_argument("--batch-size", type=int, default=512)
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
    rows = evaluate(paths, args.data, args.backend, args.out, args.batch_size)
    print(format_table(rows))
    print(f"results: {Path(args.out) / 'eval_summary.json'}")
    return 0


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
