//! The bit-exact CPU reference interpreter for qnn (the definition every other stage is checked against).
//!
//! Every op is evaluated on host tensors ([`Tensor`], integers unpacked as i32) exactly as
//! `semantics.rs` and the doc comments of [`Op`] define it; all rounding,
//! requantize, quantize/dequantize and floor division go through [`crate::semantics`].
//!
//! Per-op definitions (N, C, H, W are logical axes; `layout` says where they are physically):
//! - `weight`: the bound tensor of that name (shape and value range checked against the IR type).
//! - `quantize`: `quantize_f32(x, scale, lo, hi)` with the result type's range.
//! - `conv2d`: groups = 1, dilation 1, zero padding `[top, left, bottom, right]`, strides
//!   `[sh, sw]`, optional i32 bias per output channel; exact integer sum, then an error (never
//!   a wrap) when the result does not fit i32. Output i32 in `layout`.
//! - `dense`: `(N x K) . (O x K)^T + bias`, same exactness rule as conv2d.
//! - `requantize`: per channel `requantize(x, scales[c], rounding, zp, lo, hi)`, then also
//!   saturated to the result element type's range.
//! - `add`: `clamp(lhs_s[c].apply(a) + rhs_s[c].apply(b), lo, hi)` (each branch rounded
//!   separately, the sum exact), then also saturated to the result element type's range.
//! - `relu`, `clamp`: elementwise.
//! - `max_pool2d`: max over the in-bounds taps of each window (padding never wins).
//! - `avg_pool2d`: `floor_div(sum of in-bounds taps, kh * kw)` (padding counts as zero).
//! - `flatten`: N x C x 1 x 1 in any 4-D layout -> N x C.
//! - `dequantize`: `dequantize_f32(x, scale)`.
//! - `layout_transform`: physical transpose from `src` to `dst` layout.
//!
//! Ops that do not saturate by definition (weight, relu, clamp, pools, flatten,
//! layout_transform) report an error if a value does not fit the result element type.
//! Malformed graphs or inputs (wrong operand counts, shapes, element kinds, attributes) are
//! `Err(String)` messages naming the op; the interpreter never panics on user data.
//!
//! Speed: conv2d and dense re-lay the operands out as NHWC / O x (KH*KW*C) i16 and run a
//! dot product per output pixel over contiguous memory with an i32 accumulator whenever the
//! bound `K * max|x| * max|w| <= i32::MAX` proves it exact; otherwise they fall back to i128.
//! Rows of the output are spread over rayon's thread pool.

use crate::graph::{ChannelScales, Epilogue, EpilogueKind, Graph, Node, Op, TensorType};
use crate::semantics::{
    add_f32_fma, dequantize_f32, float_steps, floor_div, quantize_f32, requantize,
    requantize_f32_fma, AvgPoolF32, Dyadic, ElemType, KernelLayout, Layout, Rounding, MAX_GEOM,
    MAX_SHIFT,
};
use crate::tensor::{Data, Tensor};
use crate::weights::Weights;
use crate::window::{dot1, dot4, fast_path_ok, min_max, out_extent, GroupedWindow, Window};
use rayon::prelude::*;

type Res<T> = Result<T, String>;

/// Run `g` on `inputs` (one per function argument) and return the function's results.
/// `w` must hold every weight the graph names (see `Weights::bind`).
pub fn run(g: &Graph, w: &Weights, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let all = run_all(g, w, inputs)?;
    // run_all checked that every result names a value.
    Ok(g.results.iter().map(|&v| all[v].clone()).collect())
}

/// Bytes the reference holds for `g`'s values once it has run (it keeps every value: 4 bytes an
/// element), saturating; callers compare it with the memory they have before running.
pub fn bytes_held(g: &Graph) -> u64 {
    g.args
        .iter()
        .chain(g.nodes.iter().map(|n| &n.result))
        .map(|t| {
            t.shape
                .iter()
                .try_fold(4u64, |a, &d| a.checked_mul(d.max(0) as u64))
                .unwrap_or(u64::MAX)
        })
        .fold(0u64, |a, b| a.saturating_add(b))
}

/// The multiply-adds of `g`'s convs and dense layers: per output element, the weight elements
/// of its output channel (C / groups x KH x KW, or the dense layer's K).
pub fn macs(g: &Graph) -> u128 {
    let numel = |shape: &[i64]| -> u128 { shape.iter().map(|&d| d.max(0) as u128).product() };
    g.nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d { .. } | Op::Conv2dFused { .. } | Op::Dense))
        .filter_map(|n| {
            let w = &g.value_type(*n.operands.get(1)?).shape;
            let per_out = numel(w.get(1..)?);
            Some(numel(&n.result.shape).saturating_mul(per_out))
        })
        .fold(0u128, u128::saturating_add)
}

/// Refuse a network whose CPU reference would hold more than the memory this process may
/// use (the smaller of the machine's available memory and the address-space limit), instead
/// of aborting on a failed allocation halfway. [`run_all`] checks it; callers that make the
/// inputs first call it before that.
pub fn fits_in_memory(g: &Graph) -> Result<(), String> {
    let need = bytes_held(g);
    fits_bytes(
        need,
        &format!(
            "@{}: the CPU reference holds {{}} of tensors for this network",
            g.name
        ),
    )
}

/// Refuse to allocate `need` bytes where this process may not use that much (the smaller of the
/// machine's available memory and the address-space limit, a quarter kept free). `what` says
/// what needs them, with `{}` where the amount goes.
pub fn fits_bytes(need: u64, what: &str) -> Result<(), String> {
    let kb = |text: &str, key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| kb(&m, "MemAvailable:"))
        .map(|k| k.saturating_mul(1024));
    // `Max address space  <soft> <hard> bytes`, less what is mapped already
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| kb(&l, "Max address space"))
        .map(|limit| {
            let used = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| kb(&s, "VmSize:"))
                .unwrap_or(0)
                .saturating_mul(1024);
            limit.saturating_sub(used)
        });
    let have = match (available, limit) {
        (Some(a), Some(l)) => a.min(l),
        (a, l) => match a.or(l) {
            Some(v) => v,
            None => return Ok(()),
        },
    };
    if need.saturating_add(need / 4) > have {
        let gb = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
        return Err(format!(
            "{}, more than the {} of memory this process may use",
            what.replacen("{}", &gb(need), 1),
            gb(have)
        ));
    }
    Ok(())
}

/// Run `g` and return every SSA value (arguments first, then one per node), for calibration.
pub fn run_all(g: &Graph, w: &Weights, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    fits_in_memory(g)?;
    if inputs.len() != g.args.len() {
        return Err(format!(
            "@{}: expected {} input(s), one per function argument, got {}",
            g.name,
            g.args.len(),
            inputs.len()
        ));
    }
    let mut vals: Vec<Tensor> = Vec::with_capacity(g.args.len() + g.nodes.len());
    for (i, (t, want)) in inputs.iter().zip(&g.args).enumerate() {
        let ctx = |e: String| format!("@{}: input {i} (%arg{i}): {e}", g.name);
        check_type(want).map_err(ctx)?;
        if t.ty != *want {
            return Err(ctx(format!(
                "the function expects {}, got {}",
                want.mlir(),
                t.ty.mlir()
            )));
        }
        check_data(t).map_err(ctx)?;
        vals.push(t.clone());
    }
    for (i, node) in g.nodes.iter().enumerate() {
        let t = eval_node(g, i, node, &vals, w).map_err(|e| {
            let loc = if node.loc.is_empty() {
                String::new()
            } else {
                format!("{}: ", node.loc)
            };
            format!("{loc}error: 'qnn.{}' %{i}: {e}", node.op.mnemonic())
        })?;
        vals.push(t);
    }
    for (k, &v) in g.results.iter().enumerate() {
        if v >= vals.len() {
            return Err(format!(
                "@{}: result #{k} refers to value {v}, but the function has only {} values",
                g.name,
                vals.len()
            ));
        }
    }
    Ok(vals)
}

// ---------------------------------------------------------------------------------------------
// Checks shared by all ops
// ---------------------------------------------------------------------------------------------

fn value_name(g: &Graph, v: usize) -> String {
    if v < g.args.len() {
        format!("%arg{v}")
    } else {
        format!("%{}", v - g.args.len())
    }
}

/// Dimensions are non-negative and the element count fits memory indexing.
fn check_type(t: &TensorType) -> Res<()> {
    let mut n: usize = 1;
    for &d in &t.shape {
        if d < 0 {
            return Err(format!("type {} has a negative dimension", t.mlir()));
        }
        n = n
            .checked_mul(d as usize)
            .filter(|&n| n <= isize::MAX as usize / 8)
            .ok_or_else(|| format!("type {} has too many elements", t.mlir()))?;
    }
    Ok(())
}

/// The data matches the tensor's own type: kind (int/f32), length, and value range.
fn check_data(t: &Tensor) -> Res<()> {
    match (&t.data, t.ty.elem) {
        (Data::Float(v), ElemType::F32) => check_len(v.len(), &t.ty),
        (Data::Int(v), e) if e.is_int() => {
            check_len(v.len(), &t.ty)?;
            check_fits(v, &t.ty)
        }
        (Data::Float(_), _) => Err(format!("{} holds f32 data", t.ty.mlir())),
        (Data::Int(_), _) => Err(format!("{} holds integer data", t.ty.mlir())),
    }
}

fn check_len(len: usize, ty: &TensorType) -> Res<()> {
    if len != ty.numel() {
        return Err(format!(
            "{} needs {} elements, the data holds {len}",
            ty.mlir(),
            ty.numel()
        ));
    }
    Ok(())
}

/// Every value lies in the range of `ty`'s integer element type.
fn check_fits(v: &[i32], ty: &TensorType) -> Res<()> {
    let (lo, hi) = ty.elem.range();
    let (vlo, vhi) = min_max(v);
    if (vlo as i64) >= lo && (vhi as i64) <= hi {
        return Ok(());
    }
    let i = v
        .iter()
        .position(|&x| (x as i64) < lo || (x as i64) > hi)
        .unwrap_or(0);
    Err(format!(
        "element {i} = {} does not fit the element type {} [{lo}, {hi}] of {}",
        v[i],
        ty.elem,
        ty.mlir()
    ))
}

/// Walks flat indices of a tensor in order and yields the channel of each: the channel axis
/// has stride `cs` and `nc` channels (both from `Layout::strides`).
#[derive(Clone, Copy)]
struct ChannelWalk {
    c: usize,
    r: usize,
    cs: usize,
    nc: usize,
}

impl ChannelWalk {
    fn at(i: usize, cs: usize, nc: usize) -> Self {
        let (cs, nc) = (cs.max(1), nc.max(1));
        Self {
            c: (i / cs) % nc,
            r: i % cs,
            cs,
            nc,
        }
    }
    /// The channel of the current index; then step to the next index.
    #[inline(always)]
    fn next(&mut self) -> usize {
        let c = self.c;
        self.r += 1;
        if self.r == self.cs {
            self.r = 0;
            self.c += 1;
            if self.c == self.nc {
                self.c = 0;
            }
        }
        c
    }
}

