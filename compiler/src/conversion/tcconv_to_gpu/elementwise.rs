//! One-thread-per-output-group kernels: quantize (f32 -> packed int), dequantize, relayout,
//! concat and the elementwise family (requantize / residual add / relu / clamp / mul / lookup).
//!
//! Every kernel here: thread `t = block_id.x * 256 + thread_id.x` writes the output slots
//! `[base(t), base(t) + g)` of [`layout::out_plan`] (one whole 32-bit word of 8 channels for
//! 4-bit outputs, one element otherwise, see [`CHANNELS_PER_THREAD`]) and reads each input at the
//! same logical (n, c, h, w) through the input's own slot formula. Padding channels
//! (`C <= c < Cs`) are written as 0.
//!
//! Per-kernel work (E = logical output elements, S = stored output bytes, bytes of the inputs
//! as stored): memory bound everywhere, the floor is bytes / bandwidth.
//! - quantize: E * (1 fmul + ~10 f32/int ops), reads 4*E bytes of f32, writes S.
//! - dequantize: E * (1 cvt + 1 fmul), reads the stored input, writes 4*E bytes.
//! - relayout: E * (extract + insert), reads the stored input, writes S.
//! - concat: E * (k compares + extract + insert) for k inputs, reads each stored input once,
//!   writes S.
//! - requantize: E * (1 i64 mul + ~12 i64 ops for the rounding + 2 clamps), add: twice that,
//!   relu / clamp: E * 2 ops, mul: E * 1 multiply (a channel scale read once a pixel per
//!   channel), lookup: E * (1 subtract + 1 table load, the table cached); reads the stored inputs
//!   (+ per-channel tables, cached), writes S.

use super::builder::{Cmp, CmpF, KernelBuilder, Param, Scalar, TableRange, Val};
use super::layout::tap;
use super::layout::{act_slot, out_plan, range, read_group, Buf, Group, Item};
use nibble_qnn::graph::ChannelScales;
use nibble_qnn::semantics::{
    lookup_tables, ElemType, FloatOp, FloatStep, Layout, QuantizeMode, Rounding,
};
use nibble_tcconv::buffer::{padded_channels, padded_dims, quantize_output_dims, ActBuffer};
use nibble_tcconv::program::Elementwise;

/// Threads per block of the simple kernels.
pub const SIMPLE_BLOCK_THREADS: i64 = 256;

/// Channels per thread of the memory-bound kernels here and in `pool.rs`: one element per
/// thread (the most threads, consecutive threads writing consecutive elements); 4-bit outputs
/// still take one whole word (8 channels) per thread (`layout::out_plan`).
pub const CHANNELS_PER_THREAD: i64 = 1;

/// Channels per thread of the quantize kernel: up to four bytes of a pixel, stored as one word
/// (one byte a thread was issue-bound by its index math: ResNet-50 batch 256 read 154 MB of
/// f32 and wrote 51 MB in 0.24 ms on the H200, 6x the memory floor).
pub const QUANTIZE_CHANNELS_PER_THREAD: i64 = 4;

/// The common skeleton: `if t < threads { group; values = f(group); mask padding; store }`.
/// `f` returns one value per item (i32 for integer outputs, f32 for f32 outputs).
pub fn each_group(
    kb: &mut KernelBuilder,
    out_arg: Val,
    out: &ActBuffer,
    gmax: i64,
    f: &mut dyn FnMut(&mut KernelBuilder, &Group) -> Result<Vec<Val>, String>,
) -> Result<i64, String> {
    let plan = out_plan(out, gmax);
    let t = kb.global_id();
    let lim = kb.idx(plan.threads);
    let inb = kb.cmp(Cmp::Ult, t, lim);
    let mut res = Ok(());
    kb.if_then(inb, |kb| {
        let obuf = Buf::act(kb, out_arg, out);
        let grp = super::layout::group(kb, out, plan, t);
        match f(kb, &grp) {
            Ok(vals) => {
                let vals = mask(kb, &grp.items, vals, out.elem == ElemType::F32);
                obuf.store_slots(kb, grp.base, &vals);
            }
            Err(e) => res = Err(e),
        }
    });
    res.map(|_| plan.threads)
}

/// Zero the values of padding channels.
pub fn mask(kb: &mut KernelBuilder, items: &[Item], vals: Vec<Val>, float: bool) -> Vec<Val> {
    items
        .iter()
        .zip(vals)
        .map(|(it, v)| match it.valid {
            None => v,
            Some(ok) => {
                let z = if float { kb.f32c(0.0) } else { kb.i32c(0) };
                kb.select(ok, v, z)
            }
        })
        .collect()
}

