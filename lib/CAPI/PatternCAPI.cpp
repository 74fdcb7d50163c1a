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

bool patternAttributeIsASchedule(MlirAttribute attr) {
  return isa<ScheduleAttr>(unwrap(attr));
}

int64_t patternScheduleGetTileRows(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getTileRows();
}

int64_t patternScheduleGetTileCols(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getTileCols();
}

int64_t patternScheduleGetTileFilters(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getTileFilters();
}

int64_t patternScheduleGetTileChannels(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getTileChannels();
}

int64_t patternScheduleGetVectorWidth(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getVectorWidth();
}

int64_t patternScheduleGetUnroll(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getUnroll();
}

int64_t patternScheduleGetPrefetch(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getPrefetch();
}

MlirStringRef patternScheduleGetLoopOrder(MlirAttribute attr) {
  return wrap(
      stringifyLoopOrder(cast<ScheduleAttr>(unwrap(attr)).getLoopOrder()));
}

int64_t patternScheduleGetThreads(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getThreads();
}

int64_t patternScheduleGetRowAlign(MlirAttribute attr) {
  return cast<ScheduleAttr>(unwrap(attr)).getRowAlign();
}

MlirStringRef patternScheduleGetKernelOrder(MlirAttribute attr) {
  return wrap(
      stringifyKernelOrder(cast<ScheduleAttr>(unwrap(attr)).getKernelOrder()));
}

bool patternAttributeIsAActivation(MlirAttribute attr) {
  return isa<ActivationAttr>(unwrap(attr));
}

MlirStringRef patternActivationGetKind(MlirAttribute attr) {
  return wrap(
      stringifyActivation(cast<ActivationAttr>(unwrap(attr)).getValue()));
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
