"""Plans for matmuls whose operands are runtime tensors (attention: q @ k^T, weights @ v, bmm).

A `linalg.matmul` or `linalg.batch_matmul` of activations, in any of the operand layouts
their `indexing_maps` allow (transposed A or B included), becomes one call of the dense GEMM
kernel (dense_gemm.py) that reads both operands in place: A element by element at any
strides, B a vector of the output's columns at a time, so B needs its column dimension
contiguous. Neither operand is packed, since each is read as often as a packed copy would
be. Operands reach the kernel through their chains of reshapes, transposes and slices
(strided_view.py): q, k and v sliced out of one projection, heads moved in front of tokens,
are read where the projection wrote them. Only a B whose columns are not contiguous keeps
its transpose (k^T of attention: k's rows are its columns), a copy of one operand against
the product's M * N * K multiply-adds.

The batch (attention heads) is a loop in the kernel (GemmSpec.batch); with several threads
the heads are shared out when they divide evenly, otherwise each product splits its column
tiles. A fill (zero or a constant) or an output tensor to accumulate into initialises the
product; elementwise consumers fuse into the stores (passes/dense/epilogue.py).
"""

from __future__ import annotations

from mlir import ir

from ...codegen.dense_gemm import GemmSpec, emit_gemm
from ...codegen.memref_text import memref_type as _memref
from ...codegen.memref_text import static_f32_shape as _shape
from ...codegen.transpose_kernel import TransposeLayout, emit_transpose
from ...target import Target
from ..utils.constants import defining_op, scalar_constant
from ..utils.strided_view import View, row_major, view_of
from .epilogue import fuse_consumers

__all__ = ["plan_contraction"]


def _dims(attr) -> list[list[int]] | None:
    """Per operand, the loop dimension of each tensor dimension (projected permutations only)."""
    dims = []
    for m in ir.ArrayAttr(attr):
        amap = ir.AffineMapAttr(m).value
        row = []
        for expr in amap.results:
            if not isinstance(expr, ir.AffineDimExpr):
                return None
            row.append(expr.position)
        dims.append(row)
    return dims


def _roles(dims: list[list[int]], loops: int) -> dict[str, list[int]] | None:
    """Loop dimensions by role: batch (in A, B, out), m (A, out), n (B, out), k (A, B)."""
    a, b, out = (set(d) for d in dims)
    roles = {"batch": [], "m": [], "n": [], "k": []}
    for d in range(loops):
        key = {
            (True, True, True): "batch",
            (True, False, True): "m",
            (False, True, True): "n",
            (True, True, False): "k",
        }.get((d in a, d in b, d in out))
        if key is None:
            return None
        roles[key].append(d)
    return roles


def _stride(view: View, dims: list[int], loop: int | None) -> int:
    """Elements of the view's base between neighbours along loop dimension `loop`."""
    if loop is None:
        return 0
    return sum(s for s, d in zip(view.strides, dims) if d == loop)


def _init(value: ir.Value):
    """('zero' | 'const', value) for a fill of a constant, ('load', tensor) otherwise."""
    fill = defining_op(value, "linalg.fill")
    if fill is not None:
        c = scalar_constant(fill.operands[0])
        if c is not None:
            return ("zero", 0.0) if c == 0.0 else ("const", float(c))
    return ("load", value)


