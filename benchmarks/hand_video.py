#!/usr/bin/env python3
"""A camera-like test video from labelled photos, for timing ``asl-live --roi auto`` on video.

Each photo is held for ``--hold`` frames (a signer holding a letter), pasted at a slowly moving
position into a 640x480 scene (a smooth random background with some clutter), with sensor
noise, so that the localiser tracks the hand from frame to frame as it would on a webcam.

    python3 benchmarks/hand_video.py ../shared/data/real_photos/massey_dev runs/hand_video.avi
    asl-live --video runs/hand_video.avi --roi auto --headless --jsonl runs/live/video.jsonl
    python3 benchmarks/hand_video.py ../shared/data/real_photos/massey_dev runs/scenes --stills
    asl-eval --images runs/scenes --roi auto                    # the same hands, anywhere

Frame truth is not stored in a video; accuracy on the photos is asl-eval --images' job.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def scene(rng: np.random.Generator, w: int = 640, h: int = 480) -> np.ndarray:
    small = rng.integers(40, 200, (6, 8, 3)).astype(np.uint8)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(bg, (x0, y0), (x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 150))),
                      tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    return bg


def frames_of(path: Path, rng: np.random.Generator, hold: int):
    """``hold`` frames of one photo's hand in a scene, drifting slowly."""
    bg = scene(rng)
    img = cv2.imread(str(path))
    side = int(rng.integers(200, 300))
    img = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
    # the photos are hands segmented on black: paste the hand, keep the scene around it
    mask = (cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) > 20)[..., None]
    x, y = int(rng.integers(20, 640 - side - 20)), int(rng.integers(10, 480 - side - 10))
    dx, dy = rng.normal(0, 1.5, 2)
    for k in range(hold):
        frame = bg.copy()
        xi = int(np.clip(x + dx * k, 0, 640 - side))
        yi = int(np.clip(y + dy * k, 0, 480 - side))
        roi = frame[yi:yi + side, xi:xi + side]
        frame[yi:yi + side, xi:xi + side] = np.where(mask, img, roi)
        noise = rng.normal(0, 4, frame.shape)
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--hold", type=int, default=10, help="frames per photo")
    ap.add_argument("--limit", type=int, default=0, help="use the first N photos (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stills", action="store_true", help="write one PNG per photo instead, "
                    "in letter folders under OUT (an asl-eval --images set of hands in scenes)")
    args = ap.parse_args(argv)
    from asl_edge.runtime.sinks import VideoSink

    files = sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    if args.limit:
        files = files[:args.limit]
    if not files:
        raise SystemExit(f"no photos under {args.photos}")
    rng = np.random.default_rng(args.seed)
    if args.stills:
        for f in files:
            frame = next(frames_of(f, rng, 1))
            dest = args.out / f.parent.name / f"{f.stem}.png"
            dest.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(dest), frame)
        print(f"wrote {len(files)} scenes under {args.out}")
        return 0
    sink = VideoSink(args.out, 30.0)
    ok = False
    try:
        for f in files:
            for frame in frames_of(f, rng, args.hold):
                sink.write(frame)
        ok = True
    finally:
        written = sink.close(keep=ok)
    print(f"wrote {written} ({len(files) * args.hold} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
