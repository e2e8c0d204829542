//! A dense layer with its global pool fused (`tcconv.dense` with `pool_*` attributes,
//! [`DensePool`]): the kernel reads the N x C x H x W map the pool would have read, and the
//! pooled values never leave shared memory (ResNet's average pool before its classifier: one
//! launch fewer at batch 1-8).
//!
//! Block `b` of `split` owns the channels `[b k, b k + k)` (`k = DensePool::chunk`) of every
//! image:
//!
//! ```text
//! 1. pooled[n][j] = pool over (h, w) of map(n, b k + j, h, w)          (shared memory, 0 past C)
//!    (max, or floor(sum / divisor), then the requantize, as TcOp::Pool computes it)
//! 2. for each output o (thread t takes o = t, t + T, ...):
//!      atom.add(acc[n][o], sum_j pooled[n][j] * weight(o, b k + j))   (every n)
//! 3. fence; one thread: ticket = atom.add(count, 1); the block whose ticket is split - 1 is last
//! 4. last block: per output group, y = atom.exch(acc[n][o], 0) + bias[o] -> epilogue (and the
//!    fused dequantize) -> store; then count = 0
//! ```
//!
//! The accumulator and the counter are the op's state (`KernelBuilder::state`): zero when the
//! network is loaded, and zero again when the kernel ends, so every launch starts from zero.
//! Integer adds are associative in two's complement, so the order in which the blocks' partial
//! sums arrive does not change the result, and a result that fits i32 is exact even where a
//! partial sum wraps. The fence before the ticket makes a block's adds visible before its ticket
//! (release), the fence after it makes every other block's adds visible to the last one
//! (acquire).
//!
//! Work: N C H W loads for the pool (each map element read once), N O C MACs, `split` N O
//! atomic adds, N O exchanges; at batch 1 on ResNet-50 (C = 2048, O = 1000, 32 blocks): 400 KB
//! of i32 map and 2 MB of 8-bit weights read, 32,000 adds.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::conv::{ConvArgs, ConvBufs, ConvSpec};
use super::elementwise::{dequantize_value, mask};
use super::epilogue::epilogue;
use super::layout::{act_slot, group, out_plan, weight_cs, weight_slot};
use super::pool::{pool_finish, pool_init, pool_step};
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::program::{DensePool, PoolKind};

/// Threads of a block.
pub const DENSE_POOL_THREADS: i64 = 256;

/// Words of the op's state: an accumulator per image and output, then the ticket counter.
pub fn state_words(n: i64, o: i64) -> i64 {
    n * o + 1
}

/// Shared-memory words: the pooled values, then the last-block flag.
pub fn smem_words(s: &ConvSpec, pl: &DensePool) -> i64 {
    let [n, c, ..] = s.input.dims;
    n * pl.chunk(c) + 1
}