fn eval_node(g: &Graph, i: usize, node: &Node, vals: &[Tensor], w: &Weights) -> Res<Tensor> {
    let res = &node.result;
    check_type(res)?;
    let me = g.args.len() + i;
    let mut ops: Vec<&Tensor> = Vec::with_capacity(node.operands.len());
    for (k, &v) in node.operands.iter().enumerate() {
        if v >= me {
            return Err(format!(
                "operand #{k} ({}) is not defined before this op",
                value_name(g, v)
            ));
        }
        ops.push(&vals[v]);
    }
    let data = match &node.op {
        Op::Weight { name } => {
            arity(&ops, 0, 0)?;
            weight(name, w, res)?
        }
        Op::Quantize {
            scale,
            zero_point,
            mode,
            layout,
            pre,
        } => {
            arity(&ops, 1, 1)?;
            let x = floats(ops[0], "input")?;
            same_shape(ops[0], res)?;
            let (lo, hi) = int_result(res)?;
            let (scale, zp, mode) = (*scale, *zero_point, *mode);
            // the preprocessing's constants are one value or one a channel
            let (cs, nc) = if pre.is_empty() {
                (1, 1)
            } else {
                let dims = logical_dims(&ops[0].ty, *layout, "input")?;
                if let Some(s) = pre.iter().find(|s| s.k.len() != 1 && s.k.len() != dims[1]) {
                    return Err(format!(
                        "a {} step of {} constants for {} channels",
                        s.name(),
                        s.k.len(),
                        dims[1]
                    ));
                }
                (layout.strides(dims.map(|d| d as i64))[1], dims[1].max(1))
            };
            Data::Int(
                x.par_iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let v = float_steps(pre, v, (i / cs) % nc);
                        quantize_f32(v, scale, zp, mode, lo, hi) as i32
                    })
                    .collect(),
            )
        }
        Op::Conv2d {
            strides,
            padding,
            layout,
            kernel_layout,
            padding_value,
            groups,
        } => {
            arity(&ops, 2, 3)?;
            Data::Int(conv2d(
                ops[0],
                ops[1],
                ops.get(2).copied(),
                *strides,
                *padding,
                *padding_value,
                *groups,
                *layout,
                *kernel_layout,
                res,
            )?)
        }
        Op::Dense => {
            arity(&ops, 2, 3)?;
            Data::Int(dense(ops[0], ops[1], ops.get(2).copied(), res)?)
        }
        Op::Requantize {
            scales,
            rounding,
            zero_point,
            clamp,
            layout,
            offset,
        } => {
            arity(&ops, 1, 1)?;
            Data::Int(requantize_op(
                ops[0],
                scales,
                *rounding,
                *zero_point,
                *clamp,
                *layout,
                offset,
                res,
            )?)
        }
        Op::Add {
            lhs,
            rhs,
            rounding,
            clamp,
            layout,
            bias,
        } => {
            arity(&ops, 2, 2)?;
            Data::Int(add_op(
                ops[0], ops[1], lhs, rhs, *rounding, *bias, *clamp, *layout, res,
            )?)
        }
        Op::Mul { layout } => {
            arity(&ops, 2, 2)?;
            Data::Int(mul(ops[0], ops[1], *layout, res)?)
        }
        Op::Lookup { table, layout } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            same_shape(ops[0], res)?;
            int_result(res)?;
            let e = ops[0].ty.elem;
            let (cstride, cn) = channel_stride(&ops[0].ty.shape, *layout)?;
            if crate::semantics::lookup_tables(table.len(), e, cn).is_none() {
                return Err(format!(
                    "a table of {} entries for {e} values of {cn} channels",
                    table.len()
                ));
            }
            let out: Vec<i32> = x
                .par_iter()
                .enumerate()
                .map(|(i, &v)| crate::semantics::lookup(table, e, cn, (i / cstride) % cn, v as i64))
                .collect();
            check_fits(&out, res)?;
            Data::Int(out)
        }
        Op::Relu { .. } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            same_shape(ops[0], res)?;
            int_result(res)?;
            let out: Vec<i32> = x.par_iter().map(|&v| v.max(0)).collect();
            check_fits(&out, res)?;
            Data::Int(out)
        }
        Op::Clamp { min, max, .. } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            same_shape(ops[0], res)?;
            int_result(res)?;
            if min > max {
                return Err(format!("min {min} is greater than max {max}"));
            }
            let (lo, hi) = (*min, *max);
            let out: Vec<i32> = x
                .par_iter()
                .map(|&v| (v as i64).clamp(lo, hi) as i32)
                .collect();
            check_fits(&out, res)?;
            Data::Int(out)
        }
        Op::MaxPool2d {
            kernel,
            strides,
            padding,
            layout,
        } => {
            arity(&ops, 1, 1)?;
            Data::Int(pool(
                ops[0], *kernel, *strides, *padding, *layout, res, None,
            )?)
        }
        Op::AvgPool2d {
            kernel,
            strides,
            padding,
            layout,
            divisor,
        } => {
            arity(&ops, 1, 1)?;
            let d = divisor.unwrap_or(kernel[0].saturating_mul(kernel[1]));
            if d < 1 {
                return Err(format!("divisor {d} must be at least 1"));
            }
            Data::Int(pool(
                ops[0],
                *kernel,
                *strides,
                *padding,
                *layout,
                res,
                Some(d),
            )?)
        }
        Op::AvgPool2dF32 {
            kernel,
            strides,
            padding,
            layout,
            ..
        } => {
            arity(&ops, 1, 1)?;
            let p = node.op.avg_pool_f32().expect("an avg_pool2d_f32");
            Data::Int(avg_pool_f32(
                ops[0], *kernel, *strides, *padding, *layout, res, &p,
            )?)
        }
        Op::GatherChannels { indices, layout } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            let shape = &ops[0].ty.shape;
            let dims: [usize; 4] = match layout {
                Layout::NC if shape.len() == 2 => [shape[0] as usize, shape[1] as usize, 1, 1],
                _ => logical_dims(&ops[0].ty, *layout, "input")?,
            };
            let [n, c, h, w] = dims;
            if let Some(i) = indices.iter().find(|&&i| i < 0 || i as usize >= c) {
                return Err(format!(
                    "channel index {i} is outside the input's {c} channels"
                ));
            }
            let k = indices.len();
            let want = match layout {
                Layout::NC => vec![n as i64, k as i64],
                l => l.shape([n as i64, k as i64, h as i64, w as i64]),
            };
            expect_shape(res, &want, "the gathered channels")?;
            int_result(res)?;
            let strides = |ch: usize| match layout {
                Layout::NC => [ch, 1, 0, 0],
                l => l.strides([n as i64, ch as i64, h as i64, w as i64]),
            };
            let (xs, os) = (strides(c), strides(k));
            let mut out = vec![0i32; n * k * h * w];
            for nn in 0..n {
                for (j, &ci) in indices.iter().enumerate() {
                    for y in 0..h {
                        for xx in 0..w {
                            out[nn * os[0] + j * os[1] + y * os[2] + xx * os[3]] =
                                x[nn * xs[0] + ci as usize * xs[1] + y * xs[2] + xx * xs[3]];
                        }
                    }
                }
            }
            Data::Int(out)
        }
        Op::Softmax {
            table,
            scale,
            zero_point,
            ..
        } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            if ops[0].ty.shape.len() != 2 || res.shape != ops[0].ty.shape {
                return Err(format!(
                    "softmax takes an N x C tensor to one of its shape, not {} to {}",
                    ops[0].ty.mlir(),
                    res.mlir()
                ));
            }
            crate::verify::softmax_params(table, *scale, *zero_point, res.elem)?;
            let c = (ops[0].ty.shape[1] as usize).max(1);
            let signed = res.elem.is_signed();
            let out: Vec<i32> = x
                .par_chunks(c)
                .flat_map_iter(|row| {
                    let row: Vec<i64> = row.iter().map(|&v| v as i64).collect();
                    crate::semantics::softmax_row(&row, table, *scale, *zero_point, signed)
                        .into_iter()
                        .map(|v| v as i32)
                })
                .collect();
            check_fits(&out, res)?;
            Data::Int(out)
        }
        Op::Flatten { layout } => {
            arity(&ops, 1, 1)?;
            Data::Int(flatten(ops[0], *layout, res)?)
        }
        Op::Dequantize { scales, layout } => {
            arity(&ops, 1, 1)?;
            let x = ints(ops[0], "input")?;
            same_shape(ops[0], res)?;
            if res.elem != ElemType::F32 {
                return Err(format!("the result must be f32, not {}", res.mlir()));
            }
            let (cstride, cn) = channel_stride(&res.shape, *layout)?;
            if scales.len() != 1 && scales.len() != cn {
                return Err(format!(
                    "dequantize has {} scales for {cn} channels",
                    scales.len()
                ));
            }
            Data::Float(
                x.par_iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let s = if scales.len() == 1 {
                            scales[0]
                        } else {
                            scales[(i / cstride) % cn]
                        };
                        dequantize_f32(v as i64, s)
                    })
                    .collect(),
            )
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
            arity(&ops, 2, 4)?;
            let residual = matches!(epilogue.kind, EpilogueKind::Residual { .. });
            let nbias = ops.len() - 2 - residual as usize;
            if residual && ops.len() < 3 {
                return Err("a residual epilogue needs a residual operand".into());
            }
            let bias = if nbias == 1 { Some(ops[2]) } else { None };
            let acc_ty = TensorType::new(res.shape.clone(), ElemType::I32);
            let acc = conv2d(
                ops[0],
                ops[1],
                bias,
                *strides,
                *padding,
                *padding_value,
                *groups,
                *layout,
                *kernel_layout,
                &acc_ty,
            )?;
            let r = if residual {
                Some(ints(ops[ops.len() - 1], "residual")?)
            } else {
                None
            };
            if let Some(r) = r {
                if r.len() != acc.len() {
                    return Err("the residual does not match the result shape".into());
                }
            }
            let (cstride, cn) = channel_stride(&res.shape, *layout)?;
            let (lo, hi) = int_result(res)?;
            let out: Vec<i32> = acc
                .par_iter()
                .enumerate()
                .map(|(i, &a)| {
                    let rv = r.map(|r| r[i] as i64).unwrap_or(0);
                    epilogue
                        .apply(a as i64, rv, (i / cstride) % cn)
                        .clamp(lo, hi) as i32
                })
                .collect();
            Data::Int(out)
        }
        Op::SecondResult => {
            arity(&ops, 1, 1)?;
            let Some(Op::Conv2dFused {
                layout,
                epilogue:
                    Epilogue {
                        second: Some(second),
                        ..
                    },
                ..
            }) = g.node_of(node.operands[0]).map(|p| &p.op)
            else {
                return Err("projects a value without a second output".into());
            };
            // the requantize of the first result
            Data::Int(requantize_op(
                ops[0],
                &second.scales,
                second.rounding,
                second.zero_point,
                second.clamp,
                *layout,
                &[],
                res,
            )?)
        }
        Op::LayoutTransform { src, dst } => {
            arity(&ops, 1, 1)?;
            Data::Int(layout_transform(ops[0], *src, *dst, res)?)
        }
        Op::Concat { layout } => {
            arity(&ops, 2, 2)?;
            Data::Int(concat(&ops, *layout, res)?)
        }
    };
    Ok(Tensor {
        ty: res.clone(),
        data,
    })
}

/// Row-major stride and extent of the channel axis of a tensor in `layout`.
fn channel_stride(shape: &[i64], layout: Layout) -> Res<(usize, usize)> {
    if shape.len() != layout.rank() {
        return Err(format!(
            "shape {shape:?} does not have layout {layout}'s rank"
        ));
    }
    let ax = layout.channel_axis();
    let stride: i64 = shape[ax + 1..].iter().product();
    Ok((stride as usize, shape[ax] as usize))
}

fn arity(ops: &[&Tensor], lo: usize, hi: usize) -> Res<()> {
    if ops.len() < lo || ops.len() > hi {
        let want = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo} to {hi}")
        };
        return Err(format!("expects {want} operand(s), got {}", ops.len()));
    }
    Ok(())
}

fn ints<'a>(t: &'a Tensor, what: &str) -> Res<&'a [i32]> {
    match &t.data {
        Data::Int(v) if t.ty.elem.is_int() => Ok(v),
        _ => Err(format!(
            "the {what} must be an integer tensor, not {}",
            t.ty.mlir()
        )),
    }
}

fn floats<'a>(t: &'a Tensor, what: &str) -> Res<&'a [f32]> {
    match &t.data {
        Data::Float(v) if t.ty.elem == ElemType::F32 => Ok(v),
        _ => Err(format!(
            "the {what} must be an f32 tensor, not {}",
            t.ty.mlir()
        )),
    }
}

/// The inclusive range of an integer result type.
fn int_result(res: &TensorType) -> Res<(i64, i64)> {
    if !res.elem.is_int() {
        return Err(format!(
            "the result must be an integer tensor, not {}",
            res.mlir()
        ));
    }
    Ok(res.elem.range())
}

fn same_shape(x: &Tensor, res: &TensorType) -> Res<()> {
    if x.ty.shape != res.shape {
        return Err(format!(
            "the result {} must have the shape of the input {}",
            res.mlir(),
            x.ty.mlir()
        ));
    }
    Ok(())
}

fn expect_shape(res: &TensorType, want: &[i64], why: &str) -> Res<()> {
    if res.shape != want {
        return Err(format!(
            "the result type is {}, but {why} gives shape {:?}",
            res.mlir(),
            want
        ));
    }
    Ok(())
}

/// Logical (n, c, h, w) of a value that `layout` describes (`NC` gives h = w = 1).
fn logical_dims(t: &TensorType, layout: Layout, what: &str) -> Res<[usize; 4]> {
    if t.shape.len() != layout.rank() {
        return Err(format!(
            "the {what} {} has rank {}, layout {layout} needs rank {}",
            t.mlir(),
            t.shape.len(),
            layout.rank()
        ));
    }
    Ok(layout.nchw(&t.shape).map(|d| d as usize))
}

/// Per-channel dyadic scales for `channels` channels.
fn channel_scales(s: &ChannelScales, channels: usize, what: &str) -> Res<Vec<Dyadic>> {
    if s.multiplier.len() != s.shift.len() {
        return Err(format!(
            "{what}: {} multipliers but {} shifts",
            s.multiplier.len(),
            s.shift.len()
        ));
    }
    if s.is_empty() || (s.len() != 1 && s.len() != channels) {
        return Err(format!(
            "{what}: {} scale(s) for {channels} channel(s) (need 1 or {channels})",
            s.len()
        ));
    }
    if let Some(&c) = s.shift.iter().find(|c| !(0..=MAX_SHIFT).contains(*c)) {
        return Err(format!("{what}: shift {c} is outside [0, {MAX_SHIFT}]"));
    }
    Ok((0..channels.max(1)).map(|c| s.get(c)).collect())
}

fn check_clamp(clamp: [i64; 2]) -> Res<()> {
    if clamp[0] > clamp[1] {
        return Err(format!(
            "clamp lower bound {} is greater than the upper bound {}",
            clamp[0], clamp[1]
        ));
    }
    Ok(())
}

/// Elements per parallel task of the elementwise ops.
const CHUNK: usize = 1 << 14;

// ---------------------------------------------------------------------------------------------
// Elementwise ops with per-channel parameters
// ---------------------------------------------------------------------------------------------

fn weight(name: &str, w: &Weights, res: &TensorType) -> Res<Data> {
    let t = w.get(name).ok_or_else(|| {
        format!("weight '{name}' is missing (bind the weights file to the graph first)")
    })?;
    if t.ty.shape != res.shape {
        return Err(format!(
            "weight '{name}' has shape {:?}, the IR declares {}",
            t.ty.shape,
            res.mlir()
        ));
    }
    let tagged = Tensor {
        ty: res.clone(),
        data: t.data.clone(),
    };
    check_data(&tagged).map_err(|e| format!("weight '{name}': {e}"))?;
    Ok(tagged.data)
}

