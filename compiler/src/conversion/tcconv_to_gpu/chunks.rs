//! The 16-byte operand chunks that the shared-memory conv kernels (`staged.rs`, `wgmma.rs`)
//! move per K stage: where each of a thread's chunks comes from. A stage holds `sbk` bytes of K
//! of every A row (an output pixel: its input pixel at each tap, zero in the padding) and every
//! B row (an output channel: its weight row at each tap); K runs over `taps x RB` bytes (RB =
//! the bytes of one stored pixel = one weight row at one tap, a multiple of 16, so a chunk never
//! straddles taps), and chunks past the last tap, past M or past O are invalid (zero-filled).
//! A chunk's address is computed once a tile up to its window's corner ([`WordStrides`],
//! `layout::Corner`); a stage adds only its tap's offset.

use super::builder::{Cmp, KernelBuilder, Val};
use super::conv::ConvSpec;
use super::layout::{gemm_row, Axis};
use super::layout::{pixel_strides, weight_slot, Corner, Eval, IndexMath};
use nibble_qnn::semantics::Layout;
use nibble_tcconv::buffer::ActBuffer;
use nibble_tcconv::pack::stored_elem;
use nibble_tcconv::program::PackedWeight;

/// Word strides of a conv's chunked operands. For every channel-innermost input layout the
/// first word of pixel (n, h, w) is `n * act[0] + h * act[1] + w * act[2]`, and for OHWI / HWOI
/// weights the first word of output channel o's row at tap t (= ky * KW + kx) is
/// `o * weight[0] + t * weight[1]`: affine, so a chunk's address is its pixel's base (once a
/// tile) plus its tap's offset (once a stage), with no per-stage pixel or slot arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordStrides {
    pub act: [i64; 3],
    pub weight: [i64; 2],
}

impl WordStrides {
    /// The strides of `s`'s input and weight.
    pub fn new(s: &ConvSpec) -> Self {
        Self::of(s.input, s.weight, s.kernel[1])
    }

    /// The strides of an input and a weight of kernel width `kw`, read off the slot formulas
    /// of `layout.rs` (stored pixels of whole 16-byte chunks, as the chunked families take).
    pub fn of(input: &ActBuffer, weight: &PackedWeight, kw: i64) -> Self {
        // every stride is a multiple of the stored pixel (RB, a multiple of 16 bytes; a widened
        // weight's row is twice its input's pixel)
        let words = |bits: u32| move |slots: i64| slots * bits as i64 / 32;
        let wt = |o, t| weight_slot(&mut Eval, weight, o, 0, t / kw, t % kw);
        let w0 = wt(0, 0);
        WordStrides {
            act: pixel_strides(input).map(words(input.elem.bits())),
            weight: [wt(1, 0) - w0, wt(0, 1) - w0].map(words(stored_elem(weight).bits())),
        }
    }
}

/// One of this thread's A chunks: chunk index `ch` within the stage row, the row's pixel
/// (`ok`: inside M) as its window's corner (in words, [`WordStrides`]), its word offset `dst`
/// in the stage, and `guard` (None: the chunk is always inside the tile; else whether it is).
#[derive(Clone, Copy)]
pub struct AChunk {
    pub ch: Val,
    pub ok: Val,
    pub corner: Corner,
    pub dst: Val,
    pub guard: Option<Val>,
}

/// One of this thread's B chunks: chunk index, output channel (`ok`: inside O) as the word
/// `base` of its weight row (of the channel clamped to O - 1), word offset in the stage (B rows
/// after the A rows), guard.
#[derive(Clone, Copy)]
pub struct BChunk {
    pub ch: Val,
    pub ok: Val,
    pub base: Val,
    pub dst: Val,
    pub guard: Option<Val>,
}

impl AChunk {
    /// The A chunk of stage row `row`: pixel `m0 + row` of the GEMM's M `rows`.
    pub fn new(
        kb: &mut KernelBuilder,
        s: &ConvSpec,
        m0: Val,
        rows: &Axis,
        (row, ch, dst, guard): (Val, Val, Val, Option<Val>),
    ) -> Self {
        let mm = kb.add(m0, row);
        let (_, ok, n, y, x) = gemm_row(kb, s, mm, rows);
        AChunk {
            ch,
            ok,
            corner: Corner::new(kb, s, WordStrides::new(s).act, (n, y, x)),
            dst,
            guard,
        }
    }
}

impl BChunk {
    /// The B chunk of stage row `row` of GEMM `s`: output channel `n0 + row` of the O
    /// `channels`, its word offset moved by `b_off` (the stage's A words).
    pub fn new(
        kb: &mut KernelBuilder,
        s: &ConvSpec,
        n0: Val,
        channels: &Axis,
        b_off: Val,
        (row, ch, dst, guard): (Val, Val, Val, Option<Val>),
    ) -> Self {
        let o = kb.add(n0, row);
        let (ok, oc) = channels.inside(kb, o);
        let ko = kb.idx(WordStrides::new(s).weight[0]);
        let base = kb.mul(oc, ko);
        let dst = kb.add(dst, b_off);
        BChunk {
            ch,
            ok,
            base,
            dst,
            guard,
        }
    }
}

