//! Semantic verification of qnn ops beyond what IRDL checks: element types, shapes, strides,
//! padding, per-channel lengths, layouts. One function per op, on MLIR-free types, so the
//! `qnn-verify` pass, the interpreter's callers and the importer share it.

use crate::graph::{ChannelScales, Epilogue, EpilogueKind, Graph, Op, TensorType, ValueId};
use crate::semantics::{f32_significand, ElemType, Layout, Rounding, MAX_GEOM, MAX_SHIFT};

type R = Result<(), String>;

fn fail<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

fn rank(t: &TensorType, r: usize, what: &str) -> R {
    if t.shape.len() != r {
        return fail(format!("{what} must have rank {r}, found {}", t.mlir()));
    }
    if t.shape.iter().any(|&d| d <= 0) {
        return fail(format!("{what} has a non-positive dimension: {}", t.mlir()));
    }
    Ok(())
}

fn int_elem(t: &TensorType, what: &str) -> R {
    if !t.elem.is_int() {
        return fail(format!(
            "{what} must have an integer element type, found {}",
            t.elem
        ));
    }
    Ok(())
}

fn conv_operand(t: &TensorType, what: &str) -> R {
    if !matches!(
        t.elem,
        ElemType::I4 | ElemType::U4 | ElemType::I8 | ElemType::U8
    ) {
        return fail(format!(
            "{what} must be i4, ui4, i8 or ui8, found {}",
            t.elem
        ));
    }
    Ok(())
}

fn layout_rank(l: Layout, t: &TensorType, what: &str) -> R {
    rank(t, l.rank(), what).map_err(|e| format!("{e} (layout {l})"))
}

fn positive(v: &[i64], what: &str) -> R {
    if v.iter().any(|&x| !(1..=MAX_GEOM).contains(&x)) {
        return fail(format!("{what} must be in [1, {MAX_GEOM}], found {v:?}"));
    }
    Ok(())
}

fn non_negative(v: &[i64], what: &str) -> R {
    if v.iter().any(|&x| !(0..=MAX_GEOM).contains(&x)) {
        return fail(format!("{what} must be in [0, {MAX_GEOM}], found {v:?}"));
    }
    Ok(())
}

/// A pool's window over an `in_hw` map: kernel and strides in [1, MAX_GEOM], padding in [0,
/// MAX_GEOM] and smaller than the kernel (no window lies entirely in the padding); the output
/// H x W.
pub fn pool_window(
    in_hw: [i64; 2],
    k: [i64; 2],
    s: [i64; 2],
    p: [i64; 4],
) -> Result<[i64; 2], String> {
    window_geometry(k, s, p)?;
    if p[0] >= k[0] || p[2] >= k[0] || p[1] >= k[1] || p[3] >= k[1] {
        return fail(format!(
            "padding {p:?} must be smaller than the kernel {k:?}"
        ));
    }
    window_out(in_hw, k, s, p)
}

/// A conv's window over an `in_hw` map: kernel and strides in [1, MAX_GEOM], padding in [0,
/// MAX_GEOM]; the output H x W.
pub fn conv_window(
    in_hw: [i64; 2],
    k: [i64; 2],
    s: [i64; 2],
    p: [i64; 4],
) -> Result<[i64; 2], String> {
    window_geometry(k, s, p)?;
    window_out(in_hw, k, s, p)
}

/// A window's kernel and strides in [1, MAX_GEOM], its padding in [0, MAX_GEOM].
fn window_geometry(k: [i64; 2], s: [i64; 2], p: [i64; 4]) -> R {
    positive(&k, "kernel")?;
    positive(&s, "strides")?;
    non_negative(&p, "padding")
}

fn window_out(in_hw: [i64; 2], k: [i64; 2], s: [i64; 2], p: [i64; 4]) -> Result<[i64; 2], String> {
    let oh = (in_hw[0] + p[0] + p[2] - k[0]).div_euclid(s[0]) + 1;
    let ow = (in_hw[1] + p[1] + p[3] - k[1]).div_euclid(s[1]) + 1;
    if oh <= 0 || ow <= 0 {
        return fail(format!(
            "window {k:?} does not fit the padded input {in_hw:?}"
        ));
    }
    Ok([oh, ow])
}

fn scales(s: &ChannelScales, channels: i64, mode: Rounding, what: &str) -> R {
    if s.multiplier.len() != s.shift.len() {
        return fail(format!(
            "{what} multiplier has {} entries but shift has {}",
            s.multiplier.len(),
            s.shift.len()
        ));
    }
    if s.len() != 1 && s.len() as i64 != channels {
        return fail(format!(
            "{what} has {} per-channel entries, expected 1 or {channels} (channels)",
            s.len()
        ));
    }
    if let Some(m) = s.multiplier.iter().find(|&&m| m < 0) {
        return fail(format!("{what} multiplier {m} is negative"));
    }
    if let Some(c) = s.shift.iter().find(|&&c| !(0..=MAX_SHIFT).contains(&c)) {
        return fail(format!("{what} shift {c} is outside [0, {MAX_SHIFT}]"));
    }
    f32_significand(&s.multiplier, mode, what)
}

