//! The warpgroup MMA conv2d kernel (sm_90a): the implicit GEMM of `staged.rs` (M = output
//! pixels, N = output channels, K = taps x input channels, as bytes of the stored rows) on
//! Hopper's `wgmma.mma_async`, which reads both operands from shared memory.
//!
//! A block of `wgs` warpgroups (128 threads each) computes a `64 wgs` x `BN` output tile;
//! warpgroup `i` owns rows `[64 i, 64 i + 64)` and issues one `wgmma m64n{BN}k32` per 32 bytes
//! of K. Its accumulators are `BN / 2` registers a thread laid out as `BN / 8` m16n8 C
//! fragments per warp, so the epilogue is `epilogue::store_tile` (bias, requantize / residual /
//! clamp / relu, second output, packed stores; packed 4-bit outputs staged through shared
//! memory as in `staged.rs`).
//!
//! Shared memory (dynamic: up to [`WGMMA_SMEM`], two blocks an SM, three for tiles of up to 64
//! channels: `WgmmaPlan::blocks_per_sm`) holds `stages` slots of the
//! tiles wgmma reads, each A `[BM][K bytes]` then B `[BN][K bytes]` of one stage, in wgmma's
//! no-swizzle K-major layout of 8 x 16-byte core matrices: chunk `c` (16 bytes) of row `r` at
//! byte `((r / 8) * CPR + c) * 128 + (r % 8) * 16` (CPR = K bytes / 16). A matrix descriptor
//! with leading-dimension offset 128 (next core matrix along K) and stride offset `CPR * 128`
//! (next 8 rows) reads it; the k-th 32-byte step starts `256 k` bytes further. The loaders
//! enumerate a stage's chunks in that byte order (chunk `q` at byte `16 q`), so the 8 threads of
//! a store phase fill one core matrix: no bank conflicts.
//!
//! 8-bit operands: a cp.async ring (16-byte copies, zero-filled outside the image, past the last
//! tap and past M / O) of up to 6 slots, prefetch distance `stages - 2`; per stage `it`: wait
//! for its group, `fence.proxy.async` (the copies become visible to the async proxy wgmma reads
//! through), barrier, issue the copies of stage `it + stages - 2` into the slot of `it - 2`,
//! then the stage's wgmma group.
//!
//! 4-bit operands are widened once per stage, in registers, by the whole block (never once per
//! MMA per warp): each thread loads its 16-byte chunks of stage `it + 3` (`ld.global.v4`, two
//! stages' words in registers) while the tensor cores run stage `it`, and stores stage `it + 1`
//! widened into one of 3 slots (2 when K is one stage); a tile's first three stages are all in
//! flight before its first store, so it waits for memory once, not once a stage:
//! 16 stored bytes (32 nibbles) become two 16-byte chunks, `lo` = nibbles 0, 2, 4, 6 and
//! `hi` = nibbles 1, 3, 5, 7 of each word (`staged::widen_pair`: the same K permutation for A
//! and B, so dot products are unchanged; signed nibbles go to the high half of a byte when the
//! accumulator bound allows, and the result is shifted back). Shared memory sees each widened
//! byte written once and read by wgmma, nothing else.
//!
//! Both loops: `wgmma.fence`, the stage's K steps, commit, and a wait for all groups but this
//! one, so the tensor cores work on stage `it` while the block moves the next stages; a slot is
//! refilled only two stages after its group was issued, when that wait and the next barrier
//! have put every warpgroup past it. The accumulators stay one `!llvm.struct` from wgmma to
//! wgmma, so nothing reads them while a group is in flight.
//!
//! Work per block and stage: `wgs x (K bytes / 32)` wgmma of 64 x BN x 32; global -> shared
//! traffic (BM + BN) x stored K bytes: BM*BN/(BM+BN) MACs per stored byte (x2 for 4-bit), 43-64
//! at 128 x 64 .. 128 x 128. Shared memory per stage: the slot written once ((BM + BN) x K
//! bytes) and read by each warpgroup (64 + BN) x K bytes: at 128 x 128 and 4096 int8 MACs a
//! clock an SM (H100/H200 dense peak), 80 KiB per 2 M MACs, 640 clocks at 128 bytes a clock
//! against 512 of tensor work: the kernel is bound by shared-memory bandwidth near peak.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::chunks::{
    each_source, input_through_l1, prefetch, AChunk, BChunk, Source, StageK, MAINLOOP_UNROLL,
};
use super::conv::{ConvArgs, ConvBufs, ConvSpec, ShortcutBufs};
use super::epilogue::{load_stream_tile, store_block_tile, OutTile, StreamStage, WarpTile};
use super::layout::{gemm_row, Axis, Buf, IndexMath};
use super::staged::widen_pair;
use nibble_qnn::semantics::ElemType;
pub use nibble_tcconv::select::{wgmma_plan as plan, WgmmaPlan, WGMMA_SMEM};
use nibble_tcconv::select::{ShortcutK, MBARRIER_BYTES};

/// wgmma's operand type name.
pub(super) fn wgmma_type(e: ElemType) -> &'static str {
    if e.is_signed() {
        "s8"
    } else {
        "u8"
    }
}

/// The matrix descriptor of a K-major, no-swizzle operand at shared-memory byte address `addr`
/// (i64) whose 8-row groups are `sbo` bytes apart: start address, leading-dimension offset
/// (128: the next core matrix along K) and stride offset, each in 16-byte units.
fn descriptor(kb: &mut KernelBuilder, addr: Val, sbo: i64) -> Val {
    let mask = kb.i64c(0x3ffff);
    let a = kb.and(addr, mask);
    let four = kb.i64c(4);
    let a = kb.shru(a, four);
    let fixed = kb.i64c(((128 >> 4) << 16) | ((sbo >> 4) << 32));
    kb.or(a, fixed)
}

