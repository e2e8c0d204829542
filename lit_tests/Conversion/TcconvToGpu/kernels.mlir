// convert-tcconv-to-gpu (simple kernels, convert-qnn-to-tcconv{kernel=simple}; the tensor-core conv is in mma.mlir): one
// gpu.func per tcconv op in gpu.module @kernels, gpu.launch_func on the
// host with the kernel's grid (ceil(threads / 256)) and the op's buffers as arguments.
// RUN: nibble-opt %S/Inputs/kernels.sm_80-simple.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// The gpu.module lowers to PTX with the upstream pipeline (the host function is left alone).
// RUN: nibble-opt %S/Inputs/kernels.sm_80.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// Per-channel requantize i32 NHWC -> packed u4: 2x4x4 pixels x 2 words = 64 threads, one word each.
// CHECK-LABEL: func.func @requant_u4
// CHECK-SAME: %[[X:.*]]: memref<2x4x4x16xi32>{{.*}}, %[[Y:.*]]: memref<2x4x4x2xi32>
// The per-channel tables are module-level constants passed after the op's operands.
// CHECK: %[[MUL:.*]] = memref.get_global @requant_u4_0_elementwise_mul : memref<16xi32>
// CHECK: %[[SHIFT:.*]] = memref.get_global @requant_u4_0_elementwise_shift : memref<16xi32>
// CHECK: gpu.launch_func @kernels::@requant_u4_0_elementwise blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%[[X]] : memref<2x4x4x16xi32>, %[[Y]] : memref<2x4x4x2xi32>, %[[MUL]] : memref<16xi32>, %[[SHIFT]] : memref<16xi32>)
// CHECK: memref.global "private" constant @requant_u4_0_elementwise_mul : memref<16xi32> = dense<[1073741824, 1073741825,
// CHECK: memref.global "private" constant @requant_u4_0_elementwise_shift : memref<16xi32> = dense<[33, 33, 33, 33, 33, 33, 33, 33, 34, 34, 34, 34, 34, 34, 34, 34]>
// CHECK: gpu.module @kernels
// CHECK: gpu.func @requant_u4_0_elementwise(%{{.*}}: memref<2x4x4x16xi32> {llvm.noalias}, %{{.*}}: memref<2x4x4x2xi32> {llvm.noalias}, %[[KMUL:.*]]: memref<16xi32> {llvm.noalias}, %{{.*}}: memref<16xi32> {llvm.noalias}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: arith.cmpi ult, %{{.*}}, %c64 : index
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [64], strides: [1] : memref<2x4x4x2xi32> to memref<64xi32>
// CHECK-COUNT-8: memref.load %{{.*}} : memref<512xi32>
// CHECK: memref.load %[[KMUL]][%{{.*}}] : memref<16xi32>
// The shifts (33, 34) all lie in [33, 62]: the rounding is 32-bit work on the product's high
// word. th = hi + 2^(c-33) (no carry from the low word), q = th >> (c - 32); a tie (low word 0
// and th's low c - 32 bits 0) clears q's lowest bit (to even).
// The product of the i32 value and its channel's i32 multiplier is one mul.wide.s32.
// CHECK: %[[P:.*]] = llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// CHECK-NEXT: %[[LO:.*]] = arith.trunci %[[P]] : i64 to i32
// CHECK-NEXT: %[[HI64:.*]] = arith.shrsi %[[P]], %c32_i64 : i64
// CHECK-NEXT: %[[HI:.*]] = arith.trunci %[[HI64]] : i64 to i32
// CHECK: %[[TH:.*]] = arith.addi %[[HI]], %{{.*}} : i32
// CHECK-NEXT: %[[Q:.*]] = arith.shrsi %[[TH]], %{{.*}} : i32
// CHECK: %[[LO0:.*]] = arith.cmpi eq, %[[LO]], %c0_i32 : i32
// CHECK-NEXT: %[[LOW:.*]] = arith.andi %[[TH]], %{{.*}} : i32
// CHECK-NEXT: %[[HI0:.*]] = arith.cmpi eq, %[[LOW]], %c0_i32 : i32
// CHECK-NEXT: %[[TIE:.*]] = arith.andi %[[LO0]], %[[HI0]] : i1
// CHECK-NEXT: %[[EVEN:.*]] = arith.andi %[[Q]], %c-2_i32 : i32
// CHECK-NEXT: arith.select %[[TIE]], %[[EVEN]], %[[Q]] : i32
// CHECK: arith.minsi %{{.*}}, %c15_i64 : i64
// 8 nibbles packed low first, one 32-bit store
// CHECK: arith.shli %{{.*}}, %c28_i32 : i32
// CHECK: %[[W:.*]] = arith.ori
// CHECK-NEXT: %[[I:.*]] = arith.divui %{{.*}}, %c8 : index
// CHECK-NEXT: memref.store %[[W]], %{{.*}}[%[[I]]] : memref<64xi32>
// CHECK-NOT: memref.store
// CHECK: gpu.return

