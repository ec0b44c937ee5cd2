"""``asl-bench``: latency and throughput per backend, precision and batch size, in one table.

Like trtexec and Ultralytics' benchmark: p50/p90/p99 latency, images/s, accuracy and file size
per row, JSON of every figure with system information, and PNG plots. A combination that
cannot run here is a row that says why. With TensorFlow installed the Keras baselines
(``model.predict``, a direct call, ``tf.function``, XLA) run in the same process, so every
speed-up is a ratio measured side by side.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import cli
from .artifacts import save_figure, write_json
from .errors import AslEdgeError

log = logging.getLogger("asl_edge.bench")

EXAMPLES = """\
  asl-bench                                        # shipped models, ONNX Runtime CPU + Keras
  asl-bench --precisions fp32,int8 --batch-sizes 1,256 --seconds 2
  asl-bench --backends ort-cpu,ort-trt,tensorrt --keras-model runs/train/model.keras
  asl-bench --quick                                # a few seconds, for a smoke test
"""


@dataclass
class Row:
    runtime: str  # python, keras, cpp
    backend: str
    precision: str
    batch_size: int
    variant: str = ""  # options that differ: threads=1, io-binding, slim, xla ...
    model: str = ""
    threads: int = 0
    latency_ms: dict = field(default_factory=dict)
    throughput_ips: float | None = None
    iterations: int = 0
    accuracy: float | None = None
    size_bytes: int | None = None
    skipped: str | None = None  # why this combination did not run here


def time_calls(fn: Callable[[], object], warmup: int, iterations: int, seconds: float
               ) -> np.ndarray:
    """Per-call wall times in ms: ``iterations`` calls, or as many as fit in ``seconds``."""
    for _ in range(warmup):
        fn()
    times = []
    deadline = time.perf_counter() + seconds if seconds else None
    perf = time.perf_counter
    while True:
        t0 = perf()
        fn()
        times.append(perf() - t0)
        if deadline is not None:
            if perf() >= deadline and len(times) >= 10:
                break
        elif len(times) >= iterations:
            break
    return np.asarray(times) * 1e3


def summarise(times_ms: np.ndarray, batch: int) -> dict:
    return {"latency_ms": {"p50": float(np.percentile(times_ms, 50)),
                           "p90": float(np.percentile(times_ms, 90)),
                           "p99": float(np.percentile(times_ms, 99)),
                           "mean": float(times_ms.mean()), "min": float(times_ms.min())},
            "throughput_ips": float(batch * 1e3 / np.median(times_ms)),
            "iterations": int(len(times_ms))}


def system_info() -> dict:
    info = {"python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "cores": os.cpu_count(), "cpu": platform.processor()}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        model = [ln.split(":", 1)[1].strip() for ln in text.splitlines()
                 if ln.startswith("model name")]
        flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines()
                      if ln.startswith("flags")), [])
        info["cpu"] = model[0] if model else info["cpu"]
        info["cpu_flags"] = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4")))
    except OSError:
        pass
    versions = {}
    for mod in ("numpy", "onnxruntime", "cv2", "onnx", "tensorflow", "keras", "tensorrt"):
        if mod in ("tensorflow", "keras") and mod not in sys.modules:
            continue  # importing TF just to print its version costs seconds
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            pass
    info["versions"] = versions
    try:
        import onnxruntime as ort

        info["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        pass
    try:
        import subprocess

        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=5)
        info["gpu"] = gpu.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["gpu"] = None
    return info


def _inputs(batch: int, test_images: np.ndarray | None) -> np.ndarray:
    if test_images is not None and len(test_images) >= batch:
        return np.ascontiguousarray(test_images[:batch])
    return np.random.default_rng(0).random((batch, 28, 28, 1), dtype=np.float32)


def _accuracy(infer, test, normalize: str = "none") -> float | None:
    if test is None:
        return None
    from .normalize import normalize_images
    from .parity import predict_in_batches

    x = normalize_images(test.images, normalize)  # as the model card says
    return float(np.mean(predict_in_batches(infer, x, 256).argmax(1) == test.labels))


def bench_onnxruntime(model: Path, precision: str, batch_sizes, args, test, variants
                      ) -> list[Row]:
    """ONNX Runtime rows: the runtime's own path, plus the option variants asked for."""
    from .runtime.backend import BackendUnavailable
    from .runtime.onnxruntime_backend import OnnxRuntimeBackend

    rows = []
    for variant, opts in variants:
        try:
            b = OnnxRuntimeBackend(model, device=args.device, **opts)
        except BackendUnavailable as e:
            rows.append(Row("python", f"ort-{args.device}", precision, 0, variant, str(model),
                            skipped=str(e)))
            continue
        acc = _accuracy(b.infer, test, b.card.normalize) if variant in ("default", "onnxslim") \
            else None
        for bs in batch_sizes:
            x = _inputs(bs, test.images if test is not None else None)
            run = _fast_path(b, x) if "iobinding" in variant else (lambda: b.infer(x))
            t = time_calls(run, args.warmup, args.iterations, args.seconds)
            rows.append(Row("python", b.info.backend, precision, bs, variant, str(model),
                            opts.get("threads", 0), accuracy=acc,
                            size_bytes=model.stat().st_size, **summarise(t, bs)))
        b.close()
    return rows


