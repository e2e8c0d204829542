//! `convert-qnn-to-tcconv{target=sm_XX tile=BMxBNxBK strategy=im2col kernel=auto|wgmma|wgmma_ws|mma|simple
//! shortcuts=fused|separate quantize=separate|fused streams=i32|narrow16 maps=i32|narrow16 tiles-per-block=N blocks-per-sm=N
//! weights=packed|widened|tiles}`:
//! every qnn function becomes a tcconv function on buffers, each op one kernel launch. Strategy
//! rules and the tile model live in `nibble_tcconv::lower`, the kernel family of each conv in
//! `nibble_tcconv::select` (documented there); this pass reads IR, runs them and writes IR.

use crate::diagnostics::{emit_error, emit_located};
use crate::pass::{NibblePass, PassOptions};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationLike, OperationRef};
use melior::ir::{Location, Module};
use melior::Context;
use nibble_qnn::ir::{graph_of_func, location_from_string};
use nibble_tcconv::lower::{
    lower, LowerOptions, PoolRequantize, ShortcutSums, StemChoice, StreamChoice, WeightStorage,
};
use nibble_tcconv::program::Strategy;
use nibble_tcconv::select::parse_tile;
use nibble_tcconv::select::Choice;
use nibble_tcconv::target::Target;

pub struct ConvertQnnToTcconv;

/// Does this func hold qnn ops?
pub fn is_qnn_func(op: &OperationRef) -> bool {
    let mut found = false;
    op.walk(melior::ir::operation::WalkOrder::PreOrder, |o| {
        if nibble_qnn::ir::is_qnn(&o) {
            found = true;
        }
        melior::ir::operation::WalkResult::Advance
    });
    found
}

/// The functions of a module that `f` selects (collected first: the caller edits the module).
pub fn funcs(module: &Module, f: impl Fn(&OperationRef) -> bool) -> Vec<mlir_sys::MlirOperation> {
    let mut out = vec![];
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("func.func") && f(&op) {
            out.push(op.to_raw());
        }
        cur = op.next_in_block();
    }
    out
}

/// Replace `old` (a func in the module body) by `new`.
pub fn replace_func(
    context: &Context,
    module: &Module,
    old: OperationRef,
    new: melior::ir::Operation,
) {
    let body = module.body();
    body.insert_operation_before(old, new);
    let rewriter = melior::IrRewriter::new(context);
    rewriter.as_rewriter_base().erase_op(old);
}

pub fn parse_options(
    context: &Context,
    options: &PassOptions,
) -> Result<(Target, LowerOptions), ()> {
    lower_options(options).map_err(|m| {
        emit_error(
            Location::unknown(context),
            &format!("convert-qnn-to-tcconv: {m}"),
        )
    })
}

/// A count option `name=N` with N in [1, max], if given.
fn count_option(options: &PassOptions, name: &str, max: i64) -> Result<Option<i64>, String> {
    options
        .get(name)
        .map(|n| {
            n.parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("{name} '{n}' is not a number in [1, {max}]"))
        })
        .transpose()
}

