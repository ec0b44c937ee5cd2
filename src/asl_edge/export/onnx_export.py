"""Keras -> ONNX FP32 through tf2onnx (driven by Keras 3's ``model.export(format="onnx")``).

The graph gets a named input ``image`` (N, 28, 28, 1) float32 in [0, 1] with a dynamic batch
axis, a named output ``probs`` (N, 24), and the model card in its metadata.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from ..artifacts import atomic_path
from ..errors import AslEdgeError
from ..modelcard import INPUT_NAME, OUTPUT_NAME, ModelCard
from .graph_opt import pool_before_affine

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = range(13, 19)
BATCH_DIM = "N"


def load_keras(path: str | os.PathLike):
    path = Path(path)
    if not path.is_file():
        raise AslEdgeError(f"{path}: no such model file (train one with asl-train)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as e:
        raise AslEdgeError(f"export needs TensorFlow/Keras ({e}); pip install 'asl-edge[export]'")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:
        raise AslEdgeError(f"{path}: not a loadable Keras model ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from None


def _rename(graph, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        if vi.name == old:
            vi.name = new


def set_card(model, card: ModelCard) -> None:
    """Replace the model's asl_edge.* metadata with ``card``."""
    keep = [p for p in model.metadata_props if not p.key.startswith("asl_edge.")]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for k, v in card.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v


def read_card(model) -> ModelCard:
    return ModelCard.from_props({p.key: p.value for p in model.metadata_props})


def keras_to_onnx(keras_model, dest: str | os.PathLike, card: ModelCard,
                  opset: int = DEFAULT_OPSET) -> Path:
    """Convert a Keras model to ONNX FP32 at ``dest`` with named I/O and the model card."""
    import keras
    import onnx

    if opset not in SUPPORTED_OPSETS:
        raise AslEdgeError(f"--opset {opset} is not supported; use "
                           f"{SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1}")
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its INFO lines are noise to users
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        keras_model.export(str(raw), format="onnx", verbose=False, opset_version=opset,
                           input_signature=[keras.InputSpec(shape=(None, 28, 28, 1),
                                                            dtype="float32")])
        model = onnx.load(str(raw))
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise AslEdgeError("expected one input and one output in the exported graph, got "
                           f"{len(graph.input)} and {len(graph.output)}")
    _rename(graph, graph.input[0].name, INPUT_NAME)
    _rename(graph, graph.output[0].name, OUTPUT_NAME)
    for vi in (graph.input[0], graph.output[0]):
        dim0 = vi.type.tensor_type.shape.dim[0]
        dim0.Clear()
        dim0.dim_param = BATCH_DIM
    model.producer_name, model.doc_string = "asl-edge (tf2onnx)", "ASL letter classifier"
    pool_before_affine(model)  # exact; measured 1.2-1.5x faster on ONNX Runtime CPU
    set_card(model, card)
    onnx.checker.check_model(model, full_check=True)
    return save_onnx(model, dest)


def save_onnx(model, dest: str | os.PathLike) -> Path:
    import onnx

    with atomic_path(dest) as tmp:
        onnx.save(model, str(tmp))
    return Path(dest)
