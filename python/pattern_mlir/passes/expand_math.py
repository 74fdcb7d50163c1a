"""pattern-expand-math: math ops with no LLVM lowering (or a wrong one, or a slow one) as arith code.

* `math.erf` and `math.erfc` (exact GELU) have no LLVM intrinsic; on f32 (and on f16/bf16,
  computed in f32) they become polynomials and one `math.exp`, vector code where they were.
* `math.exp` and `math.tanh` (sigmoid, SiLU, tanh GELU, Mish) lower to libm calls, one per
  vector lane: a 64-lane activation made 64 calls per vector. On f32 they become range
  reduction, a polynomial and exponent-bit arithmetic, vector code too (1.2e-7 relative
  error on normal results, against torch over [-120, 120]; inf and NaN as libm).
* `math.log` and `math.log1p` (log-softmax, softplus, Mish) likewise: exponent bits, then the
  atanh series of the mantissa (1e-7 relative against numpy's float64 log over normal and
  subnormal f32; 0, negatives, inf and NaN as libm).
* `math.fpowi` with a constant exponent (`x ** 3`, tanh GELU) becomes multiplications:
  after vectorisation its exponent is a vector, which `llvm.intr.powi` does not accept.
  `math.ipowi` with a constant exponent >= 0 likewise.

What this pass leaves is handled in the 'llvm' stage: other exponents by
`math-expand-ops{ops=fpowi}` (powf) and `convert-math-to-funcs` (ipowi), erf/erfc on f64
by `convert-math-to-libm`.

The erf/erfc coefficients are minimax fits (least squares reweighted by Lawson's
iteration, in double precision against mpmath):

* |x| < 0.75: erf(x) = x P(x^2); relative error of the fit 1.5e-9.
* erf, 0.75 <= |x| <= 3.92: R(|x| - 2.335) of degree 15 (with the sign of x); absolute error
  of the fit 6e-9 (the same iteration, against Python's double `math.erf`). Beyond 3.92
  erf is 1 in f32.
* erfc(|x|) = t exp(-x^2) Q(t), t = 1 / (1 + |x|/2), fitted over all of t in [0, 1] (x in
  [0, inf)); relative error of the fit 1.1e-8. erfc needs it: 1 - erf loses its digits.

Evaluated in f32, erf is within 2e-7 (relative) of the true value everywhere, erfc within
7e-7 for |x| < 4 and 4e-6 out to its underflow (the rounding of x^2 inside exp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from mlir import ir
from mlir.dialects import arith
from mlir.dialects import math as math_d

from .registry import ModulePass, register_pass
from .utils.walk import walk_unlowered

_ERF_SMALL = 0.75
_ERF_P = (
    1.1283791654964541,
    -0.3761261875676545,
    0.11283376574918956,
    -0.02683462459895823,
    0.005114345614074053,
    -0.0006749513700232598,
)
# erf on [_ERF_SMALL, _ERF_ONE] as a polynomial in |x| - _ERF_MIDDLE; above _ERF_ONE, erf rounds
# to 1 in f32.
_ERF_ONE, _ERF_MIDDLE = 3.92, 2.335
_ERF_R = (
    0.9990406697054346,
    0.0048370494423100215,
    -0.011294851041713143,
    0.01597020395525261,
    -0.014877438880105374,
    0.009103329176096285,
    -0.0031270356159328744,
    -7.876385699695671e-05,
    0.0007299314146463877,
    -0.0003664377472390956,
    2.9644381025056717e-05,
    4.9433171577148545e-05,
    -1.8244437451190306e-05,
    -1.228922447623178e-06,
    1.4780489298938186e-06,
    -1.364588652514659e-07,
)
_ERFC_Q = (
    0.2820947947966035,
    0.282093852732259,
    0.2468805842889387,
    0.17537686062215566,
    0.09300035074420676,
    -0.05723144503089929,
    0.1270867187277603,
    -0.4469730072891405,
    0.4861745792055061,
    -0.2308553918022706,
    0.04235209229570127,
)


# exp: the range it is computed over (below: 0 in f32; above: a product that overflows to
# inf, as e**x does beyond 88.7228), 1/ln2, the constant whose addition rounds x / ln2 to an
# integer (1.5 * 2**23: its unit in the last place is 1), ln2 in two parts whose first has
# few enough bits that n * _LN2_HIGH is exact, and 1/k! for the polynomial.
_EXP_LOW, _EXP_HIGH = -104.0, 89.0
_LOG2E = 1.4426950408889634
_ROUNDING = 12582912.0
_LN2_HIGH, _LN2_LOW = 0.693359375, -2.12194440054690583e-4
_EXP_TAYLOR = (1.0, 1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040)
# tanh near 0: x (1 - x^2/3 + 2x^4/15 - 17x^6/315 + 62x^8/2835), used below _TANH_SMALL.
_TANH_SMALL = 0.3
_TANH_TAYLOR = (1.0, -1 / 3, 2 / 15, -17 / 315, 62 / 2835)
# log of the mantissa: 2 atanh(s) = 2s (1 + s^2/3 + s^4/5 + ...), a polynomial in s^2.
_ATANH_SERIES = (1.0, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11)


def _element_type(t: ir.Type) -> ir.Type:
    return t.element_type if isinstance(t, ir.ShapedType) else t


def _constant(t: ir.Type, value: float) -> ir.Value:
    """A scalar constant of type `t`, or a splat one if `t` is a vector."""
    element = _element_type(t)
    attr = (
        ir.FloatAttr.get(element, value)
        if isinstance(element, ir.FloatType)
        else ir.IntegerAttr.get(element, value)
    )
    if isinstance(t, ir.VectorType):
        attr = ir.DenseElementsAttr.get_splat(t, attr)
    return arith.constant(t, attr)


def _polynomial(coefficients: tuple[float, ...], x: ir.Value) -> ir.Value:
    """sum c_k x^k by Horner's rule. Each step's mulf + addf may contract into one FMA (LLVM
    contracts only where both carry `contract`): half the instructions where the target has
    FMA, and no libm call (what math.fma becomes) where it has not."""
    contract = ir.Attribute.parse("#arith.fastmath<contract>")
    result = _constant(x.type, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = arith.addf(
            arith.mulf(result, x, fastmath=contract), _constant(x.type, c), fastmath=contract
        )
    return result


def _at_most(x: ir.Value, bound: ir.Value) -> ir.Value:
    """min(x, bound) by a compare and a select: NaN fails the compare and passes. minimumf
    also orders signed zeros, which none of these bounds needs: five instructions on x86
    where this is two."""
    return arith.select(arith.cmpf(arith.CmpFPredicate.OGT, x, bound), bound, x)


def _at_least(x: ir.Value, bound: ir.Value) -> ir.Value:
    """max(x, bound), as `_at_most`."""
    return arith.select(arith.cmpf(arith.CmpFPredicate.OLT, x, bound), bound, x)


def _erfc_of_abs(a: ir.Value, square: ir.Value) -> ir.Value:
    """erfc(a) for a = |x| >= 0, `square` = x * x."""
    one = _constant(a.type, 1.0)
    t = arith.divf(one, arith.addf(one, arith.mulf(_constant(a.type, 0.5), a)))
    return arith.mulf(arith.mulf(t, math_d.exp(arith.negf(square))), _polynomial(_ERFC_Q, t))


def _erf(x: ir.Value) -> ir.Value:
    """Two polynomials, no exp and no division (1 - erfc would need both): exact GELU is
    one erf per element."""
    t = x.type
    a = math_d.absf(x)
    small = arith.mulf(x, _polynomial(_ERF_P, arith.mulf(x, x)))
    # NaN passes the bounds, and +-inf lands on the last point, where the polynomial is 1.
    u = arith.subf(_at_most(a, _constant(t, _ERF_ONE)), _constant(t, _ERF_MIDDLE))
    large = math_d.copysign(_at_most(_polynomial(_ERF_R, u), _constant(t, 1.0)), x)
    # NaN fails the compare and goes through `large`, which is NaN too.
    is_small = arith.cmpf(arith.CmpFPredicate.OLT, a, _constant(x.type, _ERF_SMALL))
    return arith.select(is_small, small, large)


def _erfc(x: ir.Value) -> ir.Value:
    tail = _erfc_of_abs(math_d.absf(x), arith.mulf(x, x))
    negative = arith.cmpf(arith.CmpFPredicate.OLT, x, _constant(x.type, 0.0))
    return arith.select(negative, arith.subf(_constant(x.type, 2.0), tail), tail)


def _like(t: ir.Type, element: ir.Type) -> ir.Type:
    """`element`, or a vector of it shaped like `t` when `t` is a vector."""
    return ir.VectorType.get(t.shape, element) if isinstance(t, ir.VectorType) else element


def _exp(x: ir.Value) -> ir.Value:
    """e**x in f32 without a libm call, so it stays vector code.

    x = n ln2 + r with n = x / ln2 rounded to an integer and |r| <= ln2 / 2 (ln2 in two
    parts, Cody and Waite, so r is exact to f32); e**r by its Taylor polynomial to degree 7
    (truncation below 1e-8 relative on that range); 2**n from exponent bits, as two halves
    so that neither leaves the normal range while the result is still representable (a
    subnormal result, or one just below the largest float).

    The rounding adds 1.5 * 2**23, whose unit in the last place is 1: the sum's low bits are
    n as an integer, and subtracting the constant back gives n as a float. On x86 that is
    two additions where a round instruction (two micro-ops) and a conversion were: every
    step of the 2**n is integer arithmetic on the bits, on the ports the multiplies leave.
    x above 89 computes e**89, whose product overflows to +inf; NaN passes the bounds and
    makes r, the polynomial and the product NaN, as libm's expf."""
    t = x.type
    clamped = _at_most(_at_least(x, _constant(t, _EXP_LOW)), _constant(t, _EXP_HIGH))
    contract = ir.Attribute.parse("#arith.fastmath<contract>")
    rounding = _constant(t, _ROUNDING)
    shifted = arith.addf(
        arith.mulf(clamped, _constant(t, _LOG2E), fastmath=contract), rounding, fastmath=contract
    )
    n = arith.subf(shifted, rounding)
    # Each step may contract into an FMA: n * _LN2_HIGH is exact, so the first is the same
    # either way, and the second only rounds less.
    r = clamped
    for part in (_LN2_HIGH, _LN2_LOW):
        r = arith.subf(r, arith.mulf(n, _constant(t, part), fastmath=contract), fastmath=contract)
    i32 = _like(t, ir.IntegerType.get_signless(32))
    whole = arith.subi(arith.bitcast(i32, shifted), arith.bitcast(i32, rounding))
    half = arith.shrsi(whole, _constant(i32, 1))
    return arith.mulf(
        arith.mulf(_polynomial(_EXP_TAYLOR, r), _power_of_two(half, t)),
        _power_of_two(arith.subi(whole, half), t),
    )


