"""Training the seed CNN (needs the ``train`` extra: TensorFlow/Keras)."""
