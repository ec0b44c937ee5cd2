"""The Triton server's own environment: a virtual environment holding ``nvidia-pytriton``.

The ``nvidia-pytriton`` wheel bundles the ``tritonserver`` binary (2.51, Python backend only)
and the Python backend's stub for each Python version. It pins numpy < 2, and the stub really
needs that: built against the numpy 1 ABI, it mis-reads numpy 2 arrays ("output tensor shape
does not match size of output"). The project's environment has numpy 2 (OpenCV 5, TensorFlow),
so the server gets a virtual environment of its own, made once with the *same* interpreter
(the stub embeds that interpreter's libpython) and holding:

- ``nvidia-pytriton`` (pinned) with numpy 1.26,
- the inference libraries of the launching environment at the same versions (onnxruntime or
  onnxruntime-gpu, and TensorRT / cuda-python where present),
and the server's PYTHONPATH adds ``asl_edge`` itself, linked (not copied) from the launching
environment into the server's workspace, so the server runs exactly the code of the
``asl-serve`` that started it.

Where: ``--venv DIR``, else ``$ASL_SERVE_VENV``, else ``$ASL_CACHE/serve-venv`` (default
``~/.cache/asl-edge/serve-venv``). Made with pip from the package index; offline, the error is
one line that says so.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..artifacts import write_json
from ..errors import AslEdgeError

log = logging.getLogger(__name__)

PYTRITON = "nvidia-pytriton==0.7.0"  # tritonserver 2.51; needs glibc >= 2.35
NUMPY = "numpy==1.26.4"  # the stub's ABI; pytriton pins numpy < 2
# packages the served backends import, installed at the launching environment's versions
MIRRORED = ("onnxruntime", "onnxruntime-gpu", "tensorrt", "tensorrt-cu12", "tensorrt-cu13",
            "cuda-python")
MARKER = "asl-edge-serve.json"
MIN_GLIBC = (2, 35)


@dataclass(frozen=True)
class TritonDist:
    """Where the bundled server, its libraries and the Python backend are inside the venv."""

    venv: Path
    python: Path
    site_packages: Path
    root: Path  # .../pytriton/tritonserver

    @property
    def server(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def libs(self) -> Path:  # the wheel's vendored shared libraries
        return self.site_packages / "nvidia_pytriton.libs"

    @property
    def python_backend(self) -> Path:
        return self.root / "backends" / "python"

    def stub(self, version: str | None = None) -> Path:
        version = version or f"{sys.version_info[0]}.{sys.version_info[1]}"
        return self.root / "python_backend_stubs" / version / "triton_python_backend_stub"


def default_venv() -> Path:
    if os.environ.get("ASL_SERVE_VENV"):
        return Path(os.environ["ASL_SERVE_VENV"])
    cache = os.environ.get("ASL_CACHE", str(Path.home() / ".cache" / "asl-edge"))
    return Path(cache) / "serve-venv"


def requirements() -> list[str]:
    """What the server venv needs: pytriton, numpy 1 and the mirrored inference libraries."""
    reqs = [PYTRITON, NUMPY]
    for dist in MIRRORED:
        try:
            reqs.append(f"{dist}=={md.version(dist)}")
        except md.PackageNotFoundError:
            pass
    if not any(r.startswith("onnxruntime") for r in reqs):
        reqs.append("onnxruntime")
    return reqs


def libpython_dir() -> str:
    """The folder of this interpreter's libpython: the stub must load this one, not another
    Python's (a mismatch fails model load with an RLock ``_recursion_count`` AttributeError)."""
    return sysconfig.get_config_var("LIBDIR") or str(Path(sys.base_prefix) / "lib")


def check_platform() -> None:
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        raise AslEdgeError(f"asl-serve needs Linux on x86_64 or aarch64 (the nvidia-pytriton "
                           f"wheel), not {sys.platform}/{platform.machine()}")
    name, ver = platform.libc_ver()
    try:
        parts = tuple(int(x) for x in ver.split(".")[:2])
    except ValueError:
        parts = (0, 0)
    if name != "glibc" or parts < MIN_GLIBC:
        raise AslEdgeError(f"asl-serve needs glibc >= 2.35 for the bundled tritonserver; this "
                           f"system has {name or 'no glibc'} {ver} (use Ubuntu 22.04+, "
                           "Debian 12+, or the NGC tritonserver container)")
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        raise AslEdgeError(f"this Python ({sys.executable}) was built without a shared "
                           "libpython, which Triton's Python backend embeds; use a distribution "
                           "Python or pyenv with PYTHON_CONFIGURE_OPTS=--enable-shared")


