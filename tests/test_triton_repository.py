"""The Triton model repository: every config.pbtxt parsed with Triton's own protobuf schema."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from asl_edge.errors import AslEdgeError
from asl_edge.export.triton import (LABELS_FILE, model_config, string_parameters, to_pbtxt,
                                    write_model_repository)
from asl_edge.labels import LETTERS
from asl_edge.modelcard import ModelCard


def tiny_onnx(path: Path, card: ModelCard = ModelCard(), seed: int = 0) -> Path:
    """A small ONNX model with the runtime's I/O (image NHWC -> probs) and its model card."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal((784, 24)) * 0.05).astype(np.float32),
                                     "W"),
             numpy_helper.from_array(np.zeros(24, np.float32), "B"),
             numpy_helper.from_array(np.array([-1, 784], np.int64), "shape")]
    nodes = [helper.make_node("Reshape", ["image", "shape"], ["flat"]),
             helper.make_node("Gemm", ["flat", "W", "B"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                      ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 24])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tests")
    model.ir_version = 8
    for k, v in card.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    return {p: tiny_onnx(d / f"asl_{p}.onnx", ModelCard(precision=p), seed=i)
            for i, p in enumerate(("fp32", "fp16", "int8", "int8-cpu"))}


@pytest.fixture(scope="module")
def schema():
    pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] (asl-edge[serve]) "
                        "carries Triton's model_config schema")
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    def parse(text: str):
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    return parse


def test_repository_layout_and_every_config_parses(tmp_path, onnx_models, schema):
    engine = tmp_path / "asl_fp16.engine"
    engine.write_bytes(b"not really an engine")  # no sidecar: default card, given max batch
    repo = write_model_repository(tmp_path / "repo", onnx_models, {"fp16": engine},
                                  max_batch=64, preferred_batch_sizes=(4, 16, 128),
                                  queue_delay_us=250, instances=2, trt_precision="fp16")
    names = sorted(p.name for p in repo.iterdir())
    assert names == ["asl", "asl_fp16", "asl_int8", "asl_int8_cpu", "asl_trt_fp16"]
    configs = {}
    for d in repo.iterdir():
        cfg = schema((d / "config.pbtxt").read_text())
        configs[d.name] = cfg
        assert cfg.name == d.name
        assert cfg.max_batch_size == 64
        assert [i.name for i in cfg.input] == ["image"]
        assert list(cfg.input[0].dims) == [28, 28, 1]
        assert [o.name for o in cfg.output] == ["probs"] and list(cfg.output[0].dims) == [24]
        assert cfg.output[0].label_filename == LABELS_FILE
        assert (d / LABELS_FILE).read_text().split() == list(LETTERS)
        assert list(cfg.dynamic_batching.preferred_batch_size) == [4, 16]  # 128 > max batch
        assert cfg.dynamic_batching.max_queue_delay_microseconds == 250
        assert len(cfg.instance_group) == 1 and cfg.instance_group[0].count == 2
        params = {k: v.string_value for k, v in cfg.parameters.items()}
        assert ModelCard.from_props(params).letters == LETTERS
        assert (d / "1" / cfg.default_model_filename).is_file()
    onnx_cfg = configs["asl"]
    assert onnx_cfg.platform == "onnxruntime_onnx"
    assert onnx_cfg.instance_group[0].kind == onnx_cfg.instance_group[0].KIND_GPU
    accel = onnx_cfg.optimization.execution_accelerators.gpu_execution_accelerator
    assert [a.name for a in accel] == ["tensorrt"]
    assert accel[0].parameters["precision_mode"] == "FP16"
    assert len(onnx_cfg.model_warmup) == 1 and onnx_cfg.model_warmup[0].batch_size == 1
    assert configs["asl_int8"].optimization.execution_accelerators \
        .gpu_execution_accelerator[0].parameters["precision_mode"] == "INT8"
    cpu = configs["asl_int8_cpu"]
    assert cpu.instance_group[0].kind == cpu.instance_group[0].KIND_CPU
    assert not cpu.optimization.execution_accelerators.gpu_execution_accelerator
    plan = configs["asl_trt_fp16"]
    assert plan.platform == "tensorrt_plan" and plan.default_model_filename == "model.plan"
    assert (repo / "asl_trt_fp16" / "1" / "model.plan").read_bytes() == b"not really an engine"
    # the card of each variant travels with it
    assert configs["asl_int8_cpu"].parameters["asl_edge.precision"].string_value == "int8-cpu"


