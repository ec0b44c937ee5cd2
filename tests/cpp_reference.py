"""Reference data for the C++ runtime's ctest suite, computed by the Python runtime.

Run by ctest (fixture ``cpp_reference``) before the GoogleTest tests; not a pytest module.
Writes into ``--out`` (the CMake build folder, never the repository):

- ``model.onnx``: the shipped FP32 model when it exists, else ``generated_fp32.onnx``, a small
  Conv + MatMul + Softmax with the real model's I/O (``image`` (N, 28, 28, 1) -> ``probs``
  (N, 24)) and ``asl_edge.*`` metadata (random conv weights; readout from class-mean features so
  its answers vary); ``model.txt`` says which.
- error-path inputs: ``model_nometa.onnx`` (valid ONNX without metadata), ``not_onnx.onnx``,
  ``bad_image.png``.
- ``roi_boxes.txt``: ``Roi.box`` for many frame sizes and ROIs (rounding ties included).
- ``preprocess_cases.txt`` + ``frame_*.raw`` + ``preprocess_out.f32``: deterministic frames of
  several sizes, colour layouts and dtypes, each through ``preprocess`` with several ROIs.
- ``test_pixels.u8``, ``test_labels.i32``, ``test_probs.f32``: the whole test split as uint8
  28x28 frames and the Python runtime's probabilities for them (batches of ``--batch``);
  skipped, with ``test_split.txt`` saying why, when the data cannot be found.
- ``frames/*.png`` + ``frames.txt`` + ``frames_probs.f32``: test-split images scaled up into
  640x480 camera-like frames, classified by the Python runtime with the default ROI.
- ``normalize_cases.txt`` + ``norm_*.raw`` + ``normalize_out.f32``: frames through
  ``preprocess`` with each input normalisation (``asl_edge.normalize``), bit for bit.
- ``model_badnorm.onnx``: a valid model whose card asks for a normalisation nobody implements.
- ``model_trained_on_frames.onnx``: ``model.onnx`` whose card lists the first 10 frames as
  training photos (asl-train --photos), so asl-live-cpp counts them apart.

Test-split and frame probabilities use the model card's normalisation, as the runtimes do.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from asl_edge.errors import AslEdgeError
from asl_edge.modelcard import ModelCard
from asl_edge.runtime.backend import open_backend
from asl_edge.runtime.preprocess import Roi, preprocess

BATCH = 256
N_FRAMES = 24


def make_model(path: Path, with_metadata: bool = True, seed: int = 0,
               images: np.ndarray | None = None, labels: np.ndarray | None = None,
               normalize: str = "none") -> None:
    """A small real ONNX model with the shipped model's I/O and metadata, opset 17.

    Random conv features; the readout is centred on ``images``' mean feature and, when labels are
    given, points at each class's mean feature, so its predictions spread over the letters (a
    fixture for parity tests, not a real classifier).
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = rng.normal(0.0, np.sqrt(2.0 / 9.0), (8, 1, 3, 3)).astype(np.float32)
    b1 = rng.normal(0.0, 0.05, (8,)).astype(np.float32)
    n_feat = 8 * 14 * 14
    feature_nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w1", "b1"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
    ]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 28, 28, 1])

    def build(nodes, outputs, inits):
        graph = helper.make_graph(nodes, "asl_test_cnn", [image], outputs,
                                  [numpy_helper.from_array(a, n) for n, a in inits.items()])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tests/cpp_reference.py")
        m.ir_version = 8
        return m

    if images is None:
        images = rng.uniform(0, 1, (256, 28, 28, 1)).astype(np.float32)
    feat_model = build(feature_nodes,
                       [helper.make_tensor_value_info("flat", TensorProto.FLOAT, ["N", n_feat])],
                       {"w1": w1, "b1": b1})
    sess = ort.InferenceSession(feat_model.SerializeToString(), providers=["CPUExecutionProvider"])
    feats = sess.run(None, {"image": images.astype(np.float32)})[0].astype(np.float64)
    mu = feats.mean(0)
    if labels is not None:
        w2 = np.stack([feats[labels == c].mean(0) - mu if np.any(labels == c)
                       else rng.normal(0, 1e-3, n_feat) for c in range(24)], axis=1)
    else:
        w2 = rng.normal(0.0, 1.0, (n_feat, 24))
    w2 /= np.linalg.norm(w2, axis=0, keepdims=True) + 1e-12
    logits = (feats - mu) @ w2
    w2 *= 3.0 / (logits.std() + 1e-12)  # logits of a few units: confident but not saturated
    b2 = -(mu @ w2)
    nodes = feature_nodes + [
        helper.make_node("MatMul", ["flat", "w2"], ["mm"]),
        helper.make_node("Add", ["mm", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    model = build(nodes, [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 24])],
                  {"w1": w1, "b1": b1, "w2": w2.astype(np.float32), "b2": b2.astype(np.float32)})
    if with_metadata:
        card = ModelCard(precision="fp32", producer="tests/cpp_reference.py",
                         normalize=normalize)
        helper.set_model_props(model, card.to_props())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_roi_boxes(out: Path) -> None:
    rng = np.random.default_rng(1)
    rows = []
    # exact halves exercise Python's round-half-to-even
    special = [(45, 45, 0.5, 0.5, 0.5), (45, 45, 0.5, 0.5, 0.3), (640, 480, 0.5, 0.5, 0.8),
               (480, 640, 0.5, 0.5, 0.8), (1, 1, 0.5, 0.5, 0.8), (3, 101, 0.0, 1.0, 1.0),
               (101, 3, 1.0, 0.0, 0.05), (25, 25, 0.5, 0.5, 0.5), (27, 27, 0.5, 0.5, 0.5),
               (100, 50, 1.0, 1.0, 1.0), (2, 2, 0.25, 0.75, 0.25), (7, 9, 0.5, 0.5, 0.5)]
    for w, h, cx, cy, size in special:
        rows.append((w, h, cx, cy, size))
    for _ in range(3000):
        w, h = (int(v) for v in rng.integers(1, 2000, 2))
        if rng.random() < 0.3:
            w, h = (int(v) for v in rng.integers(1, 60, 2))
        cx, cy = (float(v) for v in rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 2)) \
            if rng.random() < 0.3 else (float(rng.random()), float(rng.random()))
        size = float(rng.choice([0.05, 0.1, 0.5, 0.8, 1.0])) if rng.random() < 0.3 \
            else float(rng.uniform(0.01, 1.0))
        rows.append((w, h, cx, cy, size))
    with open(out / "roi_boxes.txt", "w") as f:
        for w, h, cx, cy, size in rows:
            box = Roi(cx, cy, size).box(w, h)
            f.write(f"{w} {h} {cx!r} {cy!r} {size!r} {' '.join(map(str, box))}\n")


