"""The one small interface every inference backend implements, and how one is chosen.

A backend loads a model file, runs a batch (N, 28, 28, 1) float32 -> (N, 24) float32 and says
what really runs (providers that loaded, device, precision): ONNX Runtime silently falls back
to CPU, so the description is read back from the session, never assumed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import AslEdgeError
from ..modelcard import ModelCard

log = logging.getLogger(__name__)

# "auto" tries these in order of expected speed and keeps the first that really runs on its
# intended device (a TensorRT engine, then ONNX Runtime's TensorRT and CUDA providers, then CPU)
BACKENDS = ("tensorrt", "ort-trt", "ort-cuda", "ort-cpu")


class BackendUnavailable(AslEdgeError):
    """The backend's library or device is absent; the message says what to install."""


@dataclass
class BackendInfo:
    backend: str  # one of BACKENDS
    device: str  # "cpu", or the GPU's name
    precision: str
    model: str
    providers: list[str] = field(default_factory=list)  # ONNX Runtime: what actually loaded
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        prov = f" providers={','.join(self.providers)}" if self.providers else ""
        note = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (f"backend={self.backend} device={self.device} precision={self.precision}"
                f"{prov} model={Path(self.model).name}{note}")


@runtime_checkable
class Backend(Protocol):
    card: ModelCard
    info: BackendInfo

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) float32 in [0, 1] -> (N, 24) float32 probabilities."""

    def close(self) -> None:
        ...


def check_batch(batch: np.ndarray, size: int = 28) -> np.ndarray:
    """Validate and make contiguous float32 (N, size, size, 1); ValueError otherwise."""
    batch = np.asarray(batch)
    if batch.ndim == 3:
        batch = batch[..., None]
    if batch.ndim != 4 or batch.shape[1:] != (size, size, 1):
        raise ValueError(f"input must be (N, {size}, {size}, 1), got {batch.shape}")
    return np.ascontiguousarray(batch, dtype=np.float32)


def open_backend(model: str | Path, backend: str = "auto", **options) -> Backend:
    """Open ``model`` (``.onnx`` or a TensorRT ``.engine``/``.plan``) on the named backend.

    ``auto`` picks the fastest one that really runs here and logs which it got. A URL
    (``http://host:port[/model]``, ``grpc://...``) is a Triton server: see triton_backend.
    """
    from .triton_backend import TritonBackend, is_server_url

    if is_server_url(model):
        return TritonBackend(str(model), **options)
    model = Path(model)
    if not model.is_file():
        raise AslEdgeError(f"model file {model} does not exist")
    is_engine = model.suffix in (".engine", ".plan", ".trt")
    if backend == "auto":
        order = ["tensorrt"] if is_engine else ["ort-trt", "ort-cuda", "ort-cpu"]
        reasons = []
        for name in order:
            try:
                b = open_backend(model, name, **options)
            except BackendUnavailable as e:
                reasons.append(f"{name}: {e}")
                continue
            log.debug("auto backend: %s (skipped: %s)", name, "; ".join(reasons) or "none")
            if reasons:
                b.info.notes.append("auto skipped " + ", ".join(r.split(":")[0] for r in reasons)
                                    + " (-v says why)")
            return b
        raise AslEdgeError("no backend can run this model here: " + "; ".join(reasons))
    if backend == "tensorrt":
        if not is_engine:
            raise AslEdgeError(f"{model.name} is not a TensorRT engine (.engine/.plan); build one "
                               "with 'asl-export MODEL.keras --engine' or use --backend ort-cpu")
        from .tensorrt_backend import TensorRTBackend

        return TensorRTBackend(model, **options)
    if backend in ("ort-trt", "ort-cuda", "ort-cpu"):
        if is_engine:
            raise AslEdgeError(f"{model.name} is a TensorRT engine; ONNX Runtime needs the .onnx "
                               "(use --backend tensorrt)")
        from .onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend(model, device=backend.split("-")[1], **options)
    raise AslEdgeError(f"unknown backend {backend!r}; choose from auto, {', '.join(BACKENDS)}")
