"""``asl-live``: capture -> preprocess -> infer -> draw, from a camera, a video or images.

Reads like jetson-inference's imagenet.py loop; every stage is timed, results go to a window,
an annotated video and JSON lines, and a summary (accuracy where truth is known) at the end.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import cli
from ..artifacts import write_json
from ..errors import AslEdgeError
from .classifier import Classifier, TemporalSmoother
from .demo import material_of
from .overlay import draw
from .preprocess import Roi

log = logging.getLogger("asl_edge.live")

STAGES = ("capture", "localise", "preprocess", "infer", "draw", "output")
EXAMPLES = """\
  asl-live --demo                                  # no camera needed: writes runs/live/
  asl-live --camera 0                              # window if OpenCV has GUI support
  asl-live --video hand.mp4 --output out.avi --jsonl out.jsonl --headless
  asl-live --images photos/ --precision int8 --backend ort-cpu
  asl-live --camera 0 --roi auto                   # find the hand (MediaPipe models on ORT)
keys (window): arrows/WASD move the box, +/- resize it, q or Esc quit
"""

# key codes from cv2.waitKeyEx for arrows on Linux/Windows, plus WASD
_MOVES = {65361: (-0.02, 0), 2424832: (-0.02, 0), ord("a"): (-0.02, 0),
          65363: (0.02, 0), 2555904: (0.02, 0), ord("d"): (0.02, 0),
          65362: (0, -0.02), 2490368: (0, -0.02), ord("w"): (0, -0.02),
          65364: (0, 0.02), 2621440: (0, 0.02), ord("s"): (0, 0.02)}


def build_parser():
    p = cli.parser("asl-live", "Classify ASL letters live from a camera, a video or images.",
                   EXAMPLES)
    src = p.add_argument_group("source (one of)")
    src.add_argument("--camera", type=int, metavar="N", help="camera index")
    src.add_argument("--video", metavar="FILE", help="video file")
    src.add_argument("--images", metavar="GLOB|DIR", help="image files: a glob or a folder")
    src.add_argument("--demo", action="store_true",
                     help="no camera: test-split images and real photos from the data folder")
    p.add_argument("--data", help="data root for --demo ($ASL_DATA, ../shared/data)")
    m = p.add_argument_group("model")
    m.add_argument("--model", help="ONNX file or TensorRT engine (default: shipped model)")
    m.add_argument("--server", metavar="URL", help="classify on a Triton server instead "
                   "(asl-serve): http://127.0.0.1:8000 or grpc://127.0.0.1:8001, optionally "
                   "/MODEL after it; frames are preprocessed here, 28x28 inputs are sent")
    m.add_argument("--precision", choices=["fp32", "fp16", "int8"], default=None,
                   help="shipped model precision (default fp32)")
    m.add_argument("--backend", default="auto",
                   help="auto, ort-cpu, ort-cuda, ort-trt or tensorrt")
    m.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = all)")
    m.add_argument("--roi", default="center", help="'center' or 'cx,cy,size' as fractions "
                   "(a fixed box), or 'auto' to find the hand in every frame (palm detector + "
                   "hand landmarks, then skin colour, then the centre box); 'hands', 'skin'")
    m.add_argument("--hand-threads", type=int, default=None, metavar="N",
                   help="with --roi auto: ONNX Runtime threads for the hand models (default: "
                   "2, or 1 on a one-core machine; with --roi auto the classifier then uses "
                   "one thread unless --threads says otherwise)")
    m.add_argument("--hand-mask", action=argparse.BooleanOptionalAction, default=True,
                   help="with --roi auto: black out everything but the hand the landmark model "
                   "found before classifying (the room's clutter confuses the 28x28 model)")
    m.add_argument("--smooth", type=int, default=None,
                   help="average the last N frames (default 5 for camera/video, 1 otherwise)")
    m.add_argument("--threshold", type=float, default=0.5,
                   help="below this confidence show 'no sign'")
    m.add_argument("--top-k", type=int, default=3)
    o = p.add_argument_group("outputs")
    o.add_argument("--output", metavar="FILE", help="annotated video (.avi, .mp4)")
    o.add_argument("--jsonl", metavar="FILE", help="one JSON line per frame")
    o.add_argument("--summary", metavar="FILE", help="JSON summary (default beside outputs)")
    o.add_argument("--headless", action="store_true", help="no window")
    o.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0 = all)")
    return p


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "mean": None}
    a = np.asarray(values)
    return {"p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def run_live(clf: Classifier, source, sinks: list, jsonl=None, smooth: int = 1,
             max_frames: int = 0, window=None, progress: bool = True) -> dict:
    """The loop. Returns the summary: per-stage ms, accuracy per material and letter."""
    from tqdm import tqdm

    smoother = TemporalSmoother(smooth)
    times: dict[str, list[float]] = defaultdict(list)
    labelled: list[tuple[str, str, int]] = []  # (source, truth, 1/0) per labelled frame
    frames = 0
    interrupted = False
    bar = tqdm(total=len(source) or None, unit="frame", desc="asl-live",
               disable=None if progress else True)
    t_prev = time.perf_counter()
    fps = None
    it = iter(source)
    try:
        while True:
            t0 = time.perf_counter()
            fr = next(it, None)
            if fr is None:
                break
            t1 = time.perf_counter()
            box = clf.locate(fr.image)
            t1b = time.perf_counter()
            x = clf.preprocess(fr.image, box)
            t2 = time.perf_counter()
            probs = smoother(clf.infer(x)[0]) if smooth > 1 else clf.infer(x)[0]
            pred = clf.prediction(probs)
            t3 = time.perf_counter()
            if sinks or window:
                draw(fr.image, box, pred.letter, pred.confidence, fps, fr.truth)
            t4 = time.perf_counter()
            for s in sinks:
                s.write(fr.image)
            if window:
                window.write(fr.image)
            t5 = time.perf_counter()
            ms = {"capture": 1e3 * (t1 - t0), "localise": 1e3 * (t1b - t1),
                  "preprocess": 1e3 * (t2 - t1b),
                  "infer": 1e3 * (t3 - t2), "draw": 1e3 * (t4 - t3), "output": 1e3 * (t5 - t4)}
            for k, v in ms.items():
                times[k].append(v)
            # what the software costs per frame; capture and writing files are I/O
            times["pipeline"].append(1e3 * (t4 - t1))
            fps = 1.0 / max(t5 - t_prev, 1e-9)
            t_prev = t5
            if fr.truth:
                ok = int(pred.best == fr.truth)
                labelled.append((fr.source, fr.truth, ok))
            if jsonl:
                jsonl.write({"source": fr.source, "index": fr.index, "time": time.time(),
                             **pred.to_dict(), "truth": fr.truth, "box": list(box),
                             "located_by": clf.last_location.method if clf.last_location
                             else "fixed",
                             "ms": {k: round(v, 4) for k, v in ms.items()}})
            frames += 1
            bar.update()
            if window:
                key = window.last_key
                if key in (ord("q"), 27):
                    break
                if key in _MOVES:
                    clf.roi = clf.roi.moved(*_MOVES[key])
                elif key in (ord("+"), ord("=")):
                    clf.roi = clf.roi.moved(grow=1.1)
                elif key == ord("-"):
                    clf.roi = clf.roi.moved(grow=1 / 1.1)
            if max_frames and frames >= max_frames:
                break
    except KeyboardInterrupt:
        interrupted = True  # finish the outputs with what we have
    finally:
        bar.close()
    # accuracy per material, after the loop: telling real photos the model was trained on
    # (asl-train --photos) apart hashes each file, which has no place between frames
    trained_on = frozenset(clf.card.training_photos)
    hits: dict[str, list[int]] = defaultdict(list)  # material -> 1/0 per labelled frame
    per_letter: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for source, truth, ok in labelled:
        material = material_of(source, trained_on)
        hits[material].append(ok)
        per_letter[material][truth].append(ok)
    summary = {
        "frames": frames, "interrupted": interrupted, "backend": clf.info.to_dict(),
        "smoothing": smooth, "threshold": clf.threshold,
        "localisation": getattr(clf.localizer, "counts", None) or {"fixed": frames},
        "hand_mask": bool(clf.localizer is not None and getattr(clf, "hand_mask", False)),
        "stage_ms": {k: percentiles(v) for k, v in times.items()},
        "accuracy": {m: {"correct": int(sum(v)), "count": len(v), "accuracy": sum(v) / len(v)}
                     for m, v in hits.items()},
        "per_letter_accuracy": {m: {k: sum(v) / len(v) for k, v in sorted(letters.items())}
                                for m, letters in per_letter.items()},
    }
    return summary


NOT_HELD_OUT = ("  (not a held-out figure: the model was trained on these photos; for a signer "
                "it has not seen, see docs/real_world.md)")


def format_summary(s: dict) -> str:
    lines = [f"{s['frames']} frames on {s['backend']['backend']} "
             f"({s['backend']['precision']}, {s['backend']['device']})",
             f"{'stage':<11} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}"]
    for k in (*STAGES, "pipeline"):
        if k in s["stage_ms"] and s["stage_ms"][k]["p50"] is not None:
            v = s["stage_ms"][k]
            lines.append(f"{k:<11} {v['p50']:>8.3f} {v['p90']:>8.3f} {v['p99']:>8.3f} "
                         f"{v['mean']:>8.3f}")
    if s.get("localisation"):
        lines.append("localisation: " + ", ".join(f"{k} {v}" for k, v in
                                                  s["localisation"].items()))
    for m, a in s["accuracy"].items():
        lines.append(f"accuracy on {m}: {100 * a['accuracy']:.1f} % ({a['correct']}/{a['count']})")
        if "in its training set" in m:
            lines.append(NOT_HELD_OUT)
        lines.append("  per letter: " + " ".join(
            f"{k}:{100 * v:.0f}%" for k, v in s["per_letter_accuracy"][m].items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    auto_roi = args.roi in ("auto", "hands", "skin")
    try:
        roi = Roi() if auto_roi else Roi.parse(args.roi)
    except ValueError as e:
        raise AslEdgeError(f"{e}; --roi also takes auto, hands, skin") from None
    if args.server and args.model:
        raise AslEdgeError("--server and --model exclude each other")
    if args.model and "://" not in args.model and not Path(args.model).is_file():
        # fail before opening a camera or building demo frames
        raise AslEdgeError(f"model file {args.model} does not exist")
    out_dir = Path("runs/live")
    if args.demo:
        from .demo import demo_source

        if any(x is not None for x in (args.camera, args.video, args.images)):
            raise AslEdgeError("--demo takes no --camera/--video/--images")
        source = demo_source(args.data)
        args.output = args.output or str(out_dir / "demo.avi")
        args.jsonl = args.jsonl or str(out_dir / "demo.jsonl")
        args.headless = True
    else:
        from .sources import open_source

        source = open_source(args.camera, args.video, args.images)
    smooth = args.smooth if args.smooth is not None else (5 if type(source).__name__ ==
                                                          "CaptureSource" else 1)
    backend_options = {"threads": args.threads} if args.threads else {}
    localizer = None
    if auto_roi:
        from .localize import make_localizer

        if args.hand_threads is not None and args.hand_threads < 1:
            raise AslEdgeError("--hand-threads must be at least 1")
        if not args.threads:
            # a 28x28 batch of one gains nothing from more threads, and an idle pool that
            # spins slows the hand models beside it (measured: video p50 6.1 -> 4.4 ms)
            backend_options = {"threads": 1}
        # on a camera or video the hand found in one frame seeds the next (tracking)
        localizer = make_localizer(args.roi, track=type(source).__name__ == "CaptureSource",
                                   threads=args.hand_threads)
    clf = Classifier(args.server or args.model, args.precision, args.backend, roi=roi,
                     top_k=args.top_k, threshold=args.threshold, localizer=localizer,
                     hand_mask=args.hand_mask,
                     **backend_options)
    print(clf.info.line(), file=sys.stderr)

    from .sinks import JsonlSink, VideoSink, WindowSink, gui_available

    sinks, jsonl, window = [], None, None
    ok = False
    try:
        if args.output:
            sinks.append(VideoSink(args.output, source.fps or 30.0))
        if args.jsonl:
            jsonl = JsonlSink(args.jsonl)
        if not args.headless:
            if gui_available():
                window = WindowSink()
            elif not sinks and not jsonl:
                log.info("this OpenCV has no GUI (headless build or no display): running "
                         "headless; add --output FILE.avi to see the overlay")
        summary = run_live(clf, source, sinks, jsonl, smooth, args.max_frames, window)
        ok = True
    finally:
        written = [s.close(keep=ok) for s in sinks] + ([jsonl.close(keep=ok)] if jsonl else [])
        if window:
            window.close()
        source.close()
    summary["outputs"] = [str(p) for p in written if p]
    summary_path = Path(args.summary) if args.summary else (
        Path(args.output or args.jsonl).with_suffix(".summary.json")
        if (args.output or args.jsonl) else None)
    if summary_path:
        write_json(summary_path, summary)
        summary["outputs"].append(str(summary_path))
    print(format_summary(summary))
    for p in summary["outputs"]:
        print(f"wrote {p}")
    return 0


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
