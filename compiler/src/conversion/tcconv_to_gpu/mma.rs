//! The register-only tensor-core conv2d kernel: an implicit GEMM on `nvvm.mma.sync`, operand
//! fragments loaded straight from global memory, the fused epilogue on the accumulator
//! fragments. `staged.rs` (shared-memory tiles, cp.async, ldmatrix) takes every conv it can on
//! sm_80+; this kernel covers the rest: sm_75 (no cp.async), the 3-channel stem (taps along K),
//! channel counts that are not whole 16-byte chunks (MobileNetV2's 24 channels), and
//! `convert-qnn-to-tcconv{kernel=mma}`.
//!
//! GEMM view: M = output pixels, N = output channels O, K = KH*KW*C (taps x input channels).
//! A (M x K, row-major) is the input: row m = pixel (n, oh, ow), at tap (ky, kx) the K slice is
//! the C stored channels of input pixel (n, oh*sh+ky-pt, ow*sw+kx-pl) (zero when in padding).
//! B (K x N, "col": stored as N rows of K) is the weight: row o at tap (ky, kx) is
//! `weight_slot(o, 0, ky, kx) ..+ C` in both OHWI and HWOI packings.
//! Pixel order m: (oh, ow, n) for an HWNC input (direct strategy: 16 consecutive rows are 16
//! batch images at one pixel, contiguous in the HWNC input), (n, oh, ow) otherwise.
//!
//! Shapes and fragments (PTX ISA `mma.sync.aligned.mMnNkK.row.col.s32.{a}.{b}.s32`, lane =
//! 4*groupID + tig; every fragment register holds E = 32/bits consecutive K elements, element
//! j in bits [bits*j + bits-1 : bits*j], low first, as the storage packs them):
//! | target / operands               | shape    | A regs (row, k)                          | B regs (n, k)      |
//! |---------------------------------|----------|------------------------------------------|--------------------|
//! | sm_80/86/89 4-bit (s4/u4)       | m16n8k64 | (g,8t) (g+8,8t) (g,32+8t) (g+8,32+8t)    | (g,8t) (g,32+8t)   |
//! | sm_80+ 8-bit, sm_90 4-bit widen | m16n8k32 | (g,4t) (g+8,4t) (g,16+4t) (g+8,16+4t)    | (g,4t) (g,16+4t)   |
//! | sm_75 4-bit                     | m8n8k32  | (g,8t)                                   | (g,8t)             |
//! | sm_75 8-bit                     | m8n8k16  | (g,4t)                                   | (g,4t)             |
//! C/D: register i holds (row g + 8*(i/2), col 2t + i%2).
//! A native 4-bit register is one packed word of the input row (8 channels), an 8-bit register
//! one i32 word of 4 bytes; on sm_90 a 4-bit operand is widened in registers: the register for
//! k = 4t.. is half a packed word (`widen4`: nibble -> byte, sign-extended for s4).
//!
//! Work split (`plan`): a warp computes an (MT*m) x (NT*8) tile: 2 x 4 m16n8 tiles (32 x 32;
//! 4 x 4 m8n8 on sm_75) when that gives at least 4 warps per SM, else K is split 2 or 4 ways
//! inside a block (each warp takes 1/split of every tap's K steps; the partial accumulators meet
//! in shared memory, `[warp][acc][lane]`, after a `gpu.barrier`, and the tile's first warp adds
//! them), and only then the tile shrinks (2x2, 1x2, 1x1 m-by-n tiles): late layers at batch 1
//! (M = 49) get enough warps. Once the tile is chosen, the split is doubled (up to 4) while the
//! doubled warp count still fits one resident wave (16 warps per SM at the kernel's 128
//! registers; `more_split`) and each warp keeps >= 4 K steps, and >= 2 a tap unless the block
//! already reduces: the kernel is latency-bound, so more, shorter warps hide more of it (H200,
//! batch 8: RFC layer 3 28.2 -> 23.6 us, ResNet-50 W4A4 1.27 -> 1.17 ms; without the K-step
//! floors, 1x1 and C = 64 3x3 layers got 6-15% slower). 4 warps per block (128 threads); tile `block*(4/split) +
//! warp/split` = (M tile `tile / TN`, N tile `tile % TN`). Loop: taps (ky, kx), then K steps of
//! mma.k channels; per step MT*NT mma.sync on MT*NT*m/4 i32 accumulators.
//! Taps along K (`MmaPlan::tapk`, the 3-channel stem: one 32-bit word per stored pixel): K is
//! taps x Cs, a fragment register is the word of tap `q*TPS + 4h + t` (see `tapk_accumulate`);
//! a warp's K steps (7 on the 7x7 stem) are unrolled up to 8, so their loads issue together.
//!
//! Epilogue: per accumulator (m, o): `acc + bias[o]`, `epilogue::epilogue` (requantize / residual /
//! clamp / relu, the output type's range), store at `act_slot(out, n, o, oh, ow)`. 4-bit outputs:
//! the 4 lanes of a group hold the 8 channels of one output word (2 each): each packs its pair
//! into a byte at 8*t, two `shuffle xor` (1, 2) OR the bytes into the word, lane t = 0 stores it.
//!
//! Taken when: conv (not dense), O % 8 == 0, C % mma.k == 0 (so both operands' stored rows are
//! exactly C), or input and weight rows of the same stored channels Cs, whole fragment
//! registers (Cs a multiple of 32 / bits): the last K step of a tap is partial, its registers
//! past Cs zero in A (their loads clamped into the row; B's meet those zeros), or taps along K
//! (one word per stored pixel and weight tap, no widening), both
//! operands 4- or 8-bit as stored and as the tiling's MMA types allow, output channel-innermost
//! if 4-bit. Everything else uses `conv::simple`.
//!
//! Work and traffic per warp tile: 32*32*KH*KW*C MACs = (KH*KW*C/k) * 8 mma.sync; loads per K
//! step: A 32 rows x k elements, B 32 rows x k elements, straight from L1/L2 (each A row is
//! re-read by every N tile: O/32 times; each weight row by every M tile). Arithmetic intensity
//! per K step: 32*32*k MACs for 64*k*bits/8 bytes = 16 MACs/byte (4-bit: 32) from cache.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::conv::{ConvArgs, ConvSpec};
use super::elementwise::quantize_f32;
use super::epilogue::{store_tile, StageOut, TileBufs, WarpTile};
use super::layout::{act_slot, weight_slot, Buf};
use super::layout::{gemm_row, tap, Axis};
use super::pool;
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::ir::mma_type_name;
use nibble_tcconv::select::QuantizeSpec;

