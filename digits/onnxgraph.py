"""Canonical ONNX graphs: the same model always gives the same bytes, whatever order and names a converter chose.

tf2onnx names the tensors it creates with counters that differ from run to run (and names the traced
function, with a counter of the traces before it, in the graph's doc string), and orders independent branches
of a TFLite graph differently from run to run. `structural_order` sorts the nodes by what they compute;
`canonical_names` renames them in graph order and clears the doc string.
"""

import hashlib
import heapq

import onnx


def canonical_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with its nodes, inner tensors and symbolic dimensions renamed in the order the graph first uses them
    (inputs and outputs keep their names), initializers and value infos in that order too. The graph itself is
    unchanged."""
    graph = model.graph
    graph.doc_string = ""  # tf2onnx writes the traced function's name here, with a counter of earlier traces
    keep = {tensor.name for tensor in (*graph.input, *graph.output)}
    order: dict[str, int] = {}

    def renamed(name: str) -> str:
        if not name or name in keep:
            return name
        return f"t{order.setdefault(name, len(order))}"

    for number, node in enumerate(graph.node):
        node.input[:] = [renamed(name) for name in node.input]
        node.output[:] = [renamed(name) for name in node.output]
        node.name = f"{node.op_type}_{number}"
    dims: dict[str, str] = {}  # symbolic dimensions (tf2onnx: `unk__112`), renamed in order too
    for tensor in (*graph.input, *graph.output, *graph.value_info):
        for dim in tensor.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = dims.setdefault(dim.dim_param, f"d{len(dims)}")
    for items in (graph.initializer, graph.value_info):
        ordered = sorted(items, key=lambda item: order.get(item.name, len(order)))  # by the names the graph uses
        for item in ordered:
            item.name = renamed(item.name)
        del items[:]
        items.extend(ordered)
    return model


def unnamed_hash(item: onnx.TensorProto | onnx.AttributeProto) -> str:
    """SHA-256 of a tensor or an attribute, without the tensor's name (tf2onnx's names vary from run to run)."""
    item = type(item).FromString(item.SerializeToString())
    tensor = item if isinstance(item, onnx.TensorProto) else item.t
    tensor.name = ""
    return hashlib.sha256(item.SerializeToString(deterministic=True)).hexdigest()


def structural_order(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with its nodes in one topological order that depends only on what they compute: among the nodes
    ready to run, the one whose structural hash (operator, attributes, the hashes of what it reads) is lowest comes
    first. tf2onnx orders independent branches differently from run to run; this makes the order canonical."""
    graph = model.graph
    sources = {tensor.name: f"const:{unnamed_hash(tensor)}" for tensor in graph.initializer}
    sources |= {tensor.name: f"input:{tensor.name}" for tensor in graph.input}
    keys, producer = [], {}
    for number, node in enumerate(graph.node):  # the graph is topologically sorted already
        parts = [node.domain, node.op_type, *(unnamed_hash(attribute) for attribute in node.attribute)]
        parts += [sources.get(name, "") for name in node.input]
        keys.append(hashlib.sha256("|".join(parts).encode()).hexdigest())
        for index, name in enumerate(node.output):
            sources[name], producer[name] = f"{keys[-1]}:{index}", number
    waiting = [sum(name in producer for name in node.input) for node in graph.node]
    readers: dict[int, list[int]] = {}
    for number, node in enumerate(graph.node):
        for name in node.input:
            if name in producer:
                readers.setdefault(producer[name], []).append(number)
    ready = [(keys[n], n) for n, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, number = heapq.heappop(ready)
        order.append(graph.node[number])
        for reader in readers.get(number, []):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, (keys[reader], reader))
    nodes = [onnx.NodeProto.FromString(node.SerializeToString()) for node in order]
    del graph.node[:]
    graph.node.extend(nodes)
    return model
