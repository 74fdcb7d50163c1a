"""MLIR sources of the test kernels (gpu.func), built for a SPIR-V target profile.

Why generated text: the tests must exercise the real path the compiler will take
(gpu.module + spirv.target_env -> convert-gpu-to-spirv -> serialise), not
hand-assembled SPIR-V, and the shapes are parameters so a test can pick sizes.
"""

from __future__ import annotations

#: Shapes of the shared test kernels (add over ADD_N elements; conv2d c,h,w -> k).
ADD_N = 100_000
CONV_SHAPE = {"c": 16, "h": 34, "w": 34, "k": 32}


def gpu_module(funcs: list[str], target_env: str, name: str = "kernels") -> str:
    """A ``gpu.container_module`` holding one ``gpu.module`` with the given funcs."""
    body = "\n".join(funcs)
    return (
        "module attributes {gpu.container_module} {\n"
        f"  gpu.module @{name} attributes {{spirv.target_env = {target_env}}} {{\n"
        f"{body}\n"
        "  }\n"
        "}\n"
    )


def add_kernel(n: int, workgroup: int = 64, dtype: str = "f32", name: str = "add") -> str:
    """``c[i] = a[i] + b[i]`` for i < n; one invocation per element."""
    ty = f"memref<{n}x{dtype}>"
    add = "arith.addf" if dtype.startswith("f") else "arith.addi"
    return f"""
    gpu.func @{name}(%a: {ty}, %b: {ty}, %c: {ty}) kernel
        attributes {{spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [{workgroup}, 1, 1]>}} {{
      %i = gpu.global_id x
      %n = arith.constant {n} : index
      %in = arith.cmpi ult, %i, %n : index
      scf.if %in {{
        %x = memref.load %a[%i] : {ty}
        %y = memref.load %b[%i] : {ty}
        %z = {add} %x, %y : {dtype}
        memref.store %z, %c[%i] : {ty}
      }}
      gpu.return
    }}"""


def conv2d_kernel(c: int, h: int, w: int, k: int, workgroup=(8, 8, 1), name="conv2d") -> str:
    """Naive 3x3 valid conv, NCHW with N=1: out[k, y, x] = sum in[c, y+i, x+j] * w[k, c, i, j].

    One invocation per output element: x, y from global id x, y; the output
    channel from global id z.
    """
    oh, ow = h - 2, w - 2
    tin, tw, tout = (
        f"memref<{c}x{h}x{w}xf32>",
        f"memref<{k}x{c}x3x3xf32>",
        f"memref<{k}x{oh}x{ow}xf32>",
    )
    wg = ", ".join(str(s) for s in workgroup)
    return f"""
    gpu.func @{name}(%in: {tin}, %w: {tw}, %out: {tout}) kernel
        attributes {{spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [{wg}]>}} {{
      %ox = gpu.global_id x
      %oy = gpu.global_id y
      %oc = gpu.global_id z
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c3 = arith.constant 3 : index
      %nc = arith.constant {c} : index
      %nw = arith.constant {ow} : index
      %nh = arith.constant {oh} : index
      %nk = arith.constant {k} : index
      %zero = arith.constant 0.0 : f32
      %inx = arith.cmpi ult, %ox, %nw : index
      %iny = arith.cmpi ult, %oy, %nh : index
      %ink = arith.cmpi ult, %oc, %nk : index
      %inxy = arith.andi %inx, %iny : i1
      %inb = arith.andi %inxy, %ink : i1
      scf.if %inb {{
        %acc = scf.for %ci = %c0 to %nc step %c1 iter_args(%a0 = %zero) -> (f32) {{
          %a1 = scf.for %ky = %c0 to %c3 step %c1 iter_args(%b0 = %a0) -> (f32) {{
            %a2 = scf.for %kx = %c0 to %c3 step %c1 iter_args(%d0 = %b0) -> (f32) {{
              %iy = arith.addi %oy, %ky : index
              %ix = arith.addi %ox, %kx : index
              %x = memref.load %in[%ci, %iy, %ix] : {tin}
              %wv = memref.load %w[%oc, %ci, %ky, %kx] : {tw}
              %p = arith.mulf %x, %wv : f32
              %s = arith.addf %d0, %p : f32
              scf.yield %s : f32
            }}
            scf.yield %a2 : f32
          }}
          scf.yield %a1 : f32
        }}
        memref.store %acc, %out[%oc, %oy, %ox] : {tout}
      }}
      gpu.return
    }}"""


