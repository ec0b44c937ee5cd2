"""Load and validate Sign Language MNIST CSVs.

Format: header ``label,pixel1,...,pixel784``, then one image per row: the alphabet-index label
and 784 pixel values 0..255, row-major. ``.csv`` or ``.csv.gz``. Images come back as float32 in
[0, 1] with shape (N, 28, 28, 1) (NHWC, what the Keras model and the ONNX export take) and labels
as class indices 0..23 (see :mod:`asl_edge.labels`).

Every malformed input raises :class:`DataError` naming the file and line; nothing is dropped.
Parsing uses numpy's C reader; only when it fails do we rescan line by line to say where.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datapaths import find_split
from .errors import DataError
from .labels import ABSENT_LABELS, LETTERS, label_to_class

IMAGE_SIZE = 28
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, NUM_PIXELS + 1))


@dataclass(frozen=True)
class Dataset:
    """Images (N, 28, 28, 1) float32 in [0, 1], class indices (N,) int64, and their source."""

    images: np.ndarray
    labels: np.ndarray
    path: Path
    letters: tuple[str, ...] = LETTERS

    def __len__(self) -> int:
        return len(self.labels)

    def one_hot(self) -> np.ndarray:
        return np.eye(len(self.letters), dtype=np.float32)[self.labels]


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read ({e})") from e


def _locate_bad_row(path: Path, body_lines: list[bytes]) -> DataError:
    """Rescan rows one by one to name the first bad line (only on the error path)."""
    for i, line in enumerate(body_lines):
        lineno = i + 2  # 1-based, after the header
        fields = line.decode("utf-8", "replace").strip().split(",")
        if len(fields) != NUM_PIXELS + 1:
            return DataError(f"{path}:{lineno}: expected {NUM_PIXELS + 1} columns "
                             f"(label + {NUM_PIXELS} pixels), found {len(fields)}")
        for col, value in enumerate(fields):
            try:
                int(value)
            except ValueError:
                what = "label" if col == 0 else f"pixel{col}"
                return DataError(f"{path}:{lineno}: {what} is {value.strip()!r}, "
                                 f"not an integer")
    return DataError(f"{path}: could not be parsed as integer CSV")


def load_csv(path: str | os.PathLike) -> Dataset:
    """Load one Sign Language MNIST CSV (plain or gzipped), validating every row."""
    path = Path(path)
    raw = _read_bytes(path)
    if raw[:3] == b"\xef\xbb\xbf":  # tolerate a UTF-8 byte-order mark from spreadsheet tools
        raw = raw[3:]
    raw = raw.replace(b"\r\n", b"\n")
    if not raw.strip():
        raise DataError(f"{path}: empty file (expected a header and image rows)")
    header, _, body = raw.partition(b"\n")
    if header.decode("utf-8", "replace").strip().replace(" ", "") != HEADER:
        shown = header[:40].decode("utf-8", "replace")
        raise DataError(f"{path}:1: header should be 'label,pixel1,...,pixel{NUM_PIXELS}', "
                        f"found {shown!r}{'...' if len(header) > 40 else ''}")
    body_lines = [ln for ln in body.split(b"\n")]
    # a single trailing newline is normal; blank lines inside the file are not
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    if not body_lines:
        raise DataError(f"{path}: no image rows after the header")
    for i, ln in enumerate(body_lines):
        if not ln.strip():
            raise DataError(f"{path}:{i + 2}: blank line inside the data")
    try:
        table = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.int32, ndmin=2)
    except ValueError:
        raise _locate_bad_row(path, body_lines) from None
    if table.shape[1] != NUM_PIXELS + 1:
        raise _locate_bad_row(path, body_lines)

    labels, pixels = table[:, 0], table[:, 1:]
    bad_px = np.argwhere((pixels < 0) | (pixels > 255))
    if len(bad_px):
        r, c = bad_px[0]
        raise DataError(f"{path}:{r + 2}: pixel{c + 1} is {pixels[r, c]}, outside 0..255")
    classes = label_to_class(labels)
    bad_lab = np.flatnonzero(classes < 0)
    if len(bad_lab):
        r = bad_lab[0]
        lab = int(labels[r])
        why = (f"the motion letter {ABSENT_LABELS[lab]}, which has no class"
               if lab in ABSENT_LABELS else "not a letter index 0..24")
        raise DataError(f"{path}:{r + 2}: label {lab} is {why}")

    images = (pixels.astype(np.float32) / 255.0).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
    return Dataset(images=images, labels=classes, path=path)


def load_split(split: str, data: str | os.PathLike | None = None) -> Dataset:
    """Load the ``train`` or ``test`` split from ``--data``/``$ASL_DATA``/the default root."""
    return load_csv(find_split(split, data))


def stratified_split(labels: np.ndarray, fraction: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out) with ``fraction`` of every class held out, reproducibly."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), not {fraction}")
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_held = max(1, int(round(len(idx) * fraction))) if len(idx) > 1 else 0
        held.append(idx[:n_held])
        keep.append(idx[n_held:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))