/// `f32_fma` rounds a float sum: only `qnn.add` and `qnn.requantize` (with its `offset`) have
/// one.
fn not_fma(r: Rounding) -> R {
    if r == Rounding::F32Fma {
        return fail("rounding \"f32_fma\" is only defined for qnn.add and qnn.requantize");
    }
    Ok(())
}

/// A requantize's `offset`: one finite f32 or one per channel under `f32_fma`, none otherwise
/// (`qnn.requantize`, and the elementwise requantize of tcconv).
pub fn requantize_offset(offset: &[f32], rounding: Rounding, channels: i64) -> R {
    if rounding != Rounding::F32Fma {
        if !offset.is_empty() {
            return fail("offset is only defined under rounding \"f32_fma\"");
        }
        return Ok(());
    }
    if offset.len() != 1 && offset.len() as i64 != channels {
        return fail(format!(
            "offset has {} entries, expected 1 or {channels} (channels) under rounding \"f32_fma\"",
            offset.len()
        ));
    }
    if let Some(o) = offset.iter().find(|o| !o.is_finite()) {
        return fail(format!("offset {o} is not finite"));
    }
    Ok(())
}

/// What padded taps read must be a value of the input type.
fn padding_value_in(v: i64, input: &TensorType) -> R {
    let (lo, hi) = input.elem.range();
    if !(lo..=hi).contains(&v) {
        return fail(format!(
            "padding_value {v} is outside the input type {} [{lo}, {hi}]",
            input.elem
        ));
    }
    Ok(())
}

/// A requantize's zero point (attribute `name`) fits i32.
/// The f32 parameters of `qnn.avg_pool2d_f32` for `input` / `result` element types: scales
/// positive and finite, each zero point a value of its type, and every quantized average
/// inside i32 (ONNX Runtime converts it to i32 before clamping).
pub fn avg_pool_f32(p: &crate::semantics::AvgPoolF32, input: ElemType, result: ElemType) -> R {
    if input.bits() > 16 {
        return fail(format!(
            "avg_pool2d_f32 input must have at most 16 bits, found {input}"
        ));
    }
    for (name, v) in [
        ("input_scale", p.input_scale),
        ("output_scale", p.output_scale),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return fail(format!("{name} {v} must be positive and finite"));
        }
    }
    for (name, zp, t) in [
        ("input_zero_point", p.input_zero_point, input),
        ("output_zero_point", p.output_zero_point, result),
    ] {
        let (lo, hi) = t.range();
        if zp < lo || zp > hi {
            return fail(format!("{name} {zp} is not a value of {t} [{lo}, {hi}]"));
        }
    }
    let reach = p.reach(input.range());
    if reach >= (1u64 << 30) as f64 {
        return fail(format!(
            "input_scale / output_scale = {} reaches {reach:.3e} steps, beyond i32",
            p.input_scale / p.output_scale
        ));
    }
    Ok(())
}

/// `qnn.softmax`'s table (256 finite entries, none negative, the last positive: every row's
/// sum is then positive), scale (finite, in [0, 2^30]: each quotient is at most the scale; its
/// product with every entry finite) and zero point (a value of the result type).
pub fn softmax_params(table: &[f32], scale: f32, zero_point: i64, result: ElemType) -> R {
    if table.len() != 256 {
        return fail(format!(
            "softmax table has {} entries, 256 expected",
            table.len()
        ));
    }
    if let Some(v) = table.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return fail(format!(
            "softmax table entry {v} is not a finite non-negative number"
        ));
    }
    if table[255] <= 0.0 {
        return fail("softmax table entry 255 (a row's largest value) must be positive");
    }
    if !(scale.is_finite() && (0.0..=(1u32 << 30) as f32).contains(&scale)) {
        return fail(format!("softmax scale {scale} must be in [0, 2^30]"));
    }
    // ONNX Runtime's product of an entry and the scale overflows f32 beyond this
    let top = table.iter().copied().fold(0f32, f32::max);
    if !(top * scale).is_finite() {
        return fail(format!(
            "softmax table entry {top:e} times the scale ({scale}) overflows f32"
        ));
    }
    let (lo, hi) = result.range();
    if zero_point < lo || zero_point > hi {
        return fail(format!(
            "zero_point {zero_point} is not a value of {result} [{lo}, {hi}]"
        ));
    }
    Ok(())
}

