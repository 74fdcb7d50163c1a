//===- PatternOps.td - pattern dialect operations ----------*- tablegen -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_OPS_TD
#define PATTERN_OPS_TD

include "Pattern/PatternAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Pattern_Op<string mnemonic, list<Trait> traits = []>
    : Op<Pattern_Dialect, mnemonic, traits>;

// Operands and attributes shared by the plain and the packed convolution.
defvar Pattern_ConvGeometry = (ins
  DenseI64ArrayAttr:$strides,
  DenseI64ArrayAttr:$padding,
  DenseI64ArrayAttr:$dilations,
  OptionalAttr<Pattern_ActivationAttr>:$activation,
  OptionalAttr<F32Attr>:$clamp_min,
  OptionalAttr<F32Attr>:$clamp_max,
  OptionalAttr<Pattern_ScheduleAttr>:$schedule
);

//===----------------------------------------------------------------------===//
// pattern.conv2d
//===----------------------------------------------------------------------===//

def Pattern_Conv2DOp : Pattern_Op<"conv2d", [Pure]> {
  let summary = "2-D convolution with pattern and connectivity sparsity";
  let description = [{
    A convolution of an NCHW input with `O` filters whose `KH x KW` kernels
    follow the patterns of `library`. `assignment` holds one entry per
    (output channel, input channel) pair in row-major order: the id of the
    pattern that kernel keeps, or -1 when connectivity pruning removed the
    whole kernel. `weights` stores only what is kept: one row of `taps`
    values per kept kernel, rows in the row-major order of `assignment`, taps
    in the increasing order of the pattern's tap indices. Storing the kept
    taps only is what makes the op cheaper than a dense convolution both in
    memory and in work, and why its shape is tied to `assignment`.

    `strides` and `dilations` are `[h, w]`, `padding` is
    `[top, left, bottom, right]` (zeros), as a `tensor.pad` before the
    convolution would have it. The epilogue adds `bias` (one value per output
    channel) and applies `activation`: `relu`, `relu6`, or `clamp` between
    `clamp_min` and `clamp_max`; a folded BatchNorm is already part of
    weights and bias. An optional `schedule` carries tuning parameters.

    Invariants: input `N x I x H x W`, output `N x O x OH x OW`, all static,
    f32; `assignment` has `O * I` entries in `[-1, P)`; `weights` is
    `K x taps` with `K` the number of kept kernels; `bias` is `O`;
    `OH = (H + top + bottom - dh * (KH - 1) - 1) / sh + 1` and likewise `OW`.

    ```mlir
    %y = pattern.conv2d %x, %w, %b
           library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
           assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1]
           dilations [1, 1] activation <relu>
           : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32>
             -> tensor<1x2x8x8xf32>
    ```
  }];
  let arguments = !con((ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[F32]>:$weights,
    Optional<RankedTensorOf<[F32]>>:$bias,
    Pattern_LibraryAttr:$library,
    DenseI32ArrayAttr:$assignment
  ), Pattern_ConvGeometry);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weights (`,` $bias^)?
    `library` $library
    `assignment` $assignment
    `strides` $strides `padding` $padding `dilations` $dilations
    (`activation` $activation^)?
    attr-dict `:` type($input) `,` type($weights) (`,` type($bias)^)?
    `->` type($output)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of kernels that connectivity pruning kept.
    int64_t getNumKeptKernels();
  }];
}

//===----------------------------------------------------------------------===//
// pattern.packed_conv2d
//===----------------------------------------------------------------------===//