/// This thread's operand chunks of one GEMM (the conv's or its shortcut's) and what they are
/// read from.
pub(super) struct Operands<'a> {
    pub s: &'a ConvSpec<'a>,
    pub k: StageK,
    /// The input and the weight as i32 words.
    pub words: (Val, Val),
    pub a: Vec<AChunk>,
    pub b: Vec<BChunk>,
    /// K blocks, and the signed 4-bit sides widened into the high nibble.
    pub iters: i64,
    pub scaled: (bool, bool),
    /// A widened weight's B chunks (`b` is then empty) and its K walk: 16-byte copies of the
    /// widened rows straight into the slot ([`copy_widened_b`]).
    pub wide_b: Option<(StageK, Vec<BChunk>)>,
    /// A tiled weight's stages, one bulk copy each by one thread ([`bulk_stage`]; `b` is then
    /// empty).
    pub bulk_b: Option<BulkB>,
}

/// Where a tiled weight's stage tiles of one output tile come from and go to: the global
/// address (i64) of the N tile's first stage tile, the slots' shared-memory byte address, the
/// first slot mbarrier's, and whether this thread issues the copies.
#[derive(Clone, Copy)]
pub(super) struct BulkB {
    pub tile: Val,
    pub smem: Val,
    pub bars: Val,
    pub issuer: Val,
}

impl Operands<'_> {
    /// `f` on the source of each chunk of K block `it`, A chunks first.
    pub fn each_source(
        &self,
        kb: &mut KernelBuilder,
        it: Val,
        f: &mut dyn FnMut(&mut KernelBuilder, Source),
    ) {
        each_source(kb, self.s, &self.k, self.words, &self.a, &self.b, it, f)
    }
}

/// The memory a buffer's i32 words are read from.
fn words_of(b: &Buf) -> Val {
    b.words.unwrap_or(b.mem)
}

/// `x * k` for an index value and a constant.
pub(super) fn muli(kb: &mut KernelBuilder, x: Val, k: i64) -> Val {
    let kk = kb.idx(k);
    kb.mul(x, kk)
}

/// The 16 bytes of each of this thread's chunks of stage `it` (`ld.global.v4`) and whether
/// the chunk is valid, five values a chunk (`it` clamped to the last stage: loads past the end
/// are repeats nobody reads). Invalid chunks load word 0 and are zeroed by [`store_widened`]:
/// nothing reads the loaded words before they are stored, so the loads stay in flight until
/// then.
pub(super) fn load_words(kb: &mut KernelBuilder, ops: &Operands, it: Val) -> Vec<Val> {
    let last = kb.idx(ops.iters - 1);
    let it = kb.mins(it, last);
    let mut words = vec![];
    ops.each_source(kb, it, &mut |kb, src| {
        let x = kb.load4(src.mem, src.word);
        words.extend(kb.words4(x));
        words.push(src.valid);
    });
    words
}

/// Widen the words [`load_words`] loaded (zero where invalid) into slot `sl` of the widened
/// tiles: stored chunk q
/// (group q / (8 CPR), chunk c, row r8 of the stage's A-then-B rows) becomes chunks 2c (lo)
/// and 2c + 1 (hi) of the same row (2 CPR chunks a row).
pub(super) fn store_widened(
    kb: &mut KernelBuilder,
    p: &WgmmaPlan,
    smem: Val,
    ops: &Operands,
    words: &[Val],
    sl: Val,
) {
    let (s_a, s_b) = (p.a_type.is_signed(), p.b_type.is_signed());
    let cpr = p.sbk / 16;
    let slot_words = p.slot_bytes() / 4;
    let sw = kb.idx(slot_words);
    let sbase = kb.mul(sl, sw);
    let k8cpr = kb.idx(8 * cpr);
    let k8 = kb.idx(8);
    let sides = ops.a.iter().map(|c| (c.dst, c.guard, true));
    let sides = sides.chain(ops.b.iter().map(|c| (c.dst, c.guard, false)));
    for (i, (dst, guard, is_a)) in sides.enumerate() {
        let w = &words[5 * i..5 * i + 4];
        let valid = words[5 * i + 4];
        let (signed, scaled) = if is_a {
            (s_a, ops.scaled.0)
        } else {
            (s_b, ops.scaled.1)
        };
        let body = |kb: &mut KernelBuilder| {
            let k4 = kb.idx(4);
            let q = kb.divu(dst, k4); // the chunk's index in the stage
            let grp = kb.divu(q, k8cpr);
            let within = kb.remu(q, k8cpr);
            let c = kb.divu(within, k8);
            let r8 = kb.remu(within, k8);
            let mut lo = [w[0]; 4];
            let mut hi = [w[0]; 4];
            let zero = kb.i32c(0);
            for j in 0..4 {
                let wj = kb.select(valid, w[j], zero);
                (lo[j], hi[j]) = widen_pair(kb, wj, signed, scaled);
            }
            // widened byte: ((grp * 2 CPR + 2c) * 8 + r8) * 16, hi 128 bytes further
            let g2 = muli(kb, grp, 2 * cpr);
            let c2 = muli(kb, c, 2);
            let cm = kb.add(g2, c2);
            let row16 = kb.madd(cm, 8, r8);
            let wlo = muli(kb, row16, 4);
            let wlo = kb.add(wlo, sbase);
            let k32w = kb.idx(32);
            let whi = kb.add(wlo, k32w);
            let vlo = kb.vec4(lo);
            let vhi = kb.vec4(hi);
            kb.store4(vlo, smem, wlo);
            kb.store4(vhi, smem, whi);
        };
        match guard {
            None => body(kb),
            Some(gd) => kb.if_then(gd, body),
        }
    }
}