def _power_of_two(n: ir.Value, float_type: ir.Type) -> ir.Value:
    """2**n for i32 `n` in [-126, 127], built from its exponent bits."""
    i32 = n.type
    biased = arith.addi(n, _constant(i32, 127))
    return arith.bitcast(float_type, arith.shli(biased, _constant(i32, 23)))


def _tanh(x: ir.Value) -> ir.Value:
    """tanh in f32 from `_exp`: 1 - 2 / (e**2|x| + 1) with the sign of x; near 0, where that
    difference cancels, its odd Taylor polynomial (to x**9, below 1e-7 relative there)."""
    t = x.type
    a = math_d.absf(x)
    one = _constant(t, 1.0)
    large = arith.subf(one, arith.divf(_constant(t, 2.0), arith.addf(_exp(arith.addf(a, a)), one)))
    small = arith.mulf(x, _polynomial(_TANH_TAYLOR, arith.mulf(x, x)))
    is_small = arith.cmpf(arith.CmpFPredicate.OLT, a, _constant(t, _TANH_SMALL))
    # NaN fails the compare and goes through `large`, which is NaN too.
    return arith.select(is_small, small, math_d.copysign(large, x))


def _log(u: ir.Value) -> ir.Value:
    """log(u) in f32 without a libm call. u = m 2**e with m in [sqrt(1/2), sqrt(2)) read from the
    bits (subnormals scaled by 2**23 first); log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <
    0.172, by its odd series to s**11 (truncation below 1e-9 relative); e ln2 added in two
    parts. 0 gives -inf, negatives NaN, +inf and NaN themselves, as libm's logf."""
    t = u.type
    i32 = _like(t, ir.IntegerType.get_signless(32))
    subnormal = arith.cmpf(arith.CmpFPredicate.OLT, u, _constant(t, 2.0**-126))
    scaled = arith.select(subnormal, arith.mulf(u, _constant(t, 2.0**23)), u)
    bits = arith.bitcast(i32, scaled)
    exponent = arith.subi(arith.shrui(bits, _constant(i32, 23)), _constant(i32, 127))
    exponent = arith.select(subnormal, arith.subi(exponent, _constant(i32, 23)), exponent)
    mantissa = arith.bitcast(
        t, arith.ori(arith.andi(bits, _constant(i32, 0x007FFFFF)), _constant(i32, 0x3F800000))
    )  # in [1, 2)
    high = arith.cmpf(arith.CmpFPredicate.OGT, mantissa, _constant(t, math.sqrt(2.0)))
    mantissa = arith.select(high, arith.mulf(mantissa, _constant(t, 0.5)), mantissa)
    exponent = arith.select(high, arith.addi(exponent, _constant(i32, 1)), exponent)
    one = _constant(t, 1.0)
    s = arith.divf(arith.subf(mantissa, one), arith.addf(mantissa, one))
    log_m = arith.mulf(arith.addf(s, s), _polynomial(_ATANH_SERIES, arith.mulf(s, s)))
    e = arith.sitofp(t, exponent)
    result = arith.addf(
        arith.addf(arith.mulf(e, _constant(t, _LN2_LOW)), log_m),
        arith.mulf(e, _constant(t, _LN2_HIGH)),
    )
    result = arith.select(
        arith.cmpf(arith.CmpFPredicate.OEQ, u, _constant(t, 0.0)),
        _constant(t, float("-inf")),
        result,
    )
    result = arith.select(
        arith.cmpf(arith.CmpFPredicate.OEQ, u, _constant(t, float("inf"))), u, result
    )
    invalid = arith.cmpf(arith.CmpFPredicate.ULT, u, _constant(t, 0.0))  # negative or NaN
    return arith.select(invalid, _constant(t, float("nan")), result)


