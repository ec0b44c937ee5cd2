"""The real-world path end to end: training with the real recipe and a normalisation, its export
(model card), asl-eval --images and asl-live --roi auto."""

import json

import cv2
import numpy as np
import pytest

from asl_edge.labels import LETTERS

from test_localize import hand_blob


@pytest.fixture(scope="module")
def photo_folder(synthetic_data, tmp_path_factory):
    """Labelled 'photos': test-split images as colour frames, in letter folders and by name."""
    from asl_edge.data import load_split

    root = tmp_path_factory.mktemp("photos")
    test = load_split("test", synthetic_data)
    for i in range(48):
        letter = LETTERS[int(test.labels[i])]
        img = (test.images[i, :, :, 0] * 255).round().astype(np.uint8)
        frame = cv2.cvtColor(cv2.resize(img, (224, 224), interpolation=cv2.INTER_NEAREST),
                             cv2.COLOR_GRAY2BGR)
        if i % 2:
            (root / letter).mkdir(exist_ok=True)
            cv2.imwrite(str(root / letter / f"p{i}.png"), frame)
        else:
            cv2.imwrite(str(root / f"{letter}_p{i}.jpg"), frame)
    cv2.imwrite(str(root / "unlabelled.png"), frame)
    return root


def test_asl_eval_images_center_and_auto(exported, photo_folder, tmp_path, capsys):
    from asl_edge.evaluate import main

    for roi in ("center", "auto"):
        assert main([str(exported / "asl_fp32.onnx"), "--images", str(photo_folder),
                     "--roi", roi, "--out", str(tmp_path)]) == 0
        summary = json.loads((tmp_path / f"images_summary_{roi}.json").read_text())
        row = summary["rows"][0]
        assert row["count"] == 48 and set(row["per_letter_accuracy"]) == set(LETTERS)
        assert summary["localisation"]["skipped"] == 1  # the unlabelled image
        report = json.loads((tmp_path / f"images_asl_fp32_{roi}.json").read_text())
        assert len(report["per_image"]) == 48 and len(report["confusion_matrix"]) == 24
        assert {p["method"] for p in report["per_image"]} <= {"landmarks", "skin", "fixed"}
        assert (tmp_path / f"images_asl_fp32_{roi}_confusion.png").stat().st_size > 0
        assert summary["localisation"]["hand_mask"] is True
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("asl_fp32.onnx")]
    assert [r.split()[1] for r in rows] == ["center", "auto"]
    assert all(len(r.split()) == 3 + len(LETTERS) for r in rows)  # name, roi, acc, per letter
    assert main([str(exported / "asl_fp32.onnx"), "--images", str(photo_folder), "--roi", "auto",
                 "--no-hand-mask", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "images_summary_auto.json").read_text())
    assert summary["localisation"]["hand_mask"] is False


def test_asl_eval_images_center_equals_the_classifier(exported, photo_folder, tmp_path):
    """--roi center is exactly the runtime's Classifier on each file."""
    from asl_edge.evaluate import evaluate_images
    from asl_edge.runtime.classifier import Classifier
    from asl_edge.runtime.sources import ImageSource

    rows = evaluate_images([exported / "asl_fp32.onnx"], photo_folder, "center")
    clf = Classifier(exported / "asl_fp32.onnx", backend="ort-cpu")
    frames = [f for f in ImageSource(photo_folder) if f.truth]
    acc = np.mean([clf.classify(f.image).best == f.truth for f in frames])
    assert rows[0]["accuracy"] == pytest.approx(acc)


def test_asl_eval_images_errors(exported, tmp_path, capsys):
    from asl_edge.evaluate import entry
    import sys

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "unnamed.png").write_bytes(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1])
    base = ["asl-eval", str(exported / "asl_fp32.onnx"), "--images", str(photos), "--out",
            str(tmp_path / "out")]
    sys.argv = base
    assert entry() == 2  # no labelled image
    assert "labelled by a letter folder" in capsys.readouterr().err
    sys.argv = base + ["--roi", "middle"]
    assert entry() == 2
    assert "--roi also takes auto, hands, skin" in capsys.readouterr().err


def test_asl_live_roi_auto_times_localisation(exported, tmp_path, capsys):
    from asl_edge.runtime.live import main

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"A_{i}.png"), hand_blob(centre=(300 + 40 * i, 250)))
    cv2.imwrite(str(frames / "B_empty.png"), np.full((480, 640, 3), (40, 90, 40), np.uint8))
    assert main(["--images", str(frames), "--model", str(exported / "asl_fp32.onnx"),
                 "--roi", "auto", "--headless", "--jsonl", str(tmp_path / "o.jsonl"),
                 "--output", str(tmp_path / "o.avi")]) == 0
    summary = json.loads((tmp_path / "o.summary.json").read_text())
    assert summary["stage_ms"]["localise"]["p50"] > 0
    assert sum(summary["localisation"].values()) == 4 and summary["localisation"]["fixed"] == 1
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [x["located_by"] for x in lines][-1] == "fixed"
    assert all(len(x["box"]) == 4 for x in lines)
    out = capsys.readouterr().out
    assert "localise" in out and "localisation:" in out
    # two threads for the hand models: same boxes
    assert main(["--images", str(frames), "--model", str(exported / "asl_fp32.onnx"),
                 "--roi", "auto", "--hand-threads", "2", "--headless", "--jsonl",
                 str(tmp_path / "o2.jsonl")]) == 0
    lines2 = [json.loads(x) for x in (tmp_path / "o2.jsonl").read_text().splitlines()]
    assert [x["box"] for x in lines2] == [x["box"] for x in lines]
    with pytest.raises(Exception, match="--hand-threads must be at least 1"):
        main(["--images", str(frames), "--roi", "auto", "--hand-threads", "0", "--headless"])


@pytest.mark.slow
def test_train_real_recipe_with_normalisation_exports_it(synthetic_data, tmp_path):
    """asl-train --recipe real --normalize standardize -> preprocess.json -> asl-export writes
    asl_edge.normalize -> the runtime classifies as Keras does on normalised inputs."""
    from asl_edge.data import load_split
    from asl_edge.export.cli import main as export_main
    from asl_edge.export.onnx_export import load_keras
    from asl_edge.normalize import normalize_images
    from asl_edge.runtime.classifier import Classifier
    from asl_edge.train.cli import main as train_main

    run = tmp_path / "run"
    assert train_main(["--data", str(synthetic_data), "--epochs", "1", "--limit", "480",
                       "--recipe", "real", "--normalize", "standardize", "--out", str(run)]) == 0
    assert json.loads((run / "preprocess.json").read_text()) == {"normalize": "standardize",
                                                                 "training_photos": []}
    out = tmp_path / "export"
    assert export_main([str(run / "model.keras"), "--out", str(out), "--data",
                        str(synthetic_data)]) == 0
    clf = Classifier(out / "asl_fp32.onnx", backend="ort-cpu")
    assert clf.card.normalize == "standardize"
    test = load_split("test", synthetic_data)
    keras_top = load_keras(run / "model.keras").predict(
        normalize_images(test.images, "standardize"), verbose=0).argmax(1)
    assert [clf.letters.index(p.best) for p in clf.classify_batch(test.images)] == \
        list(keras_top)
    report = json.loads((out / "export_report.json").read_text())
    assert report["normalize"] == "standardize"
