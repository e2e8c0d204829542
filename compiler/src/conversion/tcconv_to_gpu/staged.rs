//! The staged tensor-core conv2d kernel (sm_80+): the implicit GEMM of `mma.rs` with both
//! operands staged through shared memory by a multi-stage `cp.async` pipeline and read into
//! fragments with `ldmatrix`. It realizes the tcconv op's tiling: a block computes a
//! `block_tile[0] x block_tile[1]` output tile with one warp per 32 x 32 sub-tile (2 x 4
//! m16n8 MMA tiles), a pipeline stage holds `block_tile[2]` K elements of every A row (output
//! pixel) and B row (output channel), and `stages` stages are in flight.
//!
//! K as bytes: the reduction runs over `taps x RB` bytes (RB = C * bits / 8, the bytes of one
//! stored input pixel = one weight row at one tap, a multiple of 16), cut into 16-byte chunks;
//! stage `it` holds bytes `[it * BKB, (it + 1) * BKB)` of every row, so a stage may span several
//! taps (RB = 32 with BKB = 64) and chunks past the last tap are zero-filled (`srcElements = 0`,
//! as are padding pixels and rows past M / O). The copies bypass L1 (`cp.async.cg`) but the
//! input's of a window over an NHWC map, whose other taps read the same pixels again
//! (`chunks::input_through_l1`).
//!
//! Shared memory, per stage: A `[BM][BKB]` then B `[BN][BKB]` bytes, chunk `c` of row `r` at
//! chunk `c ^ ((r / (8 / CPR)) % CPR)` (CPR = BKB / 16 chunks a row): the 8 row addresses of one
//! ldmatrix phase and the 8 chunks of a cp.async phase hit 8 different 16-byte bank groups.
//!
//! Fragments: one 32-byte K step of a 16-row A tile is one `ldmatrix.x4` (matrices: rows 0-7 /
//! 8-15 x bytes 0-15 / 16-31), two 8-row B tiles one `ldmatrix.x4`; lane (g, t) gets word t of
//! row g of each matrix, which is exactly the m16n8k32 s8 / m16n8k64 s4 fragment (bytes 4t..4t+3
//! of each 16-byte half). On sm_90 4-bit storage feeds m16n8k32 s8: every word of 8 nibbles
//! becomes two registers of 4 bytes, `lo` = nibbles 0, 2, 4, 6 and `hi` = nibbles 1, 3, 5, 7, and
//! the 32-byte step is two MMAs (`[lo r0, lo r1, hi r0, hi r1] x [lo b0, hi b0]`, then r2, r3,
//! b1). That permutes K, identically for A and B, so the dot products are unchanged. Unsigned
//! nibbles widen with one mask (`x & 0x0f0f0f0f`, `(x >> 4) & 0x0f0f0f0f`); signed ones are
//! placed in the high half of the byte (`(x << 4) & 0xf0f0f0f0`, `x & 0xf0f0f0f0`: 16 x the
//! value as s8), and the accumulators are shifted right by 4 per such operand before the
//! epilogue: exact because every product is a multiple of 16 (256) and the bound
//! `taps * C * max|a| * max|b| * 16^k < 2^31` is checked when planning (else the exact
//! sign-extension `v | (v & 0x08080808) * 30` is used).
//!
//! A widened weight (`tcconv.weight {widened}`, `convert-qnn-to-tcconv{staged-weights=widened}`)
//! holds one byte a value, each 16-byte chunk's 32 channels as the `lo` words then the `hi` words
//! above (`pack::widened_position`): a stage's B rows are twice the A rows' bytes (2 CPR chunks,
//! the same swizzle), a 32-byte K step of the input is a 64-byte step of the weight, and one
//! `ldmatrix.x4` over an 8-row n-tile's 4 chunks gives `[lo b0, hi b0, lo b1, hi b1]`: both MMAs'
//! B fragments as loaded, with no widening and no x16 scaling of the weight.
//!
//! Pipeline: stages 0..S-2 are issued before the loop (one commit group each); iteration `it`
//! waits until its group landed (`cp.async.wait_group S-2`), `gpu.barrier` (the stage of `it-1`
//! is free again), issues the loads of `it+S-1` into that stage, commits, and runs the MMAs of
//! stage `it % S`.
//!
//! Sliced K (grids under 2 warps an SM): `ksplit` warps share each 32x32 sub-tile, a stage row
//! is `ksplit * BKB` bytes and warp `w` reads its `w % ksplit`-th BKB of it; after the loop the
//! other slices' accumulators meet the first one's in the drained pipeline memory.
//!
//! Epilogue: `epilogue::store_tile` (bias, requantize / residual / clamp / relu); an i32
//! residual behind a main loop of at most two K blocks is loaded before the loop
//! (`epilogue::prefetch_residual`), so its latency overlaps the GEMM. Packed 4-bit
//! channel-innermost outputs with O % 32 == 0 are staged: each group's 32-bit word of 8 channels
//! goes into a `[BM][BN/8]`-word tile in shared memory, then every thread writes 16 bytes
//! (`st.global.v4`) of a row; so are 8-bit ones with O % 16 == 0 whose `[BM][BN]` bytes fit the
//! pipeline's shared memory (each lane's two bytes of a row); other outputs are stored from the
//! fragments.
//!
//! Work per block and K step of BKB bytes: (BM/32)(BN/32) warps x 8 MMAs x BKB/32 (x2 widened);
//! global -> shared traffic (BM + BN) x BKB bytes, i.e. BM*BN/(BM+BN) MACs per byte x (elements
//! per byte): 16-32 MACs/byte at 32 x 32 tiles, 32-64 at 64 x 64.

