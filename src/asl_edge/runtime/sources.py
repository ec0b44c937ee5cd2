"""Where frames come from: a camera, a video file, or images (a glob or a folder).

One small interface for all (iterate ``Frame``s, ``close()``), as jetson-inference's
videoSource. An image's true letter is taken from its folder name (``.../A/x.jpg``) or a
file name starting ``A_`` when present, so folders of labelled photos double as test sets.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from ..errors import AslEdgeError
from ..labels import LETTERS

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8, as OpenCV delivers
    source: str  # file path, or "camera:N#i" / "video.mp4#i"
    index: int
    truth: str | None = None  # the true letter when known (labelled images, demo material)


class FrameSource:
    name = "source"
    fps: float = 0.0  # nominal frames per second (0 when unknown)
    live = False  # a live camera: smoothing on by default, no ground truth

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __len__(self) -> int:  # 0 when unknown
        return 0

    def close(self) -> None:
        pass


class CaptureSource(FrameSource):
    """A camera index or a video file through cv2.VideoCapture."""

    def __init__(self, target: int | str):
        self.target = target
        is_camera = isinstance(target, int)
        if not is_camera and not Path(target).is_file():
            raise AslEdgeError(f"video file {target} does not exist")
        # OpenCV prints its own backend warnings for an absent camera; our message says it
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            self.cap.release()
            if is_camera:
                raise AslEdgeError(f"camera {target} could not be opened; try --video FILE "
                                   "or --demo")
            raise AslEdgeError(f"video {target} could not be opened (unsupported or corrupt)")
        self.live = is_camera
        self.name = f"camera:{target}" if is_camera else str(target)
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._count = 0 if is_camera else int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def __len__(self) -> int:
        return max(self._count, 0)

    def __iter__(self) -> Iterator[Frame]:
        i = 0
        while True:
            ok, img = self.cap.read()
            if not ok or img is None:
                if i == 0:
                    raise AslEdgeError(f"{self.name}: no frame could be read")
                return  # end of stream
            yield Frame(img, f"{self.name}#{i}", i)
            i += 1

    def close(self) -> None:
        self.cap.release()


def truth_from_path(path: Path) -> str | None:
    """The letter an image shows, from its folder (``A/``) or name (``A_1.jpg``), if any."""
    if len(path.parent.name) == 1 and path.parent.name.upper() in LETTERS:
        return path.parent.name.upper()
    m = re.match(r"^([A-Za-z])[_\-.]", path.name)
    if m and m.group(1).upper() in LETTERS:
        return m.group(1).upper()
    return None


class ImageSource(FrameSource):
    """Images from a glob (``'photos/*.jpg'``) or a folder (searched recursively), less those
    whose name or path matches a ``skip`` shell pattern (``'hand2_*'``: one signer)."""

    def __init__(self, pattern: str | Path, skip: Sequence[str] = ()):
        p = Path(pattern)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files = sorted(Path(f) for f in glob.glob(str(pattern), recursive=True)
                           if Path(f).suffix.lower() in IMAGE_SUFFIXES)
        files = [f for f in files if not any(fnmatch.fnmatch(f.name, pat)
                                             or fnmatch.fnmatch(str(f), pat) for pat in skip)]
        if not files:
            raise AslEdgeError(f"no images match {pattern} "
                               f"(looked for {', '.join(sorted(IMAGE_SUFFIXES))}"
                               + (f", skipping {', '.join(skip)})" if skip else ")"))
        self.files = files
        self.name = str(pattern)

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        for i, f in enumerate(self.files):
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise AslEdgeError(f"{f}: not a readable image")
            yield Frame(img, str(f), i, truth_from_path(f))


class ArraySource(FrameSource):
    """Frames already in memory (demo material, tests)."""

    def __init__(self, frames: list[Frame], name: str = "memory"):
        self.frames, self.name = frames, name

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)


def open_source(camera: int | None = None, video: str | None = None,
                images: str | None = None) -> FrameSource:
    given = [x is not None for x in (camera, video, images)]
    if sum(given) != 1:
        raise AslEdgeError("give exactly one of --camera N, --video FILE, --images GLOB|DIR "
                           "(or --demo)")
    if camera is not None:
        return CaptureSource(int(camera))
    if video is not None:
        return CaptureSource(str(video))
    return ImageSource(images)
