//! Static value bounds: an interval for every integer value of a graph that contains every value
//! the reference can compute, on any input of the arguments' types, from the weights, the biases
//! and the epilogues' scales and clamps. The residual stream (the unclamped i32 sums HAWQ keeps
//! between residual units) is where it matters: a stream whose bound fits i16 can be stored in
//! half the bytes and stay exact.
//!
//! Intervals are per tensor; a conv's accumulator is bounded per output channel (its weights
//! against the input interval, padding counted as zeros) and the epilogue is applied to each
//! channel's endpoints (requantize and clamp are monotone in the accumulator for non-negative
//! multipliers; a negative one swaps the endpoints).

use crate::graph::{ChannelScales, EpilogueKind, Graph, Op};
use crate::semantics::{add_f32_fma, requantize_f32_fma, round_shift, KernelLayout, Rounding};
use crate::weights::Weights;

/// An inclusive integer interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub lo: i64,
    pub hi: i64,
}

impl Interval {
    fn new(lo: i64, hi: i64) -> Self {
        Interval { lo, hi }
    }
    fn hull(self, o: Interval) -> Interval {
        Interval::new(self.lo.min(o.lo), self.hi.max(o.hi))
    }
    fn clamp(self, c: [i64; 2]) -> Interval {
        Interval::new(self.lo.clamp(c[0], c[1]), self.hi.clamp(c[0], c[1]))
    }
    fn with_zero(self) -> Interval {
        self.hull(Interval::new(0, 0))
    }
    /// The largest magnitude in the interval.
    pub fn magnitude(self) -> u64 {
        self.lo.unsigned_abs().max(self.hi.unsigned_abs())
    }
    /// Whether every value fits i16.
    pub fn fits_i16(self) -> bool {
        self.lo >= i16::MIN as i64 && self.hi <= i16::MAX as i64
    }
}

/// `round(x * m / 2^s)` over an interval (monotone; a negative multiplier swaps the ends).
fn scale(x: Interval, s: &ChannelScales, c: usize, mode: Rounding) -> Interval {
    let d = s.get(c);
    let f = |v: i64| match mode {
        _ if mode.is_f32() => d.apply(v, mode),
        _ => round_shift(v.saturating_mul(d.multiplier as i64), d.shift, mode),
    };
    let (a, b) = (f(x.lo), f(x.hi));
    Interval::new(a.min(b), a.max(b))
}

/// Per output channel: the accumulator interval of `sum_k w[o, k] * x_k + bias[o]` for
/// `x_k` in `x`; `o_axis` is the output-channel axis of the row-major weight of shape `dims`.
fn dot_bounds(
    w: &[i32],
    dims: &[i64],
    o_axis: usize,
    x: Interval,
    bias: Option<&[i32]>,
) -> Vec<Interval> {
    let o = dims[o_axis] as usize;
    let inner: usize = dims[o_axis + 1..].iter().product::<i64>() as usize;
    let mut acc = vec![Interval::new(0, 0); o];
    for (i, &wv) in w.iter().enumerate() {
        let ch = (i / inner) % o;
        let (a, b) = (wv as i64 * x.lo, wv as i64 * x.hi);
        acc[ch].lo += a.min(b);
        acc[ch].hi += a.max(b);
    }
    if let Some(b) = bias {
        for (ch, a) in acc.iter_mut().enumerate() {
            let bv = b[if b.len() == 1 { 0 } else { ch }] as i64;
            a.lo += bv;
            a.hi += bv;
        }
    }
    acc
}

