"""The call path of a compiled model for torch tensors, written out for its signature.

A small op's kernel takes about as long as the Python around its call, and its data evicts
the interpreter's from the caches, so every bytecode between the caller and the kernel costs
more than it does alone: the generic loops (over the inputs to check them, over the buffers
to fill the descriptors) made a small activation's call slower than torch's own (measured
in docs/runtime.md). So the path is generated once per executable as straight-line code for
its number of inputs and outputs, the way `dataclasses` writes `__init__`: no loop, every
constant bound in its namespace.

The path takes CPU tensors of the right dtypes and shapes, contiguous, and integer inputs
within their bounds; it returns None for anything else, which the caller sends down the
checked numpy path (which converts or refuses it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .call_signature import TensorSpec
from .memref_arguments import MemRefArguments

__all__ = ["tensor_call"]


def _torch_dtype(torch, spec: TensorSpec):
    return torch.from_numpy(np.empty(0, spec.dtype)).dtype


def tensor_call(
    torch,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
    arguments: MemRefArguments,
    enter: Callable,
    within: Callable,
) -> Callable:
    """`call(inputs_tuple)`: the results (one tensor, or a tuple), or None where the inputs are
    not what the fast path takes. `arguments` are the descriptors of inputs then outputs,
    `enter(block)` runs the code on one block of them, `within(tensor, bounds)` checks an
    integer input's values."""
    names: dict[str, object] = {
        "Tensor": torch.Tensor,
        "empty_like": torch.empty_like,
        "free": arguments.free,
        "take": arguments.take,
        "enter": enter,
        "within": within,
    }
    lines = ["def call(inputs):", f"    if len(inputs) != {len(inputs)}:", "        return None"]
    if inputs:
        lines.append(f"    {''.join(f'x{i}, ' for i in range(len(inputs)))}= inputs")
    for i, spec in enumerate(inputs):
        names[f"dtype{i}"], names[f"shape{i}"] = _torch_dtype(torch, spec), torch.Size(spec.shape)
        bounds = ""
        if spec.bounds is not None:
            names[f"bounds{i}"] = spec.bounds
            bounds = f" or not within(x{i}, bounds{i})"
        lines += [
            f"    if (not isinstance(x{i}, Tensor) or x{i}.dtype != dtype{i}"
            f" or x{i}.shape != shape{i} or not x{i}.is_contiguous() or not x{i}.is_cpu{bounds}):",
            "        return None",
        ]
    for j, spec in enumerate(outputs):
        # A template that holds no memory (one element seen at every position): empty_like
        # gives a contiguous tensor from torch's allocator, 64-byte aligned, for about what
        # numpy's allocation costs and without torch.empty's argument parsing. numpy's
        # buffers start 16 bytes past a cache line, which splits every full-width store.
        names[f"template{j}"] = torch.empty((), dtype=_torch_dtype(torch, spec)).expand(spec.shape)
        lines.append(f"    y{j} = empty_like(template{j})")
    # list.pop and list.append are atomic under the GIL: a block per call in flight, no lock.
    lines += ["    block = free.pop() if free else take(())", "    fields = block.fields"]
    buffers = [f"x{i}" for i in range(len(inputs))] + [f"y{j}" for j in range(len(outputs))]
    for slot, buffer in zip(arguments.slots, buffers):
        lines.append(f"    fields[{slot}] = fields[{slot + 1}] = {buffer}.data_ptr()")
    results = [f"y{j}" for j in range(len(outputs))]
    lines += [
        "    enter(block)",
        "    free.append(block)",
        f"    return {results[0] if len(results) == 1 else '(' + ', '.join(results) + ',)'}",
    ]
    namespace: dict[str, object] = {}
    exec("\n".join(lines), names, namespace)  # our own text, built above
    return namespace["call"]
