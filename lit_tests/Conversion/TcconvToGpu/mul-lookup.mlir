// convert-tcconv-to-gpu of tcconv.elementwise mul and lookup: the mul's N x C x 1 x 1 rhs is read
// at (n, c, 0, 0) (its slot n * 8 + c here) and multiplied exactly in i64; the lookup's table is a
// kernel parameter fed from a module constant, indexed by x - lo (-8 for i4), never a constant in
// the code (kernels of one table size share their build).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// CHECK-LABEL: func.func @mul_channel_scale
// CHECK: gpu.launch_func @kernels::@mul_channel_scale_0_elementwise {{.*}} args(%arg0 : memref<2x5x5x8xi8>, %arg1 : memref<2x1x1x8xi8>, %arg2 : memref<2x5x5x6xi32>)
// CHECK-LABEL: func.func @lookup_4bit
// CHECK: %[[T:.*]] = memref.get_global @lookup_4bit_0_elementwise_lut : memref<16xi32>
// CHECK: gpu.launch_func @kernels::@lookup_4bit_0_elementwise {{.*}} args(%arg0 : memref<2x5x5x1xi32>, %arg1 : memref<2x5x5x8xi8>, %[[T]] : memref<16xi32>)
// CHECK: memref.global "private" constant @lookup_4bit_0_elementwise_lut : memref<16xi32> = dense<[200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]>
// CHECK: gpu.func @mul_channel_scale_0_elementwise(%[[X:.*]]: memref<2x5x5x8xi8> {llvm.noalias}, %[[S:.*]]: memref<2x1x1x8xi8> {llvm.noalias}, %{{.*}}: memref<2x5x5x6xi32> {llvm.noalias})
// CHECK: %[[SV:.*]] = memref.reinterpret_cast %[[S]] to offset: [0], sizes: [16], strides: [1]
// CHECK: memref.load %{{.*}} : memref<400xi8>
// CHECK: %[[N8:.*]] = arith.muli %{{.*}}, %c8 : index
// CHECK-NEXT: %[[SC:.*]] = arith.addi %[[N8]], %{{.*}} : index
// CHECK-NEXT: memref.load %[[SV]][%[[SC]]] : memref<16xi8>
// CHECK: arith.muli %{{.*}}, %{{.*}} : i64
// CHECK: gpu.func @lookup_4bit_0_elementwise(%{{.*}}: memref<2x5x5x1xi32> {llvm.noalias}, %{{.*}}: memref<2x5x5x8xi8> {llvm.noalias}, %[[LUT:.*]]: memref<16xi32> {llvm.noalias})
// CHECK: %[[I:.*]] = arith.subi %{{.*}}, %c-8_i32 : i32
// CHECK: %[[II:.*]] = arith.index_cast %[[I]] : i32 to index
// CHECK: memref.load %[[LUT]][%[[II]]] : memref<16xi32>
// PTX-LABEL: .entry mul_channel_scale_0_elementwise
// PTX: mul.lo.s32
// PTX-LABEL: .entry lookup_4bit_0_elementwise
module {
  func.func @mul_channel_scale(%arg0: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<2x1x1x8xi8> {tcconv.dims = array<i64: 2, 6, 1, 1>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x6xi32> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
    "tcconv.elementwise"(%arg0, %arg1, %arg2) {clamp = array<i64: -2147483648, 2147483647>, kind = "mul", multiplier = array<i32>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, zero_point = 0 : i64} : (memref<2x5x5x8xi8>, memref<2x1x1x8xi8>, memref<2x5x5x6xi32>) -> ()
    return
  }
  func.func @lookup_4bit(%arg0: memref<2x5x5x1xi32> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i4", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
    "tcconv.elementwise"(%arg0, %arg1) {clamp = array<i64: -2147483648, 2147483647>, kind = "lookup", multiplier = array<i32>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, table = array<i32: 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>, zero_point = 0 : i64} : (memref<2x5x5x1xi32>, memref<2x5x5x8xi8>) -> ()
    return
  }
}
