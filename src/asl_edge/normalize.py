"""Input normalisation: the one function that turns a 28x28 uint8 gray crop into model input.

Training and every runtime call the same code, so what the model saw while learning is what it
sees on a camera. The mode is recorded in the exported model's card (``asl_edge.normalize``);
models without the key are ``none``. numpy only (no TensorFlow, no OpenCV); the C++ runtime
implements the same arithmetic (``cpp/src/preprocess.cpp``) and refuses modes it does not know.

- ``none``: ``x * scale`` (scale 1/255: pixels to [0, 1]), what the first models were trained on.
- ``standardize``: per-image ``(x - mean) / max(std, 2)``, with the mean and standard deviation
  of the image's 784 pixels in 0..255 units. Removes brightness and contrast differences between
  a camera frame and the dataset. The sums are exact integers in float64 and every further step
  is one IEEE operation in a fixed order, so the C++ runtime gets the same bits.
- ``equalize``: histogram equalisation (OpenCV's ``equalizeHist`` arithmetic, written out), then
  ``* scale``: invariant to any monotonic change of brightness (gamma included).
"""

from __future__ import annotations

import numpy as np

MODES = ("none", "standardize", "equalize")
DEFAULT = "none"
SIDECAR = "preprocess.json"  # beside model.keras: {"normalize": MODE, "training_photos": [...]}
STD_FLOOR = 2.0  # in 0..255 units: a flat crop is not blown up into noise


class UnknownNormalization(ValueError):
    """A model asks for a normalisation this version does not implement."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UnknownNormalization(
            f"input normalisation {mode!r} is not implemented by this asl-edge (it knows "
            f"{', '.join(MODES)}); upgrade asl-edge or re-export the model")
    return mode


def _equalize_lut(hist: np.ndarray) -> np.ndarray:
    """OpenCV's equalizeHist table: the first occupied level maps to 0, the rest by the CDF."""
    total = int(hist.sum())
    nz = np.flatnonzero(hist)
    lut = np.zeros(256, dtype=np.uint8)
    if len(nz) == 0:
        return lut
    first = int(nz[0])
    if hist[first] == total:  # a flat image stays as it is
        return np.full(256, first, dtype=np.uint8)
    # float32 arithmetic as OpenCV: scale = 255.f / (total - hist[first]), then
    # saturate_cast<uchar>(sum * scale), which rounds half to even
    scale = np.float32(255.0) / np.float32(total - int(hist[first]))
    cdf = np.cumsum(hist.astype(np.int64))
    cdf[:first + 1] = 0
    cdf[first + 1:] -= int(hist[first])
    lut[:] = np.clip(np.rint(cdf.astype(np.float32) * scale), 0, 255).astype(np.uint8)
    lut[:first + 1] = 0
    return lut


def normalize(gray: np.ndarray, mode: str = DEFAULT, scale: float = 1.0 / 255.0,
              out: np.ndarray | None = None) -> np.ndarray:
    """uint8 (..., H, W) gray crops -> float32 model input of the same shape.

    ``out`` (float32, same number of elements) is filled in place when given.
    """
    gray = np.asarray(gray)
    if gray.dtype != np.uint8:
        raise TypeError(f"normalize takes uint8 pixels, not {gray.dtype}")
    check_mode(mode)
    if out is None:
        out = np.empty(gray.shape, dtype=np.float32)
    dst = out.reshape(gray.shape)
    if mode == "none":
        np.multiply(gray, np.float32(scale), out=dst, casting="unsafe")
        return out
    h, w = gray.shape[-2:]
    flat = gray.reshape(-1, h * w)
    dflat = dst.reshape(-1, h * w)
    if mode == "standardize":
        u = flat.astype(np.float64)
        n = float(h * w)
        mean = u.sum(axis=1, keepdims=True) / n  # exact integer sums
        var = np.maximum((u * u).sum(axis=1, keepdims=True) / n - mean * mean, 0.0)
        std = np.maximum(np.sqrt(var), STD_FLOOR)
        dflat[:] = ((u - mean) / std).astype(np.float32)
        return out
    # equalize
    for i in range(len(flat)):
        hist = np.bincount(flat[i], minlength=256)
        np.multiply(_equalize_lut(hist)[flat[i]], np.float32(scale), out=dflat[i],
                    casting="unsafe")
    return out


def normalize_images(images: np.ndarray, mode: str = DEFAULT) -> np.ndarray:
    """Dataset images (N, 28, 28, 1) float in [0, 1] (pixel/255) -> model inputs for ``mode``:
    back to their exact uint8 pixels, then :func:`normalize`, the runtime's function, so the
    result is bit for bit what the runtime makes of the same pixels (for ``none`` too, where
    it differs from ``pixel / 255`` by at most one unit in the last place)."""
    check_mode(mode)
    images = np.asarray(images, dtype=np.float32)
    u8 = np.rint(images * np.float32(255.0)).clip(0, 255).astype(np.uint8)
    h, w = images.shape[1:3]
    return normalize(u8.reshape(-1, h, w), mode).reshape(images.shape)


def inputs_for(card, images: np.ndarray) -> np.ndarray:
    """Dataset images as the model behind ``card`` (a ModelCard) expects them."""
    return normalize_images(images, getattr(card, "normalize", DEFAULT))


def keras_mode(model_path) -> str:
    """The normalisation a ``.keras`` model was trained with, from ``preprocess.json`` beside
    it (asl-train writes it); ``none`` when there is none (models from before it existed)."""
    return check_mode(_sidecar(model_path).get("normalize", DEFAULT))


def keras_training_photos(model_path) -> tuple[str, ...]:
    """Digests of the real photos a ``.keras`` model was trained on (``preprocess.json``)."""
    return tuple(_sidecar(model_path).get("training_photos", []))


def _sidecar(model_path) -> dict:
    """``preprocess.json`` beside a ``.keras`` model, or {} without one."""
    import json
    from pathlib import Path

    side = Path(model_path).with_name(SIDECAR)
    return json.loads(side.read_text()) if side.is_file() else {}
