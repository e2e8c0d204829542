// The tcconv dialect: tensor-core kernels on buffers (stage 3 of nibble). Every op is one kernel
// launch; operands are memrefs in exactly the layout the kernel reads (packed INT4 words, HWNC or
// NHWC, weights pre-packed in the kernel's order). Op documentation: dialects/tcconv/README.md.
irdl.dialect @tcconv {
  // A buffer the function allocates: its logical (n, c, h, w), layout and element type.
  irdl.operation @alloc {
    %m = irdl.base "!builtin.memref"
    %l = irdl.base "#builtin.string"
    %e = irdl.base "#builtin.string"
    %d = irdl.base "#builtin.dense_array"
    irdl.results(buffer: %m)
    irdl.attributes { "layout" = %l, "elem" = %e, "dims" = %d }
  }

  // A pre-packed weight (`name` in the artifact's weights file), packed from qnn weight `source`.
  irdl.operation @weight {
    %m = irdl.base "!builtin.memref"
    %n = irdl.base "#builtin.string"
    %s = irdl.base "#builtin.string"
    %p0 = irdl.is "ohwi"
    %p1 = irdl.is "hwoi"
    %p2 = irdl.is "ok"
    %p3 = irdl.is "bias"
    %p = irdl.any_of(%p0, %p1, %p2, %p3)
    %e = irdl.base "#builtin.string"
    %d = irdl.base "#builtin.dense_array"
    %sl = irdl.base "#builtin.string"
    irdl.results(buffer: %m)
    irdl.attributes { "name" = %n, "source" = %s, "packing" = %p, "elem" = %e, "dims" = %d, "source_layout" = %sl }
  }

  // f32 -> integer buffer (qnn.quantize with the edge layout change fused).
  irdl.operation @quantize {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %f = irdl.base "#builtin.float"
    irdl.operands(input: %i, output: %o)
    irdl.attributes { "scale" = %f }
  }

  // Tensor-core conv2d with its fused epilogue; `second` (with the second_* attributes, checked by
  // tcconv-verify) receives the requantize of the output. A shortcut (input, weight, bias?, and
  // `shortcut_strides`) is a 1x1 conv onto the same output pixels whose i32 result is the
  // residual epilogue's residual, computed by the same kernel. `family` is the kernel that runs it
  // (simple, mma: register-only tensor cores, staged: cp.async pipeline), chosen by
  // convert-qnn-to-tcconv; tcconv-verify checks that it takes the op. With `input_scale` (and the
  // other input_* attributes, checked by tcconv-verify) the input is f32 and its quantize is fused.
  // With pool_kernel, pool_strides and pool_padding (checked by tcconv-verify) the output is the
  // max pool of the conv's map, which the kernel never stores. Consecutive convs with the
  // same `chain` (an i64, checked by tcconv-verify: each after the first a 1x1 conv of the
  // output of the one before) are one kernel and one launch over thread-block clusters.
  irdl.operation @conv2d {
    %i = irdl.base "!builtin.memref"
    %w = irdl.base "!builtin.memref"
    %b = irdl.base "!builtin.memref"
    %r = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %s0 = irdl.is "direct"
    %s1 = irdl.is "im2col"
    %strategy = irdl.any_of(%s0, %s1)
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    %kernel = irdl.base "#builtin.dense_array"
    %mma = irdl.base "#builtin.dense_array"
    %at = irdl.base "#builtin.string"
    %bt = irdl.base "#builtin.string"
    %widen = irdl.base "#builtin.integer"
    %bt_ = irdl.base "#builtin.dense_array"
    %wt = irdl.base "#builtin.dense_array"
    %st = irdl.base "#builtin.integer"
    %ep = irdl.base "#builtin.string"
    %mu = irdl.base "#builtin.dense_array"
    %sh = irdl.base "#builtin.dense_array"
    %rmu = irdl.base "#builtin.dense_array"
    %rsh = irdl.base "#builtin.dense_array"
    %zp = irdl.base "#builtin.integer"
    %rd = irdl.base "#builtin.string"
    %cl = irdl.base "#builtin.dense_array"
    %relu = irdl.base "#builtin.integer"
    %o2 = irdl.base "!builtin.memref"
    %si = irdl.base "!builtin.memref"
    %sw = irdl.base "!builtin.memref"
    %sb = irdl.base "!builtin.memref"
    %f0 = irdl.is "simple"
    %f1 = irdl.is "mma"
    %f2 = irdl.is "staged"
    %f3 = irdl.is "wgmma"
    %f4 = irdl.is "wgmma_ws"
    %family = irdl.any_of(%f0, %f1, %f2, %f3, %f4)
    irdl.operands(input: %i, weight: %w, bias: optional %b, residual: optional %r, output: %o, second: optional %o2,
      shortcut_input: optional %si, shortcut_weight: optional %sw, shortcut_bias: optional %sb)
    irdl.attributes { "family" = %family, "strategy" = %strategy, "strides" = %strides, "padding" = %padding, "kernel" = %kernel,
      "mma" = %mma, "a_type" = %at, "b_type" = %bt, "widen" = %widen, "block_tile" = %bt_, "warp_tile" = %wt,
      "stages" = %st, "epilogue" = %ep, "multiplier" = %mu, "shift" = %sh, "residual_multiplier" = %rmu,
      "residual_shift" = %rsh, "zero_point" = %zp, "rounding" = %rd, "clamp" = %cl, "relu" = %relu }
  }

  // Tensor-core dense layer with its epilogue; with a `dequantize` attribute (array<f32>, one
  // entry or one per output channel, checked by tcconv-verify) it writes f32(y) * dequantize[c]
  // of the epilogue's i32 value y to an f32 output (qnn.dequantize fused).
  irdl.operation @dense {
    %i = irdl.base "!builtin.memref"
    %w = irdl.base "!builtin.memref"
    %b = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %mma = irdl.base "#builtin.dense_array"
    %at = irdl.base "#builtin.string"
    %bt = irdl.base "#builtin.string"
    %widen = irdl.base "#builtin.integer"
    %bt_ = irdl.base "#builtin.dense_array"
    %wt = irdl.base "#builtin.dense_array"
    %st = irdl.base "#builtin.integer"
    %ep = irdl.base "#builtin.string"
    %mu = irdl.base "#builtin.dense_array"
    %sh = irdl.base "#builtin.dense_array"
    %rmu = irdl.base "#builtin.dense_array"
    %rsh = irdl.base "#builtin.dense_array"
    %zp = irdl.base "#builtin.integer"
    %rd = irdl.base "#builtin.string"
    %cl = irdl.base "#builtin.dense_array"
    %relu = irdl.base "#builtin.integer"
    irdl.operands(input: %i, weight: %w, bias: optional %b, output: %o)
    irdl.attributes { "mma" = %mma, "a_type" = %at, "b_type" = %bt, "widen" = %widen, "block_tile" = %bt_,
      "warp_tile" = %wt, "stages" = %st, "epilogue" = %ep, "multiplier" = %mu, "shift" = %sh,
      "residual_multiplier" = %rmu, "residual_shift" = %rsh, "zero_point" = %zp, "rounding" = %rd,
      "clamp" = %cl, "relu" = %relu }
  }

  // Max or average pooling over a channels-innermost buffer; an optional second output holds
  // the requantize (`second_*` attributes) of the first.
  irdl.operation @pool2d {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %s = irdl.base "!builtin.memref"
    %k0 = irdl.is "max"
    %k1 = irdl.is "avg"
    %k2 = irdl.is "avg_f32"
    %kind = irdl.any_of(%k0, %k1, %k2)
    %kernel = irdl.base "#builtin.dense_array"
    %strides = irdl.base "#builtin.dense_array"
    %padding = irdl.base "#builtin.dense_array"
    irdl.operands(input: %i, output: %o, second: optional %s)
    irdl.attributes { "kind" = %kind, "kernel" = %kernel, "strides" = %strides, "padding" = %padding }
  }

  // Elementwise requantize / residual add / relu / clamp (when not fused into a conv), the exact
  // product of two tensors (mul) and a table of a 4- or 8-bit tensor's values (lookup, `table`).
  irdl.operation @elementwise {
    %i = irdl.base "!builtin.memref"
    %r = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %k0 = irdl.is "requantize"
    %k1 = irdl.is "add"
    %k2 = irdl.is "relu"
    %k3 = irdl.is "clamp"
    %k4 = irdl.is "mul"
    %k5 = irdl.is "lookup"
    %kind = irdl.any_of(%k0, %k1, %k2, %k3, %k4, %k5)
    %mu = irdl.base "#builtin.dense_array"
    %sh = irdl.base "#builtin.dense_array"
    %rmu = irdl.base "#builtin.dense_array"
    %rsh = irdl.base "#builtin.dense_array"
    %zp = irdl.base "#builtin.integer"
    %rd = irdl.base "#builtin.string"
    %cl = irdl.base "#builtin.dense_array"
    irdl.operands(input: %i, rhs: optional %r, output: %o)
    irdl.attributes { "kind" = %kind, "multiplier" = %mu, "shift" = %sh, "rhs_multiplier" = %rmu, "rhs_shift" = %rsh,
      "zero_point" = %zp, "rounding" = %rd, "clamp" = %cl }
  }

  // Copy a tensor between layouts / storages (network edges, flatten).
  irdl.operation @relayout {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    irdl.operands(input: %i, output: %o)
  }

  // Channel concatenation: lhs's channels, then rhs's, into `output` (same N, H, W and element
  // type; each buffer in its own layout and storage).
  irdl.operation @concat {
    %l = irdl.base "!builtin.memref"
    %r = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    irdl.operands(lhs: %l, rhs: %r, output: %o)
  }

  // Copy with `padding` [top, left, bottom, right] added around H x W, the border holding
  // `value` (a conv's padding_value made explicit).
  irdl.operation @pad {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %p = irdl.base "#builtin.dense_array"
    %v = irdl.base "#builtin.integer"
    irdl.operands(input: %i, output: %o)
    irdl.attributes { "padding" = %p, "value" = %v }
  }

  // Integer buffer -> f32: f32(x) * scale[c], `scale` an array<f32> of one entry (per tensor) or
  // one per channel.
  irdl.operation @dequantize {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %f = irdl.base "#builtin.dense_array"
    irdl.operands(input: %i, output: %o)
    irdl.attributes { "scale" = %f }
  }

  // qnn.gather_channels: output channel j is input channel indices[j].
  irdl.operation @gather_channels {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %x = irdl.base "#builtin.dense_array"
    irdl.operands(input: %i, output: %o)
    irdl.attributes { "indices" = %x }
  }

  // qnn.softmax over each row of an N x C buffer (ONNX Runtime's QLinearSoftmax).
  irdl.operation @softmax {
    %i = irdl.base "!builtin.memref"
    %o = irdl.base "!builtin.memref"
    %t = irdl.base "#builtin.dense_array"
    %s = irdl.base "#builtin.float"
    %z = irdl.base "#builtin.integer"
    irdl.operands(input: %i, output: %o)
    irdl.attributes { "table" = %t, "scale" = %s, "zero_point" = %z }
  }
}
