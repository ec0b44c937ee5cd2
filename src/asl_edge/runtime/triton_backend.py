"""Client mode: a Triton Inference Server as a ``Backend``, so ``Classifier`` can use it.

    >>> clf = Classifier("http://127.0.0.1:8000")          # asl-serve, or NVIDIA's container
    >>> TritonBackend("grpc://127.0.0.1:8001", model_name="asl_int8")

The URL is ``http://host:port``, ``grpc://host:port`` or either with ``/<model>`` (or
``/v2/models/<model>``) after it. HTTP and gRPC go through NVIDIA's ``tritonclient``
(``pip install 'asl-edge[serve]'``); without it, HTTP uses a small built-in KServe v2 client
(binary tensor extension, one keep-alive connection) so the bare runtime can still be a client.

The model card comes from the server: the ``asl_edge.*`` parameters every config written by
this project carries (``/v2/models/<model>/config``), else the labels the server attaches to
the output (Triton's classification extension), else the default card if the output has 24
classes. Batches larger than the server's ``max_batch_size`` are sent in pieces.
"""

from __future__ import annotations

import http.client
import json
import logging
from urllib.parse import urlsplit

import numpy as np

from ..errors import AslEdgeError
from ..modelcard import ModelCard
from .backend import BackendInfo, BackendUnavailable, check_batch

log = logging.getLogger(__name__)

SCHEMES = ("http://", "https://", "grpc://")


def is_server_url(model) -> bool:
    """True for a model string that names a Triton server rather than a file."""
    return isinstance(model, str) and model.lower().startswith(SCHEMES)


def parse_server_url(url: str, model_name: str | None = None) -> tuple[str, str, int, str]:
    """(scheme, host, port, model) from ``scheme://host:port[/model | /v2/models/model]``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "grpc"):
        raise AslEdgeError(f"{url}: a Triton URL starts with http://, https:// or grpc://")
    if not parts.hostname:
        raise AslEdgeError(f"{url}: no host in the Triton URL")
    path = [p for p in parts.path.split("/") if p]
    if len(path) >= 3 and path[:2] == ["v2", "models"]:
        path = path[2:3]
    if len(path) > 1:
        raise AslEdgeError(f"{url}: expected http://host:port[/model], got path {parts.path!r}")
    name = model_name or (path[0] if path else "asl")
    try:
        port = parts.port or {"http": 8000, "https": 443, "grpc": 8001}[scheme]
    except ValueError as e:
        raise AslEdgeError(f"{url}: {e}") from None
    return scheme, parts.hostname, port, name


class _BuiltinHttp:
    """The few KServe v2 calls the backend needs, over one keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, timeout: float, https: bool = False):
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        self.conn = cls(host, port, timeout=timeout)

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, dict, bytes]:
        for attempt in (0, 1):  # the server may have closed an idle keep-alive connection
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, dict(resp.getheaders()), resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                if attempt:
                    raise

    def get_json(self, path: str) -> dict:
        status, _, body = self._request("GET", path)
        if status != 200:
            raise AslEdgeError(_error_text(status, body))
        return json.loads(body)

    def infer(self, model: str, x: np.ndarray, input_name: str, output_name: str,
              class_count: int = 0) -> np.ndarray:
        out_params = {"class_count": class_count} if class_count else {"binary_data": True}
        header = json.dumps({
            "inputs": [{"name": input_name, "shape": list(x.shape), "datatype": "FP32",
                        "parameters": {"binary_data_size": x.nbytes}}],
            "outputs": [{"name": output_name, "parameters": out_params}]},
            separators=(",", ":")).encode()
        status, headers, body = self._request(
            "POST", f"/v2/models/{model}/infer", header + x.tobytes(),
            {"Inference-Header-Content-Length": str(len(header)),
             "Content-Type": "application/octet-stream"})
        if status != 200:
            raise AslEdgeError(_error_text(status, body))
        hlen = int({k.lower(): v for k, v in headers.items()}.get(
            "inference-header-content-length", len(body)))
        meta = json.loads(body[:hlen])
        out = meta["outputs"][0]
        if "data" in out:  # JSON (class strings)
            return np.asarray(out["data"], dtype=object).reshape(out["shape"])
        return np.frombuffer(body[hlen:], dtype=np.float32).reshape(out["shape"]).copy()

    def close(self) -> None:
        self.conn.close()