pub use nibble_tcconv::select::{
    mma_plan as plan, pool_plan, MmaPlan, PoolPlan, MMA_BLOCK_THREADS,
};

/// Most K steps a warp of the taps-along-K mode runs unrolled (the 7x7 stem has 7).
const TAPK_UNROLL: i64 = 8;

/// The shared memory of a split-K kernel: every warp's accumulators, `[warp][acc][lane]` (lanes
/// innermost: conflict-free).
pub fn smem_words(p: &MmaPlan) -> i64 {
    (MMA_BLOCK_THREADS / 32) * p.accs() * 32
}

/// The MMAs of one K step over a warp tile: `afr[mt]` x `bfr[nt]` into the accumulators of
/// tile (mt, nt) at `(mt * NT + nt) * m/4` (NT = `bfr.len()`); returns the new accumulators.
pub(super) fn warp_mma(
    kb: &mut KernelBuilder,
    shape: [i64; 3],
    (at, bt): (&str, &str),
    afr: &[Vec<Val>],
    bfr: &[Vec<Val>],
    accs: &[Val],
) -> Vec<Val> {
    let per = (shape[0] / 4) as usize;
    let mut out = accs.to_vec();
    for (mt, af) in afr.iter().enumerate() {
        for (nt, bf) in bfr.iter().enumerate() {
            let i0 = (mt * bfr.len() + nt) * per;
            let d = kb.mma_sync(shape, at, bt, af, bf, &out[i0..i0 + per]);
            out[i0..i0 + per].copy_from_slice(&d);
        }
    }
    out
}

