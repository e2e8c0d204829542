//! The warp-specialized persistent wgmma conv2d kernel (sm_90a, family `wgmma_ws`): the GEMM,
//! stages, slot layout, widening and epilogue of `wgmma.rs`, with the work split by role and
//! the tiles walked by one block an SM.
//!
//! A block is `wgs` consumer warpgroups (threads `[0, 128 wgs)`) and one or two producer
//! warpgroups (the threads after them, `P` in all). Block `b` of the `G` launched
//! (`min(tiles, SMs)`) takes tiles `b, b + G, b + 2G, ...` (tile `t`: rows `(t / tiles_n) BM`,
//! channels `(t % tiles_n) BN`), each `iters` K stages; its stages are numbered
//! `g = tile_index * iters + it` in order, and stage `g` goes through slot `g % S` of a ring of
//! `S` slots (as many as shared memory holds, up to 8).
//!
//! Two mbarriers a slot order the ring: `full[s]` (`P` arrivals: every producer thread once a
//! stage) and `empty[s]` (one arrival per consumer warp). Round `r = g / S` of a slot:
//! - the producers wait for `empty[s]` phase parity `(r & 1) ^ 1` (the first round passes at
//!   once), write the stage and arrive on `full[s]`: 4-bit operands loaded one stage ahead
//!   into registers (`ld.global.v4`), zeroed where invalid, widened and stored, then
//!   `fence.proxy.async` and `mbarrier.arrive`; 8-bit operands by cp.async (zero-filled where
//!   invalid), whose completion is the thread's arrival (`cp.async.mbarrier.arrive.noinc`);
//! - the consumers wait for `full[s]` parity `r & 1`, fence the async proxy, issue the stage's
//!   wgmma group and wait for all groups but it, so the previous stage's slot is read: lane 0 of
//!   each warp arrives on that slot's `empty`. After a tile's last stage they wait for every
//!   group, release its slot, and run the epilogue while the producers fill the ring with the
//!   next tile's stages. The epilogue's barriers are named barrier 1 of the consumer threads
//!   (the producers never join them); its staged output tile lies after the slots.
//!
//! Not taken: convs with a shortcut GEMM (the selection keeps them on `wgmma` / `staged`).

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::chunks::{AChunk, BChunk};
use super::conv::{ConvArgs, ConvSpec};
use super::layout::{Buf, Corner};
use super::wgmma::{
    acc_values, copy_stage, epilogue, load_words, mma_stage, operands, origin, store_widened,
    Operands, TileLoad,
};
use nibble_tcconv::select::{WgmmaPlan, MBARRIER_BYTES, WARPGROUP};

/// The ring's mbarriers: `full[s]` and `empty[s]` as `!llvm.ptr<3>`.
struct Ring {
    /// Shared-memory address of `full[0]`; `empty[0]` is `S` mbarriers further.
    bars: Val,
    slots: i64,
}

impl Ring {
    fn bar(&self, kb: &mut KernelBuilder, empty: bool, slot: Val) -> Val {
        let s64 = kb.index_cast(slot, Scalar::I64);
        let kb8 = kb.i64c(MBARRIER_BYTES);
        let off = kb.mul(s64, kb8);
        let base = if empty {
            let e = kb.i64c(MBARRIER_BYTES * self.slots);
            kb.add(self.bars, e)
        } else {
            self.bars
        };
        let a = kb.add(base, off);
        kb.smem_ptr(a)
    }
    /// Slot of stage `g` and the phase parity (i32) of its round: `(g % S, (g / S) & 1)`.
    fn slot(&self, kb: &mut KernelBuilder, g: Val) -> (Val, Val) {
        let ks = kb.idx(self.slots);
        let sl = kb.remu(g, ks);
        let r = kb.divu(g, ks);
        let one = kb.idx(1);
        let par = kb.and(r, one);
        (sl, kb.index_cast(par, Scalar::I32))
    }
}

/// The values of a thread's chunks that depend on the tile: each A chunk's row validity,
/// window corner and its word, each B chunk's channel validity and weight row.
fn tile_state(ops: &Operands) -> Vec<Val> {
    let a = ops
        .a
        .iter()
        .flat_map(|c| [c.ok, c.corner.y0, c.corner.x0, c.corner.at]);
    a.chain(ops.b.iter().flat_map(|c| [c.ok, c.base])).collect()
}

