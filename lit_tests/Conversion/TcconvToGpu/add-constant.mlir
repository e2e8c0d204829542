// convert-tcconv-to-gpu of the add of a constant (tcconv.elementwise requantize with rounding
// f32_fma and an offset): round_half_even(fma(f32(x), s, offset[c])), the per-channel offsets a
// table of their f32 bits, one offset a constant.
// RUN: nibble-opt %S/Inputs/add-constant.sm_80.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/add-constant.sm_80.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @add_constant
// CHECK: %[[OFF:.*]] = memref.get_global @add_constant_0_elementwise_offset : memref<6xi32>
// CHECK: gpu.launch_func @kernels::@add_constant_0_elementwise {{.*}} args(%{{.*}} : memref<2x5x5x8xi8>, %{{.*}} : memref<2x5x5x8xi8>, %[[OFF]] : memref<6xi32>)
// 0.25, -1.5, 3.0, 0.0, 7.5, -0.125 as f32 bits
// CHECK: memref.global "private" constant @add_constant_0_elementwise_offset : memref<6xi32> = dense<[1048576000, -1077936128, 1077936128, 0, 1089470464, -1107296256]>
// CHECK: gpu.func @add_constant_0_elementwise(%{{.*}}: memref<2x5x5x8xi8> {llvm.noalias}, %{{.*}}: memref<2x5x5x8xi8> {llvm.noalias}, %[[T:.*]]: memref<6xi32> {llvm.noalias})
// CHECK: %[[BITS:.*]] = memref.load %[[T]][%{{.*}}] : memref<6xi32>
// CHECK: %[[O:.*]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK: %[[X:.*]] = arith.sitofp %{{.*}} : i64 to f32
// 12582912 / 2^24 = 0.75
// CHECK: llvm.intr.fma(%[[X]], %{{.*}}, %[[O]]) : (f32, f32, f32) -> f32
// CHECK: arith.minsi %{{.*}}, %c255_i64 : i64
// PTX-LABEL: .entry add_constant_0_elementwise
// PTX: fma.rn.f32
// PTX: cvt.rni.f32.f32

// CHECK-LABEL: func.func @add_scalar
// CHECK: gpu.launch_func @kernels::@add_scalar_0_elementwise {{.*}} args(%{{.*}} : memref<3x8xi8>, %{{.*}} : memref<3x8xi8>)
// CHECK: gpu.func @add_scalar_0_elementwise
// CHECK-NOT: memref.load %{{.*}} : memref<{{[0-9]+}}xi32>
// CHECK: %[[OFF1:.*]] = arith.constant 5.480000e-02 : f32
// CHECK: llvm.intr.fma(%{{.*}}, %{{.*}}, %[[OFF1]]) : (f32, f32, f32) -> f32
// A unit scale: LLVM writes fma(x, 1.0, o) as the equal add.rn.f32.
// PTX-LABEL: .entry add_scalar_0_elementwise
// PTX: add.rn.f32