/// One fragment register of operand `buf` (stored `stored`, MMA operand `mma`): the E = 32/bits
/// elements at slots `[s, s + E)` of the row (`s` a multiple of E).
fn frag_reg(kb: &mut KernelBuilder, buf: &Buf, stored: ElemType, mma: ElemType, s: Val) -> Val {
    match (stored.bits(), mma.bits()) {
        (4, 4) => {
            let k8 = kb.idx(8);
            let wi = kb.divu(s, k8);
            kb.load(buf.mem, wi)
        }
        (8, 8) => {
            let k4 = kb.idx(4);
            let wi = kb.divu(s, k4);
            kb.load(buf.words.expect("byte operands have an i32 view"), wi)
        }
        _ => {
            // 4-bit stored, 8-bit MMA: nibbles s..s+3 = half (s/4 % 2) of word s/8
            let k8 = kb.idx(8);
            let wi = kb.divu(s, k8);
            let w = kb.load(buf.mem, wi);
            let k4 = kb.idx(4);
            let q = kb.divu(s, k4);
            let two = kb.idx(2);
            let half = kb.remu(q, two);
            let h32 = kb.index_cast(half, Scalar::I32);
            let sixteen = kb.i32c(16);
            let sh = kb.mul(h32, sixteen);
            let x = kb.shru(w, sh);
            kb.widen4(x, stored.is_signed())
        }
    }
}

/// The 32-bit word of 8-bit elements `e` that a fused input quantize (`q`) stores for input
/// pixel (n, h, w): channel c's `quantize_f32` of the f32 input `x` in byte c, zero in the
/// padded channels past the input's (at most 4: the taps-along-K mode's one word a pixel).
fn quantized_word(
    kb: &mut KernelBuilder,
    x: &Buf,
    q: QuantizeSpec,
    e: ElemType,
    (n, h, w): (Val, Val, Val),
) -> Val {
    let mut word = kb.i32c(0);
    for c in 0..q.source.dims[1].min(4) {
        let kc = kb.idx(c);
        let sl = act_slot(kb, q.source, n, kc, h, w);
        let v = x.load_slot(kb, sl);
        let v = quantize_f32(kb, v, q.q.scale, q.q.zero_point, q.q.mode, e);
        let mask = kb.i32c(0xff);
        let byte = kb.and(v, mask);
        let at = kb.i32c(8 * c);
        let byte = kb.shl(byte, at);
        word = kb.or(word, byte);
    }
    word
}

