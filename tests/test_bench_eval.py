import json

import numpy as np
import pytest

from asl_edge.bench import Row, format_table, speedups, summarise, time_calls


def test_time_calls_counts_and_summarises():
    calls = []
    t = time_calls(lambda: calls.append(1), warmup=3, iterations=25, seconds=0)
    assert len(t) == 25 and len(calls) == 28 and (t >= 0).all()
    s = summarise(np.array([1.0, 2.0, 3.0, 4.0]), batch=8)
    assert s["latency_ms"]["p50"] == 2.5 and s["throughput_ips"] == pytest.approx(3200.0)


def test_table_shows_skipped_rows_with_reason():
    rows = [Row("python", "ort-cpu", "fp32", 1, "default", latency_ms={"p50": 0.2, "p90": 0.3,
                "p99": 0.4}, throughput_ips=5000.0, accuracy=0.99, size_bytes=2048),
            Row("python", "tensorrt", "fp16", 0, skipped="TensorRT not installed")]
    text = format_table(rows)
    assert "skipped: TensorRT not installed" in text and "0.200" in text and "99.00" in text


def test_speedups_are_ratios_of_batch1_p50():
    lat = lambda v: {"p50": v, "p90": v, "p99": v}  # noqa: E731
    rows = [Row("python", "ort-cpu", "fp32", 1, "default", latency_ms=lat(0.1)),
            Row("python", "ort-cpu", "fp32", 1, "threads=1", latency_ms=lat(0.05)),
            Row("keras", "tensorflow", "fp32", 1, "model.predict", latency_ms=lat(40.0)),
            Row("keras", "tensorflow", "fp32", 1, "xla", latency_ms=lat(1.0))]
    s = speedups(rows)
    assert s["batch-1 fp32 speed-up over Keras model.predict"] == pytest.approx(800)
    assert s["batch-1 fp32 speed-up over Keras xla"] == pytest.approx(20)


def test_asl_bench_runs_end_to_end(exported, trained, synthetic_data, tmp_path, capsys):
    from asl_edge.bench import main

    rc = main(["--models", str(exported), "--keras-model", str(trained[0] / "model.keras"),
               "--data", str(synthetic_data), "--quick", "--batch-sizes", "1,4",
               "--out", str(tmp_path)])
    assert rc == 0
    out = json.loads((tmp_path / "bench.json").read_text())
    ran = [r for r in out["rows"] if not r["skipped"]]
    assert {r["precision"] for r in ran} >= {"fp32", "fp16", "int8", "int8-cpu"}
    assert {r["variant"] for r in ran if r["runtime"] == "keras"} >= {"model.predict",
                                                                       "tf.function"}
    assert any(r["variant"] == "frame pipeline 640x480" for r in ran)
    assert all(r["latency_ms"]["p50"] > 0 and r["throughput_ips"] > 0 for r in ran)
    assert any("tensorrt" == r["backend"] and r["skipped"] for r in out["rows"])
    assert out["system"]["cores"] >= 1 and "onnxruntime" in out["system"]["versions"]
    assert (tmp_path / "latency_by_batch.png").stat().st_size > 0
    assert "speed-up over Keras model.predict" in capsys.readouterr().out


def test_asl_bench_bad_arguments(tmp_path):
    from asl_edge.bench import entry
    import sys

    sys.argv = ["asl-bench", "--batch-sizes", "1,x"]
    assert entry() == 2
    sys.argv = ["asl-bench", "--models", str(tmp_path)]
    assert entry() == 2


def test_asl_eval_table_and_json(exported, trained, synthetic_data, tmp_path, capsys):
    from asl_edge.evaluate import main

    rc = main([str(exported / "asl_int8.onnx"), str(exported / "asl_fp32.onnx"),
               str(trained[0] / "model.keras"), "--data", str(synthetic_data),
               "--out", str(tmp_path)])
    assert rc == 0
    summary = json.loads((tmp_path / "eval_summary.json").read_text())
    rows = summary["rows"]
    assert rows[0]["precision"] == "fp32 (keras)"  # keras/fp32 first: the reference
    by = {r["precision"]: r for r in rows}
    assert by["fp32"]["agreement_with_reference"] == 1.0
    assert (tmp_path / "eval_asl_int8_confusion.png").stat().st_size > 0
    assert "int8" in capsys.readouterr().out
