//===- PatternAttrs.td - pattern dialect attributes --------*- tablegen -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_ATTRS_TD
#define PATTERN_ATTRS_TD

include "Pattern/PatternDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Pattern_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Pattern_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Pattern_Activation : I32EnumAttr<"Activation",
    "activation fused into the convolution epilogue", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"relu", 1>,
      I32EnumAttrCase<"relu6", 2>,
      I32EnumAttrCase<"clamp", 3>
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::pattern";
}

def Pattern_ActivationAttr : EnumAttr<Pattern_Dialect, Pattern_Activation,
                                      "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Pattern_LoopOrder : I32EnumAttr<"LoopOrder",
    "loop order of a pattern convolution", [
      I32EnumAttrCase<"rows_outer", 0>,
      I32EnumAttrCase<"filters_outer", 1>
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::pattern";
}

def Pattern_KernelOrder : I32EnumAttr<"KernelOrder",
    "order of a filter's kernels in a pattern convolution's inner loop", [
      I32EnumAttrCase<"by_pattern", 0>,
      I32EnumAttrCase<"by_channel", 1>
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::pattern";
}

//===----------------------------------------------------------------------===//
// #pattern.library
//===----------------------------------------------------------------------===//

def Pattern_LibraryAttr : Pattern_Attr<"Library", "library"> {
  let summary = "An ordered library of kernel patterns with equal tap counts";
  let description = [{
    A pattern library lists the kernel masks a pattern-pruned convolution may
    use. Each mask is written as the row-major indices of its kept taps, so for
    a 3x3 kernel tap 4 is the centre. The library is ordered: a convolution's
    `assignment` refers to patterns by their position here.

    Invariants (checked by the verifier, relied on by lowering):
    * the kernel is `KH x KW` with 1 <= KH, KW and KH * KW <= 64;
    * there is at least one mask and every mask has the same number of taps,
      so the weights of every kept kernel form a dense `taps`-wide row;
    * tap indices are strictly increasing and inside the kernel;
    * masks are pairwise distinct (a duplicate would make ids ambiguous);
    * for odd kernels every mask keeps the centre tap, as PatDNN's patterns
      do: the centre carries most of a kernel's energy, and a shared tap lets
      lowering reuse one input load across all patterns.

    ```mlir
    #lib = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7], [3, 4, 5, 7]]>
    ```
  }];
  let parameters = (ins
    "int64_t":$kernelHeight,
    "int64_t":$kernelWidth,
    ArrayRefParameter<"uint64_t", "tap masks, bit i = row-major tap i">:$masks
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of patterns in the library.
    int64_t getNumPatterns() const { return getMasks().size(); }
    /// Number of kept taps of every pattern.
    int64_t getNumTaps() const;
    /// Row-major tap indices of pattern `id`, in increasing order.
    ::llvm::SmallVector<int64_t> getTaps(int64_t id) const;
  }];
}

//===----------------------------------------------------------------------===//
// #pattern.schedule
//===----------------------------------------------------------------------===//

def Pattern_ScheduleAttr : Pattern_Attr<"Schedule", "schedule"> {
  let summary = "Tuning parameters of one pattern convolution";
  let description = [{
    The tuning half of the layerwise representation: how lowering tiles,
    vectorises and parallelises one convolution. It comes from the default
    heuristic or from the tuning database.

    * `tile_rows`: output rows computed together (register blocking);
    * `tile_cols`: output columns computed together, a multiple of
      `vector_width` (register blocking);
    * `tile_filters`: filters computed together (register blocking);
    * `tile_channels`: input channels per cache block, 0 = no blocking (the
      rows of a block of channels stay in L1 while every filter reuses them);
    * `vector_width`: lanes along the output width (4 for NEON, 16 on
      AVX-512 hosts);
    * `unroll`: unroll factor of the per-pattern kernel loop;
    * `prefetch`: kernels ahead to prefetch input rows for, 0 = none;
    * `loop_order`: `rows_outer` keeps a row tile of all channels in cache
      while every filter reuses it, `filters_outer` the reverse;
    * `threads`: balanced filter groups run in parallel for this conv, 0 = as
      many as the compile's thread count; never more than that count (a small
      layer may run faster on fewer threads than the rest of the model);
    * `row_align`: the padded input's rows are a multiple of this many floats
      (optional, default 16: every row starts on a 64-byte cache line; a
      smaller multiple keeps more of a small image's rows in cache);
    * `kernel_order`: `by_pattern` (optional, the default) runs a filter's
      kernels in one loop per pattern, whose tap offsets are constants, so taps
      share input loads; `by_channel` runs them in one loop in channel order,
      tap offsets read from a table: no per-pattern loops, so a small channel
      block (which keeps its input rows in L1) costs no loop set-up per
      pattern. `by_channel` needs `tile_filters`, `unroll` = 1 and
      `prefetch` = 0.

    On the GPU (`vulkan-adreno`) the same fields describe the workgroup tiling:
    `tile_cols / 4` x `tile_rows` invocations of 4 output columns each,
    `tile_filters` filters per output-channel group, `tile_channels` channels
    staged in shared memory per block (0 = direct reads), `unroll`;
    `vector_width` is 4 and the CPU-only fields (`prefetch`, `loop_order`,
    `threads`, `row_align`, `kernel_order`) keep their defaults.

    ```mlir
    #pattern.schedule<tile_rows = 4, tile_cols = 48, tile_filters = 1,
                      tile_channels = 32, vector_width = 16, unroll = 1, prefetch = 2,
                      loop_order = rows_outer, threads = 0>
    ```
  }];
  let parameters = (ins
    "int64_t":$tile_rows,
    "int64_t":$tile_cols,
    "int64_t":$tile_filters,
    "int64_t":$tile_channels,
    "int64_t":$vector_width,
    "int64_t":$unroll,
    "int64_t":$prefetch,
    EnumParameter<Pattern_LoopOrder>:$loop_order,
    "int64_t":$threads,
    DefaultValuedParameter<"int64_t", "16">:$row_align,
    DefaultValuedParameter<"::mlir::pattern::KernelOrder",
                           "::mlir::pattern::KernelOrder::by_pattern">:$kernel_order
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // PATTERN_ATTRS_TD
