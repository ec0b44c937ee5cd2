"""Labelled photos as training data (asl-train --photos) and one signer left out (--skip)."""

import json

import cv2
import numpy as np
import pytest

from asl_edge.errors import AslEdgeError
from asl_edge.labels import LETTERS
from asl_edge.runtime.preprocess import preprocess
from asl_edge.runtime.sources import ImageSource
from asl_edge.train.photos import jittered_crops, load_photos


@pytest.fixture(scope="module")
def signer_photos(tmp_path_factory):
    """Two 'signers' x 3 letters, 112x112 frames with a letter-specific bright bar."""
    root = tmp_path_factory.mktemp("signers")
    rng = np.random.default_rng(1)
    for letter in "ABK":
        (root / letter).mkdir()
        for signer in ("hand1", "hand2"):
            img = rng.integers(0, 40, (112, 112, 3)).astype(np.uint8)
            col = 8 + 12 * LETTERS.index(letter)
            img[20:90, col:col + 10] = 220
            cv2.imwrite(str(root / letter / f"{signer}_dif_1.png"), img)
    cv2.imwrite(str(root / "notes.png"), img)  # no letter: skipped with a warning
    return root


def test_first_crop_is_the_box_and_the_rest_are_jittered():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (200, 300)).astype(np.uint8)
    gray = cv2.GaussianBlur(gray, (9, 9), 3)  # smooth: a resampled crop stays comparable
    box = (50, 40, 162, 152)  # 112 px: the crop maps 1:1 to the 112x112 working size
    crops = jittered_crops(gray, box, 6, rng)
    assert crops.shape == (6, 28, 28) and crops.dtype == np.uint8
    runtime = np.rint(preprocess(gray, box)[0, :, :, 0] * 255).astype(np.int16)
    assert np.abs(crops[0].astype(np.int16) - runtime).max() <= 2  # what --roi auto would cut
    assert all(np.abs(crops[k].astype(int) - crops[0]).mean() > 0.5 for k in range(1, 6))


def test_crops_outside_the_frame_repeat_the_border():
    gray = np.full((60, 60), 200, np.uint8)
    crops = jittered_crops(gray, (-30, -30, 90, 90), 1, np.random.default_rng(0))
    assert crops.min() == 200  # no black frame pasted around the photo


def test_load_photos_labels_copies_and_skip(signer_photos):
    both = load_photos([signer_photos], copies=3, roi="center", progress=False)
    assert len(both.sources) == 6 and len(both) == 18
    assert sorted(set(LETTERS[i] for i in both.labels)) == ["A", "B", "K"]
    assert np.bincount(both.labels).max() == 6
    one = load_photos([signer_photos], copies=2, skip=("hand2_*",), roi="center", progress=False)
    assert len(one.sources) == 3 and all("hand1_" in s for s in one.sources)
    assert one.methods == {"fixed": 3}


def test_load_photos_errors_are_one_line(signer_photos, tmp_path):
    with pytest.raises(AslEdgeError, match="no such photo folder"):
        load_photos([tmp_path / "missing"], progress=False)
    with pytest.raises(AslEdgeError, match="skipping hand"):
        load_photos([signer_photos], skip=("hand*", "notes*"), progress=False)
    (tmp_path / "photo.png").write_bytes(cv2.imencode(".png", np.zeros((9, 9), np.uint8))[1])
    with pytest.raises(AslEdgeError, match="labelled by a letter"):
        load_photos([tmp_path], roi="center", progress=False)
    with pytest.raises(AslEdgeError, match="copies"):
        load_photos([signer_photos], copies=0, progress=False)


def test_image_source_skip_matches_name_or_path(signer_photos):
    assert len(ImageSource(signer_photos)) == 7
    assert len(ImageSource(signer_photos, skip=("hand1_*",))) == 4
    assert len(ImageSource(signer_photos, skip=(f"*{'/'}K{'/'}*",))) == 5


def test_real_dataset_draws_the_photo_share(signer_photos):
    pytest.importorskip("tensorflow")
    from asl_edge.train.trainer import _real_dataset

    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28, 1)).astype(np.float32)
    y = np.eye(24, dtype=np.float32)[np.arange(96) % 3 + 3]  # classes D, E, F only
    photos = load_photos([signer_photos], copies=2, roi="center", progress=False)
    ds = _real_dataset(x, y, 32, 0, "standardize", photos, 0.25)
    assert len(ds) == 4  # 96 + 32 photo draws
    labels = np.concatenate([ds[i][1].argmax(1) for i in range(len(ds))])
    assert len(labels) == 128 and np.isin(labels, [0, 1, 9]).sum() == 32  # A, B, K: photos
    first = ds.x.copy()
    ds.on_epoch_end()
    assert not np.array_equal(first, ds.x)  # drawn anew every epoch