// u4 x s4 3x3 conv, direct strategy (HWNC input, HWOI weights): one thread per output pixel
// and 8 output channels: 16*8*8 * 64/8 = 8192 threads = 32 blocks of 256.
// CHECK-LABEL: func.func @conv_u4_direct
// CHECK: %[[W:.*]] = "tcconv.weight"() {{.*}}packing = "hwoi"{{.*}} -> memref<3x3x64x8xi32>
// CHECK: gpu.launch_func @kernels::@conv_u4_direct_0_conv2d blocks in (%c32, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<8x8x16x8xi32>, %[[W]] : memref<3x3x64x8xi32>, %{{.*}} : memref<16x8x8x64xi32>)
// CHECK-NOT: tcconv.conv2d
// CHECK: gpu.func @conv_u4_direct_0_conv2d(%{{.*}}: memref<8x8x16x8xi32> {llvm.noalias}, %{{.*}}: memref<3x3x64x8xi32> {llvm.noalias}, %{{.*}}: memref<16x8x8x64xi32> {llvm.noalias}) kernel
// CHECK: arith.cmpi ult, %{{.*}}, %c8192 : index
// KH and KW loops carry the 8 i32 accumulators
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32, i32, i32)
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32, i32, i32)
// reduction over 64 input channels = 8 packed words per tap
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32, i32, i32)
// one activation word: unsigned nibbles
// CHECK: memref.load %{{.*}} : memref<8192xi32>
// CHECK: arith.andi %{{.*}}, %c15_i32 : i32
// CHECK: arith.shrui %{{.*}}, %c28_i32 : i32
// weight words: sign-extended nibbles
// CHECK: memref.load %{{.*}} : memref<4608xi32>
// CHECK: arith.shli %{{.*}}, %c28_i32 : i32
// CHECK-NEXT: arith.shrsi %{{.*}}, %c28_i32 : i32
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK-NEXT: arith.addi %{{.*}}, %{{.*}} : i32
// taps in the padding leave the accumulators unchanged
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
// i32 output: 8 word stores
// CHECK-COUNT-8: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<65536xi32>

