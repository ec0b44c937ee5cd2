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
