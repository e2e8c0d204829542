// The qnn dialect: quantized neural-network graph ops on tensors (stage 1 of nibble).
//
// IRDL checks operand/result counts, base types and attribute kinds at parse time; the
// semantic checks (shapes, element types, strides, per-channel lengths) live in
// `nibble-qnn`'s verifier (`nibble-opt --pass-pipeline='builtin.module(qnn-verify)'`).
// Op documentation (summary, semantics, IR example): dialects/qnn/README.md.
irdl.dialect @qnn {
  // Named weight constant: () -> tensor, read from the weights file by name.
  irdl.operation @weight {
    %t = irdl.base "!builtin.tensor"
    %s = irdl.base "#builtin.string"
    irdl.results(output: %t)
    irdl.attributes { "name" = %s }
  }

  // f32 -> int: clamp(round_half_even(x * f32(1 / scale))), after the f32 steps of the optional
  // `pre` (checked by qnn-verify, like `mode` and `zero_point`).
  irdl.operation @quantize {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %f = irdl.base "#builtin.float"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "scale" = %f, "layout" = %layout }
  }

  // int x int -> i32 2-D convolution (groups = 1), optional i32 bias per output channel.
  irdl.operation @conv2d {
    %in = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    %k0 = irdl.is "OIHW"
    %k1 = irdl.is "OHWI"
    %k2 = irdl.is "HWOI"
    %k3 = irdl.is "HWIO"
    %klayout = irdl.any_of(%k0, %k1, %k2, %k3)
    irdl.operands(input: %in, weight: %w, bias: optional %b)
    irdl.results(output: %out)
    irdl.attributes { "strides" = %strides, "padding" = %padding, "layout" = %layout, "kernel_layout" = %klayout }
  }

  // int x int -> i32 fully connected layer: (N x K) x (O x K)^T, optional i32 bias.
  irdl.operation @dense {
    %in = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    irdl.operands(input: %in, weight: %w, bias: optional %b)
    irdl.results(output: %out)
  }

  // int -> int dyadic requantize: clamp(round(x * b[c] / 2^s[c]) + zero_point, lo, hi).
  // With rounding "f32_fma" and the optional f32 array `offset` (checked by qnn-verify): the
  // add of a constant, round_half_even(fma(f32(x), b[c] / 2^s[c], offset[c])).
  irdl.operation @requantize {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %mult = irdl.base "#builtin.dense_array"
    %shift = irdl.base "#builtin.dense_array"
    %clamp = irdl.base "#builtin.dense_array"
    %zp = irdl.base "#builtin.integer"
    %r0 = irdl.is "half_to_even"
    %r1 = irdl.is "half_up"
    %r2 = irdl.is "truncate"
    %r3 = irdl.is "f32_half_to_even"
    %r4 = irdl.is "f32_fma"
    %rounding = irdl.any_of(%r0, %r1, %r2, %r3, %r4)
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "multiplier" = %mult, "shift" = %shift, "clamp" = %clamp, "zero_point" = %zp, "rounding" = %rounding, "layout" = %layout }
  }

  // Residual add: each branch requantized with its own dyadic scale and rounded, then summed in i32, clamped.
  irdl.operation @add {
    %lhs = irdl.base "!builtin.tensor"
    %rhs = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %lm = irdl.base "#builtin.dense_array"
    %ls = irdl.base "#builtin.dense_array"
    %rm = irdl.base "#builtin.dense_array"
    %rs = irdl.base "#builtin.dense_array"
    %clamp = irdl.base "#builtin.dense_array"
    %r0 = irdl.is "half_to_even"
    %r1 = irdl.is "half_up"
    %r2 = irdl.is "truncate"
    %r3 = irdl.is "f32_half_to_even"
    %r4 = irdl.is "f32_fma"
    %rounding = irdl.any_of(%r0, %r1, %r2, %r3, %r4)
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(lhs: %lhs, rhs: %rhs)
    irdl.results(output: %out)
    irdl.attributes { "lhs_multiplier" = %lm, "lhs_shift" = %ls, "rhs_multiplier" = %rm, "rhs_shift" = %rs, "clamp" = %clamp, "rounding" = %rounding, "layout" = %layout }
  }

  // max(x, 0), element type kept.
  irdl.operation @relu {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "layout" = %layout }
  }

  // clamp(x, min, max), element type kept.
  irdl.operation @clamp {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %min = irdl.base "#builtin.integer"
    %max = irdl.base "#builtin.integer"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "min" = %min, "max" = %max, "layout" = %layout }
  }

  // Max pooling; padded positions never win.
  irdl.operation @max_pool2d {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %kernel = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "kernel" = %kernel, "strides" = %strides, "padding" = %padding, "layout" = %layout }
  }

  // Average pooling: floor(sum / (kh * kw)) in i32; padded positions count as zeros.
  irdl.operation @avg_pool2d {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %kernel = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "kernel" = %kernel, "strides" = %strides, "padding" = %padding, "layout" = %layout }
  }

  // N x C x 1 x 1 (in `layout`) -> N x C.
  irdl.operation @flatten {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "layout" = %layout }
  }

  // lhs * rhs -> i32, exact; rhs of lhs's shape or N x C x 1 x 1 (broadcast over H, W).
  irdl.operation @mul {
    %lhs = irdl.base "!builtin.tensor"
    %rhs = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(lhs: %lhs, rhs: %rhs)
    irdl.results(output: %out)
    irdl.attributes { "layout" = %layout }
  }

  // ONNX Runtime's QLinearAveragePool: each window's taps inside the input dequantized
  // (input_scale * (x - input_zero_point)) and summed in f32 row by row, divided by the count
  // (kh * kw with count_include_pad, else the taps inside the input), then
  // clamp(nearbyint(sum / output_scale + output_zero_point)) to the result type.
  irdl.operation @avg_pool2d_f32 {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %kernel = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    // one constraint variable an attribute: IRDL binds a variable to one value
    %sx = irdl.base "#builtin.float"
    %zx = irdl.base "#builtin.integer"
    %sy = irdl.base "#builtin.float"
    %zy = irdl.base "#builtin.integer"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "kernel" = %kernel, "strides" = %strides, "padding" = %padding, "layout" = %layout, "input_scale" = %sx, "input_zero_point" = %zx, "output_scale" = %sy, "output_zero_point" = %zy }
  }

  // ONNX Runtime's QLinearSoftmax over each row of an N x C tensor of at most 8 bits: with m
  // the row's largest value, e(x) = table[255 - (m - x)], s the f32 sum of the row's e(x) in
  // order, y = min(nearbyint(f32(e(x) * scale) / s) + zero_point, the result type's largest).
  irdl.operation @softmax {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %table = irdl.base "#builtin.dense_array"
    %scale = irdl.base "#builtin.float"
    %zp = irdl.base "#builtin.integer"
    %layout = irdl.is "NC"
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "table" = %table, "scale" = %scale, "zero_point" = %zp, "layout" = %layout }
  }

  // Result channel j is input channel indices[j] (a channel slice of a Split, ShuffleNet's
  // channel shuffle); N, H, W and the element type kept.
  irdl.operation @gather_channels {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %indices = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "indices" = %indices, "layout" = %layout }
  }

  // table[x - lo], lo the least value of x's type (4 or 8 bits): a function of x's values.
  irdl.operation @lookup {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %table = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "table" = %table, "layout" = %layout }
  }

  // Channel concatenation: lhs's channels, then rhs's (same N, H, W and element type;
  // operands and result in `layout`). Binary: IRDL binds one type to all the values of a
  // variadic operand, so k tensors are a chain of k - 1 concats.
  irdl.operation @concat {
    %lhs = irdl.base "!builtin.tensor"
    %rhs = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    irdl.operands(lhs: %lhs, rhs: %rhs)
    irdl.results(output: %out)
    irdl.attributes { "layout" = %layout }
  }

  // int -> f32: f32(x) * scale[c] (one entry: per tensor).
  irdl.operation @dequantize {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %f = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %l3 = irdl.is "NC"
    %layout = irdl.any_of(%l0, %l1, %l2, %l3)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "scale" = %f, "layout" = %layout }
  }

  // conv2d with its epilogue fused: requantize (or per-branch residual add), clamp, relu; with the
  // second_* attributes (multiplier, shift, rounding, zero_point, clamp: checked by qnn-verify), a
  // second result, the requantize of the first.
  irdl.operation @conv2d_fused {
    %in = irdl.base "!builtin.tensor"
    %w = irdl.base "!builtin.tensor"
    %b = irdl.base "!builtin.tensor"
    %r = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %l0 = irdl.is "NCHW"
    %l1 = irdl.is "NHWC"
    %l2 = irdl.is "HWNC"
    %layout = irdl.any_of(%l0, %l1, %l2)
    %k0 = irdl.is "OIHW"
    %k1 = irdl.is "OHWI"
    %k2 = irdl.is "HWOI"
    %k3 = irdl.is "HWIO"
    %klayout = irdl.any_of(%k0, %k1, %k2, %k3)
    %e0 = irdl.is "none"
    %e1 = irdl.is "requantize"
    %e2 = irdl.is "residual"
    %epilogue = irdl.any_of(%e0, %e1, %e2)
    %mu = irdl.base "#builtin.dense_array"
    %sh = irdl.base "#builtin.dense_array"
    %rmu = irdl.base "#builtin.dense_array"
    %rsh = irdl.base "#builtin.dense_array"
    %zp = irdl.base "#builtin.integer"
    %r0 = irdl.is "half_to_even"
    %r1 = irdl.is "half_up"
    %r2 = irdl.is "truncate"
    %r3 = irdl.is "f32_half_to_even"
    %rounding = irdl.any_of(%r0, %r1, %r2, %r3)
    %clamp = irdl.base "#builtin.dense_array"
    %relu = irdl.base "#builtin.integer"
    %second = irdl.base "!builtin.tensor"
    irdl.operands(input: %in, weight: %w, bias: optional %b, residual: optional %r)
    irdl.results(output: %out, second: optional %second)
    irdl.attributes { "strides" = %strides, "padding" = %padding, "layout" = %layout, "kernel_layout" = %klayout,
      "epilogue" = %epilogue, "multiplier" = %mu, "shift" = %sh, "residual_multiplier" = %rmu, "residual_shift" = %rsh,
      "zero_point" = %zp, "rounding" = %rounding, "clamp" = %clamp, "relu" = %relu }
  }

  // Physical transpose between two 4-D layouts.
  irdl.operation @layout_transform {
    %in = irdl.base "!builtin.tensor"
    %out = irdl.base "!builtin.tensor"
    %s0 = irdl.is "NCHW"
    %s1 = irdl.is "NHWC"
    %s2 = irdl.is "HWNC"
    %src = irdl.any_of(%s0, %s1, %s2)
    %d0 = irdl.is "NCHW"
    %d1 = irdl.is "NHWC"
    %d2 = irdl.is "HWNC"
    %dst = irdl.any_of(%d0, %d1, %d2)
    irdl.operands(input: %in)
    irdl.results(output: %out)
    irdl.attributes { "src_layout" = %src, "dst_layout" = %dst }
  }
}