def synth_frame(h: int, w: int, c: int, rng: np.random.Generator) -> np.ndarray:
    """A deterministic frame with gradients, shapes and noise (so resizing has work to do)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = []
    for k in range(max(c, 1)):
        g = 127 + 100 * np.sin(xx / (7 + 5 * k)) * np.cos(yy / (11 + 3 * k))
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, max(4, min(h, w) / 3))
        g = np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r * r, 255 - g / 2, g)
        g = g + rng.normal(0, 20, (h, w))
        chans.append(g)
    img = np.clip(np.stack(chans, axis=-1), 0, 255).astype(np.uint8)
    return img[:, :, 0] if c == 0 else img


def write_preprocess_cases(out: Path, test_image: np.ndarray | None) -> None:
    rng = np.random.default_rng(2)
    frames: list[tuple[str, np.ndarray, str]] = [
        ("bgr_480x640", synth_frame(480, 640, 3, rng), "bgr"),
        ("rgb_640x480", synth_frame(640, 480, 3, rng), "rgb"),
        ("bgra_720x1280", synth_frame(720, 1280, 4, rng), "bgr"),
        ("rgba_240x320", synth_frame(240, 320, 4, rng), "rgb"),
        ("gray_100x37", synth_frame(100, 37, 0, rng), "bgr"),
        ("gray1_57x91", synth_frame(57, 91, 1, rng), "bgr"),
        ("gray_28x28", synth_frame(28, 28, 0, rng), "bgr"),
        ("bgr_20x20", synth_frame(20, 20, 3, rng), "bgr"),
        ("bgr_30x500", synth_frame(30, 500, 3, rng), "bgr"),
        ("bgr_31x29", synth_frame(31, 29, 3, rng), "bgr"),
        ("f32_unit_64x48x3", synth_frame(64, 48, 3, rng).astype(np.float32) / 255.0, "bgr"),
        ("f32_wide_50x50", rng.uniform(-20, 300, (50, 50)).astype(np.float32), "bgr"),
        ("u16_40x60", rng.integers(0, 1000, (40, 60)).astype(np.uint16), "bgr"),
    ]
    if test_image is not None:
        big = cv2.resize(test_image, (480, 480), interpolation=cv2.INTER_CUBIC)
        frames.append(("test_480x480_bgr", cv2.cvtColor(big, cv2.COLOR_GRAY2BGR), "bgr"))
    dtypes = {np.dtype(np.uint8): "u8", np.dtype(np.float32): "f32", np.dtype(np.uint16): "u16"}
    outputs = []
    with open(out / "preprocess_cases.txt", "w") as f:
        for k, (name, frame, order) in enumerate(frames):
            h, w = frame.shape[:2]
            c = 1 if frame.ndim == 2 else frame.shape[2]
            raw = f"frame_{k:02d}.raw"
            np.ascontiguousarray(frame).tofile(out / raw)
            rois: list = [Roi(), Roi(0.3, 0.7, 0.5), Roi(1.0, 0.0, 0.33), Roi(0.5, 0.5, 1.0),
                          (w // 5, h // 7, w // 5 + max(1, w // 2), h // 7 + max(1, h // 3)),
                          None]
            for roi in rois:
                res = preprocess(frame, roi, order)
                outputs.append(res.reshape(-1))
                if isinstance(roi, Roi):
                    kind, vals = "roi", (roi.cx, roi.cy, roi.size, 0)
                elif roi is None:
                    kind, vals = "full", (0, 0, 0, 0)
                else:
                    kind, vals = "box", roi
                f.write(f"{name} {raw} {h} {w} {c} {dtypes[frame.dtype]} {order} {kind} "
                        f"{' '.join(repr(float(v)) for v in vals)}\n")
    np.concatenate(outputs).astype(np.float32).tofile(out / "preprocess_out.f32")


def write_normalize_cases(out: Path, test_image: np.ndarray | None) -> None:
    """Frames through preprocess with every normalisation: 28x28 gray crops that stress the
    arithmetic (flat, two levels, low contrast, noise) and camera-sized frames with a ROI."""
    from asl_edge.normalize import MODES

    rng = np.random.default_rng(4)
    frames: list[tuple[str, np.ndarray, Roi | None]] = [
        ("flat_28", np.full((28, 28), 77, np.uint8), None),
        ("black_28", np.zeros((28, 28), np.uint8), None),
        ("two_levels_28", np.where(rng.random((28, 28)) < 0.3, 200, 13).astype(np.uint8), None),
        ("low_contrast_28", rng.integers(120, 124, (28, 28)).astype(np.uint8), None),
        ("noise_28", rng.integers(0, 256, (28, 28)).astype(np.uint8), None),
        ("smooth_28", synth_frame(28, 28, 0, rng), None),
        ("bgr_480x640", synth_frame(480, 640, 3, rng), Roi()),
        ("bgr_720x1280", synth_frame(720, 1280, 3, rng), Roi(0.3, 0.6, 0.4)),
        ("gray_100x37", synth_frame(100, 37, 0, rng), Roi(0.5, 0.5, 1.0)),
    ]
    if test_image is not None:
        frames.append(("test_28", test_image, None))
    outputs = []
    with open(out / "normalize_cases.txt", "w") as f:
        for k, (name, frame, roi) in enumerate(frames):
            h, w = frame.shape[:2]
            c = 1 if frame.ndim == 2 else frame.shape[2]
            raw = f"norm_{k:02d}.raw"
            np.ascontiguousarray(frame).tofile(out / raw)
            for mode in MODES:
                outputs.append(preprocess(frame, roi, "bgr", normalize=mode).reshape(-1))
                kind, vals = ("roi", (roi.cx, roi.cy, roi.size)) if roi else ("full", (0, 0, 0))
                f.write(f"{name} {raw} {h} {w} {c} {mode} {kind} "
                        f"{' '.join(repr(float(v)) for v in vals)}\n")
    np.concatenate(outputs).astype(np.float32).tofile(out / "normalize_out.f32")


def infer_batched(backend, batch: np.ndarray) -> np.ndarray:
    return np.concatenate([backend.infer(batch[i:i + BATCH]) for i in range(0, len(batch),
                                                                            BATCH)])


def load_test_split(out: Path, data: str | None):
    from asl_edge.data import load_split

    try:
        return load_split("test", data)
    except AslEdgeError as e:
        (out / "test_split.txt").write_text(f"missing: {e}\n")
        for name in ("test_pixels.u8", "test_labels.i32", "test_probs.f32"):
            (out / name).unlink(missing_ok=True)
        print(f"cpp_reference: no test split ({e}); classification tests will skip",
              file=sys.stderr)
        return None


def write_test_split(out: Path, backend, ds) -> np.ndarray | None:
    if ds is None:
        return None
    pixels = np.rint(ds.images[..., 0] * 255.0).astype(np.uint8)  # exact: images are px/255
    # the runtime's own path: each 28x28 gray frame through preprocess (no ROI)
    norm = backend.card.normalize
    batch = np.concatenate([preprocess(p, None, "bgr", normalize=norm) for p in pixels])
    if norm == "none":
        assert np.max(np.abs(batch - ds.images)) < 1e-6
    probs = infer_batched(backend, batch)
    pixels.tofile(out / "test_pixels.u8")
    ds.labels.astype(np.int32).tofile(out / "test_labels.i32")
    probs.astype(np.float32).tofile(out / "test_probs.f32")
    top1 = probs.argmax(1)
    srt = np.sort(probs, axis=1)
    margin = float(np.min(srt[:, -1] - srt[:, -2]))
    (out / "test_split.txt").write_text(
        f"path {ds.path}\nn {len(ds)}\nbatch {BATCH}\naccuracy {float(np.mean(top1 == ds.labels))}"
        f"\nmin_top2_margin {margin}\n")
    return pixels


def write_frames(out: Path, backend, pixels: np.ndarray | None,
                 labels: np.ndarray | None) -> None:
    """Camera-sized frames: a test image scaled into the default ROI of a 640x480 frame, named
    ``<true letter>_<k>.png`` (the convention asl-live reads the truth from)."""
    folder = out / "frames"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    rng = np.random.default_rng(3)
    if pixels is None:  # no data: synthetic content still exercises the path
        sources = [synth_frame(28, 28, 0, rng) for _ in range(N_FRAMES)]
        # letter-named all the same, so the truth/accuracy path runs without the dataset too
        truths = [backend.card.letters[k % len(backend.card.letters)] for k in range(N_FRAMES)]
    else:
        picks = rng.choice(len(pixels), N_FRAMES, replace=False)
        sources = [pixels[i] for i in picks]
        truths = [backend.card.letters[int(labels[i])] for i in picks]
    names, probs = [], []
    for k, img in enumerate(sources):
        frame = rng.integers(0, 60, (480, 640, 3)).astype(np.uint8)
        x0, y0, x1, y1 = Roi().box(640, 480)
        big = cv2.resize(img, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        frame[y0:y1, x0:x1] = big[:, :, None]
        name = f"{truths[k]}_{k:03d}.png"
        cv2.imwrite(str(folder / name), frame)
        back = cv2.imread(str(folder / name))  # what a reader of the file gets
        probs.append(backend.infer(preprocess(back, Roi(), "bgr",
                                              normalize=backend.card.normalize))[0])
        names.append(name)
    with open(out / "frames.txt", "w") as f:
        for name, p in zip(names, probs):
            f.write(f"{name} {backend.card.letters[int(np.argmax(p))]}\n")
    np.stack(probs).astype(np.float32).tofile(out / "frames_probs.f32")


def write_trained_on_frames(out: Path, count: int = 10) -> None:
    import onnx

    from asl_edge.modelcard import PREFIX, photo_digest

    m = onnx.load(str(out / "model.onnx"))
    digests = [photo_digest(f) for f in sorted((out / "frames").glob("*.png"))[:count]]
    props = {p.key: p.value for p in m.metadata_props}
    props[f"{PREFIX}training_photos"] = ",".join(digests)
    onnx.helper.set_model_props(m, props)
    onnx.save(m, str(out / "model_trained_on_frames.onnx"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="folder to write (the build dir)")
    ap.add_argument("--shipped-model", type=Path, help="use this model when it exists")
    ap.add_argument("--data", help="data root (default: $ASL_DATA or ../shared/data)")
    args = ap.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    ds = load_test_split(out, args.data)
    calib = (ds.images[::3], ds.labels[::3]) if ds is not None else (None, None)
    generated = out / "generated_fp32.onnx"
    make_model(generated, True, 0, *calib)
    make_model(out / "model_nometa.onnx", False, 0, *calib)
    make_model(out / "model_badnorm.onnx", True, 0, *calib, normalize="unheard-of")
    (out / "not_onnx.onnx").write_text("this is not an ONNX model\n")
    (out / "bad_image.png").write_bytes(b"not a PNG image\n")
    shipped = args.shipped_model
    model = shipped if shipped is not None and shipped.is_file() else generated
    shutil.copyfile(model, out / "model.onnx")
    (out / "model.txt").write_text(f"{model.resolve()}\n")

    backend = open_backend(out / "model.onnx", "ort-cpu")
    write_roi_boxes(out)
    pixels = write_test_split(out, backend, ds)
    write_preprocess_cases(out, None if pixels is None else pixels[0])
    write_normalize_cases(out, None if pixels is None else pixels[1])
    write_frames(out, backend, pixels, None if ds is None else ds.labels)
    write_trained_on_frames(out)
    (out / "info.json").write_text(json.dumps(
        {"model": str(model.resolve()), "backend": backend.info.to_dict()}, indent=2) + "\n")
    print(f"cpp_reference: wrote {out} (model {model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
