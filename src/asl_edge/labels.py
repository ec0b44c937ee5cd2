"""The 24 static ASL letters and the mapping between dataset labels and model outputs.

Sign Language MNIST labels letters by alphabet index (A=0 ... Y=24). J (9) and Z (25) need
motion and never occur, so the 24 present labels map, in sorted order, onto outputs 0..23.
"""

from __future__ import annotations

import numpy as np

LETTERS: tuple[str, ...] = tuple("ABCDEFGHIKLMNOPQRSTUVWXY")
NUM_CLASSES = len(LETTERS)  # 24
ABSENT_LABELS = {9: "J", 25: "Z"}  # motion letters: not in the dataset, no model output

# dataset label (alphabet index) -> class index; -1 marks labels with no class
_LABEL_TO_CLASS = np.full(256, -1, dtype=np.int64)
for _cls, _letter in enumerate(LETTERS):
    _LABEL_TO_CLASS[ord(_letter) - ord("A")] = _cls


def label_to_class(labels: np.ndarray) -> np.ndarray:
    """Map dataset labels (alphabet indices) to class indices 0..23; -1 where invalid."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.shape, -1, dtype=np.int64)
    ok = (labels >= 0) & (labels < 256)
    out[ok] = _LABEL_TO_CLASS[labels[ok]]
    return out


def class_to_label(classes: np.ndarray) -> np.ndarray:
    """Map class indices 0..23 back to dataset labels (alphabet indices)."""
    return np.array([ord(LETTERS[c]) - ord("A") for c in np.asarray(classes).ravel()],
                    dtype=np.int64).reshape(np.shape(classes))


def letter_to_class(letter: str) -> int:
    """Class index of a letter such as ``"a"`` or ``"B"``; ValueError for J, Z or non-letters."""
    up = letter.strip().upper()
    if up not in LETTERS:
        raise ValueError(f"{letter!r} is not one of the 24 static letters {''.join(LETTERS)}")
    return LETTERS.index(up)