/// Split a group into sub-groups whose items share (n, h, w): the whole group when it is
/// channel-consecutive, else one sub-group per item.
pub fn subgroups(grp: &Group) -> Vec<Group> {
    if grp.shared {
        return vec![Group {
            base: grp.base,
            items: grp.items.clone(),
            shared: true,
        }];
    }
    grp.items
        .iter()
        .map(|it| Group {
            base: grp.base,
            items: vec![*it],
            shared: false,
        })
        .collect()
}

/// Identity window: read inputs at the item's own (h, w).
fn same(_: &mut KernelBuilder, it: &Item) -> (Val, Val) {
    (it.h, it.w)
}

/// A per-channel parameter at (clamped) channel `cc`: a constant when every channel has the
/// same value, else a load from a constant table in the gpu.module.
pub fn chan(
    kb: &mut KernelBuilder,
    what: &str,
    vals: &[i32],
    cc: Val,
    channels: i64,
) -> Result<Param, String> {
    if vals.is_empty() {
        return Err(format!("empty per-channel '{what}' parameters"));
    }
    if vals.iter().all(|&v| v == vals[0]) {
        return Ok(Param::Const(vals[0] as i64));
    }
    if vals.len() as i64 != channels {
        return Err(format!(
            "{} '{what}' values for {channels} channels (need 1 or {channels})",
            vals.len()
        ));
    }
    let t = kb.table(what, vals);
    let v = kb.load(t, cc);
    Ok(Param::Table(v, table_range(vals)))
}

/// A per-channel f32 at channel `cc` ([`chan`] over the values' bits): a constant when every
/// channel has the same value, else a table load.
fn f32_chan(
    kb: &mut KernelBuilder,
    what: &str,
    vals: &[f32],
    cc: Val,
    channels: i64,
) -> Result<Val, String> {
    let bits: Vec<i32> = vals.iter().map(|v| v.to_bits() as i32).collect();
    Ok(match chan(kb, what, &bits, cc, channels)? {
        Param::Const(b) => kb.f32c(f32::from_bits(b as u32)),
        Param::Table(v, _) => kb.bitcast_f32(v),
    })
}

/// Channels `oc` and `oc + 1`, each clamped to the last of `channels`.
pub fn clamped_pair(kb: &mut KernelBuilder, oc: Val, channels: i64) -> [Val; 2] {
    let olast = kb.idx(channels - 1);
    let one = kb.idx(1);
    let o1 = kb.add(oc, one);
    [kb.mins(oc, olast), kb.mins(o1, olast)]
}

/// What the build knows of a table's values (also a part of the kernel's signature).
pub(super) fn table_range(vals: &[i32]) -> TableRange {
    if vals.iter().all(|x| (33..=62).contains(x)) {
        TableRange::High
    } else if vals.iter().all(|x| (1..=31).contains(x)) {
        TableRange::Low
    } else if vals.contains(&0) {
        TableRange::Any
    } else {
        TableRange::NonZero
    }
}

/// [`chan`] at channels `oc` and `oc + 1` (`oc` even, the pair a thread's accumulator fragment
/// holds): one 8-byte load of the table's pair where the channel count is even (tables sit at
/// 256-byte-aligned offsets); channels past the last read the last pair (their values are
/// never stored). Odd channel counts read each channel, clamped to the last.
pub fn chan_pair(
    kb: &mut KernelBuilder,
    what: &str,
    vals: &[i32],
    oc: Val,
    channels: i64,
) -> Result<[Param; 2], String> {
    let uniform = !vals.is_empty() && vals.iter().all(|&v| v == vals[0]);
    if uniform || channels % 2 != 0 || vals.len() as i64 != channels {
        let [c0, c1] = clamped_pair(kb, oc, channels);
        return Ok([
            chan(kb, what, vals, c0, channels)?,
            chan(kb, what, vals, c1, channels)?,
        ]);
    }
    let t = kb.table(what, vals);
    let last = kb.idx(channels - 2);
    let oe = kb.mins(oc, last);
    let [v0, v1] = kb.load2(t, oe);
    let range = table_range(vals);
    Ok([Param::Table(v0, range), Param::Table(v1, range)])
}

/// `Dyadic::apply` of per-channel scales `s` at channel `cc`.
pub fn apply_scales(
    kb: &mut KernelBuilder,
    x: Val,
    s: &ChannelScales,
    prefix: &str,
    cc: Val,
    channels: i64,
    mode: Rounding,
) -> Result<Val, String> {
    let (b, c) = scale_params(kb, s, prefix, cc, channels)?;
    Ok(kb.dyadic(x, b, c, mode))
}