/// The pass's options as a target and lowering options, or what is wrong with them (no MLIR
/// needed: the `qnn-to-ptx` pipeline checks what it forwards before anything runs).
pub fn lower_options(options: &PassOptions) -> Result<(Target, LowerOptions), String> {
    let target = match options.get("target") {
        Some(t) => Target::parse(t)?,
        None => return Err("missing option target=sm_XX".into()),
    };
    let mut lo = LowerOptions::default();
    if let Some(t) = options.get("tile") {
        lo.tile = Some(parse_tile(t)?);
    }
    if let Some(k) = options.get("kernel") {
        lo.kernel = Choice::parse(k)
            .ok_or_else(|| format!("kernel={k} is not auto, wgmma, wgmma_ws, mma or simple"))?;
        // a forced warpgroup-MMA family on a target without wgmma would take no conv at all
        if matches!(lo.kernel, Choice::Wgmma | Choice::WgmmaWs) && !target.wgmma() {
            return Err(format!(
                "kernel={k} needs target=sm_90a (wgmma is an sm_90a instruction), not {target}"
            ));
        }
    }
    match options.get("strategy").map(String::as_str) {
        None | Some("auto") => {}
        Some("im2col") => lo.strategy = Some(Strategy::Im2col),
        Some(s) => return Err(format!("strategy '{s}' is not auto or im2col")),
    }
    match options.get("shortcuts").map(String::as_str) {
        None | Some("fused") => {}
        Some("separate") => lo.separate_shortcuts = true,
        Some(s) => return Err(format!("shortcuts '{s}' is not fused or separate")),
    }
    match options.get("quantize").map(String::as_str) {
        None | Some("separate") => {}
        Some("fused") => lo.fuse_quantize = true,
        Some(s) => return Err(format!("quantize '{s}' is not separate or fused")),
    }
    lo.streams = match options.get("streams").map(String::as_str) {
        None | Some("auto") => StreamChoice::Auto,
        Some("i32") => StreamChoice::I32,
        Some("narrow16") => StreamChoice::Narrow16,
        Some(s) => return Err(format!("streams '{s}' is not auto, i32 or narrow16")),
    };
    lo.maps = match options.get("maps").map(String::as_str) {
        None | Some("auto") => StreamChoice::Auto,
        Some("i32") => StreamChoice::I32,
        Some("narrow16") => StreamChoice::Narrow16,
        Some(s) => return Err(format!("maps '{s}' is not auto, i32 or narrow16")),
    };
    match options.get("pads").map(String::as_str) {
        None | Some("quantize") => {}
        Some("separate") => lo.separate_pads = true,
        Some(s) => return Err(format!("pads '{s}' is not separate or quantize")),
    }
    match options.get("pools").map(String::as_str) {
        None | Some("separate") => {}
        Some("dense") => lo.fuse_pools = true,
        Some(s) => return Err(format!("pools '{s}' is not separate or dense")),
    }
    match options.get("maxpool").map(String::as_str) {
        None | Some("separate") => {}
        Some("stem") => lo.fuse_max_pool = true,
        Some(s) => return Err(format!("maxpool '{s}' is not separate or stem")),
    }
    lo.pool_requantize = match options.get("pool-requantize").map(String::as_str) {
        None | Some("auto") => PoolRequantize::Auto,
        Some("separate") => PoolRequantize::Separate,
        Some("second") => PoolRequantize::Second,
        Some(s) => {
            return Err(format!(
                "pool-requantize '{s}' is not auto, separate or second"
            ))
        }
    };
    match options.get("split-k").map(String::as_str) {
        None | Some("warps") => {}
        Some("cluster") => lo.k_cluster = true,
        Some(s) => return Err(format!("split-k '{s}' is not warps or cluster")),
    }
    lo.widened_weights = match options.get("weights").map(String::as_str) {
        Some("packed") => WeightStorage::Packed,
        Some("widened") => WeightStorage::Widened,
        None | Some("tiles") => WeightStorage::Tiles,
        Some(s) => return Err(format!("weights '{s}' is not packed, widened or tiles")),
    };
    lo.staged_widened = match options.get("staged-weights").map(String::as_str) {
        None | Some("packed") => false,
        Some("widened") => true,
        Some(s) => return Err(format!("staged-weights '{s}' is not packed or widened")),
    };
    lo.shortcut_sums = match options.get("shortcut-sums").map(String::as_str) {
        Some("wide") => ShortcutSums::Wide,
        Some("bounded") => ShortcutSums::Bounded,
        None | Some("auto") => ShortcutSums::Auto,
        Some(s) => return Err(format!("shortcut-sums '{s}' is not wide, bounded or auto")),
    };
    lo.tiles_per_block = count_option(
        options,
        "tiles-per-block",
        nibble_tcconv::select::MAX_BLOCK_TILES,
    )?;
    lo.blocks_per_sm = count_option(
        options,
        "blocks-per-sm",
        nibble_tcconv::select::MAX_BLOCKS_PER_SM,
    )?;
    if let Some(s) = options.get("pdl-trigger") {
        lo.pdl_trigger = nibble_tcconv::program::PdlTrigger::parse(s)
            .ok_or_else(|| format!("pdl-trigger '{s}' is not mainloop, start or auto"))?;
    }
    lo.stem = match options.get("stem").map(String::as_str) {
        None | Some("auto") => StemChoice::Auto,
        Some("s2d") => StemChoice::SpaceToDepth,
        Some("plain") => StemChoice::Plain,
        Some(s) => return Err(format!("stem '{s}' is not auto, s2d or plain")),
    };
    match options.get("chains").map(String::as_str) {
        None | Some("none") => {}
        Some("pairs") => lo.chain = 2,
        Some("cluster") => lo.chain = nibble_tcconv::lower::CHAIN_MAX_LEN,
        Some("wide") => {
            lo.chain = nibble_tcconv::lower::CHAIN_MAX_LEN;
            lo.chain_wide = true;
        }
        Some("cluster16") => {
            lo.chain = nibble_tcconv::lower::CHAIN_MAX_LEN;
            lo.chain_tiles = nibble_tcconv::select::CHAIN_CLUSTER_LIMIT;
        }
        Some(s) => {
            return Err(format!(
                "chains '{s}' is not none, pairs, cluster, wide or cluster16"
            ))
        }
    }
    Ok((target, lo))
}

