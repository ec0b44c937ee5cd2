#!/usr/bin/env python3
"""Reproduce the hand-localisation models shipped in ``src/asl_edge/models/hands/``.

MediaPipe's palm detector and hand-landmark model (Apache-2.0) ship as ``.tflite`` files inside
the ``mediapipe==0.10.14`` wheel. This script takes them from that wheel (downloaded with
``pip download --no-deps``: mediapipe itself is never installed, its protobuf and OpenCV pins
clash with TensorFlow's), converts them to ONNX with tf2onnx, and makes three lossless changes:

- inputs/outputs get plain names (``image`` -> ``boxes``, ``scores``; ``image`` ->
  ``landmarks``, ``presence``, ``handedness``, ``world_landmarks``), and inner names become
  positional, so the output is the same bytes on every run;
- every ``PRelu`` becomes ``Relu(x) - a * Relu(-x)`` (the same function; ONNX Runtime's CPU
  PRelu kernel was ~45 % of the palm detector's time on this machine);
- weights are stored as float16 with a ``Cast`` (the ``.tflite`` files hold float16 weights,
  so this is exact; ONNX Runtime folds the casts when it loads the model), halving the size.

Each converted model is checked against the plain tf2onnx output on random and real-looking
inputs before it is written, with a metadata record of where it came from.

    python3 scripts/convert_hand_models.py                      # download the wheel, convert
    python3 scripts/convert_hand_models.py --wheel mediapipe-0.10.14-...whl --variant full

Needs the ``export`` extra (tf2onnx, onnx) and onnxruntime; network access to PyPI only to
download the wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MEDIAPIPE = "mediapipe==0.10.14"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "asl_edge" / "models" / "hands"
MODELS = {
    "palm_detection": ("mediapipe/modules/palm_detection/palm_detection_{v}.tflite",
                       ["image"], ["boxes", "scores"]),
    "hand_landmark": ("mediapipe/modules/hand_landmark/hand_landmark_{v}.tflite",
                      ["image"], ["landmarks", "presence", "handedness", "world_landmarks"]),
}
LICENSE_IN_WHEEL = "mediapipe-0.10.14.dist-info/LICENSE"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--only-binary=:all:", "--python-version", "3.11",
                    "--platform", "manylinux_2_17_x86_64", MEDIAPIPE, "-d", str(dest)],
                   check=True)
    wheels = sorted(dest.glob("mediapipe-0.10.14-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download {MEDIAPIPE} gave no wheel in {dest}")
    return wheels[0]


def rename_io(model, inputs: list[str], outputs: list[str]) -> None:
    g = model.graph
    mapping = {vi.name: new for vi, new in zip(g.input, inputs)}
    mapping.update({vi.name: new for vi, new in zip(g.output, outputs)})
    for node in g.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        vi.name = mapping.get(vi.name, vi.name)


def rewrite_prelu(model) -> int:
    """PRelu(x, a) -> Relu(x) + (-a) * Relu(-x): identical values, faster on ORT's CPU."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, count = [], 0
    for node in g.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        count += 1
        x, slope = node.input
        p = f"prelu{count}"
        neg = numpy_helper.from_array(-numpy_helper.to_array(inits[slope]), f"{p}_neg_slope")
        g.initializer.append(neg)
        nodes += [helper.make_node("Relu", [x], [f"{p}_pos"]),
                  helper.make_node("Neg", [x], [f"{p}_negx"]),
                  helper.make_node("Relu", [f"{p}_negx"], [f"{p}_neg"]),
                  helper.make_node("Mul", [f"{p}_neg", neg.name], [f"{p}_scaled"]),
                  helper.make_node("Add", [f"{p}_pos", f"{p}_scaled"], [node.output[0]])]
    del g.node[:]
    g.node.extend(nodes)
    drop_unused_initializers(model)
    return count


