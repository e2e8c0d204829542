//! Kernel selection: the strategy (direct / im2col), MMA shape, tile and kernel family of each
//! `tcconv.conv2d`, decided once, here, from the op's buffers, its tiling and the target. `convert-qnn-to-tcconv` records
//! the choice on the op (`family = "simple" | "mma" | "staged" | "wgmma" | "wgmma_ws"`, [`Family`]); tcconv-verify checks
//! that the recorded family takes the op; `convert-tcconv-to-gpu` builds exactly that kernel from
//! the plan [`realize`] gives back. Every number here is pure arithmetic over tcconv data (no
//! MLIR), so the e-graph cost model (`choose_strategy`, `mma_for`), both conversions and the
//! tests share one model.
//!
//! Families:
//! - `wgmma` ([`WgmmaPlan`]): the Hopper warpgroup MMA conv (sm_90a only): both operands in
//!   shared memory behind matrix descriptors, 4-bit operands widened once per tile;
//! - `wgmma_ws` ([`wgmma_ws_plan`], a [`WgmmaPlan`] with `persistent` set): the same GEMM
//!   warp-specialized (producer and consumer warpgroups on an mbarrier ring) and persistent
//!   (one block an SM walks the tiles); only on request (`kernel=wgmma_ws`);
//! - `staged` ([`StagedPlan`]): the tensor-core conv with a cp.async multi-stage pipeline and
//!   ldmatrix (sm_80+, 16-byte pixel rows, the block tile of [`Tiling`], sliced K on small grids);
//! - `mma` ([`MmaPlan`]): the register-only tensor-core conv (sm_75, the 3-channel stem, shapes
//!   the staged kernel does not take), with a K split across the warps of a block;
//! - `simple`: the CUDA-core fallback for every other shape (and the reference on the GPU).

use crate::buffer::{ActBuffer, Storage};
use crate::program::{Conv, Dense, InputQuantize, PackedWeight, Packing, Strategy, Tiling};
use crate::target::{MmaShape, Target, BLOCK_RESERVED_SMEM, REGS_PER_SM};
use nibble_qnn::graph::{Epilogue, EpilogueKind};
use nibble_qnn::semantics::{ElemType, Layout};
use serde::{Deserialize, Serialize};

/// The kernel family of a conv (`family` on `tcconv.conv2d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    #[default]
    Simple,
    Mma,
    Staged,
    Wgmma,
    WgmmaWs,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Simple => "simple",
            Family::Mma => "mma",
            Family::Staged => "staged",
            Family::Wgmma => "wgmma",
            Family::WgmmaWs => "wgmma_ws",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "simple" => Some(Family::Simple),
            "mma" => Some(Family::Mma),
            "staged" => Some(Family::Staged),
            "wgmma" => Some(Family::Wgmma),
            "wgmma_ws" => Some(Family::WgmmaWs),
            _ => None,
        }
    }
}

/// What `convert-qnn-to-tcconv{kernel=...}` lets the selection choose from: the best family that
/// takes the conv (`auto`), the wgmma kernel wherever it takes the conv on sm_90a, also on
/// grids too small for it to pay off (`wgmma`, for conformance runs and A/B), the
/// register-only or simple kernel at most (`mma`, for A/B runs), or the simple kernel
/// (`simple`); `wgmma_ws`: the warp-specialized persistent wgmma kernel wherever it takes the
/// conv, else as `auto`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    #[default]
    Auto,
    Wgmma,
    WgmmaWs,
    Mma,
    Simple,
}

impl Choice {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Choice::Auto),
            "wgmma" => Some(Choice::Wgmma),
            "wgmma_ws" => Some(Choice::WgmmaWs),
            "mma" => Some(Choice::Mma),
            "simple" => Some(Choice::Simple),
            _ => None,
        }
    }
}

/// A chosen kernel and its plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kernel {
    Simple,
    Mma(MmaPlan),
    Staged(StagedPlan),
    Wgmma(WgmmaPlan),
}

impl Kernel {
    pub fn family(&self) -> Family {
        match self {
            Kernel::Simple => Family::Simple,
            Kernel::Mma(_) => Family::Mma,
            Kernel::Staged(_) => Family::Staged,
            Kernel::Wgmma(p) if p.persistent.is_some() => Family::WgmmaWs,
            Kernel::Wgmma(_) => Family::Wgmma,
        }
    }
    /// Blocks an SM the kernel is built for (`.minnctapersm`): `asked` (the op's
    /// `blocks_per_sm`, checked by [`blocks_per_sm_error`]), else the most that the kernel's
    /// [`Kernel::registers`] a thread, shared memory and threads allow, and no more than its
    /// grid gives an SM; one for the kernels without a register count (ptxas then gives a
    /// thread what it asks for).
    pub fn blocks_per_sm(&self, asked: Option<i64>, s: &ConvSpec, target: Target) -> i64 {
        match asked {
            Some(n) => n,
            None => match (self.registers(s, target), self.block_resources()) {
                (Some(regs), Some((threads, smem))) => {
                    let grid = match self {
                        Kernel::Staged(p) => p.blocks(),
                        Kernel::Wgmma(p) => p.blocks(),
                        _ => 1,
                    };
                    rule_blocks(target, threads, smem, regs, grid)
                }
                _ => 1,
            },
        }
    }
    /// Registers a thread that ptxas assembles the kernel within without a spill, for the kinds
    /// of kernel whose count is known: the most `bench/occupancy.py` found any of them to need
    /// in ResNet-18 / ResNet-50, W4A4 and W8A8, batch 1-256 on sm_90a (ptxas 13); on sm_90
    /// and sm_90a only (built for sm_80 and sm_86, some spill at them). The lit test
    /// `Pipeline/occupancy-spills.mlir` checks that such kernels assemble without a spill.
    /// None: ptxas decides (one block asked).
    ///
    /// The staged kernel on 64 x 64 tiles (4 warps, 32 accumulators a thread; the stem's 128 x
    /// 64 tiles too, 8 warps):
    /// - no residual: 96 for a 1x1 conv and a direct (HWNC) KxK conv of 4-bit operands, 80 for
    ///   an im2col conv whose tap rows are one 16-byte chunk (the space-to-depth stem) but for a
    ///   narrow16 output (ResNet-18's stem map: 128), 128 for the other KxK convs (ptxas spills
    ///   some 8-bit direct 3x3 convs at 96 but not at 80 or 128);
    /// - a residual in a 16-bit stream tile (4-bit operands, direct): 128; other residuals
    ///   and second outputs: 168;
    /// - a shortcut GEMM over 4-bit operands whose residual sum is bounded
    ///   (`Tiling::bounded_sum`): 168, three blocks of 128 threads (ptxas takes 191 for
    ///   ResNet-50's first units with the sum's two branches; they spill none at 168 at batch
    ///   8, 16 and 256).
    ///
    /// Measured on an H100 (ResNet-50 W4A4 batch 256, per launch, against one block asked):
    /// the stream convs of stage 3 (3 -> 4 blocks) 15% faster, the 3x3 convs of stage 4 (4 ->
    /// 5) 10%, the stem (3 -> 6) 2% (7% on an H200). Other shortcut GEMMs (146-184 registers),
    /// sliced K, a cluster, a fused pool or input quantize: ptxas decides. The wgmma kernel:
    /// [`WgmmaPlan::registers`].
    pub fn registers(&self, s: &ConvSpec, target: Target) -> Option<i64> {
        match self {
            Kernel::Wgmma(p) => p.registers(s.adds_residual(), s.input.layout == Layout::HWNC),
            // measured on Hopper's ptxas targets only: sm_80 spills some at these counts
            Kernel::Staged(_) if !target.hopper() => None,
            Kernel::Staged(p) => {
                let direct = s.input.layout == Layout::HWNC;
                let one_tap = s.kernel == [1, 1];
                // the space-to-depth stem: im2col, tap rows of one 16-byte chunk
                let stem = !direct && !one_tap && p.rb <= 16 && s.residual.is_none();
                let plain = (p.bm == 64 || (p.bm == 128 && stem))
                    && p.bn == 64
                    && p.ksplit == 1
                    && p.cluster == 1
                    && s.pooled.is_none()
                    && s.quantize.is_none()
                    && s.dequantize.is_none()
                    && !s.chained;
                if !plain {
                    return None;
                }
                if let Some(sc) = s.shortcut {
                    // (without the bounded sum, or over 8-bit operands: ptxas decides)
                    return (sc.bounded_sum && p.widen).then_some(168);
                }
                Some(match (s.residual.is_some() || s.second.is_some(), direct) {
                    (false, _) if one_tap => 96,
                    (false, true) if p.widen => 96,
                    // (a narrow16 output's packing and escape tests need more: ptxas spills
                    // ResNet-18's stem at 80)
                    (false, false) if p.rb <= 16 && !s.output.narrow => 80,
                    (false, _) => 128,
                    (true, true) if p.widen && p.stream.is_some_and(|t| t.read) => 128,
                    (true, _) => 168,
                })
            }
            _ => None,
        }
    }
    /// Threads and shared-memory bytes (static and dynamic) of a block of the staged and the
    /// (not persistent) wgmma kernels: the kernels whose occupancy an op may set.
    fn block_resources(&self) -> Option<(i64, i64)> {
        match self {
            Kernel::Staged(p) if p.cluster == 1 => Some((p.block(), 4 * p.smem_words())),
            Kernel::Wgmma(p) if p.persistent.is_none() => Some((p.block(), 4 * p.smem_words())),
            _ => None,
        }
    }
    /// Registers a thread needs at least: the wgmma kernel's accumulators (a shortcut GEMM's
    /// too) and [`WGMMA_REGS_BESIDE_ACCUMULATORS`] (ptxas rejects a wgmma kernel below its
    /// need); [`MIN_REGS_A_THREAD`] for the staged kernel (it spills below its need).
    fn min_registers(&self) -> i64 {
        match self {
            Kernel::Wgmma(p) => {
                (p.accumulators() + WGMMA_REGS_BESIDE_ACCUMULATORS).max(MIN_REGS_A_THREAD)
            }
            _ => MIN_REGS_A_THREAD,
        }
    }
    /// The most blocks an SM can hold of this kernel: its shared memory, its threads and
    /// [`Self::min_registers`] a thread (None for a family whose occupancy is its own).
    pub fn most_blocks_per_sm(&self, target: Target) -> Option<i64> {
        let (threads, smem) = self.block_resources()?;
        Some(blocks_within(target, threads, smem, self.min_registers()))
    }
}

/// The most blocks an SM holds of a kernel of `threads` threads and `smem` bytes of shared
/// memory a block when a thread takes `regs` registers.
fn blocks_within(target: Target, threads: i64, smem: i64, regs: i64) -> i64 {
    let by_smem = target.smem_per_sm() / (smem + BLOCK_RESERVED_SMEM);
    let by_threads = target.threads_per_sm() / threads;
    // ptxas gives a warp registers in 256s: a thread's count in 8s
    let by_regs = REGS_PER_SM / (threads * ((regs + 7) / 8 * 8));
    by_smem.min(by_threads).min(by_regs).min(MAX_BLOCKS_PER_SM)
}

/// The family rule's blocks an SM ([`Kernel::blocks_per_sm`]): the most that `regs` registers a
/// thread, the shared memory and the threads allow, and no more than a grid of `grid` blocks
/// gives the busiest SM (a register count a kind is known to need was measured on grids that
/// fill the GPU; the code of a small grid's kernel, its K loop unrolled, may need more).
fn rule_blocks(target: Target, threads: i64, smem: i64, regs: i64, grid: i64) -> i64 {
    capped_by_grid(target, blocks_within(target, threads, smem, regs), grid)
}

/// `blocks` an SM, but no more than a grid of `grid` blocks gives the busiest SM, and one.
fn capped_by_grid(target: Target, blocks: i64, grid: i64) -> i64 {
    let grid_per_sm = (grid + target.sm_count() - 1) / target.sm_count();
    blocks.min(grid_per_sm).max(1)
}

/// The most blocks an SM an op may ask its kernel to be built for (`blocks_per_sm`).
pub const MAX_BLOCKS_PER_SM: i64 = 16;
/// The fewest registers a thread a kernel is built for when an op sets its occupancy.
const MIN_REGS_A_THREAD: i64 = 64;
/// Registers a wgmma thread needs beside its accumulators (addresses, descriptors, loader
/// words): ptxas assembles ResNet-50's wgmma convs within this many more, and rejects some
/// below it (sm_90a, `.minnctapersm` raised until it fails).
const WGMMA_REGS_BESIDE_ACCUMULATORS: i64 = 48;

/// Why a conv's kernel cannot be built for `n` blocks an SM ([`Kernel::blocks_per_sm`]).
pub fn blocks_per_sm_error(k: &Kernel, n: i64, target: Target) -> Option<String> {
    match k.most_blocks_per_sm(target) {
        None => Some(format!(
            "blocks_per_sm = {n}: kernel '{}' sets its own occupancy; only 'staged' (without a K cluster) and 'wgmma' take it",
            k.family().name()
        )),
        Some(most) if n > most => Some(format!(
            "blocks_per_sm = {n}: an SM of {target} holds at most {most} blocks of this kernel (its shared memory, threads and registers)"
        )),
        _ => None,
    }
}

/// The kernel for a conv: on sm_90a the warpgroup MMA kernel where it applies and measurably
/// pays ([`wgmma_pays`]), then the staged kernel, else the register-only MMA kernel,
/// else the simple one (each as far as `choice` allows).
/// `wgmma_tile` forces the wgmma kernel's tile (`[BM, BN, K bytes a stage]`, as
/// `convert-qnn-to-tcconv{tile=...}` gives it); None: its tile model ([`wgmma_tile`]).
pub fn choose(
    s: &ConvSpec,
    tiling: &Tiling,
    target: Target,
    choice: Choice,
    wgmma_tile: Option<[i64; 3]>,
) -> Kernel {
    let sm = target.sm_count();
    // grouped / depthwise: a few channels per output, CUDA cores (the tensor-core families
    // reduce over every input channel)
    if s.groups != 1 {
        return Kernel::Simple;
    }
    // the shared-memory families (wgmma, staged) as far as `choice` allows them
    let smem_families = matches!(choice, Choice::Auto | Choice::Wgmma | Choice::WgmmaWs);
    if smem_families && target.wgmma() {
        let tile = wgmma_tile.or_else(|| wgmma_tile_model(s, sm));
        if choice == Choice::WgmmaWs {
            if let Some(p) = tile.and_then(|t| wgmma_ws_plan(s, t, sm)) {
                return Kernel::Wgmma(p);
            }
        }
        if let Some(p) = tile.and_then(|t| wgmma_plan(s, t)) {
            // whether it pays is decided on the grid of tiles of up to 128 channels: of the
            // forced tile, or of the model's two-warpgroup tile (before its one-warpgroup
            // choice for residual convs, which does not change where the kernel pays)
            let pays_on = |b: &WgmmaPlan| {
                let narrow = [b.bm(), b.bn.min(WGMMA_MAX_BN), b.wbk()];
                wgmma_plan(s, narrow).is_some_and(|q| wgmma_pays(&q, sm))
            };
            let pays = || match wgmma_tile {
                Some(_) => pays_on(&p),
                None => {
                    two_warpgroup_tile(s, sm)
                        .and_then(|t| wgmma_plan(s, t))
                        .is_some_and(|b| pays_on(&b))
                        || one_warpgroup_pays(&p, s, sm)
                }
            };
            if choice == Choice::Wgmma || pays() {
                return Kernel::Wgmma(p);
            }
        }
    }
    if smem_families {
        if let Some(p) = staged_plan(s, tiling, target) {
            return Kernel::Staged(p);
        }
    }
    if choice != Choice::Simple {
        if let Some(p) = mma_plan(s, tiling, sm) {
            return Kernel::Mma(p);
        }
    }
    Kernel::Simple
}

