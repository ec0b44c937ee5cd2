"""Exact graph rewrites that make the exported network cheaper to run.

The seed model applies BatchNorm *after* ReLU, so tf2onnx leaves ``Relu -> Mul -> Add ->
MaxPool``: a per-channel affine on the full-size tensor, which no runtime folds into the
convolution before it. With positive scales MaxPool commutes with that affine
(max(s*x + b) = s*max(x) + b for s > 0; MaxPool's padding is ignored, not zero), so we pool
first and apply the affine to a tensor four times smaller. Results are identical up to float
rounding; the exporter's parity check against Keras verifies it every time.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque

import numpy as np

log = logging.getLogger(__name__)


def _consumers(graph) -> dict[str, list]:
    out = defaultdict(list)
    for n in graph.node:
        for i in n.input:
            out[i].append(n)
    return out


def _toposort(graph) -> None:
    """Reorder ``graph.node`` topologically (the rewrite moves producers after consumers)."""
    produced_by = {o: n for n in graph.node for o in n.output}
    nodes = list(graph.node)
    index = {id(n): i for i, n in enumerate(nodes)}
    deps = {id(n): {id(produced_by[i]) for i in n.input if i in produced_by} for n in nodes}
    users = defaultdict(list)
    for n in nodes:
        for d in deps[id(n)]:
            users[d].append(n)
    ready = deque(sorted((n for n in nodes if not deps[id(n)]), key=lambda n: index[id(n)]))
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for u in users[id(n)]:
            deps[id(u)].discard(id(n))
            if not deps[id(u)]:
                ready.append(u)
    if len(order) != len(nodes):
        raise ValueError("graph has a cycle after rewriting")
    del graph.node[:]
    graph.node.extend(order)


def pool_before_affine(model) -> int:
    """Rewrite ``Relu -> Mul(s) -> Add(b) -> MaxPool`` into ``Relu -> MaxPool -> Mul -> Add``
    wherever every ``s`` is a positive constant; returns how many places were rewritten."""
    from onnx import numpy_helper, shape_inference

    graph = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    users = _consumers(graph)
    rewritten = 0
    for pool in [n for n in graph.node if n.op_type == "MaxPool"]:
        add = producer.get(pool.input[0])
        mul = producer.get(add.input[0]) if add is not None and add.op_type == "Add" else None
        if mul is None or mul.op_type != "Mul":
            continue
        scale = consts.get(mul.input[1])
        if scale is None or add.input[1] not in consts or not np.all(scale > 0):
            continue
        if len(users[mul.output[0]]) != 1 or len(users[add.output[0]]) != 1:
            continue
        pooled = pool.output[0]
        pool.input[0] = mul.input[0]
        pool.output[0] = f"{pooled}__before_affine"
        mul.input[0] = pool.output[0]
        add.output[0] = pooled  # downstream nodes keep reading the same name
        rewritten += 1
    if rewritten:
        _toposort(graph)
        del graph.value_info[:]  # shapes of renamed tensors changed; infer them again
        model.CopyFrom(shape_inference.infer_shapes(model))
        log.debug("pooled before %d BatchNorm affines", rewritten)
    return rewritten
