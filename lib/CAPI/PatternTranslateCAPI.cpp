//===- PatternTranslateCAPI.cpp - LLVM IR and SPIR-V export -----*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
// The upstream Python bindings can lower to the LLVM and SPIR-V dialects but
// cannot leave MLIR. These two entry points do, in process and against the
// same MLIR copy the bindings use, so no tool has to re-parse the module.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternCAPI.h"

#include "mlir-c/RegisterEverything.h"
#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Support.h"
#include "mlir/CAPI/Utils.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

using namespace mlir;

MlirLogicalResult patternTranslateModuleToLLVMIR(MlirOperation module,
                                                 MlirStringCallback callback,
                                                 void *userData) {
  Operation *op = unwrap(module);
  mlirRegisterAllLLVMTranslations(wrap(op->getContext()));

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(op, llvmContext);
  if (!llvmModule)
    return mlirLogicalResultFailure();
  detail::CallbackOstream stream(callback, userData);
  llvmModule->print(stream, /*AAW=*/nullptr);
  stream.flush();
  return mlirLogicalResultSuccess();
}

MlirLogicalResult patternSerializeSPIRV(MlirOperation op,
                                        MlirStringCallback callback,
                                        void *userData) {
  auto module = dyn_cast<spirv::ModuleOp>(unwrap(op));
  if (!module) {
    unwrap(op)->emitError("expected a spirv.module to serialise");
    return mlirLogicalResultFailure();
  }
  SmallVector<uint32_t, 0> binary;
  if (failed(spirv::serialize(module, binary)))
    return mlirLogicalResultFailure();
  callback(mlirStringRefCreate(reinterpret_cast<const char *>(binary.data()),
                               binary.size() * sizeof(uint32_t)),
           userData);
  return mlirLogicalResultSuccess();
}
