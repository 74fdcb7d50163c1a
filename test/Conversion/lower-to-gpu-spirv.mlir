// RUN: pattern-opt %s --pattern-lower-to-gpu="spirv=1 staged=1" | FileCheck %s

// With spirv=1 every gpu.module is converted to a spirv.module, serialised and
// checked with spirv-val --target-env vulkan1.1 and against the Adreno 640
// profile; the pass fails on the first violation. The kernel asks only for
// what it uses (spirv-update-vce): Shader, no subgroup capability.

#lib = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>

// CHECK: spirv.module @__spv__pattern_conv0 Logical GLSL450 requires #spirv.vce<v1.0, [Shader, Matrix], [SPV_KHR_storage_buffer_storage_class]>
// CHECK-DAG: spirv.GlobalVariable @{{.*}} : !spirv.ptr<!spirv.struct<(!spirv.array<{{[0-9]+}} x vector<4xf32>>)>, Workgroup>
// CHECK-DAG: spirv.GlobalVariable @pattern_conv0_arg_0 bind(0, 0) : !spirv.ptr<!spirv.struct<(!spirv.array<162 x f32, stride=4> [0])>, StorageBuffer>
// CHECK-DAG: spirv.GlobalVariable @pattern_conv0_arg_1 bind(0, 1) : !spirv.ptr<!spirv.struct<(!spirv.array<3 x vector<4xf32>, stride=16> [0])>, StorageBuffer>
// Ragged rows (7 % 4 != 0): the output stays scalar, stores are guarded per column.
// CHECK-DAG: spirv.GlobalVariable @pattern_conv0_arg_7 bind(0, 7) : !spirv.ptr<!spirv.struct<(!spirv.array<98 x f32, stride=4> [0])>, StorageBuffer>
// CHECK: spirv.ControlBarrier <Workgroup>, <Workgroup>, <AcquireRelease|WorkgroupMemory>
// CHECK: spirv.EntryPoint "GLCompute" @pattern_conv0
// CHECK: spirv.ExecutionMode @pattern_conv0 "LocalSize", 2, 7, 2
func.func @main(%x: tensor<1x2x9x9xf32>) -> tensor<1x2x7x7xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library #lib
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : tensor<1x2x9x9xf32>, tensor<3x4xf32> -> tensor<1x2x7x7xf32>
  return %y : tensor<1x2x7x7xf32>
}
