"""Lower-precision variants of the FP32 ONNX: FP16 weights, and INT8 by static Q/DQ quantization.

- ``fp16``: onnxconverter-common's converter, FP32 inputs/outputs kept so callers don't change.
- ``int8``: symmetric int8 activations and per-channel symmetric int8 weights in Q/DQ form,
  the form TensorRT consumes (TensorRT 11 takes precision from the Q/DQ nodes alone).
- ``int8-cpu``: uint8 asymmetric activations, int8 per-channel weights, also Q/DQ: ONNX
  Runtime's fast x86 int8 kernels (VNNI) want unsigned activations.
Calibration uses training images only, never the test split.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import AslEdgeError
from ..modelcard import INPUT_NAME
from .onnx_export import read_card, save_onnx, set_card

log = logging.getLogger(__name__)


def to_fp16(fp32_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(fp32_path))
    card = read_card(model)
    # keep_io_types: the graph still takes and returns float32, with Casts inside
    half = float16.convert_float_to_float16(model, keep_io_types=True)
    set_card(half, _with_precision(card, "fp16"))
    onnx.checker.check_model(half)
    return save_onnx(half, dest)


def _with_precision(card, precision: str):
    from dataclasses import replace

    return replace(card, precision=precision)


class _Calibration:
    """onnxruntime's CalibrationDataReader over an in-memory array, in small batches."""

    def __init__(self, images: np.ndarray, batch: int = 32):
        self._batches = [images[i:i + batch] for i in range(0, len(images), batch)]
        self._it = iter(self._batches)

    def get_next(self):
        nxt = next(self._it, None)
        return None if nxt is None else {INPUT_NAME: nxt}

    def rewind(self):
        self._it = iter(self._batches)


def to_int8(fp32_path: str | os.PathLike, dest: str | os.PathLike, calibration: np.ndarray,
            for_cpu: bool = False, method: str = "minmax") -> Path:
    """Static Q/DQ quantization calibrated on ``calibration`` (N, 28, 28, 1) training images."""
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration) < 16:
        raise AslEdgeError(f"INT8 calibration needs at least 16 images, got {len(calibration)}")
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    card = read_card(onnx.load(str(fp32_path)))
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # folds and infers shapes first, as onnxruntime recommends before quantizing
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        out = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(out), _Calibration(calibration.astype(np.float32)),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8 if for_cpu else QuantType.QInt8,
            weight_type=QuantType.QInt8, calibrate_method=methods[method],
            # the softmax stays float: its output is what callers threshold on
            op_types_to_quantize=["Conv", "MatMul", "Gemm", "Add", "Mul", "MaxPool", "Relu",
                                  "Reshape", "Transpose"],
            extra_options={"ActivationSymmetric": not for_cpu, "WeightSymmetric": True})
        model = onnx.load(str(out))
    set_card(model, _with_precision(card, "int8-cpu" if for_cpu else "int8"))
    onnx.checker.check_model(model)
    return save_onnx(model, dest)


def calibration_images(train_images: np.ndarray, train_labels: np.ndarray, count: int = 512,
                       seed: int = 0) -> np.ndarray:
    """``count`` training images balanced across classes, reproducibly."""
    rng = np.random.default_rng(seed)
    classes = np.unique(train_labels)
    per = max(1, count // len(classes))
    idx = np.concatenate([rng.choice(np.flatnonzero(train_labels == c),
                                     size=min(per, int(np.sum(train_labels == c))),
                                     replace=False) for c in classes])
    return train_images[np.sort(idx)]