/// The interval of every value of `g` (arguments first, then one per node; None for float
/// values and weights). Errors when a weight the graph names is missing.
pub fn value_bounds(g: &Graph, w: &Weights) -> Result<Vec<Option<Interval>>, String> {
    let ty_range = |e: crate::semantics::ElemType| {
        e.is_int().then(|| {
            let (lo, hi) = e.range();
            Interval::new(lo, hi)
        })
    };
    let mut out: Vec<Option<Interval>> = g.args.iter().map(|t| ty_range(t.elem)).collect();
    // the second result of each two-result conv, by node value id
    let mut second: Vec<Option<Interval>> = vec![None; g.args.len() + g.nodes.len()];
    for (ni, n) in g.nodes.iter().enumerate() {
        let id = g.args.len() + ni;
        let arg = |k: usize| {
            n.operands
                .get(k)
                .and_then(|&v| out.get(v).copied().flatten())
        };
        let weight = |k: usize| -> Result<Option<&crate::tensor::Tensor>, String> {
            let Some(&v) = n.operands.get(k) else {
                return Ok(None);
            };
            if v < g.args.len() {
                return Ok(None);
            }
            match &g.nodes[v - g.args.len()].op {
                Op::Weight { name } => w
                    .get(name)
                    .map(Some)
                    .ok_or_else(|| format!("weight '{name}' is missing")),
                _ => Ok(None),
            }
        };
        let conv_acc = |kl: KernelLayout, padded: bool| -> Result<Option<Vec<Interval>>, String> {
            let (Some(x), Some(wt)) = (arg(0), weight(1)?) else {
                return Ok(None);
            };
            let x = if padded { x.with_zero() } else { x };
            let bias = weight(2)?.map(|b| b.ints().to_vec());
            let o_axis = match kl {
                KernelLayout::OIHW | KernelLayout::OHWI => 0,
                KernelLayout::HWOI => 2,
                KernelLayout::HWIO => 3,
            };
            Ok(Some(dot_bounds(
                wt.ints(),
                &wt.ty.shape,
                o_axis,
                x,
                bias.as_deref(),
            )))
        };
        let tensor = |v: Vec<Interval>| v.into_iter().reduce(Interval::hull);
        let typed = |b: Option<Interval>| -> Option<Interval> {
            let t = ty_range(n.result.elem)?;
            Some(b.map_or(t, |b| b.clamp([t.lo, t.hi])))
        };
        let b: Option<Interval> = match &n.op {
            Op::Weight { .. } | Op::Dequantize { .. } => None,
            Op::Quantize { .. } => ty_range(n.result.elem),
            Op::Conv2d {
                padding,
                kernel_layout,
                ..
            } => conv_acc(*kernel_layout, padding.iter().any(|&p| p > 0))?.and_then(tensor),
            Op::Dense => conv_acc(KernelLayout::OIHW, false)?.and_then(tensor),
            Op::Conv2dFused {
                padding,
                kernel_layout,
                epilogue: e,
                ..
            } => {
                let Some(acc) = conv_acc(*kernel_layout, padding.iter().any(|&p| p > 0))? else {
                    out.push(typed(None));
                    continue;
                };
                let res = match e.kind {
                    EpilogueKind::Residual { .. } => arg(n.operands.len() - 1),
                    _ => None,
                };
                let mut first = Vec::with_capacity(acc.len());
                let mut snd = Vec::with_capacity(acc.len());
                for (c, a) in acc.iter().enumerate() {
                    let v = match &e.kind {
                        EpilogueKind::None => *a,
                        EpilogueKind::Requantize { scales, zero_point } => {
                            let s = scale(*a, scales, c, e.rounding);
                            Interval::new(s.lo + zero_point, s.hi + zero_point)
                        }
                        EpilogueKind::Residual { scales, residual } => {
                            let s = scale(*a, scales, c, e.rounding);
                            let r = res
                                .map(|r| scale(r, residual, c, e.rounding))
                                .unwrap_or(Interval::new(i32::MIN as i64, i32::MAX as i64));
                            Interval::new(s.lo + r.lo, s.hi + r.hi)
                        }
                    };
                    let mut v = v.clamp(e.clamp);
                    if e.relu {
                        v = v.clamp([0, i64::MAX]);
                    }
                    let step = |v: Interval, so: &crate::graph::RequantizeStep| {
                        let z = scale(v, &so.scales, c, so.rounding);
                        Interval::new(z.lo + so.zero_point, z.hi + so.zero_point).clamp(so.clamp)
                    };
                    if let Some(so) = &e.second {
                        snd.push(step(v, so));
                    }
                    if let Some(t) = &e.then {
                        v = step(v.clamp([i32::MIN as i64, i32::MAX as i64]), t);
                    }
                    first.push(v);
                }
                second[id] = tensor(snd);
                tensor(first)
            }
            Op::SecondResult => n.operands.first().and_then(|&v| second[v]),
            Op::Requantize {
                scales,
                rounding,
                zero_point,
                clamp,
                offset,
                ..
            } => arg(0).map(|x| {
                let n_ch = scales.multiplier.len().max(offset.len());
                (0..n_ch)
                    .map(|c| {
                        let s = if *rounding == Rounding::F32Fma {
                            // a non-negative scale: monotone
                            let o = offset.get(c).or(offset.first()).copied().unwrap_or(0.0);
                            let f = |v| requantize_f32_fma(v, scales.get(c), o);
                            Interval::new(f(x.lo), f(x.hi))
                        } else {
                            scale(x, scales, c, *rounding)
                        };
                        Interval::new(s.lo + zero_point, s.hi + zero_point).clamp(*clamp)
                    })
                    .reduce(Interval::hull)
                    .unwrap_or(x)
            }),
            Op::Add {
                lhs,
                rhs,
                rounding,
                clamp,
                bias,
                ..
            } => match (arg(0), arg(1)) {
                (Some(a), Some(b)) => {
                    let n_ch = lhs.multiplier.len().max(rhs.multiplier.len());
                    (0..n_ch)
                        .map(|c| {
                            if *rounding == Rounding::F32Fma {
                                // non-negative scales: monotone in both operands
                                let f = |x, y| add_f32_fma(x, y, lhs.get(c), rhs.get(c), *bias);
                                return Interval::new(f(a.lo, b.lo), f(a.hi, b.hi)).clamp(*clamp);
                            }
                            let (x, y) = (scale(a, lhs, c, *rounding), scale(b, rhs, c, *rounding));
                            Interval::new(x.lo + y.lo, x.hi + y.hi).clamp(*clamp)
                        })
                        .reduce(Interval::hull)
                }
                _ => None,
            },
            Op::Mul { .. } => match (arg(0), arg(1)) {
                (Some(a), Some(b)) => {
                    let p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
                    Some(Interval::new(
                        *p.iter().min().unwrap(),
                        *p.iter().max().unwrap(),
                    ))
                }
                _ => None,
            },
            Op::Lookup { table, .. } => {
                let e = g.value_type(n.operands[0]).elem;
                arg(0)
                    .and_then(|x| crate::semantics::lookup_range(table, e, (x.lo, x.hi)))
                    .map(|(lo, hi)| Interval::new(lo, hi))
            }
            Op::Relu { .. } => arg(0).map(|x| x.clamp([0, i64::MAX])),
            Op::Clamp { min, max, .. } => arg(0).map(|x| x.clamp([*min, *max])),
            Op::MaxPool2d { .. }
            | Op::Flatten { .. }
            | Op::LayoutTransform { .. }
            | Op::GatherChannels { .. } => arg(0),
            Op::Concat { .. } => (0..n.operands.len())
                .map(arg)
                .reduce(|a, b| Some(a?.hull(b?)))
                .flatten(),
            // floor(sum / count) with padding counted as zeros
            Op::AvgPool2d { .. } => arg(0).map(Interval::with_zero),
            // quantized to the result type
            Op::AvgPool2dF32 { .. } | Op::Softmax { .. } => {
                let (lo, hi) = n.result.elem.range();
                Some(Interval::new(lo, hi))
            }
        };
        out.push(typed(b).filter(|_| n.result.elem.is_int()));
    }
    Ok(out)
}