def abi_probe_kernel() -> str:
    """Arguments of every kind, to pin down convert-gpu-to-spirv's binding ABI."""
    return """
    gpu.func @probe(%dyn: memref<?xf32>, %s: f32, %n: i32, %idx: index, %m: memref<4x8xf32>) kernel
        attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [8, 1, 1]>} {
      %t = gpu.thread_id x
      %x = memref.load %dyn[%t] : memref<?xf32>
      %y = arith.mulf %x, %s : f32
      %r = arith.index_cast %n : i32 to index
      %row = arith.addi %r, %idx : index
      memref.store %y, %m[%row, %t] : memref<4x8xf32>
      gpu.return
    }"""


#: A SPIR-V-dialect kernel with a push-constant block (upstream GPU lowering emits
#: none): out[i] = in[i] * pc.scale + pc.shift, for i < pc.count.
PUSH_CONSTANT_SPIRV_MODULE = """
spirv.module @push Logical GLSL450 requires #spirv.vce<v1.0, [Shader], [SPV_KHR_storage_buffer_storage_class]> {
  spirv.GlobalVariable @gid built_in("GlobalInvocationId") : !spirv.ptr<vector<3xi32>, Input>
  spirv.GlobalVariable @src bind(0, 0) : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
  spirv.GlobalVariable @dst bind(0, 1) : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
  spirv.GlobalVariable @pc : !spirv.ptr<!spirv.struct<(f32 [0], f32 [4], i32 [8])>, PushConstant>
  spirv.func @affine() "None" {
    %zero = spirv.Constant 0 : i32
    %one = spirv.Constant 1 : i32
    %two = spirv.Constant 2 : i32
    %gid_addr = spirv.mlir.addressof @gid : !spirv.ptr<vector<3xi32>, Input>
    %gid = spirv.Load "Input" %gid_addr : vector<3xi32>
    %i = spirv.CompositeExtract %gid[0 : i32] : vector<3xi32>
    %pc = spirv.mlir.addressof @pc : !spirv.ptr<!spirv.struct<(f32 [0], f32 [4], i32 [8])>, PushConstant>
    %count_ptr = spirv.AccessChain %pc[%two] : !spirv.ptr<!spirv.struct<(f32 [0], f32 [4], i32 [8])>, PushConstant>, i32 -> !spirv.ptr<i32, PushConstant>
    %count = spirv.Load "PushConstant" %count_ptr : i32
    %inside = spirv.SLessThan %i, %count : i32
    spirv.mlir.selection {
      spirv.BranchConditional %inside, ^body, ^merge
    ^body:
      %scale_ptr = spirv.AccessChain %pc[%zero] : !spirv.ptr<!spirv.struct<(f32 [0], f32 [4], i32 [8])>, PushConstant>, i32 -> !spirv.ptr<f32, PushConstant>
      %shift_ptr = spirv.AccessChain %pc[%one] : !spirv.ptr<!spirv.struct<(f32 [0], f32 [4], i32 [8])>, PushConstant>, i32 -> !spirv.ptr<f32, PushConstant>
      %scale = spirv.Load "PushConstant" %scale_ptr : f32
      %shift = spirv.Load "PushConstant" %shift_ptr : f32
      %src = spirv.mlir.addressof @src : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
      %dst = spirv.mlir.addressof @dst : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>
      %in_ptr = spirv.AccessChain %src[%zero, %i] : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>, i32, i32 -> !spirv.ptr<f32, StorageBuffer>
      %x = spirv.Load "StorageBuffer" %in_ptr : f32
      %m = spirv.FMul %x, %scale : f32
      %y = spirv.FAdd %m, %shift : f32
      %out_ptr = spirv.AccessChain %dst[%zero, %i] : !spirv.ptr<!spirv.struct<(!spirv.rtarray<f32, stride=4> [0])>, StorageBuffer>, i32, i32 -> !spirv.ptr<f32, StorageBuffer>
      spirv.Store "StorageBuffer" %out_ptr, %y : f32
      spirv.Branch ^merge
    ^merge:
      spirv.mlir.merge
    }
    spirv.Return
  }
  spirv.EntryPoint "GLCompute" @affine, @gid
  spirv.ExecutionMode @affine "LocalSize", 64, 1, 1
}
"""
