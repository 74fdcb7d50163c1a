"""Random small PyTorch models with example inputs, for differential testing against torch.

`random_case(seed)` builds a model from a seed: one to three inputs, then a few random blocks
drawn from the op families in `FAMILIES`, each applied to a value computed so far, then one to
three outputs. Every block's output shape is known while generating (the block runs on the
example inputs as it is added), so each model is valid by construction; parameters are drawn
so that shapes stay small (at most MAX_NUMEL elements per value) and values stay finite and
well scaled (divisors are kept away from zero, variances reduce at least two elements).

The model is a list of `Op` modules wired by value index: a block's function reads its
modules and buffers through the module it is given, never through a closure, so deep copies
(BatchNorm folding, the float64 reference) stay independent of the original.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FAMILIES",
    "MAX_NUMEL",
    "RandomCase",
    "RandomModel",
    "combine",
    "random_case",
    "relative_error",
]

Shape = tuple[int, ...]

MAX_NUMEL = 12288

# Family -> relative weight when it applies. Convs and pattern-eligible 3x3 convs come up
# most often because they are what the compiler specialises.
FAMILIES: dict[str, float] = {
    "conv": 6.0,
    "residual": 2.0,
    "conv_transpose": 2.0,
    "activation": 3.0,
    "batchnorm": 1.5,
    "norm": 1.5,
    "pool": 2.0,
    "adaptive_pool": 1.5,
    "interpolate": 1.5,
    "pad": 1.0,
    "softmax": 1.0,
    "reduce": 1.0,
    "slice": 1.0,
    "cat": 1.0,
    "split": 0.7,
    "reshape": 1.5,
    "arith": 2.5,
    "linear": 1.5,
    "matmul": 1.0,
    "sdpa": 1.0,
    "mha": 1.0,
    "rnn": 1.0,
}

ACTIVATIONS = (
    "relu",
    "relu6",
    "leaky_relu",
    "prelu",
    "elu",
    "gelu",
    "gelu_tanh",
    "silu",
    "mish",
    "hardsigmoid",
    "hardswish",
    "softplus",
    "sigmoid",
    "tanh",
)

SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 19, 21, 24, 28, 31, 32, 33)
CHANNELS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 24)


class Op(nn.Module):
    """One block: `fn(self, *values)`, with its modules, buffers and constants as attributes."""

    def __init__(self, fn: Callable, **parts):
        super().__init__()
        self.fn = fn
        for name, part in parts.items():
            if isinstance(part, nn.Module):
                self.add_module(name, part)
            elif isinstance(part, torch.Tensor):
                self.register_buffer(name, part)
            else:
                setattr(self, name, part)

    def forward(self, *values):
        return self.fn(self, *values)


class RandomModel(nn.Module):
    """Runs `ops` in order; op k reads the values `wiring[k][0]` and appends its results.

    wiring[k][1] is 0 for an op returning one tensor, else the length of the tuple it returns
    (an explicit count, so symbolic tracing, which cannot unpack a proxy, wires it the same).
    """

    def __init__(
        self,
        ops: Sequence[Op],
        wiring: Sequence[tuple[tuple[int, ...], int]],
        outputs: Sequence[int],
        description: str = "",
    ):
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.wiring = [(tuple(a), n) for a, n in wiring]
        self.outputs = tuple(outputs)
        self.description = description

    def forward(self, *inputs):
        values = list(inputs)
        for op, (args, count) in zip(self.ops, self.wiring):
            out = op(*[values[i] for i in args])
            if count == 0:
                values.append(out)
            else:
                values.extend(out[i] for i in range(count))
        results = tuple(values[i] for i in self.outputs)
        return results[0] if len(results) == 1 else results


@dataclass
class RandomCase:
    """A random model, its example inputs and what it is made of."""

    seed: int
    model: RandomModel
    inputs: tuple[torch.Tensor, ...]
    description: str
    families: tuple[str, ...]

    def random_inputs(self, seed: int) -> tuple[torch.Tensor, ...]:
        """Fresh standard-normal inputs of the example inputs' shapes."""
        g = torch.Generator().manual_seed(seed)
        return tuple(torch.randn(x.shape, generator=g) for x in self.inputs)


class _Reject(Exception):
    """A drawn block is too big or not finite on the example inputs: draw another."""


def _fmt(shape: Shape) -> str:
    return "x".join(map(str, shape))


