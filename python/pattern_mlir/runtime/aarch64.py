"""ARM64 runtime: call the functions of an ARM64 shared object under qemu on numpy arrays.

Without a phone, correctness on ARM64 is checked by running the generated code under
``qemu-aarch64`` (speed is estimated separately, see :mod:`pattern_mlir.backend.mca`).
Python cannot ``dlopen`` an ARM64 library, so each call goes through a tiny C driver that this
module writes, cross-compiles and links against the library: the driver reads argument buffers
from files, calls the entry point and writes the output buffers back.

Calling convention (ABI). A function ``f`` is called through its ``_mlir_ciface_f`` wrapper
when the library exports one (the function carried ``llvm.emit_c_interface``, as the host
``ExecutionEngine`` requires anyway): each memref argument is passed as a pointer to a
descriptor struct ``{T *allocated; T *aligned; int64_t offset; int64_t sizes[R];
int64_t strides[R];}``. Otherwise ``f`` itself is called with the expanded form that
``convert-func-to-llvm`` gives every function: each memref becomes the argument list
``allocated, aligned, offset, sizes..., strides...``. Scalars (``index``/``i64``, ``i32``,
``f32``, ``f64``) are passed by value. Functions must return nothing: results are written into
memref arguments, and the indices listed in ``outputs`` are read back.

Buffers: every memref is copied into a fresh 64-byte aligned buffer (``posix_memalign``) with
offset 0 and row-major strides, bracketed by 64-byte guard zones that are checked after the call,
so that an out-of-bounds write by generated code is reported instead of silently corrupting
memory. Inputs are never modified in place: the outputs come back as new arrays.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .toolchain import ToolFailedError, aarch64_sysroot, find_tool, run_tool

__all__ = [
    "INDEX",
    "Aarch64Module",
    "Aarch64RunError",
    "ArgumentError",
    "Call",
    "MemRef",
    "Scalar",
    "signature_from_mlir",
]

# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------


class ArgumentError(TypeError, ValueError):
    """Arguments of a call do not fit the function's signature or the driver's rules."""


_MAX_RANK = 32  # MAX_RANK in the C driver
_SCALAR_DTYPES = {np.dtype(t) for t in (np.int64, np.int32, np.float32, np.float64)}
_C_SCALAR = {"int64": "int64_t", "int32": "int32_t", "float32": "float", "float64": "double"}
_SCALAR_TAG = {"int64": "i64", "int32": "i32", "float32": "f32", "float64": "f64"}


def _mlir_name(dtype: np.dtype) -> str:
    """MLIR spelling of a numpy dtype, for messages (float32 -> f32, bool -> i1)."""
    if dtype.kind == "b":
        return "i1"
    prefix = {"f": "f", "i": "i", "u": "ui"}.get(dtype.kind)
    return f"{prefix}{8 * dtype.itemsize}" if prefix else str(dtype)


@dataclass(frozen=True)
class MemRef:
    """A memref argument: element dtype and static shape (``None`` marks a dynamic size)."""

    dtype: np.dtype
    shape: tuple[int | None, ...]

    def __post_init__(self):
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        dims = "".join(f"{'?' if d is None else d}x" for d in self.shape)
        return f"memref<{dims}{_mlir_name(self.dtype)}>"


@dataclass(frozen=True)
class Scalar:
    """A scalar argument passed by value: int64 (``index``, ``i64``), int32, float32, float64."""

    dtype: np.dtype

    def __post_init__(self):
        dtype = np.dtype(self.dtype)
        if dtype not in _SCALAR_DTYPES:
            raise ValueError(
                f"scalar dtype {dtype} unsupported (use int64, int32, float32, float64)"
            )
        object.__setattr__(self, "dtype", dtype)

    def __str__(self) -> str:
        return "index/i64" if self.dtype == np.int64 else _mlir_name(self.dtype)


INDEX = Scalar(np.int64)
ArgType = MemRef | Scalar


def _numpy_dtype_of(mlir_type) -> np.dtype:
    from mlir import ir

    if isinstance(mlir_type, ir.IndexType):
        return np.dtype(np.int64)
    if isinstance(mlir_type, ir.IntegerType):
        width = mlir_type.width
        return np.dtype(np.bool_) if width == 1 else np.dtype(f"int{width}")
    for cls, dtype in (
        (ir.F32Type, np.float32),
        (ir.F64Type, np.float64),
        (ir.F16Type, np.float16),
    ):
        if isinstance(mlir_type, cls):
            return np.dtype(dtype)
    raise ArgumentError(f"MLIR type {mlir_type} has no numpy equivalent here")


def signature_from_mlir(module, name: str) -> list[ArgType]:
    """Argument types of ``func.func @name`` in ``module`` (text or ``mlir.ir.Module``).

    Use the module *before* lowering to the LLVM dialect (memref types are gone after it).
    Layouts must be row-major contiguous or fully dynamic (``strided<[?, ..., 1], offset: ?>``),
    because the driver passes dense row-major buffers with offset 0.
    """
    from mlir import ir

    if isinstance(module, str):
        with ir.Context():
            return signature_from_mlir(ir.Module.parse(module), name)
    for op in module.body.operations:
        if (
            op.operation.name == "func.func"
            and ir.StringAttr(op.attributes["sym_name"]).value == name
        ):
            break
    else:
        raise KeyError(f"func.func @{name} not found in the module")
    func_type = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
    if len(func_type.results):
        raise ArgumentError(
            f"@{name} returns values; only functions returning nothing are callable"
        )
    dynamic = ir.ShapedType.get_dynamic_size()
    signature: list[ArgType] = []
    for i, t in enumerate(func_type.inputs):
        if isinstance(t, ir.MemRefType):
            shape = tuple(None if d == dynamic else d for d in t.shape)
            strides, offset = t.get_strides_and_offset()
            expected = _row_major_strides(shape)
            for stride, want in zip(strides, expected):
                if stride != dynamic and want is not None and stride != want:
                    raise ArgumentError(
                        f"@{name} argument {i}: layout of {t} is not row-major contiguous"
                    )
            if offset not in (0, dynamic):
                raise ArgumentError(f"@{name} argument {i}: {t} has static offset {offset} != 0")
            signature.append(MemRef(_numpy_dtype_of(t.element_type), shape))
        else:
            signature.append(Scalar(_numpy_dtype_of(t)))
    return signature


def _row_major_strides(shape: Sequence[int | None]) -> list[int | None]:
    strides: list[int | None] = []
    acc: int | None = 1
    for dim in reversed(shape):
        strides.append(acc)
        acc = None if acc is None or dim is None else acc * dim
    return strides[::-1]


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One call of a batch: function name, arguments, indices of memref args to read back."""

    name: str
    args: Sequence
    outputs: Sequence[int] = ()