/// The plan of the family a conv records; an error when that family does not take the conv.
pub fn realize(
    family: Family,
    s: &ConvSpec,
    tiling: &Tiling,
    target: Target,
) -> Result<Kernel, String> {
    let sm = target.sm_count();
    if s.groups != 1 && family != Family::Simple {
        return Err(format!(
            "kernel '{}' does not take grouped convs ({} groups); only 'simple' does",
            family.name(),
            s.groups
        ));
    }
    if let Some(why) = k_cluster_error(family, target, tiling.k_cluster) {
        return Err(format!("k_cluster = {}: {why}", tiling.k_cluster));
    }
    if let Some(why) = widened_weight_error(family, s, tiling.widen) {
        return Err(why);
    }
    if tiling.bounded_sum && s.shortcut.is_none() {
        return Err("bounded_sum: the conv has no shortcut GEMM whose sum it bounds".into());
    }
    if tiling.bounded_sum && !matches!(family, Family::Staged | Family::Wgmma) {
        return Err(format!(
            "bounded_sum: kernel '{}' adds no bounded residual sum (staged and wgmma do)",
            family.name()
        ));
    }
    if tiling.tiles_per_block != 1 && family != Family::Wgmma {
        return Err(format!(
            "tiles_per_block = {}: kernel '{}' computes one tile a block; only 'wgmma' takes more",
            tiling.tiles_per_block,
            family.name()
        ));
    }
    let k = match family {
        Family::Simple => Some(Kernel::Simple),
        Family::Mma => mma_plan(s, tiling, sm).map(Kernel::Mma),
        Family::Staged => staged_plan(s, tiling, target).map(Kernel::Staged),
        // the op records its wgmma tile as its block tile
        Family::Wgmma => target
            .wgmma()
            .then(|| wgmma_plan(s, tiling.block_tile))
            .flatten()
            .map(|p| p.with_block_tiles(tiling.tiles_per_block))
            .transpose()?
            .map(Kernel::Wgmma),
        Family::WgmmaWs => target
            .wgmma()
            .then(|| wgmma_ws_plan(s, tiling.block_tile, sm))
            .flatten()
            .map(Kernel::Wgmma),
    };
    let k = k.ok_or_else(|| {
        format!(
            "kernel '{}' does not take this conv on {target} (its shapes, layouts or tiling)",
            family.name()
        )
    })?;
    if let (Kernel::Wgmma(p), Some(t)) = (&k, s.weight.tiles) {
        if t != [p.bn, p.wbk()] || p.block_tiles != 1 {
            return Err(format!(
                "the tiled weight '{}' holds tiles {t:?}; the kernel reads [{}, {}]{}",
                s.weight.name,
                p.bn,
                p.wbk(),
                if p.block_tiles != 1 {
                    " one tile a block"
                } else {
                    ""
                }
            ));
        }
    }
    if family == Family::Simple && s.shortcut.is_some() {
        return Err(
            "the simple kernel does not run a shortcut; only 'staged' and 'wgmma' do".into(),
        );
    }
    if family == Family::Simple && !simple_writes_second(s) {
        return Err("the simple kernel cannot write this second output (its output groups differ from the first output's)".into());
    }
    if let Some(why) = tiling
        .blocks_per_sm
        .and_then(|n| blocks_per_sm_error(&k, n, target))
    {
        return Err(why);
    }
    Ok(k)
}

/// [`choose`] for a conv of a program.
pub fn choose_for(
    c: &Conv,
    bufs: &[ActBuffer],
    weights: &[PackedWeight],
    target: Target,
    choice: Choice,
) -> Kernel {
    choose(
        &ConvSpec::conv(c, bufs, weights),
        &c.tiling,
        target,
        choice,
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// Strategy, MMA shape and tile (the analytic tile model)
// ---------------------------------------------------------------------------------------------

/// The largest block tile side a forced `tile` may ask for (as tcconv IR's `block_tile` is read
/// back); shared memory bounds the tiles a kernel takes far below it.
pub const MAX_TILE: i64 = 4096;

pub fn parse_tile(s: &str) -> Result<[i64; 3], String> {
    let v: Vec<i64> = s
        .split('x')
        .map(|p| p.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("tile '{s}' is not BMxBNxBK"))?;
    match v.as_slice() {
        [m, n, k]
            if (1..=MAX_TILE).contains(m)
                && (1..=MAX_TILE).contains(n)
                && (1..=MAX_TILE).contains(k)
                && m % 16 == 0
                && n % 8 == 0
                && k % 32 == 0 =>
        {
            Ok([*m, *n, *k])
        }
        _ => Err(format!(
            "tile '{s}' must be BMxBNxBK with BM % 16 == 0, BN % 8 == 0, BK % 32 == 0, each at most {MAX_TILE}"
        )),
    }
}

/// The MMA and operand types for a conv with activation type `a` and weight type `b`.
pub fn mma_for(target: Target, a: ElemType, b: ElemType) -> (MmaShape, ElemType, ElemType, bool) {
    let four = a.bits() == 4 && b.bits() == 4;
    if four && target.native_int4() {
        (target.mma_int4(), a, b, false)
    } else if four {
        // sm_90: INT4 stays the storage format, widened to 8 bit in registers (u4 -> u8, s4 -> s8).
        (target.mma_int8(), widened(a), widened(b), true)
    } else {
        // Mixed 4/8-bit operands are widened to 8 bit on every target.
        (
            target.mma_int8(),
            widened(a),
            widened(b),
            a.bits() == 4 || b.bits() == 4,
        )
    }
}

/// The 8-bit MMA operand type a 4- or 8-bit storage type is widened to (u4 -> u8, s4 -> s8).
pub fn widened(e: ElemType) -> ElemType {
    if e.is_signed() {
        ElemType::I8
    } else {
        ElemType::U8
    }
}

/// Strategy decision for one conv (see the module comment).
pub fn choose_strategy(
    target: Target,
    batch: i64,
    cin: i64,
    cout: i64,
    a: ElemType,
    b: ElemType,
) -> Strategy {
    let (mma, ..) = mma_for(target, a, b);
    let cpad = (cin + mma.k - 1) / mma.k * mma.k;
    let fits_batch = batch % mma.m == 0;
    let fits_out = cout % mma.n == 0;
    // Buffers pad channels to 8 (4-bit) / 4 (8-bit) only, so a direct kernel stepping K by
    // mma.k needs the channels to be an exact multiple: no channel padding for direct yet.
    let exact_k = cpad == cin;
    if fits_batch && fits_out && exact_k {
        Strategy::Direct
    } else {
        Strategy::Im2col
    }
}

/// The analytic tile model: the block tile with the most operand reuse (MACs per byte staged
/// into shared memory, `bm*bn / (bm+bn)`) whose grid still gives every SM a block; when none
/// does, the smallest (32 x 32: the most blocks). Ties go to the wider N tile (B rows are
/// weights, re-read by every M tile). Tiles wider than the GEMM (rounded up to 32) are skipped:
/// their MMAs would be padding. Stages: the target's cp.async depth, fewer when K is short or
/// when static shared memory (48 KiB) holds fewer. 128 x 128 is not offered: one block of 16
/// warps a SM hides latency worse than several small ones (H200, RFC layers at batch 8:
/// 1.4-2.1x slower than the chosen tile). Measured (H200, batch 8, all ten RFC layers, 7 forced tiles each):
/// the chosen tile is within 8% of the fastest. 128 x 64 and 64 x 128 are not offered either:
/// at 160-250 registers a thread their 8-warp blocks leave one block (8 warps) an SM, and
/// ResNet-50 at batch 64 ran 3% (W4A4) and 10% (W8A8) slower with them than with 64 x 64
/// (H200). `gemm` = (M, N, K) of one launch.
pub fn choose_tiling(
    target: Target,
    gemm: [i64; 3],
    a: ElemType,
    b: ElemType,
    over: Option<[i64; 3]>,
) -> Tiling {
    let (mma, at, bt, widen) = mma_for(target, a, b);
    let store_bits = a.bits().max(b.bits()) as i64;
    let [m, n, k] = gemm;
    let bk = if store_bits == 4 { 128 } else { 64 };
    let up32 = |x: i64| (x + 31) / 32 * 32;
    let stages_for = |[bm, bn, bk]: [i64; 3]| {
        let k_steps = (k + bk - 1) / bk;
        let stage_bytes = (bm + bn) * bk * store_bits / 8;
        target
            .max_stages()
            .min(k_steps.max(1))
            .min(target.static_smem() / stage_bytes)
            .max(1)
    };
    let tile = match over {
        Some(t) => t,
        None => {
            // by reuse, then wider N
            let cands = [[64, 64], [32, 64], [64, 32], [32, 32]];
            cands
                .iter()
                .filter(|[bm, bn]| *bm <= up32(m).max(32) && *bn <= up32(n).max(32))
                .find(|[bm, bn]| {
                    let blocks = ((m + bm - 1) / bm) * ((n + bn - 1) / bn);
                    blocks >= target.sm_count()
                })
                .map(|[bm, bn]| [*bm, *bn, bk])
                .unwrap_or([32, 32, bk])
        }
    };
    let [bm, bn, bk] = tile;
    Tiling {
        mma,
        a_type: at,
        b_type: bt,
        widen,
        block_tile: [bm, bn, bk],
        warp_tile: [bm.min(32), bn.min(32), bk],
        stages: stages_for(tile),
        k_cluster: 1,
        tiles_per_block: 1,
        blocks_per_sm: None,
        bounded_sum: false,
    }
}

// ---------------------------------------------------------------------------------------------
// The operands of a conv kernel
// ---------------------------------------------------------------------------------------------

/// Everything the simple conv kernel needs (dense is a 1x1 conv on a 1x1 image).
pub struct ConvSpec<'a> {
    pub input: &'a ActBuffer,
    pub weight: &'a PackedWeight,
    pub bias: Option<&'a PackedWeight>,
    pub residual: Option<&'a ActBuffer>,
    pub output: &'a ActBuffer,
    /// The second output (`Epilogue::second`: the requantize of the output), conv only.
    pub second: Option<&'a ActBuffer>,
    pub kernel: [i64; 2],
    pub strides: [i64; 2],
    pub padding: [i64; 4],
    pub epilogue: &'a Epilogue,
    /// Dense only: the fused dequantize's scales (f32 output).
    pub dequantize: Option<&'a [f32]>,
    /// Channel groups (1: a plain conv); only the simple family runs grouped convs.
    pub groups: i64,
    /// The shortcut GEMM whose result is the residual (`Conv::shortcut`), conv only; the
    /// shared-memory families (staged, wgmma) run it.
    pub shortcut: Option<ShortcutSpec<'a>>,
    /// A fused input quantize (`Conv::quantize`): `input` is then the quantized buffer the
    /// kernel reads as if stored, `source` the f32 tensor it is computed from.
    pub quantize: Option<QuantizeSpec<'a>>,
    /// A max pool in the conv's kernel (`Conv::pool`): `output` is then the conv's map (never
    /// stored) and `pooled.0` the buffer the kernel writes.
    pub pooled: Option<(&'a ActBuffer, &'a crate::program::ConvPool)>,
    /// The conv is one of a chain (`Conv::chain`): the chain's kernel uses the thread-block
    /// cluster, so the conv's own plan takes none.
    pub chained: bool,
}

/// A conv's fused input quantize: the f32 tensor and the quantize's parameters.
#[derive(Clone, Copy)]
pub struct QuantizeSpec<'a> {
    pub source: &'a ActBuffer,
    pub q: &'a InputQuantize,
}

/// A conv's shortcut operands ([`crate::program::Shortcut`]).
#[derive(Clone, Copy)]
pub struct ShortcutSpec<'a> {
    pub input: &'a ActBuffer,
    pub weight: &'a PackedWeight,
    pub bias: Option<&'a PackedWeight>,
    pub strides: [i64; 2],
    /// The residual sum in 32 bits where a bound holds (`Tiling::bounded_sum`).
    pub bounded_sum: bool,
}

/// The epilogue of a GEMM whose accumulators feed another's epilogue (a shortcut's).
static NO_EPILOGUE: Epilogue = Epilogue::none();

impl<'a> ConvSpec<'a> {
    /// Does the epilogue read a residual (a stream's, or its shortcut GEMM's) or write a second
    /// output?
    pub fn adds_residual(&self) -> bool {
        self.reads_residual() || self.second.is_some()
    }
    /// Does the epilogue read a residual: a stream's, or its shortcut GEMM's?
    pub fn reads_residual(&self) -> bool {
        self.residual.is_some() || self.shortcut.is_some()
    }
    pub fn conv(c: &'a Conv, bufs: &'a [ActBuffer], weights: &'a [PackedWeight]) -> Self {
        ConvSpec {
            input: c.quantize.as_ref().map_or(&bufs[c.input], |q| &q.quantized),
            weight: &weights[c.weight],
            bias: c.bias.map(|b| &weights[b]),
            residual: c.residual.map(|r| &bufs[r]),
            output: c.pool.as_ref().map_or(&bufs[c.output], |pl| &pl.map),
            second: c.second.map(|b| &bufs[b]),
            kernel: c.kernel,
            strides: c.strides,
            padding: c.padding,
            epilogue: &c.epilogue,
            dequantize: None,
            groups: c.groups,
            shortcut: c.shortcut.as_ref().map(|sc| ShortcutSpec {
                input: &bufs[sc.input],
                weight: &weights[sc.weight],
                bias: sc.bias.map(|b| &weights[b]),
                strides: sc.strides,
                bounded_sum: c.tiling.bounded_sum,
            }),
            quantize: c.quantize.as_ref().map(|q| QuantizeSpec {
                source: &bufs[c.input],
                q,
            }),
            pooled: c.pool.as_ref().map(|pl| (&bufs[c.output], pl)),
            chained: c.chain.is_some(),
        }
    }

    /// The shortcut's GEMM as a spec of its own: a 1x1 conv of the shortcut input onto this
    /// conv's output pixels, without an epilogue (its loaders and K are what the kernels take
    /// from it).
    pub fn shortcut_gemm(&self) -> Option<ConvSpec<'a>> {
        let sc = self.shortcut?;
        Some(ConvSpec {
            input: sc.input,
            weight: sc.weight,
            bias: sc.bias,
            residual: None,
            output: self.output,
            second: None,
            kernel: [1, 1],
            strides: sc.strides,
            padding: [0; 4],
            epilogue: &NO_EPILOGUE,
            dequantize: None,
            groups: 1,
            shortcut: None,
            quantize: None,
            pooled: None,
            chained: false,
        })
    }
    pub fn dense(d: &'a Dense, bufs: &'a [ActBuffer], weights: &'a [PackedWeight]) -> Self {
        ConvSpec {
            input: &bufs[d.input],
            weight: &weights[d.weight],
            bias: d.bias.map(|b| &weights[b]),
            residual: None,
            output: &bufs[d.output],
            second: None,
            kernel: [1, 1],
            strides: [1, 1],
            padding: [0; 4],
            epilogue: &d.epilogue,
            dequantize: d.dequantize.as_deref(),
            groups: 1,
            shortcut: None,
            quantize: None,
            pooled: None,
            chained: false,
        }
    }

    /// Shape checks (what the kernel relies on).
    pub fn check(&self) -> Result<(), String> {
        let [n, c, h, w] = self.input.dims;
        let [o, i, kh, kw] = self.weight.dims;
        let [on, oc, oh, ow] = self.output.dims;
        let dense = self.weight.packing == Packing::DenseOk;
        if !matches!(
            self.weight.packing,
            Packing::ConvOhwi | Packing::ConvHwoi | Packing::DenseOk
        ) {
            return Err("the weight operand must be packed ohwi, hwoi or ok".into());
        }
        let g = self.groups;
        if g < 1 || c % g != 0 || o % g != 0 {
            return Err(format!("groups {g} must divide the channels {c} and {o}"));
        }
        if i * g != c || on != n || oc != o || [kh, kw] != self.kernel {
            return Err(format!(
                "input {:?}, weight {:?} (kernel {:?}, {g} groups) and output {:?} do not agree",
                self.input.dims, self.weight.dims, self.kernel, self.output.dims
            ));
        }
        if dense && (h != 1 || w != 1 || oh != 1 || ow != 1) {
            return Err("dense takes N x K inputs".into());
        }
        let ext = |x: i64, k: i64, s: i64, p0: i64, p1: i64| {
            if s < 1 || p0 < 0 || p1 < 0 || x + p0 + p1 < k {
                None
            } else {
                Some((x + p0 + p1 - k) / s + 1)
            }
        };
        let [sh, sw] = self.strides;
        let p = self.padding;
        if ext(h, kh, sh, p[0], p[2]) != Some(oh) || ext(w, kw, sw, p[1], p[3]) != Some(ow) {
            return Err(format!(
                "output {oh}x{ow} does not match input {h}x{w}, kernel {kh}x{kw}, strides {:?}, padding {:?}",
                self.strides, self.padding
            ));
        }
        if !self.input.elem.is_int() || !self.weight.elem.is_int() {
            return Err("conv / dense operands must be integers".into());
        }
        match self.dequantize {
            None if !self.output.elem.is_int() => {
                return Err("conv / dense outputs must be integers (f32 needs a dequantize)".into())
            }
            Some(_) if self.output.elem != ElemType::F32 => {
                return Err("a dense with a fused dequantize writes f32".into())
            }
            _ => {}
        }
        if let Some(r) = self.residual {
            if r.dims != self.output.dims || r.elem == ElemType::F32 {
                return Err(format!(
                    "residual {:?} does not match the output {:?}",
                    r.dims, self.output.dims
                ));
            }
        }
        let residuals = self.residual.is_some() as usize + self.shortcut.is_some() as usize;
        if matches!(self.epilogue.kind, EpilogueKind::Residual { .. }) != (residuals == 1)
            || residuals > 1
        {
            return Err(
                "a residual epilogue needs exactly one residual operand or shortcut".into(),
            );
        }
        if let Some(sc) = self.shortcut_gemm() {
            sc.check().map_err(|e| format!("the shortcut: {e}"))?;
            if sc.weight.packing != self.weight.packing || self.groups != 1 {
                return Err(
                    "a shortcut's weight is packed as the conv's, and the conv has one group"
                        .into(),
                );
            }
        }
        match (self.second, &self.epilogue.second) {
            (None, None) => {}
            (Some(z), Some(_))
                if z.dims == self.output.dims
                    && z.layout == self.output.layout
                    && z.elem.is_int()
                    && z.elem != ElemType::F32 => {}
            _ => {
                return Err(
                    "a second output needs second_* attributes and an integer buffer of the output's dims and layout"
                        .into(),
                )
            }
        }
        Ok(())
    }

    /// Chunk width U of the reduction loop (see the module comment).
    pub fn unit(&self) -> i64 {
        let sx = self.input.storage();
        let sw = crate::buffer::storage_of(self.weight.elem);
        match (sx, sw) {
            (Storage::Packed4, Storage::Packed4) => 8,
            (Storage::Word32, _) | (_, Storage::Word32) => 1,
            _ => 4,
        }
    }
}