/// Issue the cp.async copies of this thread's chunks of K block `it` into slot `sl` (8-bit
/// operands; zero-filled where invalid).
pub(super) fn copy_stage(
    kb: &mut KernelBuilder,
    p: &WgmmaPlan,
    smem: Val,
    ops: &Operands,
    it: Val,
    sl: Val,
) {
    let sbase = slot_base(kb, p, sl);
    let l1_input = input_through_l1(ops.s);
    ops.each_source(kb, it, &mut |kb, src| {
        copy_chunk(kb, smem, sbase, src, l1_input)
    });
}

/// The first word of slot `sl`.
fn slot_base(kb: &mut KernelBuilder, p: &WgmmaPlan, sl: Val) -> Val {
    let sw = kb.idx(p.slot_bytes() / 4);
    kb.mul(sl, sw)
}

/// The cp.async copy of one chunk into the slot at word `sbase` (zero-filled where invalid;
/// none outside the stage where the chunk has a guard); the input's chunks through L1 where
/// `l1_input` ([`input_through_l1`]).
fn copy_chunk(kb: &mut KernelBuilder, smem: Val, sbase: Val, src: Source, l1_input: bool) {
    let di = kb.add(sbase, src.dst);
    let l1 = l1_input && src.is_a;
    let copy =
        |kb: &mut KernelBuilder| kb.async_copy16_via(src.mem, src.word, smem, di, src.valid, l1);
    match src.guard {
        None => copy(kb),
        Some(gd) => kb.if_then(gd, copy),
    }
}

/// K stages the 4-bit loader's global loads run ahead of the tensor cores (3 against 2:
/// ResNet-50 W4A4 sm_90a -0.3% at batch 256, -0.6% at 64 on an H100, with the skipped stores
/// and loads below; without them no change).
const AHEAD: i64 = 3;

/// The first `depth` (at most [`AHEAD`]) stages of a 4-bit GEMM in registers, as
/// [`widened_mainloop`] starts from them: loaded before other work of the block (another
/// GEMM, an epilogue), their round trip to memory runs under it.
fn preload(kb: &mut KernelBuilder, ops: &Operands, depth: i64) -> Vec<Vec<Val>> {
    let mut sets = vec![];
    fill_sets(kb, ops, &mut sets, depth);
    sets
}

/// Load stages into `sets` until it holds `depth` (at most [`AHEAD`]); past the last stage a
/// set repeats the last one's values (never stored: no loads).
fn fill_sets(kb: &mut KernelBuilder, ops: &Operands, sets: &mut Vec<Vec<Val>>, depth: i64) {
    while (sets.len() as i64) < depth.min(AHEAD) {
        let st = sets.len() as i64;
        let set = if st < ops.iters {
            let c = kb.idx(st);
            load_words(kb, ops, c)
        } else {
            sets[sets.len() - 1].clone()
        };
        sets.push(set);
    }
}

/// Stages of its next tile a block loads before an epilogue ([`WgmmaPlan::block_tiles`]):
/// one, the whole K of a 1 x 1 conv over up to 64 4-bit channels; each more keeps its words in
/// registers over the epilogue (ptxas, ResNet-50 W4A4 batch 256: the 80-register 3 x 3 convs
/// spill 396 bytes with one, 488 with three).
const NEXT_TILE_STAGES: i64 = 1;

