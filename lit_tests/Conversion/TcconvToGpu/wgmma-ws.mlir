// The warp-specialized persistent wgmma conv kernel (wgmma_ws.rs, sm_90a, family "wgmma_ws"):
// one block an SM walks the tiles; a producer warpgroup fills a ring of slots guarded by
// mbarriers, the consumer warpgroups issue wgmma and run the epilogue on named barrier 1.
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// u4 x s4, 2 images of 14 x 14, 3x3, 64 -> 64 channels: 392 rows in 7 tiles of 64 x 64, so 7
// blocks of one consumer and (a plain epilogue) two producer warpgroups; slots of (64 + 64) x 128 widened bytes,
// 8 of them (128 KiB), the staged 4-bit output tile after them (2 KiB), then 16 mbarriers.
// CHECK-LABEL: func.func @ws_u4
// CHECK: gpu.launch_func @kernels::@ws_u4_0_conv2d blocks in (%c7, %c1, %c1) threads in (%c384, %c1, %c1) dynamic_shared_memory_size %c133248_i32
// CHECK: gpu.func @ws_u4_0_conv2d({{.*}}) kernel attributes {known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32}
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory
// CHECK: memref.view %[[DYN]][%c0][] {{.*}} to memref<33312xi32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]][%c131072][] {{.*}} to memref<512xi32, #gpu.address_space<workgroup>>
// thread 0 sets up full[s] (256 producer arrivals) and empty[s] (one per consumer warp)
// CHECK-COUNT-8: nvvm.mbarrier.init %{{.*}}, %c256_i32 : !llvm.ptr<3>, i32
// CHECK: gpu.barrier
// the producers: the warpgroups after the consumer
// CHECK: arith.cmpi uge, %thread_id_x, %c128 : index
// stage g + 1 loaded (two chunks a thread) while stage g waits for its slot, is widened, stored
// and announced
// CHECK: scf.for
// CHECK-COUNT-2: vector.load
// CHECK: llvm.inline_asm has_side_effects {{.*}}mbarrier.try_wait.parity.shared::cta.b64
// CHECK: vector.store
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.mbarrier.arrive
// the consumers: a loop over this block's tiles, five K stages each
// CHECK: arith.cmpi ult, %thread_id_x, %c128 : index
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 {
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1 iter_args
// CHECK: mbarrier.try_wait.parity
// CHECK: nvvm.fence.proxy
// CHECK-COUNT-4: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// the epilogue's barriers are the consumers' only
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.barrier id = %c1_i32 number_of_threads = %c128_i32
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
// PTX-LABEL: .entry ws_u4_0_conv2d
// PTX: mbarrier.init.shared.b64 \09[__dynamic_shmem__0+133120]
// PTX: bar.sync \090;
// PTX: mbarrier.try_wait.parity.shared::cta.b64
// PTX: fence.proxy.async.shared::cta;
// PTX: mbarrier.arrive.shared.b64
// PTX: wgmma.mma_async.sync.aligned.m64n64k32.s32.u8.s8
// PTX: bar.sync \091, 128;
  func.func @ws_u4(%arg0: memref<2x14x14x8xi32> {tcconv.dims = array<i64: 2, 64, 14, 14>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x14x14x8xi32> {tcconv.dims = array<i64: 2, 64, 14, 14>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
    %0 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "conv.weight.ohwi", packing = "ohwi", source = "conv.weight", source_layout = "OIHW"} : () -> memref<64x3x3x8xi32>
    %1 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "conv.bias.bias", packing = "bias", source = "conv.bias", source_layout = "OIHW"} : () -> memref<64xi32>
    "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 64, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma_ws", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 2147483647>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 38>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x14x14x8xi32>, memref<64x3x3x8xi32>, memref<64xi32>, memref<2x14x14x8xi32>) -> ()
    return
  }

// -----

// u8 x s8, 1x1 stride 2, 64 -> 40 channels: one K stage; 75 rows, 2 tiles of 64 x 48: 2 blocks;
// the producer's cp.async copies arrive on full[s] as they land.
// CHECK-LABEL: func.func @ws_u8
// CHECK: gpu.launch_func @kernels::@ws_u8_0_conv2d blocks in (%c2, %c1, %c1) threads in (%c384, %c1, %c1)
// CHECK: arith.cmpi uge, %thread_id_x, %c128 : index
// CHECK: mbarrier.try_wait.parity
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.mbarrier.arrive %{{.*}} {noinc = true} : !llvm.ptr<3>
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: arith.cmpi ult, %thread_id_x, %c128 : index
// CHECK: nvvm.wgmma.mma_async
// PTX-LABEL: .entry ws_u8_0_conv2d
// PTX: cp.async.mbarrier.arrive.noinc.shared.b64
// PTX: wgmma.mma_async.sync.aligned.m64n48k32.s32.u8.s8
  func.func @ws_u8(%arg0: memref<3x9x9x64xi8> {tcconv.dims = array<i64: 3, 64, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<3x5x5x40xi8> {tcconv.dims = array<i64: 3, 40, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
    %0 = "tcconv.weight"() {dims = array<i64: 40, 64, 1, 1>, elem = "i8", name = "conv.weight.ohwi", packing = "ohwi", source = "conv.weight", source_layout = "OIHW"} : () -> memref<40x1x1x64xi8>
    %1 = "tcconv.weight"() {dims = array<i64: 40, 1, 1, 1>, elem = "i32", name = "conv.bias.bias", packing = "bias", source = "conv.bias", source_layout = "OIHW"} : () -> memref<40xi32>
    "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 48, 64>, clamp = array<i64: 0, 255>, epilogue = "requantize", family = "wgmma_ws", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1610612736>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<3x9x9x64xi8>, memref<40x1x1x64xi8>, memref<40xi32>, memref<3x5x5x40xi8>) -> ()
    return
  }
