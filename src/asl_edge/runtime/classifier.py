"""``Classifier``: frame in, letter out. The one object applications need.

    >>> from asl_edge.runtime.classifier import Classifier
    >>> clf = Classifier()                      # shipped FP32 model, fastest backend here
    >>> clf.classify(frame).letter              # frame: BGR/RGB/gray uint8 of any size
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AslEdgeError
from . import models
from ..normalize import UnknownNormalization, check_mode
from .backend import Backend, open_backend
from .localize import black_outside_hand
from .preprocess import MODEL_SIZE, Roi, preprocess, preprocess_batch

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    """``letter`` is None when the confidence is below the classifier's threshold."""

    letter: str | None
    confidence: float
    top_k: list[tuple[str, float]]
    probs: np.ndarray = field(repr=False)

    @property
    def best(self) -> str:
        """The top letter even when below the threshold."""
        return self.top_k[0][0]

    def to_dict(self) -> dict:
        return {"letter": self.letter, "confidence": round(self.confidence, 5),
                "top_k": [[k, round(p, 5)] for k, p in self.top_k]}


def resolve_model(model: str | Path | None, precision: str | None, backend: str) -> Path:
    """A model file: the given path, or the shipped one for the precision and backend.

    INT8 on ONNX Runtime's CPU uses the unsigned-activation variant its VNNI kernels want;
    on TensorRT and GPUs the symmetric Q/DQ form.
    """
    if model is not None:
        from .triton_backend import is_server_url

        return model if is_server_url(model) else Path(model)
    precision = precision or models.DEFAULT_PRECISION
    if precision == "int8" and backend in ("auto", "ort-cpu") and "int8-cpu" in models.available():
        on_gpu = backend == "auto" and _gpu_provider_present()
        precision = "int8" if on_gpu else "int8-cpu"
    return models.shipped(precision)


def _gpu_provider_present() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return bool({"CUDAExecutionProvider", "TensorrtExecutionProvider"}
                & set(ort.get_available_providers()))


class Classifier:
    def __init__(self, model: str | Path | None = None, precision: str | None = None,
                 backend: str = "auto", roi: Roi | None = Roi(), top_k: int = 3,
                 threshold: float = 0.0, color_order: str = "bgr", localizer=None,
                 hand_mask: bool = True, **backend_options):
        self.model_path = resolve_model(model, precision, backend)
        self.backend: Backend = open_backend(self.model_path, backend, **backend_options)
        self.card = self.backend.card
        self.letters = self.card.letters
        if self.card.input_size != MODEL_SIZE:
            raise AslEdgeError(f"{self.model_path}: input size {self.card.input_size} is not "
                               f"the runtime's {MODEL_SIZE}")
        try:
            self.normalize = check_mode(self.card.normalize)
        except UnknownNormalization as e:
            raise AslEdgeError(f"{self.model_path}: {e}") from None
        self.roi = roi
        # where the hand is (asl_edge.runtime.localize); None: always the fixed ``roi``
        self.localizer = localizer
        self.last_location = None  # the localiser's last answer (box, method, score)
        # black out the room around hands found by the landmark model (localize.py)
        self.hand_mask = hand_mask
        self.top_k = max(1, min(top_k, len(self.letters)))
        self.threshold = threshold
        self.color_order = color_order
        self._input = np.empty((1, MODEL_SIZE, MODEL_SIZE, 1), dtype=np.float32)

    @property
    def info(self):
        return self.backend.info

    def prediction(self, probs: np.ndarray) -> Prediction:
        """Turn one probability vector into a Prediction (threshold and top-k applied)."""
        order = np.argsort(probs)[::-1][:self.top_k]
        top = [(self.letters[i], float(probs[i])) for i in order]
        conf = top[0][1]
        return Prediction(letter=top[0][0] if conf >= self.threshold else None,
                          confidence=conf, top_k=top, probs=probs)

    def preprocess(self, frame: np.ndarray, roi: Roi | tuple | None = None) -> np.ndarray:
        loc = self.last_location
        if (self.hand_mask and loc is not None and loc.landmarks is not None
                and isinstance(roi, tuple | list) and tuple(roi) == tuple(loc.box)):
            # the localiser's box around landmarks: classify the hand without the room
            return preprocess(black_outside_hand(frame, loc.landmarks, loc.box), None,
                              self.color_order, out=self._input, normalize=self.normalize)
        return preprocess(frame, self.roi if roi is None else roi, self.color_order,
                          out=self._input, normalize=self.normalize)

    def locate(self, frame: np.ndarray) -> tuple[int, int, int, int]:
        """The pixel box to classify: the localiser's (``--roi auto``) or the fixed ROI's."""
        h, w = frame.shape[:2]
        if self.localizer is not None:
            self.last_location = self.localizer.locate(frame)
            if self.last_location.method != "fixed":
                return self.last_location.box
        return self.roi.box(w, h)  # the fixed box (movable in asl-live's window)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28, 1) float32 -> (N, 24) probabilities."""
        return self.backend.infer(batch)

    def classify(self, frame: np.ndarray, roi: Roi | tuple | None = None) -> Prediction:
        """One camera frame (any size; BGR by default) -> Prediction (in the localiser's box
        when there is one and no ``roi`` is given)."""
        if roi is None and self.localizer is not None:
            roi = self.locate(frame)
        return self.prediction(self.infer(self.preprocess(frame, roi))[0])

    def classify_batch(self, images) -> list[Prediction]:
        """Dataset-style images (N, 28, 28[, 1]) float in [0, 1] (pixel/255; normalised here as
        the model card says), or a list of frames of any size."""
        if isinstance(images, np.ndarray) and images.ndim in (3, 4) \
                and images.shape[1:3] == (MODEL_SIZE, MODEL_SIZE) \
                and np.issubdtype(images.dtype, np.floating):
            from ..normalize import normalize_images

            batch = normalize_images(images.reshape(len(images), MODEL_SIZE, MODEL_SIZE, 1),
                                     self.normalize)
        else:
            batch = preprocess_batch(images, self.roi, self.color_order, self.normalize)
        return [self.prediction(p) for p in self.infer(batch)]

    def close(self) -> None:
        self.backend.close()


class TemporalSmoother:
    """Average of the last ``window`` frames' probabilities: steadies the letter on video."""

    def __init__(self, window: int = 5):
        if window < 1:
            raise ValueError("smoothing window must be at least 1")
        self._recent: deque[np.ndarray] = deque(maxlen=window)

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        self._recent.append(np.asarray(probs, dtype=np.float32))
        return np.mean(self._recent, axis=0)

    def reset(self) -> None:
        self._recent.clear()
