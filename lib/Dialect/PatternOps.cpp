//===- PatternOps.cpp - pattern dialect operations --------------*- C++ -*-===//
//
// Part of the pattern-mlir project.
//
// The verifiers are the only line of defence before lowering code indexes
// into assignment, offsets and weights: everything lowering relies on is
// checked here, with 64-bit arithmetic that cannot overflow, so that no input
// can make later stages read out of bounds or abort.
//
//===----------------------------------------------------------------------===//

#include "Pattern/PatternOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::pattern;

#define GET_OP_CLASSES
#include "Pattern/PatternOps.cpp.inc"

/// Dimensions and padding above this bound are rejected, which keeps every
/// product the verifier forms (O * I, H + padding, extents) inside int64_t.
static constexpr int64_t kMaxExtent = int64_t(1) << 31;

/// Every tensor of a pattern convolution holds at most this many elements, so
/// that any element offset fits the 32-bit integers of the FKW stream and of
/// the GPU kernels, and a pass sizing work or buffers from a shape stays
/// within what a process can hold.
static constexpr int64_t kMaxElements = (int64_t(1) << 31) - 1;

namespace {
/// What the shared geometry check learns about a convolution.
struct ConvShape {
  int64_t outChannels = 0;
  int64_t inChannels = 0;
};
} // namespace

/// Checks that a static shape holds at most kMaxElements elements. The
/// product saturates instead of overflowing: dims may be as large as int64_t.
static LogicalResult verifyElementCount(Operation *op, StringRef what,
                                        RankedTensorType type) {
  int64_t count = 1;
  for (int64_t size : type.getShape()) {
    if (size != 0 && count > kMaxElements / size)
      return op->emitOpError() << what << " " << type << " has more than "
                               << kMaxElements << " elements";
    count *= size;
  }
  return success();
}

/// Checks a static, non-empty, bounded 4-D NCHW shape.
static LogicalResult verifyNCHW(Operation *op, StringRef what,
                                RankedTensorType type) {
  if (type.getRank() != 4)
    return op->emitOpError()
           << "expects a 4-D NCHW " << what << ", got rank " << type.getRank();
  for (auto [dim, size] : llvm::enumerate(type.getShape())) {
    if (ShapedType::isDynamic(size))
      return op->emitOpError() << "expects a static " << what << " shape, dim "
                               << dim << " is dynamic";
    if (size < 1 || size >= kMaxExtent)
      return op->emitOpError() << what << " dim " << dim << " = " << size
                               << " is not in [1, " << kMaxExtent << ")";
  }
  return verifyElementCount(op, what, type);
}

/// Checks an attribute array of `count` values in [lo, kMaxExtent).
static LogicalResult verifyGeometryArray(Operation *op, StringRef name,
                                         ArrayRef<int64_t> values, size_t count,
                                         int64_t lo) {
  if (values.size() != count)
    return op->emitOpError() << "expects " << count << " " << name
                             << " values, got " << values.size();
  for (auto [i, value] : llvm::enumerate(values))
    if (value < lo || value >= kMaxExtent)
      return op->emitOpError()
             << name << "[" << i << "] = " << value << " is not in [" << lo
             << ", " << kMaxExtent << ")";
  return success();
}

