"""The course's augmentation recipe as Keras 3 preprocessing layers.

Keras 3 dropped ``ImageDataGenerator``; its rotation_range=10, zoom_range=0.1,
width/height_shift_range=0.1 and horizontal_flip map onto these layers. They run in the
tf.data input pipeline, not in the model, so the exported network stays the seed's.
"""

from __future__ import annotations


def course_augmentation(seed: int):
    import keras
    from keras import layers

    return keras.Sequential(name="augment", layers=[
        layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed),  # factor: share of 2*pi
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 2),
        layers.RandomFlip("horizontal", seed=seed + 3),
    ])