/// The 4-bit main loop: every thread loads its 16-byte chunks of stage `it + AHEAD` into
/// registers (`ld.global.v4`, zero where invalid) while the tensor cores run stage `it`, and
/// stores stage `it + 1`, widened, into slot (it + 1) % S of the widened tiles (S = 3; 2 for one
/// stage): the slot of stage it - 2, whose wgmma group is complete (each stage waits for all
/// groups but its own, and the barrier puts every warpgroup past that wait). The prologue has
/// the loads of stages 0 .. AHEAD in flight before it stores stage 0, so a tile starts with one
/// round trip to memory, not one per stage (`preloaded`: the first of those loads, issued
/// earlier by [`preload`]). Returns the accumulator struct.
fn widened_mainloop(
    kb: &mut KernelBuilder,
    p: &WgmmaPlan,
    smem: Val,
    ops: &Operands,
    mma_stage: &dyn Fn(&mut KernelBuilder, Val, Val) -> Val,
    acc: Val,
    preloaded: Option<Vec<Vec<Val>>>,
) -> Val {
    let kslots = kb.idx(p.stages);
    let load = |kb: &mut KernelBuilder, it: Val| load_words(kb, ops, it);
    let store =
        |kb: &mut KernelBuilder, words: &[Val], sl: Val| store_widened(kb, p, smem, ops, words, sl);
    let iters = ops.iters;
    // stages 0 .. AHEAD in registers (`fill_sets` repeats the last stage past it: never stored)
    let mut sets = preloaded.unwrap_or_default();
    fill_sets(kb, ops, &mut sets, AHEAD);
    let zero = kb.idx(0);
    // a widened weight's stage 0 copied while stage 0 of A is widened
    copy_weight_stage(kb, p, smem, ops, zero, zero);
    store(kb, &sets[0], zero);
    let width = sets[0].len();
    let mut inits = vec![acc];
    for set in &sets[1..] {
        inits.extend(set.iter().copied());
    }
    let one = kb.idx(1);
    let ahead = kb.idx(AHEAD);
    let out = kb.for_n(iters, MAINLOOP_UNROLL, &inits, |kb, it, carried| {
        // unrolled (`it` a constant): no store or load past the last stage
        let known = kb.known(it);
        if ops.wide_b.is_some() {
            // this thread's copies of the weight's stage `it` (the only group in flight but
            // the stream tile's, issued before the loop)
            kb.async_wait(0);
        }
        if let Some(bulk) = &ops.bulk_b {
            let sl = kb.remu(it, kslots);
            bulk_wait(kb, p, bulk, it, sl);
        }
        kb.fence_proxy_async();
        kb.barrier();
        let copies_weight = ops.wide_b.is_some() || ops.bulk_b.is_some();
        if copies_weight && known.is_none_or(|k| k + 1 < iters) {
            // the weight's stage it + 1, into the slot of stage it - 2 (free since the barrier)
            let it1 = kb.add(it, one);
            let sl1 = kb.remu(it1, kslots);
            let copy = |kb: &mut KernelBuilder| copy_weight_stage(kb, p, smem, ops, it1, sl1);
            if known.is_some() {
                copy(kb);
            } else {
                let kit = kb.idx(iters);
                let more = kb.cmp(Cmp::Ult, it1, kit);
                kb.if_then(more, copy);
            }
        }
        let sl = kb.remu(it, kslots);
        let acc = mma_stage(kb, sl, carried[0]);
        // carried[1 + j * width ..]: stage it + 1 + j
        if known.is_none_or(|k| k + 1 < iters) {
            let it1 = kb.add(it, one);
            let sl1 = kb.remu(it1, kslots);
            store(kb, &carried[1..1 + width], sl1);
        }
        let next = if known.is_none_or(|k| k + AHEAD < iters) {
            let itn = kb.add(it, ahead);
            load(kb, itn)
        } else {
            carried[1..1 + width].to_vec()
        };
        kb.wgmma_wait(1);
        let mut out = vec![acc];
        out.extend_from_slice(&carried[1 + width..]);
        out.extend(next);
        out
    });
    out[0]
}

/// This thread's 16-byte chunks (thread `tid` of `threads`) of a stage of `rows` rows of
/// `cpr` chunks: chunk q of the stage's 8-row groups is group q / (8 CPR), chunk (q / 8) % CPR,
/// row q % 8 of the group, and lands at byte 16 q (`(row, chunk, word, guard)`; the guard,
/// where the last round of chunks runs past the stage, says whether it is inside).
fn stage_chunks(
    kb: &mut KernelBuilder,
    tid: Val,
    threads: i64,
    rows: i64,
    cpr: i64,
) -> Vec<(Val, Val, Val, Option<Val>)> {
    let (k4, k8) = (kb.idx(4), kb.idx(8));
    let k8cpr = kb.idx(8 * cpr);
    let total = rows * cpr;
    // where the thread count is a multiple of a group's chunks, every round of a thread's
    // chunks has the same chunk and row in its group: one value, so that the K walk of each
    // stage (`chunks::each_source`) computes its tap once for all of them
    let same = threads % (8 * cpr) == 0;
    let within0 = kb.remu(tid, k8cpr);
    let ch0 = kb.divu(within0, k8);
    let r80 = kb.remu(within0, k8);
    (0..(total + threads - 1) / threads)
        .map(|j| {
            let off = kb.idx(j * threads);
            let q = kb.add(tid, off);
            let grp = kb.divu(q, k8cpr);
            let (ch, r8) = if same {
                (ch0, r80)
            } else {
                let within = kb.remu(q, k8cpr);
                (kb.divu(within, k8), kb.remu(within, k8))
            };
            let row = kb.madd(grp, 8, r8);
            let dst = kb.mul(q, k4); // words
            let guard = ((j + 1) * threads > total).then(|| {
                let kt = kb.idx(total);
                kb.cmp(Cmp::Ult, q, kt)
            });
            (row, ch, dst, guard)
        })
        .collect()
}

/// The first row and channel `(m0, n0)` of output tile `t` (row-major over the tile grid,
/// channels inner).
pub(super) fn origin(kb: &mut KernelBuilder, p: &WgmmaPlan, t: Val) -> (Val, Val) {
    let ktn = kb.idx(p.tiles_n);
    let bmi = kb.divu(t, ktn);
    let bni = kb.remu(t, ktn);
    let kbm = kb.idx(p.bm());
    let kbn = kb.idx(p.bn);
    (kb.mul(bmi, kbm), kb.mul(bni, kbn))
}

/// Where the output tile at (`m0`, `n0`) is and which threads load it.
pub(super) struct TileLoad {
    pub tid: Val,
    pub threads: i64,
    pub m0: Val,
    pub n0: Val,
}

