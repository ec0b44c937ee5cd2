"""Labelled photos as extra training data: the camera pipeline's own crops, jittered.

Sign Language MNIST is ~1,700 photos of a few people; a few real photos of other hands teach
the model how other people form the letters, which no augmentation of the same originals can.
``asl-train --photos DIR`` takes files named or foldered by letter (``A/x.jpg``, ``A_x.jpg``,
as ``asl-eval --images``), locates the hand exactly as the runtime does (``--roi auto``:
palm detector + landmarks, then skin colour, then the fixed box), and cuts ``copies`` crops per
photo around that box with small random scale, shift and rotation, on the full-resolution
frame (cutting at 28x28 would lose the detail the runtime's INTER_AREA keeps). The ``real``
recipe then treats them like the dataset's images (new backgrounds, light, blur, noise).

``skip`` (shell patterns on the file name or path) leaves photos out, e.g. one signer: the
held-out signer is then a new person for the trained model (benchmarks/cross_signer.sh).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import AslEdgeError

log = logging.getLogger(__name__)

SIZE = 28
WORK = 4 * SIZE  # crop at 112x112 first, then INTER_AREA down to 28 (as the runtime shrinks)


@dataclass
class PhotoSet:
    images: np.ndarray  # uint8 (N * copies, 28, 28)
    labels: np.ndarray  # int class indices (N * copies,)
    sources: list[str]  # one per photo (not per copy)
    digests: list[str]  # modelcard.photo_digest of each photo, recorded in the exported model
    methods: dict[str, int]  # how the hands were located

    def __len__(self) -> int:
        return len(self.labels)


def jittered_crops(gray: np.ndarray, box: tuple[int, int, int, int], copies: int,
                   rng: np.random.Generator, scale: tuple[float, float] = (0.9, 1.15),
                   shift: float = 0.06, rotation_deg: float = 8.0) -> np.ndarray:
    """``copies`` uint8 28x28 crops of ``gray`` around ``box`` (x0, y0, x1, y1); the first is
    the box itself, the rest move it by up to ``shift`` of its side, scale it within ``scale``
    (> 1 takes more of the frame) and turn it by up to ``rotation_deg``. Outside the frame
    the border pixels repeat (a photo cut at the wrist continues the wrist)."""
    x0, y0, x1, y1 = box
    side = float(max(x1 - x0, y1 - y0))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    out = np.empty((copies, SIZE, SIZE), np.uint8)
    for k in range(copies):
        if k == 0:
            s, a, dx, dy = 1.0, 0.0, 0.0, 0.0
        else:
            s = math.exp(rng.uniform(math.log(scale[0]), math.log(scale[1])))
            a = math.radians(rng.uniform(-rotation_deg, rotation_deg))
            dx, dy = rng.uniform(-shift, shift, 2) * side
        # frame -> WORK x WORK: the box's centre (moved) to the middle, its side (scaled) to WORK
        f = WORK / (side * s)
        c, n = math.cos(a) * f, math.sin(a) * f
        ox, oy = cx + dx, cy + dy
        m = np.array([[c, n, WORK / 2.0 - c * ox - n * oy],
                      [-n, c, WORK / 2.0 + n * ox - c * oy]], np.float64)
        big = cv2.warpAffine(gray, m, (WORK, WORK), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        out[k] = cv2.resize(big, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return out


def load_photos(folders: list[str | Path] | tuple, copies: int = 8, skip: tuple[str, ...] = (),
                seed: int = 0, roi: str = "auto", progress: bool = True,
                hand_mask: bool = True) -> PhotoSet:
    """Every labelled photo under ``folders`` (minus ``skip``) -> ``copies`` training crops.
    ``hand_mask``: black out all but the hand the landmark model found, as the runtime does
    (``Classifier(hand_mask=True)``), so the crops look like what it will classify."""
    from tqdm import tqdm

    from ..labels import letter_to_class
    from ..modelcard import photo_digest
    from ..runtime.localize import black_outside_hand, make_localizer
    from ..runtime.preprocess import to_gray
    from ..runtime.sources import ImageSource, truth_from_path

    if copies < 1:
        raise AslEdgeError(f"photo copies must be >= 1, not {copies}")
    files = []
    for folder in folders:
        if not Path(folder).exists():
            raise AslEdgeError(f"{folder}: no such photo folder")
        files += ImageSource(folder, skip).files
    loc = make_localizer(roi, track=False)
    rng = np.random.default_rng([seed, 7])
    crops, labels, sources, digests = [], [], [], []
    unlabelled = 0
    for f in tqdm(files, desc="locating hands in photos", unit="photo", disable=not progress
                  or None):
        truth = truth_from_path(f)
        if truth is None:
            unlabelled += 1
            continue
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise AslEdgeError(f"{f}: not a readable image")
        found = loc.locate(img)
        if hand_mask and found.landmarks is not None:
            img = black_outside_hand(img, found.landmarks)
        crops.append(jittered_crops(to_gray(img), found.box, copies, rng))
        labels += [letter_to_class(truth)] * copies
        sources.append(str(f))
        digests.append(photo_digest(f))
    if not sources:
        raise AslEdgeError(f"no photo under {', '.join(map(str, folders))} is labelled by a "
                           "letter folder (A/x.jpg) or name (A_x.jpg)"
                           + (f" after skipping {', '.join(skip)}" if skip else ""))
    if unlabelled:
        log.warning("%d photos without a letter in their path were skipped", unlabelled)
    log.info("photos: %d (x%d crops), hands located by %s", len(sources), copies, loc.counts)
    return PhotoSet(np.concatenate(crops), np.asarray(labels, np.int64), sources, digests,
                    dict(loc.counts))
