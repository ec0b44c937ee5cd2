"""The runtime: preprocessing, inference backends and the live classifier.

Needs only numpy, onnxruntime and OpenCV (TensorRT optionally); never imports TensorFlow.
"""
