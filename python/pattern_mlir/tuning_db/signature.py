"""What identifies a layer for tuning: the facts that decide a pattern conv's speed.

A tuned schedule is only worth reusing for a conv whose generated code and memory traffic are
the same: the shapes, stride, padding and dilation (loop bounds and tap offsets), the pattern
library (which loads and FMAs each pattern loop does; its order does not matter, so masks are
sorted), how many kernels survive connectivity pruning (trip counts, rounded to a ratio so that
a retrained model with a few kernels more or less still finds its entry), the target and the CPU
that ran the measurements, and the thread count they were made for (a schedule tuned for 2
threads chose its filter groups for 2 cores). Weight values, bias and activation do not change
the speed and are left out, so one entry serves every model with a layer of that shape.
"""

from __future__ import annotations

import functools
import json
import platform
from dataclasses import asdict, dataclass

import numpy as np

from ..target.host_cpu import cpuinfo_fields

PATTERN_CONV_OPS = ("pattern.conv2d", "pattern.packed_conv2d")
GPU_TARGET = "vulkan-adreno"  # tuned on the Vulkan device; signatures name the device

__all__ = [
    "GPU_TARGET",
    "PATTERN_CONV_OPS",
    "LayerSignature",
    "cpu_model",
    "library_key",
    "signature_of_op",
]

# Flags that change which vector instructions LLVM may use for the host.
_ISA_FLAGS = ("avx512f", "avx2", "fma", "asimd", "sve")


@functools.cache
def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The host CPU as measured results depend on it: model name, family/model, vector ISA.

    Virtual machines often report a generic model name ("Intel(R) Xeon(R) Processor"), so the
    family/model numbers and the vector extensions are part of it too.
    """
    fields = cpuinfo_fields(cpuinfo)
    if fields is None:
        return platform.processor() or platform.machine()
    name = fields.get("model name") or fields.get("Model") or fields.get("CPU part", "unknown")
    ident = "/".join(fields[k] for k in ("cpu family", "model", "stepping") if k in fields)
    flags = set((fields.get("flags") or fields.get("Features", "")).split())
    isa = "+".join(f for f in _ISA_FLAGS if f in flags)
    return " ".join(part for part in (name, f"[{ident}]" if ident else "", isa) if part)


def library_key(masks: np.ndarray) -> str:
    """Order-free text of a pattern library: its tap bitmasks, sorted, e.g. '3x3:27,58,...'."""
    masks = np.asarray(masks, dtype=bool)
    _, kh, kw = masks.shape
    flat = masks.reshape(masks.shape[0], -1)
    bits = sorted(int(sum(1 << int(t) for t in np.flatnonzero(row))) for row in flat)
    return f"{kh}x{kw}:" + ",".join(str(b) for b in bits)


@dataclass(frozen=True)
class LayerSignature:
    """One pattern conv as the tuning database keys it (batch 1, NCHW, float32)."""

    in_channels: int
    out_channels: int
    height: int
    width: int
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: tuple[int, int]
    library: str  # library_key()
    connectivity: float  # (out * in) / kept kernels, rounded to 0.1
    target: str
    cpu: str
    kept: int = 0  # kept kernels exactly (informative; not part of the key)
    threads: int = 1  # the thread count the schedule is tuned for (the compile's num_threads)

    @staticmethod
    def make(
        in_channels: int,
        out_channels: int,
        height: int,
        width: int,
        stride,
        padding,
        dilation,
        library: np.ndarray,
        kept: int,
        target: str = "host",
        cpu: str | None = None,
        threads: int = 1,
    ) -> LayerSignature:
        """From plain values; ints or pairs as torch takes them, padding also as 4 values."""
        stride, dilation = _pair(stride), _pair(dilation)
        pad = tuple(int(p) for p in np.atleast_1d(padding))
        if len(pad) == 1:
            pad = pad * 4
        elif len(pad) == 2:
            pad = (pad[0], pad[1], pad[0], pad[1])
        if len(pad) != 4:
            raise ValueError(f"padding must have 1, 2 or 4 values, got {padding!r}")
        ratio = round(out_channels * in_channels / kept, 1) if kept else 0.0
        return LayerSignature(
            int(in_channels),
            int(out_channels),
            int(height),
            int(width),
            stride,
            pad,
            dilation,
            library_key(library),
            ratio,
            target,
            cpu if cpu is not None else cpu_model(),
            int(kept),
            int(threads),
        )

    @property
    def out_height(self) -> int:
        span = 2 * self.dilation[0] + 1
        return (self.height + self.padding[0] + self.padding[2] - span) // self.stride[0] + 1

    @property
    def out_width(self) -> int:
        span = 2 * self.dilation[1] + 1
        return (self.width + self.padding[1] + self.padding[3] - span) // self.stride[1] + 1

    @property
    def num_patterns(self) -> int:
        return len(self.library.split(":", 1)[1].split(","))

    def key(self) -> str:
        """The database key: every field but ``kept``, as stable text.

        One thread is left out of the text, so databases written before the thread count was
        part of the key keep their (one-thread) entries."""
        s, p, d = self.stride, self.padding, self.dilation
        threads = f" threads={self.threads}" if self.threads != 1 else ""
        return (
            f"conv3x3 c{self.in_channels} o{self.out_channels} {self.height}x{self.width}"
            f" s{s[0]},{s[1]} p{p[0]},{p[1]},{p[2]},{p[3]} d{d[0]},{d[1]}"
            f" lib={self.library} conn={self.connectivity:.1f} target={self.target} cpu={self.cpu}"
            f"{threads}"
        )

    def shape_text(self) -> str:
        """Short form for progress bars and reports: '256->256 56x56 s2'."""
        s = f" s{self.stride[0]}" if self.stride != (1, 1) else ""
        d = f" d{self.dilation[0]}" if self.dilation != (1, 1) else ""
        t = f" @{self.threads}t" if self.threads != 1 else ""
        return f"{self.in_channels}->{self.out_channels} {self.height}x{self.width}{s}{d}{t}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> LayerSignature:
        d = json.loads(text)
        for k in ("stride", "padding", "dilation"):
            d[k] = tuple(d[k])
        return LayerSignature(**d)


def _pair(value) -> tuple[int, int]:
    values = tuple(int(v) for v in np.atleast_1d(value))
    if len(values) == 1:
        return values * 2
    if len(values) != 2:
        raise ValueError(f"expected an int or a pair, got {value!r}")
    return values


def signature_of_op(op, target: str = "host", cpu: str | None = None) -> LayerSignature:
    """The signature of a pattern.conv2d / pattern.packed_conv2d from its types and attributes.

    Reads no weights: the kept-kernel count is the weight operand's row count (both ops store
    one row of kept taps per kept kernel).
    """
    from ..dialects.builders import library_masks

    attrs = op.attributes
    _, channels, height, width = op.operands[0].type.shape
    out_channels = op.results[0].type.shape[1]
    kept = op.operands[1].type.shape[0]
    return LayerSignature.make(
        channels,
        out_channels,
        height,
        width,
        list(attrs["strides"]),
        list(attrs["padding"]),
        list(attrs["dilations"]),
        library_masks(attrs["library"]),
        kept,
        target,
        cpu,
    )