use super::builder::{Cmp, KernelBuilder, Val};
use super::chunks::{
    each_source, input_through_l1, prefetch, AChunk, BChunk, Source, StageK, MAINLOOP_UNROLL,
};
use super::conv::{ConvArgs, ConvSpec};
use super::epilogue::{
    load_stream_tile, prefetch_residual, store_block_tile, OutTile, StreamStage, WarpTile,
};
use super::layout::{gemm_row, Axis};
use super::layout::{Buf, IndexMath};
use super::mma::warp_mma;
use nibble_tcconv::ir::mma_type_name;
pub use nibble_tcconv::select::{staged_plan as plan, StagedPlan};

/// Chunk `c` of row `r` of a `[rows][CPR chunks]` tile, in i32 words (the XOR swizzle).
pub fn chunk_word<M: IndexMath>(m: &mut M, r: M::X, c: M::X, cpr: i64) -> M::X {
    let per = m.k((8 / cpr).max(1));
    let q = m.div(r, per);
    let kc = m.k(cpr.min(8));
    let sw = m.rem(q, kc);
    let pc = m.xor(c, sw);
    let rc = m.madd(r, cpr, pc);
    let four = m.k(4);
    m.mul(rc, four)
}

/// The two widened registers (`lo`, `hi`) of a word of 8 nibbles (see the module comment).
pub(super) fn widen_pair(kb: &mut KernelBuilder, x: Val, signed: bool, scaled: bool) -> (Val, Val) {
    if scaled {
        let m = kb.i32c(0xf0f0_f0f0u32 as i32 as i64);
        let four = kb.i32c(4);
        let xs = kb.shl(x, four);
        (kb.and(xs, m), kb.and(x, m))
    } else {
        let m = kb.i32c(0x0f0f_0f0f);
        let four = kb.i32c(4);
        let lo = kb.and(x, m);
        let xs = kb.shru(x, four);
        let hi = kb.and(xs, m);
        if !signed {
            return (lo, hi);
        }
        let sm = kb.i32c(0x0808_0808);
        let k = kb.i32c(30);
        let ext = |kb: &mut KernelBuilder, v: Val| {
            let sg = kb.and(v, sm);
            let e = kb.mul(sg, k);
            kb.or(v, e)
        };
        (ext(kb, lo), ext(kb, hi))
    }
}

/// K stages whose weight chunks a block copies before it waits for its producer grid
/// (programmatic dependent launch). One: every stage's group keeps its own chunks, so a kernel
/// launched without it waits on the same copies as before (issuing all the prologue's weight
/// stages first cost ResNet batch 8, which launches nothing programmatically, 1.1-1.9% on an
/// H100).
pub const EARLY_WEIGHT_STAGES: i64 = 1;

/// Most K blocks a main loop has for the residual to be loaded before it
/// ([`prefetch_residual`]): beyond that the loop hides the epilogue's loads less than the 32
/// registers a lane they take cost.
const PREFETCH_ITERS: i64 = 2;