/// Whether the simple kernel can write the conv's second output (if any): its output groups are the
/// first output's (same group width and count), so each thread writes whole words of both.
pub fn simple_writes_second(s: &ConvSpec) -> bool {
    s.second
        .is_none_or(|z| out_plan(z, 8) == out_plan(s.output, 8))
}

/// Channels per stored row of a packed weight (biases: 1).
pub fn weight_cs(pw: &PackedWeight) -> i64 {
    crate::pack::stored_channels(pw) as i64
}

/// Layouts with channels innermost (every layout but NCHW).
pub fn channel_inner(l: Layout) -> bool {
    l != Layout::NCHW
}

/// How a kernel's threads cover its output buffer: thread `t` writes the `g` consecutive slots
/// `[base(t), base(t) + g)`.
/// - channel-innermost layouts: `g = gcd(Cs, gmax)` consecutive channels of one (n, h, w)
///   (`g = 8` for 4-bit storage: one whole 32-bit word per thread, never a partial word);
///   `threads = N*H*W * Cs/g`, consecutive threads write consecutive groups (coalesced).
/// - NCHW: `g = 8` slots (one word) for 4-bit storage, else 1; `threads = slots / g`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutPlan {
    pub g: i64,
    pub threads: i64,
    pub inner: bool,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

pub fn out_plan(b: &ActBuffer, gmax: i64) -> OutPlan {
    let [n, _, h, w] = b.dims;
    let cs = b.stored_channels();
    let packed = b.storage() == Storage::Packed4;
    if channel_inner(b.layout) {
        let g = if packed { 8 } else { gcd(cs, gmax).max(1) };
        OutPlan {
            g,
            threads: n * h * w * (cs / g),
            inner: true,
        }
    } else {
        let g = if packed { 8 } else { 1 };
        OutPlan {
            g,
            threads: n * cs * h * w / g,
            inner: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The staged kernel
// ---------------------------------------------------------------------------------------------

/// Static shared memory a kernel may declare (bytes; `Target::static_smem`).
const STATIC_SMEM: i64 = 48 * 1024;

/// How one conv maps onto the staged kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedPlan {
    pub shape: [i64; 3],
    pub a_type: ElemType,
    pub b_type: ElemType,
    /// 4-bit storage, 8-bit MMA (sm_90).
    pub widen: bool,
    /// Signed 4-bit operands widened into the high nibble (x16 each): accumulators >> shift.
    pub scaled_a: bool,
    pub scaled_b: bool,
    /// The weight is stored widened ([`PackedWeight::widened`]): a stage's B rows hold twice
    /// the A rows' bytes, copied as they are and read without widening.
    pub wide_b: bool,
    pub bm: i64,
    pub bn: i64,
    /// K bytes per warp and stage (stored input bytes), bytes of one tap's input row, K bytes
    /// in all, stages in flight.
    pub bkb: i64,
    pub rb: i64,
    pub kbytes: i64,
    pub stages: i64,
    /// Sliced K: `ksplit` warps share each 32x32 sub-tile, warp `w` taking bytes
    /// `[w % ksplit * BKB, ..+ BKB)` of every stage (a stage row is `ksplit * BKB` bytes); their
    /// accumulators are added through shared memory after the loop (1, 2 or 4).
    pub ksplit: i64,
    /// K split across the blocks of a thread-block cluster (sm_90+; 1, 2, 4 or 8): block rank
    /// `r` of a tile's cluster runs K iterations `[r * per, (r + 1) * per)` (`per =
    /// rank_iters()`, iterations past K are zero-filled), and rank 0 adds the others'
    /// accumulators from their shared memory (distributed shared memory) and runs the epilogue.
    pub cluster: i64,
    /// GEMM M and the block grid.
    pub m: i64,
    pub tiles_m: i64,
    pub tiles_n: i64,
    /// The shortcut GEMM, run first on the same tile, stages and K slices (no cluster).
    pub shortcut: Option<ShortcutK>,
    /// The block's tile of a 16-bit residual stream in shared memory, after the pipeline's
    /// (no cluster, not chained; see [`StreamTile`]).
    pub stream: Option<StreamTile>,
}

/// The K side of a shortcut GEMM in a shared-memory family's plan: the block tile, stage width
/// and MMA operand types are the conv's; K is the shortcut input's stored pixel (a 1x1 conv).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortcutK {
    /// Bytes of one stored pixel of the shortcut input (= its K bytes).
    pub rb: i64,
    pub scaled_a: bool,
    pub scaled_b: bool,
}

impl ShortcutK {
    /// Accumulators >> shift (signed 4-bit operands widened into the high nibble).
    pub fn shift(&self) -> i64 {
        4 * (self.scaled_a as i64 + self.scaled_b as i64)
    }
}

/// The shortcut GEMM of `s` on a shared-memory family whose stages take the conv's operand
/// widths: `Ok(None)` without a shortcut, `Err(())` where the shortcut's operands are not the
/// conv's widths and signs (one MMA type for both GEMMs) or not whole 16-byte chunks.
fn shortcut_k(s: &ConvSpec, widen: bool) -> Result<Option<ShortcutK>, ()> {
    let Some(sc) = s.shortcut_gemm() else {
        return Ok(None);
    };
    let rb = chunked_row_bytes(&sc).ok_or(())?;
    let same = |a: ElemType, b: ElemType| a.bits() == b.bits() && a.is_signed() == b.is_signed();
    if !same(sc.input.elem, s.input.elem) || !same(sc.weight.elem, s.weight.elem) {
        return Err(());
    }
    let (scaled_a, scaled_b) = scaling(widen, sc.input.elem, sc.weight.elem, sc.input.dims[1]);
    Ok(Some(ShortcutK {
        rb,
        scaled_a,
        scaled_b,
    }))
}

impl StagedPlan {
    pub fn warps_per_block(&self) -> i64 {
        (self.bm / 32) * (self.bn / 32) * self.ksplit
    }
    /// Bytes of one row in one stage.
    pub fn sbk(&self) -> i64 {
        self.ksplit * self.bkb
    }
    pub fn block(&self) -> i64 {
        32 * self.warps_per_block()
    }
    /// Blocks of the grid: `cluster` per output tile.
    pub fn blocks(&self) -> i64 {
        self.tiles_m * self.tiles_n * self.cluster
    }
    pub fn iters(&self) -> i64 {
        (self.kbytes + self.sbk() - 1) / self.sbk()
    }
    /// K iterations of the shortcut GEMM (0 without one).
    pub fn shortcut_iters(&self) -> i64 {
        self.shortcut
            .as_ref()
            .map_or(0, |k| (k.rb + self.sbk() - 1) / self.sbk())
    }
    /// K iterations of one block of a cluster.
    pub fn rank_iters(&self) -> i64 {
        (self.iters() + self.cluster - 1) / self.cluster
    }
    /// Bytes of one B row in one stage: `sbk`, twice that for a widened weight.
    pub fn b_sbk(&self) -> i64 {
        self.sbk() << self.wide_b as i64
    }
    pub fn stage_words(&self) -> i64 {
        (self.bm * self.sbk() + self.bn * self.b_sbk()) / 4
    }
    /// Words of the sliced-K reduction: 32 accumulators x 32 lanes per non-first K warp; with a
    /// cluster, the block's whole accumulator tile (BM x BN) that rank 0 reads.
    pub fn reduce_words(&self) -> i64 {
        let slices = (self.bm / 32) * (self.bn / 32) * (self.ksplit - 1) * 32 * 32;
        if self.cluster > 1 {
            slices.max(self.bm * self.bn)
        } else {
            slices
        }
    }
    /// Words of the pipeline (and of what reuses it after the main loop).
    pub fn pipeline_words(&self) -> i64 {
        (self.stages * self.stage_words()).max(self.reduce_words())
    }
    /// Shared memory words: the pipeline, then the stream tile.
    pub fn smem_words(&self) -> i64 {
        self.pipeline_words() + self.stream_words()
    }
    /// The stream tile's words a row, and in all (0 without one).
    pub fn stream_row_words(&self) -> i64 {
        StreamTile::row_words(self.bn)
    }
    pub fn stream_words(&self) -> i64 {
        self.stream
            .map_or(0, |_| StreamTile::words(self.bm, self.bn))
    }
    /// Which output is staged through shared memory and written 16 bytes a thread
    /// (`Some(true)`: the second output, `Some(false)`: the first): a packed 4-bit one with a
    /// channel-innermost layout and O a multiple of 32, or an 8-bit one with O a multiple of 16
    /// whose BM x BN byte tile fits the kernel's shared memory (a block-tile row is whole
    /// 16-byte vectors, 16-byte aligned in global memory), the second output first.
    pub fn staged_out(&self, s: &ConvSpec) -> Option<bool> {
        staged_out(
            s,
            self.bn % 16 == 0 && self.bm * self.bn <= 4 * self.pipeline_words(),
        )
    }
    pub fn shift(&self) -> i64 {
        4 * (self.scaled_a as i64 + self.scaled_b as i64)
    }
}

/// Which output a shared-memory tiled kernel stages through shared memory and writes 16 bytes
/// a thread (see [`StagedPlan::staged_out`]): packed 4-bit, or 8-bit where `bytes` (its byte
/// tile fits).
fn staged_out(s: &ConvSpec, bytes: bool) -> Option<bool> {
    {
        let fits = |b: &ActBuffer| {
            let whole = match b.storage() {
                Storage::Packed4 => b.dims[1] % 32 == 0,
                Storage::Byte => bytes && b.dims[1] % 16 == 0,
                _ => false,
            };
            whole && channel_inner(b.layout) && b.stored_channels() == b.dims[1]
        };
        if s.second.is_some_and(fits) {
            Some(true)
        } else {
            fits(s.output).then_some(false)
        }
    }
}

/// The conditions of the shared-memory families (staged, wgmma), which move both operands as
/// 16-byte chunks of stored rows: a valid conv with OHWI / HWOI weights, input and weight of the
/// same width, channel-innermost input whose stored pixel is whole 16-byte chunks (channels not
/// padded), O % 8 == 0, packed outputs channel-innermost. Returns the bytes of one stored pixel
/// (RB), or None.
fn chunked_row_bytes(s: &ConvSpec) -> Option<i64> {
    if s.check().is_err() || !matches!(s.weight.packing, Packing::ConvOhwi | Packing::ConvHwoi) {
        return None;
    }
    let c = s.input.dims[1];
    let bits = s.input.elem.bits() as i64;
    let rb = c * bits / 8;
    let ok = s.weight.elem.bits() as i64 == bits
        && s.input.stored_channels() == c
        && weight_cs(s.weight) == c
        && rb % 16 == 0
        && s.output.dims[1] % 8 == 0
        && channel_inner(s.input.layout)
        && (s.output.storage() != Storage::Packed4 || channel_inner(s.output.layout));
    ok.then_some(rb)
}

/// Why kernel `family` cannot read the weights of `s` where one is stored widened (None: none
/// is, or it can): the `wgmma` kernel over 4-bit inputs copies widened weight tiles, the
/// `staged` kernel that widens 4-bit operands (`widen`: an 8-bit MMA) copies untiled widened
/// rows, and a shortcut GEMM's weight stays 4-bit.
fn widened_weight_error(family: Family, s: &ConvSpec, widen: bool) -> Option<String> {
    if s.shortcut.as_ref().is_some_and(|sc| sc.weight.widened) {
        return Some(format!(
            "the shortcut's weight '{}' is widened: a shortcut GEMM reads 4-bit weights",
            s.shortcut.as_ref().unwrap().weight.name
        ));
    }
    let w = s.weight;
    if !w.widened {
        return None;
    }
    match family {
        Family::Wgmma => {}
        Family::Staged if w.tiles.is_some() => {
            return Some(format!(
                "kernel 'staged' reads untiled widened weights, not the tiled weight '{}' (the wgmma kernel's)",
                w.name
            ))
        }
        Family::Staged if !widen => {
            return Some(format!(
                "kernel 'staged' reads the widened weight '{}' only where it widens 4-bit operands to an 8-bit MMA (widen = true)",
                w.name
            ))
        }
        Family::Staged => {}
        _ => {
            return Some(format!(
                "kernel '{}' does not read the widened weight '{}'; only 'staged' and 'wgmma' do",
                family.name(),
                w.name
            ))
        }
    }
    (s.input.elem.bits() != 4).then(|| {
        format!(
            "the widened weight '{}' goes with 4-bit inputs, not {}",
            w.name, s.input.elem
        )
    })
}

/// Why kernel `family` on `target` cannot split K across a cluster of `k` blocks (None: it
/// can, or `k` is 1).
fn k_cluster_error(family: Family, target: Target, k: i64) -> Option<String> {
    if k == 1 {
        None
    } else if family != Family::Staged {
        Some(format!(
            "kernel '{}' splits no K across a cluster",
            family.name()
        ))
    } else if !target.hopper() {
        Some(format!("{target} has no thread-block clusters"))
    } else if !matches!(k, 2 | 4 | 8) {
        Some("a cluster of 2, 4 or 8 blocks splits K".to_string())
    } else {
        None
    }
}

/// The blocks of a thread-block cluster that split K of the staged plan `p` of a conv
/// (`convert-qnn-to-tcconv{split-k=cluster}`; 1: none): on sm_90+, for K loops of at least 8
/// iterations, doubled while the grid still has at most one block an SM and every block keeps
/// at least 3 iterations (the reduction through distributed shared memory and its two cluster
/// barriers cost about a microsecond). Not the default: a cluster launch is no programmatic
/// launch, nor is the launch after it, and at batch 1 on an H100 the ResNets run 1.8-6.4%
/// faster without (RESULTS.md); before programmatic launches it made ResNet-50 W8A8 at batch 1
/// 7% faster on an H200 (HISTORY.md).
pub fn k_cluster(p: &StagedPlan, s: &ConvSpec, target: Target) -> i64 {
    let (iters, tiles) = (p.iters(), p.tiles_m * p.tiles_n);
    let mut cluster = 1;
    while p.shortcut.is_none()
        && !s.chained
        && target.hopper()
        && iters >= 8
        && cluster < 8
        && tiles * cluster * 2 <= target.sm_count()
        && (iters + 2 * cluster - 1) / (2 * cluster) >= 3
    {
        cluster *= 2;
    }
    cluster
}

/// Whether the staged kernel takes this conv (None: `mma.rs` or the simple kernel). Needs
/// cp.async (m16 MMA shapes: sm_80+), channel-innermost 4- or 8-bit operands of the MMA's
/// width or widened, whole 16-byte chunks per pixel (C * bits / 8 % 16 == 0, channels not
/// padded), OHWI / HWOI weights, O % 8 == 0, a tiling of 32-multiples whose stages fit in
/// static shared memory and whose loads split evenly over the threads (32 * CPR a multiple of
/// BM and BN).
pub fn staged_plan(s: &ConvSpec, tiling: &Tiling, target: Target) -> Option<StagedPlan> {
    let sm_count = target.sm_count();
    let rb = chunked_row_bytes(s)?;
    let [n, c, _, _] = s.input.dims;
    let [_, o, oh, ow] = s.output.dims;
    let shape = [tiling.mma.m, tiling.mma.n, tiling.mma.k];
    let bits = s.input.elem.bits() as i64;
    let widen = tiling.widen;
    let ok_shape = matches!(
        (shape, bits, widen),
        ([16, 8, 64], 4, false) | ([16, 8, 32], 8, false) | ([16, 8, 32], 4, true)
    );
    let same_sign = |e: ElemType, mma: ElemType| e.is_signed() == mma.is_signed();
    let [bm, bn, bk] = tiling.block_tile;
    let bkb = bk * bits / 8;
    if !ok_shape
        || !same_sign(s.input.elem, tiling.a_type)
        || !same_sign(s.weight.elem, tiling.b_type)
        || bm % 32 != 0
        || bn % 32 != 0
        || !matches!(bkb, 32 | 64 | 128)
        || (32 * bkb / 16) % bm != 0
        || (32 * bkb / 16) % bn != 0
    {
        return None;
    }
    let [kh, kw] = s.kernel;
    let kbytes = kh * kw * rb;
    let m = n * oh * ow;
    let tiles_m = (m + bm - 1) / bm;
    let tiles_n = (o + bn - 1) / bn;
    let shortcut = shortcut_k(s, widen).ok()?;
    // (a shortcut slices K across a block's warps like the conv, its slices summed before the
    // conv's GEMM, but keeps it whole in each block: its accumulators meet the conv's in the
    // same registers, which a cluster's reduction does not carry)
    let whole_k_in_block = shortcut.is_some();
    // sliced K when the grid has under 2 warps an SM, as deep as one resident wave (16 warps
    // an SM), stage rows <= 256 bytes and >= 4 stages of K allow (H200, batch 8: RFC layer 9
    // 20.3 -> 13.4 us, layer 7 12.9 -> 10.1 us with 4 slices; layer 4, 3 warps an SM, went
    // 9.0 -> 10.3 us with 2: no slicing there)
    let warps = tiles_m * tiles_n * (bm / 32) * (bn / 32);
    let mut ksplit = 1;
    while warps < 2 * sm_count
        && ksplit < 4
        && warps * ksplit * 2 <= 16 * sm_count
        && bkb * ksplit * 2 <= 256
        && kbytes / (bkb * ksplit * 2) >= 4
    {
        ksplit *= 2;
    }
    let sbk = bkb * ksplit;
    let iters = (kbytes + sbk - 1) / sbk;
    // K across the blocks of a cluster, as the op records it (`k_cluster`, [`k_cluster`]):
    // every block keeps at least one K block
    let cluster = tiling.k_cluster;
    if cluster > 1
        && (whole_k_in_block
            || s.chained
            || iters < cluster
            || k_cluster_error(Family::Staged, target, cluster).is_some())
    {
        return None;
    }
    // a widened weight's B rows are twice the stored input's bytes
    let wide_b = s.weight.widened;
    if wide_b && !widen {
        return None;
    }
    let stage_bytes = (bm + bn * (1 + wide_b as i64)) * sbk;
    let sc_iters = shortcut.as_ref().map_or(0, |k| (k.rb + sbk - 1) / sbk);
    let stages = tiling
        .stages
        .min(STATIC_SMEM / stage_bytes)
        .min(((iters + cluster - 1) / cluster).max(sc_iters) + 1)
        .max(2);
    if stages * stage_bytes > STATIC_SMEM {
        return None;
    }
    let (scaled_a, scaled_b) = scaling(widen, s.input.elem, s.weight.elem, kh * kw * c);
    // a widened weight is stored as plain 8-bit values
    let scaled_b = scaled_b && !wide_b;
    let p = StagedPlan {
        shape,
        a_type: tiling.a_type,
        b_type: tiling.b_type,
        widen,
        scaled_a,
        scaled_b,
        wide_b,
        bm,
        bn,
        bkb,
        rb,
        kbytes,
        stages,
        ksplit,
        cluster,
        m,
        tiles_m,
        tiles_n,
        shortcut,
        stream: None,
    };
    if 4 * p.smem_words() > STATIC_SMEM {
        return None;
    }
    // the stream tile where it fits beside the pipeline
    let stream = stream_tile(s).filter(|_| cluster == 1 && !s.chained);
    let with = StagedPlan {
        stream,
        ..p.clone()
    };
    Some(if 4 * with.smem_words() <= STATIC_SMEM {
        with
    } else {
        p
    })
}

/// Most blocks of a chain's thread-block cluster that every sm_90 GPU launches (the portable
/// cluster size); `convert-qnn-to-tcconv{chains=...}` keeps chains within it but for
/// `cluster16`.
pub const CHAIN_CLUSTER_MAX: i64 = 8;

/// Most blocks of a chain's cluster at all: H100 / H200 launch clusters of up to 16 blocks
/// where the kernel allows a non-portable size (the runtime sets that attribute on kernels
/// whose cluster is wider than [`CHAIN_CLUSTER_MAX`]).
pub const CHAIN_CLUSTER_LIMIT: i64 = 16;

/// The kernel of a chain (`Conv::chain`): a conv and one or more 1 x 1 convs, each of the
/// output of the conv before it, one launch over thread-block clusters. Cluster `c` owns M tile
/// `c` of every conv (their GEMM rows are the same pixels in the same order: each later conv is
/// a 1 x 1 conv of stride 1). Phase `i`: block `r` of the cluster runs conv `i`'s N tiles `r, r
/// + cluster, ...`; between phases the cluster meets at a cluster barrier, whose release /
/// acquire makes the rows of the tile that every block wrote a part of visible to all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainPlan {
    /// Each conv's staged plan, with no cluster of its own; equal `bm` and `tiles_m`.
    pub plans: Vec<StagedPlan>,
    /// Blocks of a cluster: the most N tiles of any conv, at most [`CHAIN_CLUSTER_LIMIT`].
    pub cluster: i64,
}

