"""asl-serve against a real tritonserver on this machine: client backend, malformed requests,
load test, signals. Skips (with the reason) where the server's environment cannot be made."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from asl_edge.errors import AslEdgeError
from asl_edge.labels import LETTERS
from asl_edge.modelcard import ModelCard
from asl_edge.runtime.triton_backend import TritonBackend, is_server_url, parse_server_url
from asl_edge.serving import loadtest

from test_triton_repository import tiny_onnx

MAX_BATCH = 8


@pytest.fixture(scope="module")
def dist():
    from asl_edge.serving import env

    try:
        env.check_platform()
        return env.ensure_venv(progress=lambda msg: print(msg, file=sys.stderr))
    except AslEdgeError as e:
        pytest.skip(f"no Triton server environment here: {e}")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_onnx(tmp_path_factory.mktemp("serve") / "tiny.onnx",
                     ModelCard(precision="fp32", producer="tests"))


@pytest.fixture(scope="module")
def server(dist, model, tmp_path_factory):
    from asl_edge.serving.server import ServeConfig, TritonServer, free_port

    cfg = ServeConfig(model=model, http_port=free_port(), grpc_port=free_port(),
                      metrics_port=free_port(), max_batch=MAX_BATCH, queue_delay_us=200,
                      workspace=tmp_path_factory.mktemp("ws"))
    with TritonServer(dist, cfg, ModelCard()) as s:
        yield s


@pytest.fixture(scope="module")
def reference(model):
    from asl_edge.runtime.onnxruntime_backend import OnnxRuntimeBackend

    b = OnnxRuntimeBackend(model)
    yield b
    b.close()


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype=np.float32)


def test_builtin_http_client_matches_local_runtime(server, reference):
    b = TritonBackend(server.cfg.http_url, client="builtin")
    try:
        assert b.card.letters == LETTERS and b.card.precision == "fp32"
        assert b.info.backend == "triton-http" and b.info.device == "cpu"
        assert b.max_batch == MAX_BATCH
        for n in (1, 5, MAX_BATCH * 2 + 3):  # the last is split into server-sized pieces
            x = images(n, n)
            np.testing.assert_allclose(b.infer(x), reference.infer(x), atol=1e-6)
        with pytest.raises(ValueError):
            b.infer(np.zeros((1, 32, 32, 1), np.float32))
    finally:
        b.close()


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_tritonclient_http_and_grpc(server, reference, scheme):
    pytest.importorskip(f"tritonclient.{scheme}", reason="asl-edge[serve] not installed")
    url = server.cfg.http_url if scheme == "http" else server.cfg.grpc_url
    b = TritonBackend(url + "/asl", client="tritonclient")
    try:
        assert b.info.backend == f"triton-{scheme}" and b.max_batch == MAX_BATCH
        assert b.card.letters == LETTERS
        x = images(11, 3)
        np.testing.assert_allclose(b.infer(x), reference.infer(x), atol=1e-6)
    finally:
        b.close()


def test_labels_from_the_classification_extension(server, monkeypatch):
    """Configs without the card (not written by this project) still get their labels: the
    ONNX/TensorRT backends answer class_count with "score:index:label" (the Python backend
    of asl-serve does not, but its config carries the card)."""
    b = TritonBackend(server.cfg.http_url, client="builtin")
    try:
        answer = np.array([[f"0.5:{i}:{c}".encode() for i, c in enumerate(LETTERS)][::-1]])
        monkeypatch.setattr(b._client, "infer", lambda *a, **k: answer)
        assert b._server_labels("image", "probs", 24) == LETTERS
        monkeypatch.setattr(b._client, "infer", lambda *a, **k: answer[:, :5])
        assert b._server_labels("image", "probs", 24) is None
    finally:
        b.close()


def test_classifier_over_the_server(server):
    from asl_edge.runtime.backend import open_backend

    try:
        b = open_backend(server.cfg.http_url)
    except AslEdgeError as e:
        pytest.skip(f"open_backend does not route server URLs yet ({e})")
    try:
        assert b.infer(images(2)).shape == (2, 24)
    finally:
        b.close()


def test_unreachable_server_is_one_clear_error():
    from asl_edge.serving.server import free_port

    with pytest.raises(AslEdgeError, match="is the server running"):
        TritonBackend(f"http://127.0.0.1:{free_port()}", client="builtin", timeout=2)


def test_unknown_model_is_one_clear_error(server):
    with pytest.raises(AslEdgeError, match="no_such_model"):
        TritonBackend(server.cfg.http_url + "/no_such_model", client="builtin")


def test_malformed_requests_are_rejected_and_server_stays_healthy(server):
    r = loadtest.check_malformed(server.cfg.http_url, max_batch=MAX_BATCH)
    assert r["all_rejected"], loadtest.format_malformed(r)
    by_case = {c["case"]: c for c in r["cases"]}
    assert by_case[f"batch over the limit ({MAX_BATCH + 1} > {MAX_BATCH})"]["status"] == 400
    assert "batch-size must be <=" in by_case[f"batch over the limit ({MAX_BATCH + 1} > "
                                              f"{MAX_BATCH})"]["error"]
    assert "data-type" in by_case["wrong dtype (INT32)"]["error"]
    assert "shape" in by_case["wrong shape (28x28, no channel)"]["error"]
    assert by_case["unknown model"]["status"] == 404
    assert all(c["status"] >= 400 and c["error"] for c in r["cases"])
    assert server.running


def test_loadtest_short_run(server):
    r = loadtest.run(server.cfg.http_url, clients=4, seconds=2, warmup_s=0.2)
    assert r["errors"] == 0, r["error_kinds"]
    assert r["requests"] > 50 and r["requests_per_s"] > 25
    assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
    assert r["mean_batch"] is not None and 1.0 <= r["mean_batch"] <= 4
    assert "4 clients" in loadtest.format_result(r)
    rb = loadtest.run(server.cfg.http_url, clients=2, seconds=1, batch=3, warmup_s=0.1)
    assert rb["errors"] == 0 and rb["images_per_s"] == pytest.approx(3 * rb["requests_per_s"])


def test_loadtest_batch_over_limit_counts_errors(server):
    r = loadtest.run(server.cfg.http_url, clients=1, seconds=0.5, batch=MAX_BATCH + 1,
                     warmup_s=0)
    assert r["requests"] == 0 and r["errors"] > 0
    assert any("batch-size" in k for k in r["error_kinds"])


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "http://192.168.0.10:8000",
                                 "http://8.8.8.8:8000", "grpc://127.0.0.1:8001"])
def test_loadtest_refuses_non_loopback_and_non_http(url):
    with pytest.raises(AslEdgeError):
        loadtest.run(url, seconds=1)
    with pytest.raises(AslEdgeError):
        loadtest.check_malformed(url)


@pytest.mark.parametrize("kwargs", [{"clients": 0}, {"clients": 10_000}, {"seconds": 0},
                                    {"seconds": 1e6}, {"batch": 0}])
def test_loadtest_is_bounded(kwargs):
    with pytest.raises(AslEdgeError):
        loadtest.run("http://127.0.0.1:9", **kwargs)


def test_server_urls_parse():
    assert parse_server_url("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000, "asl")
    assert parse_server_url("grpc://localhost") == ("grpc", "localhost", 8001, "asl")
    assert parse_server_url("http://h:1/v2/models/asl_int8")[3] == "asl_int8"
    assert parse_server_url("http://h:1/m", model_name="x")[3] == "x"
    assert is_server_url("grpc://h:1") and not is_server_url("models/asl.onnx")
    for bad in ("ftp://h:1", "http:///nohost", "http://h:1/a/b"):
        with pytest.raises(AslEdgeError):
            parse_server_url(bad)


def test_model_that_fails_to_load_is_reported(dist, model, tmp_path):
    from asl_edge.serving.server import ServeConfig, TritonServer, free_port

    cfg = ServeConfig(model=model, backend="tensorrt", http_port=free_port(),
                      grpc_port=free_port(), metrics_port=free_port(), workspace=tmp_path)
    with pytest.raises(AslEdgeError, match="not a TensorRT engine"):
        TritonServer(dist, cfg, ModelCard()).start(timeout=120)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_asl_serve_stops_cleanly_on_a_signal(dist, model, tmp_path, sig):
    cmd = [sys.executable, "-m", "asl_edge.serving.cli", "--model", str(model),
           "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0",
           "--workspace", str(tmp_path / "ws")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            if line.startswith("ready: "):
                url = line.split()[1].rsplit("/v2/", 1)[0]
                break
            assert time.monotonic() < deadline, "asl-serve did not get ready"
        assert url, "asl-serve exited before it was ready"
        assert TritonBackend(url, client="builtin").infer(images(1)).shape == (1, 24)
        proc.send_signal(sig)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, rest
        assert f"stopped on {sig.name}" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with pytest.raises(AslEdgeError):  # the server went with it
        TritonBackend(url, client="builtin", timeout=2)


def test_asl_serve_self_test_writes_results(dist, model, tmp_path):
    from asl_edge.serving.cli import main

    rc = main(["--model", str(model), "--http-port", "0", "--grpc-port", "0",
               "--metrics-port", "0", "--workspace", str(tmp_path), "--loadtest", "1",
               "--clients", "2", "--max-batch", "4"])
    assert rc == 0
    result = json.loads((tmp_path / "loadtest.json").read_text())
    assert result["loadtest"]["errors"] == 0 and result["malformed"]["all_rejected"]


def test_bad_model_fails_before_any_server(tmp_path):
    from asl_edge.serving.cli import main

    with pytest.raises(AslEdgeError, match="does not exist"):
        main(["--model", str(tmp_path / "nope.onnx"), "--workspace", str(tmp_path)])


def test_offline_pip_is_one_clear_line(tmp_path, monkeypatch):
    from asl_edge.serving import env

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'WARNING: Retrying ... NewConnectionError: [Errno -3] "
                    "Temporary failure in name resolution'\necho 'ERROR: Could not find a "
                    "version that satisfies the requirement nvidia-pytriton==0.7.0'\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(AslEdgeError, match="offline") as e:
        env._pip(fake, ["nvidia-pytriton==0.7.0"], progress=lambda m: None)
    assert "\n" not in str(e.value)
    with pytest.raises(AslEdgeError, match="no Triton server environment"):
        env.ensure_venv(tmp_path / "absent", install=False)


def test_server_env_points_the_stub_at_this_python(dist, monkeypatch, tmp_path):
    import sysconfig

    from asl_edge.serving.env import link_asl_edge
    from asl_edge.serving.server import server_env

    monkeypatch.setenv("PYTHONPATH", "/somewhere/with/numpy2")
    env = server_env(dist)
    assert sysconfig.get_config_var("LIBDIR") in env["LD_LIBRARY_PATH"].split(":")
    assert env["PATH"].startswith(str(dist.venv / "bin"))
    assert "PYTHONPATH" not in env
    pylib = link_asl_edge(tmp_path / "pylib")
    code = (f"import sys; sys.path.insert(0, {str(pylib)!r}); import numpy, asl_edge; "
            "print(numpy.__version__, asl_edge.__file__)")
    out = subprocess.run([str(dist.python), "-I", "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out[0].startswith("1.") and os.path.realpath(out[1]) == os.path.realpath(
        __import__("asl_edge").__file__)
