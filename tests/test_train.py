import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from asl_edge.train.model import EXPECTED_PARAMS, EXPECTED_TRAINABLE, build_model  # noqa: E402


def test_seed_model_is_exact():
    m = build_model()
    assert m.count_params() == EXPECTED_PARAMS == 264_049
    trainable = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert trainable == EXPECTED_TRAINABLE == 263_749
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Conv2D", "BatchNormalization", "MaxPooling2D", "Conv2D", "Dropout",
                     "BatchNormalization", "MaxPooling2D", "Conv2D", "BatchNormalization",
                     "MaxPooling2D", "Flatten", "Dense", "Dropout", "Dense"]
    assert [m.layers[i].filters for i in (0, 3, 7)] == [75, 50, 25]
    assert m.output_shape == (None, 24)


def test_training_lowers_loss_and_keeps_best_epoch(trained):
    _, result = trained
    h = result.history
    assert h["loss"][-1] < h["loss"][0]
    assert 1 <= result.best_epoch <= 2
    assert len(h["test_accuracy_report_only"]) == 2  # reported, not used for selection


def test_saved_model_reloads_and_predicts_the_same(trained, synthetic_data):
    import keras

    from asl_edge.data import load_split

    out, result = trained
    test = load_split("test", synthetic_data)
    again = keras.models.load_model(out / "model.keras")
    np.testing.assert_allclose(again.predict(test.images, verbose=0),
                               result.model.predict(test.images, verbose=0), atol=1e-6)


def test_augmentation_changes_images_but_keeps_shape():
    from asl_edge.train.augment import course_augmentation

    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32)
    y = np.asarray(course_augmentation(seed=1)(x, training=True))
    assert y.shape == x.shape and not np.allclose(x, y)


def test_asl_train_cli_writes_everything(synthetic_data, tmp_path, capsys):
    from asl_edge.train.cli import main

    out = tmp_path / "run"
    assert main(["--data", str(synthetic_data), "--epochs", "1", "--limit", "480",
                 "--out", str(out), "--seed", "3"]) == 0
    for name in ("model.keras", "labels.json", "history.json", "metrics.json",
                 "metrics_confusion.png", "learning_curves.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["selected_on"] == "train-split" and metrics["count"] == 240
    assert len(metrics["confusion_matrix"]) == 24 and metrics["best_epoch"] == 1
    assert json.loads((out / "labels.json").read_text())[9] == "K"
    assert '"test_accuracy"' in capsys.readouterr().out
    assert not list(out.glob(".*part*"))  # nothing half-written left


def test_asl_train_bad_data_is_one_line(tmp_path, capsys):
    from asl_edge.train.cli import entry
    import sys

    sys.argv = ["asl-train", "--data", str(tmp_path / "nothing")]
    assert entry() == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not exist" in err and "\n" not in err