#[allow(clippy::too_many_arguments)]
fn requantize_op(
    x: &Tensor,
    scales: &ChannelScales,
    rounding: Rounding,
    zero_point: i64,
    clamp: [i64; 2],
    layout: Layout,
    offset: &[f32],
    res: &TensorType,
) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    same_shape(x, res)?;
    let (tlo, thi) = int_result(res)?;
    let dims = logical_dims(&x.ty, layout, "input")?;
    let scales = channel_scales(scales, dims[1], "scales")?;
    check_clamp(clamp)?;
    // under f32_fma: the offset of each channel (one entry: every channel)
    let fma = rounding == Rounding::F32Fma;
    if fma == offset.is_empty() || (fma && offset.len() != 1 && offset.len() != dims[1]) {
        return Err(format!(
            "{} offset(s) under rounding {rounding:?} for {} channel(s)",
            offset.len(),
            dims[1]
        ));
    }
    let offset_of = |c: usize| offset.get(c).or(offset.first()).copied().unwrap_or(0.0);
    if zero_point < i32::MIN as i64 || zero_point > i32::MAX as i64 {
        return Err(format!("zero point {zero_point} does not fit i32"));
    }
    let (cs, nc) = (layout.strides(dims.map(|d| d as i64))[1], dims[1]);
    let mut out = vec![0i32; xv.len()];
    out.par_chunks_mut(CHUNK)
        .zip(xv.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(k, (o, x))| {
            let mut ch = ChannelWalk::at(k * CHUNK, cs, nc);
            for (o, &x) in o.iter_mut().zip(x) {
                let c = ch.next();
                let y = if fma {
                    let y = requantize_f32_fma(x as i64, scales[c], offset_of(c));
                    (y + zero_point).clamp(clamp[0], clamp[1])
                } else {
                    requantize(
                        x as i64, scales[c], rounding, zero_point, clamp[0], clamp[1],
                    )
                };
                *o = y.clamp(tlo, thi) as i32;
            }
        });
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn add_op(
    a: &Tensor,
    b: &Tensor,
    ls: &ChannelScales,
    rs: &ChannelScales,
    rounding: Rounding,
    bias: f32,
    clamp: [i64; 2],
    layout: Layout,
    res: &TensorType,
) -> Res<Vec<i32>> {
    let av = ints(a, "lhs")?;
    let bv = ints(b, "rhs")?;
    if a.ty.shape != b.ty.shape {
        return Err(format!(
            "the operands {} and {} differ in shape",
            a.ty.mlir(),
            b.ty.mlir()
        ));
    }
    same_shape(a, res)?;
    let (tlo, thi) = int_result(res)?;
    let dims = logical_dims(&a.ty, layout, "lhs")?;
    let ls = channel_scales(ls, dims[1], "lhs scales")?;
    let rs = channel_scales(rs, dims[1], "rhs scales")?;
    check_clamp(clamp)?;
    // The sum of two rounded i64 branches may exceed i64 in the extreme; it is exact in i128.
    let (lo, hi) = (clamp[0] as i128, clamp[1] as i128);
    let (cs, nc) = (layout.strides(dims.map(|d| d as i64))[1], dims[1]);
    let mut out = vec![0i32; av.len()];
    out.par_chunks_mut(CHUNK)
        .zip(av.par_chunks(CHUNK).zip(bv.par_chunks(CHUNK)))
        .enumerate()
        .for_each(|(k, (o, (a, b)))| {
            let mut ch = ChannelWalk::at(k * CHUNK, cs, nc);
            for (o, (&a, &b)) in o.iter_mut().zip(a.iter().zip(b)) {
                let c = ch.next();
                let y = if rounding == Rounding::F32Fma {
                    add_f32_fma(a as i64, b as i64, ls[c], rs[c], bias) as i128
                } else {
                    ls[c].apply(a as i64, rounding) as i128
                        + rs[c].apply(b as i64, rounding) as i128
                };
                *o = y.clamp(lo, hi).clamp(tlo as i128, thi as i128) as i32;
            }
        });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// conv2d and dense
// ---------------------------------------------------------------------------------------------

struct ConvGeom {
    c: usize,
    o: usize,
    ow: usize,
    win: Window,
}

/// Bias values, one per output channel, or zeros (widened for the exact sum).
fn bias_values(bias: Option<&Tensor>, o: usize) -> Res<Vec<i128>> {
    let Some(b) = bias else {
        return Ok(vec![0; o]);
    };
    let v = ints(b, "bias")?;
    if b.ty.shape != [o as i64] {
        return Err(format!(
            "the bias {} must have shape [{o}] (one per output channel)",
            b.ty.mlir()
        ));
    }
    Ok(v.iter().map(|&x| x as i128).collect())
}

fn to_i32(acc: i128, what: impl FnOnce() -> String) -> Res<i32> {
    i32::try_from(acc).map_err(|_| format!("the accumulator {acc} at {} does not fit i32", what()))
}

#[allow(clippy::too_many_arguments)]
fn conv2d(
    x: &Tensor,
    wt: &Tensor,
    bias: Option<&Tensor>,
    strides: [i64; 2],
    padding: [i64; 4],
    pad_value: i64,
    groups: i64,
    layout: Layout,
    kl: KernelLayout,
    res: &TensorType,
) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    let wv = ints(wt, "weight")?;
    if layout == Layout::NC {
        return Err("layout NC is not a 4-D activation layout".into());
    }
    let [n, c, h, w] = logical_dims(&x.ty, layout, "input")?;
    if wt.ty.shape.len() != 4 {
        return Err(format!("the weight {} must be 4-D ({kl})", wt.ty.mlir()));
    }
    let [o, i, kh, kw] = kl.oihw(&wt.ty.shape).map(|d| d as usize);
    if groups < 1
        || c % groups as usize != 0
        || o % groups as usize != 0
        || i * groups as usize != c
    {
        return Err(format!(
            "the input {} has {c} channels, the weight {} ({kl}) expects {i} in each of {groups} groups",
            x.ty.mlir(),
            wt.ty.mlir()
        ));
    }
    let oh = out_extent("H", h, kh, strides[0], padding[0], padding[2])?;
    let ow = out_extent("W", w, kw, strides[1], padding[1], padding[3])?;
    expect_shape(
        res,
        &layout.shape([n, o, oh, ow].map(|d| d as i64)),
        "the convolution",
    )?;
    if res.elem != ElemType::I32 {
        return Err(format!("the result must be i32, not {}", res.mlir()));
    }
    let bias = bias_values(bias, o)?;
    let g = ConvGeom {
        c,
        o,
        ow,
        win: Window::new(h, w, [kh, kw], strides, padding),
    };
    let total = n * o * oh * ow;
    if total == 0 {
        return Ok(vec![]);
    }
    let xs = layout.strides([n, c, h, w].map(|d| d as i64));
    let ws = kl.strides([o, i, kh, kw].map(|d| d as i64));
    if groups > 1 {
        let out = grouped_conv(
            xv,
            wv,
            &bias,
            &g,
            xs,
            ws,
            [n, oh],
            i,
            o / groups as usize,
            pad_value,
        )?;
        return Ok(if layout == Layout::NHWC {
            out
        } else {
            gather(
                &out,
                [oh * ow * o, 1, ow * o, o],
                [n, o, oh, ow],
                layout,
                |v| v,
            )
        });
    }
    // Output first as N x OH x OW x O (rows of one (n, oh) are contiguous).
    let mut tmp = vec![0i32; total];
    let row = ow * o;
    let at = |nn: usize, y: usize, xx: usize, oo: usize| {
        move || format!("output (n={nn}, c={oo}, h={y}, w={xx})")
    };
    if fast_path_ok(xv, wv, c * kh * kw) {
        let xh = to_nhwc_i16(xv, xs, [n, c, h, w]);
        let wk = to_ohwi_i16(wv, ws, [o, c, kh, kw]);
        tmp.par_chunks_mut(row)
            .enumerate()
            .try_for_each(|(r, out)| {
                let (nn, y) = (r / oh, r % oh);
                conv_row_i16(&xh, &wk, &g, nn, y, out);
                for (p, v) in out.iter_mut().enumerate() {
                    let (xx, oo) = (p / o, p % o);
                    *v = to_i32(*v as i128 + bias[oo], at(nn, y, xx, oo))?;
                }
                Ok::<(), String>(())
            })?;
    } else {
        let xh = to_nhwc_i32(xv, xs, [n, c, h, w]);
        let wk = to_ohwi_i32(wv, ws, [o, c, kh, kw]);
        tmp.par_chunks_mut(row)
            .enumerate()
            .try_for_each(|(r, out)| {
                let (nn, y) = (r / oh, r % oh);
                conv_row_i64(&xh, &wk, &bias, &g, nn, y, out, |xx, oo| {
                    at(nn, y, xx, oo)()
                })
            })?;
    }
    if pad_value != 0 {
        pad_value_taps(&mut tmp, wv, ws, &g, [n, oh], pad_value)?;
    }
    if layout == Layout::NHWC {
        return Ok(tmp);
    }
    // N x OH x OW x O -> the requested layout.
    Ok(gather(
        &tmp,
        [oh * ow * o, 1, ow * o, o],
        [n, o, oh, ow],
        layout,
        |v| v,
    ))
}

/// A grouped conv ([`GroupedWindow::sum`] per output, padded taps reading `pad_value`), plus
/// the bias; N x OH x OW x O.
#[allow(clippy::too_many_arguments)]
fn grouped_conv(
    xv: &[i32],
    wv: &[i32],
    bias: &[i128],
    g: &ConvGeom,
    xs: [usize; 4],
    ws: [usize; 4],
    [n, oh]: [usize; 2],
    cg: usize,
    og: usize,
    pad_value: i64,
) -> Res<Vec<i32>> {
    let (o, ow) = (g.o, g.ow);
    let win = GroupedWindow {
        win: g.win,
        xs,
        ws,
        cg,
        og,
    };
    let mut out = vec![0i32; n * oh * ow * o];
    out.par_chunks_mut(ow * o)
        .enumerate()
        .try_for_each(|(r, row)| {
            let (nn, y) = (r / oh, r % oh);
            for xx in 0..ow {
                for oo in 0..o {
                    let acc = bias[oo] + win.sum(xv, wv, [nn, y, xx, oo], pad_value);
                    let at = || format!("output (n={nn}, c={oo}, h={y}, w={xx})");
                    row[xx * o + oo] = to_i32(acc, at)?;
                }
            }
            Ok::<(), String>(())
        })?;
    Ok(out)
}

/// Add what padded taps contribute when they read `v` instead of 0: `v` times the weights at
/// the taps of each output's window that fall in the padding (`acc` is N x OH x OW x O).
fn pad_value_taps(
    acc: &mut [i32],
    wv: &[i32],
    ws: [usize; 4],
    g: &ConvGeom,
    [_, oh]: [usize; 2],
    v: i64,
) -> Res<()> {
    let (o, kh, kw) = (g.o, g.win.kh, g.win.kw);
    // per output channel and tap: the sum over input channels
    let mut tap = vec![0i64; o * kh * kw];
    for oo in 0..o {
        for y in 0..kh {
            for x in 0..kw {
                tap[(oo * kh + y) * kw + x] = (0..g.c)
                    .map(|cc| wv[oo * ws[0] + cc * ws[1] + y * ws[2] + x * ws[3]] as i64)
                    .sum();
            }
        }
    }
    let row = g.ow * o;
    acc.par_chunks_mut(row)
        .enumerate()
        .try_for_each(|(r, out)| {
            let (nn, y) = (r / oh, r % oh);
            let (_, ky0, ky1) = g.win.rows(y);
            for xx in 0..g.ow {
                let (_, kx0, kx1) = g.win.cols(xx);
                if ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw {
                    continue;
                }
                for oo in 0..o {
                    let mut padded = 0i64;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            if !(ky0..ky1).contains(&ky) || !(kx0..kx1).contains(&kx) {
                                padded += tap[(oo * kh + ky) * kw + kx];
                            }
                        }
                    }
                    let p = &mut out[xx * o + oo];
                    let at = || format!("output (n={nn}, c={oo}, h={y}, w={xx})");
                    *p = to_i32(*p as i128 + (v as i128) * padded as i128, at)?;
                }
            }
            Ok::<(), String>(())
        })
}

/// Re-lay out a 4-D tensor: logical dims `dims` (n, c, h, w), read from `src` through the
/// logical strides `ss`, written in the physical order of `dst` (and converted by `cast`).
fn gather<T: Copy + Default + Send>(
    src: &[i32],
    ss: [usize; 4],
    dims: [usize; 4],
    dst: Layout,
    cast: impl Fn(i32) -> T + Sync,
) -> Vec<T> {
    let total: usize = dims.iter().product();
    let mut out = vec![T::default(); total];
    if total == 0 {
        return out;
    }
    // The logical axis at each physical position of `dst`, and the physical extents.
    let mut log_of = [0usize; 4];
    for (l, &p) in dst.axes().iter().enumerate() {
        log_of[p] = l;
    }
    let pd = log_of.map(|l| dims[l]);
    let st = log_of.map(|l| ss[l]);
    out.par_chunks_mut(pd[3]).enumerate().for_each(|(r, row)| {
        let (i2, i1, i0) = (r % pd[2], (r / pd[2]) % pd[1], r / (pd[2] * pd[1]));
        let base = i0 * st[0] + i1 * st[1] + i2 * st[2];
        for (j, v) in row.iter_mut().enumerate() {
            *v = cast(src[base + j * st[3]]);
        }
    });
    out
}

fn to_nhwc_i16(x: &[i32], xs: [usize; 4], d: [usize; 4]) -> Vec<i16> {
    gather(x, xs, d, Layout::NHWC, |v| v as i16)
}

fn to_nhwc_i32(x: &[i32], xs: [usize; 4], d: [usize; 4]) -> Vec<i32> {
    gather(x, xs, d, Layout::NHWC, |v| v)
}

/// Weight in any kernel layout (logical strides `ws` of o, i, kh, kw) -> O x KH x KW x C.
fn to_ohwi<T: Copy + Default>(
    wv: &[i32],
    ws: [usize; 4],
    [o, c, kh, kw]: [usize; 4],
    cast: impl Fn(i32) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(o * kh * kw * c);
    for oo in 0..o {
        for y in 0..kh {
            for xx in 0..kw {
                for cc in 0..c {
                    out.push(cast(wv[oo * ws[0] + cc * ws[1] + y * ws[2] + xx * ws[3]]));
                }
            }
        }
    }
    out
}

fn to_ohwi_i16(wv: &[i32], ws: [usize; 4], d: [usize; 4]) -> Vec<i16> {
    to_ohwi(wv, ws, d, |v| v as i16)
}

fn to_ohwi_i32(wv: &[i32], ws: [usize; 4], d: [usize; 4]) -> Vec<i32> {
    to_ohwi(wv, ws, d, |v| v)
}

/// Output channels computed together (the input segment is loaded once for all of them).
const OB: usize = 4;

