"""A generated 2-D transpose: 8 x 8 tiles through registers, edges element by element.

The block-sparse kernels read their input transposed (passes/dense/block_sparse.py), and a
matmul of runtime operands its B when B's columns are not contiguous (k^T of attention,
passes/dense/contraction.py): a batch of matrices, each row at a stride of the input. A transpose
lowered from `linalg.transpose` reads one element per cache line on one side and ran longer
than the sparse kernel it feeds; here each 8 x 8 tile is eight 8-lane row loads, a network of
24 shuffles (pairs of elements, then pairs of pairs, then halves: the same butterfly as
AArch64's trn1/trn2 or x86's unpack/shuffle/permute sequence, which LLVM selects) and eight
row stores. Rows and columns past the last full tile are copied one element at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TransposeLayout", "emit_transpose"]

_VT = "vector<8xf32>"
# Stage masks over the 16 lanes of two concatenated vectors: interleave single elements,
# then pairs, then halves.
_STAGES = (
    ([0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]),
    ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]),
    ([0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]),
)


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def op(self, text: str) -> str:
        self.count += 1
        name = f"%v{self.count}"
        self.lines.append(f"    {name} = {text}")
        return name

    def shuffle(self, a: str, b: str, mask: list[int]) -> str:
        return self.op(f"vector.shuffle {a}, {b} [{', '.join(map(str, mask))}] : {_VT}, {_VT}")


@dataclass(frozen=True)
class TransposeLayout:
    """Where the transposed matrices lie in the input buffer (the output is contiguous,
    [batch][cols][rows]): row r of matrix b starts at offset + b * batch_stride + r * ld. The
    defaults are one contiguous rows x cols matrix."""

    in_size: int
    offset: int = 0
    ld: int = 0  # elements between rows; 0: cols
    batch: int = 1
    batch_stride: int = 0


def _tile(rows: int, cols: int, layout: TransposeLayout, ld: int) -> list[str]:
    """The body of one tile at (%i, %j) of matrix %b: out[b][j + c][i + r] = in[b][i + r][j + c],
    r, c < 8."""
    w = _Lines()
    src, dst = f"memref<{layout.in_size}xf32>", f"memref<{layout.batch * rows * cols}xf32>"
    vectors = []
    for r in range(8):
        at = w.op(
            f"affine.apply affine_map<(d0, d1, d2) -> ({layout.offset} + d2 * "
            f"{layout.batch_stride} + (d0 + {r}) * {ld} + d1)>(%i, %j, %b)"
        )
        vectors.append(w.op(f"vector.load %in[{at}] : {src}, {_VT}"))
    # Stage 1 pairs rows (2k, 2k+1); stage 2 pairs results 2 apart; stage 3 pairs 4 apart.
    s1 = []
    for k in range(4):
        s1 += [w.shuffle(vectors[2 * k], vectors[2 * k + 1], m) for m in _STAGES[0]]
    s2 = [""] * 8
    for base in (0, 4):
        for parity in (0, 1):
            p, q = s1[base + parity], s1[base + 2 + parity]
            s2[base + parity], s2[base + 2 + parity] = (w.shuffle(p, q, m) for m in _STAGES[1])
    columns = [""] * 8
    for k in range(4):
        columns[k], columns[k + 4] = (w.shuffle(s2[k], s2[k + 4], m) for m in _STAGES[2])
    for c in range(8):
        at = w.op(
            f"affine.apply affine_map<(d0, d1, d2) -> (d2 * {rows * cols} + (d1 + {c}) * {rows}"
            f" + d0)>(%i, %j, %b)"
        )
        w.lines.append(f"    vector.store {columns[c]}, %out[{at}] : {dst}, {_VT}")
    return w.lines


def _scalar_copy(
    rows: int,
    cols: int,
    layout: TransposeLayout,
    ld: int,
    i_range: tuple[int, int],
    j_range: tuple[int, int],
) -> list[str]:
    if i_range[0] >= i_range[1] or j_range[0] >= j_range[1]:
        return []
    src, dst = f"memref<{layout.in_size}xf32>", f"memref<{layout.batch * rows * cols}xf32>"
    return [
        f"  scf.for %si = %c{i_range[0]} to %c{i_range[1]} step %c1 {{",
        f"    scf.for %sj = %c{j_range[0]} to %c{j_range[1]} step %c1 {{",
        f"      %sa = affine.apply affine_map<(d0, d1, d2) -> ({layout.offset} + d2 * "
        f"{layout.batch_stride} + d0 * {ld} + d1)>(%si, %sj, %b)",
        f"      %sb = affine.apply affine_map<(d0, d1, d2) -> (d2 * {rows * cols} + d1 * {rows}"
        f" + d0)>(%si, %sj, %b)",
        f"      %sv = memref.load %in[%sa] : {src}",
        f"      memref.store %sv, %out[%sb] : {dst}",
        "    }",
        "  }",
    ]


def emit_transpose(name: str, rows: int, cols: int, layout: TransposeLayout | None = None) -> str:
    """func.func @name(%in, %out): each of `layout.batch` rows x cols matrices of %in (where
    `layout` puts them; by default %in is one contiguous matrix) transposed into %out,
    [batch][cols][rows], both flat f32 memrefs."""
    layout = layout or TransposeLayout(rows * cols)
    ld = layout.ld or cols
    src, dst = f"memref<{layout.in_size}xf32>", f"memref<{layout.batch * rows * cols}xf32>"
    full_rows, full_cols = rows - rows % 8, cols - cols % 8
    constants = sorted({0, 1, 8, full_rows, full_cols, rows, cols, layout.batch})
    lines = [f"func.func private @{name}(%in: {src}, %out: {dst}) {{"]
    lines += [f"  %c{c} = arith.constant {c} : index" for c in constants]
    lines.append(f"  scf.for %b = %c0 to %c{layout.batch} step %c1 {{")
    if full_rows and full_cols:
        lines += [
            f"  scf.for %i = %c0 to %c{full_rows} step %c8 {{",
            f"   scf.for %j = %c0 to %c{full_cols} step %c8 {{",
        ]
        lines += _tile(rows, cols, layout, ld)
        lines += ["   }", "  }"]
    lines += _scalar_copy(rows, cols, layout, ld, (0, full_rows), (full_cols, cols))
    lines += _scalar_copy(rows, cols, layout, ld, (full_rows, rows), (0, cols))
    lines += ["  }", "  return", "}"]
    return "\n".join(lines) + "\n"
