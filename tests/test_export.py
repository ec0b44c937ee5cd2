import json

import numpy as np
import pytest

pytest.importorskip("tf2onnx")
import onnx  # noqa: E402

from asl_edge.modelcard import ModelCard  # noqa: E402
from asl_edge.parity import compare  # noqa: E402


def test_fp32_onnx_has_named_io_dynamic_batch_and_card(exported):
    m = onnx.load(str(exported / "asl_fp32.onnx"))
    onnx.checker.check_model(m, full_check=True)
    (inp,), (out,) = m.graph.input, m.graph.output
    assert inp.name == "image" and out.name == "probs"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["N", 28, 28, 1]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 24]
    assert {o.version for o in m.opset_import if o.domain in ("", "ai.onnx")} == {17}
    card = ModelCard.from_props({p.key: p.value for p in m.metadata_props})
    assert card.letters[0] == "A" and len(card.letters) == 24 and card.input_layout == "NHWC"
    assert card.precision == "fp32" and len(card.source_sha256) == 64


def test_export_report_parity(exported):
    report = json.loads((exported / "export_report.json").read_text())
    by = {v["precision"]: v for v in report["variants"]}
    assert set(by) == {"fp32", "fp16", "int8", "int8-cpu"}
    assert by["fp32"]["parity_vs_keras"]["top1_agreement"] == 1.0
    assert by["fp32"]["parity_vs_keras"]["max_abs_diff"] < 1e-4
    # INT8 at most a third of FP32's size (weights dominate)
    assert by["int8"]["size_bytes"] * 3 <= by["fp32"]["size_bytes"]
    assert by["fp16"]["size_bytes"] < 0.6 * by["fp32"]["size_bytes"]


def test_variants_carry_their_precision_and_qdq(exported):
    for name, prec in (("asl_fp16.onnx", "fp16"), ("asl_int8.onnx", "int8"),
                       ("asl_int8_cpu.onnx", "int8-cpu")):
        m = onnx.load(str(exported / name))
        assert ModelCard.from_props({p.key: p.value for p in m.metadata_props}).precision == prec
    ops = {n.op_type for n in onnx.load(str(exported / "asl_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # TensorRT's form: symmetric activations, zero points all zero and int8
    m = onnx.load(str(exported / "asl_int8.onnx"))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    zps = [inits[n.input[2]] for n in m.graph.node
           if n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in inits]
    assert zps and all(z.dtype == np.int8 and not z.any() for z in zps)


def test_tolerance_failure_exits_1_and_removes_variant(trained, synthetic_data, tmp_path,
                                                        monkeypatch, capsys):
    from asl_edge.export import cli as export_cli

    real = export_cli.compare

    def pessimist(ref, cand, labels=None, reference="", candidate=""):
        p = real(ref, cand, labels, reference, candidate)
        if "fp16" in candidate:  # pretend FP16 lost a point
            p.candidate_accuracy -= 0.01
        return p

    monkeypatch.setattr(export_cli, "compare", pessimist)
    rc = export_cli.main([str(trained[0] / "model.keras"), "--fp16", "--out", str(tmp_path),
                          "--data", str(synthetic_data)])
    assert rc == 1
    assert "fp16" in capsys.readouterr().err
    assert (tmp_path / "asl_fp32.onnx").exists() and not (tmp_path / "asl_fp16.onnx").exists()


def test_missing_and_bad_model_files(tmp_path):
    from asl_edge.export.cli import entry
    import sys

    sys.argv = ["asl-export", str(tmp_path / "none.keras")]
    assert entry() == 2
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"garbage")
    sys.argv = ["asl-export", str(bad)]
    assert entry() == 2


def test_compare_reports_agreement_and_accuracy():
    ref = np.eye(4, dtype=np.float32)
    cand = ref.copy()
    cand[3] = [0.1, 0.6, 0.2, 0.1]
    p = compare(ref, cand, labels=np.array([0, 1, 2, 3]))
    assert p.top1_agreement == 0.75 and p.reference_accuracy == 1.0
    assert p.candidate_accuracy == 0.75 and abs(p.max_abs_diff - 0.9) < 1e-6
    assert abs(p.accuracy_drop_points - 25.0) < 1e-9


def test_pool_before_affine_is_exact_and_only_for_positive_scales():
    from onnx import TensorProto, helper, numpy_helper

    from asl_edge.export.graph_opt import pool_before_affine

    def graph(scale):
        nodes = [helper.make_node("Relu", ["x"], ["r"]),
                 helper.make_node("Mul", ["r", "s"], ["m"]),
                 helper.make_node("Add", ["m", "b"], ["a"]),
                 helper.make_node("MaxPool", ["a"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                  pads=[0, 0, 1, 1])]
        inits = [numpy_helper.from_array(np.asarray(scale, np.float32).reshape(3, 1, 1), "s"),
                 numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32)
                                         .reshape(3, 1, 1), "b")]
        g = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])

    import onnxruntime as ort

    x = np.random.default_rng(0).normal(size=(2, 3, 7, 7)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]  # noqa
    m = graph([0.5, 2.0, 1.5])
    before = run(m)
    assert pool_before_affine(m) == 1
    assert [n.op_type for n in m.graph.node] == ["Relu", "MaxPool", "Mul", "Add"]
    np.testing.assert_allclose(run(m), before, rtol=1e-6, atol=1e-6)
    neg = graph([0.5, -2.0, 1.5])  # a negative scale turns max into min: must not rewrite
    assert pool_before_affine(neg) == 0


def test_exported_seed_model_pools_before_each_batchnorm(exported):
    ops = [n.op_type for n in onnx.load(str(exported / "asl_fp32.onnx")).graph.node]
    pools = [i for i, op in enumerate(ops) if op == "MaxPool"]
    assert len(pools) == 3 and all(ops[i - 1] == "Relu" for i in pools)
