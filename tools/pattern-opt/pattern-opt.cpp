//===- pattern-opt.cpp - pattern dialect optimizer driver -------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
// An mlir-opt with every upstream dialect, pass and extension plus the
// pattern dialect. Passes written in Python are reached through the
// `pattern-opt` console script, which runs this binary when a pipeline
// holds C++ passes only.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::pattern::PatternDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "pattern-mlir optimizer driver\n", registry));
}
