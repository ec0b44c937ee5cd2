"""Classification metrics and their plots, shared by training, export and evaluation."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .artifacts import save_figure, write_json
from .labels import LETTERS

log = logging.getLogger(__name__)


@dataclass
class Metrics:
    """Top-1 accuracy, per-class accuracy and the confusion matrix (rows: truth)."""

    accuracy: float
    per_class_accuracy: dict[str, float]
    confusion_matrix: list[list[int]]
    count: int
    letters: list[str] = field(default_factory=lambda: list(LETTERS))

    def to_dict(self) -> dict:
        return asdict(self)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(LETTERS)) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def compute(y_true: np.ndarray, y_pred: np.ndarray, letters=LETTERS) -> Metrics:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"labels {y_true.shape} and predictions {y_pred.shape} must be 1-D, "
                         "same length")
    cm = confusion_matrix(y_true, y_pred, len(letters))
    support = cm.sum(axis=1)
    per_class = {letters[i]: (float(cm[i, i] / support[i]) if support[i] else float("nan"))
                 for i in range(len(letters))}
    acc = float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")
    return Metrics(accuracy=acc, per_class_accuracy=per_class, confusion_matrix=cm.tolist(),
                   count=int(len(y_true)), letters=list(letters))


def plot_confusion(m: Metrics, dest: str | os.PathLike, title: str = "Confusion matrix"
                   ) -> Path | None:
    """PNG of the confusion matrix, row-normalised; None (with a warning) without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return None
    cm = np.asarray(m.confusion_matrix, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(8, 7))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(m.letters)), m.letters)
    ax.set_yticks(range(len(m.letters)), m.letters)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: accuracy {100 * m.accuracy:.2f} % of {m.count}")
    for i in range(len(m.letters)):
        for j in range(len(m.letters)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return save_figure(fig, dest)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: PNG plots skipped (pip install 'asl-edge[plots]')")
        return None
    return plt


def save_report(dest_dir: str | os.PathLike, name: str, metrics: Metrics, extra: dict | None = None
                ) -> dict[str, Path]:
    """Write ``<name>.json`` (metrics plus ``extra``) and ``<name>_confusion.png``."""
    dest_dir = Path(dest_dir)
    out = {"json": write_json(dest_dir / f"{name}.json", {**(extra or {}), **metrics.to_dict()})}
    png = plot_confusion(metrics, dest_dir / f"{name}_confusion.png", title=name)
    if png:
        out["png"] = png
    return out