def _log1p(y: ir.Value) -> ir.Value:
    """log(1 + y) in f32 from `_log`: u = 1 + y rounds, so log(u) is scaled by y / (u - 1),
    the ratio of the wanted argument to the one taken; where u rounds to 1, log1p(y) = y."""
    t = y.type
    one = _constant(t, 1.0)
    u = arith.addf(one, y)
    denominator = arith.subf(u, one)
    corrected = arith.mulf(_log(u), arith.divf(y, denominator))
    exact = arith.cmpf(arith.CmpFPredicate.OEQ, denominator, _constant(t, 0.0))
    result = arith.select(exact, y, corrected)
    # y / (u - 1) is NaN at +inf, where the log already is right.
    infinite = arith.cmpf(arith.CmpFPredicate.OEQ, u, _constant(t, float("inf")))
    return arith.select(infinite, u, result)


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
    "math.tanh": lambda op: _in_f32(op, _tanh),
    "math.log": lambda op: _in_f32(op, _log),
    "math.log1p": lambda op: _in_f32(op, _log1p),
    "math.fpowi": _fpowi,
    "math.ipowi": _ipowi,
}
# After the others, which introduce it (erf, erfc, tanh).
_LAST = {"math.exp": lambda op: _in_f32(op, _exp)}


@register_pass
@dataclass(frozen=True)
class ExpandMath(ModulePass):
    """Expand math.erf/erfc/tanh/exp into vector arithmetic and constant powers into
    multiplications."""

    name: ClassVar[str] = "pattern-expand-math"
    ops: str = ""

    def __post_init__(self) -> None:
        only = {f"math.{name}" for name in self.ops.split(",")} if self.ops else set()
        unknown = sorted(only - set(_EXPANSIONS) - set(_LAST))
        if unknown:
            raise ValueError(f"{self.name}: no expansion of {unknown}")

    def apply(self, module: ir.Operation) -> None:
        # `ops=erf,fpowi`: only those (a GPU has exp and tanh instructions of its own).
        only = {f"math.{name}" for name in self.ops.split(",")} if self.ops else None
        for expansions in (_EXPANSIONS, _LAST):
            if only is not None:
                expansions = {name: expand for name, expand in expansions.items() if name in only}
            found: list[ir.Operation] = []

            def visit(op, expansions=expansions, found=found):
                if op.name in expansions:
                    found.append(op.operation if isinstance(op, ir.OpView) else op)
                return ir.WalkResult.ADVANCE

            walk_unlowered(module, visit)
            for op in found:
                with ir.InsertionPoint(op), op.location:
                    replacement = expansions[op.name](op)
                if replacement is not None:
                    op.result.replace_all_uses_with(replacement)
                    op.erase()