/// Verifies what plain and packed convolutions share: shapes, geometry,
/// weights and bias shape, and the epilogue. `numKept` is the number of kept
/// kernels implied by the op's own sparsity description.
template <typename ConvOp>
static FailureOr<ConvShape> verifyConvCommon(ConvOp op) {
  Operation *operation = op.getOperation();
  auto inputType = cast<RankedTensorType>(op.getInput().getType());
  auto outputType = cast<RankedTensorType>(op.getOutput().getType());
  if (failed(verifyNCHW(operation, "input", inputType)) ||
      failed(verifyNCHW(operation, "output", outputType)))
    return failure();
  if (failed(
          verifyGeometryArray(operation, "strides", op.getStrides(), 2, 1)) ||
      failed(
          verifyGeometryArray(operation, "padding", op.getPadding(), 4, 0)) ||
      failed(
          verifyGeometryArray(operation, "dilations", op.getDilations(), 2, 1)))
    return failure();

  ArrayRef<int64_t> in = inputType.getShape();
  ArrayRef<int64_t> out = outputType.getShape();
  if (in[0] != out[0])
    return op.emitOpError() << "output batch " << out[0]
                            << " differs from input batch " << in[0];

  LibraryAttr library = op.getLibrary();
  int64_t kernel[2] = {library.getKernelHeight(), library.getKernelWidth()};
  ArrayRef<int64_t> padding = op.getPadding();
  for (int dim = 0; dim < 2; ++dim) {
    int64_t padded = in[2 + dim] + padding[dim] + padding[dim + 2];
    int64_t extent = op.getDilations()[dim] * (kernel[dim] - 1) + 1;
    StringRef name = dim == 0 ? "height" : "width";
    if (extent > padded)
      return op.emitOpError()
             << "dilated kernel " << name << " " << extent
             << " exceeds the padded input " << name << " " << padded;
    int64_t expected = (padded - extent) / op.getStrides()[dim] + 1;
    if (out[2 + dim] != expected)
      return op.emitOpError() << "output " << name << " is " << out[2 + dim]
                              << ", but the geometry gives " << expected;
  }

  auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
  if (weightsType.getRank() != 2 || !weightsType.hasStaticShape())
    return op.emitOpError()
           << "expects static 2-D weights (kept kernels x taps), got "
           << weightsType;
  if (failed(verifyElementCount(operation, "weights", weightsType)))
    return failure();
  if (weightsType.getDimSize(1) != library.getNumTaps())
    return op.emitOpError() << "weights hold " << weightsType.getDimSize(1)
                            << " taps per kernel, but the library's patterns "
                               "keep "
                            << library.getNumTaps();

  if (Value bias = op.getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != out[1])
      return op.emitOpError()
             << "expects bias of shape [" << out[1] << "], got " << biasType;
  }

  std::optional<Activation> activation = op.getActivation();
  bool isClamp = activation && *activation == Activation::clamp;
  std::optional<APFloat> lo =
      op.getClampMinAttr() ? std::optional(op.getClampMinAttr().getValue())
                           : std::nullopt;
  std::optional<APFloat> hi =
      op.getClampMaxAttr() ? std::optional(op.getClampMaxAttr().getValue())
                           : std::nullopt;
  if (isClamp && (!lo || !hi))
    return op.emitOpError("clamp activation needs clamp_min and clamp_max");
  if (!isClamp && (lo || hi))
    return op.emitOpError(
        "clamp_min and clamp_max are only allowed with the clamp activation");
  if (isClamp && (lo->isNaN() || hi->isNaN() ||
                  lo->compare(*hi) == APFloat::cmpGreaterThan))
    return op.emitOpError()
           << "clamp_min " << lo->convertToFloat()
           << " must not exceed clamp_max " << hi->convertToFloat();
  return ConvShape{out[1], in[1]};
}

//===----------------------------------------------------------------------===//
// Conv2DOp
//===----------------------------------------------------------------------===//

int64_t Conv2DOp::getNumKeptKernels() {
  return llvm::count_if(getAssignment(), [](int32_t id) { return id >= 0; });
}

LogicalResult Conv2DOp::verify() {
  FailureOr<ConvShape> shape = verifyConvCommon(*this);
  if (failed(shape))
    return failure();
  ArrayRef<int32_t> assignment = getAssignment();
  int64_t expected = shape->outChannels * shape->inChannels;
  if (static_cast<int64_t>(assignment.size()) != expected)
    return emitOpError() << "assignment has " << assignment.size()
                         << " entries, expected " << expected << " ("
                         << shape->outChannels << " output x "
                         << shape->inChannels << " input channels)";
  int64_t numPatterns = getLibrary().getNumPatterns();
  for (auto [i, id] : llvm::enumerate(assignment))
    if (id < -1 || id >= numPatterns)
      return emitOpError() << "assignment[" << i << "] = " << id
                           << " (output channel " << i / shape->inChannels
                           << ", input channel " << i % shape->inChannels
                           << ") is not -1 or a pattern id in [0, "
                           << numPatterns << ")";
  int64_t kept = getNumKeptKernels();
  int64_t rows = getWeights().getType().getDimSize(0);
  if (rows != kept)
    return emitOpError() << "weights hold " << rows
                         << " kernels, but the assignment keeps " << kept;
  return success();
}

//===----------------------------------------------------------------------===//
// PackedConv2DOp
//===----------------------------------------------------------------------===//

