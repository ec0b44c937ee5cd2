"""Keras -> ONNX (FP32, FP16, INT8 Q/DQ) with parity checks, and ONNX -> TensorRT engines."""