/// Where a chunk's 16 bytes come from: word `word` of `mem` (0 when invalid), whether it is
/// `valid` (else the chunk is zeros), and the chunk's `dst` / `guard` / side (A or B).
pub struct Source {
    pub mem: Val,
    pub word: Val,
    pub valid: Val,
    pub dst: Val,
    pub guard: Option<Val>,
    pub is_a: bool,
}

/// The geometry of a stage's K walk: `sbk` stored bytes of K a stage row over `taps` taps of
/// `rb` bytes (a multiple of 16: a chunk never straddles taps).
#[derive(Clone, Copy)]
pub struct StageK {
    sbk: i64,
    rb: i64,
    taps: i64,
    strides: WordStrides,
}

impl StageK {
    /// `sbk` stored bytes of K a stage row, over the conv's taps of `rb` bytes.
    pub fn new(s: &ConvSpec, sbk: i64, rb: i64) -> Self {
        StageK {
            sbk,
            rb,
            taps: s.kernel[0] * s.kernel[1],
            strides: WordStrides::new(s),
        }
    }

    /// The tap and the byte offset in that tap's row of chunk `ch` of K block `it`: K byte
    /// `it * sbk + 16 ch`, split so that what depends on the chunk alone stays out of the
    /// per-stage work (a stage inside one tap: the tap is the stage's; a stage of whole taps:
    /// the chunk's tap within it is fixed).
    fn tap_of(&self, kb: &mut KernelBuilder, it: Val, ch: Val) -> (Val, Val) {
        let (sbk, rb) = (self.sbk, self.rb);
        let k16 = kb.idx(16);
        let cb = kb.mul(ch, k16);
        let krb = kb.idx(rb);
        if rb % sbk == 0 {
            let ksbk = kb.idx(sbk);
            let kbase = kb.mul(it, ksbk);
            let t = kb.divu(kbase, krb);
            let o = kb.remu(kbase, krb);
            (t, kb.add(o, cb))
        } else if sbk % rb == 0 {
            let kper = kb.idx(sbk / rb);
            let t0 = kb.mul(it, kper);
            let tc = kb.divu(cb, krb);
            (kb.add(t0, tc), kb.remu(cb, krb))
        } else {
            let ksbk = kb.idx(sbk);
            let kbase = kb.mul(it, ksbk);
            let kbyte = kb.add(kbase, cb);
            (kb.divu(kbyte, krb), kb.remu(kbyte, krb))
        }
    }
}

/// Whether the input's chunks of `s` go through L1 (`cp.async.ca`) rather than around it: where a
/// window of more than one tap reads each input pixel again for its other taps within the
/// block, i.e. where a tile's rows are neighbouring pixels of one image (NHWC). In HWNC a tile's
/// rows are one pixel of many images, no tap of the block reads them twice, and L1 only costs
/// (ResNet-50 W8A8 batch 256 on an H100: its 3 x 3 convs 4-16% slower through it).
pub fn input_through_l1(s: &ConvSpec) -> bool {
    s.kernel[0] * s.kernel[1] > 1 && s.input.layout == Layout::NHWC
}

/// Call `f` with the [`Source`] of each chunk of K block `it`, A chunks first, in order; `xw` /
/// `ww` are the input and weight as i32 words.
#[allow(clippy::too_many_arguments)]
pub fn each_source(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    k: &StageK,
    (xw, ww): (Val, Val),
    a: &[AChunk],
    b: &[BChunk],
    it: Val,
    f: &mut dyn FnMut(&mut KernelBuilder, Source),
) {
    let st = k.strides;
    let ktaps = kb.idx(k.taps);
    let tlast = kb.idx(k.taps - 1);
    let kkw = kb.idx(s.kernel[1]);
    let k4 = kb.idx(4);
    let zero = kb.idx(0);
    // (tap ok, ky, kx, clamped tap, word offset in the row) of chunk ch
    let tap_of = |kb: &mut KernelBuilder, ch: Val| {
        let (t, off) = k.tap_of(kb, it, ch);
        let tok = kb.cmp(Cmp::Ult, t, ktaps);
        let tc = kb.mins(t, tlast);
        let ky = kb.divu(tc, kkw);
        let kx = kb.remu(tc, kkw);
        (tok, ky, kx, tc, kb.divu(off, k4))
    };
    // a chunk past its stage (`guard` false: the stage's chunks do not fill every thread's
    // last turn) reads nothing either: its row may lie past the operand's last one
    let guarded = |kb: &mut KernelBuilder, v: Val, guard: Option<Val>| match guard {
        Some(g) => kb.andb(v, g),
        None => v,
    };
    for c in a {
        let (tok, ky, kx, _, woff) = tap_of(kb, c.ch);
        let (v, wi) = c.corner.tap(kb, s, st.act, (ky, kx));
        let v = kb.andb(v, tok);
        let v = kb.andb(v, c.ok);
        let v = guarded(kb, v, c.guard);
        let wi = kb.add(wi, woff);
        let wi = kb.select(v, wi, zero);
        let src = Source {
            mem: xw,
            word: wi,
            valid: v,
            dst: c.dst,
            guard: c.guard,
            is_a: true,
        };
        f(kb, src);
    }
    for c in b {
        let (tok, _, _, tc, woff) = tap_of(kb, c.ch);
        let v = kb.andb(tok, c.ok);
        let v = guarded(kb, v, c.guard);
        let d = kb.madd(tc, st.weight[1], woff);
        let wi = kb.add(c.base, d);
        let wi = kb.select(v, wi, zero);
        let src = Source {
            mem: ww,
            word: wi,
            valid: v,
            dst: c.dst,
            guard: c.guard,
            is_a: false,
        };
        f(kb, src);
    }
}

