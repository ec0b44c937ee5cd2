"""The Triton Python-backend model that ``asl-serve`` runs: the project's own runtime.

Copied as ``<repo>/asl/1/model.py``; Triton's Python stub imports it in the server's
virtual environment (same Python as ``asl-serve``, numpy 1) with the launching environment's
``asl_edge`` linked in. The dynamic batcher hands
``execute`` several requests at once; they run as one batch on the backend and are split back.
Shapes and dtypes were already checked by Triton against ``config.pbtxt``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import triton_python_backend_utils as pb_utils  # provided by the Python backend


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        # the stub's interpreter is isolated (no PYTHONPATH): the folder linking the launching
        # environment's asl_edge comes through the config instead
        if params.get("pythonpath") and params["pythonpath"] not in sys.path:
            sys.path.insert(0, params["pythonpath"])
        from asl_edge.runtime.backend import open_backend

        options = {}
        backend = params.get("backend", "ort-cpu")
        threads = int(params.get("threads", "0") or 0)
        onnx = params["model_path"].endswith(".onnx")
        if threads and (backend.startswith("ort-") or (backend == "auto" and onnx)):
            options["threads"] = threads  # ONNX Runtime's intra-op threads per instance
        self.backend = open_backend(params["model_path"], backend, **options)
        logger = getattr(pb_utils, "Logger", None)
        if logger is not None:  # what really runs, in tritonserver.log
            logger.log_info(f"asl_edge: {args.get('model_instance_name', '')} "
                            f"{self.backend.info.line()}")
        self.input_name = config["input"][0]["name"]
        self.output_name = config["output"][0]["name"]

    def execute(self, requests):
        arrays = [pb_utils.get_input_tensor_by_name(r, self.input_name).as_numpy()
                  for r in requests]
        batch = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        try:
            probs = self.backend.infer(batch)
        except Exception as e:  # one clear error per request; the server keeps serving
            err = pb_utils.TritonError(f"inference failed: {e}")
            return [pb_utils.InferenceResponse(output_tensors=[], error=err) for _ in requests]
        responses = []
        start = 0
        for a in arrays:
            out = pb_utils.Tensor(self.output_name, probs[start:start + len(a)])
            start += len(a)
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def finalize(self):
        self.backend.close()