def _error_text(status: int, body: bytes) -> str:
    try:
        return f"HTTP {status}: {json.loads(body).get('error', '')}"
    except ValueError:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"


class TritonBackend:
    """A model served by Triton, behind the ``Backend`` interface."""

    def __init__(self, url: str, model_name: str | None = None, timeout: float = 10.0,
                 client: str = "auto", **ignored):
        if ignored:
            log.debug("TritonBackend ignores local options %s", sorted(ignored))
        self.url = url
        scheme, host, port, self.model_name = parse_server_url(url, model_name)
        self.protocol = "grpc" if scheme == "grpc" else "http"
        self._tc = None  # the tritonclient module in use, or None for the built-in client
        if client not in ("auto", "tritonclient", "builtin"):
            raise ValueError("client must be auto, tritonclient or builtin")
        if self.protocol == "grpc" or client == "tritonclient":
            self._tc = _tritonclient(self.protocol)
        elif client == "auto":
            try:
                self._tc = _tritonclient("http")
            except BackendUnavailable:
                self._tc = None
        try:
            if self._tc is None:
                self._client = _BuiltinHttp(host, port, timeout, https=scheme == "https")
            elif self.protocol == "grpc":
                self._client = self._tc.InferenceServerClient(f"{host}:{port}")
            else:
                self._client = self._tc.InferenceServerClient(
                    f"{host}:{port}", connection_timeout=timeout, network_timeout=timeout,
                    ssl=scheme == "https")
            config, server = self._config_and_server()
        except AslEdgeError:
            raise
        except Exception as e:  # socket errors, tritonclient's InferenceServerException
            raise AslEdgeError(f"cannot use Triton model {self.model_name!r} at "
                               f"{scheme}://{host}:{port}: {_one_line(e)} (is the server "
                               "running? asl-serve starts one)") from None
        self.config = config
        self.max_batch = int(config.get("max_batch_size", 0) or 0)
        inputs, outputs = config.get("input", []), config.get("output", [])
        if len(inputs) != 1 or len(outputs) != 1:
            raise AslEdgeError(f"Triton model {self.model_name!r} has {len(inputs)} inputs and "
                               f"{len(outputs)} outputs; expected one of each")
        self.card = self._card(config, inputs[0]["name"], outputs[0]["name"],
                               int(outputs[0].get("dims", [0])[-1]))
        kinds = {g.get("kind", "") for g in config.get("instance_group", [])}
        params = _params(config)
        self.info = BackendInfo(
            backend=f"triton-{self.protocol}",
            device="gpu" if "KIND_GPU" in kinds else "cpu" if kinds else "server",
            precision=self.card.precision,
            model=f"{scheme}://{host}:{port}/{self.model_name}",
            versions={"tritonserver": server.get("version", "?"),
                      **({"tritonclient": _version("tritonclient")} if self._tc else {})},
            notes=[f"server {config.get('platform') or config.get('backend')}"
                   + (f" backend={params['backend']}" if "backend" in params else ""),
                   f"max_batch={self.max_batch}",
                   "client=tritonclient" if self._tc else "client=builtin-http"])
        log.debug("opened %s", self.info.line())

    # --- server queries -------------------------------------------------------------------

    def _config_and_server(self) -> tuple[dict, dict]:
        if self._tc is None:
            server = self._client.get_json("/v2")
            config = self._client.get_json(f"/v2/models/{self.model_name}/config")
            return config, server
        if self.protocol == "grpc":
            config = self._client.get_model_config(self.model_name, as_json=True)["config"]
            server = self._client.get_server_metadata(as_json=True)
            return _grpc_config(config), server
        return (self._client.get_model_config(self.model_name),
                self._client.get_server_metadata())

    def _card(self, config: dict, input_name: str, output_name: str, classes: int) -> ModelCard:
        params = _params(config)
        if "asl_edge.letters" in params:
            card = ModelCard.from_props(params)
        else:
            letters = self._server_labels(input_name, output_name, classes)
            card = ModelCard(input_name=input_name, output_name=output_name,
                             **({"letters": letters} if letters else {}))
        if len(card.letters) != classes:
            raise AslEdgeError(f"Triton model {self.model_name!r} has {classes} outputs but "
                               f"{len(card.letters)} labels")
        return card

    def _server_labels(self, input_name: str, output_name: str, classes: int
                       ) -> tuple[str, ...] | None:
        """Labels from the classification extension: infer zeros, ask for every class."""
        try:
            x = np.zeros((1, 28, 28, 1), np.float32)
            if self._tc is None:
                top = self._client.infer(self.model_name, x, input_name, output_name, classes)
            else:
                inp = self._tc.InferInput(input_name, list(x.shape), "FP32")
                inp.set_data_from_numpy(x)
                out = self._tc.InferRequestedOutput(output_name, class_count=classes)
                top = self._client.infer(self.model_name, [inp], outputs=[out]
                                         ).as_numpy(output_name)
        except Exception as e:
            log.debug("no labels from the server: %s", e)
            return None
        by_index = {}
        for entry in np.asarray(top).reshape(-1):
            text = entry.decode() if isinstance(entry, bytes) else str(entry)
            parts = text.split(":", 2)
            if len(parts) == 3:
                by_index[int(parts[1])] = parts[2]
        if len(by_index) != classes:
            return None
        return tuple(by_index[i] for i in range(classes))

    # --- Backend --------------------------------------------------------------------------

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = check_batch(batch, self.card.input_size)
        step = self.max_batch or len(batch) or 1
        if len(batch) <= step:
            return self._infer(batch)
        return np.concatenate([self._infer(batch[i:i + step])
                               for i in range(0, len(batch), step)])

    def _infer(self, x: np.ndarray) -> np.ndarray:
        try:
            if self._tc is None:
                return self._client.infer(self.model_name, x, self.card.input_name,
                                          self.card.output_name)
            inp = self._tc.InferInput(self.card.input_name, list(x.shape), "FP32")
            if self.protocol == "grpc":
                inp.set_data_from_numpy(x)
                out = self._tc.InferRequestedOutput(self.card.output_name)
            else:
                inp.set_data_from_numpy(x, binary_data=True)
                out = self._tc.InferRequestedOutput(self.card.output_name, binary_data=True)
            res = self._client.infer(self.model_name, [inp], outputs=[out])
            return res.as_numpy(self.card.output_name)
        except AslEdgeError:
            raise
        except Exception as e:
            raise AslEdgeError(f"Triton inference on {self.info.model} failed: "
                               f"{_one_line(e)}") from None

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a dead connection must not raise
                pass


def _tritonclient(protocol: str):
    try:
        if protocol == "grpc":
            import tritonclient.grpc as tc
        else:
            import tritonclient.http as tc
    except ImportError as e:
        raise BackendUnavailable(f"tritonclient[{protocol}] is not installed ({e}); "
                                 "pip install 'asl-edge[serve]'") from None
    return tc


def _params(config: dict) -> dict[str, str]:
    return {k: (v.get("string_value", "") if isinstance(v, dict) else str(v))
            for k, v in (config.get("parameters") or {}).items()}


def _grpc_config(config: dict) -> dict:
    """gRPC's JSON form of ModelConfig: camel-case keys and string int64s -> HTTP's form."""
    out = dict(config)
    out["max_batch_size"] = int(config.get("max_batch_size", config.get("maxBatchSize", 0)))
    for key in ("input", "output"):
        out[key] = [{**t, "dims": [int(d) for d in t.get("dims", [])]}
                    for t in config.get(key, [])]
    out["instance_group"] = config.get("instance_group", config.get("instanceGroup", []))
    return out


def _version(dist: str) -> str:
    try:
        import importlib.metadata as md

        return md.version(dist)
    except Exception:
        return "?"


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