/// Build the staged kernel body (`args` in the tcconv op's operand order, then the shared
/// memory). Returns the number of threads (blocks x [`StagedPlan::block`]).
pub fn conv(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    p: &StagedPlan,
) -> Result<i64, String> {
    let ca = ConvArgs::of(args, s);
    let smem = args[args.len() - 1];
    let (at, bt) = (mma_type_name(p.a_type), mma_type_name(p.b_type));
    let cpr = p.sbk() / 16;
    let threads = p.block();

    let cb = ca.bufs(kb, s);
    let words = |b: &Buf| b.words.unwrap_or(b.mem);
    let (xw, ww) = (words(&cb.x), words(&cb.w));

    let tid = kb.thread_id();
    let bid = kb.block_id();
    // a cluster's blocks are consecutive in x: block `bid` is rank `bid % cluster` of tile
    // `bid / cluster`
    let izero = kb.idx(0);
    let (rank, bid) = if p.cluster > 1 {
        let kcl = kb.idx(p.cluster);
        (kb.remu(bid, kcl), kb.divu(bid, kcl))
    } else {
        (izero, bid)
    };
    let k32 = kb.idx(32);
    let lane = kb.remu(tid, k32);
    let warp = kb.divu(tid, k32);
    let ktn = kb.idx(p.tiles_n);
    let bmi = kb.divu(bid, ktn);
    let bni = kb.remu(bid, ktn);
    let kbm = kb.idx(p.bm);
    let kbn = kb.idx(p.bn);
    let m0 = kb.mul(bmi, kbm);
    let n0 = kb.mul(bni, kbn);
    let nwn = kb.idx(p.bn / 32);
    let kks = kb.idx(p.ksplit);
    let wk = kb.remu(warp, kks);
    let wt = kb.divu(warp, kks);
    let wm = kb.divu(wt, nwn);
    let wn = kb.remu(wt, nwn);
    let k4 = kb.idx(4);
    let g = kb.divu(lane, k4);
    let t = kb.remu(lane, k4);

    // the stage's B rows follow its A rows
    let b_off = kb.idx(p.bm * p.sbk() / 4);
    // ------------------------------------------------------------ fragment addresses
    // per (m-tile, 32-byte K step): this lane's ldmatrix row address inside a stage
    let ksteps = p.bkb / 32;
    let k8 = kb.idx(8);
    let two = kb.idx(2);
    let k16 = kb.idx(16);
    let lrow16 = kb.remu(lane, k16);
    let lhalf = kb.divu(lane, k16);
    let lrow8 = kb.remu(lane, k8);
    let l8 = kb.divu(lane, k8);
    let lq = kb.remu(l8, two);
    let wchunks = kb.idx(p.bkb / 16);
    let wkc = kb.mul(wk, wchunks); // this warp's first chunk of a stage row
    let wrow = kb.mul(wm, k32);
    let wcol = kb.mul(wn, k32);
    let mut a_addr = vec![]; // [mt][ks]
    for mt in 0..2 {
        let off = kb.idx(mt * 16);
        let r0 = kb.add(wrow, off);
        let r = kb.add(r0, lrow16);
        let mut v = vec![];
        for ks in 0..ksteps {
            let c0 = kb.idx(2 * ks);
            let c0 = kb.add(c0, wkc);
            let c = kb.add(c0, lhalf);
            v.push(chunk_word(kb, r, c, cpr));
        }
        a_addr.push(v);
    }
    // B: a packed weight's two 8-row n-tiles a 32-byte K step are one ldmatrix.x4 (rows 0-15 x
    // chunks 0-1); a widened weight's K step is 64 bytes, one n-tile's ldmatrix.x4 (rows 0-7 x
    // chunks 0-3: the lo / hi words of the step's two 16-byte halves)
    let b_addr = |kb: &mut KernelBuilder, wide: bool| -> Vec<Vec<Val>> {
        // [ldmatrix][ks]
        let (cpr, per) = if wide { (2 * cpr, 4) } else { (cpr, 2) };
        let wkc = if wide {
            let kw = kb.idx(per * ksteps);
            kb.mul(wk, kw)
        } else {
            wkc
        };
        (0..per)
            .map(|i| {
                let r = if wide {
                    let off = kb.idx(i * 8);
                    let r0 = kb.add(wcol, off);
                    kb.add(r0, lrow8)
                } else {
                    let off = kb.idx(i * 16);
                    let r0 = kb.add(wcol, off);
                    let r1 = kb.mul(lhalf, k8);
                    let r2 = kb.add(r0, r1);
                    kb.add(r2, lrow8)
                };
                (0..ksteps)
                    .map(|ks| {
                        let c0 = kb.idx(per * ks);
                        let c0 = kb.add(c0, wkc);
                        let c = kb.add(c0, if wide { l8 } else { lq });
                        let cw = chunk_word(kb, r, c, cpr);
                        kb.add(cw, b_off)
                    })
                    .collect()
            })
            .collect()
    };

    // (a packed weight's addresses here, ahead of the epilogue rows: moving them changed the
    // instruction order enough for ptxas to spill a ResNet-50 sm_90 kernel)
    let packed_b_addr = b_addr(kb, false);
    let mrows = Axis::tiled(p.m, p.bm);
    let channels = Axis::tiled(s.output.dims[1], p.bn);
    // the epilogue's rows (m, valid, n, oh, ow) of this lane: m-tile, row half
    let mut rows = vec![];
    for mt in 0..2 {
        for rh in 0..2 {
            let off = kb.idx(mt * 16 + rh * 8);
            let r0 = kb.add(m0, wrow);
            let r = kb.add(r0, off);
            let m = kb.add(r, g);
            rows.push(gemm_row(kb, s, m, &mrows));
        }
    }
    let nbase = kb.add(n0, wcol);
    let first = kb.cmp(Cmp::Eq, wk, izero);
    // the stream tile after the pipeline's words
    let stream = p.stream.map(|st| {
        StreamStage::new(
            st,
            (smem, p.pipeline_words()),
            (m0, n0),
            p.stream_row_words(),
        )
    });
    let block = OutTile {
        smem,
        m0,
        n0,
        bm: p.bm,
        bn: p.bn,
        m: p.m,
    };
    let tile = WarpTile {
        mt: 2,
        nt: 4,
        mm: 16,
        rows: &rows,
        nbase,
        t,
        // only the first warp of a sub-tile (and rank 0 of a cluster) holds the sums
        ok: first,
        exact_o: channels.exact,
        stage: None,
        stream,
    };
    // ------------------------------------------------------------ loaders and main loop
    let stage_words = p.stage_words();
    let kst = kb.idx(p.stages);
    // one GEMM on the block tile (the conv's, or its shortcut's), from zero accumulators over
    // `iters` K blocks: this block's share `[first_it, first_it + iters)` of a cluster's
    // the residual behind a short main loop (at most PREFETCH_ITERS K blocks, one warp a
    // sub-tile, no cluster) is loaded before it, right after the wait for the producer
    let prefetches = p.rank_iters() <= PREFETCH_ITERS && p.ksplit == 1 && p.cluster == 1;
    let gemm = |kb: &mut KernelBuilder,
                gm: &Gemm,
                iters: i64,
                first_it: Option<Val>,
                (conv, with_residual): (bool, bool)|
     -> (Vec<Val>, Option<Vec<Val>>) {
        // A: chunk q = tid + j*threads of the tile: row q / CPR (pixel m0 + row), chunk q % CPR;
        // this thread's chunks of a `rows`-row tile: (row, chunk, word offset in the tile)
        // (rows of `cpr` chunks: a widened weight's B rows have twice the A rows' chunks)
        let chunks = |kb: &mut KernelBuilder, rows: i64, cpr: i64| -> Vec<(Val, Val, Val)> {
            let kcpr = kb.idx(cpr);
            (0..rows * cpr / threads)
                .map(|j| {
                    let off = kb.idx(j * threads);
                    let q = kb.add(tid, off);
                    let row = kb.divu(q, kcpr);
                    let ch = kb.remu(q, kcpr);
                    (row, ch, chunk_word(kb, row, ch, cpr))
                })
                .collect()
        };
        let aload: Vec<AChunk> = chunks(kb, p.bm, cpr)
            .into_iter()
            .map(|(row, ch, dst)| AChunk::new(kb, gm.s, m0, &mrows, (row, ch, dst, None)))
            .collect();
        // (a shortcut GEMM's weight is never widened: the verifier refuses it)
        let wide_b = gm.s.weight.widened;
        let wide = if wide_b { 2 } else { 1 };
        let bload: Vec<BChunk> = chunks(kb, p.bn, wide * cpr)
            .into_iter()
            .map(|(row, ch, dst)| BChunk::new(kb, gm.s, n0, &channels, b_off, (row, ch, dst, None)))
            .collect();
        let stage_k = StageK::new(gm.s, p.sbk(), gm.rb);
        let stage_kb = StageK::new(gm.s, wide * p.sbk(), wide * gm.rb);
        // issue the copies of K block `it` into stage `st` (zero-filled where invalid)
        let copy_chunks = |kb: &mut KernelBuilder, it: Val, st: Val, a: &[AChunk], b: &[BChunk]| {
            let swords = kb.idx(stage_words);
            let sbase = kb.mul(st, swords);
            let l1_input = input_through_l1(gm.s);
            let mut copy = |kb: &mut KernelBuilder, src: Source| {
                let di = kb.add(sbase, src.dst);
                let l1 = src.is_a && l1_input;
                kb.async_copy16_via(src.mem, src.word, smem, di, src.valid, l1);
            };
            each_source(kb, gm.s, &stage_k, gm.words, a, &[], it, &mut copy);
            each_source(kb, gm.s, &stage_kb, gm.words, &[], b, it, &mut copy);
        };
        let load_stage =
            |kb: &mut KernelBuilder, it: Val, st: Val| copy_chunks(kb, it, st, &aload, &bload);
        // K block `j` of this block's share
        let rank_it = |kb: &mut KernelBuilder, j: Val| match first_it {
            Some(f) => kb.add(f, j),
            None => j,
        };
        let load_rank_stage = |kb: &mut KernelBuilder, j: Val, st: Val| {
            let it = rank_it(kb, j);
            load_stage(kb, it, st)
        };
        // the first stage's weight chunks go out before the wait for the producer (they read
        // no kernel's output), in that stage's commit group
        let early = EARLY_WEIGHT_STAGES.min(p.stages - 1).min(iters);
        for st in 0..early {
            let c = kb.idx(st);
            let it = rank_it(kb, c);
            copy_chunks(kb, it, c, &[], &bload);
        }
        kb.wait_for_producer();
        let residual = if with_residual {
            prefetch_residual(kb, s, &cb, &tile)
        } else {
            None
        };
        // the conv's residual's stream tile: copied in as the first commit group (the main
        // loop's first wait then waits for it too)
        if let (true, Some(st), Some((buf, act))) =
            (conv, stream.filter(|st| st.read), &cb.residual)
        {
            load_stream_tile(kb, s, (buf, *act), &block, &st, threads);
        }
        for st in 0..(p.stages - 1).min(iters) {
            let c = kb.idx(st);
            let it = rank_it(kb, c);
            let b: &[BChunk] = if st < early { &[] } else { &bload };
            copy_chunks(kb, it, c, &aload, b);
            kb.async_commit();
        }
        // a commit group for each prologue stage past the last K block: the main loop's
        // waits count on S - 1 of them
        for _ in iters..p.stages - 1 {
            kb.async_commit();
        }
        let zero = kb.i32c(0);
        let accs = vec![zero; 32];
        let (ia, ib) = (gm.s.input.elem.is_signed(), gm.s.weight.elem.is_signed());
        let b_addrs = if wide_b {
            b_addr(kb, true)
        } else {
            packed_b_addr.clone()
        };
        let accs = kb.for_n(iters, MAINLOOP_UNROLL, &accs, |kb, it, accs| {
            kb.async_wait(p.stages - 2);
            kb.barrier();
            prefetch(kb, it, p.stages - 1, iters, kst, &load_rank_stage);
            let st = kb.remu(it, kst);
            let sw = kb.idx(stage_words);
            let sbase = kb.mul(st, sw);
            let mut accs = accs.to_vec();
            for ks in 0..ksteps as usize {
                let mut afr = vec![];
                for row in &a_addr {
                    let i = kb.add(sbase, row[ks]);
                    afr.push(kb.ldmatrix(smem, i, 4));
                }
                // per n-tile: a packed weight's (chunk 0 word, chunk 1 word); a widened one's
                // (lo, hi) of chunk 0's then chunk 1's words
                let mut bfr = vec![];
                for lm in &b_addrs {
                    let i = kb.add(sbase, lm[ks]);
                    let r = kb.ldmatrix(smem, i, 4);
                    if wide_b {
                        bfr.push(r);
                    } else {
                        bfr.push(vec![r[0], r[1]]);
                        bfr.push(vec![r[2], r[3]]);
                    }
                }
                if p.widen {
                    let aw: Vec<Vec<(Val, Val)>> = afr
                        .iter()
                        .map(|r| {
                            r.iter()
                                .map(|x| widen_pair(kb, *x, ia, gm.scaled_a))
                                .collect()
                        })
                        .collect();
                    let bw: Vec<[(Val, Val); 2]> = bfr
                        .iter()
                        .map(|r| {
                            if wide_b {
                                [(r[0], r[1]), (r[2], r[3])]
                            } else {
                                [
                                    widen_pair(kb, r[0], ib, gm.scaled_b),
                                    widen_pair(kb, r[1], ib, gm.scaled_b),
                                ]
                            }
                        })
                        .collect();
                    for half in 0..2 {
                        for (mt, ar) in aw.iter().enumerate() {
                            let (x0, x1) = (ar[2 * half], ar[2 * half + 1]);
                            let af = [x0.0, x1.0, x0.1, x1.1];
                            for (nt, br) in bw.iter().enumerate() {
                                let bf = [br[half].0, br[half].1];
                                let i0 = (mt * 4 + nt) * 4;
                                let d = kb.mma_sync(p.shape, at, bt, &af, &bf, &accs[i0..i0 + 4]);
                                accs[i0..i0 + 4].copy_from_slice(&d);
                            }
                        }
                    }
                } else {
                    accs = warp_mma(kb, p.shape, (at, bt), &afr, &bfr, &accs);
                }
            }
            accs
        });
        kb.async_wait(0);
        (accs, residual)
    };
    let shift = |kb: &mut KernelBuilder, accs: Vec<Val>, shift: i64| -> Vec<Val> {
        if shift > 0 {
            let sh = kb.i32c(shift);
            accs.iter().map(|a| kb.shrs(*a, sh)).collect()
        } else {
            accs
        }
    };
    // sliced K: warps wk > 0 park their accumulators ([slot][acc][lane], slot =
    // wt*(ksplit-1) + wk-1) in the (drained) pipeline memory; warp wk = 0 adds them
    let reduce_slices = |kb: &mut KernelBuilder, accs: Vec<Val>| -> Vec<Val> {
        if p.ksplit == 1 {
            return accs;
        }
        kb.barrier();
        let k1 = kb.idx(p.ksplit - 1);
        let one = kb.idx(1);
        let k1024 = kb.idx(1024);
        let slot_base = |kb: &mut KernelBuilder, j: Val| {
            let b = kb.mul(wt, k1);
            let sl = kb.add(b, j);
            kb.mul(sl, k1024)
        };
        let wk1 = kb.sub(wk, one);
        let not_first = kb.cmp(Cmp::Ne, wk, izero);
        kb.if_then(not_first, |kb| {
            let base = slot_base(kb, wk1);
            for (i, a) in accs.iter().enumerate() {
                let off = kb.idx(i as i64 * 32);
                let sl = kb.add(base, off);
                let sl = kb.add(sl, lane);
                kb.store(*a, smem, sl);
            }
        });
        kb.barrier();
        let mut out = accs.clone();
        for j in 0..p.ksplit - 1 {
            let jj = kb.idx(j);
            let base = slot_base(kb, jj);
            for (i, acc) in out.iter_mut().enumerate() {
                let off = kb.idx(i as i64 * 32);
                let sl = kb.add(base, off);
                let sl = kb.add(sl, lane);
                let v = kb.load(smem, sl);
                *acc = kb.add(*acc, v);
            }
        }
        out
    };
    // the shortcut GEMM first (its accumulators are the epilogue's residual), then the conv's
    // on the same stages once every warp is past the shortcut's last one
    let shortcut_accs = match (s.shortcut_gemm(), &p.shortcut, &cb.shortcut) {
        (Some(ss), Some(k), Some(sb)) => {
            let sg = Gemm {
                s: &ss,
                words: (words(&sb.x), words(&sb.w)),
                rb: k.rb,
                scaled_a: k.scaled_a,
                scaled_b: k.scaled_b,
            };
            let (accs, _) = gemm(kb, &sg, p.shortcut_iters(), None, (false, false));
            // sliced K: the shortcut's slices summed in warp wk = 0 before the conv's stages
            // reuse the memory they are parked in
            let accs = reduce_slices(kb, accs);
            kb.barrier();
            Some(shift(kb, accs, k.shift()))
        }
        (None, None, None) => None,
        _ => return Err("the staged plan and the conv disagree on the shortcut".into()),
    };
    // this block's K iterations: [rank * iters, (rank + 1) * iters) of the conv's
    let iters = p.rank_iters();
    let kiters = kb.idx(iters);
    let first_it = (p.cluster > 1).then(|| kb.mul(rank, kiters));
    let cg = Gemm {
        s,
        words: (xw, ww),
        rb: p.rb,
        scaled_a: p.scaled_a,
        scaled_b: p.scaled_b,
    };
    let (accs, prefetched) = gemm(kb, &cg, iters, first_it, (true, prefetches));
    let accs = reduce_slices(kb, accs);
    // cluster: ranks > 0 park their tile ([warp tile][acc][lane]) in their own shared memory,
    // rank 0 adds them through distributed shared memory; the second barrier keeps every
    // block's shared memory alive until rank 0 has read it
    let accs = if p.cluster == 1 {
        accs
    } else {
        let k1024 = kb.idx(1024);
        let tile_base = kb.mul(wt, k1024);
        let slot = |kb: &mut KernelBuilder, i: usize| {
            let off = kb.idx(i as i64 * 32);
            let sl = kb.add(tile_base, off);
            kb.add(sl, lane)
        };
        kb.barrier();
        let not_root = kb.cmp(Cmp::Ne, rank, izero);
        let parks = kb.andb(not_root, first);
        kb.if_then(parks, |kb| {
            for (i, a) in accs.iter().enumerate() {
                let sl = slot(kb, i);
                kb.store(*a, smem, sl);
            }
        });
        kb.cluster_barrier();
        let slots: Vec<Val> = (0..accs.len()).map(|i| slot(kb, i)).collect();
        let root = kb.cmp(Cmp::Eq, rank, izero);
        let adds = kb.andb(root, first);
        let sums = kb.if_then_else(adds, &accs, |kb| {
            let mut sums = accs.clone();
            for r in 1..p.cluster {
                let kr = kb.idx(r);
                let peer = kb.load_peer(smem, &slots, kr);
                for (a, v) in sums.iter_mut().zip(peer) {
                    *a = kb.add(*a, v);
                }
            }
            sums
        });
        kb.cluster_barrier();
        sums
    };
    let accs = shift(kb, accs, p.shift());

    // ------------------------------------------------------------ epilogue
    let residual_regs = shortcut_accs.as_deref().or(prefetched.as_deref());
    if p.cluster == 1 {
        store_block_tile(
            kb,
            s,
            &cb,
            &block,
            p.staged_out(s),
            tile,
            &accs,
            residual_regs,
            threads,
        )?;
    } else {
        let root = kb.cmp(Cmp::Eq, rank, izero);
        let mut res = Ok(());
        kb.if_then(root, |kb| {
            res = store_block_tile(
                kb,
                s,
                &cb,
                &block,
                p.staged_out(s),
                tile,
                &accs,
                residual_regs,
                threads,
            );
        });
        res?;
    }
    Ok(p.blocks() * threads)
}

