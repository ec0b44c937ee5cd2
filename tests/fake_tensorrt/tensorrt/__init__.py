"""A small stand-in for the ``tensorrt`` package, for tests on machines without a GPU.

It exposes only what asl_edge uses, records what the builder was asked (``builds``), and can
pose as TensorRT 10 (weak typing: BuilderFlag.FP16/INT8) or 11 (strongly typed only: those
flags absent) via :func:`configure`. A "plan" is a small header plus the ONNX bytes; the fake
execution context runs that ONNX with onnxruntime on the fake device memory of
:data:`fake_cudart`, a stand-in for ``cuda.bindings.runtime``.
"""

from __future__ import annotations

import ctypes
import enum
import json
import struct
from typing import Any

import numpy as np

__version__ = "10.3.0"

MAGIC = b"FAKETRT\0"

builds: list[dict] = []  # one entry per build_serialized_network call
contexts: list["IExecutionContext"] = []
parser_errors: list[str] = []  # set to make the next parse fail with these messages
fail_build = False  # make build_serialized_network return None


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0
    STRONGLY_TYPED = 1


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1
    INT8 = 2


_NP = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8}

_FLAGS_10 = ["FP16", "INT8", "DEBUG", "GPU_FALLBACK", "REFIT", "TF32"]
_FLAGS_11 = ["DEBUG", "GPU_FALLBACK", "REFIT", "TF32"]
BuilderFlag = enum.IntEnum("BuilderFlag", _FLAGS_10, start=0)


def configure(version: str = "10.3.0", strongly_typed_flag: bool = True) -> None:
    """Pose as TensorRT ``version``; 11.x has no FP16/INT8 builder flags. Clears records."""
    global __version__, BuilderFlag, NetworkDefinitionCreationFlag, fail_build
    __version__ = version
    names = _FLAGS_11 if int(version.split(".")[0]) >= 11 else _FLAGS_10
    BuilderFlag = enum.IntEnum("BuilderFlag", names, start=0)
    members = ["EXPLICIT_BATCH"] + (["STRONGLY_TYPED"] if strongly_typed_flag else [])
    NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", members,
                                                 start=0)
    builds.clear()
    contexts.clear()
    parser_errors.clear()
    fail_build = False
    fake_cudart.reset()


def nptype(dtype: DataType) -> type:
    return _NP[dtype]


class ILogger:
    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    def __init__(self) -> None:
        pass

    def log(self, severity: "ILogger.Severity", msg: str) -> None:  # pragma: no cover
        raise NotImplementedError


class Logger(ILogger):
    def log(self, severity: ILogger.Severity, msg: str) -> None:
        pass


# --- building -------------------------------------------------------------------------------


class ITensor:
    def __init__(self, name: str, shape: tuple[int, ...]):
        self.name, self.shape = name, shape


class INetworkDefinition:
    def __init__(self, flags: int):
        self.flags = flags
        self.inputs: list[ITensor] = []
        self.outputs: list[ITensor] = []
        self.onnx = b""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, i: int) -> ITensor:
        return self.inputs[i]

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def get_output(self, i: int) -> ITensor:
        return self.outputs[i]


class ParserError:
    def __init__(self, msg: str):
        self.msg = msg

    def desc(self) -> str:
        return self.msg

    def __str__(self) -> str:
        return self.msg


class OnnxParser:
    def __init__(self, network: INetworkDefinition, logger: ILogger):
        self.network, self.logger = network, logger
        self.errors: list[ParserError] = []

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, i: int) -> ParserError:
        return self.errors[i]

    def parse(self, model: bytes, path: str | None = None) -> bool:
        import onnx

        if parser_errors:
            self.errors = [ParserError(m) for m in parser_errors]
            return False
        try:
            proto = onnx.load_model_from_string(bytes(model))
        except Exception as e:
            self.errors = [ParserError(f"MODEL_DESERIALIZE_FAILED: {e}")]
            return False

        def shape(vi: Any) -> tuple[int, ...]:
            return tuple(d.dim_value if d.HasField("dim_value") else -1
                         for d in vi.type.tensor_type.shape.dim)

        self.network.inputs = [ITensor(v.name, shape(v)) for v in proto.graph.input]
        self.network.outputs = [ITensor(v.name, shape(v)) for v in proto.graph.output]
        self.network.onnx = bytes(model)
        return True


class IOptimizationProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple, tuple, tuple]] = {}

    def set_shape(self, name: str, min: Any, opt: Any, max: Any) -> None:
        self.shapes[name] = (tuple(min), tuple(opt), tuple(max))


class ITimingCache:
    def __init__(self, data: bytes):
        if data and not data.startswith(b"FAKETC"):
            raise RuntimeError("invalid timing cache")
        self.data = data or b"FAKETC"

    def serialize(self) -> bytes:
        return self.data


class IBuilderConfig:
    def __init__(self) -> None:
        self.flags: set[str] = set()
        self.pools: dict[str, int] = {}
        self.profiles: list[IOptimizationProfile] = []
        self.timing_cache: ITimingCache | None = None
        self.timing_cache_in = b""
        self.int8_calibrator = None

    def set_flag(self, flag: Any) -> None:
        self.flags.add(flag.name)

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        self.pools[pool.name] = size

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, data: bytes) -> ITimingCache:
        return ITimingCache(bytes(data))

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        self.timing_cache, self.timing_cache_in = cache, cache.data
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self.timing_cache


class Builder:
    def __init__(self, logger: ILogger):
        self.logger = logger

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition(flags)

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def build_serialized_network(self, network: INetworkDefinition,
                                 config: IBuilderConfig) -> bytes | None:
        strongly = bool(network.flags & (1 << 1))
        builds.append({
            "version": __version__, "network_flags": network.flags,
            "strongly_typed": strongly, "builder_flags": set(config.flags),
            "profiles": [dict(p.shapes) for p in config.profiles],
            "workspace": config.pools.get("WORKSPACE"),
            "timing_cache_in": config.timing_cache_in,
            "calibrator": config.int8_calibrator,
        })
        if fail_build:
            self.logger.log(ILogger.Severity.ERROR, "fake: out of memory\nwhile building")
            return None
        if config.timing_cache is not None:  # every build "learns" one more timing entry
            config.timing_cache.data += b"|entry"
        header = {"version": __version__,
                  "inputs": [(t.name, t.shape) for t in network.inputs],
                  "outputs": [(t.name, t.shape) for t in network.outputs],
                  "profile": {k: v for p in config.profiles for k, v in p.shapes.items()}}
        head = json.dumps(header).encode()
        return MAGIC + struct.pack("<I", len(head)) + head + network.onnx


# --- running --------------------------------------------------------------------------------


class Runtime:
    def __init__(self, logger: ILogger):
        self.logger = logger

    def deserialize_cuda_engine(self, plan: bytes) -> "ICudaEngine | None":
        plan = bytes(plan)
        if not plan.startswith(MAGIC):
            self.logger.log(ILogger.Severity.ERROR, "fake: not a serialized engine")
            return None
        (n,) = struct.unpack("<I", plan[len(MAGIC):len(MAGIC) + 4])
        start = len(MAGIC) + 4
        header = json.loads(plan[start:start + n])
        if header["version"] != __version__:  # like TensorRT: plans are version-locked
            self.logger.log(ILogger.Severity.ERROR,
                            f"fake: plan from TensorRT {header['version']}, this is {__version__}")
            return None
        return ICudaEngine(header, plan[start + n:])


