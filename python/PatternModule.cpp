//===- PatternModule.cpp - Python extension of pattern-mlir -----*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
// Talks to the upstream `mlir` package through capsules only (the nanobind
// adaptors), so the objects it returns are the bindings' own Context,
// Operation and Attribute classes.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternCAPI.h"

#include "mlir-c/IR.h"
#include "mlir/Bindings/Python/Nanobind.h"
#include "mlir/Bindings/Python/NanobindAdaptors.h"

#include <string>

namespace nb = nanobind;

namespace {
/// Appends what an MlirStringCallback streams to a std::string.
void appendToString(MlirStringRef chunk, void *userData) {
  static_cast<std::string *>(userData)->append(chunk.data, chunk.length);
}

MlirAttribute requireLibrary(MlirAttribute attr) {
  if (!patternAttributeIsALibrary(attr))
    throw nb::type_error("expected a #pattern.library attribute");
  return attr;
}

nb::str toPython(MlirStringRef text) { return nb::str(text.data, text.length); }
} // namespace

NB_MODULE(_patternDialects, m) {
  m.doc() = "pattern-mlir native extension: dialect registration and export";

  m.def(
      "insert_dialect",
      [](MlirDialectRegistry registry) {
        mlirDialectHandleInsertDialect(mlirGetDialectHandle__pattern__(),
                                       registry);
      },
      nb::arg("registry"),
      "Inserts the pattern dialect into a DialectRegistry.");

  m.def(
      "library_kernel",
      [](MlirAttribute attr) {
        requireLibrary(attr);
        return nb::make_tuple(patternLibraryGetKernelHeight(attr),
                              patternLibraryGetKernelWidth(attr));
      },
      nb::arg("library"), "(KH, KW) of a #pattern.library.");

  m.def(
      "library_masks",
      [](MlirAttribute attr) {
        requireLibrary(attr);
        nb::list masks;
        intptr_t count = patternLibraryGetNumPatterns(attr);
        for (intptr_t i = 0; i < count; ++i)
          masks.append(patternLibraryGetMask(attr, i));
        return masks;
      },
      nb::arg("library"),
      "Tap bitmasks (bit i = row-major tap i) of a #pattern.library.");

  m.def(
      "schedule_fields",
      [](MlirAttribute attr) {
        if (!patternAttributeIsASchedule(attr))
          throw nb::type_error("expected a #pattern.schedule attribute");
        // Keys are the attribute's parameter names, which codegen's Schedule
        // dataclass shares, so Python builds one with Schedule(**fields).
        nb::dict fields;
        fields["tile_rows"] = patternScheduleGetTileRows(attr);
        fields["tile_cols"] = patternScheduleGetTileCols(attr);
        fields["tile_filters"] = patternScheduleGetTileFilters(attr);
        fields["tile_channels"] = patternScheduleGetTileChannels(attr);
        fields["vector_width"] = patternScheduleGetVectorWidth(attr);
        fields["unroll"] = patternScheduleGetUnroll(attr);
        fields["prefetch"] = patternScheduleGetPrefetch(attr);
        fields["loop_order"] = toPython(patternScheduleGetLoopOrder(attr));
        fields["threads"] = patternScheduleGetThreads(attr);
        fields["row_align"] = patternScheduleGetRowAlign(attr);
        fields["kernel_order"] = toPython(patternScheduleGetKernelOrder(attr));
        return fields;
      },
      nb::arg("schedule"),
      "Fields of a #pattern.schedule as a dict: ints, and the loop and kernel "
      "orders as their names.");

  m.def(
      "activation_kind",
      [](MlirAttribute attr) {
        if (!patternAttributeIsAActivation(attr))
          throw nb::type_error("expected a #pattern.activation attribute");
        return toPython(patternActivationGetKind(attr));
      },
      nb::arg("activation"),
      "The activation a #pattern.activation names (none, relu, relu6, clamp).");

  m.def(
      "dense_resource_bytes",
      [](MlirAttribute attr) -> nb::object {
        MlirStringRef data = patternDenseResourceGetData(attr);
        if (!data.data)
          return nb::none();
        return nb::bytes(data.data, data.length);
      },
      nb::arg("attr"),
      "Raw bytes of a dense_resource elements attribute, or None.");

  m.def(
      "translate_to_llvm_ir",
      [](MlirOperation module) {
        std::string text;
        if (mlirLogicalResultIsFailure(
                patternTranslateModuleToLLVMIR(module, appendToString, &text)))
          throw std::runtime_error(
              "translation to LLVM IR failed (see the diagnostics)");
        return text;
      },
      nb::arg("module"),
      "Translates a module in the LLVM dialect to textual LLVM IR.");

  m.def(
      "serialize_spirv",
      [](MlirOperation op) {
        std::string binary;
        if (mlirLogicalResultIsFailure(
                patternSerializeSPIRV(op, appendToString, &binary)))
          throw std::runtime_error(
              "SPIR-V serialisation failed (see the diagnostics)");
        return nb::bytes(binary.data(), binary.size());
      },
      nb::arg("spirv_module"), "Serialises a spirv.module to a SPIR-V binary.");

  m.def(
      "fuse_elementwise_chains",
      [](MlirOperation root) {
        if (mlirLogicalResultIsFailure(patternFuseElementwiseChains(root)))
          throw std::runtime_error(
              "elementwise fusion did not converge (see the diagnostics)");
      },
      nb::arg("root"),
      "Fuses chains of all-parallel linalg.generic ops on tensors below root.");
}