/// One output row (n, y) of a conv, N x H x W x C input `xh` and O x KH x KW x C weight `wk`
/// in i16, accumulated in i32 (the caller proved the accumulation exact). `out` is OW x O.
/// Runs an AVX2 build of the same code where the CPU has AVX2 (integer results are identical;
/// the portable x86-64 baseline only has SSE2, about 1.5x slower here).
fn conv_row_i16(xh: &[i16], wk: &[i16], g: &ConvGeom, n: usize, y: usize, out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the only requirement of `conv_row_i16_avx2` is AVX2, checked just above.
        unsafe { conv_row_i16_avx2(xh, wk, g, n, y, out) };
        return;
    }
    conv_row_i16_body(xh, wk, g, n, y, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn conv_row_i16_avx2(xh: &[i16], wk: &[i16], g: &ConvGeom, n: usize, y: usize, out: &mut [i32]) {
    conv_row_i16_body(xh, wk, g, n, y, out)
}

#[inline(always)]
fn conv_row_i16_body(xh: &[i16], wk: &[i16], g: &ConvGeom, n: usize, y: usize, out: &mut [i32]) {
    let (c, o) = (g.c, g.o);
    let wo = g.win.kh * g.win.kw * c; // weights per output channel
    let (ih0, kh_lo, kh_hi) = g.win.rows(y);
    let mut ob = 0;
    while ob < o {
        let nb = OB.min(o - ob);
        let wblk = &wk[ob * wo..(ob + nb) * wo];
        for xx in 0..g.ow {
            let (iw0, kw_lo, kw_hi) = g.win.cols(xx);
            let len = (kw_hi - kw_lo) * c;
            let mut acc = [0i32; OB];
            if len > 0 {
                for ky in kh_lo..kh_hi {
                    let iy = (ih0 + ky as isize) as usize;
                    let xoff = ((n * g.win.h + iy) * g.win.w + (iw0 + kw_lo as isize) as usize) * c;
                    let xs = &xh[xoff..xoff + len];
                    let woff = (ky * g.win.kw + kw_lo) * c;
                    if nb == OB {
                        let d = dot4(
                            xs,
                            &wblk[woff..woff + len],
                            &wblk[wo + woff..wo + woff + len],
                            &wblk[2 * wo + woff..2 * wo + woff + len],
                            &wblk[3 * wo + woff..3 * wo + woff + len],
                        );
                        for j in 0..OB {
                            acc[j] += d[j];
                        }
                    } else {
                        for (j, a) in acc.iter_mut().enumerate().take(nb) {
                            *a += dot1(xs, &wblk[j * wo + woff..j * wo + woff + len]);
                        }
                    }
                }
            }
            out[xx * o + ob..xx * o + ob + nb].copy_from_slice(&acc[..nb]);
        }
        ob += nb;
    }
}

/// One output row of a conv with i128 accumulation (operands too wide for the fast path;
/// i128 is exact for any i32 operands, so an out-of-range sum is always detected).
#[allow(clippy::too_many_arguments)]
fn conv_row_i64(
    xh: &[i32],
    wk: &[i32],
    bias: &[i128],
    g: &ConvGeom,
    n: usize,
    y: usize,
    out: &mut [i32],
    at: impl Fn(usize, usize) -> String,
) -> Res<()> {
    let (c, o) = (g.c, g.o);
    let wo = g.win.kh * g.win.kw * c;
    let (ih0, kh_lo, kh_hi) = g.win.rows(y);
    for xx in 0..g.ow {
        let (iw0, kw_lo, kw_hi) = g.win.cols(xx);
        let len = (kw_hi - kw_lo) * c;
        for oo in 0..o {
            let mut acc = bias[oo];
            if len > 0 {
                for ky in kh_lo..kh_hi {
                    let iy = (ih0 + ky as isize) as usize;
                    let xoff = ((n * g.win.h + iy) * g.win.w + (iw0 + kw_lo as isize) as usize) * c;
                    let woff = oo * wo + (ky * g.win.kw + kw_lo) * c;
                    acc += xh[xoff..xoff + len]
                        .iter()
                        .zip(&wk[woff..woff + len])
                        .map(|(&a, &b)| a as i128 * b as i128)
                        .sum::<i128>();
                }
            }
            out[xx * o + oo] = to_i32(acc, || at(xx, oo))?;
        }
    }
    Ok(())
}

fn dense(x: &Tensor, wt: &Tensor, bias: Option<&Tensor>, res: &TensorType) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    let wv = ints(wt, "weight")?;
    let [n, k] = match x.ty.shape[..] {
        [n, k] => [n as usize, k as usize],
        _ => return Err(format!("the input {} must be 2-D (N x K)", x.ty.mlir())),
    };
    let o = match wt.ty.shape[..] {
        [o, kk] if kk as usize == k => o as usize,
        _ => {
            return Err(format!(
                "the weight {} must be O x {k} for the input {}",
                wt.ty.mlir(),
                x.ty.mlir()
            ))
        }
    };
    expect_shape(res, &[n as i64, o as i64], "the dense layer")?;
    if res.elem != ElemType::I32 {
        return Err(format!("the result must be i32, not {}", res.mlir()));
    }
    let bias = bias_values(bias, o)?;
    let at = |p: usize| move || format!("output (n={}, c={})", p / o, p % o);
    if fast_path_ok(xv, wv, k) {
        let xh: Vec<i16> = xv.iter().map(|&v| v as i16).collect();
        let wh: Vec<i16> = wv.iter().map(|&v| v as i16).collect();
        (0..n * o)
            .into_par_iter()
            .map(|p| {
                let (nn, oo) = (p / o, p % o);
                let acc = dot1(&xh[nn * k..(nn + 1) * k], &wh[oo * k..(oo + 1) * k]);
                to_i32(acc as i128 + bias[oo], at(p))
            })
            .collect()
    } else {
        (0..n * o)
            .into_par_iter()
            .map(|p| {
                let (nn, oo) = (p / o, p % o);
                let acc: i128 = xv[nn * k..(nn + 1) * k]
                    .iter()
                    .zip(&wv[oo * k..(oo + 1) * k])
                    .map(|(&a, &b)| a as i128 * b as i128)
                    .sum();
                to_i32(acc + bias[oo], at(p))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Pooling, flatten, layout transform
// ---------------------------------------------------------------------------------------------

/// A pool's window over its input, checked against the result: the window, the output dims
/// (n, c, oh, ow) and both tensors' strides in `layout`.
struct PoolGeometry {
    win: Window,
    out: [usize; 4],
    xs: [usize; 4],
    os: [usize; 4],
}

impl PoolGeometry {
    fn of(
        x: &Tensor,
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        res: &TensorType,
    ) -> Res<Self> {
        if layout == Layout::NC {
            return Err("layout NC is not a 4-D activation layout".into());
        }
        let [n, c, h, w] = logical_dims(&x.ty, layout, "input")?;
        let [kh, kw] = kernel;
        if !(1..=MAX_GEOM).contains(&kh) || !(1..=MAX_GEOM).contains(&kw) {
            return Err(format!("kernel {kernel:?} must be positive"));
        }
        let (kh, kw) = (kh as usize, kw as usize);
        let oh = out_extent("H", h, kh, strides[0], padding[0], padding[2])?;
        let ow = out_extent("W", w, kw, strides[1], padding[1], padding[3])?;
        let odims = [n, c, oh, ow].map(|d| d as i64);
        expect_shape(res, &layout.shape(odims), "the pooling window")?;
        int_result(res)?;
        Ok(PoolGeometry {
            win: Window::new(h, w, [kh, kw], strides, padding),
            out: [n, c, oh, ow],
            xs: layout.strides([n, c, h, w].map(|d| d as i64)),
            os: layout.strides(odims),
        })
    }

    /// (n, c, y, x) of output element `p` (in the layout's order).
    fn coords(&self, p: usize) -> (usize, usize, usize, usize) {
        let [n, c, oh, ow] = self.out;
        let os = self.os;
        (
            (p / os[0]) % n,
            (p / os[1]) % c,
            (p / os[2]) % oh,
            (p / os[3]) % ow,
        )
    }
}

fn pool(
    x: &Tensor,
    kernel: [i64; 2],
    strides: [i64; 2],
    padding: [i64; 4],
    layout: Layout,
    res: &TensorType,
    // None: max pool; Some(d): floor(sum / d)
    divisor: Option<i64>,
) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    let geo = PoolGeometry::of(x, kernel, strides, padding, layout, res)?;
    let (win, xs) = (&geo.win, geo.xs);
    let [n, c, oh, ow] = geo.out;
    let count = (win.kh * win.kw) as i64;
    let out: Vec<i32> = (0..n * c * oh * ow)
        .into_par_iter()
        .map(|p| {
            let (nn, cc, y, xx) = geo.coords(p);
            let base = nn * xs[0] + cc * xs[1];
            let (best, sum) = win.pool(y, xx, |iy, ix| xv[base + iy * xs[2] + ix * xs[3]] as i64);
            if divisor.is_none() {
                best.ok_or_else(|| {
                    format!("the window of output (n={nn}, c={cc}, h={y}, w={xx}) lies entirely in the padding")
                })
            } else {
                Ok(floor_div(sum, divisor.unwrap_or(count)))
            }
        })
        .map(|r| r.map(|v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32))
        .collect::<Res<_>>()?;
    check_fits(&out, res)?;
    Ok(out)
}

/// `qnn.avg_pool2d_f32`: each window's taps inside the input in f32, row by row
/// (`semantics::AvgPoolF32`).
fn avg_pool_f32(
    x: &Tensor,
    kernel: [i64; 2],
    strides: [i64; 2],
    padding: [i64; 4],
    layout: Layout,
    res: &TensorType,
    p: &AvgPoolF32,
) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    let geo = PoolGeometry::of(x, kernel, strides, padding, layout, res)?;
    let (win, xs) = (&geo.win, geo.xs);
    let [n, c, oh, ow] = geo.out;
    let (kh, kw) = (win.kh, win.kw);
    let range = res.elem.range();
    let out: Vec<i32> = (0..n * c * oh * ow)
        .into_par_iter()
        .map(|q| {
            let (nn, cc, y, xx) = geo.coords(q);
            let base = nn * xs[0] + cc * xs[1];
            let (sum, taps) = win.pool_f32(y, xx, |iy, ix| {
                p.tap(xv[base + iy * xs[2] + ix * xs[3]] as i64)
            });
            if taps == 0 {
                return Err(format!(
                    "the window of output (n={nn}, c={cc}, h={y}, w={xx}) lies entirely in the padding"
                ));
            }
            Ok(p.finish(sum, taps, (kh * kw) as i64, range) as i32)
        })
        .collect::<Res<_>>()?;
    check_fits(&out, res)?;
    Ok(out)
}

fn flatten(x: &Tensor, layout: Layout, res: &TensorType) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    if layout == Layout::NC {
        return Err("layout NC is not a 4-D activation layout".into());
    }
    let [n, c, h, w] = logical_dims(&x.ty, layout, "input")?;
    if h != 1 || w != 1 {
        return Err(format!(
            "the input {} must be N x C x 1 x 1 in {layout}, its H x W is {h} x {w}",
            x.ty.mlir()
        ));
    }
    expect_shape(res, &[n as i64, c as i64], "flattening")?;
    int_result(res)?;
    let xs = layout.strides([n, c, h, w].map(|d| d as i64));
    let out: Vec<i32> = (0..n * c)
        .map(|p| xv[(p / c) * xs[0] + (p % c) * xs[1]])
        .collect();
    check_fits(&out, res)?;
    Ok(out)
}

fn layout_transform(x: &Tensor, src: Layout, dst: Layout, res: &TensorType) -> Res<Vec<i32>> {
    let xv = ints(x, "input")?;
    if src == Layout::NC || dst == Layout::NC {
        return Err("layout_transform works on 4-D layouts only".into());
    }
    let dims = logical_dims(&x.ty, src, "input")?;
    let d64 = dims.map(|d| d as i64);
    expect_shape(res, &dst.shape(d64), &format!("{src} -> {dst}"))?;
    int_result(res)?;
    let out = gather(xv, src.strides(d64), dims, dst, |v| v);
    check_fits(&out, res)?;
    Ok(out)
}

/// `qnn.concat`: the operands' channels one after another, every tensor in `layout` (the op
/// takes two; the loop takes any number).
fn concat(xs: &[&Tensor], layout: Layout, res: &TensorType) -> Res<Vec<i32>> {
    if layout == Layout::NC {
        return Err("concat works on 4-D layouts only".into());
    }
    let dims: Vec<[usize; 4]> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| logical_dims(&x.ty, layout, &format!("operand {i}")))
        .collect::<Res<_>>()?;
    let [n, _, h, w] = dims[0];
    if let Some(i) = dims.iter().position(|d| (d[0], d[2], d[3]) != (n, h, w)) {
        return Err(format!(
            "operand {i} {} differs from operand 0 {} in N, H or W",
            xs[i].ty.mlir(),
            xs[0].ty.mlir()
        ));
    }
    let c: usize = dims.iter().map(|d| d[1]).sum();
    expect_shape(res, &layout.shape([n, c, h, w].map(|d| d as i64)), "concat")?;
    int_result(res)?;
    let ostride = layout.strides([n, c, h, w].map(|d| d as i64));
    let mut out = vec![0i32; res.numel()];
    let mut c0 = 0;
    for (x, d) in xs.iter().zip(&dims) {
        let xv = ints(x, "operand")?;
        let istride = layout.strides(d.map(|v| v as i64));
        for (ni, ci, hi, wi) in logical_indices(*d) {
            let src = ni * istride[0] + ci * istride[1] + hi * istride[2] + wi * istride[3];
            let dst = ni * ostride[0] + (c0 + ci) * ostride[1] + hi * ostride[2] + wi * ostride[3];
            out[dst] = xv[src];
        }
        c0 += d[1];
    }
    check_fits(&out, res)?;
    Ok(out)
}

/// `qnn.mul`: `lhs * rhs` exactly, rhs of lhs's shape or N x C x 1 x 1 (read at (n, c, 0, 0)).
fn mul(a: &Tensor, b: &Tensor, layout: Layout, res: &TensorType) -> Res<Vec<i32>> {
    let (x, y) = (ints(a, "lhs")?, ints(b, "rhs")?);
    same_shape(a, res)?;
    if res.elem != ElemType::I32 {
        return Err(format!("the result must be i32, not {}", res.mlir()));
    }
    let dims = logical_dims(&a.ty, layout, "lhs")?;
    let bd = logical_dims(&b.ty, layout, "rhs")?;
    let broadcast = bd != dims;
    if broadcast && bd != [dims[0], dims[1], 1, 1] {
        return Err(format!(
            "rhs {} is neither lhs's shape nor N x C x 1 x 1",
            b.ty.mlir()
        ));
    }
    let d64 = dims.map(|d| d as i64);
    let (xs, ys) = (layout.strides(d64), layout.strides(bd.map(|d| d as i64)));
    let mut out = vec![0i32; x.len()];
    for (n, c, h, w) in logical_indices(dims) {
        let i = n * xs[0] + c * xs[1] + h * xs[2] + w * xs[3];
        let j = if broadcast { n * ys[0] + c * ys[1] } else { i };
        // operands of at most 16 bits: the product fits i32 (checked by the verifier)
        out[i] = (x[i] as i64 * y[j] as i64)
            .try_into()
            .map_err(|_| format!("{} * {} overflows i32", x[i], y[j]))?;
    }
    Ok(out)
}

