"""pattern-expand-math: math ops with no LLVM lowering (or a wrong one) as arith code.

* `math.erf` and `math.erfc` (exact GELU) have no LLVM intrinsic; on f32 (and on f16/bf16,
  computed in f32) they become polynomials and one `math.exp`, vector code where they were.
* `math.fpowi` with a constant exponent (`x ** 3`, tanh GELU) becomes multiplications:
  after vectorisation its exponent is a vector, which `llvm.intr.powi` does not accept.
  `math.ipowi` with a constant exponent >= 0 likewise.

What this pass leaves is handled in the 'llvm' stage: other exponents by
`math-expand-ops{ops=fpowi}` (powf) and `convert-math-to-funcs` (ipowi), erf/erfc on f64
by `convert-math-to-libm`.

The erf/erfc coefficients are minimax fits (least squares reweighted by Lawson's
iteration, in double precision against mpmath):

* |x| < 0.75: erf(x) = x P(x^2); relative error of the fit 1.5e-9.
* otherwise:  erfc(|x|) = t exp(-x^2) Q(t), t = 1 / (1 + |x|/2), fitted over all of
  t in [0, 1] (x in [0, inf)); relative error of the fit 1.1e-8.

Evaluated in f32, erf is within 2e-7 (relative) of the true value everywhere, erfc within
7e-7 for |x| < 4 and 4e-6 out to its underflow (the rounding of x^2 inside exp).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith
from mlir.dialects import math as math_d

from .registry import register_pass

_ERF_SMALL = 0.75
_ERF_P = (1.1283791654964541, -0.3761261875676545, 0.11283376574918956, -0.02683462459895823,
          0.005114345614074053, -0.0006749513700232598)
_ERFC_Q = (0.2820947947966035, 0.282093852732259, 0.2468805842889387, 0.17537686062215566,
           0.09300035074420676, -0.05723144503089929, 0.1270867187277603, -0.4469730072891405,
           0.4861745792055061, -0.2308553918022706, 0.04235209229570127)


def _element_type(t: ir.Type) -> ir.Type:
    return t.element_type if isinstance(t, ir.ShapedType) else t


def _constant(t: ir.Type, value: float | int) -> ir.Value:
    """A scalar constant of type `t`, or a splat one if `t` is a vector."""
    element = _element_type(t)
    attr = (ir.FloatAttr.get(element, value) if isinstance(element, ir.FloatType)
            else ir.IntegerAttr.get(element, value))
    if isinstance(t, ir.VectorType):
        attr = ir.DenseElementsAttr.get_splat(t, attr)
    return arith.constant(t, attr)


def _polynomial(coefficients: tuple[float, ...], x: ir.Value) -> ir.Value:
    """sum c_k x^k by Horner's rule (mulf + addf: math.fma would be a libm call on CPUs
    without FMA)."""
    result = _constant(x.type, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = arith.addf(arith.mulf(result, x), _constant(x.type, c))
    return result


def _erfc_of_abs(a: ir.Value, square: ir.Value) -> ir.Value:
    """erfc(a) for a = |x| >= 0, `square` = x * x."""
    one = _constant(a.type, 1.0)
    t = arith.divf(one, arith.addf(one, arith.mulf(_constant(a.type, 0.5), a)))
    return arith.mulf(arith.mulf(t, math_d.exp(arith.negf(square))), _polynomial(_ERFC_Q, t))


def _erf(x: ir.Value) -> ir.Value:
    a = math_d.absf(x)
    square = arith.mulf(x, x)
    small = arith.mulf(x, _polynomial(_ERF_P, square))
    one = _constant(x.type, 1.0)
    large = math_d.copysign(arith.subf(one, _erfc_of_abs(a, square)), x)
    # NaN fails the compare and goes through `large`, which is NaN too.
    is_small = arith.cmpf(arith.CmpFPredicate.OLT, a, _constant(x.type, _ERF_SMALL))
    return arith.select(is_small, small, large)


def _erfc(x: ir.Value) -> ir.Value:
    tail = _erfc_of_abs(math_d.absf(x), arith.mulf(x, x))
    negative = arith.cmpf(arith.CmpFPredicate.OLT, x, _constant(x.type, 0.0))
    return arith.select(negative, arith.subf(_constant(x.type, 2.0), tail), tail)


def _in_f32(op: ir.Operation, body) -> ir.Value | None:
    """`body(x)` for the operand of `op`, computed in f32; None for f64 (left to libm)."""
    x = op.operands[0]
    element = _element_type(x.type)
    if isinstance(element, ir.F32Type):
        return body(x)
    if not isinstance(element, (ir.F16Type, ir.BF16Type)):
        return None
    f32 = ir.F32Type.get()
    wide_type = ir.VectorType.get(x.type.shape, f32) if isinstance(x.type, ir.VectorType) else f32
    return arith.truncf(x.type, body(arith.extf(wide_type, x)))


def _constant_exponent(value: ir.Value) -> int | None:
    """The exponent if `value` is an integer constant (a splat one for vectors)."""
    owner = value.owner
    if not isinstance(owner, (ir.Operation, ir.OpView)) or owner.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return attr.value
    if isinstance(attr, ir.DenseIntElementsAttr) and attr.is_splat:
        return attr[0]
    return None


def _power(base: ir.Value, n: int, multiply, one: ir.Value) -> ir.Value:
    """base ** n for n >= 0 by square and multiply."""
    result = None
    square = base
    while n:
        if n & 1:
            result = square if result is None else multiply(result, square)
        n >>= 1
        if n:
            square = multiply(square, square)
    return one if result is None else result


def _fpowi(op: ir.Operation) -> ir.Value | None:
    n = _constant_exponent(op.operands[1])
    if n is None:
        return None
    x = op.operands[0]
    one = _constant(x.type, 1.0)
    result = _power(x, abs(n), arith.mulf, one)
    # A plain division keeps IEEE results: 0 ** -2 = +inf, (-0) ** -1 = -inf.
    return arith.divf(one, result) if n < 0 else result


def _ipowi(op: ir.Operation) -> ir.Value | None:
    n = _constant_exponent(op.operands[1])
    if n is None or n < 0:
        return None
    x = op.operands[0]
    return _power(x, n, arith.muli, _constant(x.type, 1))


_EXPANSIONS = {
    "math.erf": lambda op: _in_f32(op, _erf),
    "math.erfc": lambda op: _in_f32(op, _erfc),
    "math.fpowi": _fpowi,
    "math.ipowi": _ipowi,
}


@register_pass("pattern-expand-math",
               "Expand math.erf/erfc into polynomials and constant powers into multiplications")
def run(module: ir.Operation, options: dict[str, str]) -> None:
    found: list[ir.Operation] = []

    def visit(op):
        if op.name in _EXPANSIONS:
            found.append(op.operation if isinstance(op, ir.OpView) else op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    for op in found:
        with ir.InsertionPoint(op), op.location:
            replacement = _EXPANSIONS[op.name](op)
        if replacement is not None:
            op.result.replace_all_uses_with(replacement)
            op.erase()
