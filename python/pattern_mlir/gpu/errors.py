"""Errors of the GPU path, each naming what the user has to change.

Why separate classes: a model that uses an op the GPU path cannot lower, and a
kernel that needs a device capability the target lacks, are different problems
with different fixes (rewrite the model vs. choose another target), and tests
and the compiler driver tell them apart by type.
"""

from __future__ import annotations


class GpuLoweringError(ValueError):
    """Lowering a module to GPU kernels failed; the message names the op or stage."""


class UnsupportedOpError(GpuLoweringError):
    """The module holds an op the GPU path cannot lower; ``op_name`` names it."""

    def __init__(self, op_name: str, detail: str = ""):
        self.op_name = op_name
        text = f"the GPU path cannot lower op '{op_name}'"
        super().__init__(f"{text}: {detail}" if detail else text)


class MissingCapabilityError(GpuLoweringError):
    """A kernel needs a SPIR-V capability outside the target profile.

    ``capability`` is the SPIR-V capability name (e.g. ``Float64``), ``kernel``
    the kernel that needs it.
    """

    def __init__(self, kernel: str, capability: str, reason: str, profile: str):
        self.kernel = kernel
        self.capability = capability
        super().__init__(
            f"kernel '{kernel}' needs SPIR-V capability {capability} ({reason}), "
            f"which the {profile} profile does not offer"
        )