/// Build the MMA conv kernel body (`args` in the tcconv op's operand order). Returns the number
/// of threads (a multiple of 32; the launch uses [`MMA_BLOCK_THREADS`] threads per block).
pub fn conv(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    p: &MmaPlan,
) -> Result<i64, String> {
    if s.pooled.is_some() {
        let pp =
            pool_plan(s, p).ok_or("this conv's max pool does not fit the register-MMA kernel")?;
        return conv_pooled(kb, args, s, &pp);
    }
    let ca = ConvArgs::of(args, s);
    let [_, _, h, w] = s.input.dims;
    // stored channels of a tap's row (input and weight alike)
    let cs = s.input.stored_channels();
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let o_total = s.output.dims[1];
    let [mm, _, kk] = p.shape;
    let bits = p.a_type.bits() as i64;
    let e = 32 / bits; // elements per fragment register
    let khalves = kk / (4 * e); // K halves per mma (2 for m16 shapes, 1 for m8)
    let rhalves = mm / 8; // row halves per m-tile
    let (at, bt) = (mma_type_name(p.a_type), mma_type_name(p.b_type));

    let cb = ca.bufs(kb, s);
    let (xb, wb) = (&cb.x, &cb.w);

    // warp / lane geometry
    let tid = kb.thread_id();
    let bid = kb.block_id();
    let k32 = kb.idx(32);
    let lane = kb.remu(tid, k32);
    let wib = kb.divu(tid, k32);
    // tile = block * (4 / split) + warp / split, K slice ks = warp % split
    let ksplit = kb.idx(p.split);
    let tpb = kb.idx(MMA_BLOCK_THREADS / 32 / p.split);
    let bw = kb.mul(bid, tpb);
    let wt = kb.divu(wib, ksplit);
    let gw = kb.add(bw, wt);
    let ks = kb.remu(wib, ksplit);
    let tiles = kb.idx(p.tiles());
    let warp_ok = kb.cmp(Cmp::Ult, gw, tiles);
    let last = kb.idx(p.tiles() - 1);
    let gwc = kb.mins(gw, last);
    let ktn = kb.idx(p.tiles_n);
    let tm = kb.divu(gwc, ktn);
    let tn = kb.remu(gwc, ktn);
    let k4 = kb.idx(4);
    let g = kb.divu(lane, k4);
    let t = kb.remu(lane, k4);
    let rows_per_warp = kb.idx(p.mt * mm);
    let mbase = kb.mul(tm, rows_per_warp);
    let cols_per_warp = kb.idx(p.nt * 8);
    let nbase = kb.mul(tn, cols_per_warp);

    // the rows this lane touches: (m-tile, row half) -> (m, valid, n, oh, ow)
    // warps past the last tile repeat it (`gw` clamped above): every row is tested
    let mrows = Axis::loose(p.m);
    let mut rows = vec![];
    for mt in 0..p.mt {
        for rh in 0..rhalves {
            let off = kb.idx(mt * mm + rh * 8);
            let r = kb.add(mbase, off);
            let m = kb.add(r, g);
            rows.push(gemm_row(kb, s, m, &mrows));
        }
    }
    // the weight rows (output channels) this lane loads for B: o = nbase + 8*nt + g
    let olast = kb.idx(o_total - 1);
    let mut ocols = vec![];
    for nt in 0..p.nt {
        let off = kb.idx(nt * 8);
        let o0 = kb.add(nbase, off);
        let o = kb.add(o0, g);
        ocols.push(kb.mins(o, olast));
    }

    let zero = kb.i32c(0);
    let nacc = (p.mt * p.nt * (mm / 4)) as usize; // accumulator registers per lane
    let accs = vec![zero; nacc];
    let izero = kb.idx(0);
    let ke = kb.idx(e);
    let te = kb.mul(t, ke); // this lane's k offset inside a K half
    let accs = if p.tapk {
        tapk_accumulate(kb, s, p, xb, wb, &rows, &ocols, t, ks, &accs)
    } else {
        kb.for_n(kh, 1, &accs, |kb, ky, accs| {
            kb.for_n(kw, 1, accs, |kb, kx, accs| {
                // per row: input slot of channel 0 at this tap, and whether the tap is in bounds
                let mut arow = vec![];
                for (_, _, n, y, x) in &rows {
                    let (vh, ih) = tap(kb, *y, ky, sh, pt, h);
                    let (vw, iw) = tap(kb, *x, kx, sw, pl, w);
                    let ok = kb.andb(vh, vw);
                    let base = act_slot(kb, s.input, *n, izero, ih, iw);
                    arow.push((base, ok));
                }
                let wrow: Vec<Val> = ocols
                    .iter()
                    .map(|o| weight_slot(kb, s.weight, *o, izero, ky, kx))
                    .collect();
                // this warp's K steps of the tap: [ks * ksteps / split, (ks + 1) * ksteps / split)
                let per_split = kb.idx(p.ksteps / p.split);
                let lo = kb.mul(ks, per_split);
                let hi = kb.add(lo, per_split);
                let one = kb.idx(1);
                let body = |kb: &mut KernelBuilder, step: Val, accs: &[Val]| -> Vec<Val> {
                    let kkc = kb.idx(kk);
                    let k0 = kb.mul(step, kkc);
                    let kt = kb.add(k0, te);
                    // this lane's K index of each K half; with a partial last step, whether it
                    // lies in the row (registers past Cs are zero, their loads kept in the row)
                    let kqs: Vec<(Val, Option<Val>)> = (0..khalves)
                        .map(|khf| {
                            let ko = kb.idx(khf * 4 * e);
                            let kq = kb.add(kt, ko);
                            if cs % kk == 0 {
                                return (kq, None);
                            }
                            let kcs = kb.idx(cs);
                            let inside = kb.cmp(Cmp::Ult, kq, kcs);
                            let klast = kb.idx(cs - e);
                            (kb.mins(kq, klast), Some(inside))
                        })
                        .collect();
                    // A registers per m-tile: for kh in halves, for rh in row halves
                    let mut afr: Vec<Vec<Val>> = vec![];
                    for mt in 0..p.mt as usize {
                        let mut regs = vec![];
                        for &(kq, inside) in &kqs {
                            for rh in 0..rhalves as usize {
                                let (base, ok) = arow[mt * rhalves as usize + rh];
                                let sl = kb.add(base, kq);
                                let r = frag_reg(kb, xb, s.input.elem, p.a_type, sl);
                                let ok = match inside {
                                    Some(i) => kb.andb(ok, i),
                                    None => ok,
                                };
                                regs.push(kb.select(ok, r, zero));
                            }
                        }
                        afr.push(regs);
                    }
                    // B registers past Cs meet zero A registers: only their loads stay in the row
                    let mut bfr: Vec<Vec<Val>> = vec![];
                    for wr in &wrow {
                        let mut regs = vec![];
                        for &(kq, _) in &kqs {
                            let sl = kb.add(*wr, kq);
                            regs.push(frag_reg(kb, wb, s.weight.elem, p.b_type, sl));
                        }
                        bfr.push(regs);
                    }
                    warp_mma(kb, p.shape, (at, bt), &afr, &bfr, accs)
                };
                if p.split == 1 {
                    kb.for_n(p.ksteps, 1, accs, body)
                } else {
                    kb.for_range(lo, hi, one, accs, body)
                }
            })
        })
    };
    let accs = if p.split == 1 {
        accs
    } else {
        // split K: every warp stores its accumulators [warp][acc][lane]; the first warp of
        // each tile (ks == 0) adds those of the next split-1 warps (the tile's other K slices).
        let smem = args[args.len() - 1];
        let nacc = kb.idx(p.accs());
        let at_smem = |kb: &mut KernelBuilder, w: Val, i: usize| {
            let wa = kb.mul(w, nacc);
            let ii = kb.idx(i as i64);
            let r = kb.add(wa, ii);
            let r = kb.mul(r, k32);
            kb.add(r, lane)
        };
        for (i, acc) in accs.iter().enumerate() {
            let sl = at_smem(kb, wib, i);
            kb.store(*acc, smem, sl);
        }
        kb.barrier();
        let mut out = accs.clone();
        let wlast = kb.idx(MMA_BLOCK_THREADS / 32 - 1);
        for j in 1..p.split {
            let jj = kb.idx(j);
            let w2 = kb.add(wib, jj);
            // for ks != 0 warps w2 may leave the block: clamped (their sums are never stored)
            let w2 = kb.mins(w2, wlast);
            for (i, acc) in out.iter_mut().enumerate() {
                let sl = at_smem(kb, w2, i);
                let v = kb.load(smem, sl);
                *acc = kb.add(*acc, v);
            }
        }
        out
    };
    // only the first warp of a tile stores (uniform per warp)
    let ks0 = kb.cmp(Cmp::Eq, ks, izero);
    let warp_ok = kb.andb(warp_ok, ks0);
    let bufs = TileBufs::of(&cb, None);
    let tile = WarpTile {
        mt: p.mt,
        nt: p.nt,
        mm,
        rows: &rows,
        nbase,
        t,
        ok: warp_ok,
        exact_o: false,
        stage: None,
        stream: None,
    };
    store_tile(kb, s, &bufs, &tile, &accs)?;
    Ok(p.threads())
}