impl ChainPlan {
    /// Threads of a block: the largest conv's (a smaller one runs on the first threads).
    pub fn block(&self) -> i64 {
        self.plans.iter().map(|p| p.block()).max().unwrap_or(32)
    }
    /// Blocks of the grid: a cluster per M tile.
    pub fn blocks(&self) -> i64 {
        self.plans[0].tiles_m * self.cluster
    }
    /// Shared memory words: the largest conv's (the convs run one after the other).
    pub fn smem_words(&self) -> i64 {
        self.plans.iter().map(|p| p.smem_words()).max().unwrap_or(1)
    }
}

/// The chain kernel of `convs` (each conv's spec, tiling and family, in order), or why the
/// chain kernel does not run them: two or more convs, all on the staged family (sm_90+, no
/// cluster of their own, `ConvSpec::chained`), without a fused quantize or pool, in one group;
/// every conv after the first a 1 x 1 conv (stride 1, no padding) whose GEMM rows are the
/// first's (same output pixels, inputs HWNC for all or none); block tiles of one height. That
/// each conv reads the output of the one before, and nothing else a conv of the chain writes,
/// is the program's to check (`verify`): a spec names no buffers.
pub fn chain_plan(
    convs: &[(&ConvSpec, &Tiling, Family)],
    target: Target,
) -> Result<ChainPlan, String> {
    if convs.len() < 2 {
        return Err(format!("a chain is two or more convs, not {}", convs.len()));
    }
    if !target.hopper() {
        return Err(format!(
            "a chain runs on thread-block clusters (sm_90 and newer), not {}",
            target.name()
        ));
    }
    let mut plans: Vec<StagedPlan> = vec![];
    let hwnc = |s: &ConvSpec| s.input.layout == Layout::HWNC;
    let first = convs[0].0;
    for (i, (s, tiling, family)) in convs.iter().enumerate() {
        let which = format!("conv {i} of the chain");
        if s.quantize.is_some() || s.pooled.is_some() || s.groups != 1 {
            return Err(format!(
                "{which} has a fused quantize, a fused pool or groups"
            ));
        }
        if i > 0 && (s.kernel != [1, 1] || s.strides != [1, 1] || s.padding != [0, 0, 0, 0]) {
            return Err(format!(
                "{which} is a {:?} conv of strides {:?}; after the first, a chain's convs are 1x1 convs of stride 1 without padding",
                s.kernel, s.strides
            ));
        }
        if s.output.dims[0] != first.output.dims[0]
            || s.output.dims[2..] != first.output.dims[2..]
            || hwnc(s) != hwnc(first)
        {
            return Err(format!(
                "{which} computes other pixels than the first ({:?} and {:?}) or orders them otherwise",
                s.output.dims, first.output.dims
            ));
        }
        let sp = match realize(*family, s, tiling, target)? {
            Kernel::Staged(sp) if sp.cluster == 1 => sp,
            Kernel::Staged(_) => {
                return Err(format!(
                    "{which} splits its K loop across a cluster (not marked chained)"
                ))
            }
            _ => {
                return Err(format!(
                    "{which} runs on family '{}'; a chain runs the staged family",
                    family.name()
                ))
            }
        };
        if let Some(p0) = plans.first() {
            if sp.bm != p0.bm {
                return Err(format!(
                    "the convs of a chain have block tiles of {} and {} rows; a cluster owns one M tile of each",
                    p0.bm, sp.bm
                ));
            }
        }
        plans.push(sp);
    }
    let cluster = plans
        .iter()
        .map(|p| p.tiles_n)
        .max()
        .unwrap_or(1)
        .clamp(1, CHAIN_CLUSTER_LIMIT);
    Ok(ChainPlan { plans, cluster })
}

/// [`chain_plan`] of the convs `convs` of a program (its buffers and weights).
pub fn chain_plan_of(
    convs: &[&Conv],
    bufs: &[ActBuffer],
    weights: &[PackedWeight],
    target: Target,
) -> Result<ChainPlan, String> {
    let specs: Vec<ConvSpec> = convs
        .iter()
        .map(|c| ConvSpec::conv(c, bufs, weights))
        .collect();
    let with: Vec<_> = specs
        .iter()
        .zip(convs)
        .map(|(s, c)| (s, &c.tiling, c.family))
        .collect();
    chain_plan(&with, target)
}

/// Which widened operands go into the high nibble (x16): the signed 4-bit ones, when the scaled
/// accumulator of a `kel`-element dot product cannot leave i32 (`kel * max|a| * max|b| * 16^k <
/// 2^31`); otherwise none (exact sign extension).
fn scaling(widen: bool, a: ElemType, b: ElemType, kel: i64) -> (bool, bool) {
    let (sa, sb) = (widen && a.is_signed(), widen && b.is_signed());
    let maxv = |e: ElemType| if e.is_signed() { 8 } else { 15 };
    let scale = 1i64 << (4 * (sa as i64 + sb as i64));
    let bound = kel.saturating_mul(maxv(a) * maxv(b)).saturating_mul(scale);
    if bound < 1i64 << 31 {
        (sa, sb)
    } else {
        (false, false)
    }
}

// ---------------------------------------------------------------------------------------------
// The warpgroup MMA kernel (sm_90a)
// ---------------------------------------------------------------------------------------------

/// Threads of one warpgroup (4 warps): the unit that issues `wgmma.mma_async`.
pub const WARPGROUP: i64 = 128;

/// Widest N tile the wgmma tile model chooses: 64 accumulator registers a thread (m64n128k32
/// s32), so two blocks fit an SM. A forced tile may take wgmma's widest, 256 (128 registers,
/// one block an SM).
const WGMMA_MAX_BN: i64 = 128;
const WGMMA_MAX_N: i64 = 256;

/// Shared memory of a Hopper SM (the wgmma kernels' target).
const SM_SMEM: i64 = Target::Sm90a.smem_per_sm();

/// Dynamic shared memory one wgmma block may take: two blocks fit an SM (113 KiB).
pub const WGMMA_SMEM: i64 = SM_SMEM / 2 - BLOCK_RESERVED_SMEM;

/// How one conv maps onto the warpgroup MMA kernel: a block of `wgs` warpgroups computes a
/// `64 * wgs` x `bn` output tile, warpgroup `i` rows `[64 i, 64 i + 64)` with one
/// `wgmma.mma_async m64n{bn}k32` per 32 bytes of K; a pipeline stage holds `sbk` stored bytes
/// of K of every A row (output pixel) and B row (output channel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgmmaPlan {
    /// wgmma operand types (`u8` / `i8`: 4-bit storage is widened).
    pub a_type: ElemType,
    pub b_type: ElemType,
    /// 4-bit storage, widened to 8 bits once per stage into the tile wgmma reads.
    pub widen: bool,
    /// Signed 4-bit operands widened into the high nibble (x16 each): accumulators >> shift.
    pub scaled_a: bool,
    pub scaled_b: bool,
    /// Warpgroups a block (1 or 2): BM = 64 * wgs.
    pub wgs: i64,
    pub bn: i64,
    /// Stored K bytes a row and stage, stored bytes of one tap's row, K bytes in all, and the
    /// slots of the tiles wgmma reads (8-bit: cp.async ring stages; 4-bit: 3 widened tiles).
    pub sbk: i64,
    pub rb: i64,
    pub kbytes: i64,
    pub stages: i64,
    /// GEMM M and the block grid.
    pub m: i64,
    pub tiles_m: i64,
    pub tiles_n: i64,
    /// The shortcut GEMM, run first on the same tile and slots.
    pub shortcut: Option<ShortcutK>,
    /// Warp-specialized and persistent ([`wgmma_ws_plan`]); None: one block a tile, every
    /// thread loading.
    pub persistent: Option<Persistent>,
    /// The block's tile of a 16-bit residual stream in shared memory (not persistent).
    pub stream: Option<StreamTile>,
    /// Output tiles a block computes one after another (not persistent; 4-bit operands):
    /// block b takes tiles b, b + G, b + 2G, ... of the grid of G blocks, and loads the first
    /// stages of its next tile before the epilogue of the one before (`Tiling::tiles_per_block`).
    pub block_tiles: i64,
    /// The weight is tiled ([`PackedWeight::tiles`]): each stage's weight tile arrives by one
    /// bulk copy that completes on the slot's mbarrier (after the stream tile).
    pub bulk_b: bool,
}

/// A narrow16 stream tile `[BM][BN]` i16 in shared memory, after the slots: the residual's
/// tile is copied in (cp.async, 16 bytes a copy) while the main loop runs, so the epilogue
/// reads it from shared memory and no load of it waits in the epilogue; the output's tile is
/// written there by the epilogue and leaves 16 bytes a thread, row after row (a lane's pair
/// of 16-bit values is 4 bytes, half a 32-byte sector, per store instruction otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamTile {
    pub read: bool,
    pub write: bool,
}

impl StreamTile {
    /// Words a row of a tile of `bn` channels: two bytes a channel and 16 more, so that the 8
    /// rows a warp's lanes read at once fall in different banks.
    pub fn row_words(bn: i64) -> i64 {
        (2 * bn + 16) / 4
    }
    /// Words of a `bm` x `bn` tile.
    pub fn words(bm: i64, bn: i64) -> i64 {
        bm * Self::row_words(bn)
    }
}

/// The warp-specialized persistent form of a [`WgmmaPlan`]: `grid` blocks (one an SM) walk the
/// tiles, each with `producers` warpgroups filling a ring of the plan's `stages` slots next to
/// its `wgs` consumer warpgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistent {
    pub grid: i64,
    pub producers: i64,
}

