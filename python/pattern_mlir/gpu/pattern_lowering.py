"""Replace each ``pattern.packed_conv2d`` by a GPU launch of its specialised kernel.

Why at the tensor level, before bufferization: the conv's input and output then
take part in One-Shot Bufferize like any other value. The op becomes::

    %xm = bufferization.to_buffer %x read_only        (the input, read here)
    %om = memref.alloc()                               (a fresh output)
    gpu.launch_func @conv::@conv ... args(views of %xm, FKW globals, %om)
    %y  = bufferization.to_tensor %om restrict writable

with the FKW arrays as ``memref.global`` constants and the kernel in its own
``gpu.module`` carrying the target environment. Kernel arguments are flat 1-D
memrefs; where the kernel wants vec4 elements (tap weights, aligned outputs) the
host view is a ``builtin.unrealized_conversion_cast`` of the same buffer (there
is no memref op that reinterprets f32 as vector<4xf32>); the Vulkan host plan
treats every such cast as an alias of its operand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir

from pattern_mlir.codegen import gpu_conv_kernel
from pattern_mlir.codegen.fkw import PackedFKW
from pattern_mlir.codegen.gpu_conv_arrays import ConvArrays, build_arrays
from pattern_mlir.codegen.gpu_conv_plan import GpuConvGeometry, GpuConvPlan, make_plan
from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.passes.utils.conv_info import collect_ops, packed_fkw, read_conv

#: Attributes of a conv kernel's gpu.launch_func: "pattern", "dense" or "depthwise", and the
#: multiply-adds of its kept taps per inference. Launches without them are upstream kernels.
KIND_ATTR = "pattern.kernel_kind"
MACS_ATTR = "pattern.kept_macs"


@dataclass(frozen=True)
class GpuPatternConv:
    """What lowering decided for one pattern conv (also feeds the report)."""

    name: str
    kind: str  # "pattern", or "dense" / "depthwise" for convs run as one full pattern
    geometry: GpuConvGeometry
    plan: GpuConvPlan
    packed: PackedFKW
    arrays: ConvArrays
    activation: str
    kept_macs: int  # multiply-adds per inference (kept taps only)


def read_packed_conv(op: ir.Operation):
    """(geometry, PackedFKW, bias or None, activation, clamp, schedule) of a packed conv op,
    read by the shared reader (passes/utils/conv_info.py)."""
    info = read_conv(op)
    n, i, h, w = info.input_shape
    _, o, oh, ow = info.output_shape
    geom = GpuConvGeometry(
        n=n,
        in_channels=i,
        height=h,
        width=w,
        out_channels=o,
        out_height=oh,
        out_width=ow,
        kernel=(info.library.shape[1], info.library.shape[2]),
        strides=info.strides,
        padding=info.padding,
        dilations=info.dilations,
    )
    return geom, packed_fkw(op, info), info.bias, info.activation, info.clamp, info.schedule


def _hex(array: np.ndarray) -> str:
    return '"0x' + np.ascontiguousarray(array).tobytes().hex().upper() + '"'


def _tensor(shape, elem="f32") -> str:
    return "x".join(str(s) for s in shape) + "x" + elem


def _snippet(kernel: GpuPatternConv, kernel_text: str, target_env: str) -> str:
    """A verified, self-contained module: globals, the gpu.module and a host function."""
    g, p, name = kernel.geometry, kernel.plan, kernel.name
    arrays = dict(kernel.arrays.as_list())
    taps = kernel.packed.taps_per_kernel
    globals_, body = [], []
    names = {arg: f"%{arg}" for arg in ("input", "output", *arrays)}
    arg_types = dict(
        gpu_conv_kernel.argument_types(
            g, p, kernel.packed.num_patterns, taps, kernel.packed.num_kernels
        )
    )
    in_t = f"tensor<{_tensor((g.n, g.in_channels, g.height, g.width))}>"
    out_shape = (g.n, g.out_channels, g.out_height, g.out_width)
    in_m = f"memref<{_tensor((g.n, g.in_channels, g.height, g.width))}>"
    out_m = f"memref<{_tensor(out_shape)}>"
    # Named after the conv, so that CSE never merges two convs' reads of one tensor
    # (passes/utils/kernel_calls.py says why that breaks bufferization).
    body.append(
        f'%xm = bufferization.to_buffer %x read_only {{pattern.read = "{name}"}} : {in_t} to {in_m}'
    )
    flat_in = f"memref<{g.input_size}xf32>"
    body.append(f"%input = memref.collapse_shape %xm [[0, 1, 2, 3]] : {in_m} into {flat_in}")
    if arg_types["input"] != flat_in:
        names["input"] = "%input4"
        body.append(
            f"%input4 = builtin.unrealized_conversion_cast %input : {flat_in} to "
            f"{arg_types['input']}"
        )
    for arg, data in arrays.items():
        elem = "i32" if data.dtype == np.int32 else "f32"
        g_type = f"memref<{_tensor(data.shape, elem)}>"
        globals_.append(
            f'  memref.global "private" constant @{name}_{arg} : {g_type} = dense<{_hex(data)}>'
        )
        body.append(f"%{arg}_g = memref.get_global @{name}_{arg} : {g_type}")
        want = arg_types[arg]
        if want == g_type:
            names[arg] = f"%{arg}_g"
        elif "vector" in want:
            body.append(
                f"%{arg} = builtin.unrealized_conversion_cast %{arg}_g : {g_type} to {want}"
            )
        else:
            dims = ", ".join(str(d) for d in range(len(data.shape)))
            body.append(
                f"%{arg} = memref.collapse_shape %{arg}_g [[{dims}]] : {g_type} into {want}"
            )
    body.append(f"%om = memref.alloc() {{alignment = 64 : i64}} : {out_m}")
    flat_out = f"memref<{g.output_size}xf32>"
    body.append(f"%of = memref.collapse_shape %om [[0, 1, 2, 3]] : {out_m} into {flat_out}")
    if arg_types["output"] == flat_out:
        names["output"] = "%of"
    else:
        body.append(
            f"%output = builtin.unrealized_conversion_cast %of : {flat_out} to {arg_types['output']}"
        )
    grid = p.grid(g)
    for axis, count in zip("xyz", grid):
        body.append(f"%g{axis} = arith.constant {count} : index")
    for axis, count in zip("xyz", p.workgroup_size):
        body.append(f"%t{axis} = arith.constant {count} : index")
    args = ", ".join(f"{names[a]} : {t}" for a, t in arg_types.items())
    body.append(
        f"gpu.launch_func @{name}::@{name} blocks in (%gx, %gy, %gz) "
        f"threads in (%tx, %ty, %tz) args({args})"
    )
    body.append(
        f"%y = bufferization.to_tensor %om restrict writable : {out_m} to tensor<{_tensor(out_shape)}>"
    )
    out_t = f"tensor<{_tensor(out_shape)}>"
    host = "\n".join("    " + line for line in body)
    return (
        "module attributes {gpu.container_module} {\n"
        + "\n".join(globals_)
        + f"\n  gpu.module @{name} attributes {{spirv.target_env = {target_env}}} {{\n"
        + kernel_text
        + "\n  }\n"
        + f"  func.func @{name}_host(%x: {in_t}) -> {out_t} {{\n{host}\n"
        + f"    return %y : {out_t}\n  }}\n}}\n"
    )


def lower_pattern_convs(
    module: ir.Module, target_env: str, *, plan_options: dict | None = None
) -> list[GpuPatternConv]:
    """Replace every pattern.packed_conv2d in ``module``; return what was emitted."""
    done = []
    taken = {
        str(op.attributes["sym_name"]).strip('"')
        for op in module.operation.regions[0].blocks[0].operations
        if "sym_name" in op.attributes
    }
    for index, op in enumerate(collect_ops(module, "pattern.packed_conv2d")):
        kind = "pattern"
        if "gpu.conv_kind" in op.attributes:
            kind = ir.StringAttr(op.attributes["gpu.conv_kind"]).value
        name = f"{kind}_conv{index}"
        while name in taken:
            name += "_"
        taken.add(name)
        geom, packed, bias, activation, clamp, schedule = read_packed_conv(op)
        taps = np.stack([np.argwhere(m) for m in packed.library])
        try:
            plan = make_plan(
                geom, taps, packed.num_kernels, schedule=schedule, **(plan_options or {})
            )
        except ValueError as error:
            raise GpuLoweringError(f"pattern.packed_conv2d at {op.location}: {error}") from None
        arrays = build_arrays(packed, plan, bias)
        kernel = GpuPatternConv(
            name=name,
            kind=kind,
            geometry=geom,
            plan=plan,
            packed=packed,
            arrays=arrays,
            activation=activation,
            kept_macs=packed.num_kernels
            * packed.taps_per_kernel
            * geom.n
            * geom.out_height
            * geom.out_width,
        )
        text = gpu_conv_kernel.emit_conv_kernel(
            name, geom, plan, packed.library, packed.num_kernels, activation, clamp
        )
        launch = _splice(module, op, _snippet(kernel, text, target_env), name)
        # What the executable and the report say of this dispatch, after any later stage.
        launch.attributes[KIND_ATTR] = ir.StringAttr.get(kind)
        launch.attributes[MACS_ATTR] = ir.IntegerAttr.get(
            ir.IntegerType.get_signless(64), kernel.kept_macs
        )
        done.append(kernel)
    if done:
        module.operation.attributes["gpu.container_module"] = ir.UnitAttr.get()
    return done


def _splice(module: ir.Module, op: ir.Operation, snippet_text: str, name: str) -> ir.Operation:
    """Puts the snippet's globals and gpu.module into ``module`` and its host ops in place of
    ``op``; returns the launch."""
    try:
        snippet = ir.Module.parse(snippet_text)
    except ir.MLIRError as exc:
        raise GpuLoweringError(
            f"internal error: the kernel for {name} does not verify: {exc}"
        ) from exc
    host = None
    for top in list(snippet.body.operations):
        top = top.operation
        if top.name == "func.func":
            host = top
        else:
            module.operation.regions[0].blocks[0].append(top)
    block = host.regions[0].blocks[0]
    block.arguments[0].replace_all_uses_with(op.operands[0])
    ops = list(block.operations)
    result = ops[-1].operands[0]
    launch = None
    for inner in ops[:-1]:
        inner.operation.move_before(op)
        if inner.operation.name == "gpu.launch_func":
            launch = inner.operation
    op.results[0].replace_all_uses_with(result)
    op.erase()
    return launch