LogicalResult PackedConv2DOp::verify() {
  FailureOr<ConvShape> shape = verifyConvCommon(*this);
  if (failed(shape))
    return failure();
  int64_t numFilters = shape->outChannels;
  int64_t numChannels = shape->inChannels;
  int64_t numPatterns = getLibrary().getNumPatterns();

  ArrayRef<int32_t> order = getFilterOrder();
  if (static_cast<int64_t>(order.size()) != numFilters)
    return emitOpError() << "filter_order has " << order.size()
                         << " entries, expected " << numFilters;
  llvm::BitVector placed(numFilters);
  for (auto [f, filter] : llvm::enumerate(order)) {
    if (filter < 0 || filter >= numFilters)
      return emitOpError() << "filter_order[" << f << "] = " << filter
                           << " is not an output channel in [0, " << numFilters
                           << ")";
    if (placed.test(filter))
      return emitOpError() << "filter_order[" << f
                           << "] repeats output channel " << filter;
    placed.set(filter);
  }

  ArrayRef<int32_t> offsets = getOffsets();
  int64_t expectedOffsets = numFilters * numPatterns + 1;
  if (static_cast<int64_t>(offsets.size()) != expectedOffsets)
    return emitOpError() << "offsets has " << offsets.size()
                         << " entries, expected " << expectedOffsets
                         << " (filters x patterns + 1)";
  if (offsets.front() != 0)
    return emitOpError() << "offsets[0] = " << offsets.front()
                         << ", expected 0";
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      return emitOpError() << "offsets[" << i << "] = " << offsets[i]
                           << " is smaller than offsets[" << i - 1
                           << "] = " << offsets[i - 1];

  ArrayRef<int32_t> channels = getChannels();
  int64_t rows = getWeights().getType().getDimSize(0);
  if (offsets.back() != rows || static_cast<int64_t>(channels.size()) != rows)
    return emitOpError() << "stream has " << rows << " weight rows, "
                         << channels.size()
                         << " channels and offsets ending at " << offsets.back()
                         << "; all three must agree";

  // Sort each filter's channels and compare neighbours: a repeat means two
  // kernels for one (output, input) pair. The scratch space is bounded by the
  // stream, not by the declared channel count (which may be ~2^31).
  SmallVector<int32_t> filterChannels;
  for (int64_t f = 0; f < numFilters; ++f) {
    int64_t begin = offsets[f * numPatterns];
    int64_t end = offsets[(f + 1) * numPatterns];
    for (int64_t k = begin; k < end; ++k) {
      int32_t channel = channels[k];
      if (channel < 0 || channel >= numChannels)
        return emitOpError()
               << "channels[" << k << "] = " << channel
               << " is not an input channel in [0, " << numChannels << ")";
    }
    filterChannels.assign(channels.begin() + begin, channels.begin() + end);
    llvm::sort(filterChannels);
    auto repeat =
        std::adjacent_find(filterChannels.begin(), filterChannels.end());
    if (repeat != filterChannels.end()) {
      int64_t k = begin;
      while (channels[k] != *repeat)
        ++k;
      // Name the second occurrence, as a reader scanning the stream would.
      for (++k; channels[k] != *repeat; ++k)
        ;
      return emitOpError() << "channels[" << k << "] = " << *repeat
                           << " repeats an input channel of filter " << f;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Block-sparse ops
//===----------------------------------------------------------------------===//

/// Verifies the block encoding shared by block_conv2d and block_matmul:
/// `outputs` rows in blocks of block_rows, `inputs` columns, and a weight
/// tensor whose leading dimension is the number of stream entries.
template <typename BlockOp>
static LogicalResult verifyBlockSparsity(BlockOp op, int64_t outputs,
                                         int64_t inputs, int64_t streamRows) {
  int64_t rows = op.getBlockRows();
  int64_t numBlocks = (outputs + rows - 1) / rows;
  ArrayRef<int32_t> offsets = op.getOffsets();
  if (static_cast<int64_t>(offsets.size()) != numBlocks + 1)
    return op.emitOpError()
           << "offsets has " << offsets.size() << " entries, expected "
           << numBlocks + 1 << " (" << numBlocks << " row blocks of " << rows
           << " outputs + 1)";
  if (offsets.front() != 0)
    return op.emitOpError()
           << "offsets[0] = " << offsets.front() << ", expected 0";
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      return op.emitOpError() << "offsets[" << i << "] = " << offsets[i]
                              << " is smaller than offsets[" << i - 1
                              << "] = " << offsets[i - 1];
  ArrayRef<int32_t> channels = op.getChannels();
  if (offsets.back() != streamRows ||
      static_cast<int64_t>(channels.size()) != streamRows)
    return op.emitOpError()
           << "stream has " << streamRows << " weight rows, " << channels.size()
           << " channels and offsets ending at " << offsets.back()
           << "; all three must agree";
  for (int64_t b = 0; b < numBlocks; ++b) {
    for (int64_t k = offsets[b]; k < offsets[b + 1]; ++k) {
      if (channels[k] < 0 || channels[k] >= inputs)
        return op.emitOpError() << "channels[" << k << "] = " << channels[k]
                                << " is not an input in [0, " << inputs << ")";
      if (k > offsets[b] && channels[k] <= channels[k - 1])
        return op.emitOpError()
               << "channels[" << k << "] = " << channels[k]
               << " does not increase within row block " << b << " (channels["
               << k - 1 << "] = " << channels[k - 1] << ")";
    }
  }
  return success();
}

/// Checks a bias operand of `count` values, if present.
static LogicalResult verifyBias(Operation *op, Value bias, int64_t count) {
  if (!bias)
    return success();
  auto biasType = cast<RankedTensorType>(bias.getType());
  if (biasType.getRank() != 1 || biasType.getDimSize(0) != count)
    return op->emitOpError()
           << "expects bias of shape [" << count << "], got " << biasType;
  return success();
}

LogicalResult BlockConv2DOp::verify() {
  Operation *operation = getOperation();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto outputType = cast<RankedTensorType>(getOutput().getType());
  if (failed(verifyNCHW(operation, "input", inputType)) ||
      failed(verifyNCHW(operation, "output", outputType)) ||
      failed(verifyGeometryArray(operation, "kernel", getKernel(), 2, 1)) ||
      failed(verifyGeometryArray(operation, "strides", getStrides(), 2, 1)) ||
      failed(verifyGeometryArray(operation, "padding", getPadding(), 4, 0)) ||
      failed(verifyGeometryArray(operation, "dilations", getDilations(), 2, 1)))
    return failure();
  ArrayRef<int64_t> in = inputType.getShape();
  ArrayRef<int64_t> out = outputType.getShape();
  if (in[0] != out[0])
    return emitOpError() << "output batch " << out[0]
                         << " differs from input batch " << in[0];
  for (int dim = 0; dim < 2; ++dim) {
    int64_t padded = in[2 + dim] + getPadding()[dim] + getPadding()[dim + 2];
    int64_t extent = getDilations()[dim] * (getKernel()[dim] - 1) + 1;
    StringRef name = dim == 0 ? "height" : "width";
    if (extent > padded)
      return emitOpError() << "dilated kernel " << name << " " << extent
                           << " exceeds the padded input " << name << " "
                           << padded;
    int64_t expected = (padded - extent) / getStrides()[dim] + 1;
    if (out[2 + dim] != expected)
      return emitOpError() << "output " << name << " is " << out[2 + dim]
                           << ", but the geometry gives " << expected;
  }
  auto weightsType = cast<RankedTensorType>(getWeights().getType());
  int64_t taps = getKernel()[0] * getKernel()[1];
  if (weightsType.getRank() != 3 || !weightsType.hasStaticShape() ||
      weightsType.getDimSize(1) != taps ||
      weightsType.getDimSize(2) != static_cast<int64_t>(getBlockRows()))
    return emitOpError() << "expects static weights of shape [kept x " << taps
                         << " x " << getBlockRows() << "], got " << weightsType;
  if (failed(verifyElementCount(operation, "weights", weightsType)) ||
      failed(verifyBias(operation, getBias(), out[1])))
    return failure();
  return verifyBlockSparsity(*this, out[1], in[1], weightsType.getDimSize(0));
}

LogicalResult BlockMatmulOp::verify() {
  Operation *operation = getOperation();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto outputType = cast<RankedTensorType>(getOutput().getType());
  for (auto [what, type] :
       {std::pair<StringRef, RankedTensorType>{"input", inputType},
        {"output", outputType}}) {
    if (type.getRank() != 2 || !type.hasStaticShape())
      return emitOpError() << "expects a static 2-D " << what << ", got "
                           << type;
    for (auto [dim, size] : llvm::enumerate(type.getShape()))
      if (size < 1 || size >= kMaxExtent)
        return emitOpError() << what << " dim " << dim << " = " << size
                             << " is not in [1, " << kMaxExtent << ")";
    if (failed(verifyElementCount(operation, what, type)))
      return failure();
  }
  if (inputType.getDimSize(0) != outputType.getDimSize(0))
    return emitOpError() << "output has " << outputType.getDimSize(0)
                         << " rows, the input " << inputType.getDimSize(0);
  auto weightsType = cast<RankedTensorType>(getWeights().getType());
  if (weightsType.getRank() != 2 || !weightsType.hasStaticShape() ||
      weightsType.getDimSize(1) != static_cast<int64_t>(getBlockRows()))
    return emitOpError() << "expects static weights of shape [kept x "
                         << getBlockRows() << "], got " << weightsType;
  int64_t outputs = outputType.getDimSize(1);
  if (failed(verifyElementCount(operation, "weights", weightsType)) ||
      failed(verifyBias(operation, getBias(), outputs)))
    return failure();
  return verifyBlockSparsity(*this, outputs, inputType.getDimSize(1),
                             weightsType.getDimSize(0));
}
