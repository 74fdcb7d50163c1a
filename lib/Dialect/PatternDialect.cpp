//===- PatternDialect.cpp - pattern dialect ---------------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternDialect.h"
#include "Pattern/PatternAttrs.h"
#include "Pattern/PatternOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pattern;

#include "Pattern/PatternDialect.cpp.inc"

void PatternDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "Pattern/PatternOps.cpp.inc"
      >();
}
