import subprocess
import sys

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl_edge.errors import AslEdgeError
from asl_edge.runtime.preprocess import MODEL_SIZE, Roi, preprocess, to_gray

from conftest import needs_data


@given(st.integers(28, 2000), st.integers(28, 2000), st.floats(0, 1), st.floats(0, 1),
       st.floats(0.05, 1))
def test_roi_box_is_square_inside_and_a_multiple_of_28(w, h, cx, cy, size):
    x0, y0, x1, y1 = Roi(cx, cy, size).box(w, h)
    side = x1 - x0
    assert side == y1 - y0 and 0 <= x0 and 0 <= y0 and x1 <= w and y1 <= h
    assert side >= 1 and (side % MODEL_SIZE == 0 or side < MODEL_SIZE)


@given(st.integers(1, 700), st.integers(1, 700), st.sampled_from([0, 1, 3, 4]))
@settings(max_examples=40, deadline=None)
def test_preprocess_any_frame_gives_model_input(h, w, channels):
    rng = np.random.default_rng(h * 1000 + w)
    shape = (h, w) if channels == 0 else (h, w, channels)
    x = preprocess(rng.integers(0, 256, shape, dtype=np.uint8))
    assert x.shape == (1, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_preprocess_rgb_and_bgr_agree_when_told():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    rgb = bgr[:, :, ::-1].copy()
    np.testing.assert_array_equal(preprocess(bgr, color_order="bgr"),
                                  preprocess(rgb, color_order="rgb"))
    assert to_gray(bgr).shape == (100, 100)


def test_preprocess_rejects_bad_frames():
    with pytest.raises(ValueError):
        preprocess(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError):
        preprocess(np.zeros((10, 10, 2), np.uint8))


def test_roi_parse():
    assert Roi.parse("center") == Roi()
    assert Roi.parse("0.3,0.4,0.5") == Roi(0.3, 0.4, 0.5)
    with pytest.raises(ValueError):
        Roi.parse("1,2")
    with pytest.raises(ValueError):
        Roi.parse("0.5,0.5,2")


def test_upscaled_image_round_trips_through_preprocessing():
    """A 28x28 image scaled up to a 480x480 frame comes back close to the original."""
    rng = np.random.default_rng(5)
    img = cv2.GaussianBlur(rng.integers(0, 256, (28, 28), dtype=np.uint8), (3, 3), 0)
    frame = cv2.resize(img, (476, 476), interpolation=cv2.INTER_NEAREST)  # 17x per pixel
    frame = cv2.copyMakeBorder(frame, 2, 2, 2, 2, cv2.BORDER_REPLICATE)  # 480x480
    x = preprocess(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), roi=None)
    assert np.abs(x[0, :, :, 0] * 255 - img).mean() < 4


@pytest.fixture(scope="module")
def clf(exported):
    from asl_edge.runtime.classifier import Classifier

    return Classifier(exported / "asl_fp32.onnx", backend="ort-cpu")


def test_classifier_matches_keras_on_test_images(clf, trained, synthetic_data):
    from asl_edge.data import load_split

    test = load_split("test", synthetic_data)
    keras_top = trained[1].model.predict(test.images, verbose=0).argmax(1)
    preds = clf.classify_batch(test.images)
    assert [clf.letters.index(p.best) for p in preds] == list(keras_top)
    p = preds[0]
    assert len(p.top_k) == 3 and p.top_k[0][1] >= p.top_k[1][1] and p.letter in clf.letters


def test_camera_frame_preprocessing_round_trips(clf, synthetic_data):
    from asl_edge.data import load_split
    from asl_edge.runtime.demo import to_camera_frame

    test = load_split("test", synthetic_data)
    for img in test.images[:48]:
        frame = to_camera_frame((img[:, :, 0] * 255).round().astype(np.uint8))
        assert frame.shape == (480, 640, 3)
        assert np.abs(clf.preprocess(frame)[0] - img).max() < 0.15


@needs_data
def test_test_images_scaled_to_480_frames_classify_the_same():
    """The issue's check, on the real test split and the shipped model."""
    from asl_edge.data import load_split
    from asl_edge.runtime.classifier import Classifier

    shipped = Classifier(backend="ort-cpu")
    test = load_split("test")
    idx = np.random.default_rng(0).choice(len(test), 600, replace=False)
    direct = shipped.classify_batch(test.images[idx])
    same, diffs = 0, []
    for i, d in zip(idx, direct):
        img = (test.images[i, :, :, 0] * 255).round().astype(np.uint8)
        frame = cv2.cvtColor(cv2.resize(img, (480, 480), interpolation=cv2.INTER_CUBIC),
                             cv2.COLOR_GRAY2BGR)
        x = preprocess(frame, (0, 0, 480, 480))  # the whole frame, before normalisation
        diffs.append(np.abs(x[0] - test.images[i]).mean())
        same += shipped.classify(frame, roi=(0, 0, 480, 480)).best == d.best
    assert np.mean(diffs) < 0.02
    assert same == len(idx)