/// The (multiplier, shift) of per-channel scales `s` at channel `cc`: constants, or loads from
/// the `{prefix}mul` / `{prefix}shift` tables.
pub fn scale_params(
    kb: &mut KernelBuilder,
    s: &ChannelScales,
    prefix: &str,
    cc: Val,
    channels: i64,
) -> Result<(Param, Param), String> {
    check_scales(s, prefix)?;
    let b = chan(kb, &format!("{prefix}mul"), &s.multiplier, cc, channels)?;
    let c = chan(kb, &format!("{prefix}shift"), &s.shift, cc, channels)?;
    Ok((b, c))
}

/// [`scale_params`] at channels `oc` and `oc + 1` ([`chan_pair`]).
pub fn scale_params_pair(
    kb: &mut KernelBuilder,
    s: &ChannelScales,
    prefix: &str,
    oc: Val,
    channels: i64,
) -> Result<[(Param, Param); 2], String> {
    check_scales(s, prefix)?;
    let [b0, b1] = chan_pair(kb, &format!("{prefix}mul"), &s.multiplier, oc, channels)?;
    let [c0, c1] = chan_pair(kb, &format!("{prefix}shift"), &s.shift, oc, channels)?;
    Ok([(b0, c0), (b1, c1)])
}

/// Per-channel scales a kernel can apply: as many multipliers as shifts, shifts in [0, 62].
fn check_scales(s: &ChannelScales, prefix: &str) -> Result<(), String> {
    // the attribute names' prefix names the scales in messages (`res_` -> `res scales`)
    let what = format!("{} scales", prefix.trim_end_matches('_'));
    let what = what.trim_start();
    if s.multiplier.len() != s.shift.len() {
        return Err(format!(
            "{what}: {} multipliers but {} shifts",
            s.multiplier.len(),
            s.shift.len()
        ));
    }
    if let Some(c) = s.shift.iter().find(|c| !(0..=62).contains(*c)) {
        return Err(format!("{what}: shift {c} is outside [0, 62]"));
    }
    Ok(())
}

/// `semantics::requantize` of `x` at channel `cc` (i64: `clamp(round(x * s[cc]) + zp)`; per
/// channel tables named with `prefix`).
#[allow(clippy::too_many_arguments)]
pub fn requantize(
    kb: &mut KernelBuilder,
    x: Val,
    s: &ChannelScales,
    prefix: &str,
    cc: Val,
    channels: i64,
    mode: Rounding,
    zero_point: i64,
    clamp: [i64; 2],
) -> Result<Val, String> {
    let r = apply_scales(kb, x, s, prefix, cc, channels, mode)?;
    let zp = kb.i64c(zero_point);
    let r = kb.add(r, zp);
    Ok(kb.clamp(r, clamp[0], clamp[1]))
}

/// Clamp an i64 value to the range of `e` and truncate to i32 (the store masks 4/8-bit values).
pub fn to_elem(kb: &mut KernelBuilder, y: Val, e: ElemType) -> Val {
    let (lo, hi) = range(e);
    let y = kb.clamp(y, lo, hi);
    kb.trunc(y, Scalar::I32)
}

/// `qnn.quantize`: `clamp(round_half_even(x * f32(1/scale)) + zp, lo, hi)` (`x / scale` under
/// `QuantizeMode::Divide`, `div.rn.f32`) all in f32, as `semantics::quantize_f32`:
/// - `v = x * inv` (`mul.rn.f32`: LLVM emits explicit round-to-nearest, never an FMA);
/// - `r = round_half_even(v)` ([`KernelBuilder::round_half_even_f32`]);
/// - NaN -> lo; `r <= lo - zp` -> lo, `r >= hi - zp` -> hi (f32 compares, as the saturating
///   `as i64` + clamp), else `fptosi(r) + zp` (exact: r is integral and inside the range).
pub fn quantize_f32(
    kb: &mut KernelBuilder,
    x: Val,
    scale: f32,
    zero_point: i64,
    mode: QuantizeMode,
    e: ElemType,
) -> Val {
    let v = match mode {
        QuantizeMode::MultiplyReciprocal => {
            let inv = kb.f32c(1.0f32 / scale);
            kb.mulf(x, inv)
        }
        QuantizeMode::Divide => {
            let s = kb.f32c(scale);
            kb.divf(x, s)
        }
    };
    let r = kb.round_half_even_f32(v);
    let z = kb.f32c(0.0);
    // saturate r to [lo - zp, hi - zp], then add zp (as the reference: clamp(r + zp, lo, hi))
    let (lo, hi) = range(e);
    let (lo, hi) = (lo - zero_point, hi - zero_point);
    let (lof, hif) = (kb.f32c(lo as f32), kb.f32c(hi as f32));
    let above_lo = kb.cmpf(CmpF::Olt, lof, r); // lo < r
    let below_hi = kb.cmpf(CmpF::Olt, r, hif); // r < hi
    let inside = kb.andb(above_lo, below_hi);
    let safe = kb.select(inside, r, z);
    let q = kb.fptosi(safe, Scalar::I32);
    let (loi, hii) = (kb.i32c(lo), kb.i32c(hi));
    let nan = kb.cmpf(CmpF::Uno, r, r);
    // r < hi is false for r >= hi (NaN handled first): saturate up; likewise down.
    let q = kb.select(below_hi, q, hii);
    let q = kb.select(above_lo, q, loi);
    // at r <= lo, `above_lo` is false -> lo; r >= hi (and > lo) -> hi; NaN -> lo
    let q = kb.select(nan, loi, q);
    let zp = kb.i32c(zero_point);
    kb.add(q, zp)
}