pub fn dense_pool(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    pl: &DensePool,
) -> Result<i64, String> {
    let [n, c, h, w] = s.input.dims;
    let o = s.output.dims[1];
    if s.weight.dims[0] != o || s.weight.dims[1] != c || s.output.dims[0] != n {
        return Err(format!(
            "a dense layer over the pool of {:?} with weight {:?} cannot write {:?}",
            s.input.dims, s.weight.dims, s.output.dims
        ));
    }
    let (k, split) = (pl.chunk(c), pl.split);
    let count = pl.divisor.unwrap_or(h * w);
    if !matches!(pl.kind, PoolKind::Max | PoolKind::Avg) || count < 1 || split < 1 {
        return Err("a dense layer's pool is a max or average pool with a positive divisor".into());
    }
    let ca = ConvArgs::of(args, s);
    let smem = *args.last().expect("the shared-memory argument");
    let state = kb.state(state_words(n, o));
    let ConvBufs {
        x: xb,
        w: wb,
        bias: bb,
        out: ob,
        ..
    } = ca.bufs(kb, s);
    let t = kb.thread_id();
    let kt = kb.idx(DENSE_POOL_THREADS);
    let b = kb.block_id();
    let kk = kb.idx(k);
    let c0 = kb.mul(b, kk);
    let (kc, last_c) = (kb.idx(c), kb.idx(c - 1));
    let izero = kb.idx(0);
    let mut res = Ok(());

    // 1. the block's pooled values
    let items = kb.idx(n * k);
    kb.for_range(t, items, kt, &[], |kb, it, _| {
        let nn = kb.divu(it, kk);
        let j = kb.remu(it, kk);
        let ch = kb.add(c0, j);
        let valid = kb.cmp(Cmp::Ult, ch, kc);
        let cc = kb.mins(ch, last_c);
        let init = pool_init(kb, pl.kind);
        let acc = kb.for_n(h, 1, &[init], |kb, y, acc| {
            kb.for_n(w, 1, acc, |kb, x, acc| {
                let slot = act_slot(kb, s.input, nn, cc, y, x);
                let v = xb.load_slot(kb, slot);
                vec![pool_step(kb, pl.kind, acc[0], v)]
            })
        })[0];
        // `pool_` tables: the layer's own epilogue has the unprefixed ones
        let fin = (pl.kind, count, pl.requantize.as_ref(), "pool");
        let y = match pool_finish(kb, fin, acc, cc, c, pl.elem) {
            Ok(y) => y,
            Err(e) => {
                res = Err(e);
                return vec![];
            }
        };
        let zero = kb.i32c(0);
        let y = kb.select(valid, y, zero);
        kb.store(y, smem, it);
        vec![]
    });
    res.clone()?;
    kb.barrier();

    // 2. partial sums of every output over the block's channels
    let ko = kb.idx(o);
    let cs = weight_cs(s.weight);
    // whole 8-channel chunks of a weight row where rows start on a chunk (k is a multiple of 8)
    let chunked = k % 8 == 0 && cs % 8 == 0;
    let last8 = kb.idx((c - 1) / 8 * 8);
    kb.for_range(t, ko, kt, &[], |kb, oo, _| {
        let zero = kb.i32c(0);
        let mut accs = vec![zero; n as usize];
        for j0 in (0..k).step_by(8) {
            let g = 8.min(k - j0);
            let jj = kb.idx(j0);
            let ch = kb.add(c0, jj);
            // past C the pooled values are 0: any in-bounds weight will do (the padded
            // channels of the last chunk are stored, `cs` >= C rounded up to 8)
            let ws: Vec<Val> = if chunked {
                let ch = kb.mins(ch, last8);
                let base = weight_slot(kb, s.weight, oo, ch, izero, izero);
                wb.load_chunk(kb, base, g)
            } else {
                (0..g)
                    .map(|d| {
                        let dd = kb.idx(d);
                        let chd = kb.add(ch, dd);
                        let chd = kb.mins(chd, last_c);
                        let slot = weight_slot(kb, s.weight, oo, chd, izero, izero);
                        wb.load_slot(kb, slot)
                    })
                    .collect()
            };
            for (nn, acc) in accs.iter_mut().enumerate() {
                for (d, wv) in ws.iter().enumerate() {
                    let i = kb.idx(nn as i64 * k + j0 + d as i64);
                    let x = kb.load(smem, i);
                    let p = kb.mul(x, *wv);
                    *acc = kb.add(*acc, p);
                }
            }
        }
        for (nn, acc) in accs.into_iter().enumerate() {
            let base = kb.idx(nn as i64 * o);
            let i = kb.add(base, oo);
            kb.atomic_add(acc, state, i);
        }
        vec![]
    });

    // 3. the ticket
    kb.fence_gpu();
    kb.barrier();
    let flag = kb.idx(n * k);
    let tzero = kb.cmp(Cmp::Eq, t, izero);
    kb.if_then(tzero, |kb| {
        let one = kb.i32c(1);
        let ci = kb.idx(n * o);
        let ticket = kb.atomic_add(one, state, ci);
        let lastb = kb.i32c(split - 1);
        let is_last = kb.cmp(Cmp::Eq, ticket, lastb);
        let is_last = kb.zext(is_last, Scalar::I32);
        kb.store(is_last, smem, flag);
    });
    kb.barrier();
    let is_last = kb.load(smem, flag);
    let izero = kb.i32c(0);
    let is_last = kb.cmp(Cmp::Ne, is_last, izero);

    // 4. the last block: the epilogue
    kb.if_then(is_last, |kb| {
        kb.fence_gpu();
        let plan = out_plan(s.output, 8);
        let groups = kb.idx(plan.threads);
        kb.for_range(t, groups, kt, &[], |kb, gi, _| {
            let grp = group(kb, s.output, plan, gi);
            let mut vals = vec![];
            for it in &grp.items {
                let base = kb.mul(it.n, ko);
                let i = kb.add(base, it.cc);
                let zero = kb.i32c(0);
                let acc = match it.valid {
                    // a padding channel's cc repeats the last channel: never take its sum twice
                    Some(ok) => kb
                        .if_then_else(ok, &[zero], |kb| vec![kb.atomic_exchange(zero, state, i)])
                        [0],
                    None => kb.atomic_exchange(zero, state, i),
                };
                let acc = match &bb {
                    Some(bv) => {
                        let b = bv.load_slot(kb, it.cc);
                        kb.add(acc, b)
                    }
                    None => acc,
                };
                let elem = match s.dequantize {
                    Some(_) => ElemType::I32,
                    None => s.output.elem,
                };
                let v = epilogue(kb, s.epilogue, acc, None, it.cc, o, elem).and_then(|v| {
                    match s.dequantize {
                        Some(sc) => dequantize_value(kb, v, sc, it.cc, o),
                        None => Ok(v),
                    }
                });
                match v {
                    Ok(v) => vals.push(v),
                    Err(e) => {
                        res = Err(e);
                        return vec![];
                    }
                }
            }
            let vals = mask(kb, &grp.items, vals, s.output.elem == ElemType::F32);
            ob.store_slots(kb, grp.base, &vals);
            vec![]
        });
        kb.if_then(tzero, |kb| {
            let zero = kb.i32c(0);
            let ci = kb.idx(n * o);
            kb.atomic_exchange(zero, state, ci);
        });
    });
    res.map(|_| split * DENSE_POOL_THREADS)
}