/// The K loop of the taps-along-K mode (`MmaPlan::tapk`): K step `q` covers taps
/// `[q*TPS, (q+1)*TPS)` (TPS = mma.k / Cs); the fragment register of K half `h` of lane `t`
/// is the word of tap `q*TPS + 4h + t` (tap = ky*KW + kx), or, when a kernel row fits a step
/// and the steps are the rows (KW <= 8 = TPS, KH steps), of tap (q, 4h + t): for A the input pixel
/// (n, oh*sh + ky - pt, ow*sw + kx - pl) (0 in the padding), for B the weight word
/// `weight_slot(o, 0, ky, kx) / Cs`; taps >= KH*KW give 0.
#[allow(clippy::too_many_arguments)]
fn tapk_accumulate(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    p: &MmaPlan,
    xb: &Buf,
    wb: &Buf,
    rows: &[(Val, Val, Val, Val, Val)],
    ocols: &[Val],
    t: Val,
    ks: Val,
    accs: &[Val],
) -> Vec<Val> {
    let [_, _, h, w] = s.input.dims;
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let [mm, _, kk] = p.shape;
    let bits = p.a_type.bits() as i64;
    let e = 32 / bits;
    let tps = kk / e;
    let khalves = kk / (4 * e);
    let rhalves = (mm / 8) as usize;
    let taps = kh * kw;
    let (at, bt) = (mma_type_name(p.a_type), mma_type_name(p.b_type));
    let steps = p.ksteps / p.split;
    let per_split = kb.idx(steps);
    let lo = kb.mul(ks, per_split);
    let zero = kb.i32c(0);
    let izero = kb.idx(0);
    // a kernel row a K step (the 7x7 stem: 8 taps a step, 7 steps either way): K step q is
    // ky = q and lane t's register of K half h is kx = 4h + t (kx >= KW gives 0), so kx and
    // the input column are fixed per lane and no tap is divided by KW
    let rows_along_k = tps == 8 && khalves == 2 && kw <= 8 && p.ksteps == kh;
    let body = |kb: &mut KernelBuilder, step: Val, accs: &[Val]| -> Vec<Val> {
        let ktps = kb.idx(tps);
        let base = kb.mul(step, ktps);
        // per K half: this lane's tap, its validity and (ky, kx)
        let mut half = vec![];
        for khf in 0..khalves {
            if rows_along_k {
                let off = kb.idx(khf * 4);
                let kx = kb.add(off, t);
                let kwk = kb.idx(kw);
                let ok = kb.cmp(Cmp::Ult, kx, kwk);
                let last = kb.idx(kw - 1);
                let kx = kb.mins(kx, last);
                half.push((ok, step, kx));
                continue;
            }
            let off = kb.idx(khf * 4);
            let b0 = kb.add(base, off);
            let tap = kb.add(b0, t);
            let lim = kb.idx(taps);
            let ok = kb.cmp(Cmp::Ult, tap, lim);
            let last = kb.idx(taps - 1);
            let tc = kb.mins(tap, last);
            let kwk = kb.idx(kw);
            let ky = kb.divu(tc, kwk);
            let kx = kb.remu(tc, kwk);
            half.push((ok, ky, kx));
        }
        let mut afr = vec![];
        for mt in 0..p.mt as usize {
            let mut regs = vec![];
            for &(tok, ky, kx) in &half {
                for rh in 0..rhalves {
                    let (_, _, n, y, x) = rows[mt * rhalves + rh];
                    let (vh, ih) = tap(kb, y, ky, sh, pt, h);
                    let (vw, iw) = tap(kb, x, kx, sw, pl, w);
                    let ok = kb.andb(vh, vw);
                    let ok = kb.andb(ok, tok);
                    let r = match s.quantize {
                        Some(q) => quantized_word(kb, xb, q, s.input.elem, (n, ih, iw)),
                        None => {
                            let sl = act_slot(kb, s.input, n, izero, ih, iw);
                            frag_reg(kb, xb, s.input.elem, p.a_type, sl)
                        }
                    };
                    regs.push(kb.select(ok, r, zero));
                }
            }
            afr.push(regs);
        }
        let mut bfr = vec![];
        for o in ocols {
            let mut regs = vec![];
            for &(tok, ky, kx) in &half {
                let sl = weight_slot(kb, s.weight, *o, izero, ky, kx);
                let r = frag_reg(kb, wb, s.weight.elem, p.b_type, sl);
                regs.push(kb.select(tok, r, zero));
            }
            bfr.push(regs);
        }
        warp_mma(kb, p.shape, (at, bt), &afr, &bfr, accs)
    };
    if steps > TAPK_UNROLL {
        let hi = kb.add(lo, per_split);
        let one = kb.idx(1);
        return kb.for_range(lo, hi, one, accs, body);
    }
    // unrolled: every step's loads are independent of the MMAs before them, so the scheduler
    // can issue them ahead instead of waiting out each step's load latency in turn
    let mut accs = accs.to_vec();
    for j in 0..steps {
        let off = kb.idx(j);
        let step = kb.add(lo, off);
        accs = body(kb, step, &accs);
    }
    accs
}

