"""asl-edge: American Sign Language letters from a camera, from training to edge devices.

The runtime (``asl_edge.runtime``) needs only numpy, onnxruntime and OpenCV; training and
export (``asl_edge.train``, ``asl_edge.export``) need the ``train``/``export`` extras.
"""

__version__ = "0.1.0"