impl NibblePass for ConvertQnnToTcconv {
    fn name(&self) -> &'static str {
        "convert-qnn-to-tcconv"
    }
    fn summary(&self) -> &'static str {
        "Lower qnn functions to tcconv kernels on buffers (strategy, tiles, pre-packed weights)"
    }
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("target", "sm_75 | sm_80 | sm_86 | sm_89 | sm_90 | sm_90a (required)"),
            (
                "tile",
                "BMxBNxBK block tile for every conv, overriding the tile model",
            ),
            ("strategy", "auto (rules) | im2col (every conv)"),
            ("shortcuts", "fused (default): a 1x1 conv that only feeds a conv's residual runs in that conv's kernel as a second GEMM on its output tile, where the conv's kernel family (staged, wgmma) takes it | separate: its own kernel"),
            ("quantize", "separate (default): every input quantize is a kernel of its own | fused: an input quantize whose only reader is a 3-channel stem conv run by the register-MMA kernel (taps along K) on a grid of at most 8 warps an SM is computed in that conv's loader (one launch less; its loader quantizes each value once per tap and channel tile: slower on an H200 at batch 1)"),
            ("streams", "auto (default): narrow16 on sm_90a at batch >= 16 (NARROW_STREAMS_MIN_BATCH) and for streams of 4 M elements or more (NARROW_STREAMS_MIN_ELEMENTS), i32 elsewhere | i32: residual streams in 32-bit words | narrow16: the streams between convs as i16, a value outside [-32767, 32766] saturated to a marker and exact in a 32-bit plane (half the bytes, a saturating pack and the escape tests in the epilogue)"),
            ("maps", "auto (default): narrow16 on sm_90a at batch >= 16 (NARROW_STREAMS_MIN_BATCH), i32 elsewhere | i32: i16 maps in 32-bit words | narrow16: an i16 map that only convs (output, residual), max pools and requantizes touch (ResNet-18's stem output and pooled map) as i16 in narrow16 storage, its two end values escapes into a 32-bit plane (half the bytes; H100, ResNet-18 W4A4 b64 / b256: 2.7% / 3.1% faster than i32)"),
            ("pads", "quantize (default): a conv padding with a non-zero value (an input zero point) reads its input padded by the quantize that writes it, where that quantize has no other reader (one kernel fewer) | separate: a tcconv.pad kernel pads the input"),
            ("pools", "separate (default): every pool is a kernel of its own | dense: a global max / average pool whose only reader is a dense layer runs in that layer's kernel at batch <= 8 (one launch fewer; bit-exact, slower on an H100 at batch 1)"),
            ("maxpool", "separate (default): every max pool is a kernel of its own | stem: a max pool whose input only it reads runs in the kernel of the 3-channel stem conv that writes it (register-MMA, packed 4-bit output of <= 64 channels) at batch <= 8, each block recomputing the conv over its pooled tile's halo (one launch fewer; the conv's map never stored)"),
            ("pool-requantize", "auto (default): second at batch >= 16 (POOL_SECOND_MIN_BATCH), separate below | separate: a requantize of a pool's map is a kernel of its own | second: a requantize of a max / average pool's map that other ops read too (ResNet-18's pooled stem map: the first unit's residual reads it as it is, its first conv the 4-bit requantize) runs in the pool's kernel as a second output of the map's layout (tcconv.pool2d with a third operand and second_* attributes; one launch fewer, the map not read back; H100, ResNet-18 W4A4 sm_90a: batch 1 / 8 3.9% / 4.2% slower, batch 256 5.1% faster)"),
            ("stem", "auto (default): s2d at batch >= 16 (SPACE_TO_DEPTH_MIN_BATCH), plain below | s2d: a stride-b conv (b >= 2, a kernel of at least b x b) of a quantized image whose pixels are fewer than 16 bytes reads the space-to-depth map the quantize writes (b b times the channels, each pixel a 16-byte row) as a stride-1 conv without padding of a ceil(K / b) kernel, where the staged or wgmma kernel takes it (ResNet's 7x7 / 2 stem over 3 channels: 4x4 over 16 channels) | plain: the conv reads the quantize's map as it is"),
            ("split-k", "warps (default): a staged conv of few tiles and a long K loop slices K across the warps of its blocks | cluster: also across the blocks of a thread-block cluster (sm_90+; tcconv.conv2d {k_cluster = N}): 1.8-6.4% slower at batch 1 on an H100, where its launches cannot be programmatic"),
            ("blocks-per-sm", "each family's rule (default) | 1 .. 16: the staged and wgmma conv kernels built for that many blocks an SM (`.minnctapersm`: ptxas keeps a thread's registers within the SM's share), or for the most their shared memory, threads and registers allow (tcconv.conv2d {blocks_per_sm = N})"),
            ("tiles-per-block", "1 (default) .. 8: each block of the wgmma kernel over 4-bit operands computes that many output tiles one after another (block b: tiles b, b + G, ... of a grid of G), the first stages of its next tile loaded while the tile before runs its epilogue (tcconv.conv2d {tiles_per_block = N})"),
            ("weights", "tiles (default): as widened, and laid out in the wgmma kernel's stage tiles (tcconv.weight {tiles = [BN, K bytes]}: one bulk copy a stage, completing on the slot's mbarrier) where the kernel computes one tile a block (H100, ResNet-50 W4A4 b256: 4.4% faster than packed) | packed: every weight stored in its own width | widened: the 4-bit weight of each wgmma conv over 4-bit inputs stored one byte a value, in the order the kernel widens the input's K into (tcconv.weight {widened = true}: twice the weight's bytes; the kernel copies its weight tiles with cp.async instead of widening them)"),
            ("staged-weights", "packed (default): the staged convs' 4-bit weights in their own width, widened in the main loop like the input | widened: on sm_90 / sm_90a, the 4-bit weight of each staged conv over 4-bit inputs stored one byte a value in the order the kernel widens the input's K into (tcconv.weight {widened = true}), where the plan keeps its blocks an SM and at least 3 stages: the main loop widens the input only (twice the weight's bytes a stage; H100, ResNet-50 W4A4 b8 / b64 / b256: -0.1% / -0.2% / +0.5%)"),
            ("shortcut-sums", "auto (default): bounded on the wgmma kernel and on the staged kernel over 4-bit operands without sliced K, where the branch keeps the kernel's register budget (H100, ResNet-50 W4A4 sm_90a: batch 8 / 256 0.4% / 0.75% faster than wide) | wide: a conv with a shortcut GEMM (ResNet's first units) sums its two requantized terms in 64 bits and saturates the sum to i32 | bounded: where the epilogue's scales and both GEMMs' accumulator ranges bound the sum within i32 for biases up to a limit, the staged and wgmma kernels add the terms in 32 bits, branching an n-tile on whether its biases lie within the limit (tcconv.conv2d {bounded_sum = true}; ResNet-50 W4A4 batch 256, sm_90a: 5-12% fewer SASS instructions in the first units' kernels)"),
            ("pdl-trigger", "auto (default): with programmatic dependent launch (sm_90 / sm_90a), a tensor-core conv kernel lets its successor launch at its start where the successor's blocks run at most 4 K stages (a 1x1 conv, or no conv), else after its main loop; the other kernels at their start | mainloop: every conv after its main loop | start: every kernel at its start (tcconv.pdl_trigger; on an H100 at batch 1, auto against mainloop: ResNet-50 W4A4 -3.2%, W8A8 -3.8%, ResNet-18 unchanged)"),
            ("chains", "none (default): every conv a kernel of its own | cluster: at batch <= 8, a staged conv and the 1x1 convs after it (stride 1, no padding, each of the output of the one before) run in one kernel over thread-block clusters of up to 8 blocks, a cluster an M tile of every conv: its blocks compute one conv's N tiles, meet at a cluster barrier, then compute the next's (ResNet-50: a unit's 3x3 conv, its residual conv and the next unit's reducing conv; each conv on its narrowest tile, up to 8 N tiles) | wide: the same, each conv on its widest tile (the smallest cluster) | cluster16: as cluster, up to 16 N tiles a conv on clusters of up to 16 blocks (a non-portable size, H100 / H200; ResNet-50's stage 4 too) | pairs: as cluster, two convs a chain at most (all bit-exact, and slower than none on an H100 at batch 1 and 8: bench/RESULTS.md)"),
            ("kernel", "auto (default): the best conv kernel family that takes each conv (wgmma on sm_90a for 4-bit convs on grids of four 128-row tiles an SM but for 1x1 GEMMs of 256 or more 4-bit channels in, staged, else mma, else simple) | wgmma: wgmma wherever it takes the conv (sm_90a) | mma: register-only tensor-core kernels at most | simple: CUDA-core kernels only"),
        ]
    }
    fn run(&self, context: &Context, module: &mut Module, options: &PassOptions) -> Result<(), ()> {
        let (target, lo) = parse_options(context, options)?;
        for raw in funcs(module, is_qnn_func) {
            let func = unsafe { OperationRef::from_raw(raw) };
            let g = graph_of_func(func)
                .map_err(|e| emit_error(location_from_string(context, &e.loc), &e.message))?;
            if let Err(errs) = nibble_qnn::verify::verify_graph(&g) {
                for e in errs {
                    emit_located(context, func.location(), &e);
                }
                return Err(());
            }
            let p =
                lower(&g, target, &lo).map_err(|e| emit_located(context, func.location(), &e))?;
            let new = nibble_tcconv::ir::build_func(context, &p, func.location())
                .map_err(|e| emit_error(func.location(), &e))?;
            replace_func(context, module, func, new);
        }
        Ok(())
    }
}