def test_threshold_and_smoothing(exported):
    from asl_edge.runtime.classifier import Classifier, TemporalSmoother

    strict = Classifier(exported / "asl_fp32.onnx", backend="ort-cpu", threshold=1.01)
    assert strict.classify(np.zeros((64, 64), np.uint8)).letter is None
    s = TemporalSmoother(2)
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    s(a)
    np.testing.assert_allclose(s(b), [0.5, 0.5])
    np.testing.assert_allclose(s(b), [0.0, 1.0])


def test_backend_reports_what_runs_and_auto_falls_back(exported):
    from asl_edge.runtime.backend import BackendUnavailable, open_backend

    b = open_backend(exported / "asl_fp32.onnx", "auto")
    assert b.info.providers[0] == "CPUExecutionProvider" and b.info.backend == "ort-cpu"
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(BackendUnavailable, match="CUDAExecutionProvider"):
            open_backend(exported / "asl_fp32.onnx", "ort-cuda")
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        b.infer(np.zeros((2, 32, 32, 1), np.float32))


def test_model_file_errors(tmp_path, exported):
    from asl_edge.runtime.backend import open_backend

    with pytest.raises(AslEdgeError, match="does not exist"):
        open_backend(tmp_path / "none.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(AslEdgeError, match="not a loadable ONNX"):
        open_backend(junk, "ort-cpu")
    with pytest.raises(AslEdgeError, match="not a TensorRT engine"):
        open_backend(exported / "asl_fp32.onnx", "tensorrt")


def test_int8_on_cpu_picks_the_cpu_variant(exported, monkeypatch):
    from asl_edge.runtime import classifier, models

    monkeypatch.setattr(models, "MODELS_DIR", exported)
    assert classifier.resolve_model(None, "int8", "ort-cpu").name == "asl_int8_cpu.onnx"
    assert classifier.resolve_model(None, "int8", "ort-trt").name == "asl_int8.onnx"
    assert classifier.resolve_model(None, None, "auto").name == "asl_fp32.onnx"


def test_runtime_never_imports_tensorflow():
    code = ("import sys, numpy as np\n"
            "from asl_edge.runtime.classifier import Classifier\n"
            "from asl_edge.runtime import live, sources, sinks, demo, overlay\n"
            "import asl_edge.evaluate, asl_edge.metrics\n"
            "c = Classifier()\n"
            "c.classify(np.zeros((480, 640, 3), np.uint8))\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF!'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _live(args, tmp_path):
    return subprocess.run([sys.executable, "-m", "asl_edge.runtime.live", *args],
                          capture_output=True, text=True, cwd=tmp_path)


def test_live_on_images_writes_video_jsonl_and_summary(tmp_path, exported):
    import json

    folder = tmp_path / "imgs" / "B"
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((120, 160, 3), 40 * i, np.uint8))
    r = _live(["--images", str(tmp_path / "imgs"), "--model", str(exported / "asl_fp32.onnx"),
               "--output", "o.avi", "--jsonl", "o.jsonl", "--headless"], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and lines[0]["truth"] == "B"
    assert set(lines[0]["ms"]) >= {"capture", "preprocess", "infer", "draw"}
    cap = cv2.VideoCapture(str(tmp_path / "o.avi"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    summary = json.loads((tmp_path / "o.summary.json").read_text())
    assert summary["frames"] == 3 and "pipeline" in summary["stage_ms"]
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("args,msg", [
    (["--camera", "7"], "camera 7 could not be opened; try --video FILE"),
    (["--video", "missing.mp4"], "video file missing.mp4 does not exist"),
    (["--images", "nothing/*.jpg"], "no images match"),
    (["--camera", "0", "--video", "x.mp4"], "exactly one of"),
    (["--demo", "--model", "nope.onnx"], "does not exist"),
])
def test_live_errors_are_one_line_exit_2(tmp_path, args, msg):
    r = _live([*args, "--headless"], tmp_path)
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and msg in last


def test_live_unreadable_image_and_video(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    r = _live(["--images", str(tmp_path / "bad.jpg"), "--headless", "--output", "x.avi"],
              tmp_path)
    assert r.returncode == 2 and "not a readable image" in r.stderr
    assert not (tmp_path / "x.avi").exists() and not list(tmp_path.glob(".*part*"))
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    r = _live(["--video", str(tmp_path / "bad.mp4"), "--headless"], tmp_path)
    assert r.returncode == 2 and "bad.mp4" in r.stderr


@needs_data
def test_demo_runs_on_the_shipped_model(tmp_path):
    import json

    r = _live(["--demo"], tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "runs/live/demo.summary.json").read_text())
    assert summary["accuracy"]["test split"]["accuracy"] > 0.9
    assert (tmp_path / "runs/live/demo.avi").stat().st_size > 0
