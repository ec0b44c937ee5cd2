"""The models shipped inside the package, by precision."""

from __future__ import annotations

from pathlib import Path

from ..errors import AslEdgeError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
FILES = {"fp32": "asl_fp32.onnx", "fp16": "asl_fp16.onnx", "int8": "asl_int8.onnx",
         "int8-cpu": "asl_int8_cpu.onnx"}
# what the CPU default runs: measured fastest on ONNX Runtime's CPU kernels (see benchmarks/)
DEFAULT_PRECISION = "fp32"


def available() -> dict[str, Path]:
    return {p: MODELS_DIR / f for p, f in FILES.items() if (MODELS_DIR / f).is_file()}


def shipped(precision: str = DEFAULT_PRECISION) -> Path:
    if precision not in FILES:
        raise AslEdgeError(f"unknown precision {precision!r}; shipped: {', '.join(FILES)}")
    path = MODELS_DIR / FILES[precision]
    if not path.is_file():
        raise AslEdgeError(f"the shipped {precision} model is missing ({path}); reinstall "
                           "asl-edge or pass --model FILE")
    return path
