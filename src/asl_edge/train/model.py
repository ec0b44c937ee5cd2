"""The seed CNN of the course notebook, exactly: 264,049 parameters (263,749 trainable)."""

from __future__ import annotations

from ..data import IMAGE_SIZE
from ..labels import NUM_CLASSES

EXPECTED_PARAMS = 264_049
EXPECTED_TRAINABLE = 263_749


def build_model(num_classes: int = NUM_CLASSES):
    """Conv 75/50/25 with BatchNorm and MaxPool, Dense 512, Dense 24 softmax (NHWC input)."""
    import keras
    from keras import layers

    model = keras.Sequential(name="asl_cnn", layers=[
        keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1), name="image"),
        layers.Conv2D(75, (3, 3), strides=1, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPool2D((2, 2), strides=2, padding="same"),
        layers.Conv2D(50, (3, 3), strides=1, padding="same", activation="relu"),
        layers.Dropout(0.2),
        layers.BatchNormalization(),
        layers.MaxPool2D((2, 2), strides=2, padding="same"),
        layers.Conv2D(25, (3, 3), strides=1, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPool2D((2, 2), strides=2, padding="same"),
        layers.Flatten(),
        layers.Dense(units=512, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(units=num_classes, activation="softmax", name="probs"),
    ])
    return model
