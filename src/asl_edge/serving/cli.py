"""``asl-serve``: the project's runtime behind a real Triton Inference Server on this machine.

HTTP and gRPC (KServe v2), dynamic batching, 127.0.0.1 by default. The server is the
``tritonserver`` binary bundled in ``nvidia-pytriton``, run from its own virtual environment
(made on first use; see ``asl_edge.serving.env``) with a Python-backend model that calls
``asl_edge.runtime.backend.open_backend``: any backend, any precision.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..artifacts import write_json
from ..errors import AslEdgeError

log = logging.getLogger("asl_edge.serve")
DEFAULT_INSTANCES = max(1, min(4, os.cpu_count() or 1))

EXAMPLES = """\
  asl-serve                                   # shipped model: HTTP 127.0.0.1:8000, gRPC :8001
  asl-serve --precision int8                  # the CPU-tuned INT8 model: faster on CPU
  asl-serve --model runs/export/asl_fp32.onnx --http-port 9000 --grpc-port 9001
  asl-serve --loadtest 10 --clients 16        # start, load-test itself, check malformed requests, stop
clients:
  asl-live --server http://127.0.0.1:8000 --demo
  curl -s 127.0.0.1:8000/v2/models/asl/config
"""


def build_parser():
    p = cli.parser("asl-serve", "Serve the ASL classifier with Triton Inference Server "
                   "(HTTP + gRPC, dynamic batching).", EXAMPLES)
    m = p.add_argument_group("model")
    m.add_argument("--model", help="ONNX file or TensorRT engine (default: shipped model)")
    m.add_argument("--precision", choices=["fp32", "fp16", "int8"], default=None,
                   help="shipped model precision (default fp32; int8 on CPU uses the "
                   "CPU-tuned variant)")
    m.add_argument("--backend", default="ort-cpu",
                   help="auto, ort-cpu, ort-cuda, ort-trt or tensorrt (inside the server)")
    m.add_argument("--name", default="asl", help="model name clients ask for")
    m.add_argument("--threads", type=int, default=1,
                   help="ONNX Runtime threads per model instance")
    m.add_argument("--instances", type=int, default=DEFAULT_INSTANCES,
                   help="model instances (processes): one single-threaded instance per core "
                   "(up to 4) measured best")
    s = p.add_argument_group("server")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind (0.0.0.0 exposes the server to the network)")
    s.add_argument("--http-port", type=int, default=8000, help="0 picks a free port")
    s.add_argument("--grpc-port", type=int, default=8001, help="0 picks a free port")
    s.add_argument("--metrics-port", type=int, default=8002, help="0 picks a free port")
    s.add_argument("--max-batch", type=int, default=256, help="largest batch the server forms "
                   "or accepts")
    s.add_argument("--queue-delay-us", type=int, default=100,
                   help="how long the batcher waits to fill a batch")
    s.add_argument("--preferred-batch-sizes", default="",
                   help="comma list of batch sizes the batcher aims for")
    s.add_argument("--workspace", default="runs/serve",
                   help="folder for the model repository, backend files and the server log")
    s.add_argument("--venv", default=None, help="the server's virtual environment "
                   "($ASL_SERVE_VENV, default ~/.cache/asl-edge/serve-venv; made on first use)")
    s.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the model")
    t = p.add_argument_group("self-test (start, measure, stop)")
    t.add_argument("--loadtest", type=float, metavar="SECONDS", default=0.0,
                   help="load-test the server, check malformed requests, then stop")
    t.add_argument("--clients", type=int, default=16, help="concurrent load-test clients")
    t.add_argument("--batch", type=int, default=1, help="images per load-test request")
    return p


def serve_config(args):
    from ..runtime.classifier import resolve_model
    from .server import ServeConfig, free_port

    if args.max_batch < 1 or args.instances < 1 or args.threads < 0 or args.queue_delay_us < 0:
        raise AslEdgeError("--max-batch and --instances must be >= 1, --threads and "
                           "--queue-delay-us >= 0")
    try:
        preferred = tuple(int(b) for b in args.preferred_batch_sizes.split(",") if b.strip())
    except ValueError:
        raise AslEdgeError("--preferred-batch-sizes must be a comma list of integers") from None
    backend = args.backend
    model = resolve_model(args.model, args.precision, backend)
    if not Path(model).is_file():
        raise AslEdgeError(f"model file {model} does not exist")
    ports = [p if p else free_port(args.host if args.host != "0.0.0.0" else "127.0.0.1")
             for p in (args.http_port, args.grpc_port, args.metrics_port)]
    if len(set(ports)) != 3:
        raise AslEdgeError("--http-port, --grpc-port and --metrics-port must differ")
    return ServeConfig(model=Path(model), backend=backend, model_name=args.name,
                       host=args.host, http_port=ports[0], grpc_port=ports[1],
                       metrics_port=ports[2], max_batch=args.max_batch,
                       queue_delay_us=args.queue_delay_us, preferred_batch_sizes=preferred,
                       instances=args.instances, threads=args.threads,
                       workspace=Path(args.workspace),
                       log_verbose=1 if args.verbose else 0)


def read_card(model: Path):
    """The model card, read here: a bad file fails now, in one line, not inside the server."""
    if model.suffix == ".onnx":
        from ..export.triton import read_onnx_card

        return read_onnx_card(model)
    from ..export.tensorrt import read_sidecar

    try:
        return read_sidecar(model).card
    except ValueError as e:
        raise AslEdgeError(f"{model}: {e}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    cfg = serve_config(args)
    card = read_card(cfg.model)
    from .env import ensure_venv
    from .server import TritonServer

    dist = ensure_venv(args.venv)
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding %s: the server is reachable from other machines, without "
                    "authentication", cfg.host)
    server = TritonServer(dist, cfg, card)
    print(f"asl-serve: starting Triton on {cfg.http_url} (HTTP), {cfg.grpc_url} (gRPC), "
          f"metrics :{cfg.metrics_port}; model {cfg.model_name} = {cfg.model.name} "
          f"({card.precision}, {cfg.backend}, {cfg.instances} instance(s) x {cfg.threads} "
          f"thread(s), max batch {cfg.max_batch}, queue delay {cfg.queue_delay_us} us)",
          file=sys.stderr, flush=True)
    stop = {"signal": None}

    def forward(signum, _frame):
        """Any stop signal becomes the SIGINT tritonserver shuts down cleanly on; a second one
        kills it."""
        if stop["signal"] is not None and server.running:
            server.proc.kill()
        stop["signal"] = signum
        server.interrupt()

    old = {s: signal.signal(s, forward)
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            server.start(timeout=args.timeout)
        except AslEdgeError:
            if stop["signal"] is None:
                raise
        if stop["signal"] is not None:  # stopped while starting
            server.stop()
            print(f"asl-serve: stopped on {signal.Signals(stop['signal']).name} before the "
                  "model was ready", file=sys.stderr)
            return 0
        print(f"ready: {cfg.http_url}/v2/models/{cfg.model_name} (log: {server.log_path})",
              file=sys.stderr, flush=True)
        if args.loadtest:
            return self_test(cfg, args, server)
        print("Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
        rc = server.wait()
    finally:
        server.stop()
        for s, h in old.items():
            signal.signal(s, h)
    if stop["signal"] is not None:
        print(f"asl-serve: stopped on {signal.Signals(stop['signal']).name} (tritonserver exit "
              f"status {rc})", file=sys.stderr)
        return 0
    if rc != 0:
        raise AslEdgeError(f"tritonserver exited with status {rc}: {server.failure_line()}")
    return 0


def self_test(cfg, args, server) -> int:
    from .loadtest import check_malformed, format_malformed, format_result, run

    bad = check_malformed(cfg.http_url, cfg.model_name, cfg.max_batch)
    print(format_malformed(bad))
    import time

    run(cfg.http_url, clients=args.clients, seconds=min(args.loadtest, 2.0), batch=args.batch,
        model=cfg.model_name)  # warm up: first executions, connection setup
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    result = run(cfg.http_url, clients=args.clients, seconds=args.loadtest, batch=args.batch,
                 model=cfg.model_name)
    cpu1, t1 = server.cpu_seconds(), time.monotonic()
    if cpu0 is not None and cpu1 is not None:
        result["server_cpu_cores"] = (cpu1 - cpu0) / (t1 - t0)
    result["config"] = {k: str(v) for k, v in vars(cfg).items()}
    print(format_result(result))
    path = write_json(Path(cfg.workspace) / "loadtest.json",
                      {"loadtest": result, "malformed": bad})
    print(f"results: {path}")
    healthy = server.running
    return 0 if result["errors"] == 0 and bad["all_rejected"] and healthy else 1


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
