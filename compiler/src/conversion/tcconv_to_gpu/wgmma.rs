//! The warpgroup MMA conv2d kernel (sm_90a): the implicit GEMM of `staged.rs` (M = output
//! pixels, N = output channels, K = taps x input channels, as bytes of the stored rows) on
//! Hopper's `wgmma.mma_async`, which reads both operands from shared memory.
//!
//! A block of `wgs` warpgroups (128 threads each) computes a `64 wgs` x `BN` output tile;
//! warpgroup `i` owns rows `[64 i, 64 i + 64)` and issues one `wgmma m64n{BN}k32` per 32 bytes
//! of K. Its accumulators are `BN / 2` registers a thread laid out as `BN / 8` m16n8 C
//! fragments per warp, so the epilogue is `mma::store_tile` (bias, requantize / residual /
//! clamp / relu, second output, packed stores; packed 4-bit outputs staged through shared
//! memory as in `staged.rs`).
//!
//! Shared memory (dynamic: up to [`WGMMA_SMEM`], two blocks an SM): a ring of `stages` stages,
//! each A `[BM][SBK]` then B `[BN][SBK]` bytes (SBK = stored K bytes a stage, 128 or 64 for
//! 4-bit), in wgmma's no-swizzle K-major layout of 8 x 16-byte core matrices: chunk `c`
//! (16 bytes) of row `r` at byte `((r / 8) * CPR + c) * 128 + (r % 8) * 16` (CPR = SBK / 16).
//! A matrix descriptor with leading-dimension offset 128 (next core matrix along K) and stride
//! offset `CPR * 128` (next 8 rows) reads it; the k-th 32-byte step starts `256 k` bytes
//! further. The loaders enumerate a tile's chunks in that byte order (chunk `q` at byte `16 q`),
//! so the 8 threads of a cp.async phase fill one core matrix: no bank conflicts.
//!
//! 8-bit operands are copied (cp.async, 16 bytes, zero-filled outside the image, past the last
//! tap and past M / O) straight into the ring and read from it. 4-bit operands land packed in the
//! ring and are widened once per stage by the whole block into one of two tiles of twice the
//! width (never once per MMA per warp): 16 stored bytes (32 nibbles) become two 16-byte chunks,
//! `lo` = nibbles 0, 2, 4, 6 and `hi` = nibbles 1, 3, 5, 7 of each word (`staged::widen_pair`:
//! the same K permutation for A and B, so dot products are unchanged; signed nibbles go to the
//! high half of a byte when the accumulator bound allows, and the result is shifted back).
//!
//! Per K stage `it`: wait for its cp.async group, `fence.proxy.async` (the copies become
//! visible to the async proxy wgmma reads through), barrier; issue the loads of stage
//! `it + stages - 2` into the slot of `it - 2`; (4-bit: widen into tile `it % 2`, fence,
//! barrier;) then `wgmma.fence`, the K steps, commit, and wait for all groups but this one: the
//! tensor cores work on stage `it` while the block loads and widens stage `it + 1`. The
//! accumulators stay one `!llvm.struct` from wgmma to wgmma, so nothing reads them while a
//! group is in flight.
//!
//! Work per block and stage: `wgs x (SBK'/32)` wgmma of 64 x BN x 32 (SBK' = widened bytes);
//! global -> shared traffic (BM + BN) x SBK bytes: BM*BN/(BM+BN) MACs per stored byte (x2 for
//! 4-bit), 43-64 at 128 x 64 .. 128 x 128.

use super::builder::{Cmp, Kb, T, V};
use super::conv::{ConvArgs, ConvSpec};
use super::layout::{act_slot, weight_slot, Buf, IndexMath};
use super::mma::{pixel, store_tile, StageOut, TileBufs, WarpTile};
use super::pool::tap;
use super::staged::{widen_pair, write_out_tile, OutTile};
use nibble_qnn::semantics::ElemType;
pub use nibble_tcconv::select::{wgmma_plan as plan, WgmmaPlan, WGMMA_SMEM};

/// wgmma's operand type name.
fn wgmma_type(e: ElemType) -> &'static str {
    if e.is_signed() {
        "s8"
    } else {
        "u8"
    }
}