pub fn zero_point_in(zp: i64, name: &str) -> R {
    if zp < i32::MIN as i64 || zp > i32::MAX as i64 {
        return fail(format!("{name} {zp} does not fit i32"));
    }
    Ok(())
}

fn clamp_in(clamp: [i64; 2], t: ElemType) -> R {
    let (lo, hi) = t.range();
    if clamp[0] > clamp[1] {
        return fail(format!("clamp [{}, {}] is empty", clamp[0], clamp[1]));
    }
    if clamp[0] < lo || clamp[1] > hi {
        return fail(format!(
            "clamp [{}, {}] exceeds the {t} range [{lo}, {hi}]",
            clamp[0], clamp[1]
        ));
    }
    Ok(())
}

fn same_shape(a: &TensorType, b: &TensorType, what: &str) -> R {
    if a.shape != b.shape {
        return fail(format!(
            "{what}: shape {:?} does not match {:?}",
            b.shape, a.shape
        ));
    }
    Ok(())
}

fn bias(b: &TensorType, o: i64) -> R {
    if b.shape != vec![o] || b.elem != ElemType::I32 {
        return fail(format!("bias must be tensor<{o}xi32>, found {}", b.mlir()));
    }
    Ok(())
}

/// Shapes of a conv: returns the number of output channels.
#[allow(clippy::too_many_arguments)]
fn conv_shapes(
    x: &TensorType,
    w: &TensorType,
    result: &TensorType,
    strides: [i64; 2],
    padding: [i64; 4],
    layout: Layout,
    kernel_layout: crate::semantics::KernelLayout,
    groups: i64,
) -> Result<i64, String> {
    if layout == Layout::NC {
        return fail("conv2d needs a 4-D layout");
    }
    rank(x, 4, "input")?;
    rank(w, 4, "weight")?;
    conv_operand(x, "input")?;
    conv_operand(w, "weight")?;
    positive(&strides, "strides")?;
    non_negative(&padding, "padding")?;
    let [n, c, h, wd] = layout.nchw(&x.shape);
    let [o, i, kh, kw] = kernel_layout.oihw(&w.shape);
    if groups < 1 || c % groups != 0 || o % groups != 0 {
        return fail(format!(
            "groups {groups} must be positive and divide the input channels {c} and the output channels {o}"
        ));
    }
    if i * groups != c {
        let per = if groups == 1 {
            String::new()
        } else {
            format!(" per group ({groups} groups)")
        };
        return fail(format!(
            "weight has {i} input channels ({kernel_layout}) but the input has {}{per} ({layout})",
            c / groups
        ));
    }
    let [oh, ow] = window_out([h, wd], [kh, kw], strides, padding)?;
    let want = layout.shape([n, o, oh, ow]);
    if result.shape != want {
        return fail(format!(
            "result shape {:?} does not match the computed {:?} (n={n}, out channels={o}, {oh}x{ow}, layout {layout})",
            result.shape, want
        ));
    }
    Ok(o)
}

