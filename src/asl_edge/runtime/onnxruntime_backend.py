"""ONNX Runtime backend: CPU (the embedded default), or the CUDA / TensorRT execution providers.

A GPU provider that fails to load makes ONNX Runtime fall back to CPU without an error; we
read ``get_providers()`` back and refuse (so ``auto`` moves on) rather than run on the wrong
device while claiming otherwise.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..errors import AslEdgeError
from ..modelcard import ModelCard
from .backend import BackendInfo, BackendUnavailable, check_batch

log = logging.getLogger(__name__)

_PROVIDER = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
             "trt": "TensorrtExecutionProvider"}


def _providers_for(device: str, precision: str, cache_dir: Path) -> list:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    trt_options = {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(cache_dir),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache_dir),
        # an fp32 ONNX may still run in fp16 on TensorRT if asked; fp16/int8 ONNX carry their
        # own precision (Q/DQ nodes or fp16 weights), so the flags stay off for those
        "trt_fp16_enable": precision == "fp16",
    }
    return [("TensorrtExecutionProvider", trt_options), "CUDAExecutionProvider",
            "CPUExecutionProvider"]


class OnnxRuntimeBackend:
    def __init__(self, model: str | Path, device: str = "cpu", threads: int = 0,
                 optimization: str = "all", cache_dir: str | Path | None = None):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise BackendUnavailable(f"onnxruntime is not installed ({e})")
        model = Path(model)
        if device not in _PROVIDER:
            raise ValueError(f"device must be one of {sorted(_PROVIDER)}")
        wanted = _PROVIDER[device]
        if wanted not in ort.get_available_providers():
            raise BackendUnavailable(f"{wanted} is not in this onnxruntime build "
                                     "(onnxruntime-gpu on a CUDA machine has it)")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        cache = Path(cache_dir) if cache_dir else Path(
            os.environ.get("ASL_CACHE", Path.home() / ".cache" / "asl-edge")) / "ort-trt"
        try:
            session = ort.InferenceSession(str(model), opts, providers=_providers_for(
                device, "fp32", cache))
        except Exception as e:  # onnxruntime raises its own exception types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise AslEdgeError(f"{model}: not a loadable ONNX model ({first})") from None
        try:
            self.card = ModelCard.from_props(session.get_modelmeta().custom_metadata_map)
        except ValueError as e:
            raise AslEdgeError(f"{model}: {e}") from None
        loaded = session.get_providers()
        if loaded[0] != wanted:
            raise BackendUnavailable(f"{wanted} did not load (ONNX Runtime fell back to "
                                     f"{loaded[0]}); check the CUDA/TensorRT libraries")
        self.session = session
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self.info = BackendInfo(
            backend=f"ort-{device}", device="cpu" if device == "cpu" else "cuda",
            precision=self.card.precision, model=str(model), providers=loaded,
            versions={"onnxruntime": ort.__version__},
            notes=[f"threads={threads or 'all'}", f"optimization={optimization}"])
        log.debug("opened %s", self.info.line())

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = check_batch(batch, self.card.input_size)
        return self.session.run([self._output], {self._input: batch})[0]

    def close(self) -> None:
        self.session = None