/// Every logical index (n, c, h, w) of `dims`, in order.
fn logical_indices(dims: [usize; 4]) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let [n, c, h, w] = dims;
    (0..n).flat_map(move |a| {
        (0..c).flat_map(move |b| (0..h).flat_map(move |y| (0..w).map(move |x| (a, b, y, x))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Rng;
    use ElemType::{F32, I16, I32, I4, I8, U4, U8};
    use Layout::{HWNC, NC, NCHW, NHWC};

    fn tt(shape: &[i64], e: ElemType) -> TensorType {
        TensorType::new(shape.to_vec(), e)
    }

    fn ti(shape: &[i64], e: ElemType, v: Vec<i32>) -> Tensor {
        Tensor::int(tt(shape, e), v)
    }

    /// A graph with one argument per input, one `qnn.weight` per named weight, and one op
    /// reading (inputs..., weights...); returns that op's result.
    fn one_op(
        inputs: &[Tensor],
        weights: &[(&str, Tensor)],
        op: Op,
        result: TensorType,
    ) -> Res<Tensor> {
        let mut g = Graph::new("t", inputs.iter().map(|t| t.ty.clone()).collect());
        let mut w = Weights::default();
        let mut operands: Vec<usize> = (0..inputs.len()).collect();
        for (name, t) in weights {
            w.insert(*name, t.clone());
            operands.push(g.push(
                Op::Weight {
                    name: name.to_string(),
                },
                vec![],
                t.ty.clone(),
            ));
        }
        let r = g.push(op, operands, result);
        g.results = vec![r];
        run(&g, &w, inputs).map(|mut v| v.remove(0))
    }

    /// Channels of the operands one after another, in every 4-D layout; mismatched N / H / W
    /// and a wrong result shape are errors.
    #[test]
    fn concat_appends_channels_in_every_layout() {
        // NCHW a: [1, 2, 2, 1] = channels (1, 2), (3, 4); b: [1, 1, 2, 1] = (5, 6)
        let a = ti(&[1, 2, 2, 1], I8, vec![1, 2, 3, 4]);
        let b = ti(&[1, 1, 2, 1], I8, vec![5, 6]);
        let op = Op::Concat { layout: NCHW };
        let y = one_op(&[a, b], &[], op, tt(&[1, 3, 2, 1], I8)).unwrap();
        assert_eq!(y.ints(), [1, 2, 3, 4, 5, 6]);
        // the same values in NHWC: [1, 2, 1, C], channels innermost
        let a = ti(&[1, 2, 1, 2], I8, vec![1, 3, 2, 4]);
        let b = ti(&[1, 2, 1, 1], I8, vec![5, 6]);
        let op = Op::Concat { layout: NHWC };
        let y = one_op(&[a, b], &[], op, tt(&[1, 2, 1, 3], I8)).unwrap();
        assert_eq!(y.ints(), [1, 3, 5, 2, 4, 6]);
        // HWNC with two images, three operands, 4-bit
        let a = ti(&[1, 1, 2, 1], U4, vec![7, 8]);
        let b = ti(&[1, 1, 2, 2], U4, vec![1, 2, 3, 4]);
        let c = ti(&[1, 1, 2, 1], U4, vec![15, 0]);
        let op = Op::Concat { layout: HWNC };
        let ab = one_op(&[a, b], &[], op.clone(), tt(&[1, 1, 2, 3], U4)).unwrap();
        let y = one_op(&[ab, c], &[], op, tt(&[1, 1, 2, 4], U4)).unwrap();
        assert_eq!(y.ints(), [7, 1, 2, 15, 8, 3, 4, 0]);
        // N / H / W must agree; the result must hold the summed channels
        let a = ti(&[1, 2, 2, 1], I8, vec![1, 2, 3, 4]);
        let bad = one_op(
            &[a.clone(), ti(&[1, 1, 1, 1], I8, vec![5])],
            &[],
            Op::Concat { layout: NCHW },
            tt(&[1, 3, 2, 1], I8),
        );
        assert!(bad.unwrap_err().contains("N, H or W"));
        let b = ti(&[1, 1, 2, 1], I8, vec![5, 6]);
        let bad = one_op(
            &[a, b],
            &[],
            Op::Concat { layout: NCHW },
            tt(&[1, 4, 2, 1], I8),
        );
        assert!(bad.is_err());
    }

    /// An exact product, the rhs read at (n, c, 0, 0) when it is N x C x 1 x 1 (any layout);
    /// a lookup indexes its table by `x - lo` of the input's type.
    #[test]
    fn mul_broadcasts_a_channel_scale_and_lookup_indexes_from_the_least_value() {
        // NCHW x: [1, 2, 2, 1] = channels (3, -4), (5, 6); rhs per channel (-2, 7)
        let x = ti(&[1, 2, 2, 1], I8, vec![3, -4, 5, 6]);
        let s = ti(&[1, 2, 1, 1], U8, vec![2, 7]);
        let y = one_op(
            &[x, s],
            &[],
            Op::Mul { layout: NCHW },
            tt(&[1, 2, 2, 1], I32),
        )
        .unwrap();
        assert_eq!(y.ints(), [6, -8, 35, 42]);
        // NHWC: the same values stored channels innermost
        let x = ti(&[1, 2, 1, 2], I8, vec![3, 5, -4, 6]);
        let s = ti(&[1, 1, 1, 2], U8, vec![2, 7]);
        let y = one_op(
            &[x, s],
            &[],
            Op::Mul { layout: NHWC },
            tt(&[1, 2, 1, 2], I32),
        )
        .unwrap();
        assert_eq!(y.ints(), [6, 35, -8, 42]);
        // same shapes, the extremes of 16 bits
        let a = ti(&[1, 2], I16, vec![-32768, 32767]);
        let b = ti(&[1, 2], I16, vec![-32768, -32768]);
        let y = one_op(&[a, b], &[], Op::Mul { layout: NC }, tt(&[1, 2], I32)).unwrap();
        assert_eq!(y.ints(), [1 << 30, -(32767 << 15)]);
        // i4 values -8..7 index entries 0..15
        let table: Vec<i32> = (0..16).map(|i| 100 - i).collect();
        let x = ti(&[1, 3], I4, vec![-8, 0, 7]);
        let op = Op::Lookup { table, layout: NC };
        let y = one_op(&[x], &[], op, tt(&[1, 3], U8)).unwrap();
        assert_eq!(y.ints(), [100, 92, 85]);
        // a table per channel: channel c's entries at c * 16; NCHW [1, 2, 1, 2]
        let table: Vec<i32> = (0..32).collect();
        let x = ti(&[1, 2, 1, 2], U4, vec![0, 15, 0, 15]);
        let op = Op::Lookup {
            table,
            layout: NCHW,
        };
        let y = one_op(&[x], &[], op, tt(&[1, 2, 1, 2], U8)).unwrap();
        assert_eq!(y.ints(), [0, 15, 16, 31]);
    }

    fn per_tensor(multiplier: i32, shift: i32) -> ChannelScales {
        ChannelScales::per_tensor(Dyadic { multiplier, shift })
    }

    /// Requantize a 1 x len NC tensor of i32 accumulators through a one-op graph.
    fn rq(
        acc: &[i32],
        s: ChannelScales,
        mode: Rounding,
        zp: i64,
        clamp: [i64; 2],
        e: ElemType,
    ) -> Vec<i32> {
        let n = acc.len() as i64;
        let op = Op::Requantize {
            offset: vec![],
            scales: s,
            rounding: mode,
            zero_point: zp,
            clamp,
            layout: NC,
        };
        one_op(&[ti(&[1, n], I32, acc.to_vec())], &[], op, tt(&[1, n], e))
            .unwrap()
            .ints()
            .to_vec()
    }

    // ---- requantize ------------------------------------------------------------------------

    #[test]
    fn requantize_ties_follow_each_rounding_mode() {
        // Scale 1/2 (b = 1, c = 1): 5 -> 2.5, 7 -> 3.5, -5 -> -2.5, -7 -> -3.5, 1 -> 0.5, -1 -> -0.5.
        let acc = [5, 7, -5, -7, 1, -1, 0];
        let s = || per_tensor(1, 1);
        let c = [-128, 127];
        assert_eq!(
            rq(&acc, s(), Rounding::HalfToEven, 0, c, I8),
            [2, 4, -2, -4, 0, 0, 0]
        );
        assert_eq!(
            rq(&acc, s(), Rounding::HalfUp, 0, c, I8),
            [3, 4, -2, -3, 1, 0, 0]
        );
        assert_eq!(
            rq(&acc, s(), Rounding::Truncate, 0, c, I8),
            [2, 3, -2, -3, 0, 0, 0]
        );
        // Scale 0.75 (b = 3 * 2^29, c = 31): 2 -> 1.5, -2 -> -1.5, 6 -> 4.5, -6 -> -4.5, 3 -> 2.25.
        let acc = [2, -2, 6, -6, 3];
        let s = || per_tensor(3 << 29, 31);
        assert_eq!(
            rq(&acc, s(), Rounding::HalfToEven, 0, c, I8),
            [2, -2, 4, -4, 2]
        );
        assert_eq!(rq(&acc, s(), Rounding::HalfUp, 0, c, I8), [2, -1, 5, -4, 2]);
        assert_eq!(
            rq(&acc, s(), Rounding::Truncate, 0, c, I8),
            [1, -1, 4, -4, 2]
        );
    }

    #[test]
    fn requantize_negative_accumulators_per_channel_in_each_layout() {
        // Channel 0: scale 1/4 (b=1, c=2); channel 1: scale 3/2 (b=3, c=1); zero point 3.
        // ch0: -10/4 = -2.5 -> -2 (even) -> 1;  -11/4 = -2.75 -> -3 -> 0
        // ch1: -10*1.5 = -15 -> -12;            -11*1.5 = -16.5 -> -16 (even) -> -13
        let scales = ChannelScales {
            multiplier: vec![1, 3],
            shift: vec![2, 1],
        };
        let op = |layout| Op::Requantize {
            offset: vec![],
            scales: scales.clone(),
            rounding: Rounding::HalfToEven,
            zero_point: 3,
            clamp: [-128, 127],
            layout,
        };
        // Logical [n=1][c=2][h=1][w=2].
        let nchw = one_op(
            &[ti(&[1, 2, 1, 2], I32, vec![-10, -11, -10, -11])],
            &[],
            op(NCHW),
            tt(&[1, 2, 1, 2], I8),
        );
        assert_eq!(nchw.unwrap().ints(), [1, 0, -12, -13]);
        let nhwc = one_op(
            &[ti(&[1, 1, 2, 2], I32, vec![-10, -10, -11, -11])],
            &[],
            op(NHWC),
            tt(&[1, 1, 2, 2], I8),
        );
        assert_eq!(nhwc.unwrap().ints(), [1, -12, 0, -13]);
        let hwnc = one_op(
            &[ti(&[1, 2, 1, 2], I32, vec![-10, -10, -11, -11])],
            &[],
            op(HWNC),
            tt(&[1, 2, 1, 2], I8),
        );
        assert_eq!(hwnc.unwrap().ints(), [1, -12, 0, -13]);
    }

    #[test]
    fn requantize_saturates_at_both_ends() {
        let s = || per_tensor(1, 1); // x / 2
        let he = Rounding::HalfToEven;
        // u4: 500 -> 15, -500 -> 0, 15.5 -> 16 -> 15, 14.5 -> 14, 15 -> 15.
        assert_eq!(
            rq(&[1000, -1000, 31, 29, 30], s(), he, 0, [0, 15], U4),
            [15, 0, 15, 14, 15]
        );
        // i4: -500 -> -8, 500 -> 7, -8.5 -> -8, -7.5 -> -8 (even), 7.5 -> 8 -> 7.
        assert_eq!(
            rq(&[-1000, 1000, -17, -15, 15], s(), he, 0, [-8, 7], I4),
            [-8, 7, -8, -8, 7]
        );
        // A clamp attribute wider than the type still saturates to the type's range.
        assert_eq!(
            rq(&[1000, -1000, 6], s(), he, 0, [-1000, 1000], I4),
            [7, -8, 3]
        );
        // The zero point is added before the clamp: 0 + 100 -> 15; -40/2 + 100 = 80 -> 15.
        assert_eq!(rq(&[0, -40, -230], s(), he, 100, [0, 15], U4), [15, 15, 0]);
        // i32 extremes with a unit scale stay exact.
        let big = [i32::MAX, i32::MIN];
        assert_eq!(
            rq(
                &big,
                per_tensor(1, 0),
                he,
                0,
                [i32::MIN as i64, i32::MAX as i64],
                I32
            ),
            big
        );
    }

    // ---- conv2d, hand-derived ---------------------------------------------------------------

    fn conv_op(
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        kernel_layout: KernelLayout,
    ) -> Op {
        Op::Conv2d {
            strides,
            padding,
            layout,
            kernel_layout,
            padding_value: 0,
            groups: 1,
        }
    }

    #[test]
    fn conv_1x1_by_hand() {
        // x (NCHW 1x2x2x2): ch0 = [1, 2, 3, 4], ch1 = [-1, 0, 5, -8]
        // w (OIHW 2x2x1x1): o0 = [2, 3], o1 = [-1, 4]; bias = [10, -10]
        // o0 = 2*ch0 + 3*ch1 + 10 = [2-3+10, 4+0+10, 6+15+10, 8-24+10] = [9, 14, 31, -6]
        // o1 = -ch0 + 4*ch1 - 10 = [-1-4-10, -2+0-10, -3+20-10, -4-32-10] = [-15, -12, 7, -46]
        let x = ti(&[1, 2, 2, 2], I8, vec![1, 2, 3, 4, -1, 0, 5, -8]);
        let w = ti(&[2, 2, 1, 1], I8, vec![2, 3, -1, 4]);
        let b = ti(&[2], I32, vec![10, -10]);
        let op = conv_op([1, 1], [0; 4], NCHW, KernelLayout::OIHW);
        let y = one_op(&[x], &[("w", w), ("b", b)], op, tt(&[1, 2, 2, 2], I32)).unwrap();
        assert_eq!(y.ints(), [9, 14, 31, -6, -15, -12, 7, -46]);
        // The same conv in NHWC with an OHWI weight (identical bytes for 1x1): pixel-major output.
        let x = ti(&[1, 2, 2, 2], I8, vec![1, -1, 2, 0, 3, 5, 4, -8]);
        let w = ti(&[2, 1, 1, 2], I8, vec![2, 3, -1, 4]);
        let b = ti(&[2], I32, vec![10, -10]);
        let op = conv_op([1, 1], [0; 4], NHWC, KernelLayout::OHWI);
        let y = one_op(&[x], &[("w", w), ("b", b)], op, tt(&[1, 2, 2, 2], I32)).unwrap();
        assert_eq!(y.ints(), [9, -15, 14, -12, 31, 7, -6, -46]);
    }

    #[test]
    fn conv_3x3_stride_2_padding_1_by_hand() {
        // x (1x1x4x4): x[h][w] = 4h + w + 1        w0 (Sobel)      w1 = all ones
        //    1  2  3  4                             1 0 -1
        //    5  6  7  8                             2 0 -2
        //    9 10 11 12                             1 0 -1
        //   13 14 15 16
        // Output 2x2: (4 + 1 + 1 - 3) / 2 + 1 = 2; window of (oh, ow) starts at (2oh-1, 2ow-1).
        // w0: (0,0): rows -1..1, cols -1..1 -> taps (1,1),(1,2),(2,1),(2,2) on x 1,2,5,6:
        //            0*1 - 2*2 + 0*5 - 1*6 = -10
        //     (0,1): rows -1..1, cols 1..3: 2*2 + 0*3 - 2*4 + 1*6 + 0*7 - 1*8 = -6
        //     (1,0): rows 1..3, cols -1..1: 0*5 - 1*6 + 0*9 - 2*10 + 0*13 - 1*14 = -40
        //     (1,1): rows 1..3, cols 1..3: (6 - 8) + 2*(10 - 12) + (14 - 16) = -8
        // w1 (+ bias 1000): 1+2+5+6 = 14, 2+3+4+6+7+8 = 30, 5+6+9+10+13+14 = 57,
        //                   6+7+8+10+11+12+14+15+16 = 99
        let x = ti(&[1, 1, 4, 4], I8, (1..=16).collect());
        let mut wv = vec![1, 0, -1, 2, 0, -2, 1, 0, -1];
        wv.extend([1; 9]);
        let w = ti(&[2, 1, 3, 3], I8, wv);
        let b = ti(&[2], I32, vec![0, 1000]);
        let op = conv_op([2, 2], [1, 1, 1, 1], NCHW, KernelLayout::OIHW);
        let y = one_op(&[x], &[("w", w), ("b", b)], op, tt(&[1, 2, 2, 2], I32)).unwrap();
        assert_eq!(y.ints(), [-10, -6, -40, -8, 1014, 1030, 1057, 1099]);
    }

    // ---- pooling -----------------------------------------------------------------------------

    // x (1x1x3x3):  -5 -3 -7
    //               -9 -2 -8
    //               -4 -6 -1
    // kernel 2x2, stride 2, padding 1 -> 2x2 windows starting at (-1,-1), (-1,1), (1,-1), (1,1).
    fn pool_input() -> Tensor {
        ti(&[1, 1, 3, 3], I8, vec![-5, -3, -7, -9, -2, -8, -4, -6, -1])
    }

    #[test]
    fn max_pool_padding_never_wins_over_negative_values() {
        // In-bounds taps: {-5}, {-3, -7}, {-9, -4}, {-2, -8, -6, -1} -> -5, -3, -4, -1
        // (a zero-padded max would give 0 for all four).
        let op = Op::MaxPool2d {
            kernel: [2, 2],
            strides: [2, 2],
            padding: [1, 1, 1, 1],
            layout: NCHW,
        };
        let y = one_op(&[pool_input()], &[], op, tt(&[1, 1, 2, 2], I8)).unwrap();
        assert_eq!(y.ints(), [-5, -3, -4, -1]);
    }

    #[test]
    fn avg_pool_floors_negative_sums_and_counts_padding() {
        // Sums -5, -10, -13, -17 divided by kh*kw = 4 (padding counts as zero):
        // floor(-1.25) = -2, floor(-2.5) = -3, floor(-3.25) = -4, floor(-4.25) = -5
        // (truncation would give -1, -2, -3, -4).
        let op = Op::AvgPool2d {
            kernel: [2, 2],
            strides: [2, 2],
            padding: [1, 1, 1, 1],
            layout: NCHW,
            divisor: None,
        };
        let y = one_op(&[pool_input()], &[], op, tt(&[1, 1, 2, 2], I8)).unwrap();
        assert_eq!(y.ints(), [-2, -3, -4, -5]);
        // Global 3x3 pool, two channels in NHWC: -45/9 = -5 and (1+...+9 + 2)/9 = 47/9 -> 5.
        let mut v = vec![];
        for (a, b) in [-5, -3, -7, -9, -2, -8, -4, -6, -1]
            .iter()
            .zip([3, 2, 3, 4, 5, 6, 7, 8, 9])
        {
            v.extend([*a, b]);
        }
        let op = Op::AvgPool2d {
            kernel: [3, 3],
            strides: [1, 1],
            padding: [0; 4],
            layout: NHWC,
            divisor: None,
        };
        let y = one_op(&[ti(&[1, 3, 3, 2], I8, v)], &[], op, tt(&[1, 1, 1, 2], I8)).unwrap();
        assert_eq!(y.ints(), [-5, 5]);
    }

    // ---- add, elementwise ------------------------------------------------------------------

    #[test]
    fn residual_add_rounds_each_branch_separately() {
        // Both branches scale 1/2, half_to_even:
        //   lhs [1, 3, -1, 5, 9] / 2 -> [0.5, 1.5, -0.5, 2.5, 4.5] -> [0, 2, 0, 2, 4]
        //   rhs [1, 1, -1, 7, 9] / 2 -> [0.5, 0.5, -0.5, 3.5, 4.5] -> [0, 0, 0, 4, 4]
        //   sum                                                  -> [0, 2, 0, 6, 8]
        // Rounding the exact sum once would give [1, 2, -1, 6, 9]; clamp [-100, 7] cuts 8 to 7.
        let a = ti(&[1, 5], I32, vec![1, 3, -1, 5, 9]);
        let b = ti(&[1, 5], I32, vec![1, 1, -1, 7, 9]);
        let op = Op::Add {
            lhs: per_tensor(1, 1),
            rhs: per_tensor(1, 1),
            rounding: Rounding::HalfToEven,
            clamp: [-100, 7],
            layout: NC,
            bias: 0.0,
        };
        let y = one_op(&[a, b], &[], op, tt(&[1, 5], I16)).unwrap();
        assert_eq!(y.ints(), [0, 2, 0, 6, 7]);
        // Per channel (NCHW, C = 2): ch0 lhs*1 + rhs/4, ch1 lhs/2 + rhs*3, half_up:
        //   ch0: 7 + round_up(-6/4 = -1.5 -> -1) = 6;  ch1: round_up(-3/2 = -1.5 -> -1) + 3*2 = 5
        let a = ti(&[1, 2, 1, 1], I32, vec![7, -3]);
        let b = ti(&[1, 2, 1, 1], I32, vec![-6, 2]);
        let op = Op::Add {
            lhs: ChannelScales {
                multiplier: vec![1, 1],
                shift: vec![0, 1],
            },
            rhs: ChannelScales {
                multiplier: vec![1, 3],
                shift: vec![2, 0],
            },
            rounding: Rounding::HalfUp,
            clamp: [i32::MIN as i64, i32::MAX as i64],
            layout: NCHW,
            bias: 0.0,
        };
        let y = one_op(&[a, b], &[], op, tt(&[1, 2, 1, 1], I32)).unwrap();
        assert_eq!(y.ints(), [6, 5]);
    }

    #[test]
    fn relu_clamp_quantize_dequantize_flatten() {
        let x = ti(&[1, 4], I8, vec![-7, 0, 3, 127]);
        let y = one_op(
            std::slice::from_ref(&x),
            &[],
            Op::Relu { layout: NC },
            tt(&[1, 4], U8),
        )
        .unwrap();
        assert_eq!(y.ints(), [0, 0, 3, 127]);
        let op = Op::Clamp {
            min: -2,
            max: 5,
            layout: NC,
        };
        let y = one_op(&[x], &[], op, tt(&[1, 4], I4)).unwrap();
        assert_eq!(y.ints(), [-2, 0, 3, 5]);
        // x / 0.5 = [1.5, 2.5, -0.5, -3, 400] -> half to even [2, 2, 0, -3, 127 (clamped)]
        let f = Tensor::float(tt(&[1, 5], F32), vec![0.75, 1.25, -0.25, -1.5, 200.0]);
        let op = Op::Quantize {
            pre: vec![],
            scale: 0.5,
            layout: NC,
            zero_point: 0,
            mode: Default::default(),
        };
        let q = one_op(&[f], &[], op, tt(&[1, 5], I8)).unwrap();
        assert_eq!(q.ints(), [2, 2, 0, -3, 127]);
        let d = one_op(
            &[q],
            &[],
            Op::Dequantize {
                scales: vec![0.25],
                layout: Layout::NC,
            },
            tt(&[1, 5], F32),
        )
        .unwrap();
        assert_eq!(d.floats(), [0.5, 0.5, 0.0, -0.75, 31.75]);
        // Flatten of HWNC 1x1x2x3 (N = 2, C = 3) and of NCHW 2x3x1x1: both N x C in NC order.
        let op = Op::Flatten { layout: HWNC };
        let y = one_op(
            &[ti(&[1, 1, 2, 3], U4, vec![1, 2, 3, 4, 5, 6])],
            &[],
            op,
            tt(&[2, 3], U4),
        );
        assert_eq!(y.unwrap().ints(), [1, 2, 3, 4, 5, 6]);
        let op = Op::Flatten { layout: NCHW };
        let y = one_op(
            &[ti(&[2, 3, 1, 1], U4, vec![1, 2, 3, 4, 5, 6])],
            &[],
            op,
            tt(&[2, 3], U4),
        );
        assert_eq!(y.unwrap().ints(), [1, 2, 3, 4, 5, 6]);
    }

    // ---- independent index formulas (not Layout::strides) --------------------------------------

    fn phys(l: Layout, [n, c, h, w]: [usize; 4], [_, cc, hh, ww]: [usize; 4], nn: usize) -> usize {
        match l {
            NCHW => ((n * cc + c) * hh + h) * ww + w,
            NHWC => ((n * hh + h) * ww + w) * cc + c,
            HWNC => ((h * ww + w) * nn + n) * cc + c,
            NC => unreachable!(),
        }
    }

    fn phys_shape(l: Layout, [n, c, h, w]: [usize; 4]) -> Vec<i64> {
        let s = match l {
            NCHW => [n, c, h, w],
            NHWC => [n, h, w, c],
            HWNC => [h, w, n, c],
            NC => unreachable!(),
        };
        s.iter().map(|&d| d as i64).collect()
    }

    fn kphys(kl: KernelLayout, [o, i, y, x]: [usize; 4], [oo, ii, kh, kw]: [usize; 4]) -> usize {
        match kl {
            KernelLayout::OIHW => ((o * ii + i) * kh + y) * kw + x,
            KernelLayout::OHWI => ((o * kh + y) * kw + x) * ii + i,
            KernelLayout::HWOI => ((y * kw + x) * oo + o) * ii + i,
            KernelLayout::HWIO => ((y * kw + x) * ii + i) * oo + o,
        }
    }

    fn kphys_shape(kl: KernelLayout, [o, i, kh, kw]: [usize; 4]) -> Vec<i64> {
        let s = match kl {
            KernelLayout::OIHW => [o, i, kh, kw],
            KernelLayout::OHWI => [o, kh, kw, i],
            KernelLayout::HWOI => [kh, kw, o, i],
            KernelLayout::HWIO => [kh, kw, i, o],
        };
        s.iter().map(|&d| d as i64).collect()
    }

    /// Logical NCHW tensor -> physical order of `l`.
    fn to_layout(v: &[i32], d: [usize; 4], l: Layout) -> Vec<i32> {
        let mut out = vec![0; v.len()];
        let mut k = 0;
        for n in 0..d[0] {
            for c in 0..d[1] {
                for h in 0..d[2] {
                    for w in 0..d[3] {
                        out[phys(l, [n, c, h, w], d, d[0])] = v[k];
                        k += 1;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn layout_transform_round_trips_and_matches_index_formulas() {
        let d = [2, 3, 4, 5];
        let mut rng = Rng(11);
        let logical: Vec<i32> = (0..120).map(|_| rng.int(-128, 127) as i32).collect();
        for (src, dst) in [(NCHW, HWNC), (NHWC, NCHW), (HWNC, NHWC), (NCHW, NCHW)] {
            let x = Tensor::int(tt(&phys_shape(src, d), I8), to_layout(&logical, d, src));
            let mut g = Graph::new("rt", vec![x.ty.clone()]);
            let mid = g.push(
                Op::LayoutTransform { src, dst },
                vec![0],
                tt(&phys_shape(dst, d), I8),
            );
            let back = g.push(
                Op::LayoutTransform { src: dst, dst: src },
                vec![mid],
                x.ty.clone(),
            );
            g.results = vec![mid, back];
            let r = run(&g, &Weights::default(), std::slice::from_ref(&x)).unwrap();
            assert_eq!(r[0].ints(), to_layout(&logical, d, dst), "{src} -> {dst}");
            assert_eq!(r[1], x, "{src} -> {dst} -> {src}");
        }
    }

    // ---- conv and dense against a naive loop ---------------------------------------------------

    struct ConvCase {
        nchw: [usize; 4],
        o: usize,
        k: [usize; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        kl: KernelLayout,
        x: (ElemType, i32, i32),
        w: (ElemType, i32, i32),
        bias: bool,
    }

    /// Plain nested loops over NCHW input / OIHW weight, i64 accumulator.
    fn naive_conv(
        x: &[i32],
        wt: &[i32],
        bias: Option<&[i32]>,
        cs: &ConvCase,
        oh: usize,
        ow: usize,
    ) -> Vec<i64> {
        let [n, c, h, w] = cs.nchw;
        let [kh, kw] = cs.k;
        let mut out = vec![0i64; n * cs.o * oh * ow];
        for b in 0..n {
            for o in 0..cs.o {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut acc = bias.map_or(0, |bv| bv[o] as i64);
                        for i in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (y as i64) * cs.strides[0] + ky as i64 - cs.padding[0];
                                    let ix =
                                        (xx as i64) * cs.strides[1] + kx as i64 - cs.padding[1];
                                    if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                        continue;
                                    }
                                    let xi = ((b * c + i) * h + iy as usize) * w + ix as usize;
                                    let wi = ((o * c + i) * kh + ky) * kw + kx;
                                    acc += x[xi] as i64 * wt[wi] as i64;
                                }
                            }
                        }
                        out[((b * cs.o + o) * oh + y) * ow + xx] = acc;
                    }
                }
            }
        }
        out
    }

    fn check_conv_case(cs: &ConvCase, seed: u64) {
        let mut rng = Rng(seed);
        let [n, c, h, w] = cs.nchw;
        let [kh, kw] = cs.k;
        let oh = (h + (cs.padding[0] + cs.padding[2]) as usize - kh) / cs.strides[0] as usize + 1;
        let ow = (w + (cs.padding[1] + cs.padding[3]) as usize - kw) / cs.strides[1] as usize + 1;
        let mut gen = |len: usize, (_, lo, hi): (ElemType, i32, i32)| -> Vec<i32> {
            (0..len)
                .map(|_| rng.int(lo as i64, hi as i64) as i32)
                .collect()
        };
        let x = gen(n * c * h * w, cs.x);
        let wt = gen(cs.o * c * kh * kw, cs.w);
        let bias = gen(cs.o, (I32, -100_000, 100_000));
        let want = naive_conv(&x, &wt, cs.bias.then_some(&bias[..]), cs, oh, ow);

        // Physical operands.
        let xp = Tensor::int(
            tt(&phys_shape(cs.layout, cs.nchw), cs.x.0),
            to_layout(&x, cs.nchw, cs.layout),
        );
        let kd = [cs.o, c, kh, kw];
        let mut wp = vec![0; wt.len()];
        for o in 0..cs.o {
            for i in 0..c {
                for y in 0..kh {
                    for xx in 0..kw {
                        wp[kphys(cs.kl, [o, i, y, xx], kd)] = wt[((o * c + i) * kh + y) * kw + xx];
                    }
                }
            }
        }
        let wp = Tensor::int(tt(&kphys_shape(cs.kl, kd), cs.w.0), wp);
        let mut ws = vec![("w", wp)];
        if cs.bias {
            ws.push(("b", ti(&[cs.o as i64], I32, bias.clone())));
        }
        let od = [n, cs.o, oh, ow];
        let op = conv_op(cs.strides, cs.padding, cs.layout, cs.kl);
        let got = one_op(&[xp], &ws, op, tt(&phys_shape(cs.layout, od), I32)).unwrap();
        let want: Vec<i32> = want.iter().map(|&v| i32::try_from(v).unwrap()).collect();
        let want = to_layout(&want, od, cs.layout);
        assert_eq!(
            got.ints(),
            &want[..],
            "seed {seed}: {:?} o={} k={:?} s={:?} p={:?} {} {}",
            cs.nchw,
            cs.o,
            cs.k,
            cs.strides,
            cs.padding,
            cs.layout,
            cs.kl
        );
    }

    #[test]
    fn conv_matches_naive_loops_on_random_inputs() {
        use KernelLayout::*;
        let cases = [
            // 7x7 stride 2 padding 3, 3 input channels (a ResNet stem), i8 x i8
            ConvCase {
                nchw: [1, 3, 13, 11],
                o: 24,
                k: [7, 7],
                strides: [2, 2],
                padding: [3; 4],
                layout: NCHW,
                kl: OIHW,
                x: (I8, -128, 127),
                w: (I8, -128, 127),
                bias: true,
            },
            // 3x3 stride 1 padding 1, u4 x s4, batch 3
            ConvCase {
                nchw: [3, 24, 9, 7],
                o: 40,
                k: [3, 3],
                strides: [1, 1],
                padding: [1; 4],
                layout: NHWC,
                kl: HWIO,
                x: (U4, 0, 15),
                w: (I4, -8, 7),
                bias: true,
            },
            // 1x1 stride 2, no bias, HWNC
            ConvCase {
                nchw: [3, 40, 6, 5],
                o: 24,
                k: [1, 1],
                strides: [2, 2],
                padding: [0; 4],
                layout: HWNC,
                kl: OHWI,
                x: (U8, 0, 255),
                w: (I8, -128, 127),
                bias: false,
            },
            // asymmetric stride and padding, O = 3 (not a multiple of the channel block)
            ConvCase {
                nchw: [1, 40, 8, 8],
                o: 3,
                k: [3, 3],
                strides: [2, 1],
                padding: [1, 0, 2, 3],
                layout: NCHW,
                kl: HWOI,
                x: (U4, 0, 15),
                w: (I4, -8, 7),
                bias: true,
            },
            // 7x7 in HWNC, batch 3, odd strides/padding
            ConvCase {
                nchw: [3, 3, 10, 12],
                o: 40,
                k: [7, 7],
                strides: [1, 2],
                padding: [3, 1, 0, 3],
                layout: HWNC,
                kl: OIHW,
                x: (I8, -128, 127),
                w: (I4, -8, 7),
                bias: true,
            },
            // 3x3 stride 2 without padding, O = 26
            ConvCase {
                nchw: [1, 24, 5, 5],
                o: 26,
                k: [3, 3],
                strides: [2, 2],
                padding: [0; 4],
                layout: NHWC,
                kl: OHWI,
                x: (U8, 0, 255),
                w: (I8, -128, 127),
                bias: true,
            },
            // 1x1 with padding (the border outputs are bias only)
            ConvCase {
                nchw: [3, 24, 7, 9],
                o: 26,
                k: [1, 1],
                strides: [1, 1],
                padding: [1; 4],
                layout: NCHW,
                kl: HWIO,
                x: (I8, -128, 127),
                w: (I8, -128, 127),
                bias: true,
            },
            // non-square kernel, kernel covering the whole padded input
            ConvCase {
                nchw: [1, 3, 4, 6],
                o: 5,
                k: [3, 7],
                strides: [1, 1],
                padding: [1, 1, 0, 0],
                layout: NHWC,
                kl: HWIO,
                x: (U4, 0, 15),
                w: (I4, -8, 7),
                bias: false,
            },
            // slow path: i16 activations (K * 32768 * 128 > 2^31), i64 accumulation
            ConvCase {
                nchw: [1, 64, 5, 5],
                o: 6,
                k: [3, 3],
                strides: [1, 1],
                padding: [1, 0, 2, 1],
                layout: NHWC,
                kl: OIHW,
                x: (I16, -32768, 32767),
                w: (I8, -128, 127),
                bias: true,
            },
            // slow path: i32 values outside i16
            ConvCase {
                nchw: [3, 3, 5, 4],
                o: 5,
                k: [3, 3],
                strides: [2, 2],
                padding: [0, 1, 1, 2],
                layout: HWNC,
                kl: OHWI,
                x: (I32, -100_000, 100_000),
                w: (I4, -8, 7),
                bias: true,
            },
        ];
        for seed in [1, 2, 3] {
            for cs in &cases {
                check_conv_case(cs, seed);
            }
        }
    }

    #[test]
    fn dense_matches_naive_loops_on_random_inputs() {
        // (n, k, o, input (type, lo, hi), weight (type, lo, hi), bias)
        type Case = (
            usize,
            usize,
            usize,
            (ElemType, i32, i32),
            (ElemType, i32, i32),
            bool,
        );
        let cases: [Case; 5] = [
            (1, 3, 7, (U4, 0, 15), (I4, -8, 7), true),
            (3, 40, 24, (U8, 0, 255), (I8, -128, 127), true),
            (3, 2048, 10, (U8, 0, 255), (I8, -128, 127), false),
            (1, 24, 40, (I8, -128, 127), (I8, -128, 127), true),
            // slow path
            (
                3,
                24,
                5,
                (I32, -1_000_000, 1_000_000),
                (I8, -128, 127),
                true,
            ),
        ];
        for seed in [4, 5, 6] {
            let mut rng = Rng(seed);
            for &(n, k, o, xe, we, has_bias) in &cases {
                let mut gen = |len: usize, lo: i32, hi: i32| -> Vec<i32> {
                    (0..len)
                        .map(|_| rng.int(lo as i64, hi as i64) as i32)
                        .collect()
                };
                let x = gen(n * k, xe.1, xe.2);
                let w = gen(o * k, we.1, we.2);
                let b = gen(o, -100_000, 100_000);
                let mut want = vec![];
                for i in 0..n {
                    for j in 0..o {
                        let mut acc: i64 = if has_bias { b[j] as i64 } else { 0 };
                        for kk in 0..k {
                            acc += x[i * k + kk] as i64 * w[j * k + kk] as i64;
                        }
                        want.push(i32::try_from(acc).unwrap());
                    }
                }
                let mut ws = vec![("w", ti(&[o as i64, k as i64], we.0, w))];
                if has_bias {
                    ws.push(("b", ti(&[o as i64], I32, b)));
                }
                let x = ti(&[n as i64, k as i64], xe.0, x);
                let got = one_op(&[x], &ws, Op::Dense, tt(&[n as i64, o as i64], I32)).unwrap();
                assert_eq!(got.ints(), &want[..], "seed {seed} n={n} k={k} o={o}");
            }
        }
    }

    /// The portable build of the conv row kernel and its AVX2 build agree; the naive-loop tests
    /// above check the dispatched one. Skipped, visibly, on a CPU without AVX2 (there the two
    /// would be the same function).
    #[test]
    fn portable_and_avx2_conv_rows_agree() {
        #[cfg(not(target_arch = "x86_64"))]
        {
            eprintln!("skipped: AVX2 exists only on x86-64");
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this CPU has no AVX2, so there is no second build to compare");
            return;
        }
        let mut rng = Rng(99);
        // (c, h, w, o, kh, kw, sh, sw, pt, pl)
        let geoms = [
            (3, 9, 11, 6, 7, 7, 2, 2, 3, 3),
            (37, 6, 5, 9, 3, 3, 1, 2, 1, 0),
            (64, 4, 4, 8, 1, 1, 1, 1, 0, 0),
        ];
        for (c, h, w, o, kh, kw, sh, sw, pt, pl) in geoms {
            let ow = (w + 2 * pl - kw) / sw + 1;
            let oh = (h + 2 * pt - kh) / sh + 1;
            let g = ConvGeom {
                c,
                o,
                ow,
                win: Window {
                    h,
                    w,
                    kh,
                    kw,
                    sh,
                    sw,
                    pt,
                    pl,
                },
            };
            let xh: Vec<i16> = (0..2 * h * w * c).map(|_| rng.int(0, 255) as i16).collect();
            let wk: Vec<i16> = (0..o * kh * kw * c)
                .map(|_| rng.int(-128, 127) as i16)
                .collect();
            for n in 0..2 {
                for y in 0..oh {
                    let (mut a, mut b) = (vec![0; ow * o], vec![1; ow * o]);
                    conv_row_i16_body(&xh, &wk, &g, n, y, &mut a);
                    // SAFETY: AVX2 was checked at the top of the test
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        conv_row_i16_avx2(&xh, &wk, &g, n, y, &mut b)
                    };
                    assert_eq!(a, b, "c={c} n={n} y={y}");
                    assert!(a.iter().any(|&v| v != 0));
                }
            }
        }
    }

    /// A small network (quantize, conv, requantize, max pool, conv, add, avg pool, flatten,
    /// dense, dequantize) gives the same logits in every activation layout.
    #[test]
    fn network_result_does_not_depend_on_the_layout() {
        let d = [2, 3, 9, 9];
        let mut rng = Rng(21);
        let input: Vec<f32> = (0..2 * 3 * 81).map(|_| rng.normal()).collect();
        let mut wts = Weights::default();
        wts.insert("c1", rng.tensor(&tt(&[8, 3, 3, 3], I8)));
        wts.insert(
            "b1",
            Tensor::int(
                tt(&[8], I32),
                (0..8).map(|_| rng.int(-500, 500) as i32).collect(),
            ),
        );
        wts.insert("c2", rng.tensor(&tt(&[8, 8, 1, 1], I4)));
        wts.insert("fc", rng.tensor(&tt(&[5, 8], I8)));
        let mut results = vec![];
        for l in Layout::ALL_4D {
            let sh = |nchw: [usize; 4], e| tt(&phys_shape(l, nchw), e);
            let mut g = Graph::new("net", vec![sh(d, F32)]);
            let q = g.push(
                Op::Quantize {
                    pre: vec![],
                    scale: 0.05,
                    layout: l,
                    zero_point: 0,
                    mode: Default::default(),
                },
                vec![0],
                sh(d, I8),
            );
            let w1 = g.push(
                Op::Weight { name: "c1".into() },
                vec![],
                tt(&[8, 3, 3, 3], I8),
            );
            let b1 = g.push(Op::Weight { name: "b1".into() }, vec![], tt(&[8], I32));
            let conv = conv_op([2, 2], [1, 1, 1, 1], l, KernelLayout::OIHW);
            let c1 = g.push(conv, vec![q, w1, b1], sh([2, 8, 5, 5], I32));
            let scales = ChannelScales {
                multiplier: (0..8).map(|i| 1_000_000_000 + i * 12_345_678).collect(),
                shift: vec![41; 8],
            };
            let rq = Op::Requantize {
                offset: vec![],
                scales,
                rounding: Rounding::HalfToEven,
                zero_point: 0,
                clamp: [0, 15],
                layout: l,
            };
            let a1 = g.push(rq, vec![c1], sh([2, 8, 5, 5], U4));
            let mp = Op::MaxPool2d {
                kernel: [3, 3],
                strides: [2, 2],
                padding: [1, 1, 1, 1],
                layout: l,
            };
            let p1 = g.push(mp, vec![a1], sh([2, 8, 3, 3], U4));
            let w2 = g.push(
                Op::Weight { name: "c2".into() },
                vec![],
                tt(&[8, 8, 1, 1], I4),
            );
            let c2 = g.push(
                conv_op([1, 1], [0; 4], l, KernelLayout::OIHW),
                vec![p1, w2],
                sh([2, 8, 3, 3], I32),
            );
            let add = Op::Add {
                lhs: per_tensor(3, 2),
                rhs: per_tensor(5, 1),
                rounding: Rounding::HalfUp,
                clamp: [-32768, 32767],
                layout: l,
                bias: 0.0,
            };
            let s = g.push(add, vec![c2, p1], sh([2, 8, 3, 3], I16));
            let ap = Op::AvgPool2d {
                kernel: [3, 3],
                strides: [1, 1],
                padding: [0; 4],
                layout: l,
                divisor: None,
            };
            let p2 = g.push(ap, vec![s], sh([2, 8, 1, 1], I16));
            let f = g.push(Op::Flatten { layout: l }, vec![p2], tt(&[2, 8], I16));
            let fw = g.push(Op::Weight { name: "fc".into() }, vec![], tt(&[5, 8], I8));
            let fc = g.push(Op::Dense, vec![f, fw], tt(&[2, 5], I32));
            let out = g.push(
                Op::Dequantize {
                    scales: vec![0.125],
                    layout: Layout::NC,
                },
                vec![fc],
                tt(&[2, 5], F32),
            );
            g.results = vec![out, a1];
            let mut x = vec![0f32; input.len()];
            let mut k = 0;
            for n in 0..d[0] {
                for c in 0..d[1] {
                    for h in 0..d[2] {
                        for w in 0..d[3] {
                            x[phys(l, [n, c, h, w], d, d[0])] = input[k];
                            k += 1;
                        }
                    }
                }
            }
            let r = run(&g, &wts, &[Tensor::float(sh(d, F32), x)]).unwrap();
            let a1 = r[1].ints();
            assert!(
                a1.iter().any(|&v| v > 0) && a1.iter().any(|&v| v < 15),
                "{l}: activations are alive"
            );
            results.push(r[0].clone());
        }
        assert!(results[0].floats().iter().any(|&v| v != 0.0));
        assert_eq!(results[0], results[1], "NCHW vs NHWC");
        assert_eq!(results[0], results[2], "NCHW vs HWNC");
    }

    // ---- errors --------------------------------------------------------------------------------

    fn conv_graph() -> (Graph, Weights) {
        let mut g = Graph::new("f", vec![tt(&[1, 3, 8, 8], U4)]);
        let w = g.push(
            Op::Weight { name: "w".into() },
            vec![],
            tt(&[4, 3, 3, 3], I4),
        );
        let c = g.push(
            conv_op([1, 1], [1; 4], NCHW, KernelLayout::OIHW),
            vec![0, w],
            tt(&[1, 4, 8, 8], I32),
        );
        g.nodes[1].loc = "model.mlir:3:7".into();
        g.results = vec![c];
        let mut ws = Weights::default();
        ws.insert("w", Tensor::int(tt(&[4, 3, 3, 3], I4), vec![1; 108]));
        (g, ws)
    }

    /// Multiply-adds: `conv_graph`'s 3x3 conv of 3 input channels (27 a result), a depthwise
    /// 3x3 conv of 4 groups (9 a result), a dense layer of K = 16; weights and the rest add
    /// none.
    #[test]
    fn macs_count_every_conv_and_dense_result() {
        let (mut g, _) = conv_graph();
        let c = g.results[0];
        let dw = g.push(
            Op::Weight { name: "dw".into() },
            vec![],
            tt(&[4, 1, 3, 3], I4),
        );
        let mut depthwise = conv_op([2, 2], [1; 4], NCHW, KernelLayout::OIHW);
        if let Op::Conv2d { groups, .. } = &mut depthwise {
            *groups = 4;
        }
        let d = g.push(depthwise, vec![c, dw], tt(&[1, 4, 4, 4], I32));
        let fw = g.push(Op::Weight { name: "fw".into() }, vec![], tt(&[5, 16], I8));
        let flat = g.push(Op::Flatten { layout: NCHW }, vec![d], tt(&[1, 64], I32));
        g.push(Op::Dense, vec![flat, fw], tt(&[1, 5], I32));
        assert_eq!(macs(&g), 4 * 64 * 27 + 4 * 16 * 9 + 5 * 16);
    }

    fn input() -> Tensor {
        Tensor::int(tt(&[1, 3, 8, 8], U4), vec![2; 192])
    }

    #[test]
    fn conv_graph_runs() {
        let (g, w) = conv_graph();
        let y = run(&g, &w, &[input()]).unwrap();
        // Corner: 2x2 in-bounds taps x 3 channels x 2 = 24; interior: 27 taps x 2 = 54.
        assert_eq!(y[0].ints()[0], 24);
        assert_eq!(y[0].ints()[9], 54);
    }

    #[test]
    fn wrong_input_count_is_an_error() {
        let (g, w) = conv_graph();
        let e = run(&g, &w, &[]).unwrap_err();
        assert!(
            e.contains("expected 1 input(s)") && e.contains("got 0"),
            "{e}"
        );
        let e = run(&g, &w, &[input(), input()]).unwrap_err();
        assert!(e.contains("got 2"), "{e}");
    }

    #[test]
    fn wrong_input_type_or_data_is_an_error() {
        let (g, w) = conv_graph();
        let x = Tensor::int(tt(&[1, 3, 8, 9], U4), vec![0; 216]);
        let e = run(&g, &w, &[x]).unwrap_err();
        assert!(
            e.contains("%arg0")
                && e.contains("tensor<1x3x8x8xui4>")
                && e.contains("tensor<1x3x8x9xui4>"),
            "{e}"
        );
        let x = Tensor::int(tt(&[1, 3, 8, 8], I8), vec![0; 192]);
        assert!(run(&g, &w, &[x]).unwrap_err().contains("expects"));
        let mut x = input();
        x.data = Data::Int(vec![16; 192]);
        let e = run(&g, &w, &[x]).unwrap_err();
        assert!(e.contains("16 does not fit the element type ui4"), "{e}");
        let mut x = input();
        x.data = Data::Float(vec![0.0; 192]);
        assert!(run(&g, &w, &[x]).unwrap_err().contains("f32 data"));
        let mut x = input();
        x.data = Data::Int(vec![0; 10]);
        assert!(run(&g, &w, &[x]).unwrap_err().contains("holds 10"));
    }

    #[test]
    fn missing_or_mismatched_weight_is_an_error() {
        let (g, _) = conv_graph();
        let e = run(&g, &Weights::default(), &[input()]).unwrap_err();
        assert!(
            e.contains("'qnn.weight'") && e.contains("weight 'w' is missing"),
            "{e}"
        );
        let mut ws = Weights::default();
        ws.insert("w", Tensor::int(tt(&[4, 3, 1, 1], I8), vec![1; 12]));
        assert!(run(&g, &ws, &[input()])
            .unwrap_err()
            .contains("shape [4, 3, 1, 1]"));
        let mut ws = Weights::default();
        ws.insert("w", Tensor::int(tt(&[4, 3, 3, 3], I8), vec![100; 108]));
        assert!(run(&g, &ws, &[input()])
            .unwrap_err()
            .contains("does not fit the element type i4"));
    }

    #[test]
    fn malformed_ops_are_errors_with_location() {
        // Conv result shape that does not match the geometry, reported at the op's location.
        let (mut g, w) = conv_graph();
        g.nodes[1].result = tt(&[1, 4, 6, 6], I32);
        let e = run(&g, &w, &[input()]).unwrap_err();
        assert!(
            e.starts_with("model.mlir:3:7: error: 'qnn.conv2d' %1:"),
            "{e}"
        );
        assert!(e.contains("[1, 4, 8, 8]"), "{e}");
        // Channel mismatch between input and weight.
        let mut g2 = Graph::new("f", vec![tt(&[1, 2, 8, 8], U4)]);
        let wv = g2.push(
            Op::Weight { name: "w".into() },
            vec![],
            tt(&[4, 3, 3, 3], I4),
        );
        let c = g2.push(
            conv_op([1, 1], [1; 4], NCHW, KernelLayout::OIHW),
            vec![0, wv],
            tt(&[1, 4, 8, 8], I32),
        );
        g2.results = vec![c];
        let x = Tensor::int(tt(&[1, 2, 8, 8], U4), vec![0; 128]);
        assert!(run(&g2, &w, &[x]).unwrap_err().contains("expects 3"));
        // Wrong operand count; an operand that is not defined yet; a result that does not exist.
        let (mut g, w) = conv_graph();
        g.nodes[1].operands = vec![0];
        assert!(run(&g, &w, &[input()])
            .unwrap_err()
            .contains("expects 2 to 3 operand(s), got 1"));
        let (mut g, w) = conv_graph();
        g.nodes[1].operands = vec![0, 2];
        assert!(run(&g, &w, &[input()])
            .unwrap_err()
            .contains("not defined before"));
        let (mut g, w) = conv_graph();
        g.results = vec![7];
        assert!(run(&g, &w, &[input()]).unwrap_err().contains("result #0"));
        // Requantize with the wrong number of scales, a bad shift, an empty clamp range.
        let x = ti(&[1, 3], I32, vec![1, 2, 3]);
        let rq = |scales, clamp| Op::Requantize {
            offset: vec![],
            scales,
            rounding: Rounding::HalfUp,
            zero_point: 0,
            clamp,
            layout: NC,
        };
        let two = ChannelScales {
            multiplier: vec![1, 1],
            shift: vec![0, 0],
        };
        let e = one_op(
            std::slice::from_ref(&x),
            &[],
            rq(two, [0, 15]),
            tt(&[1, 3], U4),
        )
        .unwrap_err();
        assert!(e.contains("2 scale(s) for 3 channel(s)"), "{e}");
        let e = one_op(
            std::slice::from_ref(&x),
            &[],
            rq(per_tensor(1, 70), [0, 15]),
            tt(&[1, 3], U4),
        )
        .unwrap_err();
        assert!(e.contains("shift 70"), "{e}");
        let e = one_op(
            std::slice::from_ref(&x),
            &[],
            rq(per_tensor(1, 0), [5, 1]),
            tt(&[1, 3], U4),
        )
        .unwrap_err();
        assert!(e.contains("greater than"), "{e}");
        // A max pool window entirely in the padding.
        let op = Op::MaxPool2d {
            kernel: [1, 1],
            strides: [1, 1],
            padding: [1, 1, 1, 1],
            layout: NCHW,
        };
        let e = one_op(
            &[ti(&[1, 1, 1, 1], I8, vec![3])],
            &[],
            op,
            tt(&[1, 1, 3, 3], I8),
        )
        .unwrap_err();
        assert!(e.contains("entirely in the padding"), "{e}");
        // Relu on f32, add with mismatched shapes.
        let f = Tensor::float(tt(&[1, 2], F32), vec![1.0, -1.0]);
        assert!(one_op(&[f], &[], Op::Relu { layout: NC }, tt(&[1, 2], F32))
            .unwrap_err()
            .contains("integer tensor"));
        let add = Op::Add {
            lhs: per_tensor(1, 0),
            rhs: per_tensor(1, 0),
            rounding: Rounding::HalfUp,
            clamp: [-9, 9],
            layout: NC,
            bias: 0.0,
        };
        let e = one_op(
            &[x, ti(&[1, 2], I32, vec![1, 2])],
            &[],
            add,
            tt(&[1, 3], I32),
        )
        .unwrap_err();
        assert!(e.contains("differ in shape"), "{e}");
        // An avg pool result that does not fit its declared type.
        let op = Op::AvgPool2d {
            kernel: [1, 1],
            strides: [1, 1],
            padding: [0; 4],
            layout: NCHW,
            divisor: None,
        };
        let e = one_op(
            &[ti(&[1, 1, 1, 2], I8, vec![-3, 20])],
            &[],
            op,
            tt(&[1, 1, 1, 2], I4),
        )
        .unwrap_err();
        assert!(e.contains("20 does not fit the element type i4"), "{e}");
    }

    #[test]
    fn accumulator_overflow_is_an_error_not_a_wrap() {
        // 64 * 3 * 3 * 32767 * 127 = 2_396_971_584 > i32::MAX at every interior output.
        let x = Tensor::int(tt(&[1, 64, 3, 3], I16), vec![32767; 576]);
        let w = Tensor::int(tt(&[1, 64, 3, 3], I8), vec![127; 576]);
        let op = conv_op([1, 1], [0; 4], NCHW, KernelLayout::OIHW);
        let e = one_op(&[x], &[("w", w)], op, tt(&[1, 1, 1, 1], I32)).unwrap_err();
        assert!(
            e.contains("2396971584") && e.contains("does not fit i32"),
            "{e}"
        );
        // The bias can push a fast-path accumulator out of range too.
        let x = ti(&[1, 1, 1, 1], I8, vec![-1]);
        let w = ti(&[1, 1, 1, 1], I8, vec![1]);
        let b = ti(&[1], I32, vec![i32::MIN]);
        let op = conv_op([1, 1], [0; 4], NHWC, KernelLayout::OHWI);
        let e = one_op(
            std::slice::from_ref(&x),
            &[("w", w), ("b", b)],
            op,
            tt(&[1, 1, 1, 1], I32),
        )
        .unwrap_err();
        assert!(e.contains("-2147483649"), "{e}");
        let x = ti(&[1, 4], I32, vec![i32::MAX; 4]);
        let w = ti(&[1, 4], I8, vec![127; 4]);
        let e = one_op(&[x], &[("w", w)], Op::Dense, tt(&[1, 1], I32)).unwrap_err();
        assert!(e.contains("does not fit i32"), "{e}");
        // i32 x i32 products near 2^62: partial sums leave i64, the exact sum is still found.
        let m = i32::MAX;
        let x = ti(&[1, 4], I32, vec![m; 4]);
        let w = ti(&[2, 4], I32, vec![m, m, -m, -m, m, m, m, m]);
        let e = one_op(
            std::slice::from_ref(&x),
            &[("w", w)],
            Op::Dense,
            tt(&[1, 2], I32),
        )
        .unwrap_err();
        assert!(
            e.contains("at output (n=0, c=1)") && e.contains("18446744056529682436"),
            "{e}"
        );
        let w = ti(&[1, 4], I32, vec![m, m, -m, -m]);
        assert_eq!(
            one_op(&[x], &[("w", w)], Op::Dense, tt(&[1, 1], I32))
                .unwrap()
                .ints(),
            [0]
        );
        let x = ti(&[1, 4, 1, 1], I32, vec![m; 4]);
        let w = ti(&[2, 4, 1, 1], I32, vec![m, m, -m, -m, m, m, m, m]);
        let op = conv_op([1, 1], [0; 4], NCHW, KernelLayout::OIHW);
        let e = one_op(&[x], &[("w", w)], op, tt(&[1, 2, 1, 1], I32)).unwrap_err();
        assert!(
            e.contains("c=1") && e.contains("18446744056529682436"),
            "{e}"
        );
    }

    /// conv2d_fused computes exactly what its unfused chain computes, for both epilogue kinds,
    /// with and without bias, on fresh random data in two layouts.
    #[test]
    fn conv2d_fused_equals_the_unfused_chain() {
        use crate::graph::{Epilogue, EpilogueKind};
        for (seed, layout) in [(11u64, NCHW), (12, NHWC), (13, HWNC)] {
            let mut rng = Rng(seed);
            let (n, c, h, o) = (3i64, 24i64, 7i64, 16i64);
            let xt = tt(&layout.shape([n, c, h, h]), U4);
            let yt_shape = layout.shape([n, o, 4, 4]);
            let mut g = Graph::new("f", vec![xt.clone(), tt(&yt_shape, I32)]);
            let w = g.push(
                Op::Weight { name: "w".into() },
                vec![],
                tt(&[o, c, 3, 3], I4),
            );
            let b = g.push(Op::Weight { name: "b".into() }, vec![], tt(&[o], I32));
            let conv = Op::Conv2d {
                strides: [2, 2],
                padding: [1, 1, 1, 1],
                layout,
                kernel_layout: KernelLayout::OIHW,
                padding_value: 0,
                groups: 1,
            };
            let acc = g.push(conv, vec![0, w, b], tt(&yt_shape, I32));
            let scales = ChannelScales {
                multiplier: (0..o)
                    .map(|_| rng.int(1 << 29, (1 << 31) - 1) as i32)
                    .collect(),
                shift: (0..o).map(|_| rng.int(33, 36) as i32).collect(),
            };
            let residual = ChannelScales {
                multiplier: vec![1 << 30],
                shift: vec![31],
            };
            let rq = Op::Requantize {
                offset: vec![],
                scales: scales.clone(),
                rounding: Rounding::HalfToEven,
                zero_point: 0,
                clamp: [0, 15],
                layout,
            };
            let q = g.push(rq, vec![acc], tt(&yt_shape, U4));
            let add = Op::Add {
                lhs: scales.clone(),
                rhs: residual.clone(),
                rounding: Rounding::HalfUp,
                clamp: [-1000, 1000],
                layout,
                bias: 0.0,
            };
            let s = g.push(add, vec![acc, 1], tt(&yt_shape, I32));
            let r = g.push(Op::Relu { layout }, vec![s], tt(&yt_shape, I32));
            let fused = |kind, rounding, clamp, relu| Op::Conv2dFused {
                strides: [2, 2],
                padding: [1, 1, 1, 1],
                layout,
                kernel_layout: KernelLayout::OIHW,
                epilogue: Epilogue {
                    kind,
                    rounding,
                    clamp,
                    relu,
                    second: None,
                    then: None,
                },
                padding_value: 0,
                groups: 1,
            };
            let fq = g.push(
                fused(
                    EpilogueKind::Requantize {
                        scales: scales.clone(),
                        zero_point: 0,
                    },
                    Rounding::HalfToEven,
                    [0, 15],
                    false,
                ),
                vec![0, w, b],
                tt(&yt_shape, U4),
            );
            let fr = g.push(
                fused(
                    EpilogueKind::Residual {
                        scales: scales.clone(),
                        residual,
                    },
                    Rounding::HalfUp,
                    [-1000, 1000],
                    true,
                ),
                vec![0, w, b, 1],
                tt(&yt_shape, I32),
            );
            g.results = vec![q, fq, r, fr];
            let mut wts = Weights::default();
            wts.insert("w", rng.tensor(&tt(&[o, c, 3, 3], I4)));
            wts.insert(
                "b",
                Tensor::int(
                    tt(&[o], I32),
                    (0..o).map(|_| rng.int(-500, 500) as i32).collect(),
                ),
            );
            let x = rng.tensor(&xt);
            let id = Tensor::int(
                tt(&yt_shape, I32),
                (0..yt_shape.iter().product::<i64>() as usize)
                    .map(|_| rng.int(-3000, 3000) as i32)
                    .collect(),
            );
            let out = run(&g, &wts, &[x, id]).unwrap();
            assert_eq!(out[0], out[1], "requantize epilogue ({layout})");
            assert_eq!(out[2], out[3], "residual epilogue ({layout})");
            assert!(
                out[1].ints().iter().any(|&v| v > 0 && v < 15),
                "not degenerate"
            );
        }
    }
}