/// The operands of one GEMM of conv `g` (`rb` stored bytes a tap's row, `words` its input and
/// weight as i32 words) that thread `at.tid` moves for the tile at (`at.m0`, `at.n0`).
pub(super) fn operands<'a>(
    kb: &mut KernelBuilder,
    g: &'a ConvSpec<'a>,
    p: &WgmmaPlan,
    at: &TileLoad,
    words: (Val, Val),
    (rb, iters, scaled): (i64, i64, (bool, bool)),
) -> Operands<'a> {
    let cpr = p.sbk / 16;
    let rows = Axis::tiled(p.m, p.bm());
    let channels = Axis::tiled(g.output.dims[1], p.bn);
    let a_words = kb.idx(p.bm() * p.sbk / 4); // the stage's B rows follow its A rows
    let a = stage_chunks(kb, at.tid, at.threads, p.bm(), cpr)
        .into_iter()
        .map(|c| AChunk::new(kb, g, at.m0, &rows, c))
        .collect();
    // B: one bulk copy a stage (a tiled weight: `Block::conv_ops` says from where), 16-byte
    // copies of a widened weight's rows of 2 CPR widened chunks after the widened A rows, or
    // this thread's stored chunks, loaded and widened with A's
    let b_chunks = |kb: &mut KernelBuilder, cpr: i64, off: Val| -> Vec<BChunk> {
        stage_chunks(kb, at.tid, at.threads, p.bn, cpr)
            .into_iter()
            .map(|c| BChunk::new(kb, g, at.n0, &channels, off, c))
            .collect()
    };
    // (the plan's bulk copies are the conv's GEMM's: a shortcut GEMM's weight stays 4-bit)
    let (b, wide_b) = if p.bulk_b && g.weight.tiles.is_some() {
        (vec![], None)
    } else if p.widen && g.weight.widened {
        let wa = kb.idx(p.bm() * 2 * p.sbk / 4);
        let k = StageK::new(g, 2 * p.sbk, 2 * rb);
        (vec![], Some((k, b_chunks(kb, 2 * cpr, wa))))
    } else {
        (b_chunks(kb, cpr, a_words), None)
    };
    Operands {
        s: g,
        k: StageK::new(g, p.sbk, rb),
        words,
        a,
        b,
        iters,
        scaled,
        wide_b,
        bulk_b: None,
    }
}

/// The bulk copy of a tiled weight's K block `it` into slot `sl` (the B rows after the slot's
/// BM widened A rows), completing on the slot's mbarrier; issued by one thread.
fn bulk_stage(kb: &mut KernelBuilder, p: &WgmmaPlan, bulk: &BulkB, it: Val, sl: Val) {
    let bytes = p.bn * p.wbk();
    kb.if_then(bulk.issuer, |kb| {
        let it = kb.index_cast(it, Scalar::I64);
        let sl = kb.index_cast(sl, Scalar::I64);
        let kbytes = kb.i64c(bytes);
        let off = kb.mul(it, kbytes);
        let src = kb.add(bulk.tile, off);
        let kslot = kb.i64c(p.slot_bytes());
        let so = kb.mul(sl, kslot);
        let a_rows = kb.i64c(p.bm() * p.wbk());
        let dst = kb.add(bulk.smem, so);
        let dst = kb.add(dst, a_rows);
        let dst = kb.smem_ptr(dst);
        let bar = slot_barrier(kb, bulk, sl);
        kb.bulk_copy_to_smem(dst, src, bytes, bar);
    });
}

/// The mbarrier of slot `sl` (i64).
fn slot_barrier(kb: &mut KernelBuilder, bulk: &BulkB, sl: Val) -> Val {
    let k8 = kb.i64c(MBARRIER_BYTES);
    let off = kb.mul(sl, k8);
    let a = kb.add(bulk.bars, off);
    kb.smem_ptr(a)
}

/// Wait until the bulk copy of K block `it` (in slot `sl`) has landed: the phase of the
/// slot's mbarrier that its `it / S`-th use completes (parity `(it / S) & 1`; one tile a block,
/// so every slot's uses start at stage 0).
fn bulk_wait(kb: &mut KernelBuilder, p: &WgmmaPlan, bulk: &BulkB, it: Val, sl: Val) {
    let kslots = kb.idx(p.stages);
    let round = kb.divu(it, kslots);
    let two = kb.idx(2);
    let parity = kb.remu(round, two);
    let parity = kb.index_cast(parity, Scalar::I32);
    let sl = kb.index_cast(sl, Scalar::I64);
    let bar = slot_barrier(kb, bulk, sl);
    kb.mbarrier_wait(bar, parity);
}

/// Issue the copies of a widened weight's K block `it` into slot `sl` of the widened tiles: a
/// tiled weight's one bulk copy ([`bulk_stage`]), else this thread's 16-byte cp.async copies
/// (zero-filled past the last tap and past O) committed as one group. Nothing for a weight the
/// loader widens itself.
fn copy_weight_stage(
    kb: &mut KernelBuilder,
    p: &WgmmaPlan,
    smem: Val,
    ops: &Operands,
    it: Val,
    sl: Val,
) {
    if let Some(bulk) = &ops.bulk_b {
        return bulk_stage(kb, p, bulk, it, sl);
    }
    let Some((k, b)) = &ops.wide_b else {
        return;
    };
    let sbase = slot_base(kb, p, sl);
    each_source(kb, ops.s, k, ops.words, &[], b, it, &mut |kb, src| {
        copy_chunk(kb, smem, sbase, src, false)
    });
    kb.async_commit();
}

