"""Demo material for ``asl-live --demo``: real photos and test-split images as camera frames.

Built from the data at the default location (never shipped): each image is scaled to fill the
default centre box of a 640x480 frame, on black as the photos were taken, so the run shows the
whole camera pipeline on labelled material.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..datapaths import HOW_TO_GET, real_photos_dir
from ..errors import DataError
from ..labels import LETTERS
from .preprocess import Roi
from .sources import ArraySource, Frame, ImageSource

log = logging.getLogger(__name__)

FRAME_W, FRAME_H = 640, 480


def to_camera_frame(image: np.ndarray, roi: Roi = Roi()) -> np.ndarray:
    """Place an image (gray or BGR, any size) into a black 640x480 frame filling ``roi``."""
    x0, y0, x1, y1 = roi.box(FRAME_W, FRAME_H)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    interp = cv2.INTER_CUBIC if image.shape[0] < (y1 - y0) else cv2.INTER_AREA
    frame = np.zeros((FRAME_H, FRAME_W, 3), dtype=np.uint8)
    frame[y0:y1, x0:x1] = cv2.resize(image, (x1 - x0, y1 - y0), interpolation=interp)
    return frame


def demo_source(data: str | None = None, per_letter: int = 5, seed: int = 0) -> ArraySource:
    """Test-split images (``per_letter`` of each letter) and every real photo, as frames."""
    from ..data import load_split

    frames: list[Frame] = []
    try:
        test = load_split("test", data)
    except DataError:
        test = None
    if test is not None:
        rng = np.random.default_rng(seed)
        for cls, letter in enumerate(LETTERS):
            idx = np.flatnonzero(test.labels == cls)
            for i in rng.choice(idx, size=min(per_letter, len(idx)), replace=False):
                img = (test.images[i, :, :, 0] * 255).round().astype(np.uint8)
                frames.append(Frame(to_camera_frame(img), f"{test.path.name}:{i + 2}",
                                    len(frames), letter))
    photos = real_photos_dir(data)
    if photos is not None:
        for fr in ImageSource(photos):
            frames.append(Frame(to_camera_frame(fr.image), fr.source, len(frames), fr.truth))
    if not frames:
        raise DataError(f"no demo material: neither the test split nor real photos were "
                        f"found; {HOW_TO_GET}")
    log.info("demo: %d test-split images%s", per_letter * len(LETTERS) if test else 0,
             f" and real photos from {photos}" if photos else "")
    return ArraySource(frames, "demo")


def material_of(source: str, trained_on: frozenset = frozenset()) -> str:
    """What a labelled frame is: test split, real photos, or real photos the model was
    trained on (their accuracy is not a held-out figure)."""
    if not ("massey" in source or source.lower().endswith((".jpg", ".png"))):
        return "test split"
    if trained_on:
        from pathlib import Path

        from ..modelcard import photo_digest

        if Path(source).is_file() and photo_digest(source) in trained_on:
            return "real photos (in its training set)"
    return "real photos"
