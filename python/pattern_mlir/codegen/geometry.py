"""Shape arithmetic of a 3x3 conv and the padded, phase-split input layout the kernels read.

The generated code vectorises along output width and wants every vector load to be
contiguous. For stride 1 the padded input rows already are. For a width stride s the
padded input is split into s *phase planes*: plane q holds padded columns q, q+s, q+2s, ...
Output column j with tap column kx (dilation d) reads padded column j*s + kx*d, which is
column ``j + (kx*d) // s`` of plane ``(kx*d) % s``: contiguous in j again. So every stride and
dilation runs the same vector code, only the compile-time offsets change.

Buffer layout: float32 ``(C * s, Hp, Wq)``, plane index ``c * s + q``; Hp = H + 2 * pad_h;
Wq is a multiple of the schedule's ``row_align`` floats: 16 by default (64 bytes), so that
with a 64-byte aligned base every row starts on a cache line. Small images gain from a smaller
multiple: a 14x14 map needs rows of 18 floats, which 16-float alignment pads to 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ROW_ALIGN_FLOATS", "ConvGeometry", "pad_input_into"]

ROW_ALIGN_FLOATS = 16  # default row multiple: 64 bytes, a cache line


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return pair


@dataclass(frozen=True)
class ConvGeometry:
    """A 3x3 conv's shape: channels, input size, stride, padding, dilation (all as pairs)."""

    in_channels: int
    out_channels: int
    height: int
    width: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    @staticmethod
    def make(
        in_channels, out_channels, height, width, stride=1, padding=0, dilation=1
    ) -> ConvGeometry:
        """Build from ints or pairs (torch's conventions) and validate."""
        geom = ConvGeometry(
            int(in_channels),
            int(out_channels),
            int(height),
            int(width),
            _pair(stride, "stride"),
            _pair(padding, "padding"),
            _pair(dilation, "dilation"),
        )
        geom.validate()
        return geom

    def validate(self) -> None:
        if min(self.in_channels, self.out_channels, self.height, self.width) < 1:
            raise ValueError(f"channels and sizes must be >= 1: {self}")
        if min(self.stride + self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(f"stride and dilation must be >= 1 and padding >= 0: {self}")
        if self.out_height < 1 or self.out_width < 1:
            raise ValueError(f"empty output ({self.out_height}x{self.out_width}) for {self}")

    @property
    def out_height(self) -> int:
        return (self.height + 2 * self.padding[0] - 2 * self.dilation[0] - 1) // self.stride[0] + 1

    @property
    def out_width(self) -> int:
        return (self.width + 2 * self.padding[1] - 2 * self.dilation[1] - 1) // self.stride[1] + 1

    @property
    def padded_height(self) -> int:
        return self.height + 2 * self.padding[0]

    @property
    def padded_width(self) -> int:
        return self.width + 2 * self.padding[1]

    @property
    def phases(self) -> int:
        """Phase planes per input channel (the width stride)."""
        return self.stride[1]

    def tap_phase_and_shift(self, kx: int) -> tuple[int, int]:
        """(plane phase, column shift inside the plane) of tap column kx."""
        offset = kx * self.dilation[1]
        return offset % self.stride[1], offset // self.stride[1]

    def plane_width(self, covered_out_cols: int, row_align: int = ROW_ALIGN_FLOATS) -> int:
        """Wq: plane row length when vectors cover ``covered_out_cols`` >= Wo output columns,
        rounded up to a multiple of ``row_align`` floats."""
        need = covered_out_cols + (2 * self.dilation[1]) // self.stride[1]
        return -(-need // row_align) * row_align

    def input_buffer_shape(
        self, covered_out_cols: int, row_align: int = ROW_ALIGN_FLOATS
    ) -> tuple[int, int, int]:
        return (
            self.in_channels * self.phases,
            self.padded_height,
            self.plane_width(covered_out_cols, row_align),
        )


def pad_input_into(x: np.ndarray, geom: ConvGeometry, buf: np.ndarray) -> None:
    """Write image ``x`` (C, H, W) into ``buf`` (C*s, Hp, Wq), padded and phase split.

    Only the interior is written: the caller zeroes ``buf`` once, and the border and the
    tail of each row stay zero across calls.
    """
    s = geom.phases
    ph, pw = geom.padding
    c, h, w = x.shape
    view = buf.reshape(c, s, buf.shape[1], buf.shape[2])
    wq = buf.shape[2]
    for q in range(s):
        # Padded columns q, q+s, ... that hold real data: pw <= q + j*s < pw + W.
        j0 = max(0, -(-(pw - q) // s))
        j1 = min(wq, -(-(pw + w - q) // s))
        if j1 <= j0:
            continue
        src0 = q + j0 * s - pw
        view[:, q, ph : ph + h, j0:j1] = x[:, :, src0 : src0 + (j1 - j0 - 1) * s + 1 : s]
