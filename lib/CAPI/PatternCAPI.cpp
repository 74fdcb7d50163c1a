//===- PatternCAPI.cpp - C API of the pattern dialect -----------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternCAPI.h"
#include "Pattern/PatternAttrs.h"
#include "Pattern/PatternDialect.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/Support.h"
#include "mlir/CAPI/Utils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::pattern;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Pattern, pattern, PatternDialect)

bool patternAttributeIsALibrary(MlirAttribute attr) {
  return isa<LibraryAttr>(unwrap(attr));
}

int64_t patternLibraryGetKernelHeight(MlirAttribute attr) {
  return cast<LibraryAttr>(unwrap(attr)).getKernelHeight();
}

int64_t patternLibraryGetKernelWidth(MlirAttribute attr) {
  return cast<LibraryAttr>(unwrap(attr)).getKernelWidth();
}

intptr_t patternLibraryGetNumPatterns(MlirAttribute attr) {
  return cast<LibraryAttr>(unwrap(attr)).getNumPatterns();
}

uint64_t patternLibraryGetMask(MlirAttribute attr, intptr_t pos) {
  return cast<LibraryAttr>(unwrap(attr)).getMasks()[pos];
}

MlirStringRef patternDenseResourceGetData(MlirAttribute attr) {
  auto resource = dyn_cast<DenseResourceElementsAttr>(unwrap(attr));
  if (!resource)
    return mlirStringRefCreate(nullptr, 0);
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  if (!blob)
    return mlirStringRefCreate(nullptr, 0);
  ArrayRef<char> data = blob->getData();
  return mlirStringRefCreate(data.data(), data.size());
}
