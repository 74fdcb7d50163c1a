//===- PatternAttrs.cpp - pattern dialect attributes ------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternAttrs.h"
#include "Pattern/PatternDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::pattern;

#include "Pattern/PatternEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Pattern/PatternAttrs.cpp.inc"

void PatternDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Pattern/PatternAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// LibraryAttr
//===----------------------------------------------------------------------===//

/// Tap masks are 64-bit sets, so a kernel may have at most 64 taps.
static constexpr int64_t kMaxKernelTaps = 64;

int64_t LibraryAttr::getNumTaps() const {
  return getMasks().empty() ? 0 : llvm::popcount(getMasks().front());
}

SmallVector<int64_t> LibraryAttr::getTaps(int64_t id) const {
  SmallVector<int64_t> taps;
  uint64_t mask = getMasks()[id];
  for (int64_t tap = 0; tap < kMaxKernelTaps; ++tap)
    if (mask & (uint64_t(1) << tap))
      taps.push_back(tap);
  return taps;
}

LogicalResult LibraryAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t kernelHeight, int64_t kernelWidth,
                                  ArrayRef<uint64_t> masks) {
  if (kernelHeight < 1 || kernelWidth < 1 || kernelHeight > kMaxKernelTaps ||
      kernelWidth > kMaxKernelTaps ||
      kernelHeight * kernelWidth > kMaxKernelTaps)
    return emitError() << "kernel must be KHxKW with KH, KW >= 1 and at most "
                       << kMaxKernelTaps << " taps, got " << kernelHeight << "x"
                       << kernelWidth;
  if (masks.empty())
    return emitError() << "library must hold at least one pattern";

  int64_t numTaps = kernelHeight * kernelWidth;
  uint64_t inside =
      numTaps == kMaxKernelTaps ? ~uint64_t(0) : (uint64_t(1) << numTaps) - 1;
  bool hasCentre = kernelHeight % 2 == 1 && kernelWidth % 2 == 1;
  int64_t centre = (kernelHeight / 2) * kernelWidth + kernelWidth / 2;
  int expectedTaps = llvm::popcount(masks.front());
  for (auto [id, mask] : llvm::enumerate(masks)) {
    if (mask == 0)
      return emitError() << "pattern " << id << " keeps no tap";
    if (uint64_t outside = mask & ~inside)
      return emitError() << "pattern " << id << " has tap "
                         << llvm::countr_zero(outside) << " outside the "
                         << kernelHeight << "x" << kernelWidth
                         << " kernel (taps are 0 to " << numTaps - 1 << ")";
    if (llvm::popcount(mask) != expectedTaps)
      return emitError() << "pattern " << id << " has " << llvm::popcount(mask)
                         << " taps, but pattern 0 has " << expectedTaps
                         << " (all patterns of a library keep equally many)";
    if (hasCentre && !(mask & (uint64_t(1) << centre)))
      return emitError() << "pattern " << id << " does not keep the centre tap "
                         << centre;
    // A pairwise search, not a DenseMap: ~0 and ~0 - 1 (the 64- and 63-tap
    // masks of an 8x8 kernel) are DenseMap's reserved keys, and libraries are
    // small.
    for (size_t earlier = 0; earlier < id; ++earlier)
      if (masks[earlier] == mask)
        return emitError() << "pattern " << id << " duplicates pattern "
                           << earlier;
  }
  return success();
}

Attribute LibraryAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t> kernel;
  if (parser.parseLess() ||
      parser.parseDimensionList(kernel, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return {};
  if (kernel.size() != 2) {
    parser.emitError(parser.getNameLoc(), "expected a KHxKW kernel shape");
    return {};
  }
  if (parser.parseComma())
    return {};

  SmallVector<uint64_t> masks;
  auto parseMask = [&]() -> ParseResult {
    uint64_t mask = 0;
    int64_t previous = -1;
    auto parseTap = [&]() -> ParseResult {
      SMLoc loc = parser.getCurrentLocation();
      int64_t tap;
      if (parser.parseInteger(tap))
        return failure();
      if (tap < 0 || tap >= kMaxKernelTaps)
        return parser.emitError(loc)
               << "tap " << tap << " of pattern " << masks.size()
               << " is not in [0, " << kMaxKernelTaps << ")";
      if (tap <= previous)
        return parser.emitError(loc) << "taps of pattern " << masks.size()
                                     << " must be strictly increasing, got "
                                     << tap << " after " << previous;
      previous = tap;
      mask |= uint64_t(1) << tap;
      return success();
    };
    if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseTap))
      return failure();
    masks.push_back(mask);
    return success();
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseMask) ||
      parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), kernel[0], kernel[1], masks);
}

void LibraryAttr::print(AsmPrinter &printer) const {
  printer << "<" << getKernelHeight() << "x" << getKernelWidth() << ", [";
  llvm::interleaveComma(llvm::seq<int64_t>(0, getNumPatterns()), printer,
                        [&](int64_t id) {
                          printer << "[";
                          llvm::interleaveComma(getTaps(id), printer);
                          printer << "]";
                        });
  printer << "]>";
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

/// Limits keep generated code size bounded: every unit of tile_rows,
/// tile_filters and unroll multiplies the emitted loop body.
LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t tileRows, int64_t tileCols,
                                   int64_t tileFilters, int64_t tileChannels,
                                   int64_t vectorWidth, int64_t unroll,
                                   int64_t prefetch, LoopOrder, int64_t threads,
                                   int64_t rowAlign, KernelOrder kernelOrder) {
  auto checkRange = [&](StringRef name, int64_t value, int64_t lo,
                        int64_t hi) -> LogicalResult {
    if (value < lo || value > hi)
      return emitError() << name << " = " << value << " is not in [" << lo
                         << ", " << hi << "]";
    return success();
  };
  if (failed(checkRange("tile_rows", tileRows, 1, 32)) ||
      failed(checkRange("tile_cols", tileCols, 1, 1024)) ||
      failed(checkRange("tile_filters", tileFilters, 1, 32)) ||
      failed(checkRange("tile_channels", tileChannels, 0, 1 << 20)) ||
      failed(checkRange("vector_width", vectorWidth, 1, 64)) ||
      failed(checkRange("unroll", unroll, 1, 16)) ||
      failed(checkRange("prefetch", prefetch, 0, 64)) ||
      failed(checkRange("threads", threads, 0, 1024)) ||
      failed(checkRange("row_align", rowAlign, 1, 64)))
    return failure();
  if (!llvm::isPowerOf2_64(vectorWidth))
    return emitError() << "vector_width = " << vectorWidth
                       << " is not a power of two";
  if (!llvm::isPowerOf2_64(rowAlign))
    return emitError() << "row_align = " << rowAlign
                       << " is not a power of two";
  if (kernelOrder == KernelOrder::by_channel &&
      (tileFilters != 1 || unroll != 1 || prefetch != 0))
    return emitError() << "kernel_order = by_channel needs tile_filters = 1, "
                          "unroll = 1 and prefetch = 0";
  if (tileCols % vectorWidth != 0)
    return emitError() << "tile_cols = " << tileCols
                       << " is not a multiple of vector_width = "
                       << vectorWidth;
  return success();
}