def plan_contraction(op: ir.Operation, name: str, target: Target, groups: int):
    """linalg.matmul / linalg.batch_matmul of runtime (or constant) f32 tensors, any indexing maps
    whose dimensions are plain loop indices; None for what the kernel cannot address."""
    from .plans import Lowering, _call, _entry, _pick_block  # plans.py dispatches here: late

    if len(op.operands) != 3 or "indexing_maps" not in op.attributes:
        return None
    shapes = [_shape(v) for v in (*op.operands, op.results[0])]
    if any(s is None for s in shapes):
        return None
    dims = _dims(op.attributes["indexing_maps"])
    if dims is None or len(dims) != 3:
        return None
    loops = 1 + max(d for row in dims for d in row)
    roles = _roles(dims, loops)
    if roles is None or any(len(roles[r]) != 1 for r in ("m", "n", "k")):
        return None
    a_in, b_in = op.operands[0], op.operands[1]
    if dims[2] and dims[2][-1] in roles["m"]:
        # The kernel vectorises the output's last dimension, which must be B's: swap the factors.
        dims, shapes = [dims[1], dims[0], dims[2]], [shapes[1], shapes[0], *shapes[2:]]
        a_in, b_in = b_in, a_in
        roles = _roles(dims, loops)
    extent = {}
    for row, shape in zip(dims, shapes):
        for d, size in zip(row, shape):
            extent[d] = size
    # Batch dimensions of one element are no loop; the kernel has one batch loop.
    batch_dims = [d for d in roles["batch"] if extent[d] != 1]
    if len(batch_dims) > 1:
        return None
    bdim = batch_dims[0] if batch_dims else None
    (mdim,), (ndim,), (kdim,) = roles["m"], roles["n"], roles["k"]
    m, n, k = extent[mdim], extent[ndim], extent[kdim]
    batch = extent[bdim] if bdim is not None else 1
    out_shape = shapes[3]
    out_strides = row_major(out_shape)
    out_view = View(op.results[0], out_shape, 0, out_strides)
    if _stride(out_view, dims[2], ndim) != 1:
        return None  # the kernel stores vectors along n
    a_view = view_of(a_in)
    # B is read a vector of columns at a time: it may come from up its chain only while its
    # columns stay contiguous.
    b_view = view_of(b_in, keep=lambda v: _stride(v, dims[1], ndim) == 1)
    b_copy, b_dims = None, dims[1]
    source = view_of(b_in)
    if _transposed(source, dims[1], kdim, ndim, k):
        # B is a transpose of rows of k (k^T of attention): the entry transposes them
        # through registers, where the transpose in front of the matmul ran element by
        # element.
        b_copy = source
        b_view, b_dims = View(b_in, (batch, k, n), 0, (k * n, n, 1)), [bdim, kdim, ndim]
    elif _stride(b_view, dims[1], ndim) != 1:
        # No layout up the chain has B's columns contiguous: the entry copies B to [batch][k][n].
        b_copy = b_view
        b_view, b_dims = View(b_in, (batch, k, n), 0, (k * n, n, 1)), [bdim, kdim, ndim]
    am, ak, ab = (_stride(a_view, dims[0], d) for d in (mdim, kdim, bdim))
    bk, bb = (_stride(b_view, b_dims, d) for d in (kdim, bdim))
    om, ob = (_stride(out_view, dims[2], d) for d in (mdim, bdim))
    init_kind, init_value = _init(op.operands[2])
    epi = fuse_consumers(op.results[0], allow_residual=True)

    v = target.lanes
    mr, nv = _pick_block(target, m, n)
    unroll = 4 if k % 4 == 0 else (2 if k % 2 == 0 else 1)
    out_size = out_strides[0] * out_shape[0] if out_shape else 1
    spec = GemmSpec(
        name=name,
        m=m,
        n=n,
        c=k // unroll,
        a_size=a_view.base_size,
        b_size=b_view.base_size,
        out_size=out_size,
        out_stride=om,
        mr=mr,
        nv=nv,
        vector=v,
        a_tap=tuple(a_view.offset + t * ak for t in range(unroll)),
        b_tap=tuple(b_view.offset + t * bk for t in range(unroll)),
        a_cstride=unroll * ak,
        b_cstride=unroll * bk,
        a_istride=am,
        a_panel=mr * am,
        b_panel=nv * v,
        init="load" if init_kind == "load" else init_kind,
        init_value=init_value,
        groups=groups,
        a_lanes=not target.fma_memory_operand,
        epilogue=epi,
        residual=epi.residual is not None,
        batch=batch,
        a_batch=ab,
        b_batch=bb,
        out_batch=ob,
    )
    lw = Lowering(
        entry=f"{name}_entry",
        text="",
        kind="bmm" if batch > 1 else "matmul-rt",
        macs=batch * m * n * k,
    )
    params, operands, call_args, body = [], [], [], []
    transpose = ""  # the kernel transposing B, where B is copied that way

    def flat(param: str, value: ir.Value, shape) -> str:
        size = 1
        for d in shape:
            size *= d
        params.append((param, _memref(shape)))
        operands.append(value)
        if len(shape) == 1:
            return f"%{param}"
        groups_ = ", ".join(str(i) for i in range(len(shape)))
        body.append(
            f"%{param}flat = memref.collapse_shape %{param} [[{groups_}]] : {_memref(shape)} "
            f"into {_memref((size,))}"
        )
        return f"%{param}flat"

    call_args.append((flat("a", a_view.base, a_view.base_shape), _memref((spec.a_size,))))
    if b_copy is None:
        call_args.append((flat("b", b_view.base, b_view.base_shape), _memref((spec.b_size,))))
    else:
        copied, transpose = _copy_b(
            f"{name}_bt",
            flat("b", b_copy.base, b_copy.base_shape),
            b_copy,
            dims[1],
            (bdim, kdim, ndim),
            (batch, k, n),
            body,
        )
        call_args.append((copied, _memref((spec.b_size,))))
    if epi.residual is not None:
        call_args.append((flat("res", epi.residual, out_shape), _memref((out_size,))))
    if init_kind == "load":
        params.append(("init", _memref(out_shape)))
        operands.append(init_value)
        body.append(
            f"linalg.copy ins(%init : {_memref(out_shape)}) outs(%out : {_memref(out_shape)})"
        )
    params.append(("out", _memref(out_shape)))
    if len(out_shape) == 1:
        call_args.append(("%out", _memref((out_size,))))
    else:
        groups_ = ", ".join(str(i) for i in range(len(out_shape)))
        body.append(
            f"%oflat = memref.collapse_shape %out [[{groups_}]] : {_memref(out_shape)} "
            f"into {_memref((out_size,))}"
        )
        call_args.append(("%oflat", _memref((out_size,))))
    body.append(_call(name, call_args))
    lw.text = emit_gemm(spec) + transpose + _entry(lw.entry, params, body)
    lw.operands = operands
    lw.fused = epi.ops
    return lw