def bench_slim(model: Path, batch_sizes, args, test, out_dir: Path) -> list[Row]:
    """The FP32 model after onnxslim (constant folding, shape-chain removal), default and
    threads=1, to measure whether model-level simplification pays."""
    try:
        import onnx
        import onnxslim
    except ImportError as e:
        return [Row("python", "ort-cpu", "fp32", 0, "onnxslim", skipped=f"onnxslim not "
                    f"installed ({e}); pip install 'asl-edge[export]'")]
    slim = out_dir / "asl_fp32_slim.onnx"
    from .artifacts import atomic_path

    with atomic_path(slim) as tmp:
        onnx.save(onnxslim.slim(str(model)), str(tmp))
    rows = bench_onnxruntime(slim, "fp32", batch_sizes, args, test,
                             [("onnxslim", {}), ("onnxslim threads=1", {"threads": 1})])
    return rows


def _fast_path(backend, x: np.ndarray):
    """I/O binding with a preallocated output: no per-call allocation or name lookup."""
    sess = backend.session
    binding = sess.io_binding()
    out = np.empty((len(x), len(backend.card.letters)), dtype=np.float32)
    binding.bind_cpu_input(backend.card.input_name, x)
    binding.bind_output(backend.card.output_name, "cpu", 0, np.float32, out.shape,
                        out.ctypes.data)

    def run(keep=(x, out)):  # the binding points into x and out: keep both alive
        sess.run_with_iobinding(binding)
        return keep[1]

    return run


def bench_keras(keras_path: Path, batch_sizes, args, test) -> list[Row]:
    """The course's ``model.predict``, a direct call, ``tf.function`` and XLA, side by side."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf

        from .export.onnx_export import load_keras
    except ImportError as e:
        return [Row("keras", "tensorflow", "fp32", 0, "all", skipped=f"TensorFlow not installed "
                    f"({e}); pip install 'asl-edge[train]'")]
    model = load_keras(keras_path)
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    variants = {"model.predict": lambda x: model.predict(x, verbose=0, batch_size=len(x)),
                "direct call": lambda x: model(x, training=False),
                "tf.function": fn}
    try:
        xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
        xla(_inputs(1, None))
        variants["xla"] = xla
    except Exception as e:
        log.info("XLA unavailable: %s", e)
    rows = []
    acc = None
    if test is not None:
        from .normalize import keras_mode, normalize_images

        x = normalize_images(test.images, keras_mode(keras_path))
        acc = float(np.mean(model.predict(x, verbose=0, batch_size=512).argmax(1)
                            == test.labels))
    for name, f in variants.items():
        for bs in batch_sizes:
            x = tf.constant(_inputs(bs, test.images if test is not None else None))
            # model.predict is slow per call: cap its iterations so the run stays short
            secs = min(args.seconds, 1.0) if name == "model.predict" and args.seconds else \
                args.seconds
            t = time_calls(lambda: np.asarray(f(x)), min(args.warmup, 5), args.iterations, secs)
            rows.append(Row("keras", "tensorflow", "fp32", bs, name, str(keras_path),
                            accuracy=acc, size_bytes=keras_path.stat().st_size,
                            **summarise(t, bs)))
    return rows


def bench_pipeline(model: Path, args) -> list[Row]:
    """640x480 frame -> preprocess -> infer -> draw, the live loop's per-frame software cost."""
    from .runtime.classifier import Classifier
    from .runtime.overlay import draw

    clf = Classifier(model, backend="ort-cpu", threads=1)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    box = clf.roi.box(640, 480)
    i = [0]

    def step():
        f = frames[i[0] % len(frames)]
        i[0] += 1
        p = clf.prediction(clf.infer(clf.preprocess(f, box))[0])
        draw(f, box, p.letter, p.confidence, 30.0)

    t = time_calls(step, args.warmup, args.iterations, args.seconds)
    return [Row("python", "ort-cpu", clf.card.precision, 1, "frame pipeline 640x480",
                str(model), 1, **summarise(t, 1))]


def unavailable_rows(backends, precisions) -> list[Row]:
    """GPU backends asked for but absent: a row each that says why."""
    rows = []
    for backend in backends:
        if backend in ("ort-cpu",):
            continue
        reason = _why_unavailable(backend)
        if reason:
            rows += [Row("python", backend, p, 0, "", skipped=reason) for p in precisions]
    return rows


