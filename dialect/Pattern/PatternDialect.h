//===- PatternDialect.h - pattern dialect -----------------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_PATTERNDIALECT_H
#define PATTERN_PATTERNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "Pattern/PatternDialect.h.inc"

#endif // PATTERN_PATTERNDIALECT_H