/// The wgmma group of one stage on slot `sl` (`base`: the shared-memory address of the slots;
/// `wg`: this thread's warpgroup, whose 64 A rows it reads): `wgmma.fence`, one wgmma per 32
/// bytes of K, commit. Returns the accumulator struct.
pub(super) fn mma_stage(
    kb: &mut KernelBuilder,
    p: &WgmmaPlan,
    base: Val,
    wg: Val,
    sl: Val,
    acc: Val,
) -> Val {
    // the tile wgmma reads (a ring slot: 8-bit; a widened slot: 4-bit) has rows of `row_bytes`
    // bytes; this warpgroup's A rows start 64 rows in per warpgroup
    let row_bytes = p.wbk();
    let sbo = (row_bytes / 16) * 128;
    let (at, bt) = (wgmma_type(p.a_type), wgmma_type(p.b_type));
    let wg64 = kb.index_cast(wg, Scalar::I64);
    let a_rows = kb.i64c(64 * row_bytes);
    let a_wg = kb.mul(wg64, a_rows);
    let sl64 = kb.index_cast(sl, Scalar::I64);
    let sb = kb.i64c(p.slot_bytes());
    let off = kb.mul(sl64, sb);
    let t0 = kb.add(base, off);
    let a = kb.add(t0, a_wg);
    let boff = kb.i64c(p.bm() * row_bytes);
    let b = kb.add(t0, boff);
    let (da, db) = (descriptor(kb, a, sbo), descriptor(kb, b, sbo));
    let mut acc = acc;
    kb.wgmma_fence();
    for ks in 0..p.ksteps() {
        // 32 bytes of K further: two core matrices, 256 bytes (16 in descriptor units)
        let step = kb.i64c(16 * ks);
        let a = kb.add(da, step);
        let b = kb.add(db, step);
        acc = kb.wgmma(p.bn, at, bt, a, b, acc);
    }
    kb.wgmma_commit();
    acc
}

/// The i32 accumulators of a finished GEMM, shifted back where signed 4-bit sides were widened
/// into the high nibble.
pub(super) fn acc_values(kb: &mut KernelBuilder, p: &WgmmaPlan, acc: Val, shift: i64) -> Vec<Val> {
    let accs = kb.acc_values(acc, (p.bn / 2) as usize);
    if shift > 0 {
        let sh = kb.i32c(shift);
        accs.iter().map(|a| kb.shrs(*a, sh)).collect()
    } else {
        accs
    }
}

/// The epilogue of the tile at (`m0`, `n0`) (`out_smem`: the staged output tile's memory;
/// `threads`: the consumer threads, thread ids from 0): warp `wq` of warpgroup `wg` holds rows
/// 64 wg + 16 wq + g (+ 8).
#[allow(clippy::too_many_arguments)]
pub(super) fn epilogue(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    cb: &ConvBufs,
    p: &WgmmaPlan,
    out_smem: Val,
    (m0, n0): (Val, Val),
    (warp, lane): (Val, Val),
    accs: &[Val],
    shortcut: Option<&[Val]>,
    threads: i64,
    stream: Option<StreamStage>,
) -> Result<(), String> {
    let (k4, k64) = (kb.idx(4), kb.idx(64));
    let wg = kb.divu(warp, k4);
    let wq = kb.remu(warp, k4);
    let g = kb.divu(lane, k4);
    let t = kb.remu(lane, k4);
    let mrows = Axis::tiled(p.m, p.bm());
    let wrow = kb.mul(wg, k64);
    let wrow = kb.madd(wq, 16, wrow);
    let mut rows = vec![];
    for rh in 0..2 {
        let off = kb.idx(rh * 8);
        let r0 = kb.add(m0, wrow);
        let r = kb.add(r0, off);
        let m = kb.add(r, g);
        rows.push(gemm_row(kb, s, m, &mrows));
    }
    let izero = kb.idx(0);
    let all = kb.cmp(Cmp::Eq, izero, izero);
    let tile = WarpTile {
        mt: 1,
        nt: p.bn / 8,
        mm: 16,
        rows: &rows,
        nbase: n0,
        t,
        ok: all,
        exact_o: Axis::tiled(s.output.dims[1], p.bn).exact,
        stage: None,
        stream,
    };
    let block = OutTile {
        smem: out_smem,
        m0,
        n0,
        bm: p.bm(),
        bn: p.bn,
        m: p.m,
    };
    store_block_tile(
        kb,
        s,
        cb,
        &block,
        p.staged_out(s),
        tile,
        accs,
        shortcut,
        threads,
    )
}