impl WgmmaPlan {
    pub fn bm(&self) -> i64 {
        64 * self.wgs
    }
    /// Threads a block: the consumer warpgroups, and the producers' when persistent.
    pub fn block(&self) -> i64 {
        let producers = self.persistent.map_or(0, |q| q.producers);
        WARPGROUP * (self.wgs + producers)
    }
    /// Output tiles.
    pub fn tiles(&self) -> i64 {
        self.tiles_m * self.tiles_n
    }
    /// The plan with `n` output tiles a block ([`WgmmaPlan::block_tiles`]), or why it cannot
    /// have them: only 4-bit operands (widened in registers, so the next tile's first stages
    /// wait in registers over an epilogue) and at most [`MAX_BLOCK_TILES`].
    pub fn with_block_tiles(mut self, n: i64) -> Result<Self, String> {
        if let Some(e) = self.block_tiles_error(n) {
            return Err(e);
        }
        self.block_tiles = n;
        Ok(self)
    }
    /// Why the plan cannot have `n` output tiles a block ([`WgmmaPlan::with_block_tiles`]).
    pub fn block_tiles_error(&self, n: i64) -> Option<String> {
        if n == 1 {
            None
        } else if !(1..=MAX_BLOCK_TILES).contains(&n) {
            Some(format!(
                "tiles_per_block = {n} is not in [1, {MAX_BLOCK_TILES}]"
            ))
        } else if !self.widen || self.persistent.is_some() {
            Some(format!(
                "tiles_per_block = {n}: the wgmma kernel computes more tiles a block only over 4-bit operands"
            ))
        } else {
            None
        }
    }
    /// Blocks launched: one a tile, or the persistent grid.
    pub fn blocks(&self) -> i64 {
        let tiles = self.tiles();
        self.persistent
            .map_or((tiles + self.block_tiles - 1) / self.block_tiles, |q| {
                q.grid
            })
    }
    pub fn iters(&self) -> i64 {
        (self.kbytes + self.sbk - 1) / self.sbk
    }
    /// K iterations of the shortcut GEMM (0 without one).
    pub fn shortcut_iters(&self) -> i64 {
        self.shortcut
            .as_ref()
            .map_or(0, |k| (k.rb + self.sbk - 1) / self.sbk)
    }
    /// K bytes a stage feeds the MMAs (8-bit elements).
    pub fn wbk(&self) -> i64 {
        if self.widen {
            2 * self.sbk
        } else {
            self.sbk
        }
    }
    /// wgmma instructions a warpgroup issues per stage (32 bytes of K each).
    pub fn ksteps(&self) -> i64 {
        self.wbk() / 32
    }
    /// Bytes of one slot of the tiles wgmma reads: A `[BM][K bytes]` then B `[BN][K bytes]` of
    /// a stage, both as 8 x 16-byte core matrices (8-bit: the cp.async ring's slots; 4-bit: the
    /// widened tiles, twice the stored bytes).
    pub fn slot_bytes(&self) -> i64 {
        (self.bm() + self.bn) * self.wbk()
    }
    /// Staged packed outputs: `[BM][BN / 8]` words.
    pub fn out_tile_bytes(&self) -> i64 {
        self.bm() * self.bn / 2
    }
    /// Dynamic shared memory in words: the slots, and the staged output tile (on the slots,
    /// once the main loop is done; after them when persistent, where the producer fills the
    /// slots for the next tile during the epilogue, followed by the ring's mbarriers).
    pub fn smem_words(&self) -> i64 {
        let slots = self.stages * self.slot_bytes();
        match self.persistent {
            None if self.bulk_b => (self.bulk_barrier_byte() + MBARRIER_BYTES * self.stages) / 4,
            None => slots.max(self.out_tile_bytes()) / 4 + self.stream_words(),
            Some(_) => (self.barrier_byte() + 2 * MBARRIER_BYTES * self.stages) / 4,
        }
    }
    /// The stream tile's first byte (after the slots and the staged output tile), and its
    /// words a row and in all (0 without one).
    pub fn stream_tile_byte(&self) -> i64 {
        (self.stages * self.slot_bytes()).max(self.out_tile_bytes())
    }
    pub fn stream_row_words(&self) -> i64 {
        StreamTile::row_words(self.bn)
    }
    pub fn stream_words(&self) -> i64 {
        self.stream
            .map_or(0, |_| StreamTile::words(self.bm(), self.bn))
    }
    /// With a tiled weight: the first byte of the slots' mbarriers (after the stream tile).
    pub fn bulk_barrier_byte(&self) -> i64 {
        self.stream_tile_byte() + 4 * self.stream_words()
    }
    /// Persistent: the byte of the staged output tile (after the slots).
    pub fn out_tile_byte(&self) -> i64 {
        match self.persistent {
            None => 0,
            Some(_) => self.stages * self.slot_bytes(),
        }
    }
    /// Persistent: the byte of the ring's mbarriers, `full[stages]` then `empty[stages]`
    /// ([`MBARRIER_BYTES`] each).
    pub fn barrier_byte(&self) -> i64 {
        self.out_tile_byte() + self.out_tile_bytes()
    }
    /// The staged packed 4-bit output (its tile, [`WgmmaPlan::out_tile_bytes`], holds 4-bit
    /// values).
    pub fn staged_out(&self, s: &ConvSpec) -> Option<bool> {
        staged_out(s, false)
    }
    pub fn shift(&self) -> i64 {
        4 * (self.scaled_a as i64 + self.scaled_b as i64)
    }
    /// Whether K is one tap (a 1x1 conv): each GEMM row one stored pixel.
    pub fn one_tap(&self) -> bool {
        self.kbytes == self.rb
    }
    /// Stored bytes of the widest GEMM row a tile reads: the conv's tap or its shortcut's pixel.
    pub fn widest_row(&self) -> i64 {
        self.rb.max(self.shortcut.as_ref().map_or(0, |k| k.rb))
    }
    /// Accumulators a thread: BN / 2 for one warpgroup, BN / 4 for two; twice that with a
    /// shortcut, whose accumulators live through the conv's main loop.
    pub fn accumulators(&self) -> i64 {
        let sets = if self.shortcut.is_some() { 2 } else { 1 };
        sets * self.bm() * self.bn / self.block()
    }
    /// Blocks an SM the kernel is built for (`.minnctapersm`) by the family's rule
    /// ([`Kernel::blocks_per_sm`]; `residual` and `direct` as for [`WgmmaPlan::registers`]).
    pub fn blocks_per_sm(&self, residual: bool, direct: bool) -> i64 {
        self.resident_blocks(residual, direct)
            .map_or(1, |b| capped_by_grid(Target::Sm90a, b, self.blocks()))
    }
    /// Blocks an SM its registers ([`WgmmaPlan::registers`]), shared memory and threads allow,
    /// whatever the grid (None: persistent).
    pub fn resident_blocks(&self, residual: bool, direct: bool) -> Option<i64> {
        let regs = self.registers(residual, direct)?;
        Some(blocks_within(
            Target::Sm90a,
            self.block(),
            4 * self.smem_words(),
            regs,
        ))
    }
    /// Registers a thread that ptxas assembles the kernel within without a spill (None:
    /// persistent, one block an SM), by its [`WgmmaPlan::accumulators`] (`acc`), the most
    /// `bench/occupancy.py` found any of them to need (ResNet-18 / ResNet-50 W4A4 batch 64 and
    /// 256, sm_90a, ptxas 13):
    /// - one warpgroup: 80 for 32 accumulators, 96 with a residual but for a 1x1 conv over
    ///   HWNC rows (`direct`; ResNet-18's 3x3 residual convs on 64 x 64 tiles spill at 80, and
    ///   ResNet-50's stage-1 residual 1x1 convs over NHWC rows at batch 8, each row's address
    ///   its own, 36-48 bytes), 128 for 64 (a shortcut on 64 channels, or 128 channels);
    /// - two warpgroups, 32 accumulators: 64 for a 1x1 conv without a residual (`residual`:
    ///   the epilogue reads one or writes a second output) on stages of 32 stored bytes, else
    ///   128 (106 for a 3x3 conv without one; ptxas spills ResNet-50's residual 1x1 convs and
    ///   its reducing ones on 128-byte stages, forced onto these tiles, at 64);
    ///   64 accumulators: 128, 176 with a shortcut (171);
    /// - more: every register (one block an SM).
    ///
    /// Measured (ResNet-50 W4A4 batch 256, per launch): one warpgroup on 64 channels with 6 or
    /// 5 blocks (was 3) 3-10% faster on an H100; with its shortcut GEMM 4 blocks (173 -> 128
    /// registers) 20% on an H200; the 1x1 conv of two warpgroups with 4 blocks 2% on an H100.
    pub fn registers(&self, residual: bool, direct: bool) -> Option<i64> {
        if self.persistent.is_some() {
            return None;
        }
        let one_tap = self.one_tap();
        Some(match (self.wgs, self.accumulators()) {
            (1, ..=32) if !residual || (one_tap && direct) => 80,
            (1, ..=32) => 96,
            (1, ..=64) => 128,
            (_, ..=32) if one_tap && !residual && self.sbk <= 32 => 64,
            (_, ..=32) => 128,
            (_, ..=64) if self.shortcut.is_none() => 128,
            (_, ..=64) => 176,
            _ => 255,
        })
    }
}

/// Whether `auto` takes the wgmma kernel: 4-bit operands (widened once per stage in registers)
/// on a grid of at least four 128-row tiles per SM. Measured on an H200 (ResNet-50, CUDA-graph
/// replay, against the staged mma.sync kernel of sm_90): W4A4 batch 256 14.85 vs 15.06 ms with
/// wgmma on every grid of one tile per SM; but W4A4 batch 8 0.702 vs 0.689 and batch 64 3.94
/// vs 3.90 ms (one to two waves of tiles: no K split, SMs idle in the tail), and W8A8 batch 256
/// 17.66 vs 16.29 ms (the 8-bit cp.async ring). Everything else stays on the staged kernel.
///
/// Nor does it pay for a 1x1 GEMM (the conv's, or its shortcut's) that reads 128 or more stored
/// bytes a row (256 or more 4-bit channels): one to four K stages a tile, so each block's load
/// -> widen -> wgmma -> epilogue latency is barely overlapped. Per-kernel times on an H100
/// (ncu, ResNet-50 W4A4 batch 256, `bench/gpu_suite.sh kernels`): the staged kernel 1.20-1.37x
/// faster on the reducing 1x1 convs (256-1024 channels in), 1.24-1.57x on the residual convs
/// with a strided shortcut GEMM, 1.12-1.27x on stage 4's residual convs, within 5% on stage 3's;
/// wgmma stays 1.2-1.7x faster on the 3x3 convs of stages 1-2 and the 1x1 convs of 64-128
/// channels in.
pub fn wgmma_pays(p: &WgmmaPlan, sm_count: i64) -> bool {
    let wide_k = p.widest_row() >= 128;
    p.widen && p.wgs == 2 && p.blocks() >= 4 * sm_count && !(p.one_tap() && wide_k)
}

/// Whether the tile model's one-warpgroup tile pays where the grid of two-warpgroup tiles is
/// too small for [`wgmma_pays`] (batch 1-64, and 7 x 7 maps to batch 256): a one-tap 4-bit conv
/// whose epilogue adds a residual (a stream's or its shortcut GEMM's) over at most 64 input
/// channels, on any grid; another 4-bit conv whose one-warpgroup grid fills every SM once, to
/// within 5%, at the blocks an SM its registers, shared memory and threads allow (one-tap convs
/// with a residual or over 256 or more channels excepted, as in [`wgmma_pays`], and convs adding
/// a residual over more than 64 channels). A grid short of one such wave leaves SMs idle that
/// the staged kernel's smaller blocks keep busy.
/// Measured per launch on an H100 (ResNet-50 W4A4 sm_90a, `nibble-run --profile 10`, staged
/// against `kernel=wgmma` and against forced tiles, `bench/wgmma_sweep.py`):
/// - stage 1's residual convs 0.77-0.85x at batch 8 (1,568 blocks) and 0.90-0.96x at batch 1
///   (196); stage 2's residual convs (128 channels in) 0.89-1.06x at batch 8, so they keep the
///   two-warpgroup rule;
/// - stage 1's 3x3 convs (6 blocks an SM) 0.56-0.63x at batch 16 (784 blocks, 0.99 of a wave)
///   but 1.03-1.07x at batch 8 (392), its first 1x1 conv 0.70x at batch 16;
/// - the 3x3 convs of 128-512 channels on 64 x 128 tiles (3 blocks an SM): stage 2 at batch 64
///   27 -> 22.5 us (784 blocks), stage 3 at batch 64 26 -> 23.6 us (392 blocks, 0.99 of a
///   wave), stage 4 at batch 256 94 -> 85-87 us (784), but stage 4 at batch 64 (196 blocks)
///   1.14x: it stays staged.
fn one_warpgroup_pays(p: &WgmmaPlan, s: &ConvSpec, sm_count: i64) -> bool {
    if !p.widen || p.wgs != 1 || p.persistent.is_some() {
        return false;
    }
    let (one_tap, row_bytes) = (p.one_tap(), p.widest_row());
    let residual = s.reads_residual();
    if one_tap && residual && row_bytes <= 32 {
        return true;
    }
    if one_tap && (residual || row_bytes >= 128) {
        return false;
    }
    // a residual's epilogue over more than 64 channels: ResNet-18's residual 3x3 convs of 128
    // and 256 channels (on 64 x 128 tiles, or 64 x 64 with a shortcut) made batch 64 1.7% slower
    let [_, o, _, _] = s.output.dims;
    if residual && o > 64 {
        return false;
    }
    // a wave at the blocks an SM the kernel is built for (by [`Kernel::blocks_per_sm`]'s registers)
    let Some(per_sm) = p.resident_blocks(s.adds_residual(), s.input.layout == Layout::HWNC) else {
        return false;
    };
    20 * p.blocks() >= 19 * sm_count * per_sm
}

/// The wgmma kernel's tile model, `[BM, BN, K bytes a stage]` (K bytes as wgmma reads them:
/// widened for 4-bit storage): BN = O up to 128 channels (rounded up to a wgmma N); two
/// warpgroups (BM = 128) unless that leaves the grid under one block an SM; 64 stored bytes
/// of K a stage (128 widened), 32 for 4-bit rows of 128 or 256 channels on N = 128 tiles. None
/// where the kernel does not take the conv.
///
/// BN = 256 (one block an SM, 128 accumulators a thread) for 4-bit convs of at least 256
/// output channels whose epilogue reads no residual and writes no second output, where the
/// grid keeps four blocks an SM. Measured on an H200 (ResNet-50 W4A4 batch 256, per launch,
/// every layer on 10 forced tiles, `bench/wgmma_sweep.py`): those 17 layers 1-8% faster than
/// with N = 128, the residual convs 20-30% slower (their epilogue needs the registers).
pub fn wgmma_tile_model(s: &ConvSpec, sm_count: i64) -> Option<[i64; 3]> {
    let two = two_warpgroup_tile(s, sm_count)?;
    // a one-tap 4-bit conv whose epilogue adds a residual (a stream's, or its shortcut GEMM's):
    // 64 x 64 tiles of 64 stored bytes of K a stage. Measured (H100, ResNet-50 W4A4 sm_90a, each
    // layer on 8 forced tiles, `bench/wgmma_sweep.py`): stages 1-2's six such convs 4-14% faster
    // each at batch 256 (2.40 -> 2.21 ms) and 3-15% at batch 64 than on two-warpgroup tiles of
    // N = 128 (64 with a shortcut): their epilogue bounds them, not the tensor cores, and
    // one-warpgroup blocks keep more epilogues in flight an SM
    let [_, o, _, _] = s.output.dims;
    let residual = s.reads_residual();
    let four = s.input.elem.bits() == 4;
    if four && s.kernel == [1, 1] && residual && o >= 64 {
        return Some([64, 64, 128]);
    }
    // one warpgroup for the other 4-bit convs of up to 64 channels (stages of 32 stored bytes)
    // and for the KxK ones of 128 (64 x 128 tiles, 64 stored bytes): built for as many blocks
    // as their registers allow (6 and 3), they beat two warpgroups (2 blocks). Measured (H100,
    // ResNet-50 W4A4 sm_90a, every layer on 6 forced tiles, `bench/wgmma_sweep.py`): stage 1's
    // 3x3 convs 134 -> 110 us at batch 256 (-18%) and 36 -> 32 at 64, its first 1x1 conv 45 ->
    // 41 and 15 -> 14, stage 2's 3x3 convs -4% at batch 256 and -17% at 64
    match two {
        [128, bn, _] if four && bn <= 64 => Some([64, bn, 64]),
        [128, 128, _] if four && s.kernel != [1, 1] => Some([64, 128, 128]),
        _ => Some(two),
    }
}

/// [`wgmma_tile_model`] before its one-warpgroup tiles for residual convs.
fn two_warpgroup_tile(s: &ConvSpec, sm_count: i64) -> Option<[i64; 3]> {
    chunked_row_bytes(s)?;
    let [n, _, _, _] = s.input.dims;
    let [_, o, oh, ow] = s.output.dims;
    let bits = s.input.elem.bits() as i64;
    if !matches!(bits, 4 | 8) {
        return None;
    }
    let m = n * oh * ow;
    let tiles = |bm: i64, bn: i64| (m + bm - 1) / bm * ((o + bn - 1) / bn);
    let plain = s.residual.is_none() && s.second.is_none() && s.shortcut.is_none();
    // a shortcut's accumulators live through the main loop: N tiles of up to 64 channels keep
    // the registers of two blocks an SM
    let max_bn = if s.shortcut.is_some() {
        WGMMA_MAX_BN / 2
    } else {
        WGMMA_MAX_BN
    };
    let bn = if o <= 32 {
        o
    } else {
        ((o + 15) / 16 * 16).min(max_bn)
    };
    // (the grid of N = 128 tiles is what decides whether wgmma pays at all: `choose`)
    let bn = if bits == 4 && plain && o >= 256 && tiles(128, bn) >= 4 * sm_count {
        WGMMA_MAX_N
    } else {
        bn
    };
    let bm = if tiles(128, bn) >= sm_count { 128 } else { 64 };
    // 4-bit rows of 64 or 128 stored bytes (128 or 256 channels) on N = 128 tiles: stages of 32
    // stored bytes (64 widened). Measured as N = 256 above (then A/B in one run): those 15
    // ResNet-50 layers 3354 -> 3271 us, batch 256 0.85% and batch 64 0.5% faster
    let rb = chunked_row_bytes(s)?;
    let wbk = match bits {
        4 if bn == 128 && (rb == 64 || rb == 128) => 64,
        4 => 128,
        _ => 64,
    };
    Some([bm, bn, wbk])
}

/// The most output tiles a wgmma block computes ([`WgmmaPlan::with_block_tiles`]).
pub const MAX_BLOCK_TILES: i64 = 8;

