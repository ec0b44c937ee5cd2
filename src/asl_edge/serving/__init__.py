"""Serving at scale on Triton Inference Server.

- ``asl_edge.export.triton``: a model repository for NVIDIA's Triton containers on GPU servers.
- ``asl-serve`` (``serving.cli``): a real ``tritonserver`` on this machine (bundled in
  ``nvidia-pytriton``, in its own virtual environment: ``serving.env``) running the project's
  runtime through the Python backend (``serving.triton_model``), HTTP + gRPC, dynamic batching.
- ``asl_edge.runtime.triton_backend.TritonBackend``: the client, a ``Backend`` like the others.
- ``serving.loadtest``: a bounded, loopback-only load test and the malformed-request check.
"""