/// The conv with its max pool (`Conv::pool`, [`PoolPlan`]): block `b` takes pooled tile
/// (n, ty, tx) and computes the conv's map over the patch of `rh x rw` pixels its windows read,
/// one 32-row warp tile of every channel a warp (patch row `r` = warp * 32 + the fragment row:
/// pixel (oy0 + r / rw, ox0 + r % rw), clamped into the map for the loads; rows past the patch
/// or outside the map are never read back). The epilogue stages the packed 4-bit map in shared
/// memory, `[r][O / 8]` words; after a barrier each thread takes (pooled pixel, word) items and
/// joins the in-map taps of the window as the pool kernel does over packed words
/// (`pool::packed_max_tap`), then stores the word. The map is never stored.
fn conv_pooled(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    pp: &PoolPlan,
) -> Result<i64, String> {
    let p = &pp.mma;
    let (pooled, pl) = s.pooled.ok_or("no pool")?;
    let ca = ConvArgs::of(args, s);
    let cb = ca.bufs(kb, s);
    let (xb, wb) = (&cb.x, &cb.w);
    let smem = args[args.len() - 1];
    let [n_total, o, oh, ow] = s.output.dims;
    let [_, _, poh, pow] = pooled.dims;
    let mm = p.shape[0];
    let rhalves = mm / 8;
    let wpr = o / 8;

    let tid = kb.thread_id();
    let bid = kb.block_id();
    let k32 = kb.idx(32);
    let lane = kb.remu(tid, k32);
    let wib = kb.divu(tid, k32);
    let k4 = kb.idx(4);
    let g = kb.divu(lane, k4);
    let t = kb.remu(lane, k4);
    // the block's pooled tile and the patch's corner in the map (signed: it may lie above or
    // left of the map)
    let per = kb.idx(pp.tiles_y * pp.tiles_x);
    let n = kb.divu(bid, per);
    let r = kb.remu(bid, per);
    let ktx = kb.idx(pp.tiles_x);
    let ty = kb.divu(r, ktx);
    let tx = kb.remu(r, ktx);
    let [psh, psw] = pl.strides;
    let (ppt, ppl) = (pl.padding[0], pl.padding[1]);
    let kph = kb.idx(pp.ph * psh);
    let kpw = kb.idx(pp.pw * psw);
    let oy0 = kb.mul(ty, kph);
    let ox0 = kb.mul(tx, kpw);
    let kpt = kb.idx(ppt);
    let kpl = kb.idx(ppl);
    let oy0 = kb.sub(oy0, kpt);
    let ox0 = kb.sub(ox0, kpl);
    let krw = kb.idx(pp.rw);
    let patch = kb.idx(pp.rh * pp.rw);
    let izero = kb.idx(0);
    let (koh, kow) = (kb.idx(oh), kb.idx(ow));
    let (ylast, xlast) = (kb.idx(oh - 1), kb.idx(ow - 1));
    let inside = |kb: &mut KernelBuilder, v: Val, lim: Val| {
        let ge = kb.cmp(Cmp::Sge, v, izero);
        let lt = kb.cmp(Cmp::Slt, v, lim);
        kb.andb(ge, lt)
    };
    let k32w = kb.mul(wib, k32);
    let mut rows = vec![];
    for mt in 0..p.mt {
        for rh in 0..rhalves {
            let off = kb.idx(mt * mm + rh * 8);
            let r0 = kb.add(k32w, off);
            let r = kb.add(r0, g);
            let ry = kb.divu(r, krw);
            let rx = kb.remu(r, krw);
            let y = kb.add(oy0, ry);
            let x = kb.add(ox0, rx);
            let in_patch = kb.cmp(Cmp::Ult, r, patch);
            let iy = inside(kb, y, koh);
            let ix = inside(kb, x, kow);
            let ok = kb.andb(in_patch, iy);
            let ok = kb.andb(ok, ix);
            let y = kb.maxs(y, izero);
            let y = kb.mins(y, ylast);
            let x = kb.maxs(x, izero);
            let x = kb.mins(x, xlast);
            rows.push((r, ok, n, y, x));
        }
    }
    let olast = kb.idx(o - 1);
    let mut ocols = vec![];
    for nt in 0..p.nt {
        let off = kb.idx(nt * 8);
        let oc = kb.add(off, g);
        ocols.push(kb.mins(oc, olast));
    }
    let zero = kb.i32c(0);
    let accs = vec![zero; p.accs() as usize];
    let accs = tapk_accumulate(kb, s, p, xb, wb, &rows, &ocols, t, izero, &accs);
    // the map's tile into shared memory, then its pool
    let base = kb.smem_address(smem);
    let bufs = TileBufs::of(&cb, None);
    let yes = kb.c(Scalar::I1, 1);
    let tile = WarpTile {
        mt: p.mt,
        nt: p.nt,
        mm,
        rows: &rows,
        nbase: izero,
        t,
        ok: yes,
        exact_o: false,
        stage: Some(StageOut {
            base,
            m0: izero,
            n0: izero,
            wpr,
            second: false,
        }),
        stream: None,
    };
    store_tile(kb, s, &bufs, &tile, &accs)?;
    kb.barrier();
    let ob = Buf::act(kb, ca.out, pooled);
    let order = pool::nibble_order(kb, pooled.elem);
    let items = pp.ph * pp.pw * wpr;
    let (kwpr, kpw_) = (kb.idx(wpr), kb.idx(pp.pw));
    let (kpoh, kpow) = (kb.idx(poh), kb.idx(pow));
    let kph_ = kb.idx(pp.ph);
    let k8 = kb.idx(8);
    // tap d of the window of pooled pixel p (the tile's l-th along the axis): whether its map
    // pixel p * stride + d - pad lies in the map (signed), and its patch index l * stride + d
    let window_tap = |kb: &mut KernelBuilder, p: Val, l: Val, d: i64, axis: usize| {
        let (stride, pad, extent) = ([psh, psw][axis], [ppt, ppl][axis], [koh, kow][axis]);
        let ks = kb.idx(stride);
        let ps = kb.mul(p, ks);
        let kd = kb.idx(d - pad);
        let m = kb.add(ps, kd);
        let valid = inside(kb, m, extent);
        let ls = kb.mul(l, ks);
        let kd = kb.idx(d);
        (valid, kb.add(ls, kd))
    };
    for round in 0..(items + MMA_BLOCK_THREADS - 1) / MMA_BLOCK_THREADS {
        let off = kb.idx(round * MMA_BLOCK_THREADS);
        let it = kb.add(tid, off);
        let kit = kb.idx(items);
        let in_items = kb.cmp(Cmp::Ult, it, kit);
        let pix = kb.divu(it, kwpr);
        let wd = kb.remu(it, kwpr);
        let ly = kb.divu(pix, kpw_);
        let lx = kb.remu(pix, kpw_);
        let py0 = kb.mul(ty, kph_);
        let px0 = kb.mul(tx, kpw_);
        let py = kb.add(py0, ly);
        let px = kb.add(px0, lx);
        let vy = kb.cmp(Cmp::Ult, py, kpoh);
        let vx = kb.cmp(Cmp::Ult, px, kpow);
        let ok = kb.andb(in_items, vy);
        let ok = kb.andb(ok, vx);
        kb.if_then(ok, |kb| {
            let mut m = vec![zero, zero];
            let xtaps: Vec<(Val, Val)> = (0..pl.kernel[1])
                .map(|dx| window_tap(kb, px, lx, dx, 1))
                .collect();
            for dy in 0..pl.kernel[0] {
                let (vy, ry) = window_tap(kb, py, ly, dy, 0);
                for &(vx, rx) in &xtaps {
                    let tap_ok = kb.andb(vy, vx);
                    let row = kb.mul(ry, krw);
                    let row = kb.add(row, rx);
                    let wi = kb.mul(row, kwpr);
                    let wi = kb.add(wi, wd);
                    let word = kb.load(smem, wi);
                    let word = pool::reorder(kb, order, word);
                    m = pool::packed_max_tap(kb, &m, word, tap_ok).to_vec();
                }
            }
            let word = pool::packed_max_word(kb, &m);
            let word = pool::reorder(kb, order, word);
            let c = kb.mul(wd, k8);
            let sl = act_slot(kb, pooled, n, c, py, px);
            let wo = kb.divu(sl, k8);
            kb.store(word, ob.mem, wo);
        });
    }
    Ok(pp.blocks(n_total) * MMA_BLOCK_THREADS)
}
