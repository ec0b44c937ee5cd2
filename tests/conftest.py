"""Shared fixtures: small generated CSVs, and one tiny trained + exported model per session."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from asl_edge.data import HEADER
from asl_edge.labels import LETTERS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def alphabet_labels(n: int, rng) -> np.ndarray:
    """n dataset labels (alphabet indices), every one of the 24 letters present."""
    idx = np.arange(n) % len(LETTERS)
    rng.shuffle(idx)
    return np.array([ord(LETTERS[i]) - ord("A") for i in idx])


def write_csv(path: Path, labels, pixels, gz: bool = False, header: str = HEADER) -> Path:
    rows = [header] + [",".join([str(lab)] + [str(int(v)) for v in px])
                       for lab, px in zip(labels, pixels)]
    text = "\n".join(rows) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def small_csv(tmp_path):
    """A valid 48-row CSV; returns (path, labels, pixels)."""
    rng = np.random.default_rng(1)
    labels = alphabet_labels(48, rng)
    pixels = rng.integers(0, 256, size=(48, 784))
    return write_csv(tmp_path / "sign_mnist_train.csv", labels, pixels), labels, pixels


def real_data_available() -> bool:
    from asl_edge.datapaths import find_split
    from asl_edge.errors import DataError

    try:
        find_split("test")
        find_split("train")
        return True
    except DataError:
        return False


needs_data = pytest.mark.skipif(not real_data_available(),
                                reason="Sign Language MNIST not found (../shared/data or $ASL_DATA)")


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory):
    """A learnable synthetic dataset dir: each letter a distinct bright square position."""
    root = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(0)
    for name, n in (("sign_mnist_train.csv.gz", 960), ("sign_mnist_test.csv", 240)):
        labels = alphabet_labels(n, rng)
        imgs = rng.integers(0, 60, size=(n, 28, 28))
        for i, lab in enumerate(labels):
            cls = LETTERS.index(chr(ord("A") + lab))
            r, c = divmod(cls, 6)
            imgs[i, 2 + r * 6:2 + r * 6 + 5, 2 + c * 4:2 + c * 4 + 4] = 230
        write_csv(root / name, labels, imgs.reshape(n, 784), gz=name.endswith(".gz"))
    return root


@pytest.fixture(scope="session")
def trained(synthetic_data, tmp_path_factory):
    """The seed CNN trained 2 epochs on the synthetic data, saved; returns (dir, result)."""
    pytest.importorskip("tensorflow")
    from asl_edge.data import load_split
    from asl_edge.train.trainer import TrainConfig, save_model, train

    out = tmp_path_factory.mktemp("trained")
    result = train(load_split("train", synthetic_data),
                   TrainConfig(epochs=2, batch_size=32, augment=False, seed=0),
                   test_set=load_split("test", synthetic_data), verbose=0)
    save_model(result.model, out / "model.keras")
    return out, result


@pytest.fixture(scope="session")
def exported(trained, synthetic_data, tmp_path_factory):
    """FP32, FP16 and both INT8 ONNX variants of the trained model; returns the folder."""
    from asl_edge.export.cli import main

    out = tmp_path_factory.mktemp("exported")
    rc = main([str(trained[0] / "model.keras"), "--fp16", "--int8", "--out", str(out),
               "--data", str(synthetic_data), "--calibration-images", "96",
               "--int8-tolerance", "100", "--fp16-tolerance", "100"])
    assert rc == 0
    return out