def _factor(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out + ([n] if n > 1 else [])


def _broadcast(a: Shape, b: Shape) -> Shape | None:
    """The broadcast shape of `a` and `b`, or None when they do not broadcast."""
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return None


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class _ModelBuilder:
    def __init__(self, seed: int, max_blocks: int, families: dict[str, float]):
        self.r = random.Random(seed)
        self.seed = seed
        self.max_blocks = max_blocks
        self.families = families
        self.values: list[torch.Tensor] = []
        self.ops: list[Op] = []
        self.wiring: list[tuple[tuple[int, ...], int]] = []
        self.lines: list[str] = []  # the description, one entry per block
        self.used: list[str] = []  # the family of every block
        self.num_inputs = 0

    # ----- plumbing ----------------------------------------------------------------------
    def shape(self, v: int) -> Shape:
        return tuple(self.values[v].shape)

    def add(self, family: str, text: str, fn: Callable, args: Sequence[int], **parts) -> list[int]:
        """Appends the block `fn` over values `args`; its results are the new values' indices.
        Runs it on the example values first and raises _Reject when a result is empty, too
        big or not finite."""
        op = Op(fn, **parts).eval()
        with torch.no_grad():
            out = op(*[self.values[i] for i in args])
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            if o.numel() == 0 or o.numel() > MAX_NUMEL or o.dim() == 0:
                raise _Reject(f"{text}: {tuple(o.shape)}")
            if not torch.isfinite(o).all() or o.abs().max() > 1e4:
                raise _Reject(f"{text}: values out of range")
        first = len(self.values)
        self.values.extend(outs)
        self.ops.append(op)
        self.wiring.append((tuple(args), len(outs) if isinstance(out, tuple) else 0))
        names = ",".join(f"v{first + i}" for i in range(len(outs)))
        shapes = ",".join(_fmt(tuple(o.shape)) for o in outs)
        self.lines.append(f"{names}={text}({','.join(f'v{a}' for a in args)})[{shapes}]")
        self.used.append(family)
        return list(range(first, len(self.values)))

    def add_quietly(self, family: Callable[[int], bool], v: int) -> list[int]:
        """`family(v)`'s new values, or [v] when it was rejected."""
        before = len(self.values)
        with contextlib.suppress(_Reject):
            family(v)
        return list(range(before, len(self.values))) or [v]

    def partner(self, v: int, ok: Callable[[Shape], bool]) -> int | None:
        """Another value (or `v` itself) whose shape satisfies `ok`, picked at random."""
        found = [i for i in range(len(self.values)) if ok(self.shape(i))]
        return self.r.choice(found) if found else None

    # ----- inputs ------------------------------------------------------------------------
    def image_shape(self) -> Shape:
        r = self.r
        while True:
            shape = (
                r.choice((1, 1, 1, 2, 3)),
                r.choice(CHANNELS),
                r.choice(SIZES),
                r.choice(SIZES),
            )
            if shape[0] * shape[1] * shape[2] * shape[3] <= MAX_NUMEL // 2:
                return shape

    def sequence_shape(self, batch: int) -> Shape:
        return (batch, self.r.randint(1, 10), self.r.choice(CHANNELS))

    def make_inputs(self) -> None:
        """One to three inputs: an image, a sequence or a flat vector first; the others of its
        shape, broadcastable to it, or of another kind."""
        r = self.r
        kind = r.choices(("image", "sequence", "flat"), (6, 3, 1))[0]
        first = {
            "image": self.image_shape,
            "sequence": lambda: self.sequence_shape(r.choice((1, 2))),
            "flat": lambda: (r.choice((1, 2, 3)), r.randint(1, 40)),
        }[kind]()
        shapes = [first]
        for _ in range(r.choices((0, 1, 2), (5, 3, 2))[0]):
            how = r.choice(("same", "broadcast", "other"))
            if how == "same":
                shapes.append(first)
            elif how == "broadcast":
                shapes.append(tuple(d if r.random() < 0.5 else 1 for d in first))
            else:
                shapes.append(r.choice((self.image_shape(), self.sequence_shape(first[0]))))
        g = torch.Generator().manual_seed(self.seed)
        self.values = [torch.randn(s, generator=g) for s in shapes]
        self.lines.append("in " + ",".join(f"v{i}:{_fmt(s)}" for i, s in enumerate(shapes)))
        self.num_inputs = len(shapes)

    # ----- families ----------------------------------------------------------------------
    # Each takes a value index, returns False when it does not apply to that value's shape.
    def conv(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        _, c, h, w = shape
        kind = r.choices(("3x3", "1x1", "kxk", "rect"), (5, 2, 1.5, 1))[0]
        kh, kw = {
            "3x3": (3, 3),
            "1x1": (1, 1),
            "kxk": (k := r.randint(2, 7), k),
            "rect": (r.randint(1, 5), r.randint(1, 5)),
        }[kind]
        stride = (s := r.choice((1, 1, 1, 2, 2, 3)), s if r.random() < 0.85 else r.randint(1, 3))
        dil = (1, 1) if r.random() < 0.7 else (d := r.randint(2, 3), d if r.random() < 0.8 else 1)
        groups, out = 1, r.choice(CHANNELS)
        if r.random() < 0.25 and c > 1:
            if r.random() < 0.5:
                groups, out = c, c * r.choice((1, 1, 2))  # depthwise
            else:
                groups = r.choice(_divisors(c)[1:])
                out = groups * r.randint(1, max(1, 16 // groups))
        eff = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1)
        how = r.choices(("sym", "asym", "same", "mode"), (6, 2, 1, 1))[0]
        pad, pre = (0, 0), None
        if how == "same" and stride == (1, 1):
            pad = "same"
        elif how == "asym":
            pre = tuple(r.randint(0, 3) for _ in range(4))
        else:
            pad = (r.randint(0, eff[0] // 2 + 1), r.randint(0, eff[1] // 2 + 1))
        mode = "zeros"
        if how == "mode" and pad != "same":
            mode = r.choice(("reflect", "replicate", "circular"))
        if pad != "same":  # grow the padding until one window fits
            hp, wp = h + (pre[2] + pre[3] if pre else 0), w + (pre[0] + pre[1] if pre else 0)
            pad = (max(pad[0], -((hp - eff[0]) // 2)), max(pad[1], -((wp - eff[1]) // 2)))
            if mode != "zeros" and (pad[0] >= h or pad[1] >= w):
                mode = "zeros"
        conv = nn.Conv2d(
            c, out, (kh, kw), stride, pad, dil, groups, bias=r.random() < 0.7, padding_mode=mode
        )
        text = (
            f"conv{kh}x{kw}[{c}->{out} s{_fmt(stride)} p{pad if pad == 'same' else _fmt(pad)}"
            f"{' pre' + _fmt(pre) if pre else ''} d{_fmt(dil)} g{groups}"
            f"{'' if mode == 'zeros' else ' ' + mode}{'' if conv.bias is not None else ' nobias'}]"
        )
        if pre:
            y = self.add(
                "conv", text, lambda m, x: m.conv(F.pad(x, m.pre)), [v], conv=conv, pre=pre
            )
        else:
            y = self.add("conv", text, lambda m, x: m.conv(x), [v], conv=conv)
        # The conv -> BatchNorm -> activation block of real CNNs: what BN folding and the
        # pattern conv's fused epilogue look for.
        if "batchnorm" in self.families and r.random() < 0.3:
            y = self.add_quietly(self.batchnorm, y[0])
        if "activation" in self.families and r.random() < 0.3:
            self.add_quietly(self.activation, y[0])
        return True

    def conv_transpose(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        _, c, h, w = shape
        k = (r.randint(1, 4), r.randint(1, 4)) if r.random() < 0.3 else (n := r.randint(1, 4), n)
        s = r.choice((1, 2, 2, 3))
        d = 1 if r.random() < 0.8 else 2
        p = r.randint(0, (k[0] - 1) * d // 2)
        op = r.randint(0, max(s, d) - 1)
        groups = r.choice(_divisors(c)) if r.random() < 0.3 else 1
        out = groups * r.randint(1, max(1, 12 // groups))
        oh = (h - 1) * s - 2 * p + d * (k[0] - 1) + op + 1
        ow = (w - 1) * s - 2 * p + d * (k[1] - 1) + op + 1
        if min(oh, ow) < 1:
            p = 0
        conv = nn.ConvTranspose2d(c, out, k, s, p, op, groups, bias=r.random() < 0.7, dilation=d)
        text = f"convT{_fmt(k)}[{c}->{out} s{s} p{p} op{op} d{d} g{groups}]"
        self.add("conv_transpose", text, lambda m, x: m.conv(x), [v], conv=conv)
        return True

    def activation(self, v: int) -> bool:
        r = self.r
        name = r.choice(ACTIVATIONS)
        shape = self.shape(v)
        parts: dict = {}
        if name == "relu":
            fn = lambda m, x: F.relu(x)
        elif name == "relu6":
            fn = lambda m, x: F.relu6(x)
        elif name == "leaky_relu":
            parts["slope"] = round(r.uniform(0.01, 0.3), 3)
            name += f"({parts['slope']})"
            fn = lambda m, x: F.leaky_relu(x, m.slope)
        elif name == "prelu":
            n = shape[1] if len(shape) >= 2 and r.random() < 0.6 else 1
            prelu = nn.PReLU(n)
            with torch.no_grad():
                prelu.weight.uniform_(-0.5, 0.5)
            parts["act"] = prelu
            name += f"({n})"
            fn = lambda m, x: m.act(x)
        elif name == "elu":
            parts["alpha"] = round(r.uniform(0.5, 1.5), 3)
            name += f"({parts['alpha']})"
            fn = lambda m, x: F.elu(x, m.alpha)
        elif name == "gelu":
            fn = lambda m, x: F.gelu(x)
        elif name == "gelu_tanh":
            fn = lambda m, x: F.gelu(x, approximate="tanh")
        elif name == "softplus":
            parts["beta"] = r.choice((1.0, 1.0, 0.5, 2.0))
            name += f"({parts['beta']})"
            fn = lambda m, x: F.softplus(x, m.beta)
        else:
            parts["f"] = {
                "silu": F.silu,
                "mish": F.mish,
                "hardsigmoid": F.hardsigmoid,
                "hardswish": F.hardswish,
                "sigmoid": torch.sigmoid,
                "tanh": torch.tanh,
            }[name]
            fn = lambda m, x: m.f(x)
        self.add("activation", name, fn, [v], **parts)
        return True

    def batchnorm(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) not in (2, 3, 4):
            return False
        bn = self.random_batchnorm(nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d, shape[1])
        self.add(
            "batchnorm",
            f"bn{len(shape) - 2 if len(shape) == 4 else 1}d({shape[1]})",
            lambda m, x: m.bn(x),
            [v],
            bn=bn,
        )
        return True

    def random_batchnorm(self, cls: type, channels: int) -> nn.Module:
        """A BatchNorm whose running statistics and affine parameters are far from identity, so
        that folding it wrongly shows in the results."""
        bn = cls(channels, affine=self.r.random() < 0.8)
        g = torch.Generator().manual_seed(self.r.randrange(2**31))
        with torch.no_grad():
            bn.running_mean.copy_(torch.rand(channels, generator=g) * 2 - 1)
            bn.running_var.copy_(torch.rand(channels, generator=g) * 2 + 0.3)
            if bn.affine:
                bn.weight.copy_(torch.rand(channels, generator=g) + 0.5)
                bn.bias.copy_(torch.randn(channels, generator=g) * 0.3)
        return bn

    def residual(self, v: int) -> bool:
        """conv (same shape) -> [BatchNorm] -> [activation] -> + input -> [ReLU]: a ResNet block,
        whose addition and activations the compiler fuses into the conv's epilogue."""
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        c = shape[1]
        k, d = r.choice((1, 3, 3, 3, 5)), r.choice((1, 1, 2))
        groups = c if r.random() < 0.2 else 1
        body = [nn.Conv2d(c, c, k, 1, d * (k - 1) // 2, d, groups, bias=r.random() < 0.5)]
        text = f"residual[conv{k}x{k} d{d} g{groups}"
        if r.random() < 0.6:
            body.append(self.random_batchnorm(nn.BatchNorm2d, c))
            text += " bn"
        act = r.choice(("relu", "relu", "relu6", "silu", "hardswish", "none"))
        if act != "none":
            body.append(
                {"relu": nn.ReLU, "relu6": nn.ReLU6, "silu": nn.SiLU, "hardswish": nn.Hardswish}[
                    act
                ]()
            )
            text += f" {act}"
        post = r.random() < 0.5
        text += f" +x{' relu' if post else ''}]"
        self.add(
            "residual",
            text,
            lambda m, x: m.post(m.body(x) + x),
            [v],
            body=nn.Sequential(*body),
            post=nn.ReLU() if post else nn.Identity(),
        )
        return True

    def norm(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        kinds = ["layer"] + (["group"] if len(shape) >= 3 else [])
        if len(shape) == 4 and shape[2] * shape[3] >= 4:
            kinds.append("instance")
        kind = r.choice(kinds)
        if kind == "layer":
            k = r.randint(1, min(3, len(shape) - 1)) if len(shape) > 1 else 1
            dims = shape[-k:]
            if torch.Size(dims).numel() < 2:
                return False
            mod = nn.LayerNorm(dims, elementwise_affine=r.random() < 0.7, bias=r.random() < 0.7)
            text = f"layernorm({_fmt(dims)})"
        elif kind == "group":
            c = shape[1]
            groups = r.choice(_divisors(c))
            if (c // groups) * torch.Size(shape[2:]).numel() < 2:
                return False
            mod = nn.GroupNorm(groups, c, affine=r.random() < 0.7)
            text = f"groupnorm({groups},{c})"
        else:
            mod = nn.InstanceNorm2d(shape[1], affine=r.random() < 0.5)
            text = f"instancenorm({shape[1]})"
        with torch.no_grad():
            if getattr(mod, "weight", None) is not None:
                mod.weight.uniform_(0.5, 1.5)
            if getattr(mod, "bias", None) is not None:
                mod.bias.normal_(0, 0.3)
        self.add("norm", text, lambda m, x: m.norm(x), [v], norm=mod)
        return True

    def pool(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        _, _, h, w = shape
        kind = r.choice(("max", "avg"))
        k = (n := r.randint(1, 4), n) if r.random() < 0.8 else (r.randint(1, 4), r.randint(1, 4))
        s = r.choice((None, 1, 2, 2, 3))
        p = (r.randint(0, k[0] // 2), r.randint(0, k[1] // 2))
        d = r.choice((1, 1, 1, 2)) if kind == "max" else 1
        ceil = r.random() < 0.4
        if h + 2 * p[0] < d * (k[0] - 1) + 1 or w + 2 * p[1] < d * (k[1] - 1) + 1:
            k, p, d = (min(k[0], h), min(k[1], w)), (0, 0), 1
        stride = _fmt(s) if isinstance(s, tuple) else str(s or "k")
        if kind == "max":
            text = f"maxpool[k{_fmt(k)} s{stride} p{_fmt(p)} d{d}{' ceil' if ceil else ''}]"
            fn = lambda m, x: F.max_pool2d(x, m.k, m.s, m.p, m.d, m.ceil)
            self.add("pool", text, fn, [v], k=k, s=s, p=p, d=d, ceil=ceil)
        else:
            include = r.random() < 0.5
            div = r.choice((None,) * 5 + (3,))
            text = (
                f"avgpool[k{_fmt(k)} s{stride} p{_fmt(p)}{' ceil' if ceil else ''}"
                f"{' count_pad' if include else ''}{f' div{div}' if div else ''}]"
            )
            fn = lambda m, x: F.avg_pool2d(x, m.k, m.s, m.p, m.ceil, m.include, m.div)
            self.add("pool", text, fn, [v], k=k, s=s, p=p, ceil=ceil, include=include, div=div)
        return True

    def adaptive_pool(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        size = tuple(r.randint(1, max(1, min(d + 2, 9))) for d in shape[2:])
        if r.random() < 0.2:
            size = (1, 1)
        kind = r.choice(("avg", "max"))
        f = F.adaptive_avg_pool2d if kind == "avg" else F.adaptive_max_pool2d
        self.add(
            "adaptive_pool",
            f"adaptive_{kind}pool({_fmt(size)})",
            lambda m, x: m.f(x, m.size),
            [v],
            f=f,
            size=size,
        )
        return True

    def interpolate(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 4:
            return False
        r = self.r
        mode = r.choice(("nearest", "nearest", "bilinear", "bilinear", "bicubic"))
        align = None if mode == "nearest" else r.random() < 0.5
        if r.random() < 0.5:
            size, scale = (r.randint(1, 24), r.randint(1, 24)), None
            text = f"{mode}(size {_fmt(size)}"
        else:
            size, scale = None, r.choice((2.0, 2.0, 3.0, 0.5, 1.5, 0.75))
            if min(int(d * scale) for d in shape[2:]) < 1:
                scale = 2.0
            text = f"{mode}(x{scale}"
        text += f"{'' if align is None else ' align' if align else ''})"
        fn = lambda m, x: F.interpolate(x, m.size, m.scale, m.mode, m.align)
        self.add("interpolate", text, fn, [v], size=size, scale=scale, mode=mode, align=align)
        return True

    def pad(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        modes = ["constant"] + (["reflect", "replicate"] if 2 <= len(shape) <= 4 else [])
        mode = r.choice(modes)
        if mode == "constant":
            n = r.randint(1, len(shape))
            pads = []
            for d in reversed(shape[-n:]):
                lo, hi = r.randint(-1, 3), r.randint(-1, 3)
                while d + lo + hi < 1:
                    lo += 1
                pads += [lo, hi]
            value = round(r.uniform(-1, 1), 2)
        else:
            n = {2: 1, 3: r.choice((1, 2)), 4: 2}[len(shape)]  # what F.pad supports per rank
            pads = []
            for d in reversed(shape[-n:]):
                top = d - 1 if mode == "reflect" else 3
                pads += [r.randint(0, min(3, top)), r.randint(0, min(3, top))]
            value = None
        text = f"pad[{mode} {pads}{'' if value is None else f' {value}'}]"
        fn = lambda m, x: F.pad(x, m.pads, m.mode, m.value)
        self.add("pad", text, fn, [v], pads=tuple(pads), mode=mode, value=value)
        return True

    def softmax(self, v: int) -> bool:
        dim = self.r.randrange(-len(self.shape(v)), len(self.shape(v)))
        log = self.r.random() < 0.5
        self.add(
            "softmax",
            f"{'log_' if log else ''}softmax(dim {dim})",
            lambda m, x: m.f(x, m.dim),
            [v],
            f=F.log_softmax if log else F.softmax,
            dim=dim,
        )
        return True

    def reduce(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        kind = r.choice(("sum", "mean", "amax", "amin", "var"))
        dims = tuple(sorted(r.sample(range(len(shape)), r.randint(1, len(shape)))))
        keep = r.random() < 0.5 or len(dims) == len(shape)
        count = torch.Size([shape[d] for d in dims]).numel()
        if kind == "var":
            correction = r.choice((0, 1))
            if count < 2:
                return False
            fn = lambda m, x: torch.var(x, m.dims, correction=m.corr, keepdim=m.keep)
            text = f"var(dims {dims} corr{correction}{' keep' if keep else ''})"
            self.add("reduce", text, fn, [v], dims=dims, corr=correction, keep=keep)
            return True
        f = {"sum": torch.sum, "mean": torch.mean, "amax": torch.amax, "amin": torch.amin}[kind]
        self.add(
            "reduce",
            f"{kind}(dims {dims}{' keep' if keep else ''})",
            lambda m, x: m.f(x, m.dims, keepdim=m.keep),
            [v],
            f=f,
            dims=dims,
            keep=keep,
        )
        return True

    def _wide_dim(self, v: int) -> int | None:
        """A random dimension of `v` of size 2 or more, or None."""
        shape = self.shape(v)
        dims = [d for d in range(len(shape)) if shape[d] >= 2]
        return self.r.choice(dims) if dims else None

    def slice(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        d = self._wide_dim(v)
        if d is None:
            return False
        n = shape[d]
        start = r.randint(0, n - 1)
        stop = r.randint(start + 1, n)
        step = r.choice((1, 1, 2, 3))
        if r.random() < 0.3:  # the same range written with negative indices
            start, stop = start - n, (stop - n) or None
        index = (slice(None),) * d + (slice(start, stop, step),)
        self.add(
            "slice",
            f"slice(dim {d} {start}:{stop}:{step})",
            lambda m, x: x[m.index],
            [v],
            index=index,
        )
        return True

    def cat(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        d = r.randrange(len(shape))
        other = self.partner(
            v,
            lambda s: (
                len(s) == len(shape)
                and all(a == b for i, (a, b) in enumerate(zip(s, shape)) if i != d)
            ),
        )
        others = [v, other] + ([other] if r.random() < 0.2 else [])
        r.shuffle(others)
        self.add("cat", f"cat(dim {d})", lambda m, *xs: torch.cat(xs, m.d), others, d=d)
        return True

    def split(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        d = self._wide_dim(v)
        if d is None:
            return False
        if r.random() < 0.5:
            chunks = r.randint(2, min(4, shape[d]))
            self.add(
                "split",
                f"chunk({chunks} dim {d})",
                lambda m, x: torch.chunk(x, m.chunks, m.d),
                [v],
                chunks=chunks,
                d=d,
            )
        elif r.random() < 0.5:
            size = r.randint(1, shape[d] - 1)
            self.add(
                "split",
                f"split({size} dim {d})",
                lambda m, x: torch.split(x, m.size, m.d),
                [v],
                size=size,
                d=d,
            )
        else:
            cut = sorted(r.sample(range(1, shape[d]), min(2, shape[d] - 1)))
            sizes = [b - a for a, b in zip([0, *cut], [*cut, shape[d]])]
            self.add(
                "split",
                f"split({sizes} dim {d})",
                lambda m, x: torch.split(x, m.sizes, m.d),
                [v],
                sizes=sizes,
                d=d,
            )
        return True

    def reshape(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        kind = r.choice(("permute", "reshape", "flatten", "to_sequence", "transpose"))
        if kind == "permute" and len(shape) > 1:
            perm = list(range(len(shape)))
            while perm == sorted(perm):
                r.shuffle(perm)
            contig = r.random() < 0.5
            fn = (
                (lambda m, x: x.permute(m.perm).contiguous())
                if contig
                else (lambda m, x: x.permute(m.perm))
            )
            self.add("reshape", f"permute{tuple(perm)}", fn, [v], perm=tuple(perm))
        elif kind == "transpose" and len(shape) > 1:
            a, b = r.sample(range(len(shape)), 2)
            self.add(
                "reshape", f"transpose({a},{b})", lambda m, x: x.transpose(m.a, m.b), [v], a=a, b=b
            )
        elif kind == "flatten" and len(shape) > 1:
            start = r.randrange(len(shape) - 1)
            end = r.randrange(start + 1, len(shape))
            self.add(
                "reshape",
                f"flatten({start},{end})",
                lambda m, x: torch.flatten(x, m.start, m.end),
                [v],
                start=start,
                end=end,
            )
        elif kind == "to_sequence" and len(shape) == 4:
            # (N, C, H, W) -> (N, H*W, C): how vision transformers feed attention.
            self.add("reshape", "to_sequence", lambda m, x: x.flatten(2).transpose(1, 2), [v])
        else:
            rank = r.randint(1, 4)
            dims = [1] * rank
            for f in _factor(torch.Size(shape).numel()):
                dims[r.randrange(rank)] *= f
            if r.random() < 0.3:
                dims[r.randrange(rank)] = -1
            self.add(
                "reshape",
                f"reshape({_fmt(dims)})",
                lambda m, x: x.reshape(m.dims),
                [v],
                dims=tuple(dims),
            )
        return True

    def arith(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        op = r.choice(("add", "sub", "mul", "div", "maximum"))
        how = r.choice(("scalar", "constant", "value", "value"))
        fns = {
            "add": torch.add,
            "sub": torch.sub,
            "mul": torch.mul,
            "div": torch.div,
            "maximum": torch.maximum,
        }
        if how == "scalar" and op != "maximum":
            c = round(r.choice((-1, 1)) * r.uniform(0.25, 3.0), 3)
            if r.random() < 0.5 or op in ("add", "mul"):
                fn, text = (lambda m, x: m.f(x, m.c)), f"{op}(_, {c})"
            elif op == "sub":
                fn, text = (lambda m, x: m.c - x), f"sub({c}, _)"
            else:  # a runtime divisor is kept at least 0.5 away from zero
                fn, text = (lambda m, x: m.c / (x.abs() + 0.5)), f"div({c}, |_|+0.5)"
            self.add("arith", text, fn, [v], c=c, f=fns[op])
            return True
        if how in ("scalar", "constant"):
            bshape = tuple(d if r.random() < 0.5 else 1 for d in shape)[
                r.randint(0, len(shape) - 1) :
            ]
            g = torch.Generator().manual_seed(r.randrange(2**31))
            const = torch.rand(bshape, generator=g) + 0.5
            const *= torch.where(torch.rand(bshape, generator=g) < 0.5, -1.0, 1.0)
            swap = r.random() < 0.5 and op != "div"
            fn = (lambda m, x: m.f(m.const, x)) if swap else (lambda m, x: m.f(x, m.const))
            text = f"{op}(const {_fmt(bshape)}, _)" if swap else f"{op}(_, const {_fmt(bshape)})"
            self.add("arith", text, fn, [v], const=const, f=fns[op])
            return True

        other = self.partner(
            v,
            lambda s: (
                (b := _broadcast(s, shape)) is not None and torch.Size(b).numel() <= MAX_NUMEL
            ),
        )
        if op == "div":
            fn = lambda m, x, y: x / (y.abs() + 0.5)
            text = "div(_, |_|+0.5)"
        else:
            fn, text = (lambda m, x, y: m.f(x, y)), op
        args = [v, other] if r.random() < 0.5 else [other, v]
        self.add("arith", text, fn, args, f=fns[op])
        return True

    def linear(self, v: int) -> bool:
        shape = self.shape(v)
        r = self.r
        # Sometimes out = dim 1 of a 3-D value: BatchNorm1d after it then has as many
        # features as the linear has outputs, but normalises another axis.
        out = shape[1] if len(shape) == 3 and r.random() < 0.25 else r.choice(CHANNELS)
        lin = nn.Linear(shape[-1], out, bias=r.random() < 0.8)
        self.add("linear", f"linear({shape[-1]}->{out})", lambda m, x: m.lin(x), [v], lin=lin)
        return True

    def matmul(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) < 2:
            return False
        r = self.r
        k = shape[-1]
        other = self.partner(
            v,
            lambda s: (
                len(s) == len(shape)
                and s[-2] == k
                and _broadcast(s[:-2], shape[:-2]) == shape[:-2]
                and torch.Size((*shape[:-1], s[-1])).numel() <= MAX_NUMEL
            ),
        )
        if other is not None and r.random() < 0.7:
            use_bmm = len(shape) == 3 and self.shape(other)[0] == shape[0] and r.random() < 0.5
            fn = (
                (lambda m, x, y: torch.bmm(x, y))
                if use_bmm
                else (lambda m, x, y: torch.matmul(x, y))
            )
            self.add("matmul", "bmm" if use_bmm else "matmul", fn, [v, other])
        else:
            self.add(
                "matmul", "matmul(_, _^T)", lambda m, x: torch.matmul(x, x.transpose(-1, -2)), [v]
            )
        return True

    def sdpa(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) not in (3, 4):
            return False
        r = self.r
        e = shape[-1]
        heads = r.choice(_divisors(e)) if len(shape) == 3 else 1
        other = self.partner(
            v, lambda s: len(s) == len(shape) and s[-1] == e and s[:-2] == shape[:-2]
        )
        lq, lk = shape[-2], self.shape(other)[-2]
        g = torch.Generator().manual_seed(r.randrange(2**31))
        mask_kind = r.choice(("none", "none", "causal", "float", "bool"))
        if mask_kind == "causal" and lq != lk:
            mask_kind = "none"
        mask = None
        if mask_kind == "float":
            mask = torch.randn(lq, lk, generator=g)
        elif mask_kind == "bool":
            mask = torch.rand(lq, lk, generator=g) < 0.7
            mask[:, 0] = True  # every query sees one key: no all-masked (NaN) rows
        scale = r.choice((None, None, 0.5))
        split = (heads, e // heads)

        def fn(m, x, y):
            q, k, val = m.q(x), m.k(y), m.v(y)
            if len(m.shape) == 3:  # (N, L, E) -> (N, heads, L, E / heads)
                q, k, val = (t.unflatten(-1, m.split).transpose(1, 2) for t in (q, k, val))
            out = F.scaled_dot_product_attention(
                q,
                k,
                val,
                attn_mask=m.mask if m.has_mask else None,
                is_causal=m.causal,
                scale=m.scale,
            )
            return out.transpose(1, 2).flatten(2) if len(m.shape) == 3 else out

        parts = {
            "q": nn.Linear(e, e),
            "k": nn.Linear(e, e),
            "v": nn.Linear(e, e),
            "shape": shape,
            "split": split,
            "causal": mask_kind == "causal",
            "scale": scale,
            "has_mask": mask is not None,
        }
        if mask is not None:  # a buffer cannot hold None
            parts["mask"] = mask
        self.add(
            "sdpa", f"sdpa(heads {heads} mask {mask_kind} scale {scale})", fn, [v, other], **parts
        )
        return True

    def mha(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 3:
            return False
        r = self.r
        e = shape[-1]
        heads = r.choice(_divisors(e))
        first = r.random() < 0.7
        other = self.partner(
            v,
            lambda s: (
                len(s) == 3 and s[-1] == e and (s[0] == shape[0] if first else s[1] == shape[1])
            ),
        )
        need = r.random() < 0.4
        mha = nn.MultiheadAttention(e, heads, bias=r.random() < 0.8, batch_first=first)
        text = (
            f"mha(E {e} heads {heads}{' batch_first' if first else ''}{' weights' if need else ''})"
        )
        if need:
            fn = lambda m, x, y: m.mha(x, y, y, need_weights=True)
        else:
            fn = lambda m, x, y: m.mha(x, y, y, need_weights=False)[0]
        self.add("mha", text, fn, [v, other], mha=mha)
        return True

    def rnn(self, v: int) -> bool:
        shape = self.shape(v)
        if len(shape) != 3:
            return False
        r = self.r
        first = r.random() < 0.6
        if shape[1 if first else 0] > 10:  # recurrences unroll per step: keep them short
            return False
        kind = r.choice(("lstm", "gru"))
        hidden, layers, bi = r.randint(1, 12), r.choice((1, 1, 2)), r.random() < 0.4
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        mod = cls(
            shape[-1], hidden, layers, bias=r.random() < 0.85, batch_first=first, bidirectional=bi
        )
        states = r.random() < 0.3  # the final states as outputs too
        text = f"{kind}({shape[-1]}->{hidden} layers {layers}{' bi' if bi else ''}{' batch_first' if first else ''}"
        text += f"{' +h_n' if states else ''})"
        if kind == "lstm" and states:
            fn = _lstm_with_states
        elif states:
            fn = lambda m, x: m.rnn(x)
        else:
            fn = lambda m, x: m.rnn(x)[0]
        self.add("rnn", text, fn, [v], rnn=mod)
        return True

    def pick(self) -> int:
        """Mostly the newest value (chains), else one nothing reads yet (inputs, split pieces)."""
        r = self.r
        unread = sorted(set(range(len(self.values))) - {a for args, _ in self.wiring for a in args})
        if r.random() < 0.55 or not unread:
            return len(self.values) - 1 if r.random() < 0.8 else r.randrange(len(self.values))
        return r.choice(unread)

    # ----- the model ---------------------------------------------------------------------
    def build(self) -> RandomCase:
        r = self.r
        self.make_inputs()
        blocks = r.randint(2, self.max_blocks)
        names = list(self.families)
        weights = [self.families[n] for n in names]
        attempts = 0
        while len(self.ops) < blocks and attempts < 200:
            attempts += 1
            v = self.pick()
            family = r.choices(names, weights)[0]
            if (
                not self.ops
                and len(self.shape(v)) == 4
                and "conv" in self.families
                and r.random() < 0.6
            ):
                family = "conv"  # image models mostly open with a conv
            with contextlib.suppress(_Reject):
                getattr(self, family)(v)
        if not self.ops:  # nothing applied (only possible with a narrow family list)
            self.add("activation", "relu", lambda m, x: F.relu(x), [len(self.values) - 1])
        # The newest value plus, mostly, the other values nothing reads (so little is dead
        # code); sometimes any computed value, which then is both a result and an operand.
        last = len(self.values) - 1
        read = {a for args, _ in self.wiring for a in args}
        pool = [i for i in range(self.num_inputs, last) if i not in read or r.random() < 0.1]
        extra = r.sample(pool, min(len(pool), r.choices((0, 1, 2), (2, 4, 4))[0]))
        outputs = [last, *sorted(extra)]
        if r.random() < 0.05:  # a result that is an input, or the same value twice
            outputs.append(r.choice((r.randrange(self.num_inputs), last)))
        self.lines.append("out " + ",".join(f"v{i}" for i in outputs))
        description = "; ".join(self.lines)
        model = RandomModel(self.ops, self.wiring, outputs, description).eval()
        inputs = tuple(self.values[: self.num_inputs])
        return RandomCase(self.seed, model, inputs, description, tuple(sorted(set(self.used))))


class _SideBySide(nn.Module):
    """Several random models in one: each reads its own inputs; the results are all of theirs."""

    def __init__(self, models: Sequence[RandomModel], counts: Sequence[int]):
        super().__init__()
        self.models = nn.ModuleList(models)
        self.counts = tuple(counts)

    def forward(self, *inputs):
        results, at = [], 0
        for model, count in zip(self.models, self.counts):
            out = model(*inputs[at : at + count])
            results.extend(out if len(model.outputs) > 1 else (out,))
            at += count
        return tuple(results)


def combine(cases: Sequence[RandomCase]) -> RandomCase:
    """One case running `cases` side by side (one compile for several seeds); its seed is the
    first one's, its inputs and results are theirs in order."""
    model = _SideBySide([c.model for c in cases], [len(c.inputs) for c in cases]).eval()
    inputs = tuple(x for c in cases for x in c.inputs)
    description = " | ".join(f"seed {c.seed}: {c.description}" for c in cases)
    families = tuple(sorted({f for c in cases for f in c.families}))
    return RandomCase(cases[0].seed, model, inputs, description, families)


def relative_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected| / max |expected| over torch's finite values (floor 1e-6); inf when
    the shapes differ or `got` has a NaN/inf where torch is finite or differs from torch's."""
    got, expected = got.detach().double(), expected.detach().double()
    if got.shape != expected.shape:
        return float("inf")
    finite = torch.isfinite(expected)
    if not torch.isfinite(got[finite]).all():
        return float("inf")
    g, x = got[~finite], expected[~finite]
    if not (torch.equal(g.isnan(), x.isnan()) and torch.equal(g[~x.isnan()], x[~x.isnan()])):
        return float("inf")
    if not finite.any():
        return 0.0
    diff = (got - expected)[finite].abs().max()
    return float(diff / expected[finite].abs().max().clamp_min(1e-6))


def _lstm_with_states(m, x):
    # Indexed, not unpacked: symbolic tracing (BatchNorm folding) cannot unpack a proxy.
    out = m.rnn(x)
    return out[0], out[1][0], out[1][1]


def random_case(
    seed: int, max_blocks: int = 6, families: Sequence[str] | None = None
) -> RandomCase:
    """The random model of `seed`: the same seed gives the same model, weights and inputs.

    max_blocks bounds the number of blocks (at least 2 are drawn); families restricts the op
    families drawn (names from FAMILIES; reshaping may still be needed to reach a shape).
    """
    chosen = {n: w for n, w in FAMILIES.items() if families is None or n in families}
    unknown = set(families or ()) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _ModelBuilder(seed, max_blocks, chosen).build()