/// Whether the warpgroup MMA kernel takes this conv with tile `[BM, BN, K bytes a stage]`
/// ([`wgmma_tile_model`], or forced): both operands 4-bit (widened) or both 8-bit, moved as
/// 16-byte chunks ([`chunked_row_bytes`]); BM 64 or 128 (one or two warpgroups), BN a wgmma N
/// (8, 16, 24, 32, then multiples of 16 up to 256), K bytes a multiple of 32 (a wgmma k-step;
/// for 4-bit storage half as many stored bytes, at least 32), fewer where K is shorter; the
/// slots in dynamic shared memory, as many blocks an SM as it and the registers allow
/// ([`WgmmaPlan::blocks_per_sm`]).
pub fn wgmma_plan(s: &ConvSpec, tile: [i64; 3]) -> Option<WgmmaPlan> {
    let rb = chunked_row_bytes(s)?;
    let [n, c, _, _] = s.input.dims;
    let [_, o, oh, ow] = s.output.dims;
    let bits = s.input.elem.bits() as i64;
    if !matches!(bits, 4 | 8) {
        return None;
    }
    let widen = bits == 4;
    let [kh, kw] = s.kernel;
    let kbytes = kh * kw * rb;
    let m = n * oh * ow;
    let [bm, bn, wbk] = tile;
    // a shortcut GEMM runs on the same slots: they are sized for the longer K
    let shortcut = shortcut_k(s, widen).ok()?;
    let kmax = kbytes.max(shortcut.as_ref().map_or(0, |k| k.rb));
    let n_ok = matches!(bn, 8 | 16 | 24 | 32) || (bn > 32 && bn % 16 == 0 && bn <= WGMMA_MAX_N);
    // 4-bit stages hold at least 32 stored bytes, unless the whole K is shorter (the tile an
    // op records is then the one stage it has, which must plan again to the same kernel)
    if !matches!(bm, 64 | 128)
        || !n_ok
        || wbk < 32
        || wbk % 32 != 0
        || (widen && wbk < 64 && 2 * kmax > wbk)
    {
        return None;
    }
    let wgs = bm / 64;
    let tiles_n = (o + bn - 1) / bn;
    // 4-bit: a stage of wbk / 2 stored bytes, widened into one of 3 slots (2 when K is one
    // stage: the second takes only the unread store of the next), the next stages in
    // registers; 8-bit: a cp.async ring of up to 6 slots (prefetch distance stages - 2).
    // K rounded up to a step (16 stored bytes, one wgmma k-step widened) when shorter.
    let kstep = if widen { 16 } else { 32 };
    let full = if widen { wbk / 2 } else { wbk };
    let sbk = ((kmax + kstep - 1) / kstep * kstep).min(full);
    let one_stage = kmax <= sbk;
    let slot = (bm + bn) * if widen { 2 * sbk } else { sbk };
    // two blocks an SM where the tile allows it, else one
    let budget = if bn <= WGMMA_MAX_BN && 3 * slot <= WGMMA_SMEM {
        WGMMA_SMEM
    } else {
        SM_SMEM - BLOCK_RESERVED_SMEM
    };
    // the 16-bit stream tile where the conv reads or writes one, when the slots still fit
    // beside it (a plan without it otherwise)
    let stages_for = |avail: i64| {
        let stages = match (widen, one_stage) {
            (true, true) => 2,
            (true, false) => 3,
            (false, _) => (avail / slot).min(6),
        };
        // the cp.async ring prefetches stages - 2 ahead: at least one
        ((widen || stages >= 3) && stages * slot <= avail).then_some(stages)
    };
    let stream = stream_tile(s);
    // a tiled weight's slots each have an mbarrier
    let bulk_b = widen && s.weight.tiles.is_some();
    let budget = budget - if bulk_b { 64 } else { 0 };
    let stream_bytes = stream.map_or(0, |_| 4 * StreamTile::words(bm, bn));
    let (stages, stream) = match stages_for(budget - stream_bytes) {
        Some(st) if stream.is_some() => (st, stream),
        _ => (stages_for(budget)?, None),
    };
    let kel = kh * kw * c;
    // a widened weight is stored as plain 8-bit values
    let (scaled_a, scaled_b) = scaling(widen, s.input.elem, s.weight.elem, kel);
    let scaled_b = scaled_b && !s.weight.widened;
    Some(WgmmaPlan {
        a_type: widened(s.input.elem),
        b_type: widened(s.weight.elem),
        widen,
        scaled_a,
        scaled_b,
        wgs,
        bn,
        sbk,
        rb,
        kbytes,
        stages,
        m,
        tiles_m: (m + bm - 1) / bm,
        tiles_n,
        shortcut,
        persistent: None,
        stream,
        block_tiles: 1,
        bulk_b,
    })
}

/// The 16-bit stream a conv reads (its residual, without a shortcut GEMM) or writes (its output)
/// that the wgmma kernel stages through shared memory: narrow16, channel-innermost, whole
/// 16-byte vectors of 8 channels.
fn stream_tile(s: &ConvSpec) -> Option<StreamTile> {
    let whole = |b: &ActBuffer| {
        b.storage() == Storage::Narrow16
            && channel_inner(b.layout)
            && b.stored_channels() == b.dims[1]
            && b.dims[1] % 8 == 0
    };
    let read = s.shortcut.is_none() && s.residual.is_some_and(whole);
    let write = s.pooled.is_none() && whole(s.output);
    (read || write).then_some(StreamTile { read, write })
}

/// The most slots the warp-specialized kernel's ring takes.
const WS_MAX_STAGES: i64 = 8;

/// Bytes of one mbarrier; the warp-specialized ring has two a slot (`full`, `empty`).
pub const MBARRIER_BYTES: i64 = 8;

/// The warp-specialized persistent wgmma kernel on tile `[BM, BN, K bytes a stage]`: the plan of
/// [`wgmma_plan`] (tile, stage size, widening), with one block an SM (`min(tiles, sm_count)`
/// blocks walking the tiles), producer warpgroups that fill a ring of as many slots as shared
/// memory holds (2 to [`WS_MAX_STAGES`]) next to the staged output tile, and the consumer
/// warpgroups issuing wgmma and running the epilogue. Two producer warpgroups for convs whose
/// epilogue reads no residual and writes no second output, N at most 128 (64 accumulators a
/// consumer thread: 512 threads keep 128 registers each); one otherwise. Measured on an H200
/// (ResNet-50 W4A4 batch 256, per kernel, one against two producer warpgroups everywhere): the
/// 3x3 and reducing 1x1 convs 2-17% faster with two, the convs that add a residual 12-30%
/// slower. Convs with a shortcut GEMM are not taken.
pub fn wgmma_ws_plan(s: &ConvSpec, tile: [i64; 3], sm_count: i64) -> Option<WgmmaPlan> {
    if s.weight.widened {
        return None;
    }
    let mut p = wgmma_plan(s, tile)?;
    if p.shortcut.is_some() {
        return None;
    }
    let free = SM_SMEM - BLOCK_RESERVED_SMEM - p.out_tile_bytes();
    let stages = (free / (p.slot_bytes() + 2 * MBARRIER_BYTES)).min(WS_MAX_STAGES);
    if stages < 2 {
        return None;
    }
    p.stages = stages;
    p.stream = None;
    let plain = s.residual.is_none() && s.second.is_none();
    p.persistent = Some(Persistent {
        grid: p.tiles().min(sm_count),
        producers: if plain && p.bn <= WGMMA_MAX_BN { 2 } else { 1 },
    });
    Some(p)
}

// ---------------------------------------------------------------------------------------------
// The register-only MMA kernel
// ---------------------------------------------------------------------------------------------

/// Threads per block of the MMA kernel (4 warps).
pub const MMA_BLOCK_THREADS: i64 = 128;

/// How one conv maps onto mma.sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MmaPlan {
    pub shape: [i64; 3],
    /// MMA operand types (`u4`, `s4`, `u8`, `s8`).
    pub a_type: ElemType,
    pub b_type: ElemType,
    /// m-tiles and n-tiles per warp.
    pub mt: i64,
    pub nt: i64,
    /// GEMM M (output pixels) and the warp-tile grid.
    pub m: i64,
    pub tiles_m: i64,
    pub tiles_n: i64,
    /// K split: `split` warps of one block compute the same tile over 1/split of the channels
    /// of every tap, and reduce through shared memory (1, 2 or 4).
    pub split: i64,
    /// K steps (mma.k channels) per tap, the last one partial where the stored channels Cs are
    /// not a multiple of mma.k (its fragment registers past Cs are zero); with `tapk`, K steps
    /// of the whole reduction.
    pub ksteps: i64,
    /// Taps packed along K: each stored input pixel is exactly one 32-bit word (8-bit with
    /// Cs = 4, 4-bit with Cs = 8: the 3-channel stem), so a fragment register is one tap's
    /// word and K = taps x Cs runs over (ky, kx) (`tap = k / Cs`), padded with zero taps to
    /// a multiple of mma.k.
    pub tapk: bool,
}

/// Most warps an SM at which the register-MMA kernel computes a fused input quantize
/// (`convert-qnn-to-tcconv{quantize=fused}`): its loader quantizes each input value once per tap
/// and output-channel tile that reads it (24 times on ResNet's 7x7 stride-2 stem with two
/// channel tiles), which only a grid of a few warps an SM might hide. Measured on an H200 at
/// batch 1 it does not (the stem's loads wait on the quantize): the fusion is opt-in.
pub const QUANTIZE_FUSION_WARPS_PER_SM: i64 = 8;

/// Whether kernel `k` computes its conv's input quantize in the loader (`Conv::quantize`): the
/// register-MMA kernel with taps along K (one 32-bit word a pixel) on a latency-bound grid
/// ([`QUANTIZE_FUSION_WARPS_PER_SM`]).
pub fn fuses_input_quantize(k: &Kernel, target: Target) -> bool {
    matches!(k, Kernel::Mma(p) if p.tapk && p.warps() <= QUANTIZE_FUSION_WARPS_PER_SM * target.sm_count())
}

impl MmaPlan {
    pub fn tiles(&self) -> i64 {
        self.tiles_m * self.tiles_n
    }
    pub fn warps(&self) -> i64 {
        self.tiles() * self.split
    }
    /// Threads launched: whole blocks of 4 warps.
    pub fn threads(&self) -> i64 {
        let warps_per_block = MMA_BLOCK_THREADS / 32;
        (self.warps() + warps_per_block - 1) / warps_per_block * MMA_BLOCK_THREADS
    }
    /// i32 accumulators per lane.
    pub fn accs(&self) -> i64 {
        self.mt * self.nt * (self.shape[0] / 4)
    }
}

/// A conv with its max pool in the register-MMA kernel (`Conv::pool`): each block computes
/// the conv's map over a patch of `rh x rw` pixels (at most a block's 128 rows, one 32-row warp
/// tile each of its 4 warps, every output channel) and the pooled tile of `ph x pw` pixels the
/// patch covers, so windows that straddle two pooled tiles are computed in both (the halo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolPlan {
    /// The register-MMA plan the rows run on: 32-row warp tiles of every channel, no K split.
    pub mma: MmaPlan,
    pub ph: i64,
    pub pw: i64,
    pub rh: i64,
    pub rw: i64,
    /// Pooled tiles down and across an image.
    pub tiles_y: i64,
    pub tiles_x: i64,
}

impl PoolPlan {
    /// Blocks of the grid: every pooled tile of every image.
    pub fn blocks(&self, n: i64) -> i64 {
        n * self.tiles_y * self.tiles_x
    }
    /// Shared-memory words for an output of `o` channels: the patch's packed 4-bit map, a row
    /// of O / 8 words for each of the block's 128 rows.
    pub fn smem_words(o: i64) -> i64 {
        MMA_BLOCK_THREADS * (o / 8)
    }
}

/// How the register-MMA kernel `p` runs the conv `s` with its max pool (None where it does
/// not): taps along K (the 3-channel stem), a packed 4-bit channel-innermost output of at most
/// one warp tile's 64 channels (O % 8 == 0), and a pool window whose patch fits 128 rows. The
/// pooled tile is the one with the fewest blocks (then the most square).
pub fn pool_plan(s: &ConvSpec, p: &MmaPlan) -> Option<PoolPlan> {
    let (pooled, pl) = s.pooled?;
    let [_, o, _, _] = s.output.dims;
    let [_, _, poh, pow] = pooled.dims;
    let mm = p.shape[0];
    let ok = p.tapk
        && 32 % mm == 0
        && o % 8 == 0
        && o <= 64
        && s.output.storage() == crate::buffer::Storage::Packed4
        && channel_inner(s.output.layout)
        && pooled.layout == s.output.layout
        && pooled.elem == s.output.elem
        && pl.kernel.iter().chain(&pl.strides).all(|&k| k >= 1)
        && poh >= 1
        && pow >= 1;
    if !ok {
        return None;
    }
    let [kh, kw] = pl.kernel;
    let [sh, sw] = pl.strides;
    let rows = MMA_BLOCK_THREADS;
    let mut best: Option<(i64, i64, i64, i64)> = None; // (blocks, skew, ph, pw)
    for ph in 1..=poh.min(rows) {
        for pw in 1..=pow.min(rows) {
            let (rh, rw) = ((ph - 1) * sh + kh, (pw - 1) * sw + kw);
            if rh * rw > rows {
                break;
            }
            let blocks = ((poh + ph - 1) / ph) * ((pow + pw - 1) / pw);
            let key = (blocks, (ph - pw).abs(), ph, pw);
            if best.map_or(true, |b| (key.0, key.1) < (b.0, b.1)) {
                best = Some(key);
            }
        }
    }
    let (_, _, ph, pw) = best?;
    Some(PoolPlan {
        mma: MmaPlan {
            mt: 32 / mm,
            nt: o / 8,
            split: 1,
            tiles_n: 1,
            ..p.clone()
        },
        ph,
        pw,
        rh: (ph - 1) * sh + kh,
        rw: (pw - 1) * sw + kw,
        tiles_y: (poh + ph - 1) / ph,
        tiles_x: (pow + pw - 1) / pw,
    })
}

/// Whether the MMA kernel takes this conv, and how (None: use the simple kernel).
pub fn mma_plan(s: &ConvSpec, tiling: &Tiling, sm_count: i64) -> Option<MmaPlan> {
    if s.check().is_err()
        || !matches!(s.weight.packing, Packing::ConvOhwi | Packing::ConvHwoi)
        || s.shortcut.is_some()
    {
        return None;
    }
    let [n, c, _, _] = s.input.dims;
    let [_, o, oh, ow] = s.output.dims;
    let shape = [tiling.mma.m, tiling.mma.n, tiling.mma.k];
    let bits = tiling.a_type.bits();
    if tiling.b_type.bits() != bits || !matches!(bits, 4 | 8) {
        return None;
    }
    let ok_shape = matches!(
        (shape, bits),
        ([16, 8, 64], 4) | ([16, 8, 32], 8) | ([8, 8, 32], 4) | ([8, 8, 16], 8)
    );
    // stored operands: 4-bit (as is, or widened to the 8-bit MMA) or 8-bit with an 8-bit MMA
    let stored_ok = |e: ElemType, mma: ElemType| match (e.bits(), mma.bits()) {
        (4, _) => e.is_signed() == mma.is_signed(),
        (8, 8) => e.is_signed() == mma.is_signed(),
        _ => false,
    };
    // taps along K: one stored word per input pixel and per weight tap, no widening
    let word = |cs: i64, e: ElemType| cs * e.bits() as i64 == 32;
    let tapk = c % shape[2] != 0
        && word(s.input.stored_channels(), s.input.elem)
        && word(weight_cs(s.weight), s.weight.elem)
        && s.input.elem.bits() == bits
        && s.weight.elem.bits() == bits;
    // a partial last K step (C not a multiple of mma.k): input and weight rows of the same
    // stored channels Cs, whole fragment registers (Cs a multiple of 32 / bits), the registers
    // past Cs zero
    let cs = s.input.stored_channels();
    let partial =
        c % shape[2] != 0 && !tapk && cs == weight_cs(s.weight) && cs % (32 / bits as i64) == 0;
    if !ok_shape
        || !stored_ok(s.input.elem, tiling.a_type)
        || !stored_ok(s.weight.elem, tiling.b_type)
        || o % 8 != 0
        || (c % shape[2] != 0 && !tapk && !partial)
        || !channel_inner(s.input.layout)
        || (s.output.storage() == Storage::Packed4 && !channel_inner(s.output.layout))
    {
        return None;
    }
    let m = n * oh * ow;
    let [kh, kw] = s.kernel;
    let ksteps = if tapk {
        let taps_per_step = shape[2] / (32 / bits as i64);
        (kh * kw + taps_per_step - 1) / taps_per_step
    } else {
        (cs + shape[2] - 1) / shape[2]
    };
    // Warp tile and K split: the largest tile (most reuse) that gives 4 warps per SM,
    // splitting K (2 or 4 ways, dividing the K steps of a tap) before shrinking the tile;
    // when nothing reaches that, the most warps.
    let cands: &[(i64, i64)] = if shape[0] == 16 && tapk && o % 64 == 0 {
        &[(2, 8), (2, 4), (2, 2), (1, 2), (1, 1)]
    } else if shape[0] == 16 {
        &[(2, 4), (2, 2), (1, 2), (1, 1)]
    } else {
        &[(4, 4), (2, 4), (2, 2), (1, 2), (1, 1)]
    };
    let want = 4 * sm_count;
    let mut best: Option<MmaPlan> = None;
    for &(mt, nt) in cands {
        for split in [1, 2, 4] {
            if ksteps % split != 0 {
                continue;
            }
            let p = MmaPlan {
                shape,
                a_type: tiling.a_type,
                b_type: tiling.b_type,
                mt,
                nt,
                m,
                tiles_m: (m + mt * shape[0] - 1) / (mt * shape[0]),
                tiles_n: (o + nt * 8 - 1) / (nt * 8),
                split,
                ksteps,
                tapk,
            };
            if p.warps() >= want {
                return Some(more_split(p, sm_count, kh * kw));
            }
            if best.as_ref().map(|b| p.warps() > b.warps()).unwrap_or(true) {
                best = Some(p);
            }
        }
    }
    best
}