def _why_unavailable(backend: str) -> str | None:
    if backend == "tensorrt":
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            return "TensorRT not installed (JetPack, or pip install tensorrt on a CUDA machine)"
        return None
    import onnxruntime as ort

    want = {"ort-cuda": "CUDAExecutionProvider", "ort-trt": "TensorrtExecutionProvider"}[backend]
    if want not in ort.get_available_providers():
        return f"{want} not in this onnxruntime build (install onnxruntime-gpu with CUDA)"
    return None


def format_table(rows: list[Row]) -> str:
    head = (f"{'runtime':<7} {'backend':<10} {'prec':<8} {'variant':<22} {'batch':>5} "
            f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'img/s':>9} {'acc %':>6} {'size':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.skipped:
            lines.append(f"{r.runtime:<7} {r.backend:<10} {r.precision:<8} {r.variant:<22} "
                         f"{'-':>5}  skipped: {r.skipped}")
            continue
        lat = r.latency_ms
        acc = f"{100 * r.accuracy:.2f}" if r.accuracy is not None else "-"
        size = f"{r.size_bytes / 1024:.0f}KB" if r.size_bytes else "-"
        lines.append(f"{r.runtime:<7} {r.backend:<10} {r.precision:<8} {r.variant:<22} "
                     f"{r.batch_size:>5} {lat['p50']:>8.3f} {lat['p90']:>8.3f} "
                     f"{lat['p99']:>8.3f} {r.throughput_ips:>9.0f} {acc:>6} {size:>7}")
    return "\n".join(lines)


def plot(rows: list[Row], out: Path) -> list[Path]:
    """Latency by batch (one line per backend/precision, runtime defaults and Keras), and
    throughput bars at the largest batch for every variant, sorted."""
    from .metrics import _pyplot

    plt = _pyplot()
    if plt is None:
        return []
    ran = [r for r in rows if not r.skipped and r.variant != "frame pipeline 640x480"]
    if not ran:
        return []
    label = lambda r: f"{r.backend} {r.precision} {r.variant}".strip()  # noqa: E731
    paths = []
    fig, ax = plt.subplots(figsize=(9, 5))
    lines: dict[str, list[Row]] = {}
    for r in ran:
        if r.variant in ("default", "model.predict", "tf.function", "xla"):
            lines.setdefault(label(r), []).append(r)
    styles = ["-o", "-s", "-^", "-D", "--o", "--s", "--^", "--D", ":o", ":s"]
    for i, (name, rs) in enumerate(sorted(lines.items())):
        rs = sorted(rs, key=lambda r: r.batch_size)
        ax.plot([r.batch_size for r in rs], [r.latency_ms["p50"] for r in rs],
                styles[i % len(styles)], label=name)
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="p50 latency per batch (ms)",
           title="Latency by batch size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "latency_by_batch.png"))

    top = max(r.batch_size for r in ran)
    bars = sorted((r for r in ran if r.batch_size == top), key=lambda r: r.throughput_ips)
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(bars) + 1.2))
    ax.barh([label(r) for r in bars], [r.throughput_ips for r in bars],
            color=["tab:orange" if r.runtime == "keras" else "tab:blue" for r in bars])
    for i, r in enumerate(bars):
        ax.text(r.throughput_ips, i, f" {r.throughput_ips:,.0f}", va="center", fontsize=7)
    ax.set(xlabel="images / s", title=f"Throughput at batch {top}")
    ax.tick_params(axis="y", labelsize=7)
    paths.append(save_figure(fig, out / "throughput_by_backend.png"))
    return paths


