"""``asl-export``: Keras -> ONNX FP32 (+ FP16, INT8 Q/DQ), each checked, optionally -> TensorRT."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..artifacts import write_json
from ..errors import AslEdgeError
from ..modelcard import ModelCard
from ..parity import compare, predict_in_batches
from ..runtime.models import FILES

log = logging.getLogger("asl_edge.export")

EXAMPLES = """\
  asl-export runs/train/model.keras                    # FP32 ONNX into runs/export
  asl-export runs/train/model.keras --fp16 --int8      # all ONNX variants, each checked
  asl-export runs/train/model.keras --fp16 --engine    # plus TensorRT engines (needs a GPU)
  asl-export runs/train/model.keras --fp16 --int8 --out src/asl_edge/models   # ship them
"""


def build_parser():
    p = cli.parser("asl-export", "Export the trained Keras model to ONNX (FP32, FP16, INT8 Q/DQ), "
                   "check each against Keras on the test split, optionally build TensorRT "
                   "engines.", EXAMPLES)
    p.add_argument("model", help="trained .keras file (from asl-train)")
    p.add_argument("--out", default="runs/export", help="output folder")
    p.add_argument("--fp16", action="store_true", help="also FP16 weights (FP32 I/O)")
    p.add_argument("--int8", action="store_true",
                   help="also INT8 static Q/DQ: symmetric (TensorRT) and a CPU-tuned variant")
    p.add_argument("--engine", action="store_true", help="build a TensorRT engine per precision")
    p.add_argument("--max-batch", type=int, default=256,
                   help="engine batch profile 1..N (and the Triton max_batch_size)")
    p.add_argument("--triton", metavar="REPO_DIR", help="also write a Triton model repository "
                   "(ONNX + TensorRT accelerator, engines with --engine) for GPU servers")
    p.add_argument("--triton-precision", choices=["fp32", "fp16", "int8"], default="fp16",
                   help="TensorRT precision Triton uses for the FP32 ONNX model")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (13..18)")
    p.add_argument("--data", help="data root ($ASL_DATA, ../shared/data)")
    p.add_argument("--calibration-images", type=int, default=512,
                   help="training images used to calibrate INT8")
    p.add_argument("--fp16-tolerance", type=float, default=0.05,
                   help="max test-accuracy loss in points vs FP32 before export fails")
    p.add_argument("--int8-tolerance", type=float, default=0.3,
                   help="max test-accuracy loss in points vs FP32 before export fails")
    p.add_argument("--keep-failed", action="store_true",
                   help="keep a variant that exceeds its tolerance (still exits 1)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    if args.max_batch < 1:
        raise AslEdgeError("--max-batch must be at least 1")
    if args.engine:  # fail before any work when TensorRT or the GPU is absent
        from .tensorrt import gpu_identity, trt_module

        trt_module()
        gpu_identity()
    from tqdm import tqdm

    from ..data import load_split
    from ..runtime.onnxruntime_backend import OnnxRuntimeBackend
    from ..artifacts import sha256_file
    from .onnx_export import keras_to_onnx, load_keras

    precisions = ["fp32"] + (["fp16"] if args.fp16 else []) + \
        (["int8", "int8-cpu"] if args.int8 else [])
    steps = tqdm(total=2 + len(precisions) + (len(precisions) if args.engine else 0),
                 desc="export", unit="step", disable=None)
    out = Path(args.out)
    keras_model = load_keras(args.model)
    test = load_split("test", args.data)
    from ..normalize import keras_mode, keras_training_photos, normalize_images

    # the input normalisation the model was trained with, and the real photos it has seen
    # (preprocess.json beside it)
    card = ModelCard(source_sha256=sha256_file(args.model), normalize=keras_mode(args.model),
                     training_photos=keras_training_photos(args.model))
    test_inputs = normalize_images(test.images, card.normalize)
    steps.set_postfix_str("keras reference")
    keras_probs = predict_in_batches(lambda x: keras_model.predict_on_batch(x), test_inputs)
    steps.update()

    report: dict = {"source": str(args.model), "source_sha256": card.source_sha256,
                    "data": str(test.path), "opset": args.opset,
                    "normalize": card.normalize,
                    "training_photos": len(card.training_photos), "variants": []}
    written: dict[str, Path] = {}
    failed = []
    fp32_acc = None
    for precision in precisions:
        steps.set_postfix_str(precision)
        dest = out / FILES[precision]
        if precision == "fp32":
            keras_to_onnx(keras_model, dest, card, opset=args.opset)
        elif precision == "fp16":
            from .precision import to_fp16

            to_fp16(written["fp32"], dest)
        else:
            from .precision import calibration_images, to_int8

            if "calib" not in locals():
                train = load_split("train", args.data)
                calib = normalize_images(calibration_images(
                    train.images, train.labels, args.calibration_images), card.normalize)
            to_int8(written["fp32"], dest, calib, for_cpu=precision == "int8-cpu")
        probs = predict_in_batches(OnnxRuntimeBackend(dest).infer, test_inputs)
        parity = compare(keras_probs, probs, test.labels, "keras", dest.name)
        if precision == "fp32":
            fp32_acc = parity.candidate_accuracy
        drop = 100.0 * (fp32_acc - parity.candidate_accuracy)
        tol = {"fp32": 0.0, "fp16": args.fp16_tolerance}.get(precision, args.int8_tolerance)
        ok = (parity.top1_agreement == 1.0 and parity.max_abs_diff < 1e-4) \
            if precision == "fp32" else drop <= tol
        entry = {"precision": precision, "path": str(dest), "size_bytes": dest.stat().st_size,
                 "test_accuracy": parity.candidate_accuracy, "drop_points_vs_fp32": drop,
                 "tolerance_points": tol, "passed": ok, "parity_vs_keras": parity.to_dict()}
        report["variants"].append(entry)
        if not ok:
            failed.append(f"{precision}: accuracy {100 * parity.candidate_accuracy:.2f} % "
                          f"(drop {drop:.3f} points, tolerance {tol}; top-1 agreement "
                          f"{100 * parity.top1_agreement:.3f} %, max |diff| "
                          f"{parity.max_abs_diff:.2e})")
            if not args.keep_failed:
                dest.unlink()
                entry["path"] = None
        written[precision] = dest
        steps.update()
        if precision == "fp32" and not ok:
            break  # every other variant derives from FP32

    if args.engine and not failed:
        from .tensorrt import build_engine

        for precision in [p for p in precisions if p != "int8-cpu"]:
            steps.set_postfix_str(f"engine {precision}")
            rec = build_engine(written[precision], precision, max_batch=args.max_batch)
            report.setdefault("engines", []).append(
                {"precision": precision, "path": str(rec.path), "built": rec.built})
            steps.update()
    if args.triton and not failed:
        from .triton import write_model_repository

        engines = {e["precision"]: Path(e["path"]) for e in report.get("engines", [])}
        repo = write_model_repository(
            args.triton, {p: f for p, f in written.items() if f.is_file()}, engines,
            max_batch=args.max_batch, trt_precision=args.triton_precision)
        report["triton_repository"] = str(repo)
    steps.close()
    write_json(out / "export_report.json", report)
    print(format_table(report))
    print(f"report: {out / 'export_report.json'}")
    if report.get("triton_repository"):
        print(f"Triton model repository: {report['triton_repository']} (docs/serving.md)")
    if failed:
        print("error: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def format_table(report: dict) -> str:
    head = f"{'variant':<10} {'file':<20} {'size':>8} {'accuracy':>9} {'drop':>7} " \
           f"{'agree':>8} {'max|diff|':>10} {'ok':>3}"
    lines = [head, "-" * len(head)]
    for v in report["variants"]:
        par = v["parity_vs_keras"]
        lines.append(f"{v['precision']:<10} {Path(v['path'] or '-').name:<20} "
                     f"{v['size_bytes'] / 1024:>6.0f}KB {100 * v['test_accuracy']:>8.2f}% "
                     f"{v['drop_points_vs_fp32']:>+7.3f} {100 * par['top1_agreement']:>7.2f}% "
                     f"{par['max_abs_diff']:>10.2e} {'yes' if v['passed'] else 'NO':>3}")
    for e in report.get("engines", []):
        lines.append(f"engine {e['precision']:<5} {e['path']} ({'built' if e['built'] else 'cached'})")
    return "\n".join(lines)


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
