//===- PatternDialect.td - pattern dialect definition ------*- tablegen -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_DIALECT_TD
#define PATTERN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Pattern_Dialect : Dialect {
  let name = "pattern";
  let cppNamespace = "::mlir::pattern";
  let summary = "Kernel-pattern and connectivity sparsity for convolutions";
  let description = [{
    The `pattern` dialect models the compression half of compression-compilation
    co-design (PatDNN, PCONV, CoCoPIE). Every kept 3x3 kernel of a convolution
    keeps only the taps of one of a few *patterns* drawn from a small ordered
    library, and whole kernels are removed by *connectivity pruning*. Because
    the sparsity is this regular, the compiler can reorder filters so that
    loops have uniform trip counts, store the weights in a compact
    filter-kernel-weight (FKW) format, and emit one specialised, vectorised
    loop per pattern whose tap offsets are compile-time constants.

    The dialect provides:
    * `#pattern.library`: the ordered set of kernel masks;
    * `#pattern.schedule`: the tuning part of the layerwise representation;
    * `pattern.conv2d`: a convolution whose weights hold only the kept taps;
    * `pattern.packed_conv2d`: the same convolution after filter-kernel
      reorder and FKW packing, which lowering consumes without searching.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

#endif // PATTERN_DIALECT_TD
