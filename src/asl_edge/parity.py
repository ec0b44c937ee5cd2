"""Parity between two runs of the model on the same inputs: one function for export, tests and
benchmarks alike (Keras vs ONNX FP32/FP16/INT8 vs TensorRT)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class Parity:
    reference: str
    candidate: str
    count: int
    top1_agreement: float  # share of inputs where both pick the same class
    max_abs_diff: float  # largest |p_ref - p_cand| over all probabilities
    mean_abs_diff: float
    reference_accuracy: float | None = None
    candidate_accuracy: float | None = None

    @property
    def accuracy_drop_points(self) -> float | None:
        if self.reference_accuracy is None or self.candidate_accuracy is None:
            return None
        return 100.0 * (self.reference_accuracy - self.candidate_accuracy)

    def to_dict(self) -> dict:
        return {**asdict(self), "accuracy_drop_points": self.accuracy_drop_points}


def predict_in_batches(predict: Predict, images: np.ndarray, batch_size: int = 512
                       ) -> np.ndarray:
    return np.concatenate([predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)], axis=0)


def compare(ref_probs: np.ndarray, cand_probs: np.ndarray, labels: np.ndarray | None = None,
            reference: str = "reference", candidate: str = "candidate") -> Parity:
    """Compare two (N, C) probability arrays; with labels, also both accuracies."""
    ref_probs, cand_probs = np.asarray(ref_probs), np.asarray(cand_probs, dtype=np.float32)
    if ref_probs.shape != cand_probs.shape:
        raise ValueError(f"shapes differ: {ref_probs.shape} vs {cand_probs.shape}")
    ref_top, cand_top = ref_probs.argmax(1), cand_probs.argmax(1)
    diff = np.abs(ref_probs.astype(np.float64) - cand_probs)
    acc = (lambda top: float(np.mean(top == labels))) if labels is not None else (lambda _: None)
    return Parity(reference=reference, candidate=candidate, count=len(ref_probs),
                  top1_agreement=float(np.mean(ref_top == cand_top)),
                  max_abs_diff=float(diff.max(initial=0.0)),
                  mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
                  reference_accuracy=acc(ref_top), candidate_accuracy=acc(cand_top))