/// `tcconv.quantize`: [`quantize_f32`] of each element into the output's layout and type. With
/// `padding` (a folded `tcconv.pad`) the output is the input's padded map, [`padded_map`]: the
/// quantized input inside, `padding_value` in the border; with `space_to_depth` that map's
/// space-to-depth map ([`space_to_depth_map`]).
#[allow(clippy::too_many_arguments)]
pub fn quantize(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    (scale, zero_point, mode): (f32, i64, QuantizeMode),
    (padding, padding_value): ([i64; 4], i64),
    space_to_depth: i64,
    pre: &[FloatStep],
) -> Result<i64, String> {
    if inp.elem != ElemType::F32
        || !out.elem.is_int()
        || quantize_output_dims(inp, out.elem, padding, space_to_depth) != Some(out.dims)
        || (space_to_depth != 0 && out.layout != Layout::NHWC)
    {
        return Err(format!(
            "quantize reads f32 and writes an integer buffer of its dims padded by {padding:?} (space-to-depth {space_to_depth}), not {:?} {} -> {:?} {}",
            inp.dims, inp.elem, out.dims, out.elem
        ));
    }
    let channels = inp.dims[1];
    nibble_qnn::semantics::float_steps_fit(pre, channels)?;
    let (ia, oa) = (args[0], args[1]);
    // the float preprocessing at input channel `cc` (clamped), then the quantize
    let quantize = |kb: &mut KernelBuilder, x, cc| {
        let x = float_steps(kb, pre, x, cc, channels);
        quantize_f32(kb, x, scale, zero_point, mode, out.elem)
    };
    if space_to_depth != 0 {
        return space_to_depth_map(
            kb,
            (ia, inp),
            (oa, out),
            (padding, padding_value, space_to_depth),
            &quantize,
        );
    }
    if padding == [0; 4] {
        let ocs = out.stored_channels();
        return each_group(kb, oa, out, QUANTIZE_CHANNELS_PER_THREAD, &mut |kb, grp| {
            let ib = Buf::act(kb, ia, inp);
            let xs = read_group(kb, &ib, inp, grp, ocs, &mut same);
            Ok(xs
                .into_iter()
                .zip(&grp.items)
                .map(|(x, it)| quantize(kb, x, it.cc))
                .collect())
        });
    }
    let per_thread = QUANTIZE_CHANNELS_PER_THREAD;
    padded_map(
        kb,
        (ia, inp),
        (oa, out),
        per_thread,
        (padding, padding_value),
        &quantize,
    )
}

/// `x` of input channel `cc` through the f32 steps of a quantize's preprocessing
/// (`semantics::float_steps`): one IEEE operation each (`add` / `sub` / `mul` / `div.rn.f32`,
/// never fused), with a constant, or a table of one value a channel (`pre0`, `pre1`, ...).
fn float_steps(kb: &mut KernelBuilder, pre: &[FloatStep], x: Val, cc: Val, channels: i64) -> Val {
    let mut x = x;
    for (i, s) in pre.iter().enumerate() {
        let k = f32_chan(kb, &format!("pre{i}"), &s.k, cc, channels)
            .expect("quantize checks the constants' count");
        let (a, b) = if s.first { (k, x) } else { (x, k) };
        x = match s.op {
            FloatOp::Add => kb.addf(a, b),
            FloatOp::Sub => kb.subf(a, b),
            FloatOp::Mul => kb.mulf(a, b),
            FloatOp::Div => kb.divf(a, b),
        };
    }
    x
}