/// Check one op against its operand and result types.
pub fn verify_op(op: &Op, operands: &[&TensorType], result: &TensorType) -> R {
    for t in operands.iter().copied().chain([result]) {
        crate::semantics::checked_elements(&t.shape)?;
    }
    let arity = |n: std::ops::RangeInclusive<usize>| -> R {
        if !n.contains(&operands.len()) {
            return fail(format!("expects {n:?} operands, found {}", operands.len()));
        }
        Ok(())
    };
    match op {
        Op::Weight { name } => {
            arity(0..=0)?;
            if name.is_empty() {
                return fail("weight name must not be empty");
            }
            int_elem(result, "weight").or_else(|_| {
                if result.elem == ElemType::F32 {
                    Ok(())
                } else {
                    fail("bad weight type")
                }
            })?;
            if result.shape.iter().any(|&d| d <= 0) {
                return fail(format!(
                    "weight has a non-positive dimension: {}",
                    result.mlir()
                ));
            }
        }
        Op::Quantize {
            scale,
            layout,
            zero_point,
            pre,
            ..
        } => {
            arity(1..=1)?;
            if operands[0].elem != ElemType::F32 {
                return fail(format!("input must be f32, found {}", operands[0].elem));
            }
            int_elem(result, "result")?;
            let (lo, hi) = result.elem.range();
            if !(lo..=hi).contains(zero_point) {
                return fail(format!(
                    "zero_point {zero_point} is outside the result type {} [{lo}, {hi}]",
                    result.elem
                ));
            }
            if !(scale.is_finite() && *scale > 0.0) {
                return fail(format!("scale must be positive and finite, found {scale}"));
            }
            layout_rank(*layout, operands[0], "input")?;
            same_shape(operands[0], result, "result")?;
            let channels = layout.nchw(&operands[0].shape)[1];
            if let Err(e) = crate::semantics::float_steps_fit(pre, channels) {
                return fail(e);
            }
        }
        Op::Conv2d {
            strides,
            padding,
            layout,
            kernel_layout,
            padding_value,
            groups,
        } => {
            arity(2..=3)?;
            padding_value_in(*padding_value, operands[0])?;
            if result.elem != ElemType::I32 {
                return fail(format!("result must be i32, found {}", result.elem));
            }
            let o = conv_shapes(
                operands[0],
                operands[1],
                result,
                *strides,
                *padding,
                *layout,
                *kernel_layout,
                *groups,
            )?;
            if let Some(b) = operands.get(2) {
                bias(b, o)?;
            }
        }
        Op::Conv2dFused {
            strides,
            padding,
            layout,
            kernel_layout,
            epilogue,
            padding_value,
            groups,
        } => {
            arity(2..=4)?;
            padding_value_in(*padding_value, operands[0])?;
            int_elem(result, "result")?;
            let o = conv_shapes(
                operands[0],
                operands[1],
                result,
                *strides,
                *padding,
                *layout,
                *kernel_layout,
                *groups,
            )?;
            let residual = matches!(epilogue.kind, EpilogueKind::Residual { .. });
            if residual && operands.len() < 3 {
                return fail("a residual epilogue needs a residual operand");
            }
            let nbias = operands.len() - 2 - residual as usize;
            if nbias > 1 {
                return fail(format!("expects at most one bias operand, found {nbias}"));
            }
            if nbias == 1 {
                bias(operands[2], o)?;
            }
            if residual {
                let r = operands[operands.len() - 1];
                int_elem(r, "residual")?;
                same_shape(result, r, "residual")?;
            }
            match &epilogue.kind {
                EpilogueKind::None => {}
                EpilogueKind::Requantize {
                    scales: s,
                    zero_point,
                } => {
                    not_fma(epilogue.rounding)?;
                    scales(s, o, epilogue.rounding, "epilogue")?;
                    zero_point_in(*zero_point, "zero_point")?;
                }
                EpilogueKind::Residual {
                    scales: s,
                    residual,
                } => {
                    not_fma(epilogue.rounding)?;
                    scales(s, o, epilogue.rounding, "epilogue")?;
                    scales(residual, o, epilogue.rounding, "residual")?;
                }
            }
            match &epilogue.then {
                // the epilogue's value is an i32 that the `then` requantize takes
                Some(t) => {
                    if epilogue.second.is_some() {
                        return fail("has both then_* and second_* epilogue attributes");
                    }
                    clamp_in(epilogue.clamp, ElemType::I32)?;
                    not_fma(t.rounding)?;
                    scales(&t.scales, o, t.rounding, "then")?;
                    zero_point_in(t.zero_point, "then_zero_point")?;
                    clamp_in(t.clamp, result.elem).map_err(|m| format!("then_{m}"))?;
                }
                None => clamp_in(epilogue.clamp, result.elem)?,
            }
            if let Some(sec) = &epilogue.second {
                not_fma(sec.rounding)?;
                scales(&sec.scales, o, sec.rounding, "second")?;
                zero_point_in(sec.zero_point, "second_zero_point")?;
            }
        }
        Op::SecondResult => {
            arity(1..=1)?;
            int_elem(result, "second result")?;
            same_shape(result, operands[0], "second result")?;
        }
        Op::Dense => {
            arity(2..=3)?;
            let (x, w) = (operands[0], operands[1]);
            rank(x, 2, "input")?;
            rank(w, 2, "weight")?;
            conv_operand(x, "input")?;
            conv_operand(w, "weight")?;
            if x.shape[1] != w.shape[1] {
                return fail(format!(
                    "input has {} features but the weight expects {}",
                    x.shape[1], w.shape[1]
                ));
            }
            if result.shape != vec![x.shape[0], w.shape[0]] || result.elem != ElemType::I32 {
                return fail(format!(
                    "result must be tensor<{}x{}xi32>, found {}",
                    x.shape[0],
                    w.shape[0],
                    result.mlir()
                ));
            }
            if let Some(b) = operands.get(2) {
                if b.shape != vec![w.shape[0]] || b.elem != ElemType::I32 {
                    return fail(format!(
                        "bias must be tensor<{}xi32>, found {}",
                        w.shape[0],
                        b.mlir()
                    ));
                }
            }
        }
        Op::Requantize {
            scales: s,
            clamp,
            layout,
            zero_point,
            rounding,
            offset,
        } => {
            arity(1..=1)?;
            int_elem(operands[0], "input")?;
            int_elem(result, "result")?;
            layout_rank(*layout, operands[0], "input")?;
            same_shape(operands[0], result, "result")?;
            let c = operands[0].shape[layout.channel_axis()];
            requantize_offset(offset, *rounding, c)?;
            scales(s, c, *rounding, "requantize")?;
            clamp_in(*clamp, result.elem)?;
            zero_point_in(*zero_point, "zero_point")?;
        }
        Op::Add {
            lhs,
            rhs,
            clamp,
            layout,
            rounding,
            bias,
        } => {
            arity(2..=2)?;
            if !bias.is_finite() {
                return fail(format!("bias {bias} is not finite"));
            }
            if *bias != 0.0 && *rounding != Rounding::F32Fma {
                return fail("bias is only defined under rounding \"f32_fma\"");
            }
            int_elem(operands[0], "lhs")?;
            int_elem(operands[1], "rhs")?;
            int_elem(result, "result")?;
            layout_rank(*layout, operands[0], "lhs")?;
            same_shape(operands[0], operands[1], "rhs")?;
            same_shape(operands[0], result, "result")?;
            let c = operands[0].shape[layout.channel_axis()];
            scales(lhs, c, *rounding, "lhs")?;
            scales(rhs, c, *rounding, "rhs")?;
            clamp_in(*clamp, result.elem)?;
        }
        Op::Mul { layout } => {
            arity(2..=2)?;
            for (i, t) in operands.iter().enumerate() {
                int_elem(t, &format!("operand {i}"))?;
                if t.elem.bits() > 16 {
                    return fail(format!(
                        "operand {i} must have at most 16 bits (its products fit i32), found {}",
                        t.elem
                    ));
                }
                layout_rank(*layout, t, &format!("operand {i}"))?;
            }
            let [n, c, ..] = layout.nchw(&operands[0].shape);
            let broadcast = layout.shape([n, c, 1, 1]);
            if operands[1].shape != operands[0].shape && operands[1].shape != broadcast {
                return fail(format!(
                    "rhs must have lhs's shape {:?} or N x C x 1 x 1 {broadcast:?}, found {:?}",
                    operands[0].shape, operands[1].shape
                ));
            }
            let want = TensorType::new(operands[0].shape.clone(), ElemType::I32);
            if *result != want {
                return fail(format!(
                    "result must be {}, found {}",
                    want.mlir(),
                    result.mlir()
                ));
            }
        }
        Op::Lookup { table, layout } => {
            arity(1..=1)?;
            int_elem(operands[0], "input")?;
            layout_rank(*layout, operands[0], "input")?;
            let bits = operands[0].elem.bits();
            if bits > 8 {
                return fail(format!(
                    "input must have at most 8 bits, found {}",
                    operands[0].elem
                ));
            }
            let c = operands[0].shape[layout.channel_axis()] as usize;
            if crate::semantics::lookup_tables(table.len(), operands[0].elem, c).is_none() {
                return fail(format!(
                    "table must have {} entries (one per {} value) or {} (one table per channel), found {}",
                    1 << bits,
                    operands[0].elem,
                    c << bits,
                    table.len()
                ));
            }
            int_elem(result, "result")?;
            let (lo, hi) = result.elem.range();
            if let Some(v) = table.iter().find(|&&v| !(lo..=hi).contains(&(v as i64))) {
                return fail(format!(
                    "table entry {v} is outside the result type {} [{lo}, {hi}]",
                    result.elem
                ));
            }
            same_shape(operands[0], result, "result")?;
        }
        Op::Relu { layout } | Op::Clamp { layout, .. } => {
            arity(1..=1)?;
            int_elem(operands[0], "input")?;
            layout_rank(*layout, operands[0], "input")?;
            if result != operands[0] {
                return fail(format!(
                    "result type {} must equal the input type {}",
                    result.mlir(),
                    operands[0].mlir()
                ));
            }
            if let Op::Clamp { min, max, .. } = op {
                if min > max {
                    return fail(format!("clamp min {min} is greater than max {max}"));
                }
            }
        }
        Op::MaxPool2d {
            kernel,
            strides,
            padding,
            layout,
        }
        | Op::AvgPool2d {
            kernel,
            strides,
            padding,
            layout,
            ..
        }
        | Op::AvgPool2dF32 {
            kernel,
            strides,
            padding,
            layout,
            ..
        } => {
            arity(1..=1)?;
            if *layout == Layout::NC {
                return fail("pooling needs a 4-D layout");
            }
            rank(operands[0], 4, "input")?;
            int_elem(operands[0], "input")?;
            int_elem(result, "result")?;
            positive(kernel, "kernel")?;
            positive(strides, "strides")?;
            non_negative(padding, "padding")?;
            if padding[0] >= kernel[0]
                || padding[2] >= kernel[0]
                || padding[1] >= kernel[1]
                || padding[3] >= kernel[1]
            {
                return fail(format!(
                    "padding {padding:?} must be smaller than the kernel {kernel:?}"
                ));
            }
            let [n, c, h, w] = layout.nchw(&operands[0].shape);
            let [oh, ow] = window_out([h, w], *kernel, *strides, *padding)?;
            let want = layout.shape([n, c, oh, ow]);
            if result.shape != want {
                return fail(format!(
                    "result shape {:?} does not match the computed {:?}",
                    result.shape, want
                ));
            }
            if matches!(op, Op::MaxPool2d { .. }) && result.elem != operands[0].elem {
                return fail(format!(
                    "max_pool2d keeps the element type: {} in, {} out",
                    operands[0].elem, result.elem
                ));
            }
            if let Some(p) = op.avg_pool_f32() {
                avg_pool_f32(&p, operands[0].elem, result.elem)?;
            }
            if let Op::AvgPool2d { divisor, .. } = op {
                let taps = kernel[0] as i128 * kernel[1] as i128;
                let d = divisor.map(|d| d as i128).unwrap_or(taps);
                if !(1..=MAX_GEOM as i128).contains(&d) {
                    return fail(format!("divisor {d} must be in [1, {MAX_GEOM}]"));
                }
                // every floor(sum / d) of up to kh*kw input values
                let (ilo, ihi) = operands[0].elem.range();
                let (olo, ohi) = result.elem.range();
                let (lo, hi) = (
                    (ilo as i128 * taps).div_euclid(d).min(0),
                    (ihi as i128 * taps).div_euclid(d).max(0),
                );
                if lo < olo as i128 || hi > ohi as i128 {
                    return fail(format!(
                        "avg_pool2d result {} cannot hold every average of {} (range [{lo}, {hi}])",
                        result.elem, operands[0].elem
                    ));
                }
            }
        }
        Op::GatherChannels { indices, layout } => {
            arity(1..=1)?;
            layout_rank(*layout, operands[0], "input")?;
            int_elem(operands[0], "input")?;
            let ca = layout.channel_axis();
            let c = operands[0].shape[ca];
            if indices.is_empty() {
                return fail("gather_channels takes at least one channel");
            }
            if let Some(i) = indices.iter().find(|&&i| i < 0 || i as i64 >= c) {
                return fail(format!(
                    "channel index {i} is outside the input's {c} channels"
                ));
            }
            let mut want = operands[0].shape.clone();
            want[ca] = indices.len() as i64;
            if result.shape != want || result.elem != operands[0].elem {
                return fail(format!(
                    "result must be {} (the input's type with {} channels), found {}",
                    TensorType::new(want, operands[0].elem).mlir(),
                    indices.len(),
                    result.mlir()
                ));
            }
        }
        Op::Softmax {
            table,
            scale,
            zero_point,
            layout,
        } => {
            arity(1..=1)?;
            if *layout != Layout::NC {
                return fail("softmax works on N x C tensors (layout NC)");
            }
            rank(operands[0], 2, "input")?;
            int_elem(operands[0], "input")?;
            if operands[0].elem.bits() > 8 {
                return fail(format!(
                    "softmax input must have at most 8 bits, found {}",
                    operands[0].elem
                ));
            }
            if result.shape != operands[0].shape
                || !matches!(result.elem, ElemType::U8 | ElemType::I8)
            {
                return fail(format!(
                    "result must be ui8 or i8 of the input's shape, found {}",
                    result.mlir()
                ));
            }
            softmax_params(table, *scale, *zero_point, result.elem)?;
        }
        Op::Flatten { layout } => {
            arity(1..=1)?;
            layout_rank(*layout, operands[0], "input")?;
            let [n, c, h, w] = layout.nchw(&operands[0].shape);
            if h != 1 || w != 1 {
                return fail(format!("flatten needs a 1x1 spatial input, found {h}x{w}"));
            }
            if result.shape != vec![n, c] || result.elem != operands[0].elem {
                return fail(format!(
                    "result must be tensor<{n}x{c}x{}>, found {}",
                    operands[0].elem,
                    result.mlir()
                ));
            }
        }
        Op::Concat { layout } => {
            arity(2..=2)?;
            if *layout == Layout::NC {
                return fail("layout must be a 4-D layout (NCHW, NHWC or HWNC)");
            }
            let elem = operands[0].elem;
            int_elem(operands[0], "operand 0")?;
            let [n, _, h, w] = {
                layout_rank(*layout, operands[0], "operand 0")?;
                layout.nchw(&operands[0].shape)
            };
            let mut channels = 0i64;
            for (i, t) in operands.iter().enumerate() {
                layout_rank(*layout, t, &format!("operand {i}"))?;
                let [tn, tc, th, tw] = layout.nchw(&t.shape);
                if t.elem != elem || (tn, th, tw) != (n, h, w) {
                    return fail(format!(
                        "operand {i} must have the element type and N, H, W of operand 0 ({elem}, {n}, {h}, {w}), found {}",
                        t.mlir()
                    ));
                }
                channels += tc;
            }
            let want = TensorType::new(layout.shape([n, channels, h, w]), elem);
            if *result != want {
                return fail(format!(
                    "result must be {} (the operands' channels summed), found {}",
                    want.mlir(),
                    result.mlir()
                ));
            }
        }
        Op::Dequantize { scales: sc, layout } => {
            arity(1..=1)?;
            int_elem(operands[0], "input")?;
            if result.elem != ElemType::F32 {
                return fail(format!("result must be f32, found {}", result.elem));
            }
            layout_rank(*layout, operands[0], "input")?;
            same_shape(operands[0], result, "result")?;
            let c = operands[0].shape[layout.channel_axis()];
            if sc.len() != 1 && sc.len() as i64 != c {
                return fail(format!(
                    "dequantize has {} scales, expected 1 or {c} (channels)",
                    sc.len()
                ));
            }
            if let Some(x) = sc.iter().find(|x| !x.is_finite()) {
                return fail(format!("scale must be finite, found {x}"));
            }
        }
        Op::LayoutTransform { src, dst } => {
            arity(1..=1)?;
            rank(operands[0], 4, "input")?;
            if *src == Layout::NC || *dst == Layout::NC {
                return fail("layout_transform works on 4-D layouts");
            }
            let want = dst.shape(src.nchw(&operands[0].shape));
            if result.shape != want || result.elem != operands[0].elem {
                return fail(format!(
                    "result must be {} ({src} -> {dst}), found {}",
                    TensorType::new(want, operands[0].elem).mlir(),
                    result.mlir()
                ));
            }
        }
    }
    Ok(())
}

