import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl_edge.data import HEADER, load_csv, load_split, stratified_split
from asl_edge.datapaths import find_split
from asl_edge.errors import DataError
from asl_edge.labels import LETTERS, NUM_CLASSES, class_to_label, label_to_class, letter_to_class

from conftest import needs_data, write_csv


def test_letters_are_the_24_static_ones():
    assert NUM_CLASSES == 24 and "J" not in LETTERS and "Z" not in LETTERS
    assert LETTERS[0] == "A" and LETTERS[9] == "K" and LETTERS[-1] == "Y"


@given(st.integers(0, 24).filter(lambda x: x != 9))
def test_label_class_roundtrip(label):
    cls = label_to_class(np.array([label]))[0]
    assert 0 <= cls < 24
    assert class_to_label(np.array([cls]))[0] == label
    assert LETTERS[cls] == chr(ord("A") + label)


@given(st.integers(-1000, 1000).filter(lambda x: x not in set(range(25)) - {9}))
def test_invalid_labels_have_no_class(label):
    assert label_to_class(np.array([label]))[0] == -1


def test_letter_to_class():
    assert letter_to_class("a") == 0 and letter_to_class("Y") == 23
    with pytest.raises(ValueError):
        letter_to_class("J")


def test_load_valid_csv(small_csv):
    path, labels, pixels = small_csv
    ds = load_csv(path)
    assert ds.images.shape == (48, 28, 28, 1) and ds.images.dtype == np.float32
    np.testing.assert_allclose(ds.images.reshape(48, 784), pixels / 255.0, atol=1e-7)
    assert list(ds.labels) == list(label_to_class(labels))
    assert ds.one_hot().shape == (48, 24)


def test_gz_and_plain_load_the_same(small_csv, tmp_path):
    path, _, _ = small_csv
    gz = tmp_path / "copy.csv.gz"
    with gzip.open(gz, "wb") as f:
        f.write(path.read_bytes())
    a, b = load_csv(path), load_csv(gz)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)


def _rows(n=3, label=0):
    return [label] * n, np.full((n, 784), 7)


@pytest.mark.parametrize("mutate,expect", [
    (lambda ls, px: (ls, px, "label,pixel1,pixel2"), r":1: header"),
    (lambda ls, px: ([0, 9, 0], px, HEADER), r":3: label 9 is the motion letter J"),
    (lambda ls, px: ([0, 0, 25], px, HEADER), r":4: label 25 is the motion letter Z"),
    (lambda ls, px: ([0, 77, 0], px, HEADER), r":3: label 77 is not a letter index"),
    (lambda ls, px: (ls, np.where(np.arange(784) == 5, 256, px), HEADER),
     r":2: pixel6 is 256, outside 0..255"),
    (lambda ls, px: (ls, np.where(np.arange(784) == 0, -1, px), HEADER),
     r":2: pixel1 is -1, outside"),
])
def test_bad_rows_name_file_and_line(tmp_path, mutate, expect):
    labels, pixels = _rows()
    labels, pixels, header = mutate(labels, pixels)
    path = write_csv(tmp_path / "bad.csv", labels, pixels, header=header)
    with pytest.raises(DataError, match=expect) as e:
        load_csv(path)
    assert "bad.csv" in str(e.value) and "\n" not in str(e.value)


def test_wrong_column_count(tmp_path):
    path = write_csv(tmp_path / "short.csv", [0, 1], np.full((2, 784), 3))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]  # drop the last pixel on line 3
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"short.csv:3: expected 785 columns .* found 784"):
        load_csv(path)


def test_non_integer_pixel(tmp_path):
    path = write_csv(tmp_path / "f.csv", [0, 1], np.full((2, 784), 3))
    text = path.read_text().splitlines()
    text[2] = text[2].replace(",3,", ",3.5,", 1)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"f.csv:3: pixel\d+ is '3.5', not an integer"):
        load_csv(path)


@pytest.mark.parametrize("content,expect", [(b"", "empty file"), (HEADER.encode() + b"\n",
                                                                   "no image rows")])
def test_empty_files(tmp_path, content, expect):
    p = tmp_path / "e.csv"
    p.write_bytes(content)
    with pytest.raises(DataError, match=expect):
        load_csv(p)


def test_missing_file_and_corrupt_gzip(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    bad = tmp_path / "x.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read"):
        load_csv(bad)


def test_find_split_names_and_precedence(tmp_path, monkeypatch, small_csv):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "sign_mnist_valid.csv").write_text("x")  # the course's name for test
    assert find_split("test", tmp_path / "d").name == "sign_mnist_valid.csv"
    monkeypatch.setenv("ASL_DATA", str(tmp_path / "d"))
    assert find_split("test").name == "sign_mnist_valid.csv"
    monkeypatch.setenv("ASL_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="ASL_DATA=.*does not exist.*kaggle"):
        find_split("test")
    with pytest.raises(DataError, match="sign_mnist_train"):
        find_split("train", tmp_path / "d")


@given(st.lists(st.integers(0, 23), min_size=24, max_size=300), st.floats(0.05, 0.5))
@settings(max_examples=30, deadline=None)
def test_stratified_split_is_a_partition(labels, fraction):
    labels = np.array(labels)
    keep, held = stratified_split(labels, fraction, seed=3)
    assert len(np.intersect1d(keep, held)) == 0
    assert len(keep) + len(held) == len(labels)
    for c in np.unique(labels):  # every class with 2+ images is represented in both
        if np.sum(labels == c) >= 2:
            assert np.any(labels[held] == c) and np.any(labels[keep] == c)


@needs_data
def test_real_training_file_loads_fast_and_whole():
    import time

    t = time.perf_counter()
    ds = load_split("train")
    elapsed = time.perf_counter() - t
    assert ds.images.shape == (27455, 28, 28, 1)
    assert set(np.unique(ds.labels)) == set(range(24))
    assert elapsed < 15  # generous on a loaded CI machine; the benchmark reports the figure