/// `qnn.dequantize`: `f32(x) * scales[c]` (`cvt.rn.f32.s32`, `mul.rn.f32`), as
/// `semantics::dequantize_f32`.
pub fn dequantize(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    scales: &[f32],
) -> Result<i64, String> {
    if !inp.elem.is_int() || out.elem != ElemType::F32 {
        return Err(format!(
            "dequantize reads an integer buffer and writes f32, not {} -> {}",
            inp.elem, out.elem
        ));
    }
    let (ia, oa) = (args[0], args[1]);
    let ocs = out.stored_channels();
    let channels = out.dims[1];
    each_group(kb, oa, out, CHANNELS_PER_THREAD, &mut |kb, grp| {
        let ib = Buf::act(kb, ia, inp);
        let xs = read_group(kb, &ib, inp, grp, ocs, &mut same);
        xs.into_iter()
            .zip(&grp.items)
            .map(|(x, it)| dequantize_value(kb, x, scales, it.cc, channels))
            .collect()
    })
}

/// `f32(x) * scales[cc]` for one i32 value `x` of channel `cc`: a constant scale when every
/// channel has the same, else the f32 bits from a constant table (`deq_scale`).
pub fn dequantize_value(
    kb: &mut KernelBuilder,
    x: Val,
    scales: &[f32],
    cc: Val,
    channels: i64,
) -> Result<Val, String> {
    let bits: Vec<i32> = scales.iter().map(|s| s.to_bits() as i32).collect();
    let s = match chan(kb, "deq_scale", &bits, cc, channels)? {
        Param::Const(k) => kb.f32c(f32::from_bits(k as i32 as u32)),
        Param::Table(v, _) => kb.bitcast_f32(v),
    };
    let f = kb.sitofp(x);
    Ok(kb.mulf(f, s))
}

/// Copy between layouts / storages of the same logical tensor (value preserving; a narrower
/// integer destination keeps the low bits, as the reference's checked copy never needs more).
pub fn relayout(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
) -> Result<i64, String> {
    if (inp.elem == ElemType::F32) != (out.elem == ElemType::F32) {
        return Err(format!(
            "relayout cannot convert {} to {}",
            inp.elem, out.elem
        ));
    }
    if inp.dims != out.dims {
        return Err(format!(
            "relayout between different logical shapes {:?} and {:?}",
            inp.dims, out.dims
        ));
    }
    let (ia, oa) = (args[0], args[1]);
    let ocs = out.stored_channels();
    each_group(kb, oa, out, CHANNELS_PER_THREAD, &mut |kb, grp| {
        let ib = Buf::act(kb, ia, inp);
        Ok(read_group(kb, &ib, inp, grp, ocs, &mut same))
    })
}

/// `tcconv.concat`: the output at (n, c, h, w) is input `i` at (n, c - start_i, h, w) where
/// `start_i <= c < start_i + C_i` (padding channels 0). Each item loads from the one input its
/// channel falls in, behind a branch on the channel range (one load per output element).
pub fn concat(
    kb: &mut KernelBuilder,
    args: &[Val],
    ins: &[&ActBuffer],
    out: &ActBuffer,
) -> Result<i64, String> {
    let [n, _, h, w] = out.dims;
    let mut starts = vec![];
    let mut c0 = 0;
    for b in ins {
        if !b.elem.is_int() || b.elem != out.elem || (b.dims[0], b.dims[2], b.dims[3]) != (n, h, w)
        {
            return Err(format!(
                "concat input {:?} {} does not match the output {:?} {}",
                b.dims, b.elem, out.dims, out.elem
            ));
        }
        starts.push(c0);
        c0 += b.dims[1];
    }
    if ins.is_empty() || c0 != out.dims[1] {
        return Err(format!(
            "concat of {c0} input channels into {}",
            out.dims[1]
        ));
    }
    let oa = args[ins.len()];
    each_group(kb, oa, out, CHANNELS_PER_THREAD, &mut |kb, grp| {
        let bufs: Vec<Buf> = ins
            .iter()
            .enumerate()
            .map(|(i, b)| Buf::act(kb, args[i], b))
            .collect();
        let mut vals = vec![];
        for it in &grp.items {
            let mut v = kb.i32c(0);
            for (i, b) in ins.iter().enumerate() {
                let (lo, hi) = (kb.idx(starts[i]), kb.idx(starts[i] + b.dims[1]));
                let above = kb.cmp(Cmp::Uge, it.cc, lo);
                let below = kb.cmp(Cmp::Ult, it.cc, hi);
                let inside = kb.andb(above, below);
                let buf = &bufs[i];
                v = kb.if_then_else(inside, &[v], |kb| {
                    let c = kb.sub(it.cc, lo);
                    let s = super::layout::act_slot(kb, b, it.n, c, it.h, it.w);
                    vec![buf.load_slot(kb, s)]
                })[0];
            }
            vals.push(v);
        }
        Ok(vals)
    })
}