class ICudaEngine:
    def __init__(self, header: dict, onnx_bytes: bytes):
        self.header, self.onnx = header, onnx_bytes
        self.io = ([(name, TensorIOMode.INPUT, tuple(s)) for name, s in header["inputs"]]
                   + [(name, TensorIOMode.OUTPUT, tuple(s)) for name, s in header["outputs"]])

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def get_tensor_name(self, i: int) -> str:
        return self.io[i][0]

    def _find(self, name: str) -> tuple:
        return next(t for t in self.io if t[0] == name)

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return self._find(name)[1]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self._find(name)[2]

    def get_tensor_dtype(self, name: str) -> DataType:
        return DataType.FLOAT

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
        return [tuple(s) for s in self.header["profile"][name]]

    def create_execution_context(self) -> "IExecutionContext":
        ctx = IExecutionContext(self)
        contexts.append(ctx)
        return ctx


class IExecutionContext:
    def __init__(self, engine: ICudaEngine):
        import onnxruntime as ort

        self.engine = engine
        self.session = ort.InferenceSession(engine.onnx, providers=["CPUExecutionProvider"])
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}
        self.batches: list[int] = []  # batch size of every execution

    def set_input_shape(self, name: str, shape: Any) -> bool:
        lo, _, hi = self.engine.get_tensor_profile_shape(name, 0)
        shape = tuple(shape)
        if not all(a <= s <= b for a, s, b in zip(lo, shape, hi)):
            return False
        self.shapes[name] = shape
        return True

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        self.addresses[name] = int(ptr)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        (in_name, _, _), (out_name, _, _) = self.engine.io
        shape = self.shapes[in_name]
        count = int(np.prod(shape))
        raw = fake_cudart.memory[self.addresses[in_name]]
        x = np.frombuffer(bytes(raw[:count * 4]), dtype=np.float32).reshape(shape)
        y = np.ascontiguousarray(self.session.run([out_name], {in_name: x})[0], np.float32)
        fake_cudart.memory[self.addresses[out_name]][:y.nbytes] = y.tobytes()
        self.batches.append(shape[0])
        return True


# --- a fake of cuda.bindings.runtime sharing "device" memory with the engine -----------------


class FakeCudaRuntime:
    class cudaError_t(enum.IntEnum):
        cudaSuccess = 0
        cudaErrorMemoryAllocation = 2
        cudaErrorNoDevice = 100

    class cudaMemcpyKind(enum.IntEnum):
        cudaMemcpyHostToDevice = 1
        cudaMemcpyDeviceToHost = 2

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.memory: dict[int, bytearray] = {}
        self.freed: list[int] = []
        self.streams: set[int] = set()
        self._next = 0x1000

    def cudaGetErrorName(self, err: Any) -> tuple:
        return self.cudaError_t.cudaSuccess, self.cudaError_t(err).name.encode()

    def cudaMalloc(self, size: int) -> tuple:
        ptr, self._next = self._next, self._next + size + 256
        self.memory[ptr] = bytearray(size)
        return self.cudaError_t.cudaSuccess, ptr

    def cudaFree(self, ptr: int) -> tuple:
        self.memory.pop(ptr)
        self.freed.append(ptr)
        return (self.cudaError_t.cudaSuccess,)

    def cudaStreamCreate(self) -> tuple:
        self._next += 1
        self.streams.add(self._next)
        return self.cudaError_t.cudaSuccess, self._next

    def cudaStreamDestroy(self, stream: int) -> tuple:
        self.streams.remove(stream)
        return (self.cudaError_t.cudaSuccess,)

    def cudaStreamSynchronize(self, stream: int) -> tuple:
        return (self.cudaError_t.cudaSuccess,)

    def cudaMemcpyAsync(self, dst: int, src: int, count: int, kind: Any, stream: int) -> tuple:
        if kind == self.cudaMemcpyKind.cudaMemcpyHostToDevice:
            buf = self.memory[dst]
            if count > len(buf):
                return (self.cudaError_t.cudaErrorMemoryAllocation,)
            buf[:count] = ctypes.string_at(src, count)
        else:
            buf = self.memory[src]
            if count > len(buf):
                return (self.cudaError_t.cudaErrorMemoryAllocation,)
            ctypes.memmove(dst, bytes(buf[:count]), count)
        return (self.cudaError_t.cudaSuccess,)


fake_cudart = FakeCudaRuntime()
