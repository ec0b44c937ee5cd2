"""ONNX -> TensorRT engine, cached by everything the engine depends on.

A serialized engine only runs on the TensorRT version and GPU it was built for, so each engine
is keyed by (ONNX digest, TensorRT version, GPU name, compute capability, precision, batch
profile) and written with a JSON sidecar holding that key, the model card and the engine's own
digest. A cached engine is reused only when the sidecar proves it is whole and still matches.

TensorRT 10 and 11 differ in how precision is chosen:

- 10.x (weakly typed): the builder picks kernels; ``BuilderFlag.FP16``/``INT8`` allow lower
  precision. INT8 comes from the ONNX's Q/DQ nodes, which still need the INT8 flag (never a
  calibrator: the scales are in the graph).
- 11.x (strongly typed only; the flags and calibrators are gone): the precision is whatever the
  ONNX carries (FP16 weights or Q/DQ nodes), so the exporter must produce the right ONNX.

TensorRT and cuda-python are imported lazily: the rest of the package works without them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from ..artifacts import atomic_path, sha256_file, to_json
from ..errors import AslEdgeError
from ..modelcard import PRECISIONS, ModelCard
from ..runtime.backend import BackendUnavailable

log = logging.getLogger(__name__)

SIDECAR_FORMAT = "asl-edge-trt-engine/1"
REBUILD_HINT = "rebuild it with 'asl-export MODEL.keras --engine'"
_INSTALL_HINT = "install JetPack or `pip install tensorrt` on a CUDA machine"


class StaleEngineError(AslEdgeError):
    """A cached engine is corrupt or was built for another TensorRT/GPU/model."""


# --------------------------------------------------------------------------------------------
# TensorRT, cuda-python and the GPU


def trt_module() -> ModuleType:
    """Import ``tensorrt``; BackendUnavailable if it is missing or there is no NVIDIA GPU."""
    try:
        import tensorrt as trt
    except (ImportError, OSError) as e:  # OSError: the wheel is there but libnvinfer is not
        raise BackendUnavailable(f"TensorRT is not installed: {e}; {_INSTALL_HINT}") from None
    gpu_identity()  # importing works on a machine without a GPU; building/running does not
    return trt


def cuda_runtime() -> ModuleType | None:
    """cuda-python's runtime bindings (``cuda.bindings.runtime``, older ``cuda.cudart``)."""
    try:
        from cuda.bindings import runtime as cudart
        return cudart
    except ImportError:
        pass
    try:
        from cuda import cudart  # cuda-python < 12.6
        return cudart
    except ImportError:
        return None


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: str  # "8.7"
    source: str = field(default="", compare=False)  # "cuda-python" or "nvidia-smi"

    @property
    def sm(self) -> str:
        return "sm" + self.compute_capability.replace(".", "")


class _NoGpu(Exception):
    pass


def gpu_identity(device: int = 0) -> GpuInfo:
    """Name and compute capability of CUDA device ``device``; BackendUnavailable if none."""
    return _probe_gpu(device)


@functools.lru_cache(maxsize=None)  # exceptions are not cached: a missing GPU is re-probed
def _probe_gpu(device: int) -> GpuInfo:
    reasons = []
    cudart = cuda_runtime()
    if cudart is None:
        reasons.append("cuda-python is not installed")
    else:
        try:
            return _gpu_from_cudart(cudart, device)
        except _NoGpu as e:
            reasons.append(f"cuda-python: {e}")
    try:
        return _gpu_from_nvidia_smi(device)
    except _NoGpu as e:
        reasons.append(f"nvidia-smi: {e}")
    raise BackendUnavailable(f"no NVIDIA GPU found ({'; '.join(reasons)}); TensorRT needs a CUDA "
                             "GPU (on Jetson, `pip install cuda-python`)")


def cuda_error_name(cudart: ModuleType, err: Any) -> str:
    try:
        status, name = cudart.cudaGetErrorName(err)
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # a failing error lookup must not hide the original error
        return str(err)


def _gpu_from_cudart(cudart: ModuleType, device: int) -> GpuInfo:
    ok = cudart.cudaError_t.cudaSuccess
    err, count = cudart.cudaGetDeviceCount()
    if err != ok:
        raise _NoGpu(cuda_error_name(cudart, err))
    if device >= count:
        raise _NoGpu(f"{count} CUDA device(s), no device {device}")
    err, prop = cudart.cudaGetDeviceProperties(device)
    if err != ok:
        raise _NoGpu(cuda_error_name(cudart, err))
    name = prop.name.decode(errors="replace") if isinstance(prop.name, bytes) else str(prop.name)
    return GpuInfo(name.strip("\x00").strip(), f"{prop.major}.{prop.minor}", "cuda-python")