def Pattern_PackedConv2DOp : Pattern_Op<"packed_conv2d", [Pure]> {
  let summary = "Pattern convolution after filter-kernel reorder and FKW packing";
  let description = [{
    The form lowering consumes: the same convolution as `pattern.conv2d`, with
    filters reordered so that filters of equal length and pattern mix are
    adjacent (filter-kernel reorder, FKR), and kernels stored in the
    filter-kernel-weight (FKW) streaming order, so that generated loops have
    uniform trip counts and never search for a kernel.

    * `filter_order[f]` is the output channel computed at reordered position
      `f` (a permutation of `[0, O)`);
    * `offsets` has `O * P + 1` non-decreasing entries from 0 to `K`: the
      kernels of reordered filter `f` that use pattern `p` are rows
      `offsets[f * P + p]` to `offsets[f * P + p + 1]` of the stream;
      per-filter kernel counts and pattern ids follow from it;
    * `channels[k]` is the input channel of stream row `k`; within one
      filter every channel appears at most once;
    * `weights` is `K x taps`, rows in stream order.

    FKW costs `4 * (O + O * P + 1 + K + K * taps)` bytes, less than CSR's
    `4 * (O + 1 + 2 * K * taps)` whenever a filter keeps more than a few
    kernels, and the stream is read strictly forward.

    ```mlir
    %y = pattern.packed_conv2d %x, %w
           library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
           filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
           strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
           : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
    ```
  }];
  let arguments = !con((ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[F32]>:$weights,
    Optional<RankedTensorOf<[F32]>>:$bias,
    Pattern_LibraryAttr:$library,
    DenseI32ArrayAttr:$filter_order,
    DenseI32ArrayAttr:$offsets,
    DenseI32ArrayAttr:$channels
  ), Pattern_ConvGeometry);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weights (`,` $bias^)?
    `library` $library
    `filter_order` $filter_order `offsets` $offsets `channels` $channels
    `strides` $strides `padding` $padding `dilations` $dilations
    (`activation` $activation^)?
    attr-dict `:` type($input) `,` type($weights) (`,` type($bias)^)?
    `->` type($output)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Block-sparse ops
//===----------------------------------------------------------------------===//

// The sparsity both block-sparse ops share: rows of `block_rows` consecutive
// outputs, each keeping a list of input columns.
defvar Pattern_BlockSparsity = (ins
  ConfinedAttr<I64Attr, [IntMinValue<1>, IntMaxValue<64>]>:$block_rows,
  DenseI32ArrayAttr:$offsets,
  DenseI32ArrayAttr:$channels
);

def Pattern_BlockConv2DOp : Pattern_Op<"block_conv2d", [Pure]> {
  let summary = "2-D convolution whose weights are pruned in blocks of output channels";
  let description = [{
    A convolution of an NCHW input with `O` filters of `KH x KW`, pruned in
    blocks: a block is `block_rows` consecutive output channels times one
    input channel times the whole kernel window, and is either kept or
    removed. This is the structure block-structured pruning gives every conv
    that is not a pattern conv (1x1, 5x5, 7x7, ...); generated code broadcasts
    one weight per output row against a vector of output pixels, so the rows
    of a block share one list of input channels and no work is wasted.

    The weights are stored compact, the kept blocks only, in stream order:
    * output channels are split into `R = ceil(O / block_rows)` row blocks;
      row block `b` keeps stream entries `offsets[b]` to `offsets[b + 1]`
      (`offsets` has `R + 1` non-decreasing entries from 0 to `K`);
    * `channels[k]` is the input channel of stream entry `k`, strictly
      increasing within a row block;
    * `weights` is `K x (KH * KW) x block_rows`: entry `k`, tap `t` (row-major
      in the window), row `r` of the block; rows past `O` in the last block
      are zero.
    This costs `4 * (K * KH * KW * block_rows + K + R + 1)` bytes, about half
    of CSR's `4 * (2 * nnz + O + 1)` for the same weights.

    `kernel` is `[KH, KW]`; `strides` and `dilations` are `[h, w]`, `padding`
    is `[top, left, bottom, right]` (zeros). `bias` has one value per output
    channel. Elementwise consumers are fused when the op is lowered.

    ```mlir
    %y = pattern.block_conv2d %x, %w, %b kernel [1, 1] block_rows 8
           offsets [0, 2] channels [0, 3]
           strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
           : tensor<1x4x8x8xf32>, tensor<2x1x8xf32>, tensor<8xf32>
             -> tensor<1x8x8x8xf32>
    ```
  }];
  let arguments = !con((ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[F32]>:$weights,
    Optional<RankedTensorOf<[F32]>>:$bias,
    DenseI64ArrayAttr:$kernel
  ), Pattern_BlockSparsity, (ins
    DenseI64ArrayAttr:$strides,
    DenseI64ArrayAttr:$padding,
    DenseI64ArrayAttr:$dilations
  ));
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weights (`,` $bias^)?
    `kernel` $kernel `block_rows` $block_rows
    `offsets` $offsets `channels` $channels
    `strides` $strides `padding` $padding `dilations` $dilations
    attr-dict `:` type($input) `,` type($weights) (`,` type($bias)^)?
    `->` type($output)
  }];
  let hasVerifier = 1;
}

def Pattern_BlockMatmulOp : Pattern_Op<"block_matmul", [Pure]> {
  let summary = "Matrix product with a constant weight pruned in blocks of output features";
  let description = [{
    `output[m, n] = bias[n] + sum_c input[m, c] * W[n, c]` for an `M x C`
    input and an `N x C` weight `W` (a linear layer, a recurrent layer's gate
    matrix, an attention projection) pruned in blocks of `block_rows`
    consecutive output features times one input feature. Generated code
    holds one block, the weights of `block_rows` outputs for one input, in one
    vector register (two on NEON), so every kept block is whole vector FMAs
    and nothing is gathered.

    The encoding is `pattern.block_conv2d`'s with a 1x1 window: `offsets`
    (`ceil(N / block_rows) + 1` entries) and `channels` (input features,
    strictly increasing within a row block) describe the kept blocks,
    `weights` is `K x block_rows` in stream order, rows past `N` zero.

    ```mlir
    %y = pattern.block_matmul %x, %w, %b block_rows 8
           offsets [0, 1, 3] channels [5, 0, 2]
           : tensor<4x6xf32>, tensor<3x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
    ```
  }];
  let arguments = !con((ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[F32]>:$weights,
    Optional<RankedTensorOf<[F32]>>:$bias
  ), Pattern_BlockSparsity);
  let results = (outs RankedTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weights (`,` $bias^)?
    `block_rows` $block_rows `offsets` $offsets `channels` $channels
    attr-dict `:` type($input) `,` type($weights) (`,` type($bias)^)?
    `->` type($output)
  }];
  let hasVerifier = 1;
}

#endif // PATTERN_OPS_TD