/// Build the wgmma kernel body (`args` in the tcconv op's operand order, then the shared
/// memory). Returns the number of threads (blocks x [`WgmmaPlan::block`]).
///
/// With [`WgmmaPlan::block_tiles`] above 1, block `b` of a grid of `G` computes tiles `b`,
/// `b + G`, ... in an `scf.for`: before a tile's epilogue it loads the first stages of its next
/// tile's first GEMM ([`preload`]), so their round trip to memory runs under the epilogue; a
/// barrier after the epilogue frees the slots and the stream tile for the next tile.
pub fn conv(
    kb: &mut KernelBuilder,
    args: &[Val],
    s: &ConvSpec,
    p: &WgmmaPlan,
) -> Result<i64, String> {
    let ca = ConvArgs::of(args, s);
    let smem = kb.dynamic_smem(p.smem_words());
    let threads = p.block();
    let cb = ca.bufs(kb, s);
    let tid = kb.thread_id();
    let bid = kb.block_id();
    let (k4, k32) = (kb.idx(4), kb.idx(32));
    let lane = kb.remu(tid, k32);
    let warp = kb.divu(tid, k32);
    let wg = kb.divu(warp, k4);
    // the stream tile (after the slots), the residual's copied in while the GEMMs run
    let stream_smem = p
        .stream
        .map(|_| kb.dynamic_smem_at(p.stream_tile_byte(), p.stream_words()));
    let shortcut = match (s.shortcut_gemm(), &p.shortcut, &cb.shortcut) {
        (Some(spec), Some(k), Some(bufs)) => Some(Shortcut { spec, k, bufs }),
        (None, None, None) => None,
        _ => return Err("the wgmma plan and the conv disagree on the shortcut".into()),
    };
    let base = kb.smem_address(smem);
    // a tiled weight: one mbarrier a slot, set up by one thread before anything is copied
    let zero = kb.idx(0);
    let first = kb.cmp(Cmp::Eq, tid, zero);
    let bars = p.bulk_b.then(|| {
        let off = kb.i64c(p.bulk_barrier_byte());
        let bars = kb.add(base, off);
        kb.if_then(first, |kb| {
            for sl in 0..p.stages {
                let a = kb.i64c(sl * MBARRIER_BYTES);
                let a = kb.add(bars, a);
                let bar = kb.smem_ptr(a);
                kb.mbarrier_init(bar, 1);
            }
            kb.fence_mbarrier_init();
        });
        kb.barrier();
        bars
    });
    let k = Block {
        s,
        p,
        cb: &cb,
        shortcut,
        smem,
        base,
        bars: bars.map(|b| (b, first)),
        stream_smem,
        tid,
        threads,
        warp,
        lane,
        wg,
    };
    if p.block_tiles == 1 {
        let (m0, n0) = origin(kb, p, bid);
        k.tile(kb, (m0, n0), None, |_| None)?;
        return Ok(p.blocks() * threads);
    }
    if let Some(e) = p.block_tiles_error(p.block_tiles) {
        return Err(e);
    }
    // tiles b, b + G, ... below the tile count: (tiles - b + G - 1) / G of them
    let grid = kb.idx(p.blocks());
    let tiles = kb.idx(p.tiles());
    let left = kb.sub(tiles, bid);
    let gm1 = kb.idx(p.blocks() - 1);
    let left = kb.add(left, gm1);
    let mine = kb.divu(left, grid);
    let first = origin(kb, p, bid);
    let sets = k.preload_first(kb, first);
    let width = sets[0].len();
    let (zero, one) = (kb.idx(0), kb.idx(1));
    let mut err = None;
    kb.for_range(zero, mine, one, &sets.concat(), |kb, j, carried| {
        let jg = kb.mul(j, grid);
        let t = kb.add(bid, jg);
        let at = origin(kb, p, t);
        let pre = carried.chunks(width).map(<[Val]>::to_vec).collect();
        let next = |kb: &mut KernelBuilder| {
            // the next tile's first stages (none after the last: its own values, unread)
            let j1 = kb.add(j, one);
            let more = kb.cmp(Cmp::Ult, j1, mine);
            let out = kb.if_then_else(more, carried, |kb| {
                let tn = kb.add(t, grid);
                let at = origin(kb, p, tn);
                k.preload_first(kb, at).concat()
            });
            Some(out)
        };
        match k.tile(kb, at, Some(pre), next) {
            Ok(next) => {
                // every thread past the epilogue before the next tile's stores to shared memory
                kb.barrier();
                next.expect("the next tile's stages")
            }
            Err(e) => {
                err = Some(e);
                carried.to_vec()
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(p.blocks() * threads),
    }
}

/// The shortcut GEMM a conv's kernel runs first on the same tile: its spec, K and buffers.
struct Shortcut<'a> {
    spec: ConvSpec<'a>,
    k: &'a ShortcutK,
    bufs: &'a ShortcutBufs,
}

/// What a block's threads share over the tiles they compute.
struct Block<'a> {
    s: &'a ConvSpec<'a>,
    p: &'a WgmmaPlan,
    cb: &'a ConvBufs<'a>,
    shortcut: Option<Shortcut<'a>>,
    /// The slots (and the staged output tile), and their shared-memory byte address.
    smem: Val,
    base: Val,
    stream_smem: Option<Val>,
    /// A tiled weight's slot mbarriers (byte address) and whether this thread issues the bulk
    /// copies.
    bars: Option<(Val, Val)>,
    tid: Val,
    threads: i64,
    warp: Val,
    lane: Val,
    wg: Val,
}

impl Block<'_> {
    fn load_at(&self, (m0, n0): (Val, Val)) -> TileLoad {
        TileLoad {
            tid: self.tid,
            threads: self.threads,
            m0,
            n0,
        }
    }

    /// The conv's GEMM of the tile at `at`.
    fn conv_ops(&self, kb: &mut KernelBuilder, at: (Val, Val)) -> Operands<'_> {
        let (p, cb) = (self.p, self.cb);
        let sizes = (p.rb, p.iters(), (p.scaled_a, p.scaled_b));
        let words = (words_of(&cb.x), words_of(&cb.w));
        let mut ops = operands(kb, self.s, p, &self.load_at(at), words, sizes);
        if let (Some((bars, issuer)), Some(_)) = (self.bars, self.s.weight.tiles) {
            // the N tile's first stage tile
            let kbn = kb.idx(p.bn);
            let nt = kb.divu(at.1, kbn);
            let nt = kb.index_cast(nt, Scalar::I64);
            let per_tile = kb.i64c(p.iters() * p.bn * p.wbk());
            let off = kb.mul(nt, per_tile);
            let w = kb.smem_address(cb.w.mem);
            ops.bulk_b = Some(BulkB {
                tile: kb.add(w, off),
                smem: self.base,
                bars,
                issuer,
            });
        }
        ops
    }

    /// The shortcut's GEMM (if any) of the tile at `at`, and the shift of its accumulators.
    fn shortcut_ops(&self, kb: &mut KernelBuilder, at: (Val, Val)) -> Option<(Operands<'_>, i64)> {
        let sc = self.shortcut.as_ref()?;
        let sizes = (
            sc.k.rb,
            self.p.shortcut_iters(),
            (sc.k.scaled_a, sc.k.scaled_b),
        );
        let words = (words_of(&sc.bufs.x), words_of(&sc.bufs.w));
        let ops = operands(kb, &sc.spec, self.p, &self.load_at(at), words, sizes);
        Some((ops, sc.k.shift()))
    }

    /// The first stages of the first GEMM (the shortcut's, if any) of the tile at `at`.
    fn preload_first(&self, kb: &mut KernelBuilder, at: (Val, Val)) -> Vec<Vec<Val>> {
        match self.shortcut_ops(kb, at) {
            Some((ops, _)) => preload(kb, &ops, NEXT_TILE_STAGES),
            None => {
                let ops = self.conv_ops(kb, at);
                preload(kb, &ops, NEXT_TILE_STAGES)
            }
        }
    }

    /// One GEMM from zero accumulators to the finished wgmma groups (`preloaded`: its first
    /// stages, 4-bit).
    fn run(&self, kb: &mut KernelBuilder, ops: &Operands, preloaded: Option<Vec<Vec<Val>>>) -> Val {
        let (p, smem, base, wg) = (self.p, self.smem, self.base, self.wg);
        let kslots = kb.idx(p.stages);
        let stage = |kb: &mut KernelBuilder, sl: Val, acc: Val| mma_stage(kb, p, base, wg, sl, acc);
        let iters = ops.iters;
        let acc = kb.acc_zeros((p.bn / 2) as usize);
        let acc = if p.widen {
            widened_mainloop(kb, p, smem, ops, &stage, acc, preloaded)
        } else {
            // ------------------------------------------------------------ 8-bit: cp.async ring
            // Stage `it` lands in slot it % S; the copies of stage it + S - 2 go into the slot of
            // it - 2, whose wgmma is complete (each stage waits for all but its own wgmma group,
            // and the barrier puts every warpgroup past that wait).
            let load_stage =
                |kb: &mut KernelBuilder, it: Val, sl: Val| copy_stage(kb, p, smem, ops, it, sl);
            let ahead = p.stages - 2;
            for st in 0..ahead {
                if st < iters {
                    let c = kb.idx(st);
                    load_stage(kb, c, c);
                }
                kb.async_commit();
            }
            let acc = kb.for_n(iters, MAINLOOP_UNROLL, &[acc], |kb, it, acc| {
                // groups committed so far: `ahead` + it; stage it's is the (it + 1)-th
                kb.async_wait(ahead - 1);
                kb.fence_proxy_async();
                kb.barrier();
                prefetch(kb, it, ahead, iters, kslots, &load_stage);
                let sl = kb.remu(it, kslots);
                let acc = stage(kb, sl, acc[0]);
                kb.wgmma_wait(1);
                vec![acc]
            });
            kb.async_wait(0);
            acc[0]
        };
        kb.wgmma_wait(0);
        acc
    }

    /// The tile at `(m0, n0)`: its GEMMs (`preloaded`: the first stages of the first one) and
    /// its epilogue, before which `next` may issue the next tile's loads (returned).
    fn tile(
        &self,
        kb: &mut KernelBuilder,
        (m0, n0): (Val, Val),
        preloaded: Option<Vec<Vec<Val>>>,
        next: impl FnOnce(&mut KernelBuilder) -> Option<Vec<Val>>,
    ) -> Result<Option<Vec<Val>>, String> {
        let (s, p, cb, smem, threads) = (self.s, self.p, self.cb, self.smem, self.threads);
        let stream = p
            .stream
            .zip(self.stream_smem)
            .map(|(st, tile)| StreamStage::new(st, (tile, 0), (m0, n0), p.stream_row_words()));
        let block = OutTile {
            smem,
            m0,
            n0,
            bm: p.bm(),
            bn: p.bn,
            m: p.m,
        };
        if let (Some(st), Some((buf, act))) = (stream.filter(|st| st.read), &cb.residual) {
            load_stream_tile(kb, s, (buf, *act), &block, &st, threads);
        }
        let ops = self.conv_ops(kb, (m0, n0));
        let sc = self.shortcut_ops(kb, (m0, n0));
        // the shortcut GEMM first (its accumulators are the epilogue's residual), then the
        // conv's on the same slots once every warpgroup is past the shortcut's last one; 4-bit:
        // the conv's first stages are loaded before the shortcut's GEMM, so both GEMMs' loads
        // are in flight together
        let (shortcut_accs, preloaded) = match sc {
            Some((sops, shift)) => {
                let conv_first = p.widen.then(|| preload(kb, &ops, AHEAD));
                let acc = self.run(kb, &sops, preloaded);
                kb.barrier();
                (Some(acc_values(kb, p, acc, shift)), conv_first)
            }
            None => (None, preloaded),
        };
        let acc = self.run(kb, &ops, preloaded);
        let accs = acc_values(kb, p, acc, p.shift());
        let next = next(kb);
        if stream.is_some_and(|st| st.read) {
            // this thread's copies of the residual's tile done (`store_block_tile`'s barrier
            // makes every thread's visible)
            kb.async_wait(0);
        }
        epilogue(
            kb,
            s,
            cb,
            p,
            smem,
            (m0, n0),
            (self.warp, self.lane),
            &accs,
            shortcut_accs.as_deref(),
            threads,
            stream,
        )?;
        Ok(next)
    }
}
