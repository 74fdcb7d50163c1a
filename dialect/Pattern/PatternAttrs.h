//===- PatternAttrs.h - pattern dialect attributes --------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_PATTERNATTRS_H
#define PATTERN_PATTERNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "Pattern/PatternEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Pattern/PatternAttrs.h.inc"

#endif // PATTERN_PATTERNATTRS_H
