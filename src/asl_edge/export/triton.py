"""A Triton Inference Server model repository for GPU servers, from the exported models.

    repo/
      asl/              config.pbtxt  labels.txt  1/model.onnx   FP32 ONNX, TensorRT accelerator
      asl_fp16/         ...                        1/model.onnx   FP16 ONNX, TensorRT FP16
      asl_int8/         ...                        1/model.onnx   INT8 Q/DQ ONNX, TensorRT INT8
      asl_int8_cpu/     ...                        1/model.onnx   CPU-tuned INT8 on CPU instances
      asl_trt_fp16/     ...                        1/model.plan   a prebuilt TensorRT engine

``asl`` is the model clients ask for by default (``TritonBackend(url)``). ONNX models use
``platform: "onnxruntime_onnx"`` with ONNX Runtime's TensorRT execution accelerator in
``optimization``; engines use ``platform: "tensorrt_plan"`` (an engine only runs on the GPU and
TensorRT version it was built for: build it on the server's GPU). Every config carries the model
card (letters, input scaling, precision) as ``parameters``, so a client reads it back from
``/v2/models/<name>/config``. The text is checked against Triton's own protobuf schema in the
tests (``tritonclient`` ships ``model_config_pb2``).

Serve it with NVIDIA's container (see docs/serving.md)::

    docker run --gpus all --rm -p 8000:8000 -p 8001:8001 -p 8002:8002 \
        -v $PWD/REPO:/models nvcr.io/nvidia/tritonserver:25.01-py3 \
        tritonserver --model-repository=/models
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from ..errors import AslEdgeError
from ..modelcard import ModelCard

log = logging.getLogger(__name__)

MODEL_NAME = "asl"
LABELS_FILE = "labels.txt"
DEFAULT_PREFERRED = (8, 32, 128)
TRT_PRECISIONS = ("fp32", "fp16", "int8")
# the NGC image the docs' docker line uses; any recent release reads these configs
NGC_IMAGE = "nvcr.io/nvidia/tritonserver:25.01-py3"


class Enum(str):
    """A protobuf enum value: written bare (``TYPE_FP32``), not quoted."""


def _scalar(v: Any) -> str:
    if isinstance(v, Enum):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    raise TypeError(f"cannot write {type(v).__name__} to pbtxt")


def to_pbtxt(msg: Mapping[str, Any], indent: int = 0) -> str:
    """Protobuf text format for a nested dict: dicts are messages, lists repeated fields.

    A map field (``parameters``) is a list of ``{"key": ..., "value": ...}`` entries.
    """
    pad = "  " * indent
    lines = []
    for key, val in msg.items():
        if val is None:
            continue
        if isinstance(val, Mapping):
            lines.append(f"{pad}{key} {{\n{to_pbtxt(val, indent + 1)}{pad}}}")
        elif isinstance(val, (list, tuple)):
            if not val:
                continue
            if all(isinstance(v, Mapping) for v in val):
                for v in val:
                    lines.append(f"{pad}{key} {{\n{to_pbtxt(v, indent + 1)}{pad}}}")
            else:
                lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in val)}]")
        else:
            lines.append(f"{pad}{key}: {_scalar(val)}")
    return "".join(line + "\n" for line in lines)


def string_parameters(params: Mapping[str, str]) -> list[dict]:
    """A ``parameters`` map of ``ModelParameter { string_value }``."""
    return [{"key": k, "value": {"string_value": str(v)}} for k, v in params.items()]


def model_config(name: str, *, card: ModelCard, max_batch: int, platform: str | None = None,
                 backend: str | None = None, default_model_filename: str | None = None,
                 preferred_batch_sizes=DEFAULT_PREFERRED, queue_delay_us: int = 100,
                 instances: int = 1, kind: str = "KIND_GPU",
                 optimization: Mapping | None = None, parameters: Mapping[str, str] | None = None,
                 warmup: bool = False) -> dict:
    """One model's ``ModelConfig`` as a dict (``to_pbtxt`` writes it)."""
    if max_batch < 1:
        raise AslEdgeError("max_batch must be at least 1")
    if instances < 1:
        raise AslEdgeError("instances must be at least 1")
    if queue_delay_us < 0:
        raise AslEdgeError("queue delay must be >= 0 microseconds")
    preferred = sorted({int(b) for b in preferred_batch_sizes if 1 <= int(b) <= max_batch})
    size = card.input_size
    cfg: dict = {"name": name, "platform": platform, "backend": backend,
                 "max_batch_size": max_batch,
                 "default_model_filename": default_model_filename,
                 "input": [{"name": card.input_name, "data_type": Enum("TYPE_FP32"),
                            "dims": [size, size, 1]}],
                 "output": [{"name": card.output_name, "data_type": Enum("TYPE_FP32"),
                             "dims": [len(card.letters)], "label_filename": LABELS_FILE}],
                 "dynamic_batching": {"preferred_batch_size": preferred,
                                      "max_queue_delay_microseconds": int(queue_delay_us)},
                 "instance_group": [{"kind": Enum(kind), "count": int(instances)}],
                 "optimization": optimization,
                 "parameters": string_parameters({**card.to_props(), **(parameters or {})})}
    if warmup:  # one zero batch at load: builds TensorRT engines before the first client waits
        cfg["model_warmup"] = [{"name": "zeros_b1", "batch_size": 1, "inputs": [
            {"key": card.input_name, "value": {"data_type": Enum("TYPE_FP32"),
                                               "dims": [size, size, 1], "zero_data": True}}]}]
    return cfg


