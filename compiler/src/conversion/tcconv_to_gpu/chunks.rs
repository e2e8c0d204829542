//! The 16-byte operand chunks that the shared-memory conv kernels (`staged.rs`, `wgmma.rs`)
//! move per K stage: where each of a thread's chunks comes from. A stage holds `sbk` bytes of K
//! of every A row (an output pixel: its input pixel at each tap, zero in the padding) and every
//! B row (an output channel: its weight row at each tap); K runs over `taps x RB` bytes (RB =
//! the bytes of one stored pixel = one weight row at one tap, a multiple of 16, so a chunk never
//! straddles taps), and chunks past the last tap, past M or past O are invalid (zero-filled).

use super::builder::{Cmp, KernelBuilder, Val};
use super::conv::ConvSpec;
use super::layout::{act_slot, weight_slot};
use super::layout::{gemm_row, tap};

/// One of this thread's A chunks: chunk index `ch` within the stage row, the row's pixel
/// (`ok`: inside M; `n, y, x`), its word offset `dst` in the stage, and `guard` (None: the
/// chunk is always inside the tile; else whether it is).
#[derive(Clone, Copy)]
pub struct AChunk {
    pub ch: Val,
    pub ok: Val,
    pub n: Val,
    pub y: Val,
    pub x: Val,
    pub dst: Val,
    pub guard: Option<Val>,
}

/// One of this thread's B chunks: chunk index, output channel (`ok`: inside O; `oc` clamped),
/// word offset in the stage (B rows after the A rows), guard.
#[derive(Clone, Copy)]
pub struct BChunk {
    pub ch: Val,
    pub ok: Val,
    pub oc: Val,
    pub dst: Val,
    pub guard: Option<Val>,
}

impl AChunk {
    /// The A chunk of stage row `row`: pixel `m0 + row` of the GEMM's M rows (`mlim` = M,
    /// `mlast` = M - 1).
    pub fn new(
        kb: &mut KernelBuilder,
        s: &ConvSpec,
        m0: Val,
        (mlim, mlast): (Val, Val),
        (row, ch, dst, guard): (Val, Val, Val, Option<Val>),
    ) -> Self {
        let mm = kb.add(m0, row);
        let (_, ok, n, y, x) = gemm_row(kb, s, mm, (mlim, mlast));
        AChunk {
            ch,
            ok,
            n,
            y,
            x,
            dst,
            guard,
        }
    }
}

impl BChunk {
    /// The B chunk of stage row `row`: output channel `n0 + row` (`olim` = O, `olast` = O - 1),
    /// its word offset moved by `b_off` (the stage's A words).
    pub fn new(
        kb: &mut KernelBuilder,
        n0: Val,
        (olim, olast): (Val, Val),
        b_off: Val,
        (row, ch, dst, guard): (Val, Val, Val, Option<Val>),
    ) -> Self {
        let o = kb.add(n0, row);
        let ok = kb.cmp(Cmp::Ult, o, olim);
        let oc = kb.mins(o, olast);
        let dst = kb.add(dst, b_off);
        BChunk {
            ch,
            ok,
            oc,
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

/// The index constants of a stage's K walk, made once per kernel.
#[derive(Clone, Copy)]
pub struct StageK {
    kbk: Val,
    krb: Val,
    k16: Val,
    ktaps: Val,
    tlast: Val,
    kkw: Val,
    kpb: Val,
    k4: Val,
}

impl StageK {
    /// `sbk` stored bytes of K a stage row, over the conv's taps of `rb` bytes.
    pub fn new(kb: &mut KernelBuilder, s: &ConvSpec, sbk: i64, rb: i64) -> Self {
        let taps = s.kernel[0] * s.kernel[1];
        let bits = s.input.elem.bits() as i64;
        let kbk = kb.idx(sbk);
        let krb = kb.idx(rb);
        let k16 = kb.idx(16);
        let ktaps = kb.idx(taps);
        let tlast = kb.idx(taps - 1);
        let kkw = kb.idx(s.kernel[1]);
        let kpb = kb.idx(8 / bits); // elements per byte
        let k4 = kb.idx(4);
        StageK {
            kbk,
            krb,
            k16,
            ktaps,
            tlast,
            kkw,
            kpb,
            k4,
        }
    }
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
    let [_, _, h, w] = s.input.dims;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let kbase = kb.mul(it, k.kbk);
    // (tap ok, ky, kx, byte offset in the row) of chunk ch
    let tap_of = |kb: &mut KernelBuilder, ch: Val| {
        let co = kb.mul(ch, k.k16);
        let kbyte = kb.add(kbase, co);
        let tp = kb.divu(kbyte, k.krb);
        let off = kb.remu(kbyte, k.krb);
        let tok = kb.cmp(Cmp::Ult, tp, k.ktaps);
        let tc = kb.mins(tp, k.tlast);
        let ky = kb.divu(tc, k.kkw);
        let kx = kb.remu(tc, k.kkw);
        (tok, ky, kx, off)
    };
    let zero = kb.idx(0);
    // the word of byte `off` of the row that starts at element `slot` (0 unless `v`)
    let word = |kb: &mut KernelBuilder, slot: Val, off: Val, v: Val| {
        let byte = kb.divu(slot, k.kpb);
        let byte = kb.add(byte, off);
        let wi = kb.divu(byte, k.k4);
        kb.select(v, wi, zero)
    };
    for c in a {
        let (tok, ky, kx, off) = tap_of(kb, c.ch);
        let (vh, ih) = tap(kb, c.y, ky, sh, pt, h);
        let (vw, iw) = tap(kb, c.x, kx, sw, pl, w);
        let v = kb.andb(vh, vw);
        let v = kb.andb(v, tok);
        let v = kb.andb(v, c.ok);
        let slot = act_slot(kb, s.input, c.n, zero, ih, iw);
        let wi = word(kb, slot, off, v);
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
        let (tok, ky, kx, off) = tap_of(kb, c.ch);
        let v = kb.andb(tok, c.ok);
        let slot = weight_slot(kb, s.weight, c.oc, zero, ky, kx);
        let wi = word(kb, slot, off, v);
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
/// slot, tap and prefetch guard are then constants.
pub const MAINLOOP_UNROLL: i64 = 6;

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