/// Main loops (wgmma and staged) of at most this many K stages are unrolled: each stage's
/// slot, tap and prefetch guard are then constants. 24 covers ResNet-50's 3 x 3 convs (18
/// stages) and reducing 1x1 convs (8 and 16); LLVM unrolls some such loops itself, less well, and
/// keeps others (stage 3's 3 x 3 at batch 256: 298 instructions a stage). Against 6, on an H100
/// (ResNet-50 W4A4 sm_90a, bench/RESULTS.md): batch 8 0.4272 -> 0.4062 ms, 64 1.8024 -> 1.7551,
/// 256 6.867 -> 6.724, bit-exact.
pub const MAINLOOP_UNROLL: i64 = 24;

/// One step of a cp.async ring: issue the copies of stage `it + ahead` into its slot
/// (`(it + ahead) % slots`) when there is such a stage among `iters`, then commit the group
/// (an empty one at the end, so that the group count per iteration stays fixed).
pub fn prefetch(
    kb: &mut KernelBuilder,
    it: Val,
    ahead: i64,
    iters: i64,
    slots: Val,
    load_stage: &dyn Fn(&mut KernelBuilder, Val, Val),
) {
    let kahead = kb.idx(ahead);
    let nx = kb.add(it, kahead);
    let kit = kb.idx(iters);
    let more = kb.cmp(Cmp::Ult, nx, kit);
    kb.if_then(more, |kb| {
        let sl = kb.remu(nx, slots);
        load_stage(kb, nx, sl);
    });
    kb.async_commit();
}

#[cfg(test)]
mod tests {
    use super::super::layout::act_slot;
    use super::*;
    use nibble_qnn::semantics::{ElemType, KernelLayout, Layout};
    use nibble_tcconv::program::Packing;

    /// The loaders address a chunk as its pixel's word plus its tap's offset: the slot
    /// formulas must be affine in (n, h, w) and, for weights, in (o, ky * KW + kx), with
    /// strides of whole words, for every layout and packing the chunked families take.
    #[test]
    fn chunk_words_are_affine_in_pixel_and_tap() {
        for (elem, c) in [
            (ElemType::U4, 32),
            (ElemType::I4, 64),
            (ElemType::I8, 16),
            (ElemType::U8, 48),
        ] {
            let bits = elem.bits() as i64;
            for layout in [Layout::NHWC, Layout::HWNC] {
                for packing in [Packing::ConvOhwi, Packing::ConvHwoi] {
                    let (n, h, w, o, kh, kw) = (3, 5, 7, 6, 3, 2);
                    let x = ActBuffer::new(layout, elem, [n, c, h, w]);
                    let wt = PackedWeight {
                        name: "w".into(),
                        source: "w".into(),
                        packing: packing.clone(),
                        elem,
                        dims: [o, c, kh, kw],
                        source_layout: KernelLayout::OIHW,
                        space_to_depth: None,
                        widened: false,
                        tiles: None,
                    };
                    let st = WordStrides::of(&x, &wt, kw);
                    for (i, ((nn, y), xx)) in (0..n)
                        .flat_map(|a| (0..h).map(move |b| (a, b)))
                        .flat_map(|p| (0..w).map(move |q| (p, q)))
                        .enumerate()
                    {
                        let slot = act_slot(&mut Eval, &x, nn, 0, y, xx);
                        assert_eq!(slot * bits % 32, 0, "whole words");
                        let want = slot * bits / 32;
                        let got = nn * st.act[0] + y * st.act[1] + xx * st.act[2];
                        assert_eq!(got, want, "{layout:?} {elem:?} pixel {i}");
                    }
                    for oo in 0..o {
                        for t in 0..kh * kw {
                            let slot = weight_slot(&mut Eval, &wt, oo, 0, t / kw, t % kw);
                            let got = oo * st.weight[0] + t * st.weight[1];
                            assert_eq!(got, slot * bits / 32, "{packing:?} {elem:?} o {oo} t {t}");
                        }
                    }
                }
            }
        }
    }
}
