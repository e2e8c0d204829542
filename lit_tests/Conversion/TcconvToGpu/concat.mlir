// convert-tcconv-to-gpu of tcconv.concat: each output item loads from the one input its channel
// falls in (an scf.if on the channel range per input, one load each), here two 4-bit NHWC
// buffers of 5 and 11 channels (each word of 8 channels mixes both at the boundary) into 16.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// CHECK-LABEL: func.func @concat_4bit_odd_channels
// CHECK: gpu.launch_func @kernels::@concat_4bit_odd_channels_0_concat {{.*}} args(%arg0 : memref<2x3x3x1xi32>, %arg1 : memref<2x3x3x2xi32>, %arg2 : memref<2x3x3x2xi32>)
// CHECK: gpu.func @concat_4bit_odd_channels_0_concat(%[[A:.*]]: memref<2x3x3x1xi32> {llvm.noalias}, %[[B:.*]]: memref<2x3x3x2xi32> {llvm.noalias}, %[[Y:.*]]: memref<2x3x3x2xi32> {llvm.noalias})
// CHECK-DAG: %[[VA:.*]] = memref.reinterpret_cast %[[A]] to offset: [0], sizes: [18], strides: [1]
// CHECK-DAG: %[[VB:.*]] = memref.reinterpret_cast %[[B]] to offset: [0], sizes: [36], strides: [1]
// CHECK: %[[INA:.*]] = arith.cmpi ult, %[[C:.*]], %c5 : index
// CHECK: scf.if %[[INA]] -> (i32) {
// CHECK: memref.load %[[VA]]
// CHECK: %[[GE:.*]] = arith.cmpi uge, %[[C]], %c5 : index
// CHECK: %[[LT:.*]] = arith.cmpi ult, %[[C]], %c16 : index
// CHECK: %[[INB:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: scf.if %[[INB]] -> (i32) {
// CHECK: %[[CB:.*]] = arith.subi %[[C]], %c5 : index
// CHECK: memref.load %[[VB]]
// PTX-LABEL: .entry concat_4bit_odd_channels_0_concat
// PTX: ld.global.nc.b32
// PTX: st.global.b32
module {
  func.func @concat_4bit_odd_channels(%arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 5, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 11, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 16, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
    "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x1xi32>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
    return
  }
}