/// Warps one SM keeps resident: the kernel takes up to 128 registers a thread (ptxas, sm_90:
/// 127-128 for the 2 x 4 tile), so 65536 / (128 * 32) = 16.
const RESIDENT_WARPS_PER_SM: i64 = 16;

/// Deepen the K split of a chosen tile while the doubled warp count still fits in one resident
/// wave (16 warps per SM): the kernel loads its fragments from global memory without
/// pipelining, so it is latency-bound, and more warps in flight (each with fewer K steps)
/// hide more latency; past one wave the extra warps only queue and add reduction work. Each
/// warp keeps >= 4 K steps in all and >= 2 per tap unless the block already reduces (split
/// > 1): below that the per-tap address work and the reduction cost more than the latency
/// hidden (H200 b8: C = 64 3x3 s2 18.0 -> 19.5 us, 1x1 layers 7.1 -> 8.0 us without these floors).
fn more_split(mut p: MmaPlan, sm_count: i64, taps: i64) -> MmaPlan {
    let wave = RESIDENT_WARPS_PER_SM * sm_count;
    let taps = if p.tapk { 1 } else { taps };
    while p.split < 4 && p.ksteps % (2 * p.split) == 0 && 2 * p.warps() <= wave {
        let per_tap = p.ksteps / (2 * p.split);
        // each warp keeps >= 4 K steps, and >= 2 a tap unless the reduction is already paid
        if taps * per_tap < 4 || (per_tap < 2 && p.split == 1) {
            break;
        }
        p.split *= 2;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::graph::{ChannelScales, EpilogueKind};

    fn weight(o: i64, c: i64, k: i64, elem: ElemType) -> PackedWeight {
        PackedWeight {
            name: "w".into(),
            source: "w".into(),
            packing: Packing::ConvOhwi,
            elem,
            dims: [o, c, k, k],
            source_layout: nibble_qnn::semantics::KernelLayout::OIHW,
            space_to_depth: None,
            widened: false,
            tiles: None,
        }
    }

    /// An epilogue that adds a residual (both scaled by 1/2, 2^30 / 2^31).
    fn residual_epilogue() -> Epilogue {
        let scales = ChannelScales {
            multiplier: vec![1 << 30],
            shift: vec![31],
        };
        Epilogue {
            kind: EpilogueKind::Residual {
                scales: scales.clone(),
                residual: scales,
            },
            ..Epilogue::none()
        }
    }

    /// A residual conv (`c` -> `o`, `k` x `k`, at `hw` x `hw`) whose residual is a stride-2
    /// shortcut of `cs` channels; the staged, wgmma and warp-specialized wgmma plans of it (the
    /// wgmma ones on block tile `tile`).
    #[allow(clippy::too_many_arguments)]
    fn shortcut_plans(
        batch: i64,
        c: i64,
        cs: i64,
        o: i64,
        k: i64,
        hw: i64,
        bits: u32,
        tile: [i64; 3],
    ) -> (Option<StagedPlan>, Option<WgmmaPlan>, Option<WgmmaPlan>) {
        let (a, w) = if bits == 4 {
            (ElemType::U4, ElemType::I4)
        } else {
            (ElemType::U8, ElemType::I8)
        };
        let x = ActBuffer::new(Layout::NHWC, a, [batch, c, hw, hw]);
        let sx = ActBuffer::new(Layout::NHWC, a, [batch, cs, 2 * hw, 2 * hw]);
        let y = ActBuffer::new(Layout::NHWC, a, [batch, o, hw, hw]);
        let (wt, swt) = (weight(o, c, k, w), weight(o, cs, 1, w));
        let e = residual_epilogue();
        let s = ConvSpec {
            input: &x,
            weight: &wt,
            bias: None,
            residual: None,
            output: &y,
            second: None,
            kernel: [k, k],
            strides: [1, 1],
            padding: [k / 2; 4],
            epilogue: &e,
            dequantize: None,
            groups: 1,
            shortcut: Some(ShortcutSpec {
                input: &sx,
                weight: &swt,
                bias: None,
                strides: [2, 2],
                bounded_sum: false,
            }),
            quantize: None,
            pooled: None,
            chained: false,
        };
        s.check().unwrap();
        let m = batch * hw * hw;
        let tiling = choose_tiling(Target::Sm90, [m, o, k * k * c], a, w, None);
        (
            staged_plan(&s, &tiling, Target::Sm90),
            wgmma_plan(&s, tile),
            wgmma_ws_plan(&s, tile, 132),
        )
    }

    #[test]
    fn a_shortcut_splits_no_k_across_a_cluster_and_sizes_the_stages_for_the_longer_k() {
        // batch 1, 512 -> 2048 channels at 7x7: a grid of few tiles whose K (512 bytes) is too
        // short to slice
        let (st, wg, _) = shortcut_plans(1, 512, 1024, 2048, 1, 7, 4, [128, 64, 128]);
        let st = st.expect("the staged kernel takes it");
        assert_eq!((st.ksplit, st.cluster), (1, 1));
        // batch 1, a 3x3 conv of 512 channels at 7x7 (K = 2304 bytes): K sliced across the
        // block's warps for both GEMMs, never across the blocks of a cluster
        let (st3, _, _) = shortcut_plans(1, 512, 256, 512, 3, 7, 4, [128, 64, 128]);
        let st3 = st3.expect("the staged kernel takes it");
        assert!(st3.ksplit > 1, "{st3:?}");
        assert_eq!(st3.cluster, 1);
        assert_eq!(st3.shortcut_iters(), (128 + st3.sbk() - 1) / st3.sbk());
        let k = st.shortcut.as_ref().expect("the shortcut GEMM");
        assert_eq!(k.rb, 512); // 1024 4-bit channels
        assert_eq!(st.shortcut_iters(), (512 + st.sbk() - 1) / st.sbk());
        assert!(st.stages <= st.shortcut_iters().max(st.iters()) + 1);
        // wgmma: slots for the longer K (the shortcut's), both GEMMs on the same slots
        let wg = wg.expect("the wgmma kernel takes it");
        assert_eq!(wg.shortcut_iters(), (512 + wg.sbk - 1) / wg.sbk);
        // the shortcut's accumulators count as twice the tile's for the registers: 64 a thread
        // and a shortcut, 176 registers, one block of two warpgroups
        assert_eq!(wg.registers(true, false), Some(176));
        assert_eq!(wg.blocks_per_sm(true, false), 1);
        // one warpgroup on 64 channels with its shortcut: 64 accumulators a thread, four blocks
        // (ResNet-50 stage 1's first unit: 64 -> 256 channels beside the 64 -> 256 shortcut)
        let (_, wg1, _) = shortcut_plans(256, 64, 64, 256, 1, 56, 4, [64, 64, 128]);
        let wg1 = wg1.expect("the wgmma kernel takes it");
        assert_eq!((wg1.wgs, wg1.bn), (1, 64));
        assert!(wg1.shortcut.is_some());
        assert_eq!(wg1.blocks_per_sm(true, false), 4);
        // on 128 channels (128 accumulators a thread) it keeps the rule for N = 256
        let (_, wg2, _) = shortcut_plans(256, 64, 64, 256, 1, 56, 4, [64, 128, 128]);
        assert!(
            wg2.expect("the wgmma kernel takes it")
                .blocks_per_sm(true, false)
                <= 2
        );
        // 8-bit operands under a 3x3 conv: both families take the pair
        let (st, wg, _) = shortcut_plans(2, 64, 64, 64, 3, 8, 8, [128, 64, 128]);
        assert!(st.is_some() && wg.is_some());
    }

    /// The staged and wgmma plans of a residual 1x1 conv (64 -> `o` 4-bit channels at 56 x 56,
    /// batch 4) whose residual and i32 output are `narrow` or not.
    fn stream_plans(
        o: i64,
        narrow: bool,
    ) -> (Option<StagedPlan>, Option<WgmmaPlan>, Option<WgmmaPlan>) {
        let (x, wt, y, e) = stream_operands(o, narrow);
        let s = stream_spec(&x, &wt, &y, &e);
        s.check().unwrap();
        let tiling = choose_tiling(
            Target::Sm90,
            [4 * 56 * 56, o, 64],
            ElemType::U4,
            ElemType::I4,
            None,
        );
        (
            staged_plan(&s, &tiling, Target::Sm90),
            wgmma_plan(&s, [128, 128, 64]),
            wgmma_ws_plan(&s, [128, 128, 64], 132),
        )
    }

    /// The operands of [`stream_plans`]' conv: its input, weight, output (the residual too)
    /// and epilogue.
    fn stream_operands(o: i64, narrow: bool) -> (ActBuffer, PackedWeight, ActBuffer, Epilogue) {
        let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [4, 64, 56, 56]);
        let mut y = ActBuffer::new(Layout::NHWC, ElemType::I32, [4, o, 56, 56]);
        y.narrow = narrow;
        (x, weight(o, 64, 1, ElemType::I4), y, residual_epilogue())
    }

    fn stream_spec<'a>(
        x: &'a ActBuffer,
        wt: &'a PackedWeight,
        y: &'a ActBuffer,
        e: &'a Epilogue,
    ) -> ConvSpec<'a> {
        ConvSpec {
            residual: Some(y),
            ..spec(x, wt, y, e, 1)
        }
    }

    #[test]
    fn the_occupancy_an_op_asks_for_is_bounded_by_registers_shared_memory_and_family() {
        let (st, wg, ws) = stream_plans(256, true);
        // two warpgroups of 128 x 128: 64 accumulators and 48 more registers a thread, 65536 /
        // (256 x 112) = 2 blocks (the shared memory would hold 3)
        let wg = Kernel::Wgmma(wg.expect("the wgmma kernel takes it"));
        assert_eq!(wg.most_blocks_per_sm(Target::Sm90a), Some(2));
        assert_eq!(blocks_per_sm_error(&wg, 2, Target::Sm90a), None);
        let e = blocks_per_sm_error(&wg, 3, Target::Sm90a).expect("three do not fit");
        assert!(e.contains("at most 2 blocks"), "{e}");
        // asked for, the op's value; else the family's rule
        let (x, wt, y, e) = stream_operands(256, true);
        let s = stream_spec(&x, &wt, &y, &e);
        assert_eq!(wg.blocks_per_sm(Some(1), &s, Target::Sm90a), 1);
        let Kernel::Wgmma(p) = &wg else {
            unreachable!()
        };
        assert_eq!(
            wg.blocks_per_sm(None, &s, Target::Sm90a),
            p.blocks_per_sm(true, false)
        );
        // the staged kernel: at least one block, never past what its shared memory allows
        let st = Kernel::Staged(st.expect("the staged kernel takes it"));
        let most = st
            .most_blocks_per_sm(Target::Sm90)
            .expect("staged takes it");
        let Kernel::Staged(sp) = &st else {
            unreachable!()
        };
        assert!(most >= 1 && most * (4 * sp.smem_words() + 1024) <= 228 * 1024);
        assert!(blocks_per_sm_error(&st, most + 1, Target::Sm90).is_some());
        // an im2col conv with a residual: 168 registers, 3 blocks on Hopper; ptxas decides
        // elsewhere
        assert_eq!(st.registers(&s, Target::Sm90), Some(168));
        assert_eq!(st.blocks_per_sm(None, &s, Target::Sm90), 3);
        assert_eq!(st.blocks_per_sm(None, &s, Target::Sm80), 1);
        // an SM of sm_75 has less shared memory: never more blocks there
        assert!(st
            .most_blocks_per_sm(Target::Sm75)
            .is_some_and(|m| m <= most));
        // the persistent wgmma kernel and the other families set their own
        let ws = Kernel::Wgmma(ws.expect("the persistent kernel takes it"));
        assert_eq!(ws.most_blocks_per_sm(Target::Sm90a), None);
        let e = blocks_per_sm_error(&Kernel::Simple, 1, Target::Sm90a).expect("simple");
        assert!(e.contains("kernel 'simple' sets its own occupancy"), "{e}");
    }

    /// The staged kernel of a direct (HWNC) conv of 256 images, 64 -> 64 channels at 56 x 56, with
    /// a `k` x `k` kernel of `bits`-bit operands (a narrow16 residual where `residual`), and
    /// the blocks an SM it is built for on `target`.
    fn direct_staged_blocks(k: i64, bits: u32, residual: bool, target: Target) -> (Kernel, i64) {
        let (a, w) = if bits == 4 {
            (ElemType::U4, ElemType::I4)
        } else {
            (ElemType::U8, ElemType::I8)
        };
        let x = ActBuffer::new(Layout::HWNC, a, [256, 64, 56, 56]);
        let mut r = ActBuffer::new(Layout::HWNC, ElemType::I32, [256, 64, 56, 56]);
        r.narrow = true;
        let y = if residual { r.clone() } else { x.clone() };
        let wt = weight(64, 64, k, w);
        let e = if residual {
            residual_epilogue()
        } else {
            Epilogue::none()
        };
        let s = ConvSpec {
            residual: residual.then_some(&r),
            ..spec(&x, &wt, &y, &e, k)
        };
        s.check().unwrap();
        let tiling = choose_tiling(target, [256 * 56 * 56, 64, k * k * 64], a, w, None);
        let p = staged_plan(&s, &tiling, target).expect("the staged kernel takes it");
        assert_eq!((p.bm, p.bn, p.block()), (64, 64, 128), "{p:?}");
        let kernel = Kernel::Staged(p);
        let n = kernel.blocks_per_sm(None, &s, target);
        (kernel, n)
    }

    #[test]
    fn the_staged_kernel_is_built_for_the_blocks_its_registers_allow_on_hopper() {
        // 65536 / (128 x 96): a 1x1 conv and a 4-bit 3x3 one get 5 blocks, an 8-bit 3x3 (128,
        // where ptxas spills some at 96) 4, a 4-bit narrow16 residual conv (128) 4
        assert_eq!(direct_staged_blocks(1, 4, false, Target::Sm90a).1, 5);
        assert_eq!(direct_staged_blocks(3, 4, false, Target::Sm90a).1, 5);
        assert_eq!(direct_staged_blocks(3, 8, false, Target::Sm90).1, 4);
        let (kernel, n) = direct_staged_blocks(1, 4, true, Target::Sm90a);
        assert!(matches!(&kernel, Kernel::Staged(p) if p.stream.is_some()));
        assert_eq!(n, 4);
        // never more than the shared memory holds: the stream tile's 64 rows are in it
        let most = kernel.most_blocks_per_sm(Target::Sm90a).expect("staged");
        assert!(n <= most);
        // sm_80 / sm_86: ptxas decides (one block asked)
        assert_eq!(direct_staged_blocks(1, 4, false, Target::Sm80).1, 1);
        assert_eq!(direct_staged_blocks(1, 4, false, Target::Sm86).1, 1);
    }

    #[test]
    fn a_narrow16_stream_gets_a_tile_in_shared_memory_beside_the_pipeline() {
        let both = Some(StreamTile {
            read: true,
            write: true,
        });
        let (st, wg, ws) = stream_plans(256, true);
        // wgmma: 128 rows of 128 channels, 272 bytes a row, after the slots
        let wg = wg.expect("the wgmma kernel takes it");
        assert_eq!(wg.stream, both);
        assert_eq!(4 * wg.stream_words(), 128 * 272);
        assert!(wg.stream_tile_byte() >= wg.stages * wg.slot_bytes());
        assert_eq!(
            4 * wg.smem_words(),
            wg.stream_tile_byte() + 4 * wg.stream_words()
        );
        assert_eq!(wg.blocks_per_sm(true, false), 2);
        // staged: after the pipeline's words, inside the 48 KiB of static shared memory
        let st = st.expect("the staged kernel takes it");
        assert_eq!(st.stream, both);
        assert_eq!(
            st.smem_words(),
            st.pipeline_words() + st.bm * st.stream_row_words()
        );
        assert!(4 * st.smem_words() <= STATIC_SMEM);
        // the persistent kernel has no stream tile
        assert!(ws.is_none_or(|p| p.stream.is_none()));
        // i32 streams: no tile
        let (st, wg, _) = stream_plans(256, false);
        assert_eq!((st.unwrap().stream, wg.unwrap().stream), (None, None));
        // 248 channels: whole 16-byte vectors, the last block tile partly past O
        let (st, _, _) = stream_plans(248, true);
        assert_eq!(st.map(|p| p.stream), Some(both));
    }

    #[test]
    fn only_4_bit_wgmma_plans_take_more_tiles_a_block() {
        let plan = |c: ElemType, w: ElemType| {
            let x = ActBuffer::new(Layout::NHWC, c, [8, 64, 56, 56]);
            let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 128, 56, 56]);
            let wt = weight(128, 64, 3, w);
            let e = Epilogue::none();
            wgmma_plan(&spec(&x, &wt, &y, &e, 3), [128, 128, 128]).expect("taken")
        };
        // 8 x 56 x 56 rows in 196 tiles of 128 rows: 66 blocks of 3, the last with one
        let p = plan(ElemType::U4, ElemType::I4);
        assert_eq!((p.tiles(), p.blocks()), (196, 196));
        let p3 = p.clone().with_block_tiles(3).expect("4-bit");
        assert_eq!((p3.block_tiles, p3.blocks()), (3, 66));
        assert_eq!(p.clone().with_block_tiles(1), Ok(p.clone()));
        assert!(p.clone().with_block_tiles(0).is_err());
        assert!(p.with_block_tiles(MAX_BLOCK_TILES + 1).is_err());
        // 8-bit operands go through the cp.async ring: one tile a block
        let e = plan(ElemType::U8, ElemType::I8)
            .with_block_tiles(2)
            .unwrap_err();
        assert!(e.contains("only over 4-bit operands"), "{e}");
        // the tiling's tiles_per_block reaches the plan, and no other family takes it
        let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 64, 56, 56]);
        let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 128, 56, 56]);
        let wt = weight(128, 64, 3, ElemType::I4);
        let e = Epilogue::none();
        let s = spec(&x, &wt, &y, &e, 3);
        let mut tiling = choose_tiling(
            Target::Sm90a,
            [8 * 56 * 56, 128, 9 * 64],
            ElemType::U4,
            ElemType::I4,
            None,
        );
        tiling.block_tile = [128, 128, 128];
        tiling.tiles_per_block = 2;
        match realize(Family::Wgmma, &s, &tiling, Target::Sm90a) {
            Ok(Kernel::Wgmma(q)) => assert_eq!((q.block_tiles, q.blocks()), (2, 98)),
            other => panic!("{other:?}"),
        }
        let e = realize(Family::Staged, &s, &tiling, Target::Sm90a).unwrap_err();
        assert!(e.contains("only 'wgmma' takes more"), "{e}");
    }

    #[test]
    fn one_tap_residual_convs_take_one_warpgroup_tiles() {
        // ResNet-50's first stream conv at batch 64: 64 -> 256 4-bit channels at 56 x 56
        let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [64, 64, 56, 56]);
        let y = ActBuffer::new(Layout::NHWC, ElemType::I32, [64, 256, 56, 56]);
        let (plain, sum) = (Epilogue::none(), residual_epilogue());
        let tile_of = |k: i64, residual: bool| {
            let wt = weight(256, 64, k, ElemType::I4);
            let mut s = spec(&x, &wt, &y, &plain, k);
            if residual {
                s.residual = Some(&y);
                s.epilogue = &sum;
            }
            let gemm = [64 * 56 * 56, 256, k * k * 64];
            let tiling = choose_tiling(Target::Sm90a, gemm, ElemType::U4, ElemType::I4, None);
            match choose(&s, &tiling, Target::Sm90a, Choice::Auto, None) {
                Kernel::Wgmma(p) => (p.bm(), p.bn),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(tile_of(1, true), (64, 64));
        // without the residual, the two-warpgroup tiles (N = 256: no residual, 256 channels)
        assert_eq!(tile_of(1, false), (128, 256));
        // over three taps, one warpgroup of N = 128
        assert_eq!(tile_of(3, true), (64, 128));
    }

    #[test]
    fn four_bit_convs_of_up_to_64_channels_take_one_warpgroup() {
        // ResNet-50's stage-1 convs at batch 256: 64 -> 64 4-bit channels at 56 x 56
        let x = ActBuffer::new(Layout::HWNC, ElemType::U4, [256, 64, 56, 56]);
        let e = Epilogue::none();
        let tile_of = |k: i64, o: i64| {
            let y = ActBuffer::new(Layout::HWNC, ElemType::U4, [256, o, 56, 56]);
            let wt = weight(o, 64, k, ElemType::I4);
            wgmma_tile_model(&spec(&x, &wt, &y, &e, k), 132)
        };
        // 3x3 and 1x1: 64 x 64 tiles, stages of 64 widened bytes (two warpgroups' grid decides
        // that wgmma pays)
        assert_eq!(tile_of(3, 64), Some([64, 64, 64]));
        assert_eq!(tile_of(1, 64), Some([64, 64, 64]));
        // 128 channels: one warpgroup for the 3x3 conv, two for the 1x1 one
        assert_eq!(tile_of(3, 128), Some([64, 128, 128]));
        assert_eq!(tile_of(1, 128).map(|t| t[0]), Some(128));
    }

    /// A conv of `x` by `wt` (square kernel `k`, stride 1, same padding) into `y` with epilogue
    /// `e`, no bias, residual or shortcut.
    fn spec<'a>(
        x: &'a ActBuffer,
        wt: &'a PackedWeight,
        y: &'a ActBuffer,
        e: &'a Epilogue,
        k: i64,
    ) -> ConvSpec<'a> {
        ConvSpec {
            input: x,
            weight: wt,
            bias: None,
            residual: None,
            output: y,
            second: None,
            kernel: [k, k],
            strides: [1, 1],
            padding: [k / 2; 4],
            epilogue: e,
            dequantize: None,
            groups: 1,
            shortcut: None,
            quantize: None,
            pooled: None,
            chained: false,
        }
    }

    /// A plain 3x3 conv (`c` -> `o` channels at `hw` x `hw`, 4- or 8-bit).
    fn plain_conv_plan(
        batch: i64,
        c: i64,
        o: i64,
        hw: i64,
        bits: u32,
        tile: [i64; 3],
    ) -> Option<WgmmaPlan> {
        let (a, w) = if bits == 4 {
            (ElemType::U4, ElemType::I4)
        } else {
            (ElemType::U8, ElemType::I8)
        };
        let x = ActBuffer::new(Layout::NHWC, a, [batch, c, hw, hw]);
        let y = ActBuffer::new(Layout::NHWC, a, [batch, o, hw, hw]);
        let wt = weight(o, c, 3, w);
        let e = Epilogue::none();
        wgmma_ws_plan(&spec(&x, &wt, &y, &e, 3), tile, 132)
    }

    #[test]
    fn the_warp_specialized_plan_fills_shared_memory_and_one_block_an_sm() {
        // 8 images of 56 x 56, 64 -> 128 4-bit channels on 128 x 128 tiles: 196 tiles, 132 blocks
        let p = plain_conv_plan(8, 64, 128, 56, 4, [128, 128, 128]).expect("taken");
        let ws = |grid, producers| Some(Persistent { grid, producers });
        assert_eq!((p.persistent, p.tiles()), (ws(132, 2), 196));
        assert_eq!((p.blocks(), p.blocks_per_sm(false, false)), (132, 1));
        // two consumer and two producer warpgroups
        assert_eq!((p.wgs, p.block()), (2, 512));
        // slots of (128 + 128) x 128 widened bytes: 6 fit next to the output tile and barriers
        assert_eq!(p.slot_bytes(), 32 * 1024);
        assert_eq!(p.stages, 6);
        // the ring, the staged output tile and the 8-byte mbarriers do not overlap and fit an SM
        let smem = 4 * p.smem_words();
        assert!(p.out_tile_byte() >= p.stages * p.slot_bytes());
        assert!(p.barrier_byte() >= p.out_tile_byte() + p.bm() * p.bn / 2);
        assert_eq!(p.barrier_byte() % 8, 0);
        assert!(p.barrier_byte() + 2 * MBARRIER_BYTES * p.stages <= smem);
        assert!(smem + BLOCK_RESERVED_SMEM <= SM_SMEM);
        // fewer tiles than SMs: one block a tile; N = 256: one producer warpgroup
        let p = plain_conv_plan(1, 64, 256, 14, 4, [64, 256, 128]).expect("taken");
        assert_eq!((p.persistent, p.block()), (ws(4, 1), 256));
        // small slots: the ring stops at its longest
        let p = plain_conv_plan(2, 32, 16, 8, 8, [64, 16, 32]).expect("taken");
        assert_eq!(p.stages, WS_MAX_STAGES);
        // the plain kernel of the same tile is neither persistent nor specialized
        let q = {
            let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 64, 56, 56]);
            let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 128, 56, 56]);
            let wt = weight(128, 64, 3, ElemType::I4);
            let e = Epilogue::none();
            wgmma_plan(&spec(&x, &wt, &y, &e, 3), [128, 128, 128]).expect("taken")
        };
        assert_eq!((q.persistent, q.block(), q.blocks()), (None, 256, 196));
        assert_eq!(Kernel::Wgmma(q).family(), Family::Wgmma);
        assert_eq!(Kernel::Wgmma(p).family(), Family::WgmmaWs);
    }

    #[test]
    fn a_residual_epilogue_keeps_one_producer_warpgroup() {
        let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 64, 28, 28]);
        let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [8, 128, 28, 28]);
        let r = ActBuffer::new(Layout::NHWC, ElemType::I32, [8, 128, 28, 28]);
        let wt = weight(128, 64, 1, ElemType::I4);
        let plain = Epilogue::none();
        let p = wgmma_ws_plan(&spec(&x, &wt, &y, &plain, 1), [128, 128, 128], 132).expect("taken");
        assert_eq!(p.persistent.map(|q| q.producers), Some(2));
        assert_eq!(p.block(), 512);
        let e = residual_epilogue();
        let mut s = spec(&x, &wt, &y, &e, 1);
        s.residual = Some(&r);
        s.check().unwrap();
        let p = wgmma_ws_plan(&s, [128, 128, 128], 132).expect("taken");
        assert_eq!(p.persistent.map(|q| q.producers), Some(1));
        assert_eq!(p.block(), 384);
    }

    #[test]
    fn the_warp_specialized_plan_runs_no_shortcut() {
        let (_, wg, ws) = shortcut_plans(8, 64, 64, 256, 1, 28, 4, [128, 64, 128]);
        // the plain wgmma kernel runs the pair; the warp-specialized one declines it
        assert!(wg.is_some_and(|p| p.shortcut.is_some()));
        assert_eq!(ws, None);
    }

    #[test]
    fn auto_leaves_one_tap_gemms_of_wide_k_to_the_staged_kernel() {
        // batch 256 at 28 x 28 (6,272 rows of 128 pixels, over four tiles an SM), 4-bit
        let family_of = |c: i64, o: i64, k: i64, choice: Choice| {
            let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [256, c, 28, 28]);
            let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [256, o, 28, 28]);
            let wt = weight(o, c, k, ElemType::I4);
            let e = Epilogue::none();
            let s = spec(&x, &wt, &y, &e, k);
            let tiling = choose_tiling(
                Target::Sm90a,
                [256 * 28 * 28, o, k * k * c],
                x.elem,
                wt.elem,
                None,
            );
            choose(&s, &tiling, Target::Sm90a, choice, None).family()
        };
        let auto = |c, o, k| family_of(c, o, k, Choice::Auto);
        // a 1x1 conv of 64 or 128 channels in (32 or 64 stored bytes a row): wgmma
        assert_eq!(auto(64, 64, 1), Family::Wgmma);
        assert_eq!(auto(128, 512, 1), Family::Wgmma);
        // 256 channels in or more (128 bytes a row, one to four K stages a tile): staged
        assert_eq!(auto(256, 64, 1), Family::Staged);
        assert_eq!(auto(1024, 256, 1), Family::Staged);
        // a 3x3 conv of as many channels has nine taps of K: wgmma
        assert_eq!(auto(256, 256, 3), Family::Wgmma);
        // `kernel=wgmma` still forces it
        assert_eq!(family_of(512, 128, 1, Choice::Wgmma), Family::Wgmma);
        // a conv of 64 bytes a row whose shortcut GEMM reads 128 (ResNet-50's first residual
        // conv of stage 2): the pair on the staged kernel
        let (_, wg, _) = shortcut_plans(256, 128, 256, 512, 1, 28, 4, [128, 64, 128]);
        let wg = wg.expect("the wgmma kernel takes the pair");
        assert!(!wgmma_pays(&wg, 132), "{wg:?}");
    }

    #[test]
    fn auto_takes_one_warpgroup_tiles_on_small_grids_where_they_pay() {
        // ResNet-50's 4-bit convs by stage (56, 28, 14, 7 a side for 64, 128, 256, 512
        // channels in), family by batch
        let (plain, sum) = (Epilogue::none(), residual_epilogue());
        let family_of = |n: i64, c: i64, o: i64, k: i64, residual: bool| {
            let hw = match c {
                ..=64 => 56,
                128 => 28,
                256 => 14,
                _ => 7,
            };
            let x = ActBuffer::new(Layout::NHWC, ElemType::U4, [n, c, hw, hw]);
            let y = ActBuffer::new(Layout::NHWC, ElemType::U4, [n, o, hw, hw]);
            let r = ActBuffer::new(Layout::NHWC, ElemType::I32, [n, o, hw, hw]);
            let wt = weight(o, c, k, ElemType::I4);
            let mut s = spec(&x, &wt, &y, &plain, k);
            if residual {
                s.residual = Some(&r);
                s.epilogue = &sum;
            }
            let gemm = [n * hw * hw, o, k * k * c];
            let tiling = choose_tiling(Target::Sm90a, gemm, x.elem, wt.elem, None);
            choose(&s, &tiling, Target::Sm90a, Choice::Auto, None).family()
        };
        // the residual conv over 64 channels: wgmma on its 64 x 64 tiles at every batch
        for n in [1, 8] {
            assert_eq!(family_of(n, 64, 256, 1, true), Family::Wgmma, "batch {n}");
        }
        // over 128 channels (stage 2's) the grid of two-warpgroup tiles still decides
        assert_eq!(family_of(8, 128, 512, 1, true), Family::Staged);
        // 64 -> 64 convs: wgmma where their 64 x 64 tiles fill a wave of 6 blocks an SM (batch
        // 16: 784 tiles), not at batch 8 (392)
        assert_eq!(family_of(16, 64, 64, 3, false), Family::Wgmma);
        assert_eq!(family_of(8, 64, 64, 3, false), Family::Staged);
        assert_eq!(family_of(16, 64, 64, 1, false), Family::Wgmma);
        // nor a one-tap conv over 256 channels, at any grid
        assert_eq!(family_of(16, 256, 64, 1, false), Family::Staged);
        assert_eq!(family_of(64, 256, 128, 1, false), Family::Staged);
        // 3x3 convs of 128-512 channels on 64 x 128 tiles (3 blocks an SM) from one wave:
        // stage 2 from batch 32 (392 tiles), stage 3 from 64, stage 4 from 128
        for (c, from) in [(128, 32), (256, 64), (512, 128)] {
            assert_eq!(
                family_of(from / 2, c, c, 3, false),
                Family::Staged,
                "{c} at {}",
                from / 2
            );
            assert_eq!(
                family_of(from, c, c, 3, false),
                Family::Wgmma,
                "{c} at {from}"
            );
        }
        // but not with a residual over more than 64 channels (ResNet-18's): staged
        assert_eq!(family_of(64, 128, 128, 3, true), Family::Staged);
        assert_eq!(family_of(256, 512, 512, 3, true), Family::Staged);
        // over 64 channels the residual conv still takes wgmma where its grid fills a wave
        assert_eq!(family_of(16, 64, 64, 3, true), Family::Wgmma);
    }

    #[test]
    fn signed_nibbles_are_scaled_only_while_the_accumulator_fits() {
        // u4 x s4: the weights are scaled; 15 * 8 * 16 * kel < 2^31 up to kel = 1118481
        assert_eq!(
            scaling(true, ElemType::U4, ElemType::I4, 4608),
            (false, true)
        );
        assert_eq!(
            scaling(true, ElemType::U4, ElemType::I4, 1_118_481),
            (false, true)
        );
        assert_eq!(
            scaling(true, ElemType::U4, ElemType::I4, 1_118_482),
            (false, false)
        );
        // s4 x s4: both, x256
        assert_eq!(
            scaling(true, ElemType::I4, ElemType::I4, 4608),
            (true, true)
        );
        assert_eq!(
            scaling(true, ElemType::I4, ElemType::I4, 1 << 17),
            (false, false)
        );
        // no widening (8-bit or native 4-bit MMA): nothing to scale
        assert_eq!(
            scaling(false, ElemType::I4, ElemType::I4, 9),
            (false, false)
        );
        assert_eq!(scaling(true, ElemType::U4, ElemType::U4, 9), (false, false));
    }
}
