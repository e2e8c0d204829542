// With programmatic dependent launch (sm_90 / sm_90a) a tensor-core conv kernel lets its
// successor launch after its main loop, before the epilogue (the default,
// pdl-trigger=mainloop); with pdl-trigger=start the tcconv function carries
// tcconv.pdl_trigger = "start" and every kernel does so at its start, right after it waits for
// its predecessor, and nowhere else. The attribute reads back.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=start},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=START
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=start})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=IR
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=end})' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: gpu.func @pair_0_conv2d
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: nvvm.griddepcontrol launch_dependents
// CHECK: nvvm.mma.sync
// CHECK: nvvm.griddepcontrol launch_dependents
// START-LABEL: gpu.func @pair_0_conv2d
// START: nvvm.griddepcontrol wait
// START-NEXT: nvvm.griddepcontrol launch_dependents
// START-NOT: nvvm.griddepcontrol
// START: gpu.return
// IR: attributes {tcconv.num_inputs = 1 : i64, tcconv.pdl_trigger = "start", tcconv.target = "sm_90"}
// BAD: pdl-trigger 'end' is not mainloop or start
func.func @pair(%x: tensor<1x64x14x14xui4>) -> tensor<1x64x14x14xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %y = "qnn.conv2d_fused"(%x, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 1, 1>, zero_point = 0 : i64} : (tensor<1x64x14x14xui4>, tensor<64x64x3x3xi4>) -> tensor<1x64x14x14xui4>
  %r = "qnn.relu"(%y) {layout = "NCHW"} : (tensor<1x64x14x14xui4>) -> tensor<1x64x14x14xui4>
  return %r : tensor<1x64x14x14xui4>
}