def _gpu_from_nvidia_smi(device: int) -> GpuInfo:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        raise _NoGpu("not found")
    try:
        res = subprocess.run([exe, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _NoGpu(str(e)) from None
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.returncode != 0 or not lines:
        why = (res.stderr.strip() or res.stdout.strip() or f"exit status {res.returncode}")
        raise _NoGpu(why.splitlines()[0])
    # nvidia-smi numbers all GPUs and ignores CUDA_VISIBLE_DEVICES; cuda-python is preferred
    if device >= len(lines):
        raise _NoGpu(f"{len(lines)} GPU(s), no device {device}")
    name, _, cc = lines[device].rpartition(",")
    cc = cc.strip()
    if not name or not re.fullmatch(r"\d+\.\d+", cc):
        raise _NoGpu(f"unexpected output {lines[device]!r} (driver too old for compute_cap?)")
    return GpuInfo(name.strip(), cc, "nvidia-smi")


def trt_major(trt: ModuleType) -> int:
    return int(str(trt.__version__).split(".")[0])


def strongly_typed_only(trt: ModuleType) -> bool:
    """TensorRT 11 removed weak typing (the FP16/INT8 builder flags)."""
    return trt_major(trt) >= 11 or not hasattr(trt.BuilderFlag, "FP16")


@functools.lru_cache(maxsize=None)
def trt_logger(trt: ModuleType) -> Any:
    """One ILogger per TensorRT module (it must outlive every builder/runtime made with it)."""

    class _Logger(trt.ILogger):
        """Forward TensorRT's messages to logging; keep errors for the one-line failure."""

        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            sev = trt.ILogger.Severity
            if severity in (sev.INTERNAL_ERROR, sev.ERROR):
                self.errors.append(_one_line(msg))
                log.error("TensorRT: %s", msg)
            elif severity == sev.WARNING:
                log.warning("TensorRT: %s", msg)
            elif severity == sev.INFO:
                log.debug("TensorRT: %s", msg)

    return _Logger()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------------------------
# Cache key, file names and sidecar


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on; any change means a different engine."""

    onnx_sha256: str
    trt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    min_batch: int
    opt_batch: int
    max_batch: int

    def short_hash(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def engine_name(self) -> str:
        ver = re.sub(r"[^0-9A-Za-z.]+", "-", self.trt_version)
        sm = self.compute_capability.replace(".", "")
        return (f"asl_{self.precision}_b{self.max_batch}_trt{ver}_sm{sm}_"
                f"{self.short_hash()}.engine")

    def differences(self, other: "EngineKey") -> list[str]:
        """Human-readable list of what differs, ``self`` being the engine's key."""
        out = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine != theirs:
                if f.name == "onnx_sha256":
                    mine, theirs = str(mine)[:12], str(theirs)[:12]
                out.append(f"{_LABELS[f.name]} {mine} (now {theirs})")
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "EngineKey":
        names = {f.name for f in fields(cls)}
        missing = names - set(d)
        if missing:
            raise ValueError(f"key lacks {', '.join(sorted(missing))}")
        return cls(**{n: d[n] for n in names})


_LABELS = {"onnx_sha256": "built from ONNX", "trt_version": "built for TensorRT",
           "gpu_name": "built for GPU", "compute_capability": "built for compute capability",
           "precision": "precision", "min_batch": "min batch", "opt_batch": "opt batch",
           "max_batch": "max batch"}


@dataclass(frozen=True)
class EngineSidecar:
    key: EngineKey
    card: ModelCard
    engine_sha256: str
    engine_size: int
    built_at: str
    raw: dict


@dataclass(frozen=True)
class EngineRecord:
    path: Path
    sidecar: Path
    key: EngineKey
    built: bool  # False: a valid cached engine was reused


def sidecar_path(engine_path: str | os.PathLike) -> Path:
    return Path(engine_path).with_suffix(".json")


def read_sidecar(engine_path: str | os.PathLike) -> EngineSidecar:
    """Parse the engine's JSON sidecar; ValueError says what is wrong with it."""
    side = sidecar_path(engine_path)
    try:
        raw = json.loads(side.read_text())
    except FileNotFoundError:
        raise ValueError(f"its sidecar {side.name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"its sidecar {side.name} is unreadable ({_one_line(e)})") from None
    try:
        if raw.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {SIDECAR_FORMAT!r}")
        eng = raw["engine"]
        return EngineSidecar(key=EngineKey.from_dict(raw["key"]),
                             card=ModelCard.from_props(raw["card"]),
                             engine_sha256=str(eng["sha256"]), engine_size=int(eng["size"]),
                             built_at=str(raw.get("built_at", "")), raw=raw)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"its sidecar {side.name} is corrupt ({_one_line(e)})") from None


def current_key(template: EngineKey, *, onnx_path: str | os.PathLike | None = None) -> EngineKey:
    """``template`` with this machine's TensorRT version and GPU (and ONNX digest if given)."""
    trt = trt_module()
    gpu = gpu_identity()
    key = replace(template, trt_version=str(trt.__version__), gpu_name=gpu.name,
                  compute_capability=gpu.compute_capability)
    if onnx_path is not None:
        key = replace(key, onnx_sha256=sha256_file(onnx_path))
    return key


def validate_engine(path: str | os.PathLike, expected: EngineKey | None = None, *,
                    onnx_path: str | os.PathLike | None = None) -> str | None:
    """Why the engine at ``path`` can't be used, or None if it can.

    Checks that the file is non-empty, the sidecar parses, the engine's sha256 and size match
    the sidecar, and the sidecar's key matches ``expected`` -- or, without ``expected``, this
    machine's TensorRT version and GPU (plus ``onnx_path``'s digest when given; that needs
    TensorRT and a GPU, else BackendUnavailable).
    """
    path = Path(path)
    if not path.is_file():
        return f"{path.name} does not exist"
    size = path.stat().st_size
    if size == 0:
        return f"{path.name} is empty (0 bytes: an interrupted build or a full disk?)"
    try:
        meta = read_sidecar(path)
    except ValueError as e:
        return str(e)
    if size != meta.engine_size or sha256_file(path) != meta.engine_sha256:
        return (f"{path.name} no longer matches its sidecar (size {size} vs {meta.engine_size}, "
                "or sha256 differs): the file was modified or partly written")
    if expected is None:
        expected = current_key(meta.key, onnx_path=onnx_path)
    diffs = meta.key.differences(expected)
    return "stale: " + "; ".join(diffs) if diffs else None


# --------------------------------------------------------------------------------------------
# Cache folder

_FALLBACK_DIRS: dict[Path, Path] = {}  # unwritable folder -> this process's temp folder


def default_cache_dir() -> Path:
    root = os.environ.get("ASL_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "asl-edge") / "engines"


def engine_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder engines go to; if unwritable, warn once and use a temp folder instead."""
    wanted = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    if wanted in _FALLBACK_DIRS:
        return _FALLBACK_DIRS[wanted]
    try:
        wanted.mkdir(parents=True, exist_ok=True)
        # mkdir succeeds on an existing read-only folder; only a real write proves it works
        with tempfile.NamedTemporaryFile(dir=wanted, prefix=".write-probe-"):
            pass
        return wanted
    except OSError as e:
        fallback = Path(tempfile.mkdtemp(prefix="asl-edge-engines-"))
        _FALLBACK_DIRS[wanted] = fallback
        log.warning("engine cache %s is not writable (%s); using %s for this process, so "
                    "engines are rebuilt on every start: set ASL_CACHE to a writable folder",
                    wanted, e.strerror or e, fallback)
        return fallback


def _timing_cache_path(cache_dir: Path, key: EngineKey) -> Path:
    # timing data is only valid for one TensorRT version and GPU model
    gpu = re.sub(r"[^0-9A-Za-z]+", "-", key.gpu_name).strip("-").lower()
    ver = re.sub(r"[^0-9A-Za-z.]+", "-", key.trt_version)
    return cache_dir / f"timing_trt{ver}_{gpu}_sm{key.compute_capability.replace('.', '')}.cache"


# --------------------------------------------------------------------------------------------
# Reading the ONNX


@dataclass(frozen=True)
class _OnnxInfo:
    data: bytes
    sha256: str
    card: ModelCard
    has_qdq: bool


def _read_onnx(path: Path) -> _OnnxInfo:
    try:
        import onnx
    except ImportError:
        raise AslEdgeError("building an engine reads the ONNX metadata with the onnx package: "
                           "pip install 'asl-edge[export]'") from None
    data = path.read_bytes()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf raises its own DecodeError
        raise AslEdgeError(f"{path}: not a readable ONNX file ({_one_line(e)})") from None
    try:
        card = ModelCard.from_props({p.key: p.value for p in model.metadata_props})
    except ValueError as e:
        raise AslEdgeError(f"{path}: {e}") from None
    ops = {n.op_type for n in model.graph.node}
    return _OnnxInfo(data, hashlib.sha256(data).hexdigest(), card,
                     has_qdq=bool(ops & {"QuantizeLinear", "DequantizeLinear"}))


def _engine_precision(requested: str, onnx: _OnnxInfo, trt: ModuleType, path: Path) -> str:
    if requested not in PRECISIONS:
        raise AslEdgeError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    have = onnx.card.precision
    if "int8-cpu" in (requested, have):
        raise AslEdgeError(f"{path.name}: int8-cpu uses asymmetric uint8 activations for ONNX "
                           "Runtime on x86; TensorRT needs the symmetric 'int8' export")
    if requested == have:
        if have == "int8" and not onnx.has_qdq:
            raise AslEdgeError(f"{path.name} says int8 but has no QuantizeLinear/DequantizeLinear "
                               "nodes; re-export it with precision int8")
        return requested
    if requested == "fp16" and have == "fp32" and not strongly_typed_only(trt):
        return "fp16"  # weak typing: the FP16 builder flag lowers an fp32 graph
    raise AslEdgeError(
        f"{path.name} is a {have} model and TensorRT {trt.__version__} builds {requested} only "
        f"from an {requested} ONNX (precision comes from the graph: FP16 weights or Q/DQ nodes); "
        f"export an {requested} ONNX and build from that")


# --------------------------------------------------------------------------------------------
# Building


def build_engine(onnx_path: str | os.PathLike, precision: str, max_batch: int = 256,
                 opt_batch: int | None = None, workspace_mb: int = 256,
                 cache_dir: str | os.PathLike | None = None, force: bool = False
                 ) -> EngineRecord:
    """Build (or reuse from the cache) a TensorRT engine for ``onnx_path``.

    The optimisation profile covers batch 1..``max_batch``, tuned for ``opt_batch`` (default
    ``max_batch``: batch throughput; the live camera path runs batch 1 either way). A valid
    cached engine with the same key is reused unless ``force``; a stale or damaged one is
    rebuilt and the reason logged.
    """
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise AslEdgeError(f"{onnx_path}: no such ONNX file (export one with asl-export)")
    if max_batch < 1:
        raise AslEdgeError(f"max batch must be at least 1, got {max_batch}")
    opt = max_batch if opt_batch is None else opt_batch
    if not 1 <= opt <= max_batch:
        raise AslEdgeError(f"opt batch must be within 1..{max_batch}, got {opt}")
    if workspace_mb < 1:
        raise AslEdgeError(f"workspace must be at least 1 MiB, got {workspace_mb}")

    trt = trt_module()
    gpu = gpu_identity()
    onnx = _read_onnx(onnx_path)
    engine_precision = _engine_precision(precision, onnx, trt, onnx_path)
    key = EngineKey(onnx_sha256=onnx.sha256, trt_version=str(trt.__version__),
                    gpu_name=gpu.name, compute_capability=gpu.compute_capability,
                    precision=engine_precision, min_batch=1, opt_batch=opt, max_batch=max_batch)
    folder = engine_cache_dir(cache_dir)
    engine_path = folder / key.engine_name()
    side = sidecar_path(engine_path)

    if engine_path.exists() or side.exists():
        reason = "forced" if force else validate_engine(engine_path, key)
        if reason is None:
            log.info("reusing cached TensorRT engine %s", engine_path)
            return EngineRecord(engine_path, side, key, built=False)
        log.info("rebuilding %s: %s", engine_path.name, reason)

    log.info("building TensorRT %s %s engine for %s on %s (batch 1..%d, opt %d)",
             trt.__version__, engine_precision, onnx_path.name, gpu.name, max_batch, opt)
    started = time.perf_counter()
    plan, build_notes = _build_plan(trt, onnx, onnx_path, key, workspace_mb,
                                    _timing_cache_path(folder, key))
    seconds = time.perf_counter() - started

    with atomic_path(engine_path) as tmp:
        tmp.write_bytes(plan)
    card = replace(onnx.card, precision=engine_precision)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "key": asdict(key),
        "key_hash": key.short_hash(),
        "card": card.to_props(),
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 2),
        "engine": {"file": engine_path.name, "sha256": hashlib.sha256(plan).hexdigest(),
                   "size": len(plan)},
        "build": {"onnx": str(onnx_path), "workspace_mb": workspace_mb, **build_notes},
    }
    # the sidecar goes last: an engine without one is treated as incomplete and rebuilt
    with atomic_path(side) as tmp:
        tmp.write_text(to_json(sidecar))
    log.info("built %s (%.1f MiB) in %.1f s", engine_path, len(plan) / 2**20, seconds)
    return EngineRecord(engine_path, side, key, built=True)


def _build_plan(trt: ModuleType, onnx: _OnnxInfo, onnx_path: Path, key: EngineKey,
                workspace_mb: int, timing_path: Path) -> tuple[bytes, dict]:
    logger = trt_logger(trt)
    logger.errors.clear()
    builder = trt.Builder(logger)
    strongly_typed = strongly_typed_only(trt)
    net_flags = 0
    creation = trt.NetworkDefinitionCreationFlag
    if strongly_typed and hasattr(creation, "STRONGLY_TYPED"):
        # 11.x networks are always strongly typed; the flag is accepted and makes it explicit
        net_flags |= 1 << int(creation.STRONGLY_TYPED)
    network = builder.create_network(net_flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx.data, str(onnx_path)):
        errors = [_one_line(str(parser.get_error(i))) for i in range(parser.num_errors)]
        raise AslEdgeError(f"{onnx_path.name}: TensorRT {trt.__version__} cannot parse it: "
                           f"{' | '.join(errors) or '; '.join(logger.errors) or 'no details'}")
    tensor = _network_input(network, onnx.card.input_name, onnx_path)
    rest = tuple(int(d) for d in tuple(tensor.shape)[1:])
    if any(d < 1 for d in rest):
        raise AslEdgeError(f"{onnx_path.name}: input {tensor.name} {tuple(tensor.shape)} may only "
                           "be dynamic in the batch dimension")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    flags = []
    if not strongly_typed:
        if key.precision == "fp16":
            flags.append("FP16")
        elif key.precision == "int8":
            flags.append("INT8")  # explicit Q/DQ scales: the flag, and no calibrator
        for name in flags:
            config.set_flag(getattr(trt.BuilderFlag, name))
    profile = builder.create_optimization_profile()
    profile.set_shape(tensor.name, (key.min_batch, *rest), (key.opt_batch, *rest),
                      (key.max_batch, *rest))
    config.add_optimization_profile(profile)
    _load_timing_cache(config, timing_path)

    plan = builder.build_serialized_network(network, config)
    if plan is None:
        why = "; ".join(logger.errors[-3:]) or "see the TensorRT messages above"
        raise AslEdgeError(f"TensorRT {trt.__version__} could not build a {key.precision} engine "
                           f"from {onnx_path.name}: {why}")
    _save_timing_cache(config, timing_path)
    return bytes(plan), {"strongly_typed": strongly_typed, "builder_flags": flags,
                         "network_flags": net_flags}


def _network_input(network: Any, name: str, onnx_path: Path) -> Any:
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    for t in inputs:
        if t.name == name:
            return t
    raise AslEdgeError(f"{onnx_path.name}: no input named {name!r} (inputs: "
                       f"{', '.join(t.name for t in inputs) or 'none'})")


def _load_timing_cache(config: Any, path: Path) -> None:
    """Reuse tactic timings from earlier builds; a bad cache file only costs build time."""
    data = b""
    if path.is_file():
        try:
            data = path.read_bytes()
        except OSError as e:
            log.warning("cannot read timing cache %s (%s); starting a new one", path, e)
    try:
        cache = config.create_timing_cache(data)
    except Exception as e:  # TensorRT raises its own types for a damaged cache
        log.warning("ignoring damaged timing cache %s (%s)", path, _one_line(e))
        cache = config.create_timing_cache(b"")
    if not config.set_timing_cache(cache, False):
        log.warning("TensorRT rejected timing cache %s; starting a new one", path)
        config.set_timing_cache(config.create_timing_cache(b""), False)


def _save_timing_cache(config: Any, path: Path) -> None:
    try:
        data = bytes(config.get_timing_cache().serialize())
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except (OSError, AttributeError) as e:
        log.warning("could not save timing cache %s (%s)", path, e)