/// `tcconv.gather_channels`: output channel `j` is input channel `indices[j]`, one load an
/// output element through the index table (`chan_map`; padding channels read the last entry,
/// and `each_group` zeroes them).
pub fn gather_channels(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    indices: &[i32],
) -> Result<i64, String> {
    let [n, c, h, w] = inp.dims;
    if !inp.elem.is_int()
        || inp.elem != out.elem
        || (out.dims[0], out.dims[2], out.dims[3]) != (n, h, w)
        || indices.len() as i64 != out.dims[1]
        || indices.iter().any(|&i| i < 0 || i as i64 >= c)
    {
        return Err(format!(
            "gather_channels of {:?} {} into {:?} {} by {} indices",
            inp.dims,
            inp.elem,
            out.dims,
            out.elem,
            indices.len()
        ));
    }
    let last = out.dims[1] - 1;
    each_group(kb, args[1], out, CHANNELS_PER_THREAD, &mut |kb, grp| {
        let ib = Buf::act(kb, args[0], inp);
        let map = kb.table("chan_map", indices);
        let top = kb.idx(last);
        let mut vals = vec![];
        for it in &grp.items {
            let j = kb.mins(it.cc, top);
            let ci = kb.load(map, j);
            let ci = kb.index_cast(ci, Scalar::Idx);
            let s = super::layout::act_slot(kb, inp, it.n, ci, it.h, it.w);
            vals.push(ib.load_slot(kb, s));
        }
        Ok(vals)
    })
}

/// `tcconv.pad`: the output at (n, c, h, w) is the input at (n, c, h - top, w - left) inside
/// the input, `value` in the border (padding channels 0, as every kernel writes them).
pub fn pad(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    padding: [i64; 4],
    value: i64,
) -> Result<i64, String> {
    let want = padded_dims(inp.dims, padding);
    if !inp.elem.is_int()
        || inp.elem != out.elem
        || want != Some(out.dims)
        || inp.layout != out.layout
    {
        return Err(format!(
            "pad of {:?} {} by {padding:?} gives {want:?} {}, not {:?} {}",
            inp.dims, inp.elem, inp.elem, out.dims, out.elem
        ));
    }
    let keep = |_: &mut KernelBuilder, x, _| x;
    let (i, o) = ((args[0], inp), (args[1], out));
    padded_map(kb, i, o, CHANNELS_PER_THREAD, (padding, value), &keep)
}

/// The kernel body of a padded map (`tcconv.pad`, a padded `tcconv.quantize`): the output at
/// (n, c, h, w) is `f` of the input at (n, c, h - top, w - left) inside the input, `value` in
/// the border (padding channels 0, as every kernel writes them); `per_thread` channels a thread.
fn padded_map(
    kb: &mut KernelBuilder,
    (ia, inp): (Val, &ActBuffer),
    (oa, out): (Val, &ActBuffer),
    per_thread: i64,
    (padding, value): ([i64; 4], i64),
    f: &dyn Fn(&mut KernelBuilder, Val, Val) -> Val,
) -> Result<i64, String> {
    let [_, _, h, w] = inp.dims;
    let ocs = out.stored_channels();
    each_group(kb, oa, out, per_thread, &mut |kb, grp| {
        let ib = Buf::act(kb, ia, inp);
        // clamped input coordinates (always in bounds) and whether each item is inside
        let mut inside = vec![];
        let zero = kb.idx(0);
        let xs = read_group(kb, &ib, inp, grp, ocs, &mut |kb, it| {
            // output row h reads input row h - top: a window of one tap
            let (okh, ih) = tap(kb, it.h, zero, 1, padding[0], h);
            let (okw, iw) = tap(kb, it.w, zero, 1, padding[1], w);
            inside.push(kb.andb(okh, okw));
            (ih, iw)
        });
        let ys: Vec<Val> = xs
            .into_iter()
            .zip(&grp.items)
            .map(|(x, it)| f(kb, x, it.cc))
            .collect();
        let v = kb.i32c(value);
        // a shared group is read as one chunk: one position, one predicate for every item
        let ok = |i: usize| inside[i.min(inside.len() - 1)];
        Ok(ys
            .into_iter()
            .enumerate()
            .map(|(i, y)| kb.select(ok(i), y, v))
            .collect())
    })
}

