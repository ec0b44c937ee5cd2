"""``asl-train``: train the seed CNN on Sign Language MNIST and write model, metrics and plots."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from .. import cli
from ..artifacts import save_figure, write_json
from ..errors import AslEdgeError
from ..labels import LETTERS
from ..normalize import MODES as NORMALIZE_MODES

log = logging.getLogger("asl_edge.train")

EXAMPLES = """\
  asl-train                                  # 20 epochs, augmentation, data from ../shared/data
  asl-train --epochs 2 --limit 2000 --out runs/smoke
  asl-train --no-augment --optimizer rmsprop --schedule constant   # the course notebook's recipe
  asl-train --recipe real --normalize standardize --out runs/train-real   # for real cameras
  asl-train --recipe real --normalize standardize --photos my_photos/   # + your own photos
"""


def build_parser():
    p = cli.parser("asl-train", "Train the seed CNN (264,049 parameters) on Sign Language MNIST.",
                   EXAMPLES)
    p.add_argument("--data", help="data root, folder with the CSVs, or $ASL_DATA / ../shared/data")
    p.add_argument("--out", default="runs/train", help="output folder")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="augment the training images (--recipe says how)")
    p.add_argument("--recipe", choices=["course", "real"], default="course",
                   help="course: rotation, zoom, shift, flip; real: also new backgrounds, "
                        "light, blur and noise, modelling camera crops (train/augment.py)")
    p.add_argument("--normalize", choices=list(NORMALIZE_MODES),
                   default="none", help="per-image input normalisation, applied identically "
                   "here and by the runtimes (recorded in the exported model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="stratified share of the training file held out for model selection")
    p.add_argument("--validate-on-test", action="store_true",
                   help="select epochs on the TEST split as the course notebook does "
                        "(optimistic; results are labelled so)")
    p.add_argument("--optimizer", choices=["adam", "rmsprop"], default="adam")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    p.add_argument("--patience", type=int, default=0, help="early stopping patience; 0 = off")
    p.add_argument("--limit", type=int, default=0, help="train on the first N rows only")
    p.add_argument("--photos", action="append", default=[], metavar="DIR",
                   help="labelled real photos (A/x.jpg or A_x.jpg) to train on too, cropped by "
                   "the runtime's hand localiser (repeatable; needs --recipe real)")
    p.add_argument("--photos-skip", action="append", default=[], metavar="PATTERN",
                   help="leave out photos whose name or path matches (e.g. 'hand2_*': keep a "
                   "signer unseen for evaluation)")
    p.add_argument("--photo-copies", type=int, default=8,
                   help="jittered crops cut from each photo")
    p.add_argument("--photo-share", type=float, default=0.2,
                   help="share of each epoch drawn from the photos")
    p.add_argument("--hand-mask", action=argparse.BooleanOptionalAction, default=True,
                   help="black out all but the hand in each photo, as asl-live --roi auto does")
    return p


def plot_history(history: dict, best_epoch: int, dest: Path) -> Path | None:
    from ..metrics import _pyplot

    plt = _pyplot()
    if plt is None:
        return None
    epochs = range(1, len(history.get("loss", [])) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in history:
            ax_loss.plot(epochs, history[key], style, label=key)
    for key, style in (("accuracy", "-"), ("val_accuracy", "--"),
                       ("test_accuracy_report_only", ":")):
        if key in history:
            ax_acc.plot(epochs, history[key], style, label=key)
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.axvline(best_epoch, color="grey", lw=0.8, label=f"kept epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
        ax.grid(alpha=0.3)
    ax_acc.set_ylim(max(0.0, min(min(v) for k, v in history.items() if "accuracy" in k) - 0.02),
                    1.0)
    return save_figure(fig, dest)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.set_verbosity(args.verbose)
    if args.epochs < 1 or args.batch_size < 1:
        raise AslEdgeError("--epochs and --batch-size must be at least 1")
    if args.photos and not (args.augment and args.recipe == "real"):
        raise AslEdgeError("--photos needs --recipe real (and augmentation on)")
    from ..data import load_split
    from ..metrics import compute, save_report

    train_set = load_split("train", args.data)
    test_set = load_split("test", args.data)
    log.info("train %s: %d images; test %s: %d images", train_set.path, len(train_set),
             test_set.path, len(test_set))
    try:
        from .trainer import TrainConfig, predict_classes, save_model, train
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise AslEdgeError(f"training needs TensorFlow ({e}); pip install 'asl-edge[train]'")

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, augment=args.augment,
                         recipe=args.recipe, normalize=args.normalize, seed=args.seed,
                         val_fraction=args.val_fraction,
                         validate_on="test" if args.validate_on_test else "train-split",
                         optimizer=args.optimizer, learning_rate=args.learning_rate,
                         schedule=args.schedule, patience=args.patience, limit=args.limit,
                         photos=tuple(args.photos), photos_skip=tuple(args.photos_skip),
                         photo_copies=args.photo_copies, photo_share=args.photo_share,
                         photo_hand_mask=args.hand_mask)
    result = train(train_set, config, test_set=test_set, verbose=1 if sys.stdout.isatty() else 2)

    out = Path(args.out)
    from ..normalize import SIDECAR, normalize_images

    save_model(result.model, out / "model.keras")
    write_json(out / "labels.json", list(LETTERS))
    # how inputs are made: asl-export and asl-eval read it beside model.keras
    # and which real photos it has seen (asl-export records them in the model card)
    write_json(out / SIDECAR, {"normalize": config.normalize, "training_photos":
                               result.photos["digests"] if result.photos else []})
    metrics = compute(test_set.labels, predict_classes(
        result.model, normalize_images(test_set.images, config.normalize)))
    write_json(out / "history.json", result.summary())
    save_report(out, "metrics", metrics, extra={
        "split": "test", "data": str(test_set.path), "model": str(out / "model.keras"),
        "best_epoch": result.best_epoch, "selected_on": config.validate_on,
        "mean_epoch_seconds": result.summary()["mean_epoch_seconds"],
        "config": result.summary()["config"], "photos": result.photos})
    plot_history(result.history, result.best_epoch, out / "learning_curves.png")
    print(json.dumps({"test_accuracy": round(metrics.accuracy, 5), "best_epoch": result.best_epoch,
                      "selected_on": config.validate_on,
                      "mean_epoch_seconds": round(result.summary()["mean_epoch_seconds"], 1),
                      "out": str(out)}))
    return 0


def entry() -> int:
    return cli.run(main)


if __name__ == "__main__":
    sys.exit(entry())
