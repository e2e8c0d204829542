//! Max / average pooling over any layout (channels-innermost layouts read one packed word or
//! chunk per window tap for all of a thread's channels).
//!
//! Thread `t` owns the output group of [`super::layout::out_plan`] (one output element; the 8
//! channels of one output word for 4-bit outputs, reading one packed word per tap). Per group: for every tap (ky, kx) of the KHxKW window,
//! `t_h = oh*sh + ky`, tap valid iff `pt <= t_h < H + pt` (input row `ih = t_h - pt`), same for
//! w; the input is read at the clamped position (always in bounds) and the value is ignored for
//! invalid taps, exactly as `reference::pool` iterates only the in-bounds taps:
//! - max: maximum over the in-bounds taps (padding never wins; a window entirely in padding
//!   is an error in the reference and yields the type's minimum here);
//! - avg: `floor(sum / (KH*KW))` over the in-bounds taps (padding counts as zeros), the sum in
//!   i64 and the floor division as `q = sum / k (truncating); q - (sum % k < 0)`;
//! - avg_f32: the f32 sum of the dequantized in-bounds taps in window order, divided and
//!   quantized as `semantics::AvgPoolF32` ([`avg_f32`]).
//!
//! Work: E output elements * KH*KW taps (one extract + one max / add each); bytes: each input
//! element is read ceil(K/S)^2 times (cached in L1/L2), output written once. Memory bound.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::elementwise::{each_group, mask, requantize as requantize_value, subgroups, to_elem};
use super::layout::{act_slot, channel_inner, group, out_plan, read_group, tap, Buf};
use nibble_qnn::graph::RequantizeStep;
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::buffer::{ActBuffer, Storage};
use nibble_tcconv::program::{PoolKind, PoolSecond};

