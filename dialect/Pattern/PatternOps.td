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

#endif // PATTERN_OPS_TD