def tensorrt_accelerator(precision: str, workspace_bytes: int = 1 << 30,
                         cache_path: str = "/tmp/asl_trt_cache") -> dict:
    """ONNX Runtime's TensorRT execution accelerator, as the onnxruntime backend reads it."""
    if precision not in TRT_PRECISIONS:
        raise AslEdgeError(f"TensorRT precision must be one of {', '.join(TRT_PRECISIONS)}, "
                           f"not {precision!r}")
    params = {"precision_mode": precision.upper(),
              "max_workspace_size_bytes": str(workspace_bytes),
              "trt_engine_cache_enable": "1", "trt_engine_cache_path": cache_path}
    return {"execution_accelerators": {"gpu_execution_accelerator": [
        {"name": "tensorrt", "parameters": [{"key": k, "value": v} for k, v in params.items()]}]}}


def labels_text(card: ModelCard) -> str:
    return "".join(f"{letter}\n" for letter in card.letters)


def read_onnx_card(path: Path) -> ModelCard:
    """The model card in an ONNX file's metadata (via onnxruntime: the runtime has it)."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return ModelCard.from_props(sess.get_modelmeta().custom_metadata_map)
    except ValueError as e:
        raise AslEdgeError(f"{path}: {e}") from None
    except Exception as e:  # onnxruntime's own exception types
        raise AslEdgeError(f"{path}: not a loadable ONNX model "
                           f"({str(e).strip().splitlines()[0] if str(e).strip() else e})") from None


def _engine_card_and_batch(path: Path, max_batch: int) -> tuple[ModelCard, int]:
    """Card and usable max batch of an engine from its sidecar (the engine's batch profile)."""
    try:
        from .tensorrt import read_sidecar

        side = read_sidecar(path)
    except ValueError as e:
        log.warning("%s: %s; assuming the default card and max batch %d", path.name, e,
                    max_batch)
        return ModelCard(), max_batch
    if side.key.max_batch < max_batch:
        log.info("%s: engine profile ends at batch %d; its config uses that as max_batch_size",
                 path.name, side.key.max_batch)
    return side.card, min(max_batch, side.key.max_batch)


def model_name(precision: str, engine: bool = False) -> str:
    base = f"{MODEL_NAME}_trt_{precision}" if engine else (
        MODEL_NAME if precision == "fp32" else f"{MODEL_NAME}_{precision}")
    return base.replace("-", "_")


def _write_model(root: Path, name: str, cfg: dict, card: ModelCard, src: Path,
                 filename: str) -> None:
    d = root / name
    (d / "1").mkdir(parents=True)
    shutil.copyfile(src, d / "1" / filename)
    (d / LABELS_FILE).write_text(labels_text(card))
    (d / "config.pbtxt").write_text(to_pbtxt(cfg))


def write_model_repository(repo_dir: str | os.PathLike,
                           onnx_models: Mapping[str, str | os.PathLike],
                           engines: Mapping[str, str | os.PathLike] | None = None,
                           max_batch: int = 256,
                           preferred_batch_sizes=DEFAULT_PREFERRED,
                           queue_delay_us: int = 100, instances: int = 1,
                           trt_precision: str = "fp16") -> Path:
    """Write a Triton model repository at ``repo_dir`` (replacing it whole, atomically).

    ``onnx_models`` maps precision (fp32, fp16, int8, int8-cpu) to an exported ONNX file,
    ``engines`` precision to a TensorRT engine. The first of fp32/fp16/int8 present becomes
    the model ``asl``; the FP32 ONNX runs through TensorRT at ``trt_precision``, the FP16 and
    INT8 ones at their own precision, and the CPU-tuned INT8 variant on CPU instances.
    """
    from ..modelcard import PRECISIONS

    repo = Path(repo_dir)
    engines = dict(engines or {})
    if not onnx_models and not engines:
        raise AslEdgeError("nothing to put in the Triton repository: no ONNX model or engine")
    for p in list(onnx_models) + list(engines):
        if p not in PRECISIONS:
            raise AslEdgeError(f"unknown precision {p!r}; use {', '.join(PRECISIONS)}")
    if trt_precision not in TRT_PRECISIONS:
        raise AslEdgeError(f"trt_precision must be one of {', '.join(TRT_PRECISIONS)}")
    missing = [str(f) for f in [*onnx_models.values(), *engines.values()] if not Path(f).is_file()]
    if missing:
        raise AslEdgeError(f"model file(s) not found: {', '.join(missing)}")
    common = {"preferred_batch_sizes": preferred_batch_sizes, "queue_delay_us": queue_delay_us,
              "instances": instances}
    repo.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{repo.name}.", suffix=".part", dir=repo.parent))
    try:
        ordered = sorted(onnx_models, key=PRECISIONS.index)
        default = next((p for p in ("fp32", "fp16", "int8") if p in onnx_models), None)
        for precision in ordered:
            src = Path(onnx_models[precision])
            card = read_onnx_card(src)
            name = MODEL_NAME if precision == default else model_name(precision)
            if precision == "int8-cpu":  # uint8 activations for VNNI: a CPU model
                cfg = model_config(name, card=card, max_batch=max_batch,
                                   platform="onnxruntime_onnx", kind="KIND_CPU",
                                   default_model_filename="model.onnx", **common)
            else:
                accel = trt_precision if precision == "fp32" else precision
                cfg = model_config(name, card=card, max_batch=max_batch,
                                   platform="onnxruntime_onnx",
                                   default_model_filename="model.onnx",
                                   optimization=tensorrt_accelerator(accel), warmup=True,
                                   **common)
            _write_model(tmp, name, cfg, card, src, "model.onnx")
        for precision in sorted(engines, key=PRECISIONS.index):
            src = Path(engines[precision])
            card, mb = _engine_card_and_batch(src, max_batch)
            name = model_name(precision, engine=True)
            if default is None and precision in ("fp32", "fp16", "int8"):
                name, default = MODEL_NAME, precision
            cfg = model_config(name, card=card, max_batch=mb, platform="tensorrt_plan",
                               default_model_filename="model.plan", warmup=True, **common)
            _write_model(tmp, name, cfg, card, src, "model.plan")
        for d in [tmp, *tmp.rglob("*")]:
            d.chmod(0o755 if d.is_dir() else 0o644)
        _replace_dir(tmp, repo)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("Triton model repository: %s (%s)", repo,
             ", ".join(sorted(p.name for p in repo.iterdir() if p.is_dir())))
    return repo


def _replace_dir(new: Path, dest: Path) -> None:
    """Move ``new`` onto ``dest``: the old tree is set aside first and removed after."""
    old = None
    if dest.exists() or dest.is_symlink():
        if not dest.is_dir() or dest.is_symlink():
            raise AslEdgeError(f"{dest} exists and is not a folder")
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