/// The matrix descriptor of a K-major, no-swizzle operand at shared-memory byte address `addr`
/// (i64) whose 8-row groups are `sbo` bytes apart: start address, leading-dimension offset
/// (128: the next core matrix along K) and stride offset, each in 16-byte units.
fn descriptor(kb: &mut Kb, addr: V, sbo: i64) -> V {
    let mask = kb.i64c(0x3ffff);
    let a = kb.and(addr, mask);
    let four = kb.i64c(4);
    let a = kb.shru(a, four);
    let fixed = kb.i64c(((128 >> 4) << 16) | ((sbo >> 4) << 32));
    kb.or(a, fixed)
}

/// `x * k` for an index value and a constant.
fn muli(kb: &mut Kb, x: V, k: i64) -> V {
    let kk = kb.idx(k);
    kb.mul(x, kk)
}

/// Build the wgmma kernel body (`args` in the tcconv op's operand order, then the shared
/// memory). Returns the number of threads (blocks x [`WgmmaPlan::block`]).
pub fn conv(kb: &mut Kb, args: &[V], s: &ConvSpec, p: &WgmmaPlan) -> Result<i64, String> {
    let ca = ConvArgs::of(args, s);
    let smem = kb.dynamic_smem(p.smem_words());
    let [_, _, h, w] = s.input.dims;
    let [_, kw] = s.kernel;
    let taps = s.kernel[0] * kw;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let o_total = s.output.dims[1];
    let bits = s.input.elem.bits() as i64;
    let (at, bt) = (wgmma_type(p.a_type), wgmma_type(p.b_type));
    let (bm, bn) = (p.bm(), p.bn);
    let cpr = p.sbk / 16;
    let threads = p.block();

    let cb = ca.bufs(kb, s);
    let words = |b: &Buf| b.words.unwrap_or(b.mem);
    let (xw, ww) = (words(&cb.x), words(&cb.w));

    let tid = kb.thread_id();
    let bid = kb.block_id();
    let (k4, k8, k16, k32) = (kb.idx(4), kb.idx(8), kb.idx(16), kb.idx(32));
    let lane = kb.remu(tid, k32);
    let warp = kb.divu(tid, k32);
    let ktn = kb.idx(p.tiles_n);
    let bmi = kb.divu(bid, ktn);
    let bni = kb.remu(bid, ktn);
    let kbm = kb.idx(bm);
    let kbn = kb.idx(bn);
    let m0 = kb.mul(bmi, kbm);
    let n0 = kb.mul(bni, kbn);
    let g = kb.divu(lane, k4);
    let t = kb.remu(lane, k4);

    // ------------------------------------------------------------ loaders (per thread)
    // chunk q of a tile of 8-row groups: group q / (8 CPR), chunk (q / 8) % CPR, row q % 8 of
    // the group; it lands at byte 16 q of the tile
    let k8cpr = kb.idx(8 * cpr);
    let chunks = |kb: &mut Kb, rows: i64| -> Vec<(V, V, V, Option<V>)> {
        let total = rows * cpr;
        (0..(total + threads - 1) / threads)
            .map(|j| {
                let off = kb.idx(j * threads);
                let q = kb.add(tid, off);
                let grp = kb.divu(q, k8cpr);
                let within = kb.remu(q, k8cpr);
                let ch = kb.divu(within, k8);
                let r8 = kb.remu(within, k8);
                let row = kb.madd(grp, 8, r8);
                let dst = kb.mul(q, k4); // words
                let guard = ((j + 1) * threads > total).then(|| {
                    let kt = kb.idx(total);
                    kb.cmp(Cmp::Ult, q, kt)
                });
                (row, ch, dst, guard)
            })
            .collect()
    };
    let mlim = kb.idx(p.m);
    let mlast = kb.idx(p.m - 1);
    let mut aload = vec![];
    for (row, ch, dst, guard) in chunks(kb, bm) {
        let m = kb.add(m0, row);
        let ok = kb.cmp(Cmp::Ult, m, mlim);
        let mc = kb.mins(m, mlast);
        let (n, y, x) = pixel(kb, s, mc);
        aload.push((ch, ok, n, y, x, dst, guard));
    }
    let olim = kb.idx(o_total);
    let olast = kb.idx(o_total - 1);
    let b_off = kb.idx(bm * p.sbk / 4);
    let mut bload = vec![];
    for (row, ch, dst, guard) in chunks(kb, bn) {
        let o = kb.add(n0, row);
        let ok = kb.cmp(Cmp::Ult, o, olim);
        let oc = kb.mins(o, olast);
        let dst = kb.add(dst, b_off);
        bload.push((ch, ok, oc, dst, guard));
    }
    let stage_words = p.stage_bytes() / 4;
    let ksbk = kb.idx(p.sbk);
    let krb = kb.idx(p.rb);
    let ktaps = kb.idx(taps);
    let tlast = kb.idx(taps - 1);
    let kkw = kb.idx(kw);
    let kpb = kb.idx(8 / bits); // elements per byte
    // issue the copies of K block `it` into stage `st`
    let load_stage = |kb: &mut Kb, it: V, st: V| {
        let swords = kb.idx(stage_words);
        let sbase = kb.mul(st, swords);
        let kbase = kb.mul(it, ksbk);
        // (tap ok, ky, kx, byte offset in the row) of chunk ch
        let tap_of = |kb: &mut Kb, ch: V| {
            let co = kb.mul(ch, k16);
            let kbyte = kb.add(kbase, co);
            let tp = kb.divu(kbyte, krb);
            let off = kb.remu(kbyte, krb);
            let tok = kb.cmp(Cmp::Ult, tp, ktaps);
            let tc = kb.mins(tp, tlast);
            let ky = kb.divu(tc, kkw);
            let kx = kb.remu(tc, kkw);
            (tok, ky, kx, off)
        };
        let zero = kb.idx(0);
        // 16 bytes at byte `off` of the row that starts at element `slot` of `mem`, into the
        // stage's chunk `dst` (zero-filled unless `v`; nothing at all past the tile)
        let copy = |kb: &mut Kb, mem: V, slot: V, off: V, v: V, dst: V, guard: Option<V>| {
            let byte = kb.divu(slot, kpb);
            let byte = kb.add(byte, off);
            let wi = kb.divu(byte, k4);
            let wi = kb.select(v, wi, zero);
            let di = kb.add(sbase, dst);
            match guard {
                None => kb.async_copy16(mem, wi, smem, di, v),
                Some(gd) => kb.if_then(gd, |kb| kb.async_copy16(mem, wi, smem, di, v)),
            }
        };
        for &(ch, ok, n, y, x, dst, guard) in &aload {
            let (tok, ky, kx, off) = tap_of(kb, ch);
            let (vh, ih) = tap(kb, y, ky, sh, pt, h);
            let (vw, iw) = tap(kb, x, kx, sw, pl, w);
            let v = kb.andb(vh, vw);
            let v = kb.andb(v, tok);
            let v = kb.andb(v, ok);
            let slot = act_slot(kb, s.input, n, zero, ih, iw);
            copy(kb, xw, slot, off, v, dst, guard);
        }
        for &(ch, ok, oc, dst, guard) in &bload {
            let (tok, ky, kx, off) = tap_of(kb, ch);
            let v = kb.andb(tok, ok);
            let slot = weight_slot(kb, s.weight, oc, zero, ky, kx);
            copy(kb, ww, slot, off, v, dst, guard);
        }
    };

    // ------------------------------------------------------------ widening (4-bit storage)
    // the whole stage (A rows then B rows) as one tile of 8-row groups: stored chunk q (group
    // q / (8 CPR), chunk c, row r8) becomes chunks 2c (lo) and 2c + 1 (hi) of the same row in
    // widened tile `wt` (2 CPR chunks a row)
    let wide_base = p.stages * stage_words; // words
    let wide_words = p.wide_bytes() / 4;
    let (ia, ib) = (s.input.elem.is_signed(), s.weight.elem.is_signed());
    let widen_stage = |kb: &mut Kb, st: V, wt: V| {
        let kww = kb.idx(wide_words);
        let wbase = kb.mul(wt, kww);
        let kwb = kb.idx(wide_base);
        let wbase = kb.add(wbase, kwb);
        let swords = kb.idx(stage_words);
        let sbase = kb.mul(st, swords);
        let total = (bm + bn) * cpr;
        let a_chunks = bm * cpr;
        for j in 0..(total + threads - 1) / threads {
            let off = kb.idx(j * threads);
            let q = kb.add(tid, off);
            let body = |kb: &mut Kb| {
                let grp = kb.divu(q, k8cpr);
                let within = kb.remu(q, k8cpr);
                let c = kb.divu(within, k8);
                let r8 = kb.remu(within, k8);
                let src = kb.madd(q, 4, sbase);
                let raw = kb.load4(smem, src);
                let raw = kb.words4(raw);
                // A and B chunks take their own signedness and scaling (known statically when
                // the A chunks are whole rounds of the block's threads)
                let side = if a_chunks % threads == 0 {
                    Err(j * threads < a_chunks)
                } else {
                    let ka = kb.idx(a_chunks);
                    Ok(kb.cmp(Cmp::Ult, q, ka))
                };
                let mut lo = [raw[0]; 4];
                let mut hi = [raw[0]; 4];
                for (i, x) in raw.iter().enumerate() {
                    (lo[i], hi[i]) = match side {
                        Err(true) => widen_pair(kb, *x, ia, p.scaled_a),
                        Err(false) => widen_pair(kb, *x, ib, p.scaled_b),
                        Ok(is_a) => {
                            let (la, ha) = widen_pair(kb, *x, ia, p.scaled_a);
                            let (lb, hb) = widen_pair(kb, *x, ib, p.scaled_b);
                            (kb.select(is_a, la, lb), kb.select(is_a, ha, hb))
                        }
                    };
                }
                // widened byte: ((grp * 2 CPR + 2c) * 8 + r8) * 16, hi 128 bytes further
                let g2 = muli(kb, grp, 2 * cpr);
                let c2 = muli(kb, c, 2);
                let cm = kb.add(g2, c2);
                let row16 = kb.madd(cm, 8, r8);
                let wlo = muli(kb, row16, 4);
                let wlo = kb.add(wlo, wbase);
                let k32w = kb.idx(32);
                let whi = kb.add(wlo, k32w);
                let vlo = kb.vec4(lo);
                let vhi = kb.vec4(hi);
                kb.store4(vlo, smem, wlo);
                kb.store4(vhi, smem, whi);
            };
            if (j + 1) * threads > total {
                let kt = kb.idx(total);
                let qin = kb.cmp(Cmp::Ult, q, kt);
                kb.if_then(qin, body);
            } else {
                body(kb);
            }
        }
    };

    // ------------------------------------------------------------ descriptors
    // the tile wgmma reads: the widened tile (4-bit) or the ring stage (8-bit), rows of
    // `row_bytes` bytes; this warpgroup's A rows start 64 rows in per warpgroup
    let row_bytes = p.wbk();
    let sbo = (row_bytes / 16) * 128;
    let base = kb.smem_address(smem);
    let kwg = kb.idx(4);
    let wg = kb.divu(warp, kwg);
    let wq = kb.remu(warp, kwg);
    let wg64 = kb.index_cast(wg, T::I64);
    let a_rows = kb.i64c(64 * row_bytes);
    let a_wg = kb.mul(wg64, a_rows);
    let descs = |kb: &mut Kb, tile_byte: V| -> (V, V) {
        let t0 = kb.add(base, tile_byte);
        let a = kb.add(t0, a_wg);
        let boff = kb.i64c(bm * row_bytes);
        let b = kb.add(t0, boff);
        (descriptor(kb, a, sbo), descriptor(kb, b, sbo))
    };

    // ------------------------------------------------------------ main loop
    // Stage `it` lands in slot it % S; the loads of stage it + S - 2 go into the slot of
    // it - 2, whose wgmma is complete (each stage waits for all but its own wgmma group, and
    // the barrier puts every warpgroup past that wait); 4-bit stages are widened into tile
    // it % 2 by the same argument.
    let iters = p.iters();
    let kst = kb.idx(p.stages);
    let ahead = p.stages - 2;
    for st in 0..ahead {
        if st < iters {
            let c = kb.idx(st);
            load_stage(kb, c, c);
        }
        kb.async_commit();
    }
    let nacc = (bn / 2) as usize;
    let acc = kb.acc_zeros(nacc);
    let ksteps = p.ksteps();
    let acc = kb.for_n(iters, 1, &[acc], |kb, it, acc| {
        // groups committed so far: `ahead` + it; stage it's is the (it + 1)-th
        kb.async_wait(ahead - 1);
        if !p.widen {
            kb.fence_proxy_async();
        }
        kb.barrier();
        let kahead = kb.idx(ahead);
        let nx = kb.add(it, kahead);
        let kit = kb.idx(iters);
        let more = kb.cmp(Cmp::Ult, nx, kit);
        kb.if_then(more, |kb| {
            let st = kb.remu(nx, kst);
            load_stage(kb, nx, st);
        });
        kb.async_commit();
        let st = kb.remu(it, kst);
        let tile_byte = if p.widen {
            let two = kb.idx(2);
            let wt = kb.remu(it, two);
            widen_stage(kb, st, wt);
            kb.fence_proxy_async();
            kb.barrier();
            let wt64 = kb.index_cast(wt, T::I64);
            let wb = kb.i64c(p.wide_bytes());
            let off = kb.mul(wt64, wb);
            let base = kb.i64c(wide_base * 4);
            kb.add(off, base)
        } else {
            let st64 = kb.index_cast(st, T::I64);
            let sb = kb.i64c(p.stage_bytes());
            kb.mul(st64, sb)
        };
        let (da, db) = descs(kb, tile_byte);
        let mut acc = acc[0];
        kb.wgmma_fence();
        for ks in 0..ksteps {
            // 32 bytes of K further: two core matrices, 256 bytes (16 in descriptor units)
            let step = kb.i64c(16 * ks);
            let a = kb.add(da, step);
            let b = kb.add(db, step);
            acc = kb.wgmma(bn, at, bt, a, b, acc);
        }
        kb.wgmma_commit();
        kb.wgmma_wait(1);
        vec![acc]
    });
    kb.wgmma_wait(0);
    kb.async_wait(0);
    let accs = kb.acc_values(acc[0], nacc);
    let accs: Vec<V> = if p.shift() > 0 {
        let sh = kb.i32c(p.shift());
        accs.iter().map(|a| kb.shrs(*a, sh)).collect()
    } else {
        accs
    };

    // ------------------------------------------------------------ epilogue
    // warp wq of warpgroup wg holds rows 64 wg + 16 wq + g (+ 8)
    let k64 = kb.idx(64);
    let wrow = kb.mul(wg, k64);
    let wrow = kb.madd(wq, 16, wrow);
    let mut rows = vec![];
    for rh in 0..2 {
        let off = kb.idx(rh * 8);
        let r0 = kb.add(m0, wrow);
        let r = kb.add(r0, off);
        let m = kb.add(r, g);
        let ok = kb.cmp(Cmp::Ult, m, mlim);
        let mc = kb.mins(m, mlast);
        let (n, y, x) = pixel(kb, s, mc);
        rows.push((m, ok, n, y, x));
    }
    let izero = kb.idx(0);
    let all = kb.cmp(Cmp::Eq, izero, izero);
    let bufs = TileBufs::of(&cb);
    let staged_out = p.staged_out(s);
    let stage = staged_out.map(|second| StageOut {
        smem,
        m0,
        n0,
        wpr: bn / 8,
        second,
    });
    let (sbuf, sact) = match (staged_out, &cb.second) {
        (Some(true), Some((b, a))) => (b, *a),
        _ => (&cb.out, s.output),
    };
    if staged_out.is_some() {
        kb.barrier(); // every warpgroup is done with the pipeline memory
    }
    let tile = WarpTile {
        mt: 1,
        nt: bn / 8,
        mm: 16,
        rows: &rows,
        nbase: n0,
        t,
        ok: all,
        stage,
    };
    store_tile(kb, s, &bufs, &tile, &accs)?;
    if staged_out.is_some() {
        kb.barrier();
        let out = OutTile {
            smem,
            m0,
            n0,
            bm,
            bn,
            m: p.m,
        };
        write_out_tile(kb, s, &out, sbuf, sact, threads);
    }
    Ok(p.blocks() * threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loaders' chunk order is the core-matrix layout: chunk q of a tile lands at byte
    /// 16 q, which is where the layout formula puts (row, chunk), for every row and chunk once.
    #[test]
    fn loader_order_is_the_core_matrix_layout() {
        for cpr in [2i64, 4, 8] {
            for rows in [8i64, 24, 64, 128] {
                let mut seen = std::collections::BTreeSet::new();
                for q in 0..rows * cpr {
                    let (grp, within) = (q / (8 * cpr), q % (8 * cpr));
                    let (c, r8) = (within / 8, within % 8);
                    let row = grp * 8 + r8;
                    let layout = ((row / 8) * cpr + c) * 128 + (row % 8) * 16;
                    assert_eq!(layout, 16 * q, "cpr {cpr} rows {rows} q {q}");
                    assert!(seen.insert((row, c)));
                }
                assert_eq!(seen.len() as i64, rows * cpr);
            }
        }
    }
}