// 3x3/2 max pool on packed u4 NHWC: one input word per tap for all 8 channels, one output word,
// never unpacked: the even and odd nibbles as bytes (& 0x0f0f0f0f), each joined to its running
// maxima byte by byte ((a | 0x80808080) - b keeps each byte's top bit where a >= b; spread
// over the byte, it picks a or b), the maxima starting at 0.
// CHECK-LABEL: func.func @max_pool_u4
// CHECK: gpu.launch_func @kernels::@max_pool_u4_0_pool2d blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<1x8x8x2xi32>, %{{.*}} : memref<1x4x4x2xi32>)
// CHECK: gpu.func @max_pool_u4_0_pool2d
// CHECK: arith.cmpi ult, %{{.*}}, %c32 : index
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %c0_i32, %{{.*}} = %c0_i32) -> (i32, i32)
// CHECK: scf.for
// CHECK: %[[W:.*]] = memref.load %{{.*}} : memref<128xi32>
// CHECK-NOT: arith.maxsi
// CHECK: %[[EVEN:.*]] = arith.andi %[[W]], %c252645135_i32 : i32
// CHECK: %[[HI:.*]] = arith.shrui %[[W]], %c4_i32 : i32
// CHECK: %[[ODD:.*]] = arith.andi %[[HI]], %c252645135_i32 : i32
// CHECK: %[[TOP:.*]] = arith.ori %{{.*}}, %c-2139062144_i32 : i32
// CHECK: %[[D:.*]] = arith.subi %[[TOP]], %[[EVEN]] : i32
// CHECK: arith.shrui %[[D]], %c7_i32 : i32
// CHECK: arith.andi %{{.*}}, %c16843009_i32 : i32
// CHECK-COUNT-2: arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
// CHECK: arith.shli %{{.*}}, %c4_i32 : i32
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<32xi32>
// CHECK-NOT: memref.store
// CHECK: gpu.return

// 7x7 global average pool, i32 NHWC with 12 channels: one element per thread (24 threads),
// floor division by 49 in i64.
// CHECK-LABEL: func.func @avg_pool_i32
// CHECK: gpu.launch_func @kernels::@avg_pool_i32_0_pool2d blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK: gpu.func @avg_pool_i32_0_pool2d
// CHECK: arith.cmpi ult, %{{.*}}, %c24 : index
// CHECK: scf.for %{{.*}} = %c0 to %c7 step %c1 iter_args(%{{.*}} = %c0_i64) -> (i64)
// CHECK: arith.divsi %{{.*}}, %c49_i64 : i64
// CHECK: arith.remsi %{{.*}}, %c49_i64 : i64
// CHECK: arith.cmpi slt
// CHECK: arith.subi
// CHECK: memref.store %{{.*}} : memref<24xi32>
// CHECK-NOT: memref.store

// Quantize (f32 -> i8, round half to even in f32), dense (i8 x i8 + bias; one warp per output
// channel and tile of up to 8 batch rows: 10 channels x 1 tile of the 4 rows = 10 warps = 320
// threads; lanes split K, each weight word serves the 4 rows, 4 bytes a dp4a; the sums reduced
// with shuffles) with the dequantize fused: the first lane of each row writes f32(y) * scale.
// CHECK-LABEL: func.func @quantize_dense_dequantize
// CHECK: gpu.launch_func @kernels::@quantize_dense_dequantize_0_quantize
// CHECK: gpu.launch_func @kernels::@quantize_dense_dequantize_1_dense blocks in (%c2, %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @quantize_dense_dequantize_0_quantize
// CHECK: arith.mulf %{{.*}}, %cst : f32
// CHECK: llvm.inline_asm asm_dialect = att "cvt.rni.f32.f32 $0, $1;", "=f,f"
// CHECK: arith.cmpf uno
// CHECK: gpu.func @quantize_dense_dequantize_1_dense(%{{.*}}: memref<4x20xi8> {llvm.noalias}, %{{.*}}: memref<10x20xi8> {llvm.noalias}, %{{.*}}: memref<10xi32> {llvm.noalias}, %{{.*}}: memref<4x10xf32> {llvm.noalias})
// CHECK: arith.cmpi ult, %{{.*}}, %c10 : index
// 8-bit operands are read 4 bytes at a time through an i32 view; lane l takes words l, l+32, ..
// of the 4 rows (one accumulator each) and loads the weight word once
// CHECK: memref.view %{{.*}}[%c0][] : memref<80xi8> to memref<20xi32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c5 step %c32 iter_args({{.*}}) -> (i32, i32, i32, i32)
// CHECK: memref.load %{{.*}} : memref<50xi32>
// CHECK-NOT: memref<50xi32>
// CHECK-COUNT-4: nvvm.dot.accumulate.4way %{{.*}} <signed>, %{{.*}} <signed>, %{{.*}} : vector<4xi8>, vector<4xi8>
// CHECK-NOT: memref<50xi32>
// CHECK: scf.yield
// two steps halve the 4 rows a lane holds (lanes 0-7 end with row 0, 8-15 row 1, ..), three add
// across the lanes of a row
// CHECK-COUNT-6: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: arith.remui %{{.*}}, %c8 : index
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK-NEXT: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: memref.store %{{.*}} : memref<40xf32>
// PTX: .visible .entry quantize_dense_dequantize_1_dense({{.*}}dp4a.s32.s32{{.*}}shfl.sync.bfly.b32{{.*}}cvt.rn.f32.s32 \09%r[[F:[0-9]+]], {{.*}}mul.rn.f32 \09%r{{[0-9]+}}, %r[[F]], 0f3E000000;

// HAWQ's logits: per-class scales, read as f32 bits from a constant table at the output channel.
// CHECK-LABEL: func.func @dense_dequantize_per_channel
// CHECK: %[[T:.*]] = memref.get_global @dense_dequantize_per_channel_0_dense_deq_scale : memref<3xi32>
// CHECK: gpu.launch_func @kernels::@dense_dequantize_per_channel_0_dense {{.*}}, %[[T]] : memref<3xi32>)
// CHECK-NOT: gpu.launch_func
// CHECK: memref.global "private" constant @dense_dequantize_per_channel_0_dense_deq_scale : memref<3xi32> = dense<[925353388, 1048576000, 1040187392]>
// CHECK: gpu.func @dense_dequantize_per_channel_0_dense({{.*}}, %[[KT:.*]]: memref<3xi32> {llvm.noalias})
// CHECK: %[[BITS:.*]] = memref.load %[[KT]]
// CHECK: %[[S:.*]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK: %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf %[[F]], %[[S]] : f32
// PTX: .visible .entry dense_dequantize_per_channel_0_dense({{.*}}cvt.rn.f32.s32 {{.*}}mul.rn.f32

// A per-channel dequantize on its own (the dense result is also returned), on a 2-D and a 4-D value.
// CHECK-LABEL: func.func @dequantize_kernels
// CHECK: gpu.launch_func @kernels::@dequantize_kernels_0_dense
// Both take the same scales: one constant.
// CHECK: %[[T1:.*]] = memref.get_global @dequantize_kernels_1_dequantize_deq_scale : memref<3xi32>
// CHECK: gpu.launch_func @kernels::@dequantize_kernels_1_dequantize {{.*}}, %[[T1]] : memref<3xi32>)
// CHECK: %[[T2:.*]] = memref.get_global @dequantize_kernels_1_dequantize_deq_scale : memref<3xi32>
// CHECK: gpu.launch_func @kernels::@dequantize_kernels_2_dequantize {{.*}}, %[[T2]] : memref<3xi32>)
// CHECK: memref.global "private" constant @dequantize_kernels_1_dequantize_deq_scale
// CHECK-NOT: memref.global
// CHECK: gpu.func @dequantize_kernels_1_dequantize(%{{.*}}: memref<4x3xi32> {llvm.noalias}, %{{.*}}: memref<4x3xf32> {llvm.noalias}, %[[K1:.*]]: memref<3xi32> {llvm.noalias})
// CHECK: memref.load %[[K1]]
// CHECK: arith.bitcast
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: gpu.func @dequantize_kernels_2_dequantize({{.*}}, %[[K2:.*]]: memref<3xi32> {llvm.noalias})
// CHECK: memref.load %[[K2]]
// CHECK: arith.bitcast