@pytest.mark.slow
def test_photos_seen_in_training_are_flagged_from_train_to_eval(synthetic_data, signer_photos,
                                                                 tmp_path, capsys):
    """asl-train --photos records their digests -> asl-export puts them in the model card ->
    asl-eval --images marks a figure on them as not held out."""
    from asl_edge.evaluate import main as eval_main
    from asl_edge.export.cli import main as export_main
    from asl_edge.modelcard import photo_digest
    from asl_edge.runtime.backend import open_backend
    from asl_edge.train.cli import main as train_main

    out = tmp_path / "run"
    assert train_main(["--data", str(synthetic_data), "--epochs", "1", "--limit", "240",
                       "--recipe", "real", "--photos", str(signer_photos), "--photos-skip",
                       "hand2_*", "--photo-copies", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["photos"]["photos"] == 3 and metrics["photos"]["crops"] == 6
    assert metrics["photos"]["skipped_patterns"] == ["hand2_*"]
    hand1 = sorted(signer_photos.rglob("hand1_*.png"))
    sidecar = json.loads((out / "preprocess.json").read_text())
    assert sorted(sidecar["training_photos"]) == sorted(photo_digest(f) for f in hand1)
    assert export_main([str(out / "model.keras"), "--out", str(tmp_path / "export"),
                        "--data", str(synthetic_data)]) == 0
    model = tmp_path / "export" / "asl_fp32.onnx"
    assert set(open_backend(model, "ort-cpu").card.training_photos) == set(
        sidecar["training_photos"])
    capsys.readouterr()
    assert eval_main([str(model), "--images", str(signer_photos), "--out",
                      str(tmp_path / "eval")]) == 0
    table = capsys.readouterr().out
    assert "%*" in table and "not a held-out figure" in table
    report = json.loads((tmp_path / "eval" / "images_asl_fp32_center.json").read_text())
    assert report["seen_in_training"] == 3
    assert {r["source"] for r in report["per_image"] if r["seen_in_training"]} == \
        {str(f) for f in hand1}
    assert eval_main([str(model), "--images", str(signer_photos), "--skip", "hand1_*",
                      "--out", str(tmp_path / "eval2")]) == 0
    assert "held-out" not in capsys.readouterr().out


def test_demo_counts_photos_the_model_was_trained_on_apart(signer_photos):
    from asl_edge.modelcard import ModelCard, photo_digest
    from asl_edge.runtime.demo import material_of

    f = sorted(signer_photos.rglob("hand1_*.png"))[0]
    assert material_of(str(f)) == "real photos"
    assert material_of(str(f), frozenset({photo_digest(f)})) == \
        "real photos (in its training set)"
    assert material_of("sign_mnist_test.csv:5", frozenset({"x"})) == "test split"
    card = ModelCard(training_photos=("ab", "cd"))
    assert ModelCard.from_props(card.to_props()).training_photos == ("ab", "cd")
    assert ModelCard.from_props(ModelCard().to_props()).training_photos == ()


def test_asl_train_photos_need_the_real_recipe(signer_photos, capsys):
    import sys

    from asl_edge.train.cli import entry

    sys.argv = ["asl-train", "--photos", str(signer_photos)]
    assert entry() == 2
    err = capsys.readouterr().err.strip()
    assert "--recipe real" in err and "\n" not in err


def test_asl_eval_skip_scores_only_the_other_signer(exported, signer_photos, tmp_path, capsys):
    from asl_edge.evaluate import main

    out = tmp_path / "eval"
    assert main([str(exported / "asl_fp32.onnx"), "--images", str(signer_photos),
                 "--skip", "hand1_*", "--out", str(out)]) == 0
    summary = json.loads((out / "images_summary_center.json").read_text())
    assert summary["skipped"] == ["hand1_*"] and summary["rows"][0]["count"] == 3
    report = json.loads((out / "images_asl_fp32_center.json").read_text())
    assert all("hand2_" in r["source"] for r in report["per_image"])


def test_cross_signer_summary_pools_the_folds(tmp_path, capsys):
    """benchmarks/summarize_cross_signer.py: every photo scored by the fold that never saw
    its signer, pooled per model file."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "summarize_cross_signer.py"
    spec = importlib.util.spec_from_file_location("summarize_cross_signer", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    folds = {"hand1": [("A", "A"), ("B", "B"), ("K", "V")],  # 2 of 3
             "hand2": [("A", "A"), ("B", "A")]}  # 1 of 2
    for fold, pairs in folds.items():
        d = tmp_path / fold / "eval-photos"
        d.mkdir(parents=True)
        for stem in ("asl_fp32", "asl_int8"):
            (d / f"images_{stem}_auto.json").write_text(json.dumps({
                "accuracy": sum(t == p for t, p in pairs) / len(pairs), "count": len(pairs),
                "skipped": [f"{fold}_*"],
                "per_image": [{"truth": t, "predicted": p} for t, p in pairs]}))
        (d / "images_summary_auto.json").write_text("{}")
    assert mod.main(str(tmp_path)) == 0
    rows = json.loads((tmp_path / "cross_signer.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["asl_fp32", "asl_int8"]
    assert rows[0]["accuracy"] == pytest.approx(3 / 5) and rows[0]["count"] == 5
    assert rows[0]["per_letter_accuracy"]["B"] == 0.5
    assert "60.00 % of 5" in capsys.readouterr().out
    assert mod.main(str(tmp_path / "hand1" / "eval-photos")) == 1  # no folds there


def test_live_summary_says_when_photos_were_trained_on():
    from asl_edge.runtime.live import format_summary

    s = {"frames": 3, "backend": {"backend": "ort-cpu", "precision": "fp32", "device": "cpu"},
         "stage_ms": {}, "localisation": {"fixed": 3},
         "accuracy": {"real photos": {"accuracy": 0.5, "correct": 1, "count": 2},
                      "real photos (in its training set)": {"accuracy": 1.0, "correct": 1,
                                                            "count": 1}},
         "per_letter_accuracy": {"real photos": {"A": 0.5},
                                 "real photos (in its training set)": {"B": 1.0}}}
    lines = format_summary(s).splitlines()
    i = lines.index("accuracy on real photos (in its training set): 100.0 % (1/1)")
    assert "not a held-out figure" in lines[i + 1]
    assert sum("not a held-out" in x for x in lines) == 1
