// RUN: pattern-opt %s -split-input-file --pattern-lower-to-gpu="staged=1" | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-lower-to-gpu="staged=0" | FileCheck %s --check-prefix=DIRECT

// A packed pattern conv becomes one specialised kernel: FKW arrays as globals, the
// input and output as flat views (vec4 where the kernel wants it), one launch.

#lib = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<1x2x8x8xf32>) -> memref<1x2x8x8xf32>
// CHECK: %[[IN:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1, 2, 3]] : memref<1x2x8x8xf32> into memref<128xf32>
// CHECK: %[[WG:.*]] = memref.get_global @pattern_conv0_weights : memref<3x4xf32>
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %[[WG]] : memref<3x4xf32> to memref<3xvector<4xf32>>
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}}: memref<1x2x8x8xf32>
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[VOUT:.*]] = builtin.unrealized_conversion_cast %[[FLAT]] : memref<128xf32> to memref<32xvector<4xf32>>
// CHECK: gpu.launch_func @pattern_conv0::@pattern_conv0 blocks in ({{.*}}) threads in ({{.*}}) args(%[[IN]] : memref<128xf32>, %[[W]] : memref<3xvector<4xf32>>, {{.*}}, %[[VOUT]] : memref<32xvector<4xf32>>)
// CHECK: return %[[OUT]]
// Runs per (filter, pattern, channel block) and the filter groups of equal work.
// CHECK: memref.global "private" constant @pattern_conv0_runs : memref<8xi32> = dense<[0, 1, 1, 2, 2, 3, 3, 3]>
// CHECK: memref.global "private" constant @pattern_conv0_groups : memref<2xi32> = dense<[0, 2]>
// CHECK: memref.global "private" constant @pattern_conv0_filter_order : memref<2xi32> = dense<[1, 0]>
// CHECK: gpu.module @pattern_conv0 attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader, Int16, GroupNonUniform, GroupNonUniformVote, VariablePointers, VariablePointersStorageBuffer], [SPV_KHR_storage_buffer_storage_class, SPV_KHR_variable_pointers]>, api=Vulkan, #spirv.resource_limits<max_compute_shared_memory_size = 32768, max_compute_workgroup_invocations = 1024
// CHECK: gpu.func @pattern_conv0({{.*}}: memref<128xf32>, {{.*}}: memref<3xvector<4xf32>>, {{.*}}: memref<32xvector<4xf32>>) kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [2, 8, 2]>}
// 2 x 8 invocations cover the 8 x 8 output (4 columns each); 2 filter lanes split the
// group's filters. The input tile is staged once per workgroup (staged=1 forces it; the
// heuristic stages only where it expects at least 2x fewer global loads), then every
// filter of the group reads it. The tile (2 channels x 10 rows x 10 columns) is
// staged as vec4s, rows padded to 12 columns: 60 vec4s.
// CHECK: %[[SMEM:.*]] = memref.alloc() : memref<60xvector<4xf32>, #spirv.storage_class<Workgroup>>
// CHECK: %[[STAGED:.*]] = vector.from_elements
// CHECK: memref.store %[[STAGED]], %[[SMEM]]
// CHECK: gpu.barrier
// One loop per pattern (unrolled by 2, plus a remainder loop), 4 accumulators (4 output
// columns), tap weights as one vec4.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK: memref.load %{{.*}} : memref<3xvector<4xf32>>
// CHECK: vector.extract %{{.*}}[3] : f32 from vector<4xf32>
// Each tap row of the 4 outputs is read as 2 vec4s (columns 4t .. 4t+7), lanes taken out.
// CHECK: %[[ROW:.*]] = memref.load %[[SMEM]]
// CHECK: vector.extract %[[ROW]]
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32)
// Epilogue: bias, relu, one vec4 store.
// CHECK: arith.maximumf
// CHECK: %[[V:.*]] = vector.from_elements
// CHECK: memref.store %[[V]], %{{.*}} : memref<32xvector<4xf32>>
// CHECK: gpu.barrier

// Rows of 8 floats: the input is read as aligned vec4s (32 of them).
// DIRECT-LABEL: gpu.func @pattern_conv0(%arg0: memref<32xvector<4xf32>>
// DIRECT-NOT: Workgroup
// DIRECT-NOT: gpu.barrier
// Padding predicates are computed once per invocation and vec4, outside the loops ...
// DIRECT: %[[INSIDE:.*]] = vector.broadcast %{{.*}} : i1 to vector<4xi1>
// DIRECT: arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// DIRECT: scf.for
// DIRECT: scf.for {{.*}} iter_args
// ... and zero the padded vec4s inside.
// DIRECT: %[[IN:.*]] = memref.load %arg0[%{{.*}}] : memref<32xvector<4xf32>>
// DIRECT: arith.select %[[INSIDE]], %[[IN]], %{{.*}} : vector<4xi1>, vector<4xf32>
// DIRECT: vector.from_elements
func.func @main(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = pattern.packed_conv2d %x, %w, %b library #lib
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
         : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// Everything else goes through bufferization and upstream loop lowering: one kernel
// per (fused) linalg op, 64 invocations per workgroup, one output element each,
// reductions sequential inside, named after the op it came from.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d0)>

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<4x8xf32>) -> memref<4xf32>
// CHECK: %[[ACC:.*]] = memref.alloc() {{.*}}: memref<4xf32>
// CHECK: gpu.launch_func @k0_fill::@k0_fill blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%{{.*}}, %[[ONE]], %[[ONE]]) args(%[[ACC]] : memref<4xf32>)
// CHECK: gpu.launch_func @k1_generic::@k1_generic {{.*}} args(%[[X]] : memref<4x8xf32>, %[[ACC]] : memref<4xf32>)
// CHECK: return %[[ACC]]
// CHECK: gpu.module @k0_fill attributes {spirv.target_env = #spirv.target_env<{{.*}}api=Vulkan
// CHECK: gpu.func @k0_fill({{.*}}) kernel attributes {{{.*}}spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>}
// CHECK: gpu.module @k1_generic
// CHECK: gpu.func @k1_generic
// CHECK: %[[T:.*]] = gpu.thread_id x
// CHECK: scf.if
// CHECK: scf.for
// The relu was fused into the reduction's body.
// CHECK: arith.maximumf
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[T]]] : memref<4xf32>
func.func @main(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %relu = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]}
      ins(%relu : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %sum : tensor<4xf32>
}