def drop_unused_initializers(model) -> None:
    g = model.graph
    used = {n for node in g.node for n in node.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def weights_to_fp16(model, min_size: int = 64) -> int:
    """Store float32 initializers that are exact in float16 as float16 + Cast (lossless)."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    casts, converted = [], 0
    for i, init in enumerate(list(g.initializer)):
        if init.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init)
        if a.size < min_size:
            continue
        h = a.astype(np.float16)
        if not np.array_equal(h.astype(np.float32), a):  # not exact: leave it float32
            continue
        name = init.name
        g.initializer[i].CopyFrom(numpy_helper.from_array(h, f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT))
        converted += 1
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return converted


def canonical_names(model) -> None:
    """Name every node and inner tensor by its position (tf2onnx's generated names carry
    process-wide counters), so that a conversion reproduces the shipped file byte for byte."""
    g = model.graph
    # tf2onnx lists initializers in no fixed order: put them, and the Casts that read them, in
    # the order of their first use by the network's own nodes
    body = [n for n in g.node if not (n.op_type == "Cast" and len(n.input) == 1
                                      and n.input[0].endswith("__fp16"))]
    casts = [n for n in g.node if n not in body]
    first: dict[str, tuple[int, int]] = {}
    for i, node in enumerate(body):
        for j, n in enumerate(node.input):
            first.setdefault(n, (i, j))
    cast_of = {c.input[0]: c.output[0] for c in casts}
    order = {init.name: first.get(cast_of.get(init.name, init.name), (len(body), 0))
             for init in g.initializer}
    casts.sort(key=lambda c: order[c.input[0]])
    inits = sorted(g.initializer, key=lambda t: order[t.name])
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.node[:]
    g.node.extend(casts + body)
    keep = {vi.name for vi in list(g.input) + list(g.output)}
    mapping: dict[str, str] = {}

    def name(old: str) -> str:
        if not old or old in keep:
            return old
        if old not in mapping:
            mapping[old] = f"t{len(mapping)}"
        return mapping[old]

    for i, node in enumerate(g.node):
        node.input[:] = [name(n) for n in node.input]
        node.output[:] = [name(n) for n in node.output]
        node.name = f"{node.op_type.lower()}_{i}"
    for init in g.initializer:
        init.name = name(init.name)
    del g.value_info[:]
    g.doc_string = ""  # tf2onnx writes the temporary path of its input there


def run(model_bytes: bytes, feeds: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    s = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: feeds})


def test_inputs(size: int) -> np.ndarray:
    """Random noise and a smooth bright blob on black: inputs that excite the whole graph."""
    rng = np.random.default_rng(0)
    noise = rng.random((1, size, size, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / size
    blob = np.exp(-((xx - 0.5) ** 2 + (yy - 0.45) ** 2) / 0.03).astype(np.float32)
    blob = np.stack([blob * 0.9, blob * 0.7, blob * 0.6], -1)[None]
    return np.concatenate([noise, blob])


def convert(wheel: Path, name: str, variant: str, out_dir: Path, opset: int,
            workdir: Path) -> dict:
    import onnx

    member, inputs, outputs = MODELS[name]
    member = member.format(v=variant)
    with zipfile.ZipFile(wheel) as z:
        tflite_bytes = z.read(member)
    tflite = workdir / Path(member).name
    tflite.write_bytes(tflite_bytes)
    raw = workdir / f"{tflite.stem}.raw.onnx"
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tflite),
                    "--output", str(raw), "--opset", str(opset)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model = onnx.load(str(raw))
    rename_io(model, inputs, outputs)
    prelus = rewrite_prelu(model)
    halves = weights_to_fp16(model)
    canonical_names(model)
    size = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    meta = {"source": f"{MEDIAPIPE} wheel (PyPI), {member}",
            "source_sha256": sha256(tflite_bytes), "license": "Apache-2.0",
            "copyright": "Copyright The MediaPipe Authors",
            "converted_by": "scripts/convert_hand_models.py (tf2onnx "
                            f"{__import__('tf2onnx').__version__}, opset {opset})",
            "input": f"image (1, {size}, {size}, 3) float32 RGB in [0, 1]"}
    from onnx import helper

    helper.set_model_props(model, {f"asl_edge.hands.{k}": v for k, v in meta.items()})
    model.producer_name = "asl-edge scripts/convert_hand_models.py"
    onnx.checker.check_model(model)
    # the rewritten model must compute what the plain conversion computes
    x = np.concatenate([test_inputs(size)])
    want = run(raw.read_bytes(), x[:1]) + run(raw.read_bytes(), x[1:])
    got_bytes = model.SerializeToString()
    got = run(got_bytes, x[:1]) + run(got_bytes, x[1:])
    worst = max(float(np.abs(a - b).max() / (np.abs(a).max() + 1e-6)) for a, b in zip(want, got))
    if worst > 1e-4:
        raise SystemExit(f"{name}: rewritten model differs from tf2onnx's by {worst:.2e} "
                         "(relative)")
    dest = out_dir / f"{tflite.stem}.onnx"
    dest.write_bytes(got_bytes)
    return {"file": dest.name, "size_bytes": len(got_bytes), "prelu_rewritten": prelus,
            "fp16_weights": halves, "max_relative_diff_vs_tf2onnx": worst, **meta}


NOTICE = """\
Hand-localisation models in this folder
=======================================

palm_detection_{v}.onnx and hand_landmark_{v}.onnx are MediaPipe's palm detection and hand
landmark models, converted to ONNX by scripts/convert_hand_models.py from the .tflite files in
the {wheel} wheel on PyPI (see manifest.json for the digests of the source files).

MediaPipe
Copyright The MediaPipe Authors.
Licensed under the Apache License, Version 2.0 (LICENSE in this folder;
https://www.apache.org/licenses/LICENSE-2.0). Source: https://github.com/google-ai-edge/mediapipe

Changes made (all preserving the models' outputs; see the script): conversion from TFLite to
ONNX with tf2onnx, renamed inputs and outputs, PRelu expressed as Relu/Neg/Mul/Add, weights
stored as float16 with Cast nodes (the source weights are float16).

Model card: "MediaPipe Hands" (Zhang et al., 2020, arXiv:2006.10214).
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wheel", type=Path, help="a downloaded mediapipe-0.10.14 wheel "
                   "(default: pip download it)")
    p.add_argument("--variant", choices=["lite", "full"], default="lite")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--opset", type=int, default=17)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel = args.wheel or download_wheel(tmp)
        wheel_sha = sha256(wheel.read_bytes())
        records = [convert(wheel, name, args.variant, args.out, args.opset, tmp)
                   for name in MODELS]
        with zipfile.ZipFile(wheel) as z:
            (args.out / "LICENSE").write_bytes(z.read(LICENSE_IN_WHEEL))
    (args.out / "NOTICE").write_text(NOTICE.format(v=args.variant, wheel=MEDIAPIPE))
    manifest = {"wheel": wheel.name, "wheel_sha256": wheel_sha, "variant": args.variant,
                "models": records}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for r in records:
        print(f"{r['file']}: {r['size_bytes'] / 1e6:.2f} MB, {r['prelu_rewritten']} PRelu "
              f"rewritten, {r['fp16_weights']} float16 weights, max rel. diff "
              f"{r['max_relative_diff_vs_tf2onnx']:.1e}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