def _dtype_fits(declared: np.dtype, actual: np.dtype) -> bool:
    """Signless MLIR integers accept signed or unsigned arrays of the same width."""
    if declared.kind in "iub" and actual.kind in "iub":
        return declared.itemsize == actual.itemsize
    return declared == actual


def _check_array(where: str, a: np.ndarray, declared: ArgType | None) -> MemRef:
    if a.dtype.kind not in "biuf" or a.dtype.itemsize not in (1, 2, 4, 8):
        raise ArgumentError(f"{where}: dtype {a.dtype} unsupported (use bool, int, uint or float)")
    if a.ndim > _MAX_RANK:
        raise ArgumentError(f"{where}: rank {a.ndim} exceeds the driver's limit of {_MAX_RANK}")
    if not a.dtype.isnative:
        raise ArgumentError(f"{where}: dtype {a.dtype} is not in native byte order")
    if not a.flags.c_contiguous:
        raise ArgumentError(
            f"{where}: array with shape {a.shape} and strides {a.strides} is not C-contiguous; "
            "pass np.ascontiguousarray(a)"
        )
    actual = MemRef(a.dtype, a.shape)
    if declared is None:
        return actual
    if not isinstance(declared, MemRef):
        raise ArgumentError(f"{where}: expected {declared}, got an array {actual}")
    if not _dtype_fits(declared.dtype, a.dtype):
        raise ArgumentError(f"{where}: expected dtype {declared.dtype}, got {a.dtype}")
    if declared.rank != a.ndim or any(
        d is not None and d != s for d, s in zip(declared.shape, a.shape)
    ):
        raise ArgumentError(f"{where}: expected {declared}, got shape {a.shape}")
    return actual