def _transposed(view: View, dims: list[int], kdim: int, ndim: int, k: int) -> bool:
    """Whether B, read at `view`, has rows of k contiguous elements along n: a transpose
    `_copy_b` does through registers."""
    return _stride(view, dims, kdim) == 1 and _stride(view, dims, ndim) >= k


def _copy_b(
    name: str,
    flat_b: str,
    view: View,
    dims: list[int],
    loops: tuple,
    shape: tuple[int, int, int],
    body: list[str],
) -> tuple[str, str]:
    """Entry lines copying B (read at `view`'s strides) into a row-major [batch][k][n] buffer;
    returns the buffer and the text of the function they call, if any.

    Where B is stored transposed, rows of k contiguous (k^T of attention: k's rows), the copy
    is a transpose through registers (codegen/transpose_kernel.py); any other layout is a
    strided `linalg.copy`, element by element."""
    from .plans import _call  # plans.py dispatches here: import late

    batch, k, n = shape
    size = batch * k * n
    strides = [_stride(view, dims, d) for d in loops]
    body.append(f"%bcopy = memref.alloc() {{alignment = 64 : i64}} : {_memref((size,))}")
    if _transposed(view, dims, loops[1], loops[2], k):
        layout = TransposeLayout(
            view.base_size, view.offset, strides[2], batch, strides[0] if batch > 1 else 0
        )
        body.append(
            _call(name, [(flat_b, _memref((view.base_size,))), ("%bcopy", _memref((size,)))])
        )
        return "%bcopy", emit_transpose(name, n, k, layout)
    strided = (
        f"memref<{batch}x{k}x{n}xf32, strided<[{strides[0]}, {strides[1]}, {strides[2]}], "
        f"offset: {view.offset}>>"
    )
    body += [
        f"%bsrc = memref.reinterpret_cast {flat_b} to offset: [{view.offset}], sizes: [{batch}, {k}, {n}], "
        f"strides: [{strides[0]}, {strides[1]}, {strides[2]}] : {_memref((view.base_size,))} to {strided}",
        f"%bcopy3 = memref.expand_shape %bcopy [[0, 1, 2]] output_shape [{batch}, {k}, {n}] : "
        f"{_memref((size,))} into {_memref(shape)}",
        f"linalg.copy ins(%bsrc : {strided}) outs(%bcopy3 : {_memref(shape)})",
    ]
    return "%bcopy", ""


def plan_generic_contraction(op: ir.Operation, name: str, target: Target, groups: int):
    """A linalg.generic that is a matmul in disguise: two inputs, one reduction loop, body
    `out + in0 * in1` (either order); other generics return None at once."""
    if len(op.operands) != 3 or len(op.results) != 1:
        return None
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if sum("reduction" in it for it in iterators) != 1:
        return None
    block = op.regions[0].blocks[0]
    body = list(block.operations)
    if len(body) != 3 or [o.operation.name for o in body] != [
        "arith.mulf",
        "arith.addf",
        "linalg.yield",
    ]:
        return None
    mul, add, yielded = (o.operation for o in body)
    in0, in1, acc = block.arguments
    if set(mul.operands) != {in0, in1} or mul.operands[0] == mul.operands[1]:
        return None
    if set(add.operands) != {mul.results[0], acc} or yielded.operands[0] != add.results[0]:
        return None
    return plan_contraction(op, name, target, groups)
