// A whole ResNet-18 (HAWQ W4A4, batch 16; Inputs/resnet18.mlir is nibble-gen's output with the
// per-channel scales trimmed). The generated network is all NCHW with no transforms; the pass
// puts the body in HWNC (tcconv's direct kernels at batch 16) and pays one transform, on the
// quantized input; flatten reads HWNC, so the output needs none. 17 of the 20 convs carry their
// epilogue; the other 3 are the downsampling units' 1x1 identity convs, whose i32 results are
// residual operands. No relu or add is left. Two requantizes stay: the stem's, after its max
// pool, and the head's, to i8, after the average pool. Every requantize of a residual stream to
// the next unit's ui4 input is the second result of the conv that computes the stream.
// RUN: nibble-opt %S/Inputs/resnet18.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize,qnn-verify)' -o %t.mlir --nibble-egraph-stats 2> %t.stats
// RUN: FileCheck %s < %t.mlir
// RUN: FileCheck %s --check-prefix=COUNT < %t.mlir
// RUN: FileCheck %s --check-prefix=FUSED < %t.mlir
// RUN: FileCheck %s --check-prefix=PLAIN < %t.mlir
// RUN: FileCheck %s --check-prefix=REQ < %t.mlir
// RUN: FileCheck %s --check-prefix=STATS < %t.stats
// RUN: nibble-opt %S/Inputs/resnet18.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_75})' | FileCheck %s --check-prefix=COUNT
// Idempotent: optimizing the optimized network changes nothing.
// RUN: nibble-opt %t.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{stats=true})' -o /dev/null 2>&1 | FileCheck %s --check-prefix=AGAIN

// CHECK-LABEL: func.func @resnet18_hawq
// CHECK: %[[Q:.*]] = "qnn.quantize"(%arg0)
// CHECK-NEXT: %[[T:.*]] = "qnn.layout_transform"(%[[Q]]) {dst_layout = "HWNC", src_layout = "NCHW"} : (tensor<16x3x32x32xi8>) -> tensor<32x32x16x3xi8>
// The stem: conv -> max pool (i32) -> requantize (i16) -> relu is conv2d_fused -> max pool on
// i16; the requantize to ui4 stays after the pool (a second result of the conv would write and
// pool both values: the e-graph builds second results only for values of the input graph; nor
// is it a then step: the pooled i16 value is also stage1.unit1's identity).
// CHECK: %[[STEM:.*]] = "qnn.conv2d_fused"(%[[T]], {{.*}}epilogue = "requantize", {{.*}}layout = "HWNC", {{.*}}relu = true{{.*}} -> tensor<16x16x16x64xi16>
// CHECK-NEXT: %[[P:.*]] = "qnn.max_pool2d"(%[[STEM]]) {{.*}}layout = "HWNC"{{.*}} -> tensor<8x8x16x64xi16>
// CHECK-NEXT: %[[A:.*]] = "qnn.requantize"(%[[P]]) {{.*}}layout = "HWNC"{{.*}} -> tensor<8x8x16x64xui4>
// stage1.unit1: conv -> relu -> requantize, conv -> add(identity = the stem's output) -> relu,
// whose second result is the next unit's input.
// CHECK: %[[A1:.*]] = "qnn.conv2d_fused"(%[[A]], {{.*}}epilogue = "requantize", {{.*}}relu = true
// CHECK: %[[R1:.*]]:2 = "qnn.conv2d_fused"(%[[A1]], %{{.*}}, %{{.*}}, %[[P]]) {{.*}}epilogue = "residual", {{.*}}relu = true, {{.*}}second_clamp = array<i64: 0, 15>
// CHECK: "qnn.conv2d_fused"(%[[R1]]#1, {{.*}}epilogue = "requantize"
// CHECK: "qnn.conv2d_fused"({{.*}}, %[[R1]]#0) {{.*}}epilogue = "residual"
// CHECK: "qnn.avg_pool2d"({{.*}}layout = "HWNC"
// CHECK: "qnn.flatten"({{.*}}) {layout = "HWNC"}
// CHECK: "qnn.dense"
// CHECK: "qnn.dequantize"

// COUNT-COUNT-1: "qnn.layout_transform"
// COUNT-NOT: "qnn.layout_transform"
// COUNT-NOT: "qnn.relu"
// COUNT-NOT: "qnn.add"

// FUSED-COUNT-17: "qnn.conv2d_fused"
// FUSED-NOT: "qnn.conv2d_fused"
// PLAIN-COUNT-3: "qnn.conv2d"({{.*}}kernel_layout = "OIHW", layout = "HWNC", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
// PLAIN-NOT: "qnn.conv2d"(

// REQ: "qnn.requantize"({{.*}} -> tensor<8x8x16x64xui4>
// REQ-NOT: "qnn.requantize"({{.*}}ui4>
// REQ: "qnn.requantize"({{.*}} -> tensor<1x1x16x512xi8>
// REQ-NOT: "qnn.requantize"

// STATS: qnn-egraph-optimize @resnet18_hawq (sm_90): e-graph {{[0-9]+}} nodes, {{[0-9]+}} classes; {{[0-9]+}} iterations, stop: saturated
// STATS-NEXT: cost before: {{[0-9.]+}} us ({{.*}} MB moved, 89 launches, {{.*}} GMAC)
// STATS-NEXT: cost after: {{[0-9.]+}} us ({{.*}} MB moved, 30 launches, {{.*}} GMAC)
// STATS-NEXT: ops 69 -> 29, layout transforms 0 -> 1

// AGAIN: e-graph {{[0-9]+}} nodes
// AGAIN: [not cheaper: input kept]
// AGAIN: ops 29 -> 29, layout transforms 1 -> 1