/// The pool kernel of `TcOp::Pool` (arguments: input, output, and the second output where
/// `second` names one: its buffer and the requantize of the output it holds). With a second
/// output, each thread pools the group of the 4-bit one of the two buffers (8 channels, one
/// packed word; else one element), stores the pooled values to the output and their
/// requantize to the second output at the same slots (the verifier's rule: same dims, layout
/// and stored channels), the requantize the one the elementwise kernel computes on the
/// output's stored values.
#[allow(clippy::too_many_arguments)]
pub fn pool(
    kb: &mut KernelBuilder,
    args: &[Val],
    kind: PoolKind,
    (inp, out): (&ActBuffer, &ActBuffer),
    second: Option<(&ActBuffer, &RequantizeStep)>,
    (kernel, strides, padding): ([i64; 2], [i64; 2], [i64; 4]),
    divisor: Option<i64>,
    requantize: Option<&RequantizeStep>,
) -> Result<i64, String> {
    if inp.layout != out.layout || inp.dims[0] != out.dims[0] || inp.dims[1] != out.dims[1] {
        return Err(format!(
            "pool2d input {:?} {} and output {:?} {} must share layout, batch and channels",
            inp.dims, inp.layout, out.dims, out.layout
        ));
    }
    if !inp.elem.is_int() || !out.elem.is_int() {
        return Err("pool2d works on integer buffers".into());
    }
    let [kh, kw] = kernel;
    let [_, _, h, w] = inp.dims;
    let [sh, sw] = strides;
    let (pt, pl) = (padding[0], padding[1]);
    if kh < 1 || kw < 1 || sh < 1 || sw < 1 || pt < 0 || pl < 0 {
        return Err(format!(
            "pool2d kernel {kernel:?} / strides {strides:?} / padding {padding:?} out of range"
        ));
    }
    let (ia, oa) = (args[0], args[1]);
    if kind == PoolKind::Max && requantize.is_none() && second.is_none() && packed_words(inp, out) {
        return max_pool_packed(kb, args, inp, out, kernel, strides, padding);
    }
    let ocs = out.stored_channels();
    let count = divisor.unwrap_or(kh * kw);
    if count < 1 {
        return Err(format!("pool2d divisor {count} must be at least 1"));
    }
    // with a second output the threads cover the packed one of the two buffers, if any (its
    // groups are whole words); each_group stores into that one, the closure into the other
    let seconds = match second {
        Some((z, q)) => {
            if matches!(kind, PoolKind::AvgF32(_)) || !PoolSecond::fits(out, z) {
                return Err(format!(
                    "pool2d second output {:?} {} {} must be an integer buffer of the output's dims, layout (channels innermost) and stored channels, of a max or average pool",
                    z.dims, z.layout, z.elem
                ));
            }
            let za = *args
                .get(2)
                .ok_or("pool2d with a second output takes 3 buffers")?;
            Some((z, q, za))
        }
        None => None,
    };
    let by_second = seconds.is_some_and(|(z, ..)| {
        z.storage() == Storage::Packed4 || out.storage() != Storage::Packed4
    });
    let (ga, gb) = match seconds {
        Some((z, _, za)) if by_second => (za, z),
        _ => (oa, out),
    };
    each_group(
        kb,
        ga,
        gb,
        super::elementwise::CHANNELS_PER_THREAD,
        &mut |kb, grp| {
            let ib = Buf::act(kb, ia, inp);
            let mut vals = vec![];
            for sub in subgroups(grp) {
                let it0 = sub.items[0];
                let g = sub.items.len();
                if let PoolKind::AvgF32(p) = kind {
                    let geo = (kernel, strides, padding, [h, w]);
                    vals.extend(avg_f32(kb, &ib, inp, out, &sub, ocs, &p, geo));
                    continue;
                }
                let init = pool_init(kb, kind);
                let accs = vec![init; g];
                let accs = kb.for_n(kh, 1, &accs, |kb, ky, accs| {
                    let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
                    kb.for_n(kw, 1, accs, |kb, kx, accs| {
                        let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
                        let ok = kb.andb(vh, vw);
                        let xs = read_group(kb, &ib, inp, &sub, ocs, &mut |_, _| (ih, iw));
                        accs.iter()
                            .zip(xs)
                            .map(|(a, x)| {
                                let next = pool_step(kb, kind, *a, x);
                                kb.select(ok, next, *a)
                            })
                            .collect()
                    })
                });
                for (a, it) in accs.into_iter().zip(&sub.items) {
                    let ch = out.dims[1];
                    let fin = (kind, count, requantize, "");
                    vals.push(pool_finish(kb, fin, a, it.cc, ch, out.elem)?);
                }
            }
            let Some((z, q, za)) = seconds else {
                return Ok(vals);
            };
            let ch = out.dims[1];
            let mut sec = vec![];
            for (&v, it) in vals.iter().zip(&grp.items) {
                let (rounding, zp) = (q.rounding, q.zero_point);
                let r =
                    requantize_value(kb, v, &q.scales, "sec_", it.cc, ch, rounding, zp, q.clamp)?;
                sec.push(to_elem(kb, r, z.elem));
            }
            // the buffer each_group does not store: its padding channels zero, as that one's
            let (other, other_arg, rest, mine) = match by_second {
                true => (out, oa, vals, sec),
                false => (z, za, sec, vals),
            };
            let rest = mask(kb, &grp.items, rest, false);
            Buf::act(kb, other_arg, other).store_slots(kb, grp.base, &rest);
            Ok(mine)
        },
    )
}

/// A max / average pool's accumulator before the first tap: the i32 minimum, or an i64 zero.
pub fn pool_init(kb: &mut KernelBuilder, kind: PoolKind) -> Val {
    match kind {
        PoolKind::Max => kb.i32c(i32::MIN as i64),
        _ => kb.i64c(0),
    }
}

/// The accumulator `a` after tap value `x` (i32): its maximum, or the i64 sum.
pub fn pool_step(kb: &mut KernelBuilder, kind: PoolKind, a: Val, x: Val) -> Val {
    match kind {
        PoolKind::Max => kb.maxs(a, x),
        _ => {
            let x = kb.sext(x, Scalar::I64);
            kb.add(a, x)
        }
    }
}

