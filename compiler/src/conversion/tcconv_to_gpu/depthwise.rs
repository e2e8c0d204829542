//! The depthwise path of the simple family: a conv with one input channel per output channel
//! (`groups = C = O`), 8-bit operands and output, channels innermost, no residual and no
//! second output. Each thread computes one word of 4 channels at `R` consecutive output
//! columns of one output row, so that every input word of the window and every weight is loaded
//! once for `R` outputs instead of once per output:
//!
//! ```text
//! t -> (cw, ob, oh, n)                       cw: channel word (4 channels), fastest: coalesced
//! w[ky][kx][k]   = weight(4*cw + k, ky, kx)   (loaded once, KH*KW*4 bytes)
//! for ky < KH:                                 (unrolled)
//!   ih = oh*sh + ky - pt                       (row valid or not)
//!   for j < (R-1)*sw + KW:                     (unrolled; one word load per input column)
//!     x[j][0..4] = word at (n, ih, ob*R*sw + j - pl, 4*cw..4*cw+4), 0 outside the input
//!   acc[r][k] += x[r*sw + kx][k] * w[ky][kx][k]  for r < R, kx < KW, k < 4
//! y[r][k] = epilogue(acc[r][k] + bias[4*cw + k])    (the simple family's epilogue)
//! store y[r][0..4] as one word at (n, oh, ob*R + r, 4*cw) for the columns inside the output
//! ```
//! Work per thread: R*KH*KW*4 MACs for KH*((R-1)*sw + KW) + KH*KW input and weight loads;
//! a depthwise conv moves its input and output once (its floor is their bytes over memory
//! bandwidth).

use super::builder::{Cmp, KernelBuilder, Val};
use super::conv::ConvArgs;
use super::epilogue::epilogue;
use super::layout::tap;
use super::layout::{act_slot, channel_inner, weight_slot, Buf};
use nibble_tcconv::buffer::Storage;
use nibble_tcconv::select::ConvSpec;

/// Output columns per thread.
const R: i64 = 4;

/// Whether the depthwise path takes the conv.
pub fn applies(s: &ConvSpec) -> bool {
    let [_, c, ..] = s.input.dims;
    let o = s.output.dims[1];
    // groups = C = O gives one weight channel an output (`ConvSpec::check`); byte rows stored
    // without padding channels make C a multiple of 4; a residual epilogue has its operand
    s.groups == c
        && o == c
        && s.input.storage() == Storage::Byte
        && s.output.storage() == Storage::Byte
        && nibble_tcconv::buffer::storage_of(s.weight.elem) == Storage::Byte
        && s.input.layout == s.output.layout
        && channel_inner(s.input.layout)
        && s.input.stored_channels() == c
        && s.output.stored_channels() == c
        && s.residual.is_none()
        && s.second.is_none()
}

/// The kernel body; returns the number of threads.
pub fn conv(kb: &mut KernelBuilder, args: &[Val], s: &ConvSpec) -> Result<i64, String> {
    let [n, c, h, w] = s.input.dims;
    let [_, _, oh, ow] = s.output.dims;
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let cw = c / 4;
    let ob = (ow + R - 1) / R;
    let threads = n * oh * ob * cw;
    let ca = ConvArgs::of(args, s);
    let t = kb.global_id();
    let lim = kb.idx(threads);
    let inb = kb.cmp(Cmp::Ult, t, lim);
    let mut res = Ok(());
    kb.if_then(inb, |kb| {
        let xb = Buf::act(kb, ca.x, s.input);
        let wb = Buf::weight(kb, ca.w, s.weight);
        let bb = ca.bias.zip(s.bias).map(|(v, pw)| Buf::weight(kb, v, pw));
        let ybuf = Buf::act(kb, ca.out, s.output);
        // t -> (cw, ob, oh, n), channel words fastest
        let (cwv, obv, ohv) = (kb.idx(cw), kb.idx(ob), kb.idx(oh));
        let wi = kb.remu(t, cwv);
        let rest = kb.divu(t, cwv);
        let bi = kb.remu(rest, obv);
        let rest = kb.divu(rest, obv);
        let y = kb.remu(rest, ohv);
        let nn = kb.divu(rest, ohv);
        let four = kb.idx(4);
        let c0 = kb.mul(wi, four);
        let chans: Vec<Val> = (0..4)
            .map(|k| {
                let kk = kb.idx(k);
                kb.add(c0, kk)
            })
            .collect();
        let izero = kb.idx(0);
        // weights of the 4 channels at every tap
        let mut wts = vec![];
        for ky in 0..kh {
            for kx in 0..kw {
                let (kyv, kxv) = (kb.idx(ky), kb.idx(kx));
                let row: Vec<Val> = chans
                    .iter()
                    .map(|&cc| {
                        let sl = weight_slot(kb, s.weight, cc, izero, kyv, kxv);
                        wb.load_slot(kb, sl)
                    })
                    .collect();
                wts.push(row);
            }
        }
        let rv = kb.idx(R);
        let ow0 = kb.mul(bi, rv);
        let zero = kb.i32c(0);
        let mut acc = vec![vec![zero; 4]; R as usize];
        let cols = (R - 1) * sw + kw;
        for ky in 0..kh {
            let kyv = kb.idx(ky);
            let (vh, ih) = tap(kb, y, kyv, sh, pt, h);
            // the input words of this row: column j is at ow0*sw + j - pl
            let xs: Vec<Vec<Val>> = (0..cols)
                .map(|j| {
                    let jv = kb.idx(j);
                    let (vw, iw) = tap(kb, ow0, jv, sw, pl, w);
                    let ok = kb.andb(vh, vw);
                    let base = act_slot(kb, s.input, nn, c0, ih, iw);
                    xb.load_chunk(kb, base, 4)
                        .into_iter()
                        .map(|x| kb.select(ok, x, zero))
                        .collect()
                })
                .collect();
            for (r, acc_r) in acc.iter_mut().enumerate() {
                for kx in 0..kw {
                    let x = &xs[(r as i64 * sw + kx) as usize];
                    let wt = &wts[(ky * kw + kx) as usize];
                    for k in 0..4 {
                        let p = kb.mul(x[k], wt[k]);
                        acc_r[k] = kb.add(acc_r[k], p);
                    }
                }
            }
        }
        let bias: Vec<Option<Val>> = chans
            .iter()
            .map(|&cc| bb.as_ref().map(|b| b.load_slot(kb, cc)))
            .collect();
        let owv = kb.idx(ow);
        for (r, acc_r) in acc.iter().enumerate() {
            let mut vals = vec![];
            for k in 0..4 {
                let a = match bias[k] {
                    Some(b) => kb.add(acc_r[k], b),
                    None => acc_r[k],
                };
                match epilogue(kb, s.epilogue, a, None, chans[k], c, s.output.elem) {
                    Ok(v) => vals.push(v),
                    Err(e) => {
                        res = Err(e);
                        return;
                    }
                }
            }
            let rr = kb.idx(r as i64);
            let x = kb.add(ow0, rr);
            let inside = kb.cmp(Cmp::Ult, x, owv);
            kb.if_then(inside, |kb| {
                let base = act_slot(kb, s.output, nn, c0, y, x);
                ybuf.store_slots(kb, base, &vals);
            });
        }
    });
    res.map(|_| threads)
}