/// The second result of a conv2d_fused (`second`) against its epilogue and first result.
pub fn verify_second(e: &Epilogue, first: &TensorType, second: &TensorType) -> R {
    let Some(sec) = &e.second else {
        return fail("has a second result but no second_* epilogue attributes");
    };
    int_elem(second, "second result")?;
    same_shape(second, first, "second result")?;
    clamp_in(sec.clamp, second.elem).map_err(|m| format!("second_{m}"))
}

/// Verify every node of a graph; errors carry the node's location.
pub fn verify_graph(g: &Graph) -> Result<(), Vec<String>> {
    let mut errs = vec![];
    for (i, a) in g.args.iter().enumerate() {
        if let Err(e) = crate::semantics::checked_elements(&a.shape) {
            errs.push(format!("error: argument {i}: {e}"));
        }
    }
    if let Some(&r) = g
        .results
        .iter()
        .find(|&&r| r >= g.args.len() + g.nodes.len())
    {
        errs.push(format!("error: result %{r} is not a value of the function"));
        // (what follows looks results and operands up)
        return Err(errs);
    }
    let undefined = g
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let bad = n.operands.iter().find(|&&v| v >= g.args.len() + i)?;
            Some(format!(
                "{}: error: operand %{bad} is used before it is defined",
                n.loc
            ))
        })
        .collect::<Vec<_>>();
    if !undefined.is_empty() {
        errs.extend(undefined);
        return Err(errs);
    }
    let seconds = g.second_results();
    for (i, n) in g.nodes.iter().enumerate() {
        if let Op::Conv2dFused { epilogue, .. } = &n.op {
            if epilogue.second.is_some() && !seconds.contains_key(&(g.args.len() + i)) {
                errs.push(format!(
                    "{}: error: 'qnn.conv2d_fused' has second_* attributes but no second result",
                    n.loc
                ));
            }
        }
        if let Some(&bad) = n.operands.iter().find(|&&v| v >= g.args.len() + i) {
            errs.push(format!(
                "{}: error: operand %{bad} is used before it is defined",
                n.loc
            ));
            continue;
        }
        // a qnn.weight is a constant operand of a conv or dense, never an activation
        if let Some(k) = n.operands.iter().enumerate().position(|(k, &v)| {
            matches!(g.node_of(v).map(|p| &p.op), Some(Op::Weight { .. }))
                && !weight_operand(&n.op, n.operands.len(), k)
        }) {
            errs.push(format!(
                "{}: error: 'qnn.{}' operand {k} is a qnn.weight, which only conv and dense weights and biases may be",
                n.loc,
                n.op.mnemonic()
            ));
            continue;
        }
        let tys: Vec<&TensorType> = n.operands.iter().map(|&v| g.value_type(v)).collect();
        let second = |v: ValueId| match g.node_of(v).map(|p| &p.op) {
            Some(Op::Conv2dFused { epilogue, .. }) => {
                verify_second(epilogue, g.value_type(v), &n.result)
            }
            _ => fail("projects a value that is not a qnn.conv2d_fused"),
        };
        let r = verify_op(&n.op, &tys, &n.result).and_then(|()| match n.op {
            Op::SecondResult => second(n.operands[0]),
            _ => Ok(()),
        });
        if let Err(e) = r {
            let loc = if n.loc.is_empty() {
                format!("qnn.{} #{i}", n.op.mnemonic())
            } else {
                n.loc.clone()
            };
            errs.push(format!("{loc}: error: 'qnn.{}' {e}", n.op.mnemonic()));
        }
    }
    if errs.is_empty() {
        errs.extend(layouts_agree(g));
    }
    for &r in &g.results {
        if let Some(n) = g.node_of(r).filter(|n| matches!(n.op, Op::Weight { .. })) {
            errs.push(format!(
                "{}: error: a qnn.weight is returned; results must be computed values",
                n.loc
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// The layout an op stores its results in (None: a weight, which has none; a second result is
/// stored as its conv's first).
pub fn stored_layout(op: &Op) -> Option<Layout> {
    match op {
        Op::Weight { .. } | Op::SecondResult => None,
        Op::LayoutTransform { dst, .. } => Some(*dst),
        Op::Flatten { .. } | Op::Dense => Some(Layout::NC),
        _ => op.layout(),
    }
}

fn produced_layout(g: &Graph, op: &Op, operands: &[ValueId]) -> Option<Layout> {
    match op {
        Op::SecondResult => g.node_of(operands[0]).and_then(|p| stored_layout(&p.op)),
        _ => stored_layout(op),
    }
}

/// The layout in which `op` reads its activation operand `k` of `n` (None: a weight slot or the
/// projected conv of a second result).
pub fn read_layout(op: &Op, n: usize, k: usize) -> Option<Layout> {
    if weight_operand(op, n, k) {
        return None;
    }
    match op {
        Op::SecondResult => None,
        Op::Dense => Some(Layout::NC),
        _ => op.layout(),
    }
}

/// Every value is read in the layout it is stored in: an op's layout attribute says how its
/// operands are stored, so a value produced in another layout needs a `qnn.layout_transform`
/// (the kernels would read it with the wrong strides), and a function argument is read in one
/// layout by all its users.
fn layouts_agree(g: &Graph) -> Vec<String> {
    let nargs = g.args.len();
    let mut errs = vec![];
    // each argument's layout: its first reader's
    let mut arg_layout: Vec<Option<(Layout, usize)>> = vec![None; nargs];
    for (i, n) in g.nodes.iter().enumerate() {
        for (k, &v) in n.operands.iter().enumerate() {
            let Some(want) = read_layout(&n.op, n.operands.len(), k) else {
                continue;
            };
            let have = if v < nargs {
                match arg_layout[v] {
                    None => {
                        arg_layout[v] = Some((want, i));
                        continue;
                    }
                    Some((l, _)) => l,
                }
            } else {
                let p = &g.nodes[v - nargs];
                match produced_layout(g, &p.op, &p.operands) {
                    Some(l) => l,
                    None => continue,
                }
            };
            if have != want {
                let why = if v < nargs {
                    let first = &g.nodes[arg_layout[v].unwrap().1];
                    format!(
                        "'qnn.{}' at {} reads that argument in layout {have} (an argument has one layout)",
                        first.op.mnemonic(),
                        first.loc
                    )
                } else {
                    let p = &g.nodes[v - nargs];
                    format!(
                        "'qnn.{}' at {} stores it in layout {have}: a qnn.layout_transform must come between",
                        p.op.mnemonic(),
                        p.loc
                    )
                };
                let loc = if n.loc.is_empty() {
                    format!("qnn.{} #{i}", n.op.mnemonic())
                } else {
                    n.loc.clone()
                };
                errs.push(format!(
                    "{loc}: error: 'qnn.{}' reads operand {k} in layout {want}, but {why}",
                    n.op.mnemonic()
                ));
            }
        }
    }
    errs
}

/// Whether operand `k` of `op` (with `n` operands) is a weight or bias slot.
pub fn weight_operand(op: &Op, n: usize, k: usize) -> bool {
    match op {
        Op::Conv2d { .. } | Op::Dense => k == 1 || k == 2,
        Op::Conv2dFused { epilogue, .. } => {
            let residual = matches!(epilogue.kind, crate::graph::EpilogueKind::Residual { .. });
            k == 1 || (k == 2 && n - residual as usize == 3)
        }
        _ => false,
    }
}
