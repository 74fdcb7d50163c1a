"""Read what a runtime must know straight from a SPIR-V binary.

Why: the Vulkan runtime has to build descriptor set layouts, size push constants,
check workgroup sizes against device limits and reject a buffer that is too small
or holds the wrong element type *before* the driver sees it (a wrong binding on a
real GPU is a device loss or silent garbage, not an error). Everything here is
parsed from the binary words, so it works for SPIR-V from any producer, and it
needs no tool.

Resources are found per entry point: a module holding several kernels (what MLIR
emits for a ``gpu.module`` with many ``gpu.func``) gives every kernel its own
globals, and those reuse the same ``(set, binding)`` numbers. SPIR-V <= 1.3 does
not list them in ``OpEntryPoint``, so the functions reachable from the entry point
are scanned for the global variables they use.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from pattern_mlir.runtime.vulkan_spirv_capabilities import capability_name

MAGIC = 0x07230203

# Opcodes (SPIR-V unified1 spec, section 3.52).
_OP_NAME = 5
_OP_EXTENSION = 10
_OP_ENTRY_POINT = 15
_OP_EXECUTION_MODE = 16
_OP_CAPABILITY = 17
_OP_TYPE_INT = 21
_OP_TYPE_FLOAT = 22
_OP_TYPE_VECTOR = 23
_OP_TYPE_MATRIX = 24
_OP_TYPE_ARRAY = 28
_OP_TYPE_RUNTIME_ARRAY = 29
_OP_TYPE_STRUCT = 30
_OP_TYPE_POINTER = 32
_OP_CONSTANT = 43
_OP_SPEC_CONSTANT = 50
_OP_FUNCTION = 54
_OP_FUNCTION_END = 56
_OP_FUNCTION_CALL = 57
_OP_VARIABLE = 59
_OP_LOAD = 61
_OP_STORE = 62
_OP_COPY_MEMORY = 63
_OP_ACCESS_CHAIN = 65
_OP_IN_BOUNDS_ACCESS_CHAIN = 66
_OP_PTR_ACCESS_CHAIN = 67
_OP_ARRAY_LENGTH = 68
_OP_IN_BOUNDS_PTR_ACCESS_CHAIN = 70
_OP_DECORATE = 71
_OP_MEMBER_DECORATE = 72
_OP_COPY_OBJECT = 83
_OP_SELECT = 169
_OP_PHI = 245

# Instructions whose operand at word index >= 3 (after type and result) may be a
# pointer to a global: (opcode -> word indices of pointer operands, or "rest").
_POINTER_OPERANDS: dict[int, tuple[int, ...] | str] = {
    _OP_LOAD: (3,),
    _OP_STORE: (1,),
    _OP_COPY_MEMORY: (1, 2),
    _OP_ACCESS_CHAIN: (3,),
    _OP_IN_BOUNDS_ACCESS_CHAIN: (3,),
    _OP_PTR_ACCESS_CHAIN: (3,),
    _OP_IN_BOUNDS_PTR_ACCESS_CHAIN: (3,),
    _OP_ARRAY_LENGTH: (3,),
    _OP_COPY_OBJECT: (3,),
    _OP_SELECT: (4, 5),
    _OP_FUNCTION_CALL: "call",
    _OP_PHI: "phi",
    228: (1,),  # OpAtomicStore
    **{op: (3,) for op in (227, *range(229, 243), 6035)},  # atomics, OpAtomicFAddEXT
}

_DECORATION_ARRAY_STRIDE = 6
_DECORATION_BUFFER_BLOCK = 3
_DECORATION_BINDING = 33
_DECORATION_DESCRIPTOR_SET = 34
_DECORATION_OFFSET = 35

_EXECUTION_MODE_LOCAL_SIZE = 17
_EXECUTION_MODELS = {0: "Vertex", 4: "Fragment", 5: "GLCompute", 6: "Kernel"}

STORAGE_CLASS_NAMES = {
    0: "UniformConstant",
    1: "Input",
    2: "Uniform",
    3: "Output",
    4: "Workgroup",
    5: "CrossWorkgroup",
    6: "Private",
    7: "Function",
    9: "PushConstant",
    12: "StorageBuffer",
}
_STORAGE_UNIFORM = 2
_STORAGE_PUSH_CONSTANT = 9
_STORAGE_BUFFER = 12


class SpirvFormatError(ValueError):
    """The bytes are not a well-formed SPIR-V binary (or use a form not handled)."""


@dataclass(frozen=True)
class EntryPoint:
    """One ``OpEntryPoint``: its name, execution model and ``LocalSize`` if declared."""

    name: str
    execution_model: str
    local_size: tuple[int, int, int] | None


@dataclass(frozen=True)
class ResourceBinding:
    """A buffer an entry point uses, at ``(descriptor_set, binding)``.

    ``kind`` is ``"storage"`` (StorageBuffer, or Uniform + BufferBlock) or
    ``"uniform"`` (Uniform + Block). ``min_size`` is the byte size of the block,
    counting a trailing runtime array as empty; ``runtime_stride`` is that array's
    stride (None when the block has a fixed size). ``element`` is the scalar type
    of the block when it holds one kind of scalar (``"f32"``, ``"i32"``, ...),
    else None. ``name`` is the variable's ``OpName`` (MLIR: ``<kernel>_arg_<i>``).
    """

    descriptor_set: int
    binding: int
    kind: str
    min_size: int
    runtime_stride: int | None
    element: str | None
    name: str | None


@dataclass(frozen=True)
class SpirvModuleInfo:
    """Header facts and module-level declarations of a SPIR-V binary."""

    version: tuple[int, int]
    capabilities: tuple[str, ...]
    extensions: tuple[str, ...]
    entry_points: tuple[EntryPoint, ...]

    def entry_point(self, name: str | None) -> EntryPoint:
        """The named entry point; with None, the only one (error if several)."""
        names = [e.name for e in self.entry_points]
        if name is None:
            if len(self.entry_points) != 1:
                raise SpirvFormatError(f"module has {len(names)} entry points {names}; name one")
            return self.entry_points[0]
        for entry in self.entry_points:
            if entry.name == name:
                return entry
        raise SpirvFormatError(f"no entry point {name!r} in module; it has {names}")


def as_words(spirv: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """The binary as little-endian uint32 words, checking length and magic number."""
    if isinstance(spirv, np.ndarray):
        raw = np.ascontiguousarray(spirv).view(np.uint8).tobytes()
    else:
        raw = bytes(spirv)
    if len(raw) < 20 or len(raw) % 4:
        raise SpirvFormatError(
            f"SPIR-V must be a whole number of 32-bit words, at least 5; got {len(raw)} bytes"
        )
    words = np.frombuffer(raw, dtype="<u4")
    if words[0] == MAGIC:
        return words.copy()
    if words.byteswap()[0] == MAGIC:
        return words.byteswap()
    raise SpirvFormatError(f"not SPIR-V: magic number is {int(words[0]):#010x}")


def _string(words: np.ndarray) -> tuple[str, int]:
    """Decode a nul-terminated literal string; return it and the words it used."""
    raw = words.astype("<u4").tobytes()
    end = raw.find(b"\0")
    if end < 0:
        raise SpirvFormatError("unterminated literal string")
    return raw[:end].decode("utf-8"), end // 4 + 1


def _instructions(words: np.ndarray):
    """Yield (opcode, operand words including the first word) for each instruction."""
    i = 5
    n = len(words)
    while i < n:
        count = int(words[i]) >> 16
        if count == 0 or i + count > n:
            raise SpirvFormatError(f"bad instruction word count {count} at word {i}")
        yield int(words[i]) & 0xFFFF, words[i : i + count]
        i += count


def module_info(spirv) -> SpirvModuleInfo:
    """Version, capabilities, extensions and entry points declared by a binary."""
    words = as_words(spirv)
    version = ((int(words[1]) >> 16) & 0xFF, (int(words[1]) >> 8) & 0xFF)
    caps: list[str] = []
    exts: list[str] = []
    entries: dict[int, tuple[str, str]] = {}
    sizes: dict[int, tuple[int, int, int]] = {}
    for op, ins in _instructions(words):
        if op == _OP_CAPABILITY:
            caps.append(capability_name(int(ins[1])))
        elif op == _OP_EXTENSION:
            exts.append(_string(ins[1:])[0])
        elif op == _OP_ENTRY_POINT:
            model = _EXECUTION_MODELS.get(int(ins[1]), f"ExecutionModel({int(ins[1])})")
            entries[int(ins[2])] = (_string(ins[3:])[0], model)
        elif op == _OP_EXECUTION_MODE and int(ins[2]) == _EXECUTION_MODE_LOCAL_SIZE:
            sizes[int(ins[1])] = (int(ins[3]), int(ins[4]), int(ins[5]))
        elif op == _OP_FUNCTION:
            break  # declarations all precede the first function
    points = tuple(
        EntryPoint(name, model, sizes.get(fid)) for fid, (name, model) in entries.items()
    )
    return SpirvModuleInfo(version, tuple(caps), tuple(exts), points)


@dataclass(frozen=True)
class EntryPointResources:
    """What one entry point binds: buffers (sorted) and its push-constant block size."""

    bindings: tuple[ResourceBinding, ...]
    push_constant_size: int


class _Module:
    """Types, decorations, globals and function bodies of a binary, by id."""

    def __init__(self, words: np.ndarray):
        self.types: dict[int, tuple] = {}
        self.constants: dict[int, int] = {}
        self.decorations: dict[int, dict[int, list[int]]] = {}
        self.member_offsets: dict[tuple[int, int], int] = {}
        self.names: dict[int, str] = {}
        self.globals: dict[int, tuple[int, int]] = {}  # var id -> (storage, ptr type)
        self.entry_ids: dict[str, int] = {}
        self.uses: dict[int, set[int]] = {}  # function id -> global/function ids used
        function = None
        for op, ins in _instructions(words):
            a = [int(w) for w in ins[1:]]
            if op == _OP_NAME:
                self.names[a[0]] = _string(ins[2:])[0]
            elif op == _OP_ENTRY_POINT:
                self.entry_ids[_string(ins[3:])[0]] = a[1]
            elif op == _OP_DECORATE:
                self.decorations.setdefault(a[0], {})[a[1]] = a[2:]
            elif op == _OP_MEMBER_DECORATE and a[2] == _DECORATION_OFFSET:
                self.member_offsets[(a[0], a[1])] = a[3]
            elif op in (_OP_TYPE_INT, _OP_TYPE_FLOAT):
                self.types[a[0]] = ("int" if op == _OP_TYPE_INT else "float", a[1])
            elif op in (_OP_TYPE_VECTOR, _OP_TYPE_MATRIX):
                self.types[a[0]] = ("vector", a[1], a[2])
            elif op == _OP_TYPE_ARRAY:
                self.types[a[0]] = ("array", a[1], a[2])
            elif op == _OP_TYPE_RUNTIME_ARRAY:
                self.types[a[0]] = ("rtarray", a[1])
            elif op == _OP_TYPE_STRUCT:
                self.types[a[0]] = ("struct", *a[1:])
            elif op == _OP_TYPE_POINTER:
                self.types[a[0]] = ("pointer", a[1], a[2])
            elif op in (_OP_CONSTANT, _OP_SPEC_CONSTANT):
                self.constants[a[1]] = a[2]
            elif op == _OP_VARIABLE and function is None:
                self.globals[a[1]] = (a[2], a[0])
            elif op == _OP_FUNCTION:
                function = a[1]
                self.uses[function] = set()
            elif op == _OP_FUNCTION_END:
                function = None
            elif function is not None and op in _POINTER_OPERANDS:
                self.uses[function].update(self._referenced(op, a))

    @staticmethod
    def _referenced(op: int, a: list[int]) -> list[int]:
        where = _POINTER_OPERANDS[op]
        if where == "call":
            return a[2:]  # callee and arguments
        if where == "phi":
            return a[2::2]
        return [a[i - 1] for i in where if i - 1 < len(a)]

    def reachable_globals(self, entry_name: str) -> set[int]:
        start = self.entry_ids.get(entry_name)
        if start is None:
            raise SpirvFormatError(f"no entry point {entry_name!r}")
        seen_functions = {start}
        stack = [start]
        found: set[int] = set()
        while stack:
            for ref in self.uses.get(stack.pop(), ()):
                if ref in self.uses and ref not in seen_functions:
                    seen_functions.add(ref)
                    stack.append(ref)
                elif ref in self.globals:
                    found.add(ref)
        return found

    def size(self, type_id: int) -> tuple[int, int | None]:
        """(byte size with runtime arrays empty, runtime array stride or None)."""
        t = self.types.get(type_id)
        if t is None:
            raise SpirvFormatError(f"type %{type_id} is not a sizable type")
        kind = t[0]
        if kind in ("int", "float"):
            return t[1] // 8, None
        if kind == "vector":
            return t[2] * self.size(t[1])[0], None
        stride = self.decorations.get(type_id, {}).get(_DECORATION_ARRAY_STRIDE)
        if kind == "array":
            elem = stride[0] if stride else self.size(t[1])[0]
            return elem * self.constants[t[2]], None
        if kind == "rtarray":
            return 0, stride[0] if stride else self.size(t[1])[0]
        if kind == "struct":
            end, runtime = 0, None
            for index, member in enumerate(t[1:]):
                offset = self.member_offsets.get((type_id, index), end)
                member_size, member_runtime = self.size(member)
                end = max(end, offset + member_size)
                runtime = member_runtime if member_runtime is not None else runtime
            return end, runtime
        raise SpirvFormatError(f"type %{type_id} ({kind}) has no size")

    def scalars(self, type_id: int) -> set[str]:
        t = self.types[type_id]
        if t[0] in ("int", "float"):
            return {f"{'i' if t[0] == 'int' else 'f'}{t[1]}"}
        if t[0] == "struct":
            return set().union(*(self.scalars(m) for m in t[1:]))
        return self.scalars(t[1])


def entry_point_resources(spirv, entry_point: str) -> EntryPointResources:
    """The buffers and push constants that ``entry_point`` uses (see module doc)."""
    mod = _Module(as_words(spirv))
    bindings = []
    push_size = 0
    for var in sorted(mod.reachable_globals(entry_point)):
        storage, pointer = mod.globals[var]
        block = mod.types[pointer][2]
        if storage == _STORAGE_PUSH_CONSTANT:
            push_size = max(push_size, mod.size(block)[0])
            continue
        if storage not in (_STORAGE_BUFFER, _STORAGE_UNIFORM):
            continue
        deco = mod.decorations.get(var, {})
        block_deco = mod.decorations.get(block, {})
        if _DECORATION_BINDING not in deco:
            raise SpirvFormatError(
                f"buffer variable {mod.names.get(var, var)!r} has no Binding decoration"
            )
        uniform = storage == _STORAGE_UNIFORM and _DECORATION_BUFFER_BLOCK not in block_deco
        size, stride = mod.size(block)
        scalars = mod.scalars(block)
        bindings.append(
            ResourceBinding(
                descriptor_set=deco.get(_DECORATION_DESCRIPTOR_SET, [0])[0],
                binding=deco[_DECORATION_BINDING][0],
                kind="uniform" if uniform else "storage",
                min_size=size,
                runtime_stride=stride,
                element=scalars.pop() if len(scalars) == 1 else None,
                name=mod.names.get(var),
            )
        )
    bindings.sort(key=lambda b: (b.descriptor_set, b.binding))
    for first, second in itertools.pairwise(bindings):
        if (first.descriptor_set, first.binding) == (second.descriptor_set, second.binding):
            raise SpirvFormatError(
                f"entry point {entry_point!r} uses two buffers at set "
                f"{first.descriptor_set} binding {first.binding} "
                f"({first.name!r}, {second.name!r})"
            )
    return EntryPointResources(tuple(bindings), push_size)