/// The pooled value of channel `cc` (of `channels`) from its accumulator `a`, in type `out`:
/// the maximum, or `floor(sum / count)`, clamped to i32, then the requantize where one is
/// fused (its tables named after `prefix`), as `reference::pool` and `TcOp::Pool` define it.
pub fn pool_finish(
    kb: &mut KernelBuilder,
    (kind, count, requantize, prefix): (PoolKind, i64, Option<&RequantizeStep>, &str),
    a: Val,
    cc: Val,
    channels: i64,
    out: ElemType,
) -> Result<Val, String> {
    let y = match kind {
        PoolKind::Max => kb.sext(a, Scalar::I64),
        _ => floor_div(kb, a, count),
    };
    let y = kb.clamp(y, i32::MIN as i64, i32::MAX as i64);
    let y = match requantize {
        Some(q) => {
            let y = kb.trunc(y, Scalar::I32);
            let (rounding, zp) = (q.rounding, q.zero_point);
            requantize_value(
                kb, y, &q.scales, prefix, cc, channels, rounding, zp, q.clamp,
            )?
        }
        None => y,
    };
    Ok(to_elem(kb, y, out))
}

/// `PoolKind::AvgF32` (`semantics::AvgPoolF32`) of one subgroup's channels at one pixel: each
/// in-bounds tap dequantized (`mul.rn.f32` of the centred value, exact in f32) and added in
/// window order, rows outer (`add.rn.f32`: an out-of-bounds tap keeps the sum, so the sum is the
/// reference's over the in-bounds taps alone), the count `kh * kw` or the in-bounds taps,
/// `div.rn.f32` by it and by the output scale, the zero point added, rounded half to even
/// (`cvt.rni`) and clamped to the output type. The verifier keeps every rounded value inside
/// i32. Per tap and channel: one load share, 5 f32 / integer operations.
#[allow(clippy::too_many_arguments)]
fn avg_f32(
    kb: &mut KernelBuilder,
    ib: &Buf,
    inp: &ActBuffer,
    out: &ActBuffer,
    sub: &super::layout::Group,
    ocs: i64,
    p: &nibble_qnn::semantics::AvgPoolF32,
    ([kh, kw], [sh, sw], padding, [h, w]): ([i64; 2], [i64; 2], [i64; 4], [i64; 2]),
) -> Vec<Val> {
    let (pt, pl) = (padding[0], padding[1]);
    let it0 = sub.items[0];
    let g = sub.items.len();
    let (zero, none) = (kb.f32c(0.0), kb.i32c(0));
    let mut accs = vec![zero; g];
    accs.push(none);
    let (sx, zx) = (kb.f32c(p.input_scale), kb.i32c(p.input_zero_point));
    let accs = kb.for_n(kh, 1, &accs, |kb, ky, accs| {
        let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
        kb.for_n(kw, 1, accs, |kb, kx, accs| {
            let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
            let ok = kb.andb(vh, vw);
            let xs = read_group(kb, ib, inp, sub, ocs, &mut |_, _| (ih, iw));
            let mut next: Vec<Val> = accs[..g]
                .iter()
                .zip(xs)
                .map(|(a, x)| {
                    let d = kb.sub(x, zx);
                    let f = kb.sitofp(d);
                    let t = kb.mulf(sx, f);
                    let s = kb.addf(*a, t);
                    kb.select(ok, s, *a)
                })
                .collect();
            let one = kb.i32c(1);
            let c = kb.add(accs[g], one);
            next.push(kb.select(ok, c, accs[g]));
            next
        })
    });
    let count = if p.count_include_pad {
        kb.f32c((kh * kw) as f32)
    } else {
        kb.sitofp(accs[g])
    };
    let (sy, zy) = (kb.f32c(p.output_scale), kb.f32c(p.output_zero_point as f32));
    accs[..g]
        .iter()
        .map(|&a| {
            let y = kb.divf(a, count);
            let v = kb.divf(y, sy);
            let v = kb.addf(v, zy);
            let r = kb.round_half_even_f32(v);
            let q = kb.fptosi(r, Scalar::I64);
            to_elem(kb, q, out.elem)
        })
        .collect()
}

/// Whether a max pool can work on whole packed words: 4-bit input and output of the same type,
/// channel-innermost, the same stored channels (a word holds 8 channels of one pixel in both).
fn packed_words(inp: &ActBuffer, out: &ActBuffer) -> bool {
    inp.storage() == Storage::Packed4
        && inp.elem == out.elem
        && inp.layout == out.layout
        && channel_inner(inp.layout)
        && inp.stored_channels() == out.stored_channels()
}

