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
//!   i64 and the floor division as `q = sum / k (truncating); q - (sum % k < 0)`.
//!
//! Work: E output elements * KH*KW taps (one extract + one max / add each); bytes: each input
//! element is read ceil(K/S)^2 times (cached in L1/L2), output written once. Memory bound.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::elementwise::{each_group, subgroups, to_elem};
use super::layout::{read_group, tap, Buf};
use nibble_tcconv::buffer::ActBuffer;
use nibble_tcconv::program::PoolKind;

#[allow(clippy::too_many_arguments)]
pub fn pool(
    kb: &mut KernelBuilder,
    args: &[Val],
    kind: PoolKind,
    inp: &ActBuffer,
    out: &ActBuffer,
    kernel: [i64; 2],
    strides: [i64; 2],
    padding: [i64; 4],
    divisor: Option<i64>,
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
    let ocs = out.stored_channels();
    let count = divisor.unwrap_or(kh * kw);
    if count < 1 {
        return Err(format!("pool2d divisor {count} must be at least 1"));
    }
    each_group(
        kb,
        oa,
        out,
        super::elementwise::CHANNELS_PER_THREAD,
        &mut |kb, grp| {
            let ib = Buf::act(kb, ia, inp);
            let mut vals = vec![];
            for sub in subgroups(grp) {
                let it0 = sub.items[0];
                let g = sub.items.len();
                let init = match kind {
                    PoolKind::Max => kb.i32c(i32::MIN as i64),
                    PoolKind::Avg => kb.i64c(0),
                };
                let accs = vec![init; g];
                let accs = kb.for_n(kh, 1, &accs, |kb, ky, accs| {
                    let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
                    kb.for_n(kw, 1, accs, |kb, kx, accs| {
                        let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
                        let ok = kb.andb(vh, vw);
                        let xs = read_group(kb, &ib, inp, &sub, ocs, &mut |_, _| (ih, iw));
                        accs.iter()
                            .zip(xs)
                            .map(|(a, x)| match kind {
                                PoolKind::Max => {
                                    let m = kb.maxs(*a, x);
                                    kb.select(ok, m, *a)
                                }
                                PoolKind::Avg => {
                                    let x = kb.sext(x, Scalar::I64);
                                    let s = kb.add(*a, x);
                                    kb.select(ok, s, *a)
                                }
                            })
                            .collect()
                    })
                });
                for a in accs {
                    let y = match kind {
                        PoolKind::Max => kb.sext(a, Scalar::I64),
                        PoolKind::Avg => floor_div(kb, a, count),
                    };
                    let y = kb.clamp(y, i32::MIN as i64, i32::MAX as i64);
                    vals.push(to_elem(kb, y, out.elem));
                }
            }
            Ok(vals)
        },
    )
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
