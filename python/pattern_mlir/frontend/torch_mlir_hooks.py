"""Importer hooks for torch-mlir; imported only in the import child process.

torch-mlir turns every weight into an attribute through `tensor.tolist()`, one
Python float per element: over a minute for ResNet-50's 25M weights.
`FastLiterals` makes the same `torch.vtensor.literal` ops (same values, same
blob names) straight from the tensor's memory. A test imports a model both
ways and requires identical modules. It also keeps each array by its blob's
final name (`arrays`), so the child can hand the weights over raw.
"""

from __future__ import annotations

import os
import re

import torch
from torch_mlir.extras.fx_importer import FxImporterHooks, create_mlir_tensor_type
from torch_mlir.ir import DenseResourceElementsAttr, Operation

from .weight_files import resource_name


class FastLiterals(FxImporterHooks):
    """Float32 weight tensors -> torch.vtensor.literal with a dense_resource blob, no tolist()."""

    def __init__(self):
        super().__init__()
        self.arrays: dict[str, object] = {}  # blob name -> numpy array

    def resolve_literal(self, gni, literal, info):
        if not isinstance(literal, torch.Tensor) or literal.dtype != torch.float32:
            return None
        if literal.numel() <= 1:  # torch-mlir makes these splat attributes; keep its path
            return None
        array = literal.detach().contiguous().numpy()
        shape = "_".join(str(d) for d in literal.shape)
        attr = DenseResourceElementsAttr.get_from_buffer(
            array, f"torch_tensor_{shape}_{literal.dtype}", create_mlir_tensor_type(literal)
        )
        # The blob manager renames a taken name (`..._1`); the attribute prints the final one.
        self.arrays[resource_name(attr)] = array
        vtensor = gni._cc.tensor_to_vtensor_type(literal)
        return Operation.create(
            "torch.vtensor.literal", results=[vtensor], attributes={"value": attr}
        ).result


def run_pipeline_without_repro_text(
    module, pipeline: str, description: str, enable_ir_printing: bool = False
):
    """torch-mlir's `run_pipeline_with_repro_report`, minus the text it prints up front.

    That function prints the whole module with `large_elements_limit` before every
    pipeline, for a report used only on failure; `dense_resource` blobs are not elided by
    that limit, so for VGG-16 it rendered 1.1 GB of hex: 5 of the 6 seconds the lowering
    to linalg took. Here the pipeline just runs; a failure raises MLIRError with
    its diagnostics, which the import child passes on as its error message.
    """
    from torch_mlir.passmanager import PassManager

    with module.context as context:
        context.emit_error_diagnostics = True
        manager = PassManager.parse(pipeline)
        if enable_ir_printing:
            context.enable_multithreading(False)
            manager.enable_ir_printing()
        try:
            manager.run(module.operation)
        except Exception as error:
            raise RuntimeError(f"{description} failed: {error}") from error


def _user_frame(stack_trace: str) -> tuple[str, int] | None:
    """The innermost frame of `stack_trace` outside torch itself: the user's source line."""
    frames = re.findall(r'File "([^"]+)", line ([0-9]+),', stack_trace or "")
    for path, line in reversed(frames):
        if f"{os.sep}torch{os.sep}" not in path:
            return path, int(line)
    return (frames[-1][0], int(frames[-1][1])) if frames else None


def node_location(cache, node):
    """An FX node's location, named for a reader: the torch op and the module it ran in,
    at the user's source line (torch-mlir's own location is the innermost frame, usually a
    line of torch.nn)."""
    from torch_mlir.ir import Location

    op = str(node.target)
    modules = node.meta.get("nn_module_stack") or {}
    path, kind = list(modules.values())[-1] if modules else ("", "")
    # The innermost submodule, e.g. "body.1 (GELU)"; its class comes as a type or as text.
    kind = getattr(kind, "__name__", None) or str(kind).rsplit(".", 1)[-1].rstrip("'>")
    op += f" in {path} ({kind})" if path else " in forward"
    frame = _user_frame(node.meta.get("stack_trace"))
    child = (
        Location.file(frame[0], frame[1], 0, context=cache._c)
        if frame
        else Location.unknown(context=cache._c)
    )
    return Location.name(op, childLoc=child, context=cache._c)


def copy_state_in_lists(exported) -> None:
    """Puts an `aten.clone` between a weight, buffer or constant and every list that holds it.

    torch-mlir's frozen import replaces such graph inputs by their tensors, and a tensor
    inside a list argument (the index list of `x[:, idx]` once torch.fx has made `idx` a
    buffer) then fails its list import ("Heterogeneous lists are not supported"). A clone is
    a node of its own, which the importer turns into a literal and a copy that folds away.
    """
    signature = exported.graph_signature
    state = {
        *signature.inputs_to_parameters,
        *signature.inputs_to_buffers,
        *signature.inputs_to_lifted_tensor_constants,
    }
    graph = exported.graph
    changed = False
    for node in list(graph.nodes):
        if node.op != "call_function":
            continue
        args = list(node.args)
        for position, arg in enumerate(args):
            if not isinstance(arg, (list, tuple)):
                continue
            items = list(arg)
            for index, item in enumerate(items):
                if (
                    isinstance(item, torch.fx.Node)
                    and item.op == "placeholder"
                    and item.name in state
                ):
                    with graph.inserting_before(node):
                        items[index] = graph.call_function(torch.ops.aten.clone.default, (item,))
                        items[index].meta.update(item.meta)
                    changed = True
            args[position] = type(arg)(items)
        node.args = tuple(args)
    if changed:
        exported.graph_module.recompile()
