// convert-tcconv-to-gpu of a dense layer with its global pool fused (tcconv.dense with pool_*
// attributes): 20 channels in blocks of 8 (3 blocks of 256 threads). Each block pools its
// channels of both images into shared memory, adds its partial sums of every output into the
// op's state (a zero-initialized, non-constant global: 2 x 5 accumulators and a counter), takes
// a ticket from the counter between two GPU-scope fences, and the block with the last ticket
// exchanges the sums for zeros, runs the epilogue with the fused dequantize and resets the
// counter.
// RUN: nibble-opt %S/Inputs/dense-pool.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/dense-pool.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @pool_dense
// CHECK: %[[STATE:.*]] = memref.get_global @pool_dense_0_dense_state : memref<11xi32>
// CHECK: gpu.launch_func @kernels::@pool_dense_0_dense blocks in (%c3, %c1, %c1) threads in (%c256, %c1, %c1) args(%arg0 : memref<2x3x3x20xi32>, %{{.*}} : memref<5x20xi8>, %{{.*}} : memref<5xi32>, %arg1 : memref<2x5xf32>, %[[STATE]] : memref<11xi32>)
// CHECK: memref.global "private" @pool_dense_0_dense_state : memref<11xi32> = dense<0>
// CHECK: gpu.func @pool_dense_0_dense({{.*}}%[[S:arg4]]: memref<11xi32> {llvm.noalias}) workgroup(%[[P:arg5]] : memref<17xi32, #gpu.address_space<workgroup>>
// the pool: 3 x 3 taps summed in i64, floor-divided by 9, requantized, stored to shared memory
// CHECK: arith.divsi %{{.*}}, %c9_i64 : i64
// CHECK: memref.store %{{.*}}, %[[P]][%{{.*}}] : memref<17xi32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// partial sums: one atomic add per image and output
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[S]][%{{.*}}] : (i32, memref<11xi32>) -> i32
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[S]][%{{.*}}] : (i32, memref<11xi32>) -> i32
// CHECK: "fence.acq_rel.gpu;"
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw addi %c1_i32, %[[S]][%c10] : (i32, memref<11xi32>) -> i32
// CHECK: arith.cmpi eq, %{{.*}}, %c2_i32 : i32
// CHECK: gpu.barrier
// CHECK: "fence.acq_rel.gpu;"
// CHECK: memref.atomic_rmw assign %c0_i32, %[[S]][%{{.*}}] : (i32, memref<11xi32>) -> i32
// CHECK: arith.mulf
// CHECK: memref.atomic_rmw assign %c0_i32, %[[S]][%c10] : (i32, memref<11xi32>) -> i32
// CHECK: gpu.return

// PTX: .entry pool_dense_0_dense
// PTX: atom.global.add.u32
// PTX: fence.acq_rel.gpu;
// PTX: atom.global.exch.b32
