"""Fit the seed CNN with model selection on a validation split carved from the training file.

The test split is only reported, never used to pick an epoch, unless the caller asks for the
course notebook's behaviour (``validate_on="test"``), which is labelled as such in the results.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data import Dataset, stratified_split

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 32
    augment: bool = True
    recipe: str = "course"  # augmentation recipe (train/augment.py): "course" or "real"
    normalize: str = "none"  # input normalisation (asl_edge.normalize), recorded in the export
    seed: int = 0
    val_fraction: float = 0.1
    validate_on: str = "train-split"  # or "test": the course notebook's (optimistic) choice
    optimizer: str = "adam"  # "rmsprop" is the course's Keras default
    learning_rate: float = 1e-3
    schedule: str = "cosine"  # cosine decay to zero over all steps, or "constant"
    patience: int = 0  # early stopping on the validation accuracy; 0 = off
    limit: int = 0  # use only the first N training rows (tests, smoke runs); 0 = all
    # labelled real photos added to the ``real`` recipe's images (train/photos.py)
    photos: tuple[str, ...] = ()
    photos_skip: tuple[str, ...] = ()  # shell patterns of photos to leave out (a test signer)
    photo_copies: int = 8  # jittered crops cut per photo, at full resolution
    photo_share: float = 0.2  # share of each epoch's images drawn from the photos
    photo_hand_mask: bool = True  # black out all but the located hand, as the runtime does


@dataclass
class TrainResult:
    model: object  # keras.Model with the best epoch's weights
    history: dict[str, list[float]]
    best_epoch: int  # 1-based
    epoch_seconds: list[float] = field(default_factory=list)
    config: TrainConfig | None = None
    photos: dict | None = None  # what --photos added: count, how the hands were located

    def summary(self) -> dict:
        return {"best_epoch": self.best_epoch, "epochs_run": len(self.epoch_seconds),
                "photos": self.photos,
                "mean_epoch_seconds": float(np.mean(self.epoch_seconds)) if self.epoch_seconds
                else None, "history": self.history, "config": asdict(self.config)
                if self.config else None}


def seed_everything(seed: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter out
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # python, numpy and TF generators
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # older TF: best effort
        log.debug("op determinism not available")


def _dataset(x: np.ndarray, y: np.ndarray, batch: int, shuffle: bool, augment, seed: int,
             normalize: str = "none"):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch)
    if augment is not None:
        ds = ds.map(lambda a, b: (augment(a, training=True), b),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if normalize != "none":  # the augmented float images -> uint8 -> the runtime's function
            from ..normalize import normalize_images

            def norm(a):
                out = tf.numpy_function(lambda v: normalize_images(np.clip(v, 0, 1), normalize),
                                        [a], tf.float32)
                out.set_shape(a.shape)
                return out

            ds = ds.map(lambda a, b: (norm(a), b), deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _real_dataset(x: np.ndarray, y: np.ndarray, batch: int, seed: int, normalize: str,
                  photos=None, photo_share: float = 0.0):
    """The ``real`` recipe (numpy/OpenCV), freshly drawn every epoch, then normalised by the
    runtime's own function. ``photos`` (a :class:`~.photos.PhotoSet`) are drawn with
    replacement to make ``photo_share`` of every epoch: a few hundred crops would otherwise be
    lost among 25,000 dataset images."""
    import keras

    from ..normalize import normalize as norm
    from .augment import RealAugment

    u8 = np.rint(x.reshape(-1, 28, 28) * 255.0).clip(0, 255).astype(np.uint8)
    n_data, n_photo_draws = len(u8), 0
    if photos is not None and len(photos):
        u8 = np.concatenate([u8, photos.images])
        y = np.concatenate([y, np.eye(y.shape[1], dtype=y.dtype)[photos.labels]])
        n_photo_draws = int(round(n_data * photo_share / (1.0 - photo_share)))
    augment = RealAugment(u8)
    log.info("real recipe: %.0f %% of training images have a usable background mask",
             100 * augment.usable.mean())

    class Epochs(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self._draw()

        def _draw(self):
            rng = np.random.default_rng([seed, self.epoch])
            order = np.arange(n_data)
            if n_photo_draws:
                order = np.concatenate([order, rng.integers(n_data, len(u8), n_photo_draws)])
            order = rng.permutation(order)
            self.x = norm(augment(order, rng), normalize).reshape(-1, 28, 28, 1)
            self.y = y[order]

        def __len__(self):
            return math.ceil((n_data + n_photo_draws) / batch)

        def __getitem__(self, i):
            return self.x[i * batch:(i + 1) * batch], self.y[i * batch:(i + 1) * batch]

        def on_epoch_end(self):
            self.epoch += 1
            self._draw()

    return Epochs()


class _KeepBest:
    """Keeps the weights of the epoch with the lowest validation loss.

    Loss, not accuracy: the validation split comes from the training file, whose rows are
    augmentations of few photos, so its accuracy saturates at 100 % (measured: 7 of 20 epochs
    within one image of it) and stops telling epochs apart; the loss keeps ranking them.
    """

    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(cb):
                super().__init__()
                cb.best = (-math.inf, math.inf)
                cb.best_epoch = 0
                cb.weights = None
                cb.times: list[float] = []
                cb._t0 = 0.0

            def on_epoch_begin(cb, epoch, logs=None):
                cb._t0 = time.perf_counter()

            def on_epoch_end(cb, epoch, logs=None):
                cb.times.append(time.perf_counter() - cb._t0)
                logs = logs or {}
                key = (logs.get("val_accuracy", -math.inf), logs.get("val_loss", math.inf))
                if key[1] <= cb.best[1]:  # ties go to the later epoch (lower learning rate)
                    cb.best, cb.best_epoch = key, epoch + 1
                    cb.weights = cb.model.get_weights()

        self.callback = Callback()


class _TestReport:
    """Records test accuracy after each epoch, for the learning curves only."""

    def __init__(self, test_set: Dataset, normalize: str = "none"):
        import keras

        from ..normalize import normalize_images

        images = normalize_images(test_set.images, normalize)

        class Callback(keras.callbacks.Callback):
            def __init__(cb):
                super().__init__()
                cb.accuracies: list[float] = []

            def on_epoch_end(cb, epoch, logs=None):
                pred = predict_classes(cb.model, images)
                cb.accuracies.append(float(np.mean(pred == test_set.labels)))

        self.callback = Callback()


def train(train_set: Dataset, config: TrainConfig, test_set: Dataset | None = None,
          verbose: int = 1) -> TrainResult:
    """Train the seed CNN and return it with the best epoch's weights restored."""
    import keras

    from ..normalize import check_mode, normalize_images
    from .augment import RECIPES, course_augmentation
    from .model import build_model

    check_mode(config.normalize)
    if config.recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {config.recipe!r}")
    photos = None
    if config.photos:
        if not (config.augment and config.recipe == "real"):
            raise ValueError("photos are trained with the real recipe: add --recipe real")
        if not 0.0 < config.photo_share < 1.0:
            raise ValueError(f"photo share must be between 0 and 1, not {config.photo_share}")
        from .photos import load_photos

        photos = load_photos(config.photos, config.photo_copies, config.photos_skip,
                             config.seed, progress=verbose > 0,
                             hand_mask=config.photo_hand_mask)
    seed_everything(config.seed)
    x, y = train_set.images, train_set.one_hot()
    if config.limit:
        x, y = x[:config.limit], y[:config.limit]
    labels = np.argmax(y, axis=1)
    if config.validate_on == "test":
        if test_set is None:
            raise ValueError("validate_on='test' needs the test split")
        x_tr, y_tr, x_val, y_val = x, y, normalize_images(test_set.images, config.normalize), \
            test_set.one_hot()
        log.info("validating on the TEST split (course notebook behaviour): "
                 "the reported test accuracy is then optimistic")
    elif config.validate_on == "train-split":
        keep, held = stratified_split(labels, config.val_fraction, config.seed)
        x_tr, y_tr, y_val = x[keep], y[keep], y[held]
        x_val = normalize_images(x[held], config.normalize)
    else:
        raise ValueError(f"validate_on must be 'train-split' or 'test', not {config.validate_on!r}")

    steps = math.ceil(len(x_tr) / config.batch_size) * config.epochs
    lr = (keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
          if config.schedule == "cosine" else config.learning_rate)
    if config.optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate=lr)
    elif config.optimizer == "rmsprop":
        opt = keras.optimizers.RMSprop(learning_rate=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'rmsprop', not {config.optimizer!r}")

    model = build_model()
    model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    keep_best = _KeepBest().callback
    callbacks = [keep_best]
    report = None
    if test_set is not None and config.validate_on != "test":
        # logged per epoch, never used for selection
        report = _TestReport(test_set, config.normalize).callback
        callbacks.append(report)
    if config.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss",
                                                       patience=config.patience))
    if config.augment and config.recipe == "real":
        train_data = _real_dataset(x_tr, y_tr, config.batch_size, config.seed, config.normalize,
                                   photos, config.photo_share)
    else:
        augment = course_augmentation(config.seed) if config.augment else None
        x_in = x_tr if augment is not None else normalize_images(x_tr, config.normalize)
        train_data = _dataset(x_in, y_tr, config.batch_size, True, augment, config.seed,
                              config.normalize)
    fit = model.fit(
        train_data,
        validation_data=_dataset(x_val, y_val, 256, False, None, config.seed),
        epochs=config.epochs, callbacks=callbacks, verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    if report is not None:
        history["test_accuracy_report_only"] = report.accuracies
    if keep_best.weights is not None:
        model.set_weights(keep_best.weights)
    log.info("kept epoch %d of %d (lowest validation loss %.5f, accuracy %.4f)",
             keep_best.best_epoch, len(keep_best.times), keep_best.best[1], keep_best.best[0])
    photo_info = None if photos is None else {
        "photos": len(photos.sources), "crops": len(photos), "located_by": photos.methods,
        "folders": list(config.photos), "skipped_patterns": list(config.photos_skip),
        "share_of_epoch": config.photo_share, "digests": photos.digests}
    return TrainResult(model=model, history=history, best_epoch=keep_best.best_epoch,
                       epoch_seconds=keep_best.times, config=config, photos=photo_info)


def predict_classes(model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    probs = model.predict(images, batch_size=batch_size, verbose=0)
    return np.argmax(probs, axis=1)


def save_model(model, dest: str | os.PathLike) -> Path:
    """Save a ``.keras`` file atomically (Keras insists on the suffix, so the temp keeps it)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.part.keras")
    try:
        model.save(tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest
