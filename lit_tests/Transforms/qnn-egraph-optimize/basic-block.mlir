// A ResNet basic block as HAWQ builds it (tools/nibble-gen/src/hawq.rs): the i32 residual stream
// %r feeds a requantize to ui4 (the first conv's input) and the residual add; conv -> relu ->
// requantize and conv -> add -> relu fuse into qnn.conv2d_fused. The block's result (the next
// residual stream) has two users, the next block's add and its requantize to ui4: the requantize
// becomes the fused conv's second result (one kernel writes the wide sum and the 4-bit input).
// In isolation at batch 16 the block keeps NCHW: moving it to HWNC (tcconv's direct kernels) would
// need a transform of %r in and of the i32 result out, which costs as much as the two convs'
// input relayouts (the whole network pays one transform: see resnet18.mlir).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90},qnn-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize)' | mlir-opt-22 --irdl-file=%qnn_irdl > /dev/null
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize)' --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize)' --nibble-egraph-stats -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @basic_block
// CHECK-SAME: (%[[R:.*]]: tensor<16x64x8x8xi32>)
// CHECK-NOT: "qnn.relu"
// CHECK: %[[A:.*]] = "qnn.requantize"(%[[R]])
// CHECK-NOT: "qnn.relu"
// CHECK: %[[A1:.*]] = "qnn.conv2d_fused"(%[[A]], %{{.*}}, %{{.*}}) {clamp = array<i64: 0, 15>, epilogue = "requantize", {{.*}}relu = true{{.*}} -> tensor<16x64x8x8xui4>
// CHECK-NOT: "qnn.add"
// CHECK: %[[Y:.*]]:2 = "qnn.conv2d_fused"(%[[A1]], %{{.*}}, %{{.*}}, %[[R]]) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", {{.*}}multiplier = array<i32: 1390354370>, {{.*}}relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 41>
// CHECK-SAME: -> (tensor<16x64x8x8xi32>, tensor<16x64x8x8xui4>)
// CHECK-NOT: "qnn.requantize"
// CHECK: return %[[Y]]#0, %[[Y]]#1

// Fused convs keep the conv's location (lines of %conv1 and %conv2 below).
// LOC: "qnn.conv2d_fused"{{.*}} loc(#[[L1:loc[0-9]*]])
// LOC: "qnn.conv2d_fused"{{.*}} loc(#[[L2:loc[0-9]*]])

// STATS: qnn-egraph-optimize @basic_block (sm_90): e-graph {{[0-9]+}} nodes, {{[0-9]+}} classes; {{[0-9]+}} iterations, stop: saturated
// STATS-NEXT: cost before: {{[0-9.]+}} us ({{.*}} MB moved, 10 launches, {{.*}} GMAC)
// STATS-NEXT: cost after: {{[0-9.]+}} us ({{.*}} MB moved, 5 launches, {{.*}} GMAC)
// STATS-NEXT: ops 8 -> 3, layout transforms 0 -> 0
func.func @basic_block(%r: tensor<16x64x8x8xi32>) -> (tensor<16x64x8x8xi32>, tensor<16x64x8x8xui4>) {
  %a = "qnn.requantize"(%r) {multiplier = array<i32: 1342218220>, shift = array<i32: 39>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
  %conv1_w = "qnn.weight"() {name = "conv1.weight_integer"} : () -> tensor<64x64x3x3xi4>
  %conv1_b = "qnn.weight"() {name = "conv1.bias_integer"} : () -> tensor<64xi32>
  // LOC-DAG: #[[L1]] = loc("{{.*}}basic-block.mlir":[[@LINE+1]]:{{[0-9]+}})
  %conv1 = "qnn.conv2d"(%a, %conv1_w, %conv1_b) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
  %z1 = "qnn.relu"(%conv1) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
  %a1 = "qnn.requantize"(%z1) {multiplier = array<i32: 2071395169>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
  %conv2_w = "qnn.weight"() {name = "conv2.weight_integer"} : () -> tensor<64x64x3x3xi4>
  %conv2_b = "qnn.weight"() {name = "conv2.bias_integer"} : () -> tensor<64xi32>
  // LOC-DAG: #[[L2]] = loc("{{.*}}basic-block.mlir":[[@LINE+1]]:{{[0-9]+}})
  %conv2 = "qnn.conv2d"(%a1, %conv2_w, %conv2_b) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
  %sum = "qnn.add"(%conv2, %r) {lhs_multiplier = array<i32: 1390354370>, lhs_shift = array<i32: 41>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW"} : (tensor<16x64x8x8xi32>, tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
  %y = "qnn.relu"(%sum) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
  %next = "qnn.requantize"(%y) {multiplier = array<i32: 1342218220>, shift = array<i32: 39>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
  return %y, %next : tensor<16x64x8x8xi32>, tensor<16x64x8x8xui4>
}