/// `ops` with the tile-dependent values of [`tile_state`] replaced by `state`.
fn with_state<'a>(ops: &Operands<'a>, state: &[Val]) -> Operands<'a> {
    let (sa, sb) = state.split_at(4 * ops.a.len());
    let a = ops.a.iter().zip(sa.chunks(4)).map(|(c, v)| AChunk {
        ok: v[0],
        corner: Corner {
            y0: v[1],
            x0: v[2],
            at: v[3],
        },
        ..*c
    });
    let b = ops.b.iter().zip(sb.chunks(2)).map(|(c, v)| BChunk {
        ok: v[0],
        base: v[1],
        ..*c
    });
    Operands {
        s: ops.s,
        k: ops.k,
        words: ops.words,
        a: a.collect(),
        b: b.collect(),
        iters: ops.iters,
        scaled: ops.scaled,
        // `wgmma_ws_plan` takes no widened weight
        wide_b: None,
        bulk_b: None,
    }
}

/// The tile a block's `tl`-th tile is: `(m0, n0)` of tile `bid + tl * grid`.
fn tile_origin(kb: &mut KernelBuilder, p: &WgmmaPlan, bid: Val, tl: Val) -> (Val, Val) {
    let grid = kb.idx(p.blocks());
    let t = kb.mul(tl, grid);
    let t = kb.add(t, bid);
    origin(kb, p, t)
}