// conv + fused requantize (per-channel tables) -> packed u4 output, one word store per thread.
// CHECK-LABEL: func.func @fused_requantize_u4
// CHECK: gpu.launch_func @kernels::@fused_requantize_u4_0_conv2d {{.*}} : memref<16xi32>, %{{.*}} : memref<16xi32>)
// CHECK: memref.global "private" constant @fused_requantize_u4_0_conv2d_mul
// CHECK: gpu.func @fused_requantize_u4_0_conv2d({{.*}}, %{{.*}}: memref<16xi32> {llvm.noalias}, %[[SHIFT:.*]]: memref<16xi32> {llvm.noalias})
// CHECK: arith.cmpi ult, %{{.*}}, %c18 : index
// CHECK: memref.load %[[SHIFT]]
// half_up with shifts in [33, 62]: (high word + 2^(shift - 33)) >> (shift - 32), in i32
// CHECK: %[[HI64:.*]] = arith.shrsi %{{.*}}, %c32_i64 : i64
// CHECK-NEXT: %[[HI:.*]] = arith.trunci %[[HI64]] : i64 to i32
// CHECK: %[[TH:.*]] = arith.addi %[[HI]], %{{.*}} : i32
// CHECK-NEXT: arith.shrsi %[[TH]], %{{.*}} : i32
// CHECK: memref.store %{{.*}} : memref<18xi32>
// CHECK-NOT: memref.store

// conv + residual epilogue (each branch rounded, sum saturated in i64) + relu, i32 output.
// CHECK-LABEL: func.func @fused_residual_i32
// CHECK: gpu.launch_func @kernels::@fused_residual_i32_0_conv2d blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<1x4x4x1xi32>, %{{.*}} : memref<8x3x3x1xi32>, %{{.*}} : memref<1x4x4x8xi32>, %{{.*}} : memref<1x4x4x8xi32>)
// CHECK: gpu.func @fused_residual_i32_0_conv2d
// Constant shifts (20, 30) in [1, 31] round on 32-bit words: t = p + 2^19, the quotient's low
// word a funnel shift of t's words by 20 and its high word t's high word >> 20, a tie (the low
// 20 bits of t's low word 0) to even (the odd multiplier 2^30 + 1 lets an i32 make a tie).
// CHECK: %[[P:.*]] = arith.muli %{{.*}}, %c1073741825_i64 : i64
// CHECK-NEXT: %[[T:.*]] = arith.addi %[[P]], %c524288_i64 : i64
// CHECK-NEXT: %[[LO:.*]] = arith.trunci %[[T]] : i64 to i32
// CHECK-NEXT: %[[HI64:.*]] = arith.shrsi %[[T]], %c32_i64 : i64
// CHECK-NEXT: %[[HI:.*]] = arith.trunci %[[HI64]] : i64 to i32
// CHECK-NEXT: %[[QLO:.*]] = llvm.intr.fshr(%[[HI]], %[[LO]], %c20_i32) : (i32, i32, i32) -> i32
// CHECK-NEXT: %[[QHI:.*]] = arith.shrsi %[[HI]], %c20_i32 : i32
// CHECK-NEXT: %[[LOW:.*]] = arith.andi %[[LO]], %c1048575_i32 : i32
// CHECK-NEXT: %[[TIE:.*]] = arith.cmpi eq, %[[LOW]], %c0_i32 : i32
// CHECK-NEXT: %[[EVEN:.*]] = arith.andi %[[QLO]], %c-2_i32 : i32
// CHECK-NEXT: arith.select %[[TIE]], %[[EVEN]], %[[QLO]] : i32
// The saturated sum leaves i64 through its words (it fits i32 where its high word is its low
// word's sign), then relu in i32.
// CHECK: %[[SIGN:.*]] = arith.shrui %[[SLO:.*]], %c31_i32 : i32
// CHECK-NEXT: %[[ZERO:.*]] = arith.addi %[[SHI:.*]], %[[SIGN]] : i32
// CHECK-NEXT: %[[FITS:.*]] = arith.cmpi eq, %[[ZERO]], %c0_i32 : i32
// CHECK-NEXT: %[[SIDE:.*]] = arith.shrsi %[[SHI]], %c31_i32 : i32
// CHECK-NEXT: %[[BOUND:.*]] = arith.xori %[[SIDE]], %c2147483647_i32 : i32
// CHECK-NEXT: %[[SAT:.*]] = arith.select %[[FITS]], %[[SLO]], %[[BOUND]] : i32
// CHECK-NEXT: arith.maxsi %[[SAT]], %c0_i32 : i32
// CHECK-COUNT-8: memref.store %{{.*}} : memref<128xi32>

