"""Augmentation recipes: the course's, and ``real``, which models camera frames.

``course``: the course notebook's recipe as Keras 3 preprocessing layers. Keras 3 dropped
``ImageDataGenerator``; its rotation_range=10, zoom_range=0.1, width/height_shift_range=0.1 and
horizontal_flip map onto these layers. They run in the tf.data input pipeline, not in the model,
so the exported network stays the seed's.

``real``: what differs between Sign Language MNIST and a hand cut out of a camera frame by the
localiser (``--roi auto``), in numpy and OpenCV on the 28x28 uint8 images, so that the result
goes through exactly the runtime's normalisation (:mod:`asl_edge.normalize`):

- geometry: rotation, scale (the localiser's box is not the dataset's framing), shift, flip;
- background: the dataset's hands stand in front of a few similar walls. Pixels connected to
  the image border with a smooth intensity (flood fill from the border) are taken as background
  and, where that mask is plausible, replaced by a random one: flat of any brightness (black
  included), gradients, smooth blobs, clutter (bars, edges), fine texture;
- light: brightness, contrast, gamma; camera: blur, sensor noise.

No numbers here were fitted to the real-photo development set; they are the ranges a webcam
crop plausibly spans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

RECIPES = ("course", "real")
SIZE = 28


def course_augmentation(seed: int):
    import keras
    from keras import layers

    return keras.Sequential(name="augment", layers=[
        layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed),  # factor: share of 2*pi
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 2),
        layers.RandomFlip("horizontal", seed=seed + 3),
    ])


def background_mask(image: np.ndarray, tolerance: int = 6, step: int = 2,
                    seed_range: int = 24) -> np.ndarray:
    """Background (True) of a uint8 28x28 image: smooth regions reached from its border.

    Flood fill (4-connected, neighbour-to-neighbour tolerance) of a lightly blurred copy, from
    every ``step``-th border pixel within ``seed_range`` of the wall's brightness (the median
    of the top row and the upper halves of the sides, where the hand rarely is): the wrist that
    enters from the bottom is not taken as a seed. Fails where the hand has the wall's
    brightness; :func:`plausible` rejects most such masks.
    """
    img = cv2.GaussianBlur(image, (3, 3), 0)
    h, w = img.shape
    wall = float(np.median(np.concatenate([img[0], img[:h // 2, 0], img[:h // 2, -1]])))
    m = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    seeds = [(x, 0) for x in range(0, w, step)] + [(0, y) for y in range(0, h, step)] + \
        [(w - 1, y) for y in range(0, h, step)] + [(x, h - 1) for x in range(0, w, step)]
    for x, y in seeds:
        if m[y + 1, x + 1] == 0 and abs(float(img[y, x]) - wall) <= seed_range:
            cv2.floodFill(img, m, (x, y), 0, loDiff=tolerance, upDiff=tolerance, flags=flags)
    return m[1:-1, 1:-1] > 0


def plausible(bg: np.ndarray, low: float = 0.15, high: float = 0.75) -> bool:
    """A mask worth using: background between ``low`` and ``high`` of the image, and the
    foreground one main blob (not the hand cut into pieces)."""
    share = float(bg.mean())
    if not low <= share <= high:
        return False
    fg = (~bg).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return False
    areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
    return areas[0] >= 0.9 * areas.sum()


def random_background(rng: np.random.Generator) -> np.ndarray:
    """One 28x28 float32 background in [0, 1]."""
    kind = rng.integers(0, 5)
    if kind == 0:  # flat, any brightness
        return np.full((SIZE, SIZE), rng.random(), np.float32)
    if kind == 1:  # linear gradient
        a, b = rng.random(2)
        t = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
        ramp = (np.cos(t) * (xx - 0.5) + np.sin(t) * (yy - 0.5)) + 0.5
        return np.clip(a + (b - a) * ramp, 0, 1).astype(np.float32)
    if kind == 2:  # smooth blobs: out-of-focus room
        k = int(rng.integers(2, 6))
        small = rng.random((k, k)).astype(np.float32)
        return np.clip(cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC), 0, 1)
    if kind == 3:  # clutter: bars and edges on a flat ground
        bg = np.full((SIZE, SIZE), rng.random(), np.float32)
        for _ in range(int(rng.integers(1, 5))):
            x0, y0 = rng.integers(-SIZE // 2, SIZE, 2)
            x1, y1 = x0 + rng.integers(2, SIZE), y0 + rng.integers(2, SIZE)
            cv2.rectangle(bg, (int(x0), int(y0)), (int(x1), int(y1)), float(rng.random()), -1)
        return cv2.GaussianBlur(bg, (3, 3), 0)
    # texture: fine noise around a random level (fabric, carpet, a busy shelf)
    level, spread = rng.random(), rng.uniform(0.05, 0.3)
    tex = rng.normal(level, spread, (SIZE, SIZE)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(tex, (3, 3), rng.uniform(0.5, 1.2)), 0, 1)


@dataclass
class RealRecipe:
    """Parameters of the ``real`` recipe (see the module docstring)."""

    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.8, 1.25)  # > 1 zooms in
    shift: float = 0.12  # share of the side
    flip: float = 0.5
    aspect: float = 0.0  # +-share: width and height scaled apart (another hand, another view)
    shear: float = 0.0  # +-share
    elastic: float = 0.0  # pixels: smooth random displacement (fingers placed a bit differently)
    light: float = 0.0  # +-share: brightness ramp across the image (light from one side)
    background: float = 0.8  # share of images (with a plausible mask) given a new background
    contrast: tuple[float, float] = (0.6, 1.5)
    brightness: float = 0.2
    gamma: tuple[float, float] = (0.6, 1.6)
    blur: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    noise: float = 0.3
    noise_sigma: tuple[float, float] = (0.005, 0.04)
    keep: float = 0.1  # share of images left as they are (the dataset's own look)


class RealAugment:
    """The ``real`` recipe over a fixed set of uint8 images (masks computed once)."""

    def __init__(self, images: np.ndarray, recipe: RealRecipe = RealRecipe()):
        self.images = np.ascontiguousarray(images.reshape(-1, SIZE, SIZE))
        if self.images.dtype != np.uint8:
            raise TypeError("RealAugment takes uint8 images")
        self.recipe = recipe
        gy, gx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        self._gx, self._gy = gx, gy
        self._xx, self._yy = gx / (SIZE - 1) - 0.5, gy / (SIZE - 1) - 0.5
        self.masks = np.zeros(self.images.shape, np.float32)  # foreground weight, 1 = hand
        self.usable = np.zeros(len(self.images), bool)
        for i, img in enumerate(self.images):
            bg = background_mask(img)
            if plausible(bg):
                self.usable[i] = True
                self.masks[i] = (~bg).astype(np.float32)

    def _affine(self, rng: np.random.Generator, centre) -> np.ndarray:
        """Rotation, scale (and aspect, shear) about the centre, then a shift: 2x3."""
        r = self.recipe
        angle = math.radians(rng.uniform(-r.rotation_deg, r.rotation_deg))
        scale = math.exp(rng.uniform(math.log(r.scale[0]), math.log(r.scale[1])))
        a = math.exp(rng.uniform(-r.aspect, r.aspect)) if r.aspect else 1.0
        sh = rng.uniform(-r.shear, r.shear) if r.shear else 0.0
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        lin = scale * rot @ np.array([[a, sh], [0.0, 1.0 / a]])
        c = np.asarray(centre)
        shift = rng.uniform(-r.shift, r.shift, 2) * SIZE
        return np.hstack([lin, (c - lin @ c + shift)[:, None]])

    def _flow(self, rng: np.random.Generator):
        """A smooth random displacement of up to ~``elastic`` pixels, as cv2.remap maps."""
        d = rng.normal(0.0, 1.0, (2, 4, 4)).astype(np.float32) * self.recipe.elastic
        dx = cv2.resize(d[0], (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
        dy = cv2.resize(d[1], (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
        return self._gx + dx, self._gy + dy

    def __call__(self, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copies of ``images[index]``, uint8 (len(index), 28, 28)."""
        r = self.recipe
        out = np.empty((len(index), SIZE, SIZE), np.uint8)
        centre = ((SIZE - 1) / 2.0, (SIZE - 1) / 2.0)
        for k, i in enumerate(index):
            img = self.images[i].astype(np.float32) / 255.0
            if rng.random() < r.keep:
                out[k] = self.images[i]
                continue
            fg = self.masks[i]
            if rng.random() < r.flip:
                img, fg = img[:, ::-1], fg[:, ::-1]
            m = self._affine(rng, centre)
            img = cv2.warpAffine(np.ascontiguousarray(img), m, (SIZE, SIZE),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            flow = self._flow(rng) if r.elastic > 0 else None
            if flow is not None:
                img = cv2.remap(img, *flow, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            if self.usable[i] and rng.random() < r.background:
                fg = cv2.warpAffine(np.ascontiguousarray(fg), m, (SIZE, SIZE),
                                    flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
                if flow is not None:
                    fg = cv2.remap(fg, *flow, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT_101)
                fg = cv2.GaussianBlur(fg, (3, 3), 0)
                img = fg * img + (1.0 - fg) * random_background(rng)
            if r.light > 0:  # light from one side: a brightness ramp
                t = rng.uniform(0, 2 * math.pi)
                ramp = math.cos(t) * self._xx + math.sin(t) * self._yy
                img = img * (1.0 + rng.uniform(0, r.light) * ramp)
            c = math.exp(rng.uniform(math.log(r.contrast[0]), math.log(r.contrast[1])))
            mean = float(img.mean())
            img = (img - mean) * c + mean + rng.uniform(-r.brightness, r.brightness)
            img = np.clip(img, 0.0, 1.0)
            g = math.exp(rng.uniform(math.log(r.gamma[0]), math.log(r.gamma[1])))
            img = img ** g
            if rng.random() < r.blur:
                img = cv2.GaussianBlur(img, (5, 5), rng.uniform(*r.blur_sigma))
            if rng.random() < r.noise:
                img = img + rng.normal(0.0, rng.uniform(*r.noise_sigma), img.shape)
            out[k] = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
        return out
