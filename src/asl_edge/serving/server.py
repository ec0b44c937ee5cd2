"""Run the bundled ``tritonserver`` on a Python-backend model repository of the project's runtime.

Measured on the 2-core development machine (docs/serving.md): the plain server with a Python
backend model serves the same model at 2.5-7.5x PyTriton's rate, a quarter of its latency
(PyTriton adds a ZeroMQ hop to a second Python process per request), so ``asl-serve`` runs
``tritonserver`` itself.

Pitfalls handled here: the stub must load this interpreter's libpython (library path from
``sysconfig``); ``/v2/health/ready`` answers before the model is loaded, so readiness is the
model's own ready endpoint; ``tritonserver`` shuts down cleanly on SIGINT (it is sent SIGINT,
whatever signal stopped us); every server gets its own shared-memory prefix and workspace.
"""

from __future__ import annotations

import http.client
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AslEdgeError
from ..export.triton import LABELS_FILE, labels_text, model_config, to_pbtxt
from ..modelcard import ModelCard
from .env import TritonDist, libpython_dir, link_asl_edge

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).with_name("triton_model.py")


@dataclass
class ServeConfig:
    model: Path  # .onnx or TensorRT engine, opened in the server with open_backend
    backend: str = "ort-cpu"
    model_name: str = "asl"
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    max_batch: int = 256
    queue_delay_us: int = 100
    preferred_batch_sizes: tuple[int, ...] = ()
    instances: int = 1
    threads: int = 1  # ONNX Runtime intra-op threads per instance
    workspace: Path = Path("runs/serve")
    log_verbose: int = 0
    extra_args: list[str] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"grpc://{_url_host(self.host)}:{self.grpc_port}"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now on ``host`` (for tests and ``--http-port 0``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_serving_repository(repo: Path, cfg: ServeConfig, card: ModelCard,
                             pythonpath: Path | None = None) -> Path:
    """``repo/<name>/{config.pbtxt, labels.txt, 1/model.py}`` for the Python backend."""
    if repo.exists():
        shutil.rmtree(repo)
    d = repo / cfg.model_name
    (d / "1").mkdir(parents=True)
    shutil.copyfile(MODEL_FILE, d / "1" / "model.py")
    (d / LABELS_FILE).write_text(labels_text(card))
    params = {"model_path": str(Path(cfg.model).resolve()), "backend": cfg.backend,
              "threads": str(cfg.threads)}
    if pythonpath is not None:
        params["pythonpath"] = str(pythonpath)
    config = model_config(cfg.model_name, card=card, max_batch=cfg.max_batch, backend="python",
                          kind="KIND_CPU", preferred_batch_sizes=cfg.preferred_batch_sizes,
                          queue_delay_us=cfg.queue_delay_us, instances=cfg.instances,
                          parameters=params)
    (d / "config.pbtxt").write_text(to_pbtxt(config))
    return repo


def prepare_backends(dist: TritonDist, workspace: Path) -> Path:
    """A backend folder whose Python backend has this interpreter's stub beside it."""
    root = workspace / "backends"
    py = root / "python"
    if root.exists():
        shutil.rmtree(root)
    py.mkdir(parents=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        (py / name).symlink_to(dist.python_backend / name)
    shutil.copy2(dist.stub(), py / "triton_python_backend_stub")
    return root


def server_env(dist: TritonDist) -> dict[str, str]:
    """The server's environment: the venv's Python for the stub, this interpreter's libpython.

    The stub's interpreter is isolated (it ignores PYTHONPATH) and finds its prefix through
    PATH; ``asl_edge`` reaches it through the model config (``pythonpath`` parameter)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    libs = [str(dist.libs), libpython_dir()]
    if env.get("LD_LIBRARY_PATH"):
        libs.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = ":".join(libs)
    # the embedded interpreter finds its prefix through PATH: the venv's python comes first
    env["PATH"] = f"{dist.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONNOUSERSITE"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _get(host: str, port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _die_with_parent() -> None:
    """In the child: get SIGINT (a clean stop) if the launcher dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class TritonServer:
    """``with TritonServer(dist, cfg, card) as server:`` starts it and waits for the model."""

    def __init__(self, dist: TritonDist, cfg: ServeConfig, card: ModelCard):
        self.dist, self.cfg, self.card = dist, cfg, card
        self.proc: subprocess.Popen | None = None
        self.workspace = Path(cfg.workspace).resolve()
        self.log_path = self.workspace / "tritonserver.log"
        self._log_file = None

    def command(self) -> list[str]:
        c = self.cfg
        return [str(self.dist.server), f"--model-repository={self.workspace / 'models'}",
                f"--backend-directory={self.workspace / 'backends'}",
                f"--http-address={c.host}", f"--http-port={c.http_port}",
                f"--grpc-address={c.host}", f"--grpc-port={c.grpc_port}",
                "--allow-metrics=true", f"--metrics-address={c.host}",
                f"--metrics-port={c.metrics_port}", "--allow-gpu-metrics=false",
                "--strict-readiness=true", "--exit-timeout-secs=10",
                f"--log-verbose={c.log_verbose}",
                "--backend-config=python,shm-region-prefix-name="
                f"asl{os.getpid()}_{secrets.token_hex(3)}_",
                *c.extra_args]

    def start(self, timeout: float = 180.0) -> "TritonServer":
        self.workspace.mkdir(parents=True, exist_ok=True)
        pylib = link_asl_edge(self.workspace / "pylib")
        write_serving_repository(self.workspace / "models", self.cfg, self.card, pylib)
        prepare_backends(self.dist, self.workspace)
        self._log_file = open(self.log_path, "wb")
        command = self.command()  # once: its shm prefix is random
        log.debug("starting %s", " ".join(command))
        self.proc = subprocess.Popen(command, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=server_env(self.dist), cwd=self.workspace,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        """Poll the *model's* ready endpoint (the server's answers before the model loads)."""
        host = _url_host(self.cfg.host).strip("[]")
        deadline = time.monotonic() + timeout
        path = f"/v2/models/{self.cfg.model_name}/ready"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AslEdgeError(f"tritonserver exited with status {self.proc.returncode} "
                                   f"before the model was ready: {self.failure_line()} "
                                   f"(log: {self.log_path})")
            try:
                if _get(host, self.cfg.http_port, path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AslEdgeError(f"the model was not ready after {timeout:.0f} s: "
                           f"{self.failure_line()} (log: {self.log_path})")

    def failure_line(self) -> str:
        """The most telling line of the server log: its first error, else its last line."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "no log"
        benign = ("CudaDriver", "NVML", "DCGM", "CUDA driver", "pinned memory")
        errors = [ln for ln in lines if (ln.startswith("E") or "error" in ln.lower())
                  and not any(b in ln for b in benign)]
        text = (errors or lines or ["empty log"])[0]
        return text.strip()[:400]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self) -> None:
        """Ask for a clean shutdown: tritonserver stops on SIGINT (not on SIGTERM)."""
        if self.running:
            self.proc.send_signal(signal.SIGINT)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.running:
            self.interrupt()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("tritonserver did not stop in %.0f s; killing it", timeout)
                self.proc.kill()
                self.proc.wait(10)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by tritonserver and its children (the Python stubs)."""
        if not self.running:
            return None
        return process_tree_cpu(self.proc.pid)

    def wait(self) -> int:
        return self.proc.wait()

    def __enter__(self) -> "TritonServer":
        return self if self.running else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def process_tree_cpu(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its live children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    try:
        names = [n for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return None
    for name in names:
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if pid not in stats:
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats[p][1]
        todo += [c for c, (ppid, _) in stats.items() if ppid == p]
    return total
