//===- PatternFusionCAPI.cpp - Fusion of elementwise chains -----*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
// Upstream's linalg-fuse-elementwise-ops also propagates reshapes through
// generics, which moves a flatten above a classifier's weights and takes its
// Linear off the GEMM path. This entry point applies upstream's elementwise
// fusion patterns alone, and only between all-parallel generics: chains of
// elementwise ops (hardswish is five of them as imported) become one loop,
// while reductions, named ops and reshapes stay as they are for the planners
// that match them.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternCAPI.h"

#include "mlir/CAPI/IR.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

static bool isElementwiseGeneric(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && generic.hasPureTensorSemantics() &&
         generic.getNumLoops() == generic.getNumParallelLoops();
}

MlirLogicalResult patternFuseElementwiseChains(MlirOperation root) {
  Operation *op = unwrap(root);
  MLIRContext *context = op->getContext();
  context->getOrLoadDialect<linalg::LinalgDialect>();
  RewritePatternSet patterns(context);
  linalg::ControlFusionFn control = [](OpOperand *operand) {
    Operation *producer = operand->get().getDefiningOp();
    // One use: fusing a value used twice would compute it twice.
    return isElementwiseGeneric(producer) &&
           isElementwiseGeneric(operand->getOwner()) && producer->hasOneUse();
  };
  linalg::populateElementwiseOpsFusionPatterns(patterns, control);
  if (failed(applyPatternsGreedily(op, std::move(patterns))))
    return mlirLogicalResultFailure();
  return mlirLogicalResultSuccess();
}