def find_dist(venv: str | os.PathLike) -> TritonDist | None:
    """The server inside ``venv`` if it is complete, else None."""
    venv = Path(venv)
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = venv / "lib" / ver / "site-packages"
    dist = TritonDist(venv=venv, python=venv / "bin" / "python", site_packages=site,
                      root=site / "pytriton" / "tritonserver")
    needed = [dist.python, dist.server, dist.python_backend / "libtriton_python.so",
              dist.stub()]
    return dist if all(p.exists() for p in needed) else None


def _marker(venv: Path) -> dict:
    try:
        return json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def link_asl_edge(target: Path) -> Path:
    """``target/asl_edge`` -> the launching environment's package, and nothing else: put on
    the server's PYTHONPATH, the stub runs this very code without seeing this environment's
    other packages (numpy 2 among them). Per server workspace, so checkouts never collide."""
    import asl_edge

    pkg = Path(asl_edge.__file__).resolve().parent
    target.mkdir(parents=True, exist_ok=True)
    link = target / "asl_edge"
    if not (link.is_symlink() and Path(os.readlink(link)) == pkg):
        tmp = target / f".asl_edge.{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(pkg, target_is_directory=True)
        os.replace(tmp, link)
    return target


_OFFLINE_HINTS = ("NewConnectionError", "Temporary failure in name resolution",
                  "Network is unreachable", "Max retries exceeded", "ConnectTimeout",
                  "Could not find a version that satisfies", "No matching distribution",
                  "ProxyError", "Failed to establish a new connection")


def _pip(python: Path, args: list[str], progress: Callable[[str], None]) -> None:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
           "--progress-bar", "off", *args]
    log.debug("running %s", " ".join(cmd))
    tail: deque[str] = deque(maxlen=40)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PIP_NO_INPUT": "1"})
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        if line.startswith(("Collecting", "Downloading", "Installing", "Successfully")):
            progress(line)
    if proc.wait() != 0:
        text = "\n".join(tail)
        if any(h in text for h in _OFFLINE_HINTS):
            raise AslEdgeError("cannot set up the Triton server environment: pip could not get "
                               f"{' '.join(a for a in args if not a.startswith('-'))} from the "
                               "package index (offline?); run asl-serve once with network "
                               "access, or pass --venv DIR of a prepared environment")
        last = next((ln for ln in reversed(tail) if ln.strip().startswith("ERROR")),
                    tail[-1] if tail else "")
        raise AslEdgeError(f"pip failed setting up the Triton server environment: {last.strip()}")


def ensure_venv(venv: str | os.PathLike | None = None, install: bool = True,
                progress: Callable[[str], None] | None = None) -> TritonDist:
    """The server's venv, made or updated if needed (pip, from the package index)."""
    check_platform()
    venv = Path(venv) if venv else default_venv()
    progress = progress or (lambda msg: print(f"asl-serve: {msg}", file=sys.stderr, flush=True))
    reqs = requirements()
    want = {"python": sys.version.split()[0], "base": sys.base_prefix, "requirements": reqs}
    dist = find_dist(venv)
    if dist is not None and _marker(venv) == want:
        return dist
    if not install:
        raise AslEdgeError(f"no Triton server environment at {venv} (or it is out of "
                           "date); run asl-serve once with network access to make it")
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be making it right now
        dist = find_dist(venv)
        if dist is not None and _marker(venv) == want:
            return dist
        return _make_venv(venv, reqs, want, progress)


def _make_venv(venv: Path, reqs: list[str], want: dict,
               progress: Callable[[str], None]) -> TritonDist:
    py = venv / "bin" / "python"
    if py.exists():
        try:
            same = subprocess.run([str(py), "-c", "import sys; print(sys.base_prefix, "
                                   "sys.version.split()[0])"], capture_output=True,
                                  text=True, timeout=60).stdout.split()
        except (OSError, subprocess.SubprocessError):
            same = []
        if same != [sys.base_prefix, sys.version.split()[0]]:
            progress(f"{venv} was made by another Python; making it anew")
            shutil.rmtree(venv)
    if not py.exists():
        progress(f"creating the Triton server environment in {venv} (once)")
        venv.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            last = ((r.stderr or r.stdout).strip().splitlines() or ["no output"])[-1]
            raise AslEdgeError(f"cannot create a virtual environment at {venv}: {last}")
    progress(f"installing {', '.join(reqs)} (about 110 MB download, once)")
    _pip(py, reqs, progress)
    dist = find_dist(venv)
    if dist is None:
        raise AslEdgeError(f"{PYTRITON} installed in {venv} but has no tritonserver or no "
                           f"Python {sys.version_info[0]}.{sys.version_info[1]} stub")
    write_json(venv / MARKER, want)
    progress("Triton server environment ready")
    return dist
