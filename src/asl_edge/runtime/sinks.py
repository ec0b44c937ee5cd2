"""Where annotated frames and per-frame results go: a video file, JSON lines, a window.

Files are written under a temporary name and renamed when the run ends (also on Ctrl-C, which
finishes the file); after an error they are removed, so nothing half-written is left.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import AslEdgeError

log = logging.getLogger(__name__)

CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}  # H.264 is absent from pip's OpenCV


def _temp_beside(dest: Path) -> Path:
    return dest.with_name(f".{dest.stem}.part{dest.suffix}")


class VideoSink:
    def __init__(self, dest: str | Path, fps: float = 30.0):
        self.dest = Path(dest)
        if self.dest.suffix.lower() not in CODECS:
            raise AslEdgeError(f"--output {dest}: use .avi, .mp4 or .mkv")
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = _temp_beside(self.dest)
        self.fps = fps if fps and fps > 0 else 30.0
        self.writer = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:  # the size is known only with the first frame
            h, w = frame.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*CODECS[self.dest.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.tmp), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise AslEdgeError(f"cannot write video {self.dest} (codec "
                                   f"{CODECS[self.dest.suffix.lower()]} unavailable?)")
            self.size = (w, h)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(frame)
        self.frames += 1

    def close(self, keep: bool = True) -> Path | None:
        if self.writer is not None:
            self.writer.release()
        if keep and self.frames and self.tmp.exists():
            os.replace(self.tmp, self.dest)
            return self.dest
        self.tmp.unlink(missing_ok=True)
        return None


class JsonlSink:
    def __init__(self, dest: str | Path):
        self.dest = Path(dest)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = _temp_beside(self.dest)
        self.f = open(self.tmp, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self, keep: bool = True) -> Path | None:
        self.f.close()
        if keep:
            os.replace(self.tmp, self.dest)
            return self.dest
        self.tmp.unlink(missing_ok=True)
        return None


def gui_available() -> bool:
    """True when this OpenCV build can open windows (the headless wheel cannot)."""
    info = cv2.getBuildInformation()
    gui = [ln for ln in info.splitlines() if ln.strip().startswith("GUI:")]
    return bool(gui) and "NONE" not in gui[0].upper() and bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt")


class WindowSink:
    """An OpenCV window; ``key()`` returns the last key pressed (-1 when none)."""

    def __init__(self, title: str = "asl-live"):
        self.title = title
        self.last_key = -1
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as e:
            raise AslEdgeError(f"cannot open a window ({e.msg.strip()}); use --headless") from None

    def write(self, frame: np.ndarray) -> None:
        cv2.imshow(self.title, frame)
        self.last_key = cv2.waitKeyEx(1)

    def close(self, keep: bool = True) -> None:
        cv2.destroyWindow(self.title)
