//===- PatternCAPI.h - C API of the pattern dialect ---------------*- C -*-===//
//
// Part of the pattern-mlir project.
//
// The C API is what the Python extension links against: it lets Python code
// register the dialect, read the dialect's attributes field by field (rather
// than parsing their printed form, which changes with the assembly format),
// and use the few C++ entry points the upstream bindings do not expose (LLVM
// IR export, SPIR-V serialisation) without a second MLIR copy in the process.
//
//===----------------------------------------------------------------------===//

#ifndef PATTERN_PATTERNCAPI_H
#define PATTERN_PATTERNCAPI_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Pattern, pattern);

/// Returns true if `attr` is a #pattern.library.
MLIR_CAPI_EXPORTED bool patternAttributeIsALibrary(MlirAttribute attr);
/// Kernel height and width of a #pattern.library.
MLIR_CAPI_EXPORTED int64_t patternLibraryGetKernelHeight(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternLibraryGetKernelWidth(MlirAttribute attr);
/// Number of patterns, and the tap bitmask of pattern `pos`.
MLIR_CAPI_EXPORTED intptr_t patternLibraryGetNumPatterns(MlirAttribute attr);
MLIR_CAPI_EXPORTED uint64_t patternLibraryGetMask(MlirAttribute attr,
                                                  intptr_t pos);

// The enum fields below come back as their names in the assembly format
// ("rows_outer", "relu"): those are the names Python's Schedule and ConvInfo
// hold, and a C enum would be a second copy of the TableGen case lists. The
// strings are static: they need no freeing and outlive the context.

/// Returns true if `attr` is a #pattern.schedule.
MLIR_CAPI_EXPORTED bool patternAttributeIsASchedule(MlirAttribute attr);
/// The fields of a #pattern.schedule, one getter each (the optional
/// `row_align` and `kernel_order` give their default where the text omits
/// them).
MLIR_CAPI_EXPORTED int64_t patternScheduleGetTileRows(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetTileCols(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetTileFilters(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetTileChannels(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetVectorWidth(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetUnroll(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetPrefetch(MlirAttribute attr);
MLIR_CAPI_EXPORTED MlirStringRef
patternScheduleGetLoopOrder(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetThreads(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t patternScheduleGetRowAlign(MlirAttribute attr);
MLIR_CAPI_EXPORTED MlirStringRef
patternScheduleGetKernelOrder(MlirAttribute attr);

/// Returns true if `attr` is a #pattern.activation.
MLIR_CAPI_EXPORTED bool patternAttributeIsAActivation(MlirAttribute attr);
/// The activation a #pattern.activation names: none, relu, relu6 or clamp.
MLIR_CAPI_EXPORTED MlirStringRef patternActivationGetKind(MlirAttribute attr);

/// The raw bytes of a dense_resource elements attribute (as torch-mlir's
/// importer emits for weights), or a null string when `attr` is not one or
/// its blob is missing. The bytes stay owned by the context.
MLIR_CAPI_EXPORTED MlirStringRef
patternDenseResourceGetData(MlirAttribute attr);

/// Translates a module in the LLVM dialect to textual LLVM IR, streamed to
/// `callback`. Returns failure (with diagnostics emitted on the context) when
/// the module holds operations that have no LLVM IR translation.
MLIR_CAPI_EXPORTED MlirLogicalResult patternTranslateModuleToLLVMIR(
    MlirOperation module, MlirStringCallback callback, void *userData);

/// Serialises a `spirv.module` to a SPIR-V binary, streamed to `callback` as
/// bytes. Returns failure when `op` is not a spirv.module or does not
/// serialise.
MLIR_CAPI_EXPORTED MlirLogicalResult patternSerializeSPIRV(
    MlirOperation op, MlirStringCallback callback, void *userData);

/// Fuses chains of all-parallel `linalg.generic` ops on tensors below `root`
/// (upstream's elementwise fusion patterns, without reshape propagation). A
/// producer is fused only into its single user.
MLIR_CAPI_EXPORTED MlirLogicalResult
patternFuseElementwiseChains(MlirOperation root);

#ifdef __cplusplus
}
#endif

#endif // PATTERN_PATTERNCAPI_H
