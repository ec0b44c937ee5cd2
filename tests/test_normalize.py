"""Input normalisation: one function for training and runtime, carried by the model card."""

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl_edge.errors import AslEdgeError
from asl_edge.modelcard import ModelCard
from asl_edge.normalize import (MODES, UnknownNormalization, check_mode, keras_mode, normalize,
                                normalize_images)
from asl_edge.runtime.preprocess import preprocess

images_28 = st.integers(0, 2 ** 32 - 1).map(
    lambda seed: np.random.default_rng(seed).integers(
        *sorted(np.random.default_rng(seed + 1).integers(0, 256, 2)) + np.array([0, 1]),
        (28, 28)).astype(np.uint8))


@given(images_28)
@settings(max_examples=200, deadline=None)
def test_equalize_is_opencvs_equalizehist(img):
    np.testing.assert_array_equal(np.rint(normalize(img, "equalize") * 255).astype(np.uint8),
                                  cv2.equalizeHist(img))


@given(images_28)
@settings(max_examples=100, deadline=None)
def test_standardize_centres_and_scales(img):
    x = normalize(img, "standardize").astype(np.float64)
    assert abs(x.mean()) < 1e-5
    std = img.astype(np.float64).std()
    assert x.std() == pytest.approx(1.0 if std >= 2 else std / 2, abs=1e-5)


def test_none_is_the_old_scaling_and_flat_images_stay_finite():
    img = np.arange(784, dtype=np.int64).reshape(28, 28).astype(np.uint8)
    np.testing.assert_array_equal(normalize(img, "none"), img.astype(np.float32) *
                                  np.float32(1 / 255))
    for mode in MODES:
        assert np.isfinite(normalize(np.full((28, 28), 7, np.uint8), mode)).all()


@pytest.mark.parametrize("mode", MODES)
def test_training_side_and_runtime_give_identical_inputs(mode):
    """What the trainer feeds the model (normalize_images on dataset images, normalize on
    augmented uint8) is bit for bit what the runtime's preprocess makes of the same pixels."""
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (16, 28, 28)).astype(np.uint8)
    u8[3] = 50  # a flat one
    dataset_images = (u8.astype(np.float32) / 255.0)[..., None]  # how data.py loads them
    train_side = normalize_images(dataset_images, mode)
    augmented_side = normalize(u8, mode).reshape(-1, 28, 28, 1)
    runtime = np.concatenate([preprocess(img, None, normalize=mode) for img in u8])
    np.testing.assert_array_equal(train_side, runtime)
    np.testing.assert_array_equal(augmented_side, runtime)
    # a camera-sized BGR frame: crop, gray, resize, then the same function
    frame = cv2.resize(cv2.cvtColor(u8[0], cv2.COLOR_GRAY2BGR), (280, 280),
                       interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(preprocess(frame, None, normalize=mode),
                                  runtime[:1])


def test_unknown_modes_are_refused():
    assert check_mode("standardize") == "standardize"
    with pytest.raises(UnknownNormalization, match="'clahe' is not implemented"):
        normalize(np.zeros((28, 28), np.uint8), "clahe")
    with pytest.raises(TypeError):
        normalize(np.zeros((28, 28), np.float32), "none")


def test_model_card_round_trips_normalize_and_defaults_to_none():
    card = ModelCard(normalize="standardize", precision="int8")
    props = card.to_props()
    assert props["asl_edge.normalize"] == "standardize"
    assert ModelCard.from_props(props) == card
    old = {k: v for k, v in props.items() if k != "asl_edge.normalize"}  # an older export
    assert ModelCard.from_props(old).normalize == "none"


def test_keras_sidecar(tmp_path):
    model = tmp_path / "model.keras"
    assert keras_mode(model) == "none"  # no preprocess.json: trained before it existed
    (tmp_path / "preprocess.json").write_text(json.dumps({"normalize": "equalize"}))
    assert keras_mode(model) == "equalize"
    (tmp_path / "preprocess.json").write_text(json.dumps({"normalize": "bogus"}))
    with pytest.raises(UnknownNormalization):
        keras_mode(model)


def test_runtime_refuses_a_model_with_an_unknown_normalisation(exported, tmp_path):
    import onnx

    from asl_edge.export.onnx_export import read_card, set_card
    from asl_edge.runtime.classifier import Classifier

    model = onnx.load(str(exported / "asl_fp32.onnx"))
    from dataclasses import replace

    set_card(model, replace(read_card(model), normalize="clahe-v9"))
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(AslEdgeError, match="bad.onnx: input normalisation 'clahe-v9' is not"):
        Classifier(bad, backend="ort-cpu")


def test_real_recipe_augments_reproducibly():
    from asl_edge.train.augment import RealAugment, background_mask, plausible

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    imgs = np.empty((8, 28, 28), np.uint8)
    for i in range(8):  # a bright "hand" rising from the bottom on a smooth wall
        wall = 90 + 2 * xx + rng.integers(0, 3, (28, 28))
        hand = (np.abs(xx - 14 + i - 4) < 6) & (yy > 6)
        imgs[i] = np.where(hand, 210, wall).astype(np.uint8)
    bg = background_mask(imgs[0])
    assert plausible(bg) and bg[0, 0] and not bg[20, 14]
    aug = RealAugment(imgs)
    assert aug.usable.all()
    a = aug(np.arange(8), np.random.default_rng(1))
    b = aug(np.arange(8), np.random.default_rng(1))
    assert a.dtype == np.uint8 and a.shape == (8, 28, 28)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, imgs)