def test_fp32_trt_precision_is_configurable(tmp_path, onnx_models, schema):
    repo = write_model_repository(tmp_path / "r", {"fp32": onnx_models["fp32"]},
                                  trt_precision="fp32")
    cfg = schema((repo / "asl" / "config.pbtxt").read_text())
    accel = cfg.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accel.parameters["precision_mode"] == "FP32" and cfg.max_batch_size == 256


def test_a_typo_fails_the_schema(schema):
    from google.protobuf.text_format import ParseError

    text = to_pbtxt(model_config("asl", card=ModelCard(), max_batch=8, platform="x"))
    schema(text)
    with pytest.raises(ParseError):
        schema(text.replace("max_batch_size", "max_batch_sise"))
    with pytest.raises(ParseError):
        schema(text.replace("TYPE_FP32", "TYPE_FLOAT32"))


def test_strings_are_escaped(schema):
    odd = 'quote " backslash \\ newline \n end'
    cfg = {"name": "asl", "parameters": string_parameters({"k": odd})}
    assert schema(to_pbtxt(cfg)).parameters["k"].string_value == odd


def test_serving_repository_config_parses(tmp_path, onnx_models, schema):
    from asl_edge.serving.server import ServeConfig, write_serving_repository

    cfg = ServeConfig(model=onnx_models["fp32"], max_batch=32, instances=2, threads=1,
                      preferred_batch_sizes=(8,), queue_delay_us=50)
    repo = write_serving_repository(tmp_path / "models", cfg, ModelCard())
    parsed = schema((repo / "asl" / "config.pbtxt").read_text())
    assert parsed.backend == "python" and parsed.max_batch_size == 32
    assert parsed.instance_group[0].kind == parsed.instance_group[0].KIND_CPU
    assert parsed.parameters["model_path"].string_value == str(onnx_models["fp32"].resolve())
    assert (repo / "asl" / "1" / "model.py").is_file()


def test_rewrite_replaces_whole_and_failure_keeps_old(tmp_path, onnx_models):
    repo = tmp_path / "repo"
    write_model_repository(repo, onnx_models)
    (repo / "stale").mkdir()
    write_model_repository(repo, {"fp16": onnx_models["fp16"]})
    assert sorted(p.name for p in repo.iterdir()) == ["asl"]  # fp16 became the default
    assert "FP16" in (repo / "asl" / "config.pbtxt").read_text()
    with pytest.raises(AslEdgeError, match="not found"):
        write_model_repository(repo, {"fp32": tmp_path / "missing.onnx"})
    assert sorted(p.name for p in repo.iterdir()) == ["asl"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".repo")]  # no temp left


@pytest.mark.parametrize("kwargs, match", [
    ({"onnx_models": {}}, "nothing to put"),
    ({"onnx_models": {"fp8": "x.onnx"}}, "unknown precision"),
    ({"trt_precision": "int4"}, "trt_precision"),
    ({"max_batch": 0}, "max_batch"),
    ({"instances": 0}, "instances"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, onnx_models, kwargs, match):
    args = {"repo_dir": tmp_path / "r", "onnx_models": {"fp32": onnx_models["fp32"]}, **kwargs}
    with pytest.raises(AslEdgeError, match=match):
        write_model_repository(**args)


def test_not_an_onnx_model_is_reported(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(AslEdgeError, match="bad.onnx"):
        write_model_repository(tmp_path / "r", {"fp32": bad})


def test_card_keys_survive_model_config():
    card = dataclasses.replace(ModelCard(), precision="int8", extra={"acc": "0.99"})
    cfg = model_config("m", card=card, max_batch=4, backend="python")
    params = {p["key"]: p["value"]["string_value"] for p in cfg["parameters"]}
    assert ModelCard.from_props(params) == card
