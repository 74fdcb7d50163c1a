//===- PatternOps.h - pattern dialect operations ----------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_PATTERNOPS_H
#define PATTERN_PATTERNOPS_H

#include "Pattern/PatternAttrs.h"
#include "Pattern/PatternDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "Pattern/PatternOps.h.inc"

#endif // PATTERN_PATTERNOPS_H
