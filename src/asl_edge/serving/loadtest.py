"""A bounded load test of a Triton server on this machine, and the malformed-request check.

``run`` keeps ``clients`` HTTP/1.1 keep-alive connections busy for ``seconds``, each with one
request in flight at a time (closed loop, like ``perf_analyzer --concurrency-range N``), using
the KServe v2 binary tensor extension. One thread drives every connection through a selector:
on a 2-core machine the load generator must cost as little CPU as it can, since it shares the
cores with the server it measures. Every response is checked (status 200, output size).
The server's own statistics give the mean batch size its dynamic batcher formed.

Only loopback addresses are accepted, and the run stops by itself: a time limit, a cap on
clients, and a stall timeout.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import resource
import selectors
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..errors import AslEdgeError

log = logging.getLogger(__name__)

MAX_CLIENTS = 256
MAX_SECONDS = 600.0
STALL_S = 10.0  # no byte from a connection for this long: counted as an error, run ends


def parse_url(url: str, default_port: int = 8000) -> tuple[str, int]:
    """``http://host:port`` (or ``host:port``) -> (host, port); loopback hosts only."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http",):
        raise AslEdgeError(f"{url}: the load test speaks HTTP (use the server's HTTP port)")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    require_loopback(host)
    return host, port


def require_loopback(host: str) -> None:
    """Refuse any host that is not, or does not resolve only to, a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise AslEdgeError(f"cannot resolve {host!r}: {e}") from None
    addrs = {info[4][0] for info in infos}
    bad = [a for a in addrs if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if not addrs or bad:
        raise AslEdgeError(f"refusing to load-test {host} ({', '.join(sorted(addrs))}): only "
                           "loopback servers (127.0.0.0/8, ::1, localhost) may be targeted")


def infer_request(host: str, port: int, model: str, images: np.ndarray,
                  input_name: str = "image", output_name: str = "probs") -> bytes:
    """A complete HTTP request: KServe v2 infer with the input as binary tensor data."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    header = json.dumps({
        "inputs": [{"name": input_name, "shape": list(images.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": images.nbytes}}],
        "outputs": [{"name": output_name, "parameters": {"binary_data": True}}],
    }, separators=(",", ":")).encode()
    body = header + images.tobytes()
    return (f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/octet-stream\r\n"
            f"Inference-Header-Content-Length: {len(header)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@dataclass
class _Conn:
    sock: socket.socket
    out: bytes = b""
    buf: bytearray = None  # type: ignore[assignment]
    sent_at: float = 0.0
    last_io: float = 0.0
    want: int = -1  # total bytes of the current response once its headers are in
    status: int = 0
    next_req: int = 0


def _parse_head(buf: bytearray) -> tuple[int, int, int] | None:
    """(status, header length, content length) once the status line and headers are in."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length = 0
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    return status, end + 4, length


def server_stats(host: str, port: int, model: str, timeout: float = 10.0) -> dict | None:
    """The model's ``/v2/models/<model>/stats`` entry, or None if the server has none."""
    try:
        status, body = _http(host, port, "GET", f"/v2/models/{model}/stats", timeout=timeout)
    except OSError:
        return None
    if status != 200:
        return None
    stats = json.loads(body).get("model_stats", [])
    return stats[0] if stats else None


def _batch_stats(before: dict | None, after: dict | None) -> dict:
    if not before or not after:
        return {"mean_batch": None, "executions": None}
    d_inf = after.get("inference_count", 0) - before.get("inference_count", 0)
    d_exe = after.get("execution_count", 0) - before.get("execution_count", 0)
    out: dict[str, Any] = {"mean_batch": d_inf / d_exe if d_exe else None,
                           "executions": d_exe, "server_inferences": d_inf}
    b, a = before.get("inference_stats", {}), after.get("inference_stats", {})
    for key in ("queue", "compute_infer"):
        n = a.get(key, {}).get("count", 0) - b.get(key, {}).get("count", 0)
        ns = a.get(key, {}).get("ns", 0) - b.get(key, {}).get("ns", 0)
        out[f"server_{key}_ms"] = ns / n / 1e6 if n else None
    return out


def run(url: str = "http://127.0.0.1:8000", clients: int = 16, seconds: float = 10.0,
        batch: int = 1, model: str = "asl", warmup_s: float = 0.5, variants: int = 8,
        seed: int = 0) -> dict:
    """Drive the server with ``clients`` concurrent connections for ``seconds``; the figures.

    Returns requests/s, images/s, latency percentiles (ms, client side, send to last byte),
    errors, and the mean batch the server formed (from its statistics).
    """
    host, port = parse_url(url)
    if not 1 <= clients <= MAX_CLIENTS:
        raise AslEdgeError(f"clients must be 1..{MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise AslEdgeError(f"seconds must be in (0, {MAX_SECONDS:.0f}]")
    if batch < 1:
        raise AslEdgeError("batch must be at least 1")
    rng = np.random.default_rng(seed)
    reqs = [infer_request(host, port, model, rng.random((batch, 28, 28, 1), dtype=np.float32))
            for _ in range(max(1, variants))]
    out_bytes = batch * 24 * 4  # the binary output; the JSON header before it varies

    load_before = os.getloadavg()[0]
    sel = selectors.DefaultSelector()
    conns: list[_Conn] = []
    try:
        for _ in range(clients):
            s = socket.create_connection((host, port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            c = _Conn(s, buf=bytearray())
            conns.append(c)
            sel.register(s, selectors.EVENT_READ, c)
    except OSError as e:
        for c in conns:
            c.sock.close()
        raise AslEdgeError(f"cannot connect to {host}:{port} ({e}); is the server running?"
                           ) from None

    lat: list[float] = []
    errors: dict[str, int] = {}
    done = 0
    perf = time.perf_counter
    t_start = perf()
    t_measure = t_start + warmup_s
    t_end = t_measure + seconds
    stats_before = None
    measuring = False
    in_flight = 0

    def send(c: _Conn, now: float) -> None:
        nonlocal in_flight
        req = reqs[c.next_req % len(reqs)]
        c.next_req += 1
        c.sent_at = c.last_io = now
        c.want, c.status = -1, 0
        try:
            n = c.sock.send(req)
        except BlockingIOError:
            n = 0
        c.out = req[n:]
        if c.out:
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        in_flight += 1

    now = perf()
    for c in conns:
        send(c, now)
    try:
        while in_flight:
            now = perf()
            if not measuring and now >= t_measure:
                stats_before = server_stats(host, port, model)
                measuring, t_measure = True, perf()
                t_end = t_measure + seconds
                ru0 = resource.getrusage(resource.RUSAGE_SELF)
            events = sel.select(timeout=0.5)
            now = perf()
            for key, mask in events:
                c: _Conn = key.data
                if mask & selectors.EVENT_WRITE and c.out:
                    try:
                        n = c.sock.send(c.out)
                    except BlockingIOError:
                        n = 0
                    c.out = c.out[n:]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if not mask & selectors.EVENT_READ:
                    continue
                try:
                    chunk = c.sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError as e:
                    chunk = b""
                    errors[f"connection: {e}"] = errors.get(f"connection: {e}", 0) + 1
                if not chunk:
                    errors["connection closed by server"] = \
                        errors.get("connection closed by server", 0) + 1
                    sel.unregister(c.sock)
                    c.sock.close()
                    in_flight -= 1
                    continue
                c.buf += chunk
                c.last_io = now
                if c.want < 0:
                    head = _parse_head(c.buf)
                    if head is None:
                        continue
                    c.status, hlen, clen = head
                    c.want = hlen + clen
                if len(c.buf) < c.want:
                    continue
                in_flight -= 1
                body_len = c.want - c.buf.find(b"\r\n\r\n") - 4
                ok = c.status == 200 and body_len > out_bytes
                if measuring and c.sent_at >= t_measure:
                    if ok:
                        lat.append(now - c.sent_at)
                        done += 1
                    else:
                        msg = bytes(c.buf[c.buf.find(b"\r\n\r\n") + 4:c.want])[:200]
                        k = f"HTTP {c.status}: {msg.decode('utf-8', 'replace')}"
                        errors[k] = errors.get(k, 0) + 1
                del c.buf[:c.want]
                c.want = -1
                if now < t_end:
                    send(c, now)
            if now - t_start > warmup_s + seconds + STALL_S:
                stalled = [c for c in conns if now - c.last_io > STALL_S and c.sent_at]
                if stalled:
                    errors["no response within %.0f s" % STALL_S] = len(stalled)
                    break
    finally:
        for c in conns:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        sel.close()
    elapsed = max(min(perf(), t_end) - t_measure, 1e-9)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
                  if measuring else 0.0)
    stats_after = server_stats(host, port, model)
    lat_ms = np.asarray(lat) * 1e3
    pct = (lambda q: float(np.percentile(lat_ms, q))) if len(lat_ms) else (lambda q: None)
    n_err = sum(errors.values())
    result = {"url": f"http://{host}:{port}", "model": model, "clients": clients,
              "batch": batch, "seconds": round(elapsed, 3), "requests": done,
              "requests_per_s": done / elapsed, "images_per_s": done * batch / elapsed,
              "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99),
                             "min": float(lat_ms.min()) if len(lat_ms) else None,
                             "max": float(lat_ms.max()) if len(lat_ms) else None,
                             "mean": float(lat_ms.mean()) if len(lat_ms) else None},
              "errors": n_err, "error_kinds": errors,
              **_batch_stats(stats_before, stats_after),
              # what else the machine was doing: the figures depend on it
              "client_cpu_cores": client_cpu / elapsed, "cpu_count": os.cpu_count(),
              "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    return result


def format_result(r: dict) -> str:
    lat = r["latency_ms"]
    mb = f"{r['mean_batch']:.2f}" if r.get("mean_batch") else "-"
    f = (lambda v: f"{v:.2f}" if v is not None else "-")
    lines = [f"{r['clients']} clients x batch {r['batch']} for {r['seconds']:.1f} s on "
             f"{r['url']} ({r['model']}): {r['requests']} requests",
             f"  {r['requests_per_s']:,.0f} requests/s  {r['images_per_s']:,.0f} images/s  "
             f"p50 {f(lat['p50'])} ms  p90 {f(lat['p90'])} ms  p99 {f(lat['p99'])} ms  "
             f"max {f(lat['max'])} ms",
             f"  server: mean batch {mb}, queue {f(r.get('server_queue_ms'))} ms, compute "
             f"{f(r.get('server_compute_infer_ms'))} ms per execution; errors {r['errors']}"]
    if r.get("load_average_1m"):
        cpu = (f"; server used {r['server_cpu_cores']:.2f} cores"
               if r.get("server_cpu_cores") is not None else "")
        lines.append(f"  machine: {r['cpu_count']} cores, load average {r['load_average_1m'][0]}"
                     f" before, {r['load_average_1m'][1]} after; this client used "
                     f"{r['client_cpu_cores']:.2f} cores{cpu}")
    for k, n in r.get("error_kinds", {}).items():
        lines.append(f"  error x{n}: {k}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Malformed requests


def _http(host: str, port: int, method: str, path: str, body: bytes | None = None,
          headers: dict | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _json_infer(shape, datatype: str, data, name: str = "image") -> bytes:
    return json.dumps({"inputs": [{"name": name, "shape": shape, "datatype": datatype,
                                   "data": data}]}).encode()


def malformed_cases(model: str, max_batch: int) -> list[tuple[str, str, bytes, dict]]:
    """(name, path, body, headers) of requests a server must reject with a clear error."""
    path = f"/v2/models/{model}/infer"
    ok_img = np.zeros((1, 28, 28, 1), np.float32)
    over = np.zeros((max_batch + 1, 28, 28, 1), np.float32)

    def binary(images: np.ndarray, datatype="FP32", shape=None, size=None) -> tuple[bytes, dict]:
        header = json.dumps({"inputs": [{
            "name": "image", "shape": list(shape or images.shape), "datatype": datatype,
            "parameters": {"binary_data_size": images.nbytes if size is None else size}}]}
        ).encode()
        return header + images.tobytes(), {"Inference-Header-Content-Length": str(len(header)),
                                            "Content-Type": "application/octet-stream"}

    over_body, over_h = binary(over)
    trunc_body, trunc_h = binary(ok_img, size=ok_img.nbytes * 2)
    f64_body, f64_h = binary(ok_img.astype(np.float64), datatype="FP64")
    return [
        ("wrong shape (28x28, no channel)", path,
         _json_infer([1, 28, 28], "FP32", [0.0] * 784), {}),
        ("wrong shape (32x32x1)", path, _json_infer([1, 32, 32, 1], "FP32", [0.0] * 1024), {}),
        ("wrong dtype (INT32)", path, _json_infer([1, 28, 28, 1], "INT32", [0] * 784), {}),
        ("wrong dtype (FP64, binary)", path, f64_body, f64_h),
        (f"batch over the limit ({max_batch + 1} > {max_batch})", path, over_body, over_h),
        ("data shorter than its shape", path, _json_infer([1, 28, 28, 1], "FP32", [0.0] * 10),
         {}),
        ("binary size larger than the body", path, trunc_body, trunc_h),
        ("wrong input name", path, _json_infer([1, 28, 28, 1], "FP32", [0.0] * 784, "img"), {}),
        ("garbage body (text)", path, b"this is not JSON {", {}),
        ("garbage body (binary)", path, bytes(range(256)) * 4, {}),
        ("empty body", path, b"", {}),
        ("unknown model", "/v2/models/no_such_model/infer",
         _json_infer([1, 28, 28, 1], "FP32", [0.0] * 784), {}),
    ]


def check_malformed(url: str = "http://127.0.0.1:8000", model: str = "asl",
                    max_batch: int | None = None) -> dict:
    """Send each malformed request; each must get an error status with a message, and the
    server must stay live and ready and keep answering a well-formed request after every one.

    Triton answers most with 400 (404 for an unknown model); a body its JSON parser cannot read
    gets 500 with the parser's message (Triton 2.51 files those as internal errors). Each case
    records its status; ``client_error`` says whether it was a 4xx.
    """
    host, port = parse_url(url)
    if max_batch is None:
        status, body = _http(host, port, "GET", f"/v2/models/{model}/config")
        if status != 200:
            raise AslEdgeError(f"{url}: model {model!r} has no config (HTTP {status})")
        max_batch = int(json.loads(body).get("max_batch_size", 0)) or 256
    good = infer_request(host, port, model, np.zeros((1, 28, 28, 1), np.float32))
    good_body = good.split(b"\r\n\r\n", 1)[1]
    good_hlen = good.split(b"Inference-Header-Content-Length: ", 1)[1].split(b"\r\n", 1)[0]
    results = []
    for name, path, body, headers in malformed_cases(model, max_batch):
        status, resp = _http(host, port, "POST", path, body, headers)
        try:
            message = json.loads(resp).get("error", "")
        except (ValueError, AttributeError):
            message = resp[:200].decode("utf-8", "replace")
        ready = _http(host, port, "GET", f"/v2/models/{model}/ready")[0] == 200
        live = _http(host, port, "GET", "/v2/health/live")[0] == 200
        s2, _ = _http(host, port, "POST", f"/v2/models/{model}/infer", good_body,
                      {"Inference-Header-Content-Length": good_hlen.decode(),
                       "Content-Type": "application/octet-stream"})
        ok = status >= 400 and bool(message) and ready and live and s2 == 200
        results.append({"case": name, "status": status, "error": message,
                        "client_error": 400 <= status < 500, "ready_after": ready,
                        "live_after": live, "good_request_after": s2, "ok": ok})
    return {"url": f"http://{host}:{port}", "model": model, "cases": results,
            "all_rejected": all(r["ok"] for r in results)}


def format_malformed(r: dict) -> str:
    lines = [f"malformed requests on {r['url']} ({r['model']}):"]
    for c in r["cases"]:
        lines.append(f"  {'ok ' if c['ok'] else 'BAD'} {c['case']:<38} HTTP {c['status']}: "
                     f"{c['error'][:90]}"
                     + ("" if c["ready_after"] and c["good_request_after"] == 200
                        else "  (server not healthy after it!)"))
    if r["all_rejected"]:
        fives = sum(1 for c in r["cases"] if not c["client_error"])
        lines.append(f"  all {len(r['cases'])} rejected with a message, server live and ready "
                     "and serving after each"
                     + (f" ({fives} answered 5xx: Triton files unparsable JSON as an internal "
                        "error)" if fives else ""))
    else:
        lines.append("  NOT every malformed request was handled cleanly")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# asl-bench --server


def to_row(r: dict, precision: str = ""):
    """A load-test result as an ``asl-bench`` row (its table and JSON)."""
    from ..bench import Row

    lat = r["latency_ms"]
    variant = f"{r['clients']} clients"
    if r.get("mean_batch"):
        variant += f", batch~{r['mean_batch']:.1f}"
    return Row("server", "triton", precision or "-", r["batch"], variant, r["url"],
               latency_ms={k: lat[k] for k in ("p50", "p90", "p99", "mean", "min")},
               throughput_ips=r["images_per_s"], iterations=r["requests"],
               skipped=None if r["requests"] else f"{r['errors']} errors, no response")


def bench_server(url: str, clients: int = 16, seconds: float = 10.0,
                 batch_sizes=(1,), out: str | Path = "runs/bench", model: str = "asl",
                 check: bool = True) -> int:
    """``asl-bench --server URL``: malformed-request check, then a load test per batch size.

    Prints the bench table and the server-side figures; writes ``<out>/server_bench.json``.
    Exit status 1 if any well-formed request failed or a malformed one was not rejected.
    """
    from dataclasses import asdict

    from ..artifacts import write_json
    from ..bench import format_table, system_info

    host, port = parse_url(url)
    status, body = _http(host, port, "GET", f"/v2/models/{model}/config")
    if status != 200:
        raise AslEdgeError(f"{url}: no model {model!r} on the server (HTTP {status})")
    config = json.loads(body)
    params = {k: v.get("string_value", "") for k, v in (config.get("parameters") or {}).items()}
    precision = params.get("asl_edge.precision", "")
    max_batch = int(config.get("max_batch_size", 0) or 0)
    results, rows = [], []
    bad = check_malformed(url, model, max_batch or None) if check else None
    for b in batch_sizes:
        if max_batch and b > max_batch:
            raise AslEdgeError(f"batch {b} is over the server's max_batch_size {max_batch}")
        r = run(url, clients=clients, seconds=seconds, batch=b, model=model)
        results.append(r)
        rows.append(to_row(r, precision))
    print(format_table(rows))
    for r in results:
        print(format_result(r))
    if bad is not None:
        print(format_malformed(bad))
    dest = write_json(Path(out) / "server_bench.json", {
        "system": system_info(), "server": {"url": url, "model": model, "config": config},
        "loadtests": results, "rows": [asdict(r) for r in rows], "malformed": bad})
    print(f"results: {dest}")
    ok = all(r["errors"] == 0 for r in results) and (bad is None or bad["all_rejected"])
    return 0 if ok else 1
