"""Hand localisation (--roi auto): boxes in bounds, a hand-like blob found, clean fallbacks."""

import glob
import json
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asl_edge.errors import AslEdgeError
from asl_edge.runtime.localize import (HANDS_DIR, ChainLocalizer, FixedLocalizer,
                                       HandLandmarkLocalizer, SkinLocalizer, make_localizer,
                                       square_box, ssd_anchors, weighted_nms)
from asl_edge.runtime.preprocess import MODEL_SIZE, Roi

REAL = sorted(glob.glob("../shared/data/real_photos/massey_dev/*/*.jpg"))
needs_photos = pytest.mark.skipif(not REAL, reason="no real photos in ../shared/data")
SKIN_BGR = (120, 150, 210)  # a light skin tone (BGR)


def hand_blob(w=640, h=480, centre=(400, 260), size=150, background=(40, 90, 40)):
    """A frame with a skin-coloured palm and five fingers on a green background."""
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:] = background
    cx, cy = centre
    cv2.ellipse(frame, (cx, cy), (size // 3, size // 2 - 20), 0, 0, 360, SKIN_BGR, -1)
    for k in range(5):
        x = cx - size // 3 + k * size // 6
        cv2.line(frame, (x, cy - size // 4), (x + (k - 2) * 8, cy - size // 2 - 30), SKIN_BGR,
                 14)
    return frame


@given(st.floats(-500, 1500), st.floats(-500, 1500), st.floats(0, 2000), st.floats(0, 2000),
       st.integers(1, 1500), st.integers(1, 1500), st.floats(0, 1))
@settings(max_examples=300, deadline=None)
def test_square_box_is_square_inside_and_a_multiple_of_28(x0, y0, bw, bh, w, h, margin):
    bx0, by0, bx1, by1 = square_box(x0, y0, x0 + bw, y0 + bh, w, h, margin)
    side = bx1 - bx0
    assert side == by1 - by0 and side >= 1
    assert 0 <= bx0 and 0 <= by0 and bx1 <= w and by1 <= h
    assert side % MODEL_SIZE == 0 or side < MODEL_SIZE


def test_square_box_keeps_the_hand_centred_with_its_margin():
    assert square_box(100, 100, 200, 300, 640, 480, 0.2) == (24, 74, 276, 326)  # 240 -> 252
    assert square_box(-50, -50, 10, 10, 640, 480, 0.0) == (0, 0, 56, 56)  # moved inside


def test_skin_localizer_finds_a_hand_like_blob():
    frame = hand_blob()
    found = SkinLocalizer().locate(frame)
    assert found is not None and found.method == "skin"
    x0, y0, x1, y1 = found.box
    assert x0 <= 400 <= x1 and y0 <= 260 <= y1  # the blob's centre is inside
    assert 150 <= x1 - x0 <= 320  # about the blob's size plus margin, not the frame


def test_skin_localizer_returns_none_without_skin():
    assert SkinLocalizer().locate(np.full((480, 640, 3), (40, 90, 40), np.uint8)) is None
    assert SkinLocalizer().locate(np.full((480, 640), 128, np.uint8)) is None  # gray: no colour


def test_chain_falls_back_to_the_fixed_box():
    loc = make_localizer("skin")
    empty = np.full((480, 640, 3), (40, 90, 40), np.uint8)
    found = loc.locate(empty)
    assert found.method == "fixed" and found.box == Roi().box(640, 480)
    assert loc.locate(hand_blob()).method == "skin"
    assert loc.counts == {"fixed": 1, "skin": 1}


def test_fixed_and_bad_roi_specs():
    assert make_localizer("center").locate(np.zeros((480, 640, 3), np.uint8)).box == \
        Roi().box(640, 480)
    assert make_localizer("0.3,0.4,0.5").roi == Roi(0.3, 0.4, 0.5)
    with pytest.raises(AslEdgeError, match="auto"):
        make_localizer("middle")


def test_auto_without_hand_models_uses_skin_then_fixed(tmp_path, caplog):
    loc = make_localizer("auto", model_dir=tmp_path)  # an empty folder: no models
    assert [c.name for c in loc.chain] == ["skin"]
    assert "hand models unavailable" in caplog.text
    with pytest.raises(AslEdgeError, match="convert_hand_models.py"):
        make_localizer("hands", model_dir=tmp_path)


def test_ssd_anchors_match_the_palm_detector():
    a = ssd_anchors()
    assert a.shape == (2016, 2)  # 24*24*2 + 12*12*6
    np.testing.assert_allclose(a[0], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[1152], [0.5 / 12, 0.5 / 12])
    assert (a > 0).all() and (a < 1).all()


def test_weighted_nms_merges_overlaps_and_keeps_separate_boxes():
    boxes = np.array([[0.5, 0.5, 0.2, 0.2], [0.52, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]])
    out = weighted_nms(boxes, np.array([0.9, 0.6, 0.8]))
    assert len(out) == 2
    merged, score = out[0]
    assert score == pytest.approx(0.9)
    assert merged[0] == pytest.approx((0.5 * 0.9 + 0.52 * 0.6) / 1.5)
    assert out[1][0][0] == pytest.approx(0.1)


def test_shipped_hand_models_and_their_notice():
    for name in ("palm_detection_lite.onnx", "hand_landmark_lite.onnx", "LICENSE", "NOTICE",
                 "manifest.json"):
        assert (HANDS_DIR / name).is_file(), name
    assert "Apache" in (HANDS_DIR / "NOTICE").read_text()
    manifest = json.loads((HANDS_DIR / "manifest.json").read_text())
    assert all(m["license"] == "Apache-2.0" for m in manifest["models"])


def test_hand_models_find_no_hand_in_a_plain_frame():
    loc = HandLandmarkLocalizer()
    assert loc.locate(np.full((480, 640, 3), 90, np.uint8)) is None
    assert loc.palm_runs == 2  # as it is, then with a border


def test_region_from_palm_points_the_fingers_up():
    from asl_edge.runtime.localize import Palm

    kp = np.zeros((7, 2))
    kp[0], kp[2] = (100, 200), (200, 200)  # wrist left, middle finger to the right
    r = HandLandmarkLocalizer.region_from_palm(Palm(100, 200, 50, 50, kp, 0.9))
    assert r.rotation == pytest.approx(math.pi / 2)
    assert r.cx == pytest.approx(125) and r.cy == pytest.approx(200)  # shifted to the fingers
    assert r.side == pytest.approx(130)


@needs_photos
def test_hand_models_find_the_hand_in_real_photos():
    loc = HandLandmarkLocalizer()
    found = 0
    for path in REAL[::24]:  # 10 photos, several letters
        img = cv2.imread(path)
        h, w = img.shape[:2]
        scene = np.full((h * 2, w * 2, 3), 30, np.uint8)  # the photo inside a larger frame
        scene[h // 2:h // 2 + h, w // 3:w // 3 + w] = img
        res = loc.locate(scene)
        if res is None:
            continue
        found += 1
        x0, y0, x1, y1 = res.box
        assert res.method == "landmarks" and res.landmarks.shape == (21, 2)
        # the box sits on the photo, not elsewhere in the scene
        assert w // 3 - 0.2 * w <= (x0 + x1) / 2 <= w // 3 + 1.2 * w
        assert h // 2 - 0.2 * h <= (y0 + y1) / 2 <= h // 2 + 1.2 * h
    assert found >= 8


@needs_photos
def test_tracking_reuses_the_landmarks_on_video():
    img = cv2.imread(REAL[0])
    frame = cv2.copyMakeBorder(img, 100, 100, 150, 150, cv2.BORDER_CONSTANT)
    loc = HandLandmarkLocalizer(track=True)
    boxes = [loc.locate(frame) for _ in range(5)]
    assert all(b is not None for b in boxes)
    assert loc.palm_runs <= 2  # detected once, then tracked
    loc.reset()
    assert loc._region is None


def test_fixed_localizer_and_chain_interface():
    fixed = FixedLocalizer(Roi(0.5, 0.5, 0.5))
    chain = ChainLocalizer([], fixed)
    res = chain.locate(np.zeros((100, 200, 3), np.uint8))
    assert res.method == "fixed" and res.to_dict()["box"] == list(Roi(0.5, 0.5, 0.5).box(200, 100))
    chain.reset()  # nothing to forget: the same answer after it
    assert chain.locate(np.zeros((100, 200, 3), np.uint8)).box == res.box
    assert chain.counts == {"fixed": 2}


def test_hand_model_conversion_rewrites_are_lossless():
    """scripts/convert_hand_models.py's graph changes keep the function, on a small graph."""
    import importlib.util
    from pathlib import Path

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    spec = importlib.util.spec_from_file_location(
        "convert_hand_models", Path(__file__).parents[1] / "scripts" / "convert_hand_models.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, (8, 3, 3, 3)).astype(np.float16).astype(np.float32)  # exact in fp16
    slope = rng.normal(0, 1, (1, 8, 1, 1)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("PRelu", ["c", "slope"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(slope, "slope")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    before = model.SerializeToString()
    assert conv.rewrite_prelu(model) == 1
    assert conv.weights_to_fp16(model, min_size=8) == 1  # w; the slope is not exact in fp16
    conv.canonical_names(model)
    onnx.checker.check_model(model)
    assert "PRelu" not in {n.op_type for n in model.graph.node}
    x = rng.normal(0, 1, (1, 3, 8, 8)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(  # noqa
        None, {"x": x})[0]
    np.testing.assert_array_equal(run(model.SerializeToString()), run(before))


def test_shrink_matches_a_plain_area_resize():
    from asl_edge.runtime.localize import shrink

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3)).astype(np.uint8), (7, 7), 2)
    fast = shrink(img, 192, 144).astype(int)
    plain = cv2.resize(img, (192, 144), interpolation=cv2.INTER_AREA).astype(int)
    assert fast.shape == (144, 192, 3) and np.abs(fast - plain).mean() < 1.5
    assert shrink(img[:100, :100], 192, 192).shape == (192, 192, 3)  # enlarging: one step


def upright_hand(cx=300.0, cy=300.0, palm=100.0) -> np.ndarray:
    """21 MediaPipe-ordered joints (pixels) of an open hand, fingers up, palm length ``palm``."""
    pts = np.zeros((21, 2))
    pts[0] = (cx, cy)  # wrist
    bases = {1: -0.45, 5: -0.3, 9: 0.0, 13: 0.25, 17: 0.45}  # thumb, index..little
    for base, dx in bases.items():
        knuckle = (cx + dx * palm, cy - (0.6 if base == 1 else 1.0) * palm)
        for k in range(4):
            pts[base + k] = (knuckle[0] + (dx * 0.3 if base == 1 else 0) * k * palm,
                             knuckle[1] - 0.3 * k * palm)
    return pts


def test_hand_mask_covers_the_joints_the_bones_and_the_wrist_not_the_room():
    from asl_edge.runtime.localize import hand_mask

    pts = upright_hand()
    mask = hand_mask(pts, (600, 600))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert all(mask[int(round(y)), int(round(x))] == 255 for x, y in pts)
    assert mask[300 - 50, 300] == 255  # inside the palm
    assert mask[300 + 30, 300] == 255  # the wrist below joint 0
    assert mask[10, 10] == 0 and mask[300, 580] == 0 and mask[590, 300] == 0  # the room
    # a crop's mask is the same mask, moved
    sub = hand_mask(pts, (300, 300), origin=(150, 100))
    assert np.array_equal(sub, mask[100:400, 150:450])


def test_black_outside_hand_keeps_the_hand_and_blacks_the_rest():
    from asl_edge.runtime.localize import black_outside_hand

    rng = np.random.default_rng(0)
    frame = rng.integers(1, 255, (600, 600, 3)).astype(np.uint8)
    before = frame.copy()
    pts = upright_hand()
    whole = black_outside_hand(frame, pts)
    assert whole.shape == frame.shape and whole[10, 10].sum() == 0
    assert np.array_equal(whole[250, 300], frame[250, 300])
    box = (150, 50, 450, 350)
    crop = black_outside_hand(frame, pts, box)
    assert crop.shape == (300, 300, 3) and np.array_equal(crop, whole[50:350, 150:450])
    assert np.array_equal(frame, before)  # the caller's frame is untouched


def test_classifier_masks_only_the_localisers_own_landmark_box(exported):
    from asl_edge.runtime.classifier import Classifier
    from asl_edge.runtime.localize import Located, black_outside_hand
    from asl_edge.runtime.preprocess import preprocess

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (600, 600, 3)).astype(np.uint8)
    pts, box = upright_hand(), (150, 50, 450, 350)
    clf = Classifier(exported / "asl_fp32.onnx", backend="ort-cpu")
    clf.last_location = Located(box, "landmarks", 0.9, pts)
    masked = preprocess(black_outside_hand(frame, pts, box), None, normalize=clf.normalize)
    plain = preprocess(frame, box, normalize=clf.normalize)
    assert not np.array_equal(masked, plain)
    assert np.array_equal(clf.preprocess(frame, box), masked)
    assert np.array_equal(clf.preprocess(frame, (0, 0, 280, 280)),
                          preprocess(frame, (0, 0, 280, 280), normalize=clf.normalize))
    clf.last_location = Located(box, "skin", 0.9, None)  # no joints: nothing to mask by
    assert np.array_equal(clf.preprocess(frame, box), plain)
    clf.hand_mask, clf.last_location = False, Located(box, "landmarks", 0.9, pts)
    assert np.array_equal(clf.preprocess(frame, box), plain)