/// Max pooling of packed 4-bit words without unpacking them: thread `t` owns one output word (8
/// channels of a pixel). A word splits into its even and odd nibbles as bytes (`w & 0x0f0f0f0f`,
/// `(w >> 4) & 0x0f0f0f0f`), signed nibbles made order-preserving unsigned first (`^ 8` each:
/// -8..7 -> 0..15), and each tap's pair joins the running maxima byte by byte
/// ([`byte_max`]); the maxima start at 0, the type's minimum, which an in-bounds tap always
/// replaces (the verifier's `padding < kernel`). Per tap: one word load and 14 integer
/// operations for 8 channels, where the unpacked path extracts, compares and selects each.
#[allow(clippy::too_many_arguments)]
fn max_pool_packed(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    [kh, kw]: [i64; 2],
    [sh, sw]: [i64; 2],
    padding: [i64; 4],
) -> Result<i64, String> {
    let [_, _, h, w] = inp.dims;
    let (pt, pl) = (padding[0], padding[1]);
    let plan = out_plan(out, 8);
    let t = kb.global_id();
    let lim = kb.idx(plan.threads);
    let inb = kb.cmp(Cmp::Ult, t, lim);
    kb.if_then(inb, |kb| {
        let ib = Buf::act(kb, args[0], inp);
        let ob = Buf::act(kb, args[1], out);
        let grp = group(kb, out, plan, t);
        let it0 = grp.items[0];
        let bias = nibble_order(kb, inp.elem);
        let unbias = |kb: &mut KernelBuilder, w: Val| reorder(kb, bias, w);
        let k8 = kb.idx(8);
        let zero = kb.i32c(0);
        let maxima = kb.for_n(kh, 1, &[zero, zero], |kb, ky, m| {
            let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
            kb.for_n(kw, 1, m, |kb, kx, m| {
                let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
                let ok = kb.andb(vh, vw);
                let slot = act_slot(kb, inp, it0.n, it0.c, ih, iw);
                let wi = kb.divu(slot, k8);
                let word = kb.load(ib.mem, wi);
                let word = unbias(kb, word);
                packed_max_tap(kb, m, word, ok).to_vec()
            })
        });
        let word = packed_max_word(kb, &maxima);
        let mut word = unbias(kb, word);
        // padding channels of the last word of a pixel stay 0
        if it0.valid.is_some() {
            let mut keep = kb.i32c(0);
            for (j, it) in grp.items.iter().enumerate() {
                let ok = it
                    .valid
                    .expect("every item of a padded word has a validity flag");
                let bits = kb.i32c(0xf << (4 * j));
                let b = kb.select(ok, bits, zero);
                keep = kb.or(keep, b);
            }
            word = kb.and(word, keep);
        }
        let wo = kb.divu(grp.base, k8);
        kb.store(word, ob.mem, wo);
    });
    Ok(plan.threads)
}

/// The xor that turns the packed nibbles of a signed 4-bit type into order-preserving unsigned
/// ones (-8..7 -> 0..15) and back ([`reorder`]); None for an unsigned type.
pub(super) fn nibble_order(kb: &mut KernelBuilder, e: ElemType) -> Option<Val> {
    e.is_signed().then(|| kb.i32c(0x8888_8888u32 as i32 as i64))
}

/// `w` through [`nibble_order`]'s xor, if any.
pub(super) fn reorder(kb: &mut KernelBuilder, order: Option<Val>, w: Val) -> Val {
    match order {
        Some(b) => kb.xor(w, b),
        None => w,
    }
}

/// One tap of a packed max ([`max_pool_packed`]): the maxima of the even and odd nibbles `m`
/// (as bytes) joined with those of `word` (order-preserving unsigned nibbles) where `ok`.
pub(super) fn packed_max_tap(kb: &mut KernelBuilder, m: &[Val], word: Val, ok: Val) -> [Val; 2] {
    let nibbles = kb.i32c(0x0f0f_0f0f);
    let four = kb.i32c(4);
    let even = kb.and(word, nibbles);
    let odd = kb.shru(word, four);
    let odd = kb.and(odd, nibbles);
    [(m[0], even), (m[1], odd)].map(|(a, b)| {
        let x = byte_max(kb, a, b);
        kb.select(ok, x, a)
    })
}

/// The packed word of the maxima of [`packed_max_tap`].
pub(super) fn packed_max_word(kb: &mut KernelBuilder, m: &[Val]) -> Val {
    let four = kb.i32c(4);
    let odd = kb.shl(m[1], four);
    kb.or(m[0], odd)
}

/// The byte-wise unsigned maximum of `a` and `b` whose bytes all lie in [0, 15]: `(a | 0x80) - b`
/// in each byte stays in [113, 143] (no borrow crosses a byte) and keeps its top bit exactly
/// when `a >= b`; that bit, spread over its byte, selects `a` there and `b` elsewhere.
fn byte_max(kb: &mut KernelBuilder, a: Val, b: Val) -> Val {
    let tops = kb.i32c(0x8080_8080u32 as i32 as i64);
    let lows = kb.i32c(0x0101_0101);
    let (seven, eight) = (kb.i32c(7), kb.i32c(8));
    let a_top = kb.or(a, tops);
    let d = kb.sub(a_top, b);
    let ge = kb.shru(d, seven);
    let ge = kb.and(ge, lows);
    let spread = kb.shl(ge, eight);
    let mask = kb.sub(spread, ge);
    let diff = kb.xor(a, b);
    let pick = kb.and(diff, mask);
    kb.xor(b, pick)
}

/// `semantics::floor_div(sum, k)` for a constant k > 0: truncating division, minus one when the
/// remainder is negative.
pub fn floor_div(kb: &mut KernelBuilder, sum: Val, k: i64) -> Val {
    if k == 1 {
        return sum;
    }
    let kk = kb.i64c(k);
    let q = kb.divs(sum, kk);
    let r = kb.rems(sum, kk);
    let z = kb.i64c(0);
    let neg = kb.cmp(Cmp::Slt, r, z);
    let d = kb.zext(neg, Scalar::I64);
    kb.sub(q, d)
}

#[cfg(test)]
mod tests {
    /// [`super::byte_max`]'s bit sequence on plain integers.
    fn byte_max(a: u32, b: u32) -> u32 {
        let d = (a | 0x8080_8080).wrapping_sub(b);
        let ge = (d >> 7) & 0x0101_0101;
        let mask = (ge << 8).wrapping_sub(ge);
        b ^ ((a ^ b) & mask)
    }

    /// [`super::max_pool_packed`]'s word arithmetic on plain integers: the max of packed words.
    fn max_words(words: &[u32], signed: bool) -> u32 {
        let bias = if signed { 0x8888_8888 } else { 0 };
        let (mut even, mut odd) = (0, 0);
        for w in words {
            let w = w ^ bias;
            even = byte_max(even, w & 0x0f0f_0f0f);
            odd = byte_max(odd, (w >> 4) & 0x0f0f_0f0f);
        }
        (even | (odd << 4)) ^ bias
    }

    fn nibble(w: u32, j: u32, signed: bool) -> i32 {
        let v = ((w >> (4 * j)) & 15) as i32;
        if signed && v >= 8 {
            v - 16
        } else {
            v
        }
    }

    #[test]
    fn packed_word_max_is_the_max_of_every_nibble() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        };
        for signed in [false, true] {
            for taps in [1, 2, 4, 9] {
                for _ in 0..2000 {
                    let words: Vec<u32> = (0..taps).map(|_| next()).collect();
                    let got = max_words(&words, signed);
                    for j in 0..8 {
                        let want = words.iter().map(|&w| nibble(w, j, signed)).max().unwrap();
                        assert_eq!(nibble(got, j, signed), want, "{words:08x?} nibble {j}");
                    }
                }
            }
            // extremes: every nibble at the type's minimum or maximum
            for (a, b) in [
                (0u32, 0xffff_ffffu32),
                (0x8888_8888, 0x7777_7777),
                (0xffff_ffff, 0),
            ] {
                let got = max_words(&[a, b], signed);
                for j in 0..8 {
                    let want = nibble(a, j, signed).max(nibble(b, j, signed));
                    assert_eq!(nibble(got, j, signed), want);
                }
            }
        }
    }
}
