// With programmatic dependent launch (sm_90 / sm_90a) a tensor-core conv kernel lets its
// successor launch either after its main loop, before the epilogue, or at its start, right
// after it waits for its predecessor (tcconv.pdl_trigger on the tcconv function):
// - auto (the default): at its start where the next kernel's blocks run a short main loop
//   (here the 1x1 conv, and the end of the network), after its main loop before a 3x3 conv;
// - mainloop: every conv after its main loop;
// - start: every conv at its start, and nowhere else.
// The attribute reads back; an unknown policy is named.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=mainloop},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=MAIN
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=start},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=START
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=start})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=IR-START
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=mainloop})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=IR-MAIN
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=IR-AUTO
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pdl-trigger=end})' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: gpu.func @triple_0_conv2d
// CHECK: nvvm.griddepcontrol wait
// CHECK-NOT: nvvm.griddepcontrol launch_dependents
// CHECK: nvvm.mma.sync
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @triple_1_conv2d
// CHECK: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @triple_2_conv2d
// CHECK: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return

// the two 3x3 convs, alike but for where auto triggers, share one kernel here
// MAIN-NOT: gpu.func @triple_1_conv2d
// MAIN-LABEL: gpu.func @triple_0_conv2d
// MAIN: nvvm.griddepcontrol wait
// MAIN-NOT: nvvm.griddepcontrol launch_dependents
// MAIN: nvvm.mma.sync
// MAIN: nvvm.griddepcontrol launch_dependents
// MAIN-LABEL: gpu.func @triple_2_conv2d
// MAIN: nvvm.griddepcontrol wait
// MAIN-NOT: nvvm.griddepcontrol launch_dependents
// MAIN: nvvm.mma.sync
// MAIN: nvvm.griddepcontrol launch_dependents

// (the two 3x3 convs share one kernel)
// START-NOT: gpu.func @triple_1_conv2d
// START-LABEL: gpu.func @triple_0_conv2d
// START: nvvm.griddepcontrol wait
// START-NEXT: nvvm.griddepcontrol launch_dependents
// START-NOT: nvvm.griddepcontrol
// START: gpu.return
// START-LABEL: gpu.func @triple_2_conv2d
// START: nvvm.griddepcontrol wait
// START-NEXT: nvvm.griddepcontrol launch_dependents
// START-NOT: nvvm.griddepcontrol
// START: gpu.return

// IR-START: attributes {tcconv.num_inputs = 1 : i64, tcconv.pdl_trigger = "start", tcconv.target = "sm_90"}
// IR-MAIN: attributes {tcconv.num_inputs = 1 : i64, tcconv.pdl_trigger = "mainloop", tcconv.target = "sm_90"}
// IR-AUTO: attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"}
// BAD: pdl-trigger 'end' is not mainloop, start or auto
func.func @triple(%x: tensor<1x128x14x14xui4>) -> tensor<1x128x14x14xui4> {
  %wa = "qnn.weight"() {name = "wa"} : () -> tensor<128x128x3x3xi4>
  %wb = "qnn.weight"() {name = "wb"} : () -> tensor<128x128x3x3xi4>
  %wc = "qnn.weight"() {name = "wc"} : () -> tensor<128x128x1x1xi4>
  %a = "qnn.conv2d_fused"(%x, %wa) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 1, 1>, zero_point = 0 : i64} : (tensor<1x128x14x14xui4>, tensor<128x128x3x3xi4>) -> tensor<1x128x14x14xui4>
  %b = "qnn.conv2d_fused"(%a, %wb) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 1, 1>, zero_point = 0 : i64} : (tensor<1x128x14x14xui4>, tensor<128x128x3x3xi4>) -> tensor<1x128x14x14xui4>
  %c = "qnn.conv2d_fused"(%b, %wc) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 1, 1>, zero_point = 0 : i64} : (tensor<1x128x14x14xui4>, tensor<128x128x1x1xi4>) -> tensor<1x128x14x14xui4>
  return %c : tensor<1x128x14x14xui4>
}