/// Build the kernel body (`args` in the tcconv op's operand order). Returns the number of
/// threads (blocks x [`WgmmaPlan::block`]).
pub fn conv(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    p: &WgmmaPlan,
) -> Result<i64, String> {
    let Some(ws) = p.persistent else {
        return Err("the plan is not warp-specialized".into());
    };
    if s.shortcut.is_some() || p.shortcut.is_some() {
        return Err("the warp-specialized wgmma kernel does not run a shortcut".into());
    }
    let ca = ConvArgs::of(args, s);
    let smem = kb.dynamic_smem(p.smem_words());
    let out_words = (p.barrier_byte() - p.out_tile_byte()) / 4;
    let out_smem = kb.dynamic_smem_at(p.out_tile_byte(), out_words);
    let cb = ca.bufs(kb, s);
    let words = |b: &Buf| b.words.unwrap_or(b.mem);
    let xw = (words(&cb.x), words(&cb.w));
    let consumers = WARPGROUP * p.wgs;
    let producers = WARPGROUP * ws.producers;
    let iters = p.iters();
    let base = kb.smem_address(smem);
    let bars = kb.i64c(p.barrier_byte());
    let ring = Ring {
        bars: kb.add(base, bars),
        slots: p.stages,
    };

    let tid = kb.thread_id();
    let bid = kb.block_id();
    // this block's tiles: b, b + G, ... below the tile count
    let ktiles = kb.idx(p.tiles() - 1);
    let grid = kb.idx(p.blocks());
    let rest = kb.sub(ktiles, bid);
    let mine = kb.divu(rest, grid);
    let one = kb.idx(1);
    let my_tiles = kb.add(mine, one);

    // one thread sets up the ring; the block barrier makes it visible to all
    let zero = kb.idx(0);
    let first = kb.cmp(Cmp::Eq, tid, zero);
    kb.if_then(first, |kb| {
        for sl in 0..p.stages {
            let sl = kb.idx(sl);
            let full = ring.bar(kb, false, sl);
            kb.mbarrier_init(full, producers);
            let empty = ring.bar(kb, true, sl);
            kb.mbarrier_init(empty, consumers / 32);
        }
    });
    kb.barrier();

    // ------------------------------------------------------------------ producer
    let kcons = kb.idx(consumers);
    let producer = kb.cmp(Cmp::Uge, tid, kcons);
    kb.if_then(producer, |kb| {
        let ptid = kb.sub(tid, kcons);
        let kiters = kb.idx(iters);
        let total = kb.mul(my_tiles, kiters);
        let sizes = (p.rb, iters, (p.scaled_a, p.scaled_b));
        // the operands of this thread's chunks for the block's `tl`-th tile
        let tile_ops = |kb: &mut KernelBuilder, tl: Val| -> Operands {
            let (m0, n0) = tile_origin(kb, p, bid, tl);
            let at = TileLoad {
                tid: ptid,
                threads: producers,
                m0,
                n0,
            };
            operands(kb, s, p, &at, xw, sizes)
        };
        let first_ops = tile_ops(kb, zero);
        // the chunks' tile-dependent values ride along the stages and are recomputed where a
        // stage starts a tile
        let next_state = |kb: &mut KernelBuilder, g: Val, state: &[Val]| -> Vec<Val> {
            let it = kb.remu(g, kiters);
            let starts = kb.cmp(Cmp::Eq, it, zero);
            let inside = kb.cmp(Cmp::Ult, g, total);
            let fresh = kb.andb(starts, inside);
            kb.if_then_else(fresh, state, |kb| {
                let tl = kb.divu(g, kiters);
                tile_state(&tile_ops(kb, tl))
            })
        };
        // wait until stage g's slot is free; its slot
        let acquire = |kb: &mut KernelBuilder, g: Val| -> Val {
            let (sl, par) = ring.slot(kb, g);
            let one32 = kb.i32c(1);
            let free = kb.xor(par, one32);
            let empty = ring.bar(kb, true, sl);
            kb.mbarrier_wait(empty, free);
            sl
        };
        let state0 = tile_state(&first_ops);
        if p.widen {
            // stage g + 1 is loaded into registers while stage g waits for its slot
            let mut inits = load_words(kb, &first_ops, zero);
            let nw = inits.len();
            inits.extend(&state0);
            kb.for_range(zero, total, one, &inits, |kb, g, carried| {
                let (words, state) = carried.split_at(nw);
                let g1 = kb.add(g, one);
                let state1 = next_state(kb, g1, state);
                let ops1 = with_state(&first_ops, &state1);
                let it1 = kb.remu(g1, kiters);
                let mut next = load_words(kb, &ops1, it1);
                let sl = acquire(kb, g);
                // the chunks' places in a slot are the same for every tile
                store_widened(kb, p, smem, &ops1, words, sl);
                kb.fence_proxy_async();
                let full = ring.bar(kb, false, sl);
                kb.mbarrier_arrive(full);
                next.extend(state1);
                next
            });
        } else {
            kb.for_range(zero, total, one, &state0, |kb, g, state| {
                let state = next_state(kb, g, state);
                let ops = with_state(&first_ops, &state);
                let it = kb.remu(g, kiters);
                let sl = acquire(kb, g);
                copy_stage(kb, p, smem, &ops, it, sl);
                let full = ring.bar(kb, false, sl);
                kb.async_copy_arrive(full);
                state
            });
            kb.async_wait(0);
        }
    });

    // ------------------------------------------------------------------ consumers
    let consumer = kb.cmp(Cmp::Ult, tid, kcons);
    let mut result = Ok(());
    kb.if_then(consumer, |kb| {
        kb.barrier_threads = Some(consumers);
        let (k4, k32) = (kb.idx(4), kb.idx(32));
        let lane = kb.remu(tid, k32);
        let warp = kb.divu(tid, k32);
        let wg = kb.divu(warp, k4);
        let lead = kb.cmp(Cmp::Eq, lane, zero);
        // lane 0 of each warp: the slot of stage g has been read
        let release = |kb: &mut KernelBuilder, g: Val, when: Val| {
            kb.if_then(when, |kb| {
                let (sl, _) = ring.slot(kb, g);
                let empty = ring.bar(kb, true, sl);
                kb.mbarrier_arrive(empty);
            });
        };
        let kiters = kb.idx(iters);
        kb.for_range(zero, my_tiles, one, &[], |kb, tl, _| {
            let (m0, n0) = tile_origin(kb, p, bid, tl);
            let g0 = kb.mul(tl, kiters);
            let acc = kb.acc_zeros((p.bn / 2) as usize);
            let acc = kb.for_n(iters, 1, &[acc], |kb, it, acc| {
                let g = kb.add(g0, it);
                let (sl, par) = ring.slot(kb, g);
                let full = ring.bar(kb, false, sl);
                kb.mbarrier_wait(full, par);
                kb.fence_proxy_async();
                let acc = mma_stage(kb, p, base, wg, sl, acc[0]);
                kb.wgmma_wait(1);
                // the previous stage of this tile is read
                let later = kb.cmp(Cmp::Ugt, it, zero);
                let when = kb.andb(later, lead);
                let prev = kb.sub(g, one);
                let prev = kb.maxs(prev, zero);
                release(kb, prev, when);
                vec![acc]
            });
            kb.wgmma_wait(0);
            let klast = kb.idx(iters - 1);
            let glast = kb.add(g0, klast);
            release(kb, glast, lead);
            let accs = acc_values(kb, p, acc[0], p.shift());
            if let Err(e) = epilogue(
                kb,
                s,
                &cb,
                p,
                out_smem,
                (m0, n0),
                (warp, lane),
                &accs,
                None,
                consumers,
                None,
            ) {
                result = Err(e);
            }
            vec![]
        });
        kb.barrier_threads = None;
    });
    result?;
    Ok(p.blocks() * p.block())
}