def build_parser():
    p = cli.parser("asl-bench", "Latency and throughput per backend, precision and batch size.",
                   EXAMPLES)
    p.add_argument("--backends", default="ort-cpu,ort-cuda,ort-trt,tensorrt",
                   help="comma list; unavailable ones become rows that say why")
    p.add_argument("--precisions", default="fp32,fp16,int8,int8-cpu")
    p.add_argument("--batch-sizes", default=None, help="default 1,8,64,256 (1 with --server)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--seconds", type=float, default=1.0,
                   help="time per row instead of --iterations (0 = use --iterations)")
    p.add_argument("--models", default=None, help="folder of asl_<precision>.onnx files "
                   "(default: the shipped models)")
    p.add_argument("--keras-model", default=None,
                   help=".keras file for the baselines (default runs/train/model.keras)")
    p.add_argument("--no-keras", action="store_true", help="skip the TensorFlow baselines")
    p.add_argument("--options", action=argparse.BooleanOptionalAction,
                   default=True, help="also measure threads=1, io-binding and opt-level variants")
    p.add_argument("--data", help="data root for accuracy ($ASL_DATA, ../shared/data)")
    p.add_argument("--out", default="runs/bench", help="output folder")
    p.add_argument("--quick", action="store_true", help="short smoke run")
    p.add_argument("--server", metavar="URL", help="load-test a Triton server on this machine "
                   "(asl-serve; loopback only) for --seconds with --clients connections, per "
                   "--batch-sizes, and check it rejects malformed requests")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients for --server")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    if args.quick:
        args.warmup, args.iterations, args.seconds = 3, 20, 0.0
    args.batch_sizes = args.batch_sizes or ("1" if args.server else "1,8,64,256")
    try:
        batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        raise AslEdgeError(f"--batch-sizes must be integers, not {args.batch_sizes!r}") from None
    if any(b < 1 for b in batch_sizes):
        raise AslEdgeError("batch sizes must be at least 1")
    if args.server:
        from .serving.loadtest import bench_server

        return bench_server(args.server, clients=args.clients, seconds=args.seconds or 2.0,
                            batch_sizes=batch_sizes, out=args.out)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    from tqdm import tqdm

    from .data import load_split
    from .errors import DataError
    from .runtime import models as shipped

    folder = Path(args.models) if args.models else shipped.MODELS_DIR
    files = {p: folder / shipped.FILES[p] for p in precisions if p in shipped.FILES}
    unknown = set(precisions) - set(shipped.FILES)
    if unknown:
        raise AslEdgeError(f"unknown precision(s) {sorted(unknown)}; use {list(shipped.FILES)}")
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise AslEdgeError(f"model file(s) not found: {', '.join(missing)}; export them with "
                           "asl-export --fp16 --int8 or pass --models DIR")
    try:
        test = load_split("test", args.data)
    except DataError as e:
        log.info("accuracy column empty: %s", e)
        test = None

    args.device = "cpu"
    rows: list[Row] = []
    variants = [("default", {})]
    if args.options:
        variants += [("threads=1", {"threads": 1}), ("threads=1 iobinding", {"threads": 1}),
                     ("opt=basic", {"optimization": "basic"})]
    jobs = [(p, f) for p, f in files.items()] if "ort-cpu" in backends else []
    bar = tqdm(total=len(jobs) + 3, desc="asl-bench", unit="job", disable=None)
    for precision, path in jobs:
        bar.set_postfix_str(f"ort-cpu {precision}")
        rows += bench_onnxruntime(path, precision, batch_sizes, args, test,
                                  variants if precision in ("fp32", "int8-cpu") else variants[:2])
        bar.update()
    if args.options and "fp32" in files and "ort-cpu" in backends:
        bar.set_postfix_str("onnxslim")
        rows += bench_slim(files["fp32"], batch_sizes, args, test, out_dir=Path(args.out))
        bar.update()
    bar.set_postfix_str("frame pipeline")
    if "fp32" in files:
        rows += bench_pipeline(files["fp32"], args)
    bar.update()
    keras_path = Path(args.keras_model) if args.keras_model else Path("runs/train/model.keras")
    if not args.no_keras:
        bar.set_postfix_str("keras baselines")
        if keras_path.is_file():
            rows += bench_keras(keras_path, batch_sizes, args, test)
        else:
            rows.append(Row("keras", "tensorflow", "fp32", 0, "all",
                            skipped=f"no Keras model at {keras_path} (--keras-model FILE)"))
    bar.update()
    bar.close()
    rows += unavailable_rows(backends, precisions)
    out = Path(args.out)
    result = {"system": system_info(), "settings": {k: v for k, v in vars(args).items()},
              "rows": [asdict(r) for r in rows], "speedups": speedups(rows)}
    write_json(out / "bench.json", result)
    plot(rows, out)
    print(format_table(rows))
    for k, v in result["speedups"].items():
        print(f"{k}: {v:.1f}x")
    print(f"results: {out / 'bench.json'}, plots: {out}/*.png")
    return 0


def speedups(rows: list[Row]) -> dict[str, float]:
    """Batch-1 p50 ratios of the runtime's best ONNX Runtime row over the Keras baselines."""
    def p50(pred):
        vals = [r.latency_ms["p50"] for r in rows if not r.skipped and pred(r)]
        return min(vals) if vals else None

    best = p50(lambda r: r.runtime == "python" and r.batch_size == 1 and r.precision == "fp32"
               and "pipeline" not in r.variant)
    out = {}
    for name in ("model.predict", "direct call", "tf.function", "xla"):
        base = p50(lambda r, n=name: r.runtime == "keras" and r.variant == n and r.batch_size == 1)
        if base and best:
            out[f"batch-1 fp32 speed-up over Keras {name}"] = base / best
    return out


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