// PTX: gpu.binary @kernels {{.*}}.target sm_80{{.*}}.visible .entry fused_residual_i32_0_conv2d(

// A second output (the requantize of the residual sum) whose word groups are the i32 output's
// (O = 16: 8-channel groups in both): the simple kernel writes both.
// CHECK-LABEL: func.func @second_output_o16
// CHECK: gpu.launch_func @kernels::@second_output_o16_0_conv2d {{.*}} args({{.*}}, %arg2 : memref<2x4x4x16xi32>, %arg3 : memref<2x4x4x2xi32>)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @second_output_o16_0_conv2d

// O = 12: the i32 output's groups are 4 channels, the packed second output's 8 (a whole word):
// the simple kernel cannot write both, so convert-qnn-to-tcconv emits the conv without its
// second output and a tcconv.elementwise requantize of the first (one op, one launch).
// CHECK-LABEL: func.func @second_output_o12
// CHECK: gpu.launch_func @kernels::@second_output_o12_0_conv2d {{.*}} args(%arg0 : memref<2x4x4x1xi32>, %{{.*}} : memref<12x3x3x1xi32>, %arg1 : memref<2x4x4x12xi32>, %arg2 : memref<2x4x4x12xi32>)
// CHECK-NEXT: gpu.launch_func @kernels::@second_output_o12_1_elementwise {{.*}} args(%arg2 : memref<2x4x4x12xi32>, %arg3 : memref<2x4x4x2xi32>)

// Two convs of one shape that differ only in their per-channel multipliers: one kernel, launched
// twice with its own tables (the equal shift tables are one constant).
// CHECK-LABEL: func.func @same_shape_convs
// CHECK: %[[M0:.*]] = memref.get_global @same_shape_convs_0_conv2d_mul
// CHECK: %[[S0:.*]] = memref.get_global @same_shape_convs_0_conv2d_shift
// CHECK: gpu.launch_func @kernels::@same_shape_convs_0_conv2d {{.*}}, %[[M0]] : memref<16xi32>, %[[S0]] : memref<16xi32>)
// CHECK: %[[M1:.*]] = memref.get_global @same_shape_convs_1_conv2d_mul
// CHECK: %[[S1:.*]] = memref.get_global @same_shape_convs_0_conv2d_shift
// CHECK: gpu.launch_func @kernels::@same_shape_convs_0_conv2d {{.*}}, %[[M1]] : memref<16xi32>, %[[S1]] : memref<16xi32>)
// CHECK-NOT: gpu.launch_func
// CHECK: memref.global "private" constant @same_shape_convs_0_conv2d_mul : memref<16xi32> = dense<[1073741824,
// CHECK: memref.global "private" constant @same_shape_convs_0_conv2d_shift
// CHECK: memref.global "private" constant @same_shape_convs_1_conv2d_mul : memref<16xi32> = dense<[1100000000,
// CHECK-NOT: memref.global
// CHECK: gpu.func @same_shape_convs_0_conv2d
// CHECK-NOT: gpu.func
// PTX: .visible .entry same_shape_convs_0_conv2d(
// PTX-NOT: .entry same_shape_convs_1_conv2d