/// The kernel body of a space-to-depth quantize: output channel `(dh b + dw) cs + c` at (n, h, w)
/// is `f` of input channel c at (n, b h + dh - top, b w + dw - left) inside the input,
/// `value` in the border, 0 on padding channels (c >= C); [`QUANTIZE_CHANNELS_PER_THREAD`]
/// channels a thread, so a thread's 4 bytes (8-bit) are one pixel's channels.
fn space_to_depth_map(
    kb: &mut KernelBuilder,
    (ia, inp): (Val, &ActBuffer),
    (oa, out): (Val, &ActBuffer),
    (padding, value, b): ([i64; 4], i64, i64),
    f: &dyn Fn(&mut KernelBuilder, Val, Val) -> Val,
) -> Result<i64, String> {
    let [_, c, h, w] = inp.dims;
    let cs = padded_channels(out.elem, c);
    each_group(kb, oa, out, QUANTIZE_CHANNELS_PER_THREAD, &mut |kb, grp| {
        let ib = Buf::act(kb, ia, inp);
        let (kcs, kb_, kc) = (kb.idx(cs), kb.idx(b), kb.idx(c));
        let v = kb.i32c(value);
        let zero = kb.i32c(0);
        let mut ys = vec![];
        for it in &grp.items {
            let k = kb.divu(it.c, kcs);
            let ch = kb.remu(it.c, kcs);
            let dh = kb.divu(k, kb_);
            let dw = kb.remu(k, kb_);
            let (okh, ih) = tap(kb, it.h, dh, b, padding[0], h);
            let (okw, iw) = tap(kb, it.w, dw, b, padding[1], w);
            let image = kb.cmp(Cmp::Ult, ch, kc);
            let last = kb.idx(c - 1);
            let cc = kb.mins(ch, last);
            let slot = act_slot(kb, inp, it.n, cc, ih, iw);
            let x = ib.load_slot(kb, slot);
            let y = f(kb, x, cc);
            let inside = kb.andb(okh, okw);
            let y = kb.select(inside, y, v);
            ys.push(kb.select(image, y, zero));
        }
        Ok(ys)
    })
}

