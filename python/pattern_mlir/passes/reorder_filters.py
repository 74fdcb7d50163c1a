"""pattern-reorder-filters: filter-kernel reorder (FKR) of every pattern.conv2d.

Groups filters of equal kept-kernel count and pattern mix, so the generated loops
have uniform trip counts, filter blocks run their kernels in lockstep and thread
groups get equal work. The order is written as `pattern.filter_order` (reordered
position -> original filter), which `pattern-pack-fkw` packs in; the op's result
keeps the original channel order (the kernels store each filter to its channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir

from ..codegen import fkw
from .registry import ModulePass, register_pass
from .utils.conv_info import collect_ops, read_conv

FILTER_ORDER_ATTR = "pattern.filter_order"


def reorder(op: ir.Operation) -> None:
    info = read_conv(op)
    assignment = np.array(list(op.attributes["assignment"]), np.int32).reshape(
        info.output_shape[1], info.input_shape[1]
    )
    order = fkw.filter_kernel_reorder(assignment, len(info.library))
    op.attributes[FILTER_ORDER_ATTR] = ir.DenseI32ArrayAttr.get(order.tolist())


@register_pass
@dataclass(frozen=True)
class ReorderFilters(ModulePass):
    """Filter-kernel reorder: order filters by kept-kernel count and pattern mix."""

    name: ClassVar[str] = "pattern-reorder-filters"

    def apply(self, module: ir.Operation) -> None:
        for op in collect_ops(module, "pattern.conv2d"):
            reorder(op)
