"""TensorRT engine building, caching and the TensorRT backend, against a fake ``tensorrt``.

No GPU or TensorRT is needed: tests/fake_tensorrt/tensorrt poses as TensorRT 10 or 11 and
records what the builder was asked; the GPU identity is faked with monkeypatch.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import asl_edge.export.tensorrt as trtx  # noqa: E402
from asl_edge.errors import AslEdgeError  # noqa: E402
from asl_edge.modelcard import ModelCard  # noqa: E402
from asl_edge.runtime import tensorrt_backend  # noqa: E402
from asl_edge.runtime.backend import BackendUnavailable, open_backend  # noqa: E402

FAKE_DIR = Path(__file__).parent / "fake_tensorrt"
GPU = trtx.GpuInfo("NVIDIA Jetson Orin Nano", "8.7", "test")


def make_onnx(path: Path, precision: str = "fp32", seed: int = 0) -> Path:
    """image (N,28,28,1) -> [Q/DQ] -> Flatten -> MatMul -> Softmax -> probs (N,24)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, (784, 24)).astype(np.float32)
    nodes, inits, x = [], [], "image"
    if precision in ("int8", "int8-cpu"):
        zp_type = np.int8 if precision == "int8" else np.uint8
        inits += [numpy_helper.from_array(np.array(1 / 127, np.float32), "s"),
                  numpy_helper.from_array(np.array(0, zp_type), "zp")]
        nodes += [helper.make_node("QuantizeLinear", ["image", "s", "zp"], ["q"]),
                  helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["dq"])]
        x = "dq"
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    if precision == "fp16":  # FP16 weights with a Cast, float32 I/O (like keep_io_types)
        inits.append(numpy_helper.from_array(w.astype(np.float16), "w16"))
        nodes.append(helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT))
    else:
        inits.append(numpy_helper.from_array(w, "w"))
    nodes += [helper.make_node("MatMul", ["flat", "w"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probs"], axis=-1)]
    graph = helper.make_graph(
        nodes, "asl", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                     ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 24])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in ModelCard(precision=precision).to_props().items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def fake_trt(monkeypatch, tmp_path):
    """The fake tensorrt on sys.path as TensorRT 10.3.0, a fake GPU, a fresh cache state."""
    monkeypatch.syspath_prepend(str(FAKE_DIR))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    import tensorrt

    tensorrt.configure("10.3.0")
    monkeypatch.setattr(trtx, "gpu_identity", lambda device=0: GPU)
    monkeypatch.setattr(trtx, "_FALLBACK_DIRS", {})
    monkeypatch.setenv("ASL_CACHE", str(tmp_path / "cache"))
    return tensorrt


@pytest.fixture
def model(tmp_path) -> Path:
    return make_onnx(tmp_path / "asl_fp32.onnx")


@pytest.fixture
def no_trt(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # makes `import tensorrt` fail


def _edit_sidecar(engine: Path, **key_changes) -> None:
    side = trtx.sidecar_path(engine)
    data = json.loads(side.read_text())
    data["key"].update(key_changes)
    side.write_text(json.dumps(data))


# --- builder flags and profile -----------------------------------------------------------------


@pytest.mark.parametrize("onnx_precision,precision,flags", [
    ("fp32", "fp32", set()), ("fp32", "fp16", {"FP16"}), ("fp16", "fp16", {"FP16"}),
    ("int8", "int8", {"INT8"})])
def test_trt10_sets_precision_flags(fake_trt, tmp_path, onnx_precision, precision, flags):
    path = make_onnx(tmp_path / f"m_{onnx_precision}.onnx", onnx_precision)
    rec = trtx.build_engine(path, precision)
    build = fake_trt.builds[-1]
    assert build["builder_flags"] == flags
    assert not build["strongly_typed"] and build["network_flags"] == 0
    assert build["calibrator"] is None  # Q/DQ INT8: never a calibrator
    assert rec.built and rec.key.precision == precision
    side = json.loads(rec.sidecar.read_text())
    assert side["card"]["asl_edge.precision"] == precision
    assert side["build"]["builder_flags"] == sorted(flags)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_trt11_is_strongly_typed_without_flags(fake_trt, tmp_path, precision):
    fake_trt.configure("11.1.0")
    assert not hasattr(fake_trt.BuilderFlag, "FP16")
    path = make_onnx(tmp_path / f"m_{precision}.onnx", precision)
    rec = trtx.build_engine(path, precision)
    build = fake_trt.builds[-1]
    assert build["strongly_typed"]
    assert build["network_flags"] == 1 << int(fake_trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert build["builder_flags"] == set()
    assert rec.key.trt_version == "11.1.0" and "_trt11.1.0_" in rec.path.name


def test_trt11_without_strongly_typed_flag_still_builds(fake_trt, model):
    fake_trt.configure("11.1.0", strongly_typed_flag=False)
    trtx.build_engine(model, "fp32")
    assert fake_trt.builds[-1]["network_flags"] == 0
    assert fake_trt.builds[-1]["builder_flags"] == set()


def test_trt11_refuses_fp16_from_fp32_onnx(fake_trt, model):
    fake_trt.configure("11.0.0")
    with pytest.raises(AslEdgeError, match="fp32 model.*export an fp16 ONNX"):
        trtx.build_engine(model, "fp16")
    assert fake_trt.builds == []


@pytest.mark.parametrize("onnx_precision,precision,match", [
    ("fp32", "int8", "fp32 model"), ("int8-cpu", "int8-cpu", "int8-cpu uses asymmetric"),
    ("fp16", "fp32", "fp16 model"), ("fp32", "bf16", "precision must be one of")])
def test_incompatible_precision_is_refused(fake_trt, tmp_path, onnx_precision, precision, match):
    path = make_onnx(tmp_path / "m.onnx", onnx_precision)
    with pytest.raises(AslEdgeError, match=match):
        trtx.build_engine(path, precision)


def test_profile_min_opt_max_and_workspace(fake_trt, model):
    trtx.build_engine(model, "fp32", max_batch=64, opt_batch=8, workspace_mb=128)
    build = fake_trt.builds[-1]
    assert build["profiles"] == [{"image": ((1, 28, 28, 1), (8, 28, 28, 1), (64, 28, 28, 1))}]
    assert build["workspace"] == 128 << 20


def test_opt_batch_defaults_to_max(fake_trt, model):
    rec = trtx.build_engine(model, "fp32", max_batch=32)
    assert fake_trt.builds[-1]["profiles"][0]["image"][1] == (32, 28, 28, 1)
    assert (rec.key.min_batch, rec.key.opt_batch, rec.key.max_batch) == (1, 32, 32)


@pytest.mark.parametrize("kw,match", [({"max_batch": 0}, "max batch"),
                                      ({"max_batch": 8, "opt_batch": 9}, "opt batch"),
                                      ({"workspace_mb": 0}, "workspace")])
def test_bad_build_arguments(fake_trt, model, kw, match):
    with pytest.raises(AslEdgeError, match=match):
        trtx.build_engine(model, "fp32", **kw)


def test_parser_errors_are_reported_on_one_line(fake_trt, model):
    fake_trt.parser_errors[:] = ["In node 2 (MatMul): UNSUPPORTED_NODE:\n  bad shape",
                                 "second problem"]
    with pytest.raises(AslEdgeError) as e:
        trtx.build_engine(model, "fp32")
    msg = str(e.value)
    assert "\n" not in msg
    assert "cannot parse" in msg and "UNSUPPORTED_NODE: bad shape | second problem" in msg


def test_build_failure_reports_trt_errors(fake_trt, model):
    fake_trt.fail_build = True
    with pytest.raises(AslEdgeError, match="could not build.*fake: out of memory while building"):
        trtx.build_engine(model, "fp32")
    assert not list((Path(trtx.default_cache_dir())).glob("*.engine"))


def test_onnx_without_card_is_refused(fake_trt, tmp_path, model):
    m = onnx.load(str(model))
    del m.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(m, str(bare))
    with pytest.raises(AslEdgeError, match="no asl_edge metadata"):
        trtx.build_engine(bare, "fp32")


# --- cache key ----------------------------------------------------------------------------------


def test_cache_key_changes_with_every_input():
    base = trtx.EngineKey("a" * 64, "10.3.0", "NVIDIA Jetson Orin Nano", "8.7", "fp16", 1, 256,
                          256)
    variants = [replace(base, trt_version="10.4.0"), replace(base, gpu_name="NVIDIA A100"),
                replace(base, compute_capability="8.6"), replace(base, onnx_sha256="b" * 64),
                replace(base, precision="int8"), replace(base, max_batch=128, opt_batch=128),
                replace(base, opt_batch=1)]
    hashes = {base.short_hash()} | {v.short_hash() for v in variants}
    names = {base.engine_name()} | {v.engine_name() for v in variants}
    assert len(hashes) == len(names) == len(variants) + 1
    assert base.short_hash() == replace(base).short_hash()  # stable
    assert base.engine_name() == f"asl_fp16_b256_trt10.3.0_sm87_{base.short_hash()}.engine"
    assert "built for TensorRT 10.3.0 (now 10.4.0)" in base.differences(variants[0])


def test_build_key_follows_version_gpu_and_onnx(fake_trt, tmp_path, model, monkeypatch):
    first = trtx.build_engine(model, "fp32")
    fake_trt.configure("10.4.0")
    assert trtx.build_engine(model, "fp32").path != first.path
    monkeypatch.setattr(trtx, "gpu_identity", lambda device=0: trtx.GpuInfo("NVIDIA A2", "8.6"))
    third = trtx.build_engine(model, "fp32")
    assert "_sm86_" in third.path.name and third.key.gpu_name == "NVIDIA A2"
    other = trtx.build_engine(make_onnx(tmp_path / "other.onnx", seed=1), "fp32")
    assert other.key.onnx_sha256 != third.key.onnx_sha256 and other.path != third.path
    assert len(list(trtx.default_cache_dir().glob("*.engine"))) == 4


# --- reuse, validation and rebuild -----------------------------------------------------------


def test_cached_engine_is_reused(fake_trt, model):
    first = trtx.build_engine(model, "fp32")
    assert first.built and first.path.parent == trtx.default_cache_dir()
    second = trtx.build_engine(model, "fp32")
    assert not second.built and second.path == first.path
    assert len(fake_trt.builds) == 1
    assert trtx.validate_engine(first.path) is None
    assert trtx.build_engine(model, "fp32", force=True).built
    assert len(fake_trt.builds) == 2


def test_sidecar_contents(fake_trt, model):
    rec = trtx.build_engine(model, "fp32", max_batch=16)
    side = json.loads(rec.sidecar.read_text())
    assert rec.sidecar == rec.path.with_suffix(".json")
    assert side["key"]["onnx_sha256"] == trtx.sha256_file(model)
    assert side["key_hash"] == rec.key.short_hash()
    assert side["engine"]["sha256"] == trtx.sha256_file(rec.path)
    assert side["engine"]["size"] == rec.path.stat().st_size
    assert side["built_at"] and side["build_seconds"] >= 0
    assert ModelCard.from_props(side["card"]) == ModelCard(precision="fp32")


def test_timing_cache_is_reused_across_builds(fake_trt, tmp_path, model):
    trtx.build_engine(model, "fp32")
    assert fake_trt.builds[-1]["timing_cache_in"] == b"FAKETC"
    trtx.build_engine(make_onnx(tmp_path / "other.onnx", seed=1), "fp32")
    assert fake_trt.builds[-1]["timing_cache_in"] == b"FAKETC|entry"
    caches = list(trtx.default_cache_dir().glob("timing_*.cache"))
    assert [c.name for c in caches] == ["timing_trt10.3.0_nvidia-jetson-orin-nano_sm87.cache"]


def test_damaged_timing_cache_is_ignored(fake_trt, model, caplog):
    cache_dir = trtx.default_cache_dir()
    cache_dir.mkdir(parents=True)
    (cache_dir / "timing_trt10.3.0_nvidia-jetson-orin-nano_sm87.cache").write_bytes(b"junk")
    with caplog.at_level(logging.WARNING):
        assert trtx.build_engine(model, "fp32").built
    assert "damaged timing cache" in caplog.text


def _damage_empty(p: Path) -> None:
    p.write_bytes(b"")


def _damage_bytes(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:-1] + b"X")


def _damage_sidecar_json(p: Path) -> None:
    trtx.sidecar_path(p).write_text("{not json")


def _damage_sidecar_missing(p: Path) -> None:
    trtx.sidecar_path(p).unlink()


def _damage_sidecar_fields(p: Path) -> None:
    trtx.sidecar_path(p).write_text(json.dumps({"format": trtx.SIDECAR_FORMAT, "key": {}}))


def _damage_key(p: Path) -> None:
    _edit_sidecar(p, trt_version="10.2.0")


@pytest.mark.parametrize("damage,reason", [
    (_damage_empty, "empty (0 bytes"), (_damage_bytes, "no longer matches its sidecar"),
    (_damage_sidecar_json, "unreadable"), (_damage_sidecar_missing, "is missing"),
    (_damage_sidecar_fields, "corrupt"), (_damage_key, "built for TensorRT 10.2.0 (now 10.3.0)")])
def test_damaged_engine_is_detected_and_rebuilt(fake_trt, model, caplog, damage, reason):
    rec = trtx.build_engine(model, "fp32")
    good = rec.path.read_bytes()
    damage(rec.path)
    assert reason in trtx.validate_engine(rec.path, rec.key)
    assert reason in trtx.validate_engine(rec.path)
    with caplog.at_level(logging.INFO, logger="asl_edge.export.tensorrt"):
        again = trtx.build_engine(model, "fp32")
    assert again.built and again.path == rec.path
    assert f"rebuilding {rec.path.name}: " in caplog.text and reason in caplog.text
    assert rec.path.read_bytes() == good
    assert trtx.validate_engine(rec.path) is None


def test_validate_detects_other_trt_gpu_and_onnx(fake_trt, tmp_path, model, monkeypatch):
    rec = trtx.build_engine(model, "fp32")
    other = make_onnx(tmp_path / "other.onnx", seed=1)
    assert "built from ONNX" in trtx.validate_engine(rec.path, onnx_path=other)
    assert trtx.validate_engine(rec.path, onnx_path=model) is None
    fake_trt.configure("10.4.0")
    assert "built for TensorRT 10.3.0 (now 10.4.0)" in trtx.validate_engine(rec.path)
    fake_trt.configure("10.3.0")
    monkeypatch.setattr(trtx, "gpu_identity", lambda device=0: trtx.GpuInfo("NVIDIA A2", "8.6"))
    reason = trtx.validate_engine(rec.path)
    assert "built for GPU NVIDIA Jetson Orin Nano (now NVIDIA A2)" in reason
    assert "compute capability 8.7 (now 8.6)" in reason


def test_validate_missing_engine(tmp_path):
    assert "does not exist" in trtx.validate_engine(tmp_path / "nope.engine")


# --- cache folder -------------------------------------------------------------------------------


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ASL_CACHE", str(tmp_path / "c"))
    assert trtx.default_cache_dir() == tmp_path / "c" / "engines"
    monkeypatch.delenv("ASL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert trtx.default_cache_dir() == tmp_path / "home" / ".cache" / "asl-edge" / "engines"


def test_unwritable_cache_dir_warns_once(fake_trt, tmp_path, model, caplog, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")  # unwritable even for root
    with caplog.at_level(logging.WARNING, logger="asl_edge.export.tensorrt"):
        first = trtx.build_engine(model, "fp32", cache_dir=blocker / "engines")
        second = trtx.build_engine(model, "fp32", cache_dir=blocker / "engines")
    warnings = [r for r in caplog.records if "not writable" in r.getMessage()]
    assert len(warnings) == 1 and "ASL_CACHE" in warnings[0].getMessage()
    assert first.path.parent.parent == tmp_path / "tmp"
    assert first.built and not second.built  # the fallback is kept for the process


# --- without TensorRT or a GPU ------------------------------------------------------------------


def test_build_without_tensorrt_is_unavailable(no_trt, model):
    with pytest.raises(BackendUnavailable) as e:
        trtx.build_engine(model, "fp32")
    msg = str(e.value)
    assert msg.startswith("TensorRT is not installed: ")
    assert "install JetPack or `pip install tensorrt` on a CUDA machine" in msg
    assert "\n" not in msg


def test_no_gpu_is_unavailable(monkeypatch):
    monkeypatch.setattr(trtx, "cuda_runtime", lambda: None)
    monkeypatch.setattr(trtx.shutil, "which", lambda name: None)
    trtx._probe_gpu.cache_clear()
    with pytest.raises(BackendUnavailable, match="no NVIDIA GPU found .*cuda-python is not "
                                                 "installed; nvidia-smi: not found"):
        trtx.gpu_identity()


def test_gpu_from_nvidia_smi(monkeypatch):
    monkeypatch.setattr(trtx, "cuda_runtime", lambda: None)
    monkeypatch.setattr(trtx.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "NVIDIA GeForce RTX 4090, 8.9\n", "")

    monkeypatch.setattr(trtx.subprocess, "run", run)
    trtx._probe_gpu.cache_clear()
    try:
        gpu = trtx.gpu_identity()
    finally:
        trtx._probe_gpu.cache_clear()
    assert gpu == trtx.GpuInfo("NVIDIA GeForce RTX 4090", "8.9") and gpu.sm == "sm89"
    assert calls[0][1:] == ["--query-gpu=name,compute_cap", "--format=csv,noheader"]


def test_gpu_from_cuda_python(fake_trt, monkeypatch):
    class Props:
        name, major, minor = b"NVIDIA A100-SXM4-40GB\x00\x00", 8, 0

    cudart = fake_trt.fake_cudart
    monkeypatch.setattr(type(cudart), "cudaGetDeviceCount",
                        lambda self: (self.cudaError_t.cudaSuccess, 1), raising=False)
    monkeypatch.setattr(type(cudart), "cudaGetDeviceProperties",
                        lambda self, dev: (self.cudaError_t.cudaSuccess, Props()), raising=False)
    assert trtx._gpu_from_cudart(cudart, 0) == trtx.GpuInfo("NVIDIA A100-SXM4-40GB", "8.0")
    monkeypatch.setattr(type(cudart), "cudaGetDeviceCount",
                        lambda self: (self.cudaError_t.cudaErrorNoDevice, 0))
    with pytest.raises(trtx._NoGpu, match="cudaErrorNoDevice"):
        trtx._gpu_from_cudart(cudart, 0)


# --- the runtime backend ------------------------------------------------------------------------


@pytest.fixture
def cudart(fake_trt, monkeypatch):
    monkeypatch.setattr(tensorrt_backend, "_cudart", lambda: fake_trt.fake_cudart)
    return fake_trt.fake_cudart


def test_backend_without_tensorrt_is_unavailable(no_trt, tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    with pytest.raises(BackendUnavailable, match="TensorRT is not installed"):
        tensorrt_backend.TensorRTBackend(engine)


def test_backend_without_cuda_python_is_unavailable(fake_trt, model, monkeypatch):
    monkeypatch.setattr(trtx, "cuda_runtime", lambda: None)
    rec = trtx.build_engine(model, "fp32")
    with pytest.raises(BackendUnavailable, match="pip install cuda-python"):
        tensorrt_backend.TensorRTBackend(rec.path)


def test_backend_refuses_stale_engine(cudart, fake_trt, model):
    rec = trtx.build_engine(model, "fp32")
    fake_trt.configure("10.4.0")
    with pytest.raises(trtx.StaleEngineError) as e:
        tensorrt_backend.TensorRTBackend(rec.path)
    msg = str(e.value)
    assert "built for TensorRT 10.3.0 (now 10.4.0)" in msg
    assert "asl-export MODEL.keras --engine" in msg
    assert cudart.memory == {}  # nothing allocated


def test_backend_refuses_corrupt_engine(cudart, model):
    rec = trtx.build_engine(model, "fp32")
    rec.path.write_bytes(b"")
    with pytest.raises(trtx.StaleEngineError, match="empty.*asl-export MODEL.keras --engine"):
        tensorrt_backend.TensorRTBackend(rec.path)


def test_backend_refuses_engine_from_other_onnx(cudart, tmp_path, model):
    rec = trtx.build_engine(model, "fp32")
    with pytest.raises(trtx.StaleEngineError, match="built from ONNX"):
        tensorrt_backend.TensorRTBackend(rec.path, onnx=make_onnx(tmp_path / "o.onnx", seed=3))


def test_backend_infers_and_splits_large_batches(cudart, fake_trt, model):
    import onnxruntime as ort

    rec = trtx.build_engine(model, "fp32", max_batch=64)
    x = np.random.default_rng(1).random((150, 28, 28, 1), dtype=np.float32)
    want = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        ["probs"], {"image": x})[0]
    with tensorrt_backend.TensorRTBackend(rec.path, threads=2) as b:
        assert b.info.backend == "tensorrt" and b.info.device == GPU.name
        assert b.info.precision == "fp32" and b.max_batch == 64
        assert b.card == ModelCard(precision="fp32")
        got = b.infer(x)
        assert got.shape == (150, 24) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert fake_trt.contexts[-1].batches == [64, 64, 22]
        assert b.infer(x[:1]).shape == (1, 24)
        assert b.infer(x[:0]).shape == (0, 24)
        with pytest.raises(ValueError):
            b.infer(np.zeros((2, 32, 32, 1), np.float32))
    assert cudart.memory == {} and cudart.streams == set()  # all freed
    b.close()  # twice is fine
    with pytest.raises(AslEdgeError, match="closed"):
        b.infer(x[:1])


def test_open_backend_uses_tensorrt_for_engines(cudart, model):
    rec = trtx.build_engine(model, "fp32", max_batch=8)
    b = open_backend(rec.path, "auto")
    try:
        assert isinstance(b, tensorrt_backend.TensorRTBackend)
        assert b.info.line().startswith("backend=tensorrt device=NVIDIA Jetson Orin Nano")
    finally:
        b.close()