/// requantize / add / relu / clamp, per element, exactly as `reference::requantize_op`,
/// `add_op` and the relu / clamp arms:
/// - requantize: `clamp(round(x*b[c] / 2^s[c]) + zp, clamp)` then the result type's range
///   (under `f32_fma`: `round_half_even(fma(f32(x), b[c] / 2^s[c], offset[c]))`);
/// - add: `clamp(round(a*lb[c]/2^ls[c]) + round(b*rb[c]/2^rs[c]), clamp)` with the sum
///   saturated in i64 (the reference sums in i128), then the result type's range;
/// - relu: `max(x, 0)`; clamp: `clamp(x, min, max)`; then the result type's range.
pub fn elementwise(
    kb: &mut KernelBuilder,
    args: &[Val],
    op: &Elementwise,
    ins: &[&ActBuffer],
    out: &ActBuffer,
) -> Result<i64, String> {
    let want = op.arity();
    if ins.len() != want {
        return Err(format!(
            "elementwise {op:?} takes {want} input(s), got {}",
            ins.len()
        ));
    }
    // a mul's second input may be N x C x 1 x 1, read at (n, c, 0, 0)
    let broadcast = |k: usize| {
        k == 1
            && matches!(op, Elementwise::Mul)
            && ins[1].dims == [out.dims[0], out.dims[1], 1, 1]
            && out.dims[2..] != [1, 1]
    };
    for (k, i) in ins.iter().enumerate() {
        if (i.dims != out.dims && !broadcast(k)) || !i.elem.is_int() {
            return Err(format!(
                "elementwise input {:?} {} does not match the output {:?}",
                i.dims, i.elem, out.dims
            ));
        }
    }
    let lookup = match op {
        Elementwise::Lookup { table } => {
            lookup_tables(table.len(), ins[0].elem, out.dims[1] as usize)
        }
        _ => None,
    };
    if let Elementwise::Lookup { table } = op {
        let c = out.dims[1];
        if lookup.is_none() {
            return Err(format!(
                "lookup: a table of {} entries for {} values of {c} channels",
                table.len(),
                ins[0].elem
            ));
        }
    }
    if !out.elem.is_int() {
        return Err("elementwise ops write integer buffers".into());
    }
    let ocs = out.stored_channels();
    let channels = out.dims[1];
    let oa = args[ins.len()];
    let in_args: Vec<Val> = args[..ins.len()].to_vec();
    each_group(kb, oa, out, CHANNELS_PER_THREAD, &mut |kb, grp| {
        let bufs: Vec<Buf> = ins
            .iter()
            .zip(&in_args)
            .map(|(b, a)| Buf::act(kb, *a, b))
            .collect();
        let vals: Vec<Vec<Val>> = ins
            .iter()
            .zip(&bufs)
            .enumerate()
            .map(|(k, (ab, buf))| {
                if broadcast(k) {
                    read_group(kb, buf, ab, grp, ocs, &mut |kb, _| (kb.idx(0), kb.idx(0)))
                } else {
                    read_group(kb, buf, ab, grp, ocs, &mut same)
                }
            })
            .collect();
        let mut out_vals = vec![];
        for (j, it) in grp.items.iter().enumerate() {
            let x = vals[0][j];
            let y = match op {
                Elementwise::Requantize {
                    scales,
                    rounding: Rounding::F32Fma,
                    zero_point,
                    clamp,
                    offset,
                } => {
                    let s = scale_params(kb, scales, "", it.cc, channels)?;
                    let o = f32_chan(kb, "offset", offset, it.cc, channels)?;
                    let y = kb.requantize_f32_fma(x, s, o);
                    let zp = kb.i64c(*zero_point);
                    let y = kb.add(y, zp);
                    kb.clamp(y, clamp[0], clamp[1])
                }
                Elementwise::Requantize {
                    scales,
                    rounding,
                    zero_point,
                    clamp,
                    ..
                } => requantize(
                    kb,
                    x,
                    scales,
                    "",
                    it.cc,
                    channels,
                    *rounding,
                    *zero_point,
                    *clamp,
                )?,
                Elementwise::Add {
                    lhs,
                    rhs,
                    rounding: Rounding::F32Fma,
                    clamp,
                    bias,
                } => {
                    let sa = scale_params(kb, lhs, "", it.cc, channels)?;
                    let sb = scale_params(kb, rhs, "rhs_", it.cc, channels)?;
                    let s = kb.add_f32_fma(x, vals[1][j], sa, sb, *bias);
                    kb.clamp(s, clamp[0], clamp[1])
                }
                Elementwise::Add {
                    lhs,
                    rhs,
                    rounding,
                    clamp,
                    ..
                } => {
                    let l = apply_scales(kb, x, lhs, "", it.cc, channels, *rounding)?;
                    let r = apply_scales(kb, vals[1][j], rhs, "rhs_", it.cc, channels, *rounding)?;
                    let s = kb.add_sat64(l, r);
                    kb.clamp(s, clamp[0], clamp[1])
                }
                Elementwise::Relu => {
                    let x = kb.sext(x, Scalar::I64);
                    let z = kb.i64c(0);
                    kb.maxs(x, z)
                }
                Elementwise::Clamp { min, max } => {
                    let x = kb.sext(x, Scalar::I64);
                    kb.clamp(x, *min, *max)
                }
                // operands of at most 16 bits: the product is exact in i64 and fits i32
                Elementwise::Mul => {
                    let a = kb.sext(x, Scalar::I64);
                    let b = kb.sext(vals[1][j], Scalar::I64);
                    kb.mul(a, b)
                }
                // always a table load (never a constant): kernels of one table size share code
                // one table, or one a channel at cc * per
                Elementwise::Lookup { table } => {
                    let t = kb.table("lut", table);
                    let lo = kb.i32c(ins[0].elem.range().0);
                    let i = kb.sub(x, lo);
                    let mut i = kb.index_cast(i, Scalar::Idx);
                    let (per, per_channel) = lookup.expect("checked above");
                    if per_channel {
                        let k = kb.idx(per as i64);
                        let base = kb.mul(it.cc, k);
                        i = kb.add(base, i);
                    }
                    let v = kb.load(t, i);
                    kb.sext(v, Scalar::I64)
                }
            };
            out_vals.push(to_elem(kb, y, out.elem));
        }
        Ok(out_vals)
    })
}

/// The result of `kb` reading: an i64 sum helper for callers needing `Param` in i64.
pub fn param_i64(kb: &mut KernelBuilder, p: Param) -> Val {
    match p {
        Param::Const(k) => kb.i64c(k),
        Param::Table(v, _) => kb.sext(v, Scalar::I64),
    }
}
