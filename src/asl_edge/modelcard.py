"""What a model file says about itself: labels, input layout and scaling, precision, origin.

The exporter writes these as ONNX ``metadata_props`` (and as a TensorRT engine's JSON sidecar),
so the runtime needs no other file to turn an image into a letter. Keys are namespaced
``asl_edge.*``; the C++ runtime reads the same keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .labels import LETTERS

INPUT_NAME = "image"
OUTPUT_NAME = "probs"
PREFIX = "asl_edge."
PRECISIONS = ("fp32", "fp16", "int8", "int8-cpu")


@dataclass(frozen=True)
class ModelCard:
    letters: tuple[str, ...] = LETTERS
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    input_layout: str = "NHWC"  # (N, 28, 28, 1): what the Keras model was trained on
    input_size: int = 28
    input_scale: float = 1.0 / 255.0  # pixel 0..255 -> [0, 1]
    input_dtype: str = "float32"
    # per-image normalisation after the 28x28 resize (asl_edge.normalize); "none" = x * scale.
    # Models exported before the key existed have none, which is what they were trained on.
    normalize: str = "none"
    precision: str = "fp32"
    source_sha256: str = ""  # digest of the .keras file the model came from
    # short digests (photo_digest) of the real photos it was trained on (asl-train --photos):
    # an evaluation on any of them is not a held-out figure, and asl-eval says so
    training_photos: tuple[str, ...] = ()
    producer: str = "asl-edge"
    extra: dict = field(default_factory=dict)  # accuracy at export time, etc.

    def to_props(self) -> dict[str, str]:
        """Flat string properties for ONNX ``metadata_props``."""
        d = asdict(self)
        extra = d.pop("extra")
        props = {f"{PREFIX}{k}": (",".join(v) if isinstance(v, tuple | list) else str(v))
                 for k, v in d.items()}
        props.update({f"{PREFIX}extra.{k}": str(v) for k, v in extra.items()})
        return props

    @classmethod
    def from_props(cls, props: dict[str, str]) -> "ModelCard":
        """Parse properties written by :meth:`to_props`; ValueError if they are missing."""
        if f"{PREFIX}letters" not in props:
            raise ValueError("model has no asl_edge metadata (was it exported by asl-export?)")
        kw: dict = {}
        for k, v in props.items():
            if not k.startswith(PREFIX) or k.startswith(f"{PREFIX}extra."):
                continue
            key = k[len(PREFIX):]
            if key == "letters":
                kw[key] = tuple(v.split(","))
            elif key == "training_photos":
                kw[key] = tuple(x for x in v.split(",") if x)
            elif key in ("input_size",):
                kw[key] = int(v)
            elif key == "input_scale":
                kw[key] = float(v)
            elif key in cls.__dataclass_fields__:
                kw[key] = v
        kw["extra"] = {k[len(PREFIX) + 6:]: v for k, v in props.items()
                       if k.startswith(f"{PREFIX}extra.")}
        return cls(**kw)


def photo_digest(path) -> str:
    """Short content digest of an image file: the same photo under another name still matches."""
    from .artifacts import sha256_file

    return sha256_file(path)[:16]
