"""Where the data lives: ``--data``, then ``$ASL_DATA``, then ``../shared/data`` if it exists.

Data is never bundled with the package; this module only finds it and says where to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError

ENV_VAR = "ASL_DATA"
KAGGLE_URL = "https://www.kaggle.com/datasets/datamunge/sign-language-mnist"
HOW_TO_GET = (f"get sign_mnist_train.csv and sign_mnist_test.csv from {KAGGLE_URL} "
              f"and pass --data DIR or set {ENV_VAR}=DIR")


def default_roots() -> list[Path]:
    """Candidate default data roots: ``../shared/data`` from the working directory and from
    the source checkout (so commands work from the repository root and from elsewhere)."""
    here = Path(__file__).resolve()
    candidates = [Path.cwd() / ".." / "shared" / "data"]
    # src/asl_edge/datapaths.py -> repo root is parents[2]; the default sits beside the repo
    if len(here.parents) > 3:
        candidates.append(here.parents[3] / "shared" / "data")
    return [c.resolve() for c in candidates]


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The data root in order of precedence; DataError in one line when none is found."""
    if explicit is not None:
        p = Path(explicit).expanduser()
        if not p.exists():
            raise DataError(f"data path {p} does not exist; {HOW_TO_GET}")
        return p
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.exists():
            raise DataError(f"{ENV_VAR}={env} does not exist; {HOW_TO_GET}")
        return p
    for c in default_roots():
        if c.is_dir():
            return c
    raise DataError(f"no data found (no --data, no ${ENV_VAR}, no ../shared/data); {HOW_TO_GET}")


_SPLIT_NAMES = {
    "train": ("sign_mnist_train",),
    # Kaggle calls the held-out split "test"; the course notebook calls it "valid"
    "test": ("sign_mnist_test", "sign_mnist_valid"),
}


def find_split(split: str, explicit: str | os.PathLike | None = None) -> Path:
    """Path of the train or test CSV (``.csv`` or ``.csv.gz``) under the data root.

    ``explicit`` may be a CSV file itself, a folder holding the CSVs, or a data root holding
    ``sign_mnist/``.
    """
    if split not in _SPLIT_NAMES:
        raise ValueError(f"split must be one of {sorted(_SPLIT_NAMES)}, not {split!r}")
    root = data_root(explicit)
    if root.is_file():
        return root
    for folder in (root, root / "sign_mnist"):
        for stem in _SPLIT_NAMES[split]:
            for ext in (".csv", ".csv.gz"):
                p = folder / f"{stem}{ext}"
                if p.is_file():
                    return p
    names = " or ".join(f"{s}.csv[.gz]" for s in _SPLIT_NAMES[split])
    raise DataError(f"no {names} in {root} or {root / 'sign_mnist'}; {HOW_TO_GET}")


def real_photos_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The real-photo folder under the data root, or None when there is none."""
    try:
        root = data_root(explicit)
    except DataError:
        return None
    for p in (root / "real_photos", root):
        if p.is_dir() and (p / "massey_dev").is_dir():
            return p / "massey_dev"
    return None