def _check_scalar(where: str, value, declared: ArgType | None) -> tuple[Scalar, object]:
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{where}: bool is not a valid scalar; pass an int")
    if declared is not None and not isinstance(declared, Scalar):
        raise ArgumentError(f"{where}: expected a numpy array for {declared}, got {type(value)}")
    if declared is None:
        if isinstance(value, int):
            dtype = np.dtype(np.int64)
        elif isinstance(value, np.generic) and value.dtype in _SCALAR_DTYPES:
            dtype = value.dtype
        elif isinstance(value, float):
            raise ArgumentError(
                f"{where}: a Python float is ambiguous; pass np.float32(x) or np.float64(x)"
            )
        else:
            raise ArgumentError(
                f"{where}: unsupported argument {type(value).__name__}; pass a numpy array, "
                "an int (index/i64) or a numpy int32/float32/float64 scalar"
            )
    else:
        dtype = declared.dtype
        if not isinstance(value, (int, float, np.integer, np.floating)):
            raise ArgumentError(f"{where}: expected {declared}, got {type(value).__name__}")
    if dtype.kind == "i":
        if isinstance(value, (float, np.floating)):
            raise ArgumentError(f"{where}: expected {dtype} integer, got {value!r}")
        info = np.iinfo(dtype)
        if not info.min <= int(value) <= info.max:
            raise ArgumentError(f"{where}: {value} does not fit in {dtype}")
        return Scalar(dtype), int(value)
    return Scalar(dtype), float(dtype.type(value))


# --------------------------------------------------------------------------------------------
# The C driver
# --------------------------------------------------------------------------------------------

_DRIVER_TEMPLATE = Path(__file__).with_name("c") / "qemu_driver.c"


@functools.cache
def _driver_template() -> str:
    """The driver's C template, read once per process (every call builds its source)."""
    return _DRIVER_TEMPLATE.read_text()


@dataclass(frozen=True)
class _Stub:
    """How to call one exported symbol: its ABI and the C kind of each argument."""

    symbol: str
    abi: str  # "ciface" or "expanded"
    kinds: tuple  # per argument: ("memref", rank) or ("scalar", numpy dtype name)

    def c_source(self, index: int) -> str:
        params: list[str] = []
        call_args: list[str] = []
        body: list[str] = []
        for i, (kind, detail) in enumerate(self.kinds):
            if kind == "scalar":
                params.append(_C_SCALAR[detail])
                call_args.append(f"a[{i}].{_SCALAR_TAG[detail]}")
                continue
            rank = detail
            m = f"a[{i}].m"
            if self.abi == "expanded":
                params += ["void *", "void *", "int64_t"] + ["int64_t"] * (2 * rank)
                call_args += [f"{m}.base", f"{m}.base", f"{m}.offset"]
                call_args += [f"{m}.sizes[{d}]" for d in range(rank)]
                call_args += [f"{m}.strides[{d}]" for d in range(rank)]
                continue
            arrays = f" int64_t sizes[{rank}]; int64_t strides[{rank}];" if rank else ""
            body.append(f"  struct {{ void *allocated, *aligned; int64_t offset;{arrays} }} d{i};")
            body.append(f"  d{i}.allocated = d{i}.aligned = {m}.base; d{i}.offset = {m}.offset;")
            if rank:
                body.append(f"  memcpy(d{i}.sizes, {m}.sizes, sizeof d{i}.sizes);")
                body.append(f"  memcpy(d{i}.strides, {m}.strides, sizeof d{i}.strides);")
            params.append("void *")
            call_args.append(f"&d{i}")
        proto = ", ".join(params) or "void"
        label = self.symbol if self.abi == "expanded" else f"_mlir_ciface_{self.symbol}"
        return (
            f'extern void fn{index}({proto}) __asm__("{label}");\n'
            f"static void stub{index}(arg_t *a) {{\n"
            + "".join(line + "\n" for line in body)
            + f"  fn{index}({', '.join(call_args)});\n}}\n"
        )


