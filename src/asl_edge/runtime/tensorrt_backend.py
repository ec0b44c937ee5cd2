"""TensorRT engine backend: runs a cached ``.engine`` built by ``asl_edge.export.tensorrt``.

The engine is checked against its JSON sidecar before TensorRT sees it: a truncated file or
one built for another TensorRT version or GPU is refused with the reason, instead of failing
deep inside deserialization (or, worse, running). Device memory and the stream come from
cuda-python; buffers are allocated once for the engine's largest batch and bigger inputs are
run in slices.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import AslEdgeError
from ..modelcard import ModelCard
from .backend import BackendInfo, BackendUnavailable, check_batch

log = logging.getLogger(__name__)


def _cudart() -> ModuleType:
    from ..export.tensorrt import cuda_runtime

    cudart = cuda_runtime()
    if cudart is None:
        raise BackendUnavailable("the TensorRT backend needs cuda-python for GPU memory: "
                                 "`pip install cuda-python` (matching your CUDA major version)")
    return cudart


class TensorRTBackend:
    """Backend protocol over a serialized TensorRT engine and its sidecar."""

    def __init__(self, engine_path: str | Path, onnx: str | Path | None = None,
                 **options: Any):
        """``onnx``: also refuse the engine unless it was built from this ONNX file."""
        from ..export.tensorrt import (REBUILD_HINT, StaleEngineError, cuda_error_name,
                                       gpu_identity, read_sidecar, trt_logger, trt_module,
                                       validate_engine)

        if options:  # e.g. ONNX Runtime's threads/optimization: meaningless for an engine
            log.debug("TensorRT backend ignores options %s", sorted(options))
        self._cuda_error_name = cuda_error_name
        self._buffers: list[int] = []
        self._stream: Any = None
        self._context: Any = None
        self._engine: Any = None
        path = Path(engine_path)
        trt = trt_module()  # BackendUnavailable without TensorRT or a GPU
        self._cudart = _cudart()
        reason = validate_engine(path, onnx_path=onnx)
        if reason is not None:
            raise StaleEngineError(f"cannot use TensorRT engine {path.name}: {reason}; "
                                   f"{REBUILD_HINT}")
        self.card: ModelCard = read_sidecar(path).card
        gpu = gpu_identity()

        logger = trt_logger(trt)
        logger.errors.clear()
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise StaleEngineError(f"TensorRT {trt.__version__} could not load {path.name} "
                                   f"({'; '.join(logger.errors) or 'no details'}); {REBUILD_HINT}")
        self._engine = engine
        try:
            self._setup(trt, path)
        except BaseException:
            self.close()
            raise
        self.info = BackendInfo(
            backend="tensorrt", device=gpu.name, precision=self.card.precision, model=str(path),
            versions={"tensorrt": str(trt.__version__)},
            notes=[f"max_batch={self.max_batch}", gpu.sm])
        log.debug("opened %s", self.info.line())

    def _setup(self, trt: ModuleType, path: Path) -> None:
        engine, card = self._engine, self.card
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if inputs != [card.input_name] or outputs != [card.output_name]:
            raise AslEdgeError(f"{path.name}: expected input {card.input_name!r} and output "
                               f"{card.output_name!r}, engine has {inputs} -> {outputs}")
        self._in, self._out = card.input_name, card.output_name
        for name in names:
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            if dtype != np.float32:  # the exporter keeps float32 I/O at every precision
                raise AslEdgeError(f"{path.name}: tensor {name} is {dtype}, expected float32")
        self._sample_shape = tuple(int(d) for d in tuple(engine.get_tensor_shape(self._in))[1:])
        self.num_classes = int(tuple(engine.get_tensor_shape(self._out))[-1])
        if self.num_classes != len(card.letters):
            raise AslEdgeError(f"{path.name}: {self.num_classes} outputs but the model card has "
                               f"{len(card.letters)} letters")
        # profile 0 was built for batch 1..max; (min, opt, max) shapes
        self.max_batch = int(tuple(engine.get_tensor_profile_shape(self._in, 0)[2])[0])

        self._context = engine.create_execution_context()
        if self._context is None:
            raise AslEdgeError(f"{path.name}: TensorRT could not create an execution context "
                               "(out of GPU memory?)")
        self._stream = self._check(self._cudart.cudaStreamCreate(), "cudaStreamCreate")
        itemsize = np.dtype(np.float32).itemsize
        per_sample = int(np.prod(self._sample_shape)) * itemsize
        self._d_in = self._malloc(self.max_batch * per_sample)
        self._d_out = self._malloc(self.max_batch * self.num_classes * itemsize)
        # the buffers never move, so the addresses are bound once
        if not (self._context.set_tensor_address(self._in, self._d_in)
                and self._context.set_tensor_address(self._out, self._d_out)):
            raise AslEdgeError(f"{path.name}: TensorRT rejected the I/O buffers")

    def _check(self, result: Any, what: str) -> Any:
        """cuda-python returns (error, *values); raise on error, return the value(s)."""
        err, *values = result if isinstance(result, tuple) else (result,)
        if err != self._cudart.cudaError_t.cudaSuccess:
            raise AslEdgeError(f"CUDA {what} failed: {self._cuda_error_name(self._cudart, err)}")
        return values[0] if len(values) == 1 else (tuple(values) or None)

    def _malloc(self, nbytes: int) -> int:
        ptr = int(self._check(self._cudart.cudaMalloc(nbytes), "cudaMalloc"))
        self._buffers.append(ptr)
        return ptr

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) float32 -> (N, 24) float32; N above the engine's max is sliced."""
        if self._context is None:
            raise AslEdgeError("TensorRT backend is closed")
        batch = check_batch(batch, self.card.input_size)
        out = np.empty((len(batch), self.num_classes), dtype=np.float32)
        for start in range(0, len(batch), self.max_batch):
            stop = min(start + self.max_batch, len(batch))
            self._run(batch[start:stop], out[start:stop])
        return out

    def _run(self, chunk: np.ndarray, dest: np.ndarray) -> None:
        # both are C-contiguous slices along axis 0, so their memory is copied directly;
        # pageable host memory makes the copies synchronous, which is fine at these sizes
        cudart, n = self._cudart, len(chunk)
        if not self._context.set_input_shape(self._in, (n, *self._sample_shape)):
            raise AslEdgeError(f"TensorRT rejected batch {n} (engine max {self.max_batch})")
        self._check(cudart.cudaMemcpyAsync(
            self._d_in, chunk.ctypes.data, chunk.nbytes,
            cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, self._stream), "cudaMemcpyAsync")
        if not self._context.execute_async_v3(int(self._stream)):
            raise AslEdgeError("TensorRT execute_async_v3 failed (see the TensorRT messages)")
        self._check(cudart.cudaMemcpyAsync(
            dest.ctypes.data, self._d_out, dest.nbytes,
            cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, self._stream), "cudaMemcpyAsync")
        self._check(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def close(self) -> None:
        """Free GPU memory and the stream; safe to call twice."""
        self._context = None  # the context goes before the memory it points into
        cudart = getattr(self, "_cudart", None)
        if cudart is not None:
            for ptr in self._buffers:
                cudart.cudaFree(ptr)
            if self._stream is not None:
                cudart.cudaStreamDestroy(self._stream)
        self._buffers, self._stream, self._engine = [], None, None

    def __enter__(self) -> "TensorRTBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