/// One GEMM of the staged kernel: the conv's or its shortcut's operands (`s` gives the
/// loaders' geometry), stored bytes of one tap's row, and the high-nibble widening of each side.
struct Gemm<'a> {
    s: &'a ConvSpec<'a>,
    /// The input and the weight as i32 words.
    words: (Val, Val),
    rb: i64,
    scaled_a: bool,
    scaled_b: bool,
}

#[cfg(test)]
mod tests {
    use super::super::layout::Eval;
    use super::*;

    /// The swizzle puts the 8 rows of an ldmatrix phase (same logical chunk) and the 8 chunks
    /// of 2 (CPR = 4) / 4 (CPR = 2) / 1 (CPR = 8) consecutive rows on distinct 16-byte bank
    /// groups of a 128-byte line, and is a permutation of each row's chunks.
    #[test]
    fn swizzle_is_conflict_free_for_ldmatrix_phases() {
        for cpr in [2i64, 4, 8] {
            let word = |r: i64, c: i64| chunk_word(&mut Eval, r, c, cpr);
            for base in (0..64).step_by(8) {
                for c in 0..cpr {
                    let groups: std::collections::BTreeSet<i64> =
                        (base..base + 8).map(|r| (word(r, c) / 4) % 8).collect();
                    assert_eq!(groups.len(), 8, "cpr {cpr} rows {base}.. chunk {c}");
                }
            }
            for r in 0..16 {
                let cs: std::collections::BTreeSet<i64> = (0..cpr).map(|c| word(r, c)).collect();
                assert_eq!(cs.len() as i64, cpr);
            }
        }
    }
}