def _driver_source(stubs: Sequence[_Stub]) -> str:
    stub_text = "\n".join(stub.c_source(i) for i, stub in enumerate(stubs))
    cases = "\n".join(f"    case {i}: stub{i}(args); break;" for i in range(len(stubs)))
    # The markers are comments, so the template itself stays valid C for clang-format.
    template = _driver_template()
    return template.replace("/* @STUBS@ */", stub_text).replace("/* @CASES@ */", cases)


# --------------------------------------------------------------------------------------------
# Running under qemu
# --------------------------------------------------------------------------------------------


class Aarch64RunError(ToolFailedError):
    """The driver failed under qemu (crash, out-of-bounds write, timeout); carries stderr."""


def _no_core_dumps() -> None:
    # qemu writes a core file into the working directory when the guest crashes.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@dataclass
class _Prepared:
    stub: _Stub
    name: str
    lines: list[str]
    outputs: list[tuple[int, str, np.dtype, tuple[int, ...]]] = field(default_factory=list)
    inferred: list[ArgType] | None = None  # signature learnt from an undeclared function's call


class Aarch64Module:
    """An ARM64 shared object whose functions are called under qemu on numpy arrays.

    ``signatures`` (optional) maps function names to their argument types (see
    :func:`signature_from_mlir`); calls are validated against them. Without one, the first
    call of a function fixes its signature (dtypes and ranks) and later calls must agree.
    Drivers and per-run files live in ``workdir`` (default: ``<so dir>/<so name>.run``).
    """

    def __init__(
        self,
        so_path: str | os.PathLike,
        *,
        signatures: dict[str, Sequence[ArgType]] | None = None,
        workdir: str | os.PathLike | None = None,
        timeout: float = 600.0,
        keep_files: bool = False,
    ):
        self.so_path = Path(so_path).resolve()
        if not self.so_path.is_file():
            raise FileNotFoundError(f"shared object not found: {self.so_path}")
        self.workdir = Path(workdir or self.so_path.parent / f"{self.so_path.name}.run").resolve()
        self.timeout = timeout
        self.keep_files = keep_files
        self.signatures: dict[str, list[ArgType]] = {
            k: list(v) for k, v in (signatures or {}).items()
        }
        self.last_run_seconds: float | None = None
        self._symbols: set[str] | None = None
        self._drivers: dict[str, Path] = {}

    # -- discovery --------------------------------------------------------------------------

    @property
    def symbols(self) -> set[str]:
        """Function symbols the shared object exports."""
        if self._symbols is None:
            proc = run_tool("llvm-nm", ["-D", "--defined-only", "-j", self.so_path])
            self._symbols = set(proc.stdout.split())
        return self._symbols

    def functions(self) -> list[str]:
        """Callable function names (``_mlir_ciface_`` wrappers listed under the plain name)."""
        prefix = "_mlir_ciface_"
        names = {s.removeprefix(prefix) for s in self.symbols}
        return sorted(n for n in names if not n.startswith("_"))

    def declare(self, name: str, arg_types: Sequence[ArgType]) -> None:
        """Record the argument types of ``name`` so calls are validated against them."""
        self.signatures[name] = list(arg_types)

    def _abi(self, name: str) -> str:
        if f"_mlir_ciface_{name}" in self.symbols:
            return "ciface"
        if name in self.symbols:
            return "expanded"
        raise ArgumentError(
            f"{self.so_path.name} exports no function {name!r} "
            f"(functions: {', '.join(self.functions()) or 'none'})"
        )

    # -- calls ------------------------------------------------------------------------------

    def call(self, name: str, args: Sequence, outputs: Sequence[int]) -> list[np.ndarray]:
        """Call ``name(*args)`` once under qemu; return copies of the memref args in ``outputs``."""
        return self.call_many([Call(name, args, outputs)])[0]

    def call_many(self, calls: Iterable[Call | tuple]) -> list[list[np.ndarray]]:
        """Run several calls in one qemu process (start-up dominates small calls).

        Each item is a :class:`Call` or a ``(name, args, outputs)`` tuple; calls run in order,
        each on fresh copies of its inputs. Returns one list of output arrays per call.
        """
        calls = [c if isinstance(c, Call) else Call(*c) for c in calls]
        if not calls:
            return []
        self.workdir.mkdir(parents=True, exist_ok=True)
        rundir = Path(tempfile.mkdtemp(prefix="run-", dir=self.workdir))
        keep = self.keep_files
        try:
            prepared = [self._prepare(i, c, rundir) for i, c in enumerate(calls)]
            stubs = list(dict.fromkeys(p.stub for p in prepared))
            driver = self._driver(stubs)
            manifest = [str(len(prepared))]
            for p in prepared:
                manifest.append(f"{stubs.index(p.stub)} {len(p.lines)}")
                manifest += p.lines
            (rundir / "manifest.txt").write_text("\n".join(manifest) + "\n")
            try:
                self._run(driver, rundir, prepared)
            except Aarch64RunError:
                keep = True  # the error message names rundir: leave it to reproduce the run
                raise
            for p in prepared:  # a successful first call fixes an undeclared signature
                if p.inferred is not None:
                    self.signatures.setdefault(p.name, p.inferred)
            return [
                [
                    np.fromfile(rundir / path, dtype=dtype).reshape(shape)
                    for _, path, dtype, shape in p.outputs
                ]
                for p in prepared
            ]
        finally:
            if not keep:
                shutil.rmtree(rundir, ignore_errors=True)

    def _prepare(self, index: int, call: Call, rundir: Path) -> _Prepared:
        name = call.name
        if not isinstance(name, str):
            raise ArgumentError(f"call {index}: function name must be a str, got {name!r}")
        abi = self._abi(name)
        args = list(call.args)
        declared = self.signatures.get(name)
        if declared is not None and len(declared) != len(args):
            raise ArgumentError(
                f"call {index} of {name}: expected {len(declared)} arguments "
                f"({', '.join(map(str, declared))}), got {len(args)}"
            )
        outs = list(call.outputs)
        if len(set(outs)) != len(outs):
            raise ArgumentError(f"call {index} of {name}: repeated index in outputs {outs}")
        for o in outs:
            if not isinstance(o, (int, np.integer)) or not 0 <= o < len(args):
                raise ArgumentError(
                    f"call {index} of {name}: output index {o!r} out of range 0..{len(args) - 1}"
                )
            if not isinstance(args[o], np.ndarray):
                raise ArgumentError(f"call {index} of {name}: output {o} is not a memref argument")
        kinds, lines, inferred = [], [], []
        prepared_outputs = []
        for i, value in enumerate(args):
            where = f"call {index} of {name}, argument {i}"
            want = declared[i] if declared is not None else None
            if isinstance(value, np.ndarray):
                _check_array(where, value, want)
                stem = f"c{index}_a{i}"
                value.tofile(rundir / f"{stem}.in")
                out = f"{stem}.out" if i in outs else "-"
                sizes = " ".join(map(str, value.shape))
                # From the shape, not value.strides: numpy lets a C-contiguous array carry
                # any stride on a dimension of size 1.
                strides = " ".join(map(str, _row_major_strides(value.shape)))
                lines.append(f"m {value.ndim} {value.nbytes} {stem}.in {out} {sizes} {strides}")
                if i in outs:
                    prepared_outputs.append((i, out, value.dtype, value.shape))
                kinds.append(("memref", value.ndim))
                inferred.append(MemRef(value.dtype, (None,) * value.ndim))
            else:
                t, v = _check_scalar(where, value, want)
                tag = _SCALAR_TAG[t.dtype.name]
                lines.append(f"{tag} {v if tag in ('i64', 'i32') else float(v).hex()}")
                kinds.append(("scalar", t.dtype.name))
                inferred.append(t)
        # Outputs come back in the order the caller listed them.
        prepared_outputs.sort(key=lambda item: outs.index(item[0]))
        prepared = _Prepared(_Stub(name, abi, tuple(kinds)), name, lines, prepared_outputs)
        if declared is None:
            prepared.inferred = inferred
        return prepared

    def _driver(self, stubs: Sequence[_Stub]) -> Path:
        source = _driver_source(stubs)
        key = hashlib.sha256((source + str(self.so_path)).encode()).hexdigest()[:16]
        exe = self._drivers.get(key)
        if exe is not None and exe.exists():
            return exe
        exe = self.workdir / f"driver-{key}"
        if not exe.exists():
            c_path = self.workdir / f"driver-{key}.c"
            c_path.write_text(source)
            rpath = os.path.relpath(self.so_path.parent, self.workdir)
            tmp = exe.with_suffix(f".tmp{os.getpid()}")
            run_tool(
                "aarch64-linux-gnu-gcc",
                [
                    "-O1",
                    "-std=gnu11",
                    "-Wall",
                    "-o",
                    tmp,
                    c_path,
                    f"-L{self.so_path.parent}",
                    f"-l:{self.so_path.name}",
                    f"-Wl,-rpath,$ORIGIN/{rpath}",
                ],
            )
            os.replace(tmp, exe)
        self._drivers[key] = exe
        return exe

    def _run(self, driver: Path, rundir: Path, prepared: Sequence[_Prepared]) -> None:
        cmd = [
            str(find_tool("qemu-aarch64")),
            "-L",
            str(aarch64_sysroot()),
            str(driver),
            "manifest.txt",
        ]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd,
                check=False,
                cwd=rundir,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                preexec_fn=_no_core_dumps,
            )
        except subprocess.TimeoutExpired as exc:
            raise Aarch64RunError(
                f"qemu-aarch64 run timed out after {self.timeout} s: {' '.join(cmd)}"
                f"{self._where(exc.stdout, prepared)}",
                cmd,
                -1,
                "",
            ) from None
        finally:
            self.last_run_seconds = time.perf_counter() - start
        if proc.returncode != 0:
            if proc.returncode < 0:
                status = f"killed by {signal.Signals(-proc.returncode).name}"
            else:
                status = f"exit {proc.returncode}"
            raise Aarch64RunError(
                f"qemu-aarch64 run of {self.so_path.name} failed ({status})"
                f"{self._where(proc.stdout, prepared)}\n"
                f"command (in {rundir}): {' '.join(cmd)}\nstderr:\n{proc.stderr[-8000:]}",
                cmd,
                proc.returncode,
                proc.stderr,
            )

    @staticmethod
    def _where(stdout, prepared: Sequence[_Prepared]) -> str:
        """Name the call that was running, from the driver's begin/end markers."""
        if isinstance(stdout, bytes):
            stdout = stdout.decode(errors="replace")
        begun = re.findall(r"^begin (\d+)$", stdout or "", re.MULTILINE)
        ended = set(re.findall(r"^end (\d+)$", stdout or "", re.MULTILINE))
        if begun and begun[-1] not in ended:
            k = int(begun[-1])
            return f" in call {k} ({prepared[k].name})"
        return ""
