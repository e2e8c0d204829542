//! `convert-tcconv-to-gpu{target=sm_XX}`: tcconv functions -> one `gpu.module @kernels` with a
//! `gpu.func ... kernel` per tcconv op, and the host function with each tcconv op replaced by a
//! `gpu.launch_func` on the same buffers. Then [`gpu_to_ptx`] turns the gpu.module into PTX.
//!
//! Conventions (what the launch plan and the runtime rely on):
//! - The builtin.module gets `gpu.container_module`; kernels go into the (created or existing)
//!   `gpu.module @kernels` after the host functions. Kernel names:
//!   `<func>_<i>_<mnemonic>` (i = the op's position among the function's kernels).
//! - Kernel arguments are the tcconv op's operands, in operand order (quantize /
//!   dequantize / relayout / pool2d: input, output; elementwise: inputs..., output;
//!   conv2d: input, weight, bias?, residual?, output; dense: input, weight, bias?, output), and
//!   each kernel argument has exactly the buffer's memref type (`memref<1x56x56x8xi32>`), so the
//!   host passes the `tcconv.alloc` / `tcconv.weight` / function-argument values unchanged (no
//!   host-side casts). Then the kernel's constant tables (per-channel requantize multipliers
//!   and shifts where channels differ, dequantize scales), each a `memref<N x i32>`: the host
//!   passes a `memref.get_global` of a module-level `memref.global "private" constant
//!   @<kernel>_<what>` (placed before the gpu.module; equal tables are one global), which the
//!   artifact turns into a constant weight slot. Values never baked into a kernel let layers
//!   of one shape share it: a kernel whose text equals an earlier one's but for its name is not
//!   added again, its op launches the earlier one (ResNet-50: 60 launches of 36 kernels). Shapes are static: with `use-bare-ptr-memref-call-conv=1` every argument
//!   is one `.param .u64` pointer. Inside, each argument is viewed as a 1-D memref of its stored
//!   elements (`memref.reinterpret_cast`) and addressed by slot (see `layout.rs`).
//! - Every kernel is 1-D: `threads in (B, 1, 1)`, `blocks in (ceil(T / B), 1, 1)` with T the
//!   kernel's thread count, guarded by `if t < T`: B = 256 and one thread per output group
//!   (see `layout::out_plan`) for the elementwise / pool / simple kernels, B = 128 for
//!   `mma.rs`, B = 32 x warps of the block tile for `staged.rs`. Shared memory is static
//!   (workgroup attributions, 16-byte aligned, <= 48 KiB); no dynamic arguments: shapes are
//!   baked into the kernel.
//! - `tcconv.alloc` / `tcconv.weight` stay in the host function (the launch plan reads them).
//!
//! This pass decides nothing: each `tcconv.conv2d` names its kernel family (`family`, chosen by
//! `nibble_tcconv::select` in convert-qnn-to-tcconv) and the plan comes from
//! `select::realize`; a family that does not take its op is a located error.
//!
//! Kernel families: `elementwise.rs` (quantize, dequantize, relayout, requantize / add / relu /
//! clamp), `pool.rs` (max / avg), `conv.rs` (simple CUDA-core conv2d and dense with the fused
//! epilogue), `wgmma.rs` (sm_90a warpgroup-MMA conv on shared-memory matrix descriptors),
//! `staged.rs` (tensor-core conv: cp.async pipeline + ldmatrix, the tcconv tiling), `mma.rs`
//! (tensor-core conv from registers, split K; small grids and sm_75); helpers in `builder/`
//! (the op builder and its arithmetic; intrinsics, memory, control flow and quantization
//! helpers by topic); every family reads its operands through `layout.rs` (slot formulas,
//! storage access, window taps, GEMM-row pixels) and ends in `epilogue.rs` (the fused
//! epilogue and, for the tensor-core families, its store of a warp's accumulator tile).

pub mod builder;
pub mod chain;
pub mod chunks;
pub mod conv;
pub mod dense_pool;
pub mod depthwise;
pub mod elementwise;
pub mod epilogue;
pub mod kernel_cache;
pub mod layout;
pub mod llvm_backend;
pub mod mma;
pub mod nvptx_guard;
pub mod pool;
pub mod signature;
pub mod softmax;
pub mod staged;
pub mod wgmma;
pub mod wgmma_ws;

use crate::conversion::qnn_to_tcconv::funcs;
use crate::diagnostics::emit_error;
use crate::pass::{NibblePass, PassOptions};
use builder::{build_kernel, Table};
use melior::ir::attribute::AttributeLike;
use melior::ir::attribute::{
    DenseElementsAttribute, DenseI32ArrayAttribute, FlatSymbolRefAttribute, IntegerAttribute,
    StringAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike, OperationMutLike, OperationRef};
use melior::ir::r#type::RankedTensorType;
use melior::ir::{
    Attribute, Block, Identifier, Location, Module, Operation, Region, RegionLike, Type, Value,
    ValueLike,
};
use melior::pass::PassManager;
use melior::utility::parse_pass_pipeline;
use melior::Context;
use nibble_tcconv::ir::program_of_func;
use nibble_tcconv::program::{Program, TcOp};
use nibble_tcconv::select::{self, Kernel};
use nibble_tcconv::target::Target;
use nibble_tcconv::verify;
use std::collections::HashMap;

pub struct ConvertTcconvToGpu;

/// Name of the gpu.module holding every kernel.
pub const GPU_MODULE: &str = "kernels";

/// Launch configuration of one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    pub grid: [i64; 3],
    pub block: [i64; 3],
    /// Dynamic shared memory bytes (`gpu.dynamic_shared_memory`; 0: none).
    pub shared_bytes: i64,
}

impl Launch {
    fn linear(threads: i64, block: i64, shared_bytes: i64) -> Self {
        Launch {
            grid: [((threads + block - 1) / block).max(1), 1, 1],
            block: [block, 1, 1],
            shared_bytes,
        }
    }
}

/// The PTX ISA version given to `nvvm-attach-target` per target: the lowest LLVM 22 accepts
/// for the chip and for the `mma.sync` forms the kernels use (sm_75's integer m8n8k32 /
/// m8n8k16 need PTX 6.5: with 6.3 LLVM's instruction selection aborts the process). The
/// driver JIT of CUDA 13 reads all of them.
pub fn ptx_version(t: Target) -> u32 {
    match t {
        Target::Sm75 => 65,
        Target::Sm80 => 70,
        Target::Sm86 => 71,
        Target::Sm89 | Target::Sm90 => 78,
        // wgmma needs PTX 8.0, with u8 x s8 operands 8.4
        Target::Sm90a => 84,
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Is `op` a tcconv function (a `func.func` carrying `tcconv.target`)?
pub fn is_tcconv_func(op: &OperationRef) -> bool {
    op.has_attribute("tcconv.target")
}

/// The attribute of `gpu.module @kernels` naming the target its kernels are built for.
pub const TARGET_ATTR: &str = "nibble.target";

/// The `gpu.module @kernels` of the module (created at the end of the body if missing).
fn gpu_module<'c, 'a>(context: &'c Context, module: &'a Module<'c>) -> OperationRef<'c, 'a> {
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("gpu.module")
            && op
                .attribute("sym_name")
                .ok()
                .and_then(|a| StringAttribute::try_from(a).ok())
                .map(|s| nibble_qnn::ir::string_text(s) == Ok(GPU_MODULE))
                == Some(true)
        {
            return op;
        }
        cur = op.next_in_block();
    }
    let region = Region::new();
    region.append_block(Block::new(&[]));
    let op = OperationBuilder::new("gpu.module", Location::unknown(context))
        .add_attributes(&[(
            Identifier::new(context, "sym_name"),
            StringAttribute::new(context, GPU_MODULE).into(),
        )])
        .add_regions([region])
        .build()
        .expect("gpu.module");
    module.body().append_operation(op)
}

/// Build the kernel of `op` (the `i`-th kernel of program `p`); `arg_types` = the host
/// operands' memref types; `early`: a tensor-core conv lets its successor launch at its start
/// ([`trigger_at_start`]). Returns the gpu.func, the constant tables it takes after the
/// operands, and its launch configuration.
pub fn build_op_kernel<'c>(
    context: &'c Context,
    loc: Location<'c>,
    name: &str,
    p: &nibble_tcconv::program::Program,
    op: &TcOp,
    arg_types: &[Type<'c>],
    early: bool,
) -> Result<(Operation<'c>, Vec<Table>, Launch), String> {
    let b = &p.buffers;
    // the kernel family the op records (tcconv's selection), realized
    let kernel = match op {
        TcOp::Conv2d(c) => {
            // a fused input quantize as tcconv-verify checks it (it may not have run)
            let checked = verify::input_quantize_operands(c, b).and_then(|()| {
                let spec = conv::ConvSpec::conv(c, b, &p.weights);
                let k = select::realize(c.family, &spec, &c.tiling, p.target)?;
                verify::input_quantize_kernel(c, &k).map(|()| k)
            });
            checked.map_err(|e| format!("tcconv.conv2d: {e}"))?
        }
        _ => Kernel::Simple,
    };
    let pooled = match op {
        TcOp::Dense(d) => d
            .pool
            .as_ref()
            .map(|pl| (pl, conv::ConvSpec::dense(d, b, &p.weights))),
        _ => None,
    };
    // shared memory: a conv with its max pool stages the map's tile (every channel of 128
    // rows), the others as their family needs
    let words = match (op, &pooled, &kernel) {
        (TcOp::Conv2d(c), _, Kernel::Mma(_)) if c.pool.is_some() => {
            Some(mma::PoolPlan::smem_words(b[c.output].dims[1]))
        }
        (_, Some((pl, spec)), _) => Some(dense_pool::smem_words(spec, pl)),
        (_, _, Kernel::Staged(sp)) => Some(sp.smem_words()),
        (_, _, Kernel::Mma(mp)) if mp.split > 1 => Some(mma::smem_words(mp)),
        _ => None,
    };
    let workgroup: Vec<Type> = words
        .map(|w| builder::workgroup_i32(context, w))
        .into_iter()
        .collect();
    let block = match &kernel {
        _ if pooled.is_some() => dense_pool::DENSE_POOL_THREADS,
        Kernel::Staged(sp) => sp.block(),
        Kernel::Wgmma(wp) => wp.block(),
        Kernel::Mma(_) => mma::MMA_BLOCK_THREADS,
        Kernel::Simple => elementwise::SIMPLE_BLOCK_THREADS,
    };
    let mut threads = 0i64;
    let mut err = None;
    let (mut f, tables) = build_kernel(
        context,
        loc,
        name,
        arg_types,
        &workgroup,
        block,
        |kb, args| {
            kb.simd16 = p.target.simd16();
            // programmatic dependent launch: nothing another kernel writes is read before the
            // predecessor has finished. Every kernel waits first, but the staged conv, which
            // copies its first weight stage before (`wait_for_producer`). A tensor-core conv
            // lets its successor be scheduled after its main loop (`epilogue::store_tile`) or,
            // `early`, right after its wait; the other kernels, short loops over their
            // outputs, right after their wait
            if p.target.programmatic_launch() {
                kb.programmatic_launch = true;
                let conv = matches!(
                    kernel,
                    Kernel::Staged(_) | Kernel::Wgmma(_) | Kernel::Mma(_)
                );
                let trigger = early || !conv;
                kb.producer_wait = Some(builder::ProducerWait { trigger });
                if !matches!((op, &kernel), (TcOp::Conv2d(_), Kernel::Staged(_))) {
                    kb.wait_for_producer();
                }
            }
            let r = match op {
                TcOp::Quantize {
                    input,
                    output,
                    scale,
                    zero_point,
                    mode,
                    padding,
                    padding_value,
                    space_to_depth,
                    pre,
                } => elementwise::quantize(
                    kb,
                    args,
                    &b[*input],
                    &b[*output],
                    (*scale, *zero_point, *mode),
                    (*padding, *padding_value),
                    *space_to_depth,
                    pre,
                ),
                TcOp::Pad {
                    input,
                    output,
                    padding,
                    value,
                } => elementwise::pad(kb, args, &b[*input], &b[*output], *padding, *value),
                TcOp::Dequantize {
                    input,
                    output,
                    scales,
                } => elementwise::dequantize(kb, args, &b[*input], &b[*output], scales),
                TcOp::Relayout { input, output } => {
                    elementwise::relayout(kb, args, &b[*input], &b[*output])
                }
                TcOp::Gather {
                    input,
                    output,
                    indices,
                } => elementwise::gather_channels(kb, args, &b[*input], &b[*output], indices),
                TcOp::Softmax {
                    input,
                    output,
                    table,
                    scale,
                    zero_point,
                } => softmax::softmax(
                    kb,
                    args,
                    &b[*input],
                    &b[*output],
                    table,
                    *scale,
                    *zero_point,
                ),
                TcOp::Concat { inputs, output } => {
                    let ins: Vec<_> = inputs.iter().map(|i| &b[*i]).collect();
                    elementwise::concat(kb, args, &ins, &b[*output])
                }
                TcOp::Elementwise {
                    op: e,
                    inputs,
                    output,
                } => {
                    let ins: Vec<_> = inputs.iter().map(|i| &b[*i]).collect();
                    elementwise::elementwise(kb, args, e, &ins, &b[*output])
                }
                TcOp::Pool {
                    kind,
                    input,
                    output,
                    kernel,
                    strides,
                    padding,
                    divisor,
                    requantize,
                    second,
                } => pool::pool(
                    kb,
                    args,
                    *kind,
                    (&b[*input], &b[*output]),
                    second.as_ref().map(|s| (&b[s.output], &s.requantize)),
                    (*kernel, *strides, *padding),
                    *divisor,
                    requantize.as_ref(),
                ),
                TcOp::Conv2d(c) => {
                    let spec = conv::ConvSpec::conv(c, b, &p.weights);
                    match &kernel {
                        Kernel::Staged(sp) => staged::conv(kb, args, &spec, sp),
                        Kernel::Wgmma(wp) if wp.persistent.is_some() => {
                            wgmma_ws::conv(kb, args, &spec, wp)
                        }
                        Kernel::Wgmma(wp) => wgmma::conv(kb, args, &spec, wp),
                        Kernel::Mma(mp) => mma::conv(kb, args, &spec, mp),
                        Kernel::Simple => conv::simple(kb, args, &spec),
                    }
                }
                TcOp::Dense(d) => {
                    let spec = conv::ConvSpec::dense(d, b, &p.weights);
                    match &d.pool {
                        Some(pl) => dense_pool::dense_pool(kb, args, &spec, pl),
                        None => conv::dense_warp(kb, args, &spec),
                    }
                }
            };
            match r {
                Ok(_) if kb.producer_wait.is_some() => {
                    err = Some("internal: the kernel never waits for its producer".into())
                }
                Ok(t) => threads = t,
                Err(e) => err = Some(e),
            }
        },
    );
    if let Some(e) = err {
        return Err(format!("tcconv.{}: {e}", op.mnemonic()));
    }
    if kernel != Kernel::Simple {
        // `.minnctapersm`: the op's `blocks_per_sm`, else the family's rule
        let blocks = match op {
            TcOp::Conv2d(c) => kernel.blocks_per_sm(
                c.tiling.blocks_per_sm,
                &conv::ConvSpec::conv(c, b, &p.weights),
                p.target,
            ),
            _ => 1,
        };
        let i32t = Type::parse(context, "i32").expect("i32");
        f.set_attribute("nvvm.minctasm", IntegerAttribute::new(i32t, blocks).into());
    }
    // a K split across a thread-block cluster: the cluster's shape is the kernel's
    // (`.reqnctapercluster`), so a plain launch forms the clusters
    if let Kernel::Staged(sp) = &kernel {
        if sp.cluster > 1 {
            let dims = DenseI32ArrayAttribute::new(context, &[sp.cluster as i32, 1, 1]);
            f.set_attribute("nvvm.cluster_dim", dims.into());
        }
    }
    // the wgmma kernel's shared memory is dynamic: more than the 48 KiB a kernel may declare
    let shared_bytes = match &kernel {
        Kernel::Wgmma(wp) => 4 * wp.smem_words(),
        _ => 0,
    };
    Ok((f, tables, Launch::linear(threads, block, shared_bytes)))
}

/// Index constants of a host function, created once at the top of its body.
struct HostConsts<'c> {
    block: mlir_sys::MlirBlock,
    made: Vec<(i64, mlir_sys::MlirValue)>,
    _c: std::marker::PhantomData<&'c ()>,
}

impl<'c> HostConsts<'c> {
    fn get(&mut self, context: &'c Context, loc: Location<'c>, v: i64) -> Value<'c, 'static> {
        if let Some((_, x)) = self.made.iter().find(|(k, _)| *k == v) {
            return unsafe { Value::from_raw(*x) };
        }
        let index = Type::index(context);
        let c = OperationBuilder::new("arith.constant", loc)
            .add_attributes(&[(
                Identifier::new(context, "value"),
                IntegerAttribute::new(index, v).into(),
            )])
            .add_results(&[index])
            .build()
            .expect("arith.constant");
        let block = unsafe { melior::ir::BlockRef::from_raw(self.block) };
        let c = block.insert_operation(self.made.len(), c);
        let x = c.result(0).unwrap().to_raw();
        self.made.push((v, x));
        unsafe { Value::from_raw(x) }
    }
}

/// Insert `gpu.launch_func @kernels::@name blocks in grid threads in block args(operands)`
/// before `before`.
fn insert_launch<'c>(
    context: &'c Context,
    consts: &mut HostConsts<'c>,
    before: OperationRef<'c, '_>,
    name: &str,
    l: Launch,
    operands: &[Value<'c, '_>],
) {
    let block = before.block().expect("op in a block");
    let loc = before.location();
    let mut all: Vec<Value> = l
        .grid
        .iter()
        .chain(&l.block)
        .map(|v| consts.get(context, loc, *v))
        .collect();
    let sym = Attribute::parse(context, &format!("@{GPU_MODULE}::@{name}")).expect("kernel symbol");
    let dynamic = (l.shared_bytes > 0) as i32;
    if l.shared_bytes > 0 {
        let i32t = Type::parse(context, "i32").expect("i32");
        let c = OperationBuilder::new("arith.constant", loc)
            .add_attributes(&[(
                Identifier::new(context, "value"),
                IntegerAttribute::new(i32t, l.shared_bytes).into(),
            )])
            .add_results(&[i32t])
            .build()
            .expect("arith.constant");
        let c = block.insert_operation_before(before, c);
        all.push(c.result(0).expect("constant").into());
    }
    let seg = DenseI32ArrayAttribute::new(
        context,
        &[
            0,
            1,
            1,
            1,
            1,
            1,
            1,
            0,
            0,
            0,
            dynamic,
            operands.len() as i32,
            0,
        ],
    );
    all.extend_from_slice(operands);
    let launch = OperationBuilder::new("gpu.launch_func", loc)
        .add_operands(&all)
        .add_attributes(&[
            (Identifier::new(context, "kernel"), sym),
            (Identifier::new(context, "operandSegmentSizes"), seg.into()),
        ])
        .build()
        .expect("gpu.launch_func");
    block.insert_operation_before(before, launch);
}

/// Convert one tcconv function: kernels into `gm`, launches into the function.
fn convert_func<'c>(
    context: &'c Context,
    func: OperationRef<'c, '_>,
    gm: OperationRef<'c, '_>,
    opts: &GpuOptions,
    cache: Option<&std::path::Path>,
    kernels: &mut Built,
) -> Result<(), ()> {
    let p = program_of_func(func).map_err(|e| {
        emit_error(
            crate::conversion::tcconv_to_gpu::loc_of(context, &e.loc, func),
            &e.message,
        )
    })?;
    // an op the tcconv verifier refuses gets no kernel (its checks are the kernels' premises)
    crate::transforms::tcconv_verify::check_program(func, &p)?;
    let target = opts.target;
    if p.target != target {
        emit_error(
            func.location(),
            &format!(
                "convert-tcconv-to-gpu: function '{}' was lowered for {} but the target is {target}",
                p.name, p.target
            ),
        );
        return Err(());
    }
    let gm_body = gm.region(0).unwrap().first_block().unwrap();
    let fname = sanitize(&p.name);
    let body = func.region(0).unwrap().first_block().unwrap();
    let mut cur = body.first_operation();
    let mut i = 0usize;
    let rewriter = melior::IrRewriter::new(context);
    let mut consts = HostConsts {
        block: body.to_raw(),
        made: vec![],
        _c: std::marker::PhantomData,
    };
    while let Some(op) = cur {
        cur = op.next_in_block();
        let name = op.name().as_string_ref().as_str().unwrap_or("").to_owned();
        if !is_launched(&name) {
            continue;
        }
        let Some(top) = p.ops.get(i) else {
            emit_error(
                op.location(),
                "convert-tcconv-to-gpu: more tcconv ops than the program read back",
            );
            return Err(());
        };
        let mut h = Host {
            context,
            gm,
            gm_body,
            body,
            consts: &mut consts,
            kernels,
            cache,
            target,
        };
        // a chain: this conv and the convs of its chain after it, one kernel and one launch
        if let TcOp::Conv2d(nibble_tcconv::program::Conv {
            chain: Some(id), ..
        }) = top
        {
            let (mut ops, mut tops) = (vec![op], vec![top]);
            while let Some(next) = cur {
                let nm = next
                    .name()
                    .as_string_ref()
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                if !is_launched(&nm) {
                    cur = next.next_in_block();
                    continue;
                }
                match p.ops.get(i + tops.len()) {
                    Some(t @ TcOp::Conv2d(c)) if c.chain == Some(*id) => {
                        ops.push(next);
                        tops.push(t);
                        cur = next.next_in_block();
                    }
                    _ => break,
                }
            }
            let kname = format!("{fname}_{i}_chain");
            h.chain(&p, &kname, &ops, &tops)?;
            for o in ops {
                rewriter.as_rewriter_base().erase_op(o);
            }
            i += tops.len();
            continue;
        }
        let kname = format!("{fname}_{i}_{}", top.mnemonic());
        let mut operands: Vec<Value> = op.operands().collect();
        let types: Vec<Type> = operands.iter().map(|v| v.r#type()).collect();
        let fail = |e: String| emit_error(op.location(), &format!("convert-tcconv-to-gpu: {e}"));
        let type_names: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        let early = trigger_at_start(&p, i);
        let sig = signature::signature(&p, top, &type_names, early).map_err(fail)?;
        // one tcconv op, one kernel, one launch: an op of a signature seen before launches
        // that kernel with its own tables
        let (kernel, tables, launch) = h
            .kernel_for(
                &sig,
                &kname,
                |whats| op_tables(&p, top, whats),
                || build_op_kernel(context, op.location(), &kname, &p, top, &types, early),
            )
            .map_err(fail)?;
        operands.extend(h.table_operands(op, &kname, &tables));
        let run = h.kernel_name(op.location(), &kname, &sig, kernel, launch, &tables, &types);
        h.insert_launch(op, &run, launch, &operands);
        rewriter.as_rewriter_base().erase_op(op);
        i += 1;
    }
    Ok(())
}

/// Main-loop K stages a block of the next kernel runs at most for a tensor-core conv to let
/// it launch at its start (`pdl-trigger=auto`). Measured on an H100 at batch 1 with the
/// trigger moved kernel by kernel (`bench/move_trigger.py`): before 1x1 convs (1-4 stages a
/// block) the start pays (ResNet-50 W4A4: -1.2% for its 3x3 convs, -2.1% for its expanding
/// 1x1 convs); before 3x3 convs (5 stages and more) it costs (ResNet-18's stages 1-3: +1.0%,
/// +1.9%, +2.5%; ResNet-50's reducing 1x1 convs: +0.7%).
pub const AUTO_TRIGGER_ITERS: i64 = 4;

/// Whether the tensor-core conv kernel of op `i` of `p` lets its successor launch at its start
/// (`tcconv.pdl_trigger`): never (`mainloop`), always (`start`), or (`auto`) where the next
/// op's blocks run at most [`AUTO_TRIGGER_ITERS`] main-loop stages ([`main_loop_stages`]).
pub fn trigger_at_start(p: &nibble_tcconv::program::Program, i: usize) -> bool {
    use nibble_tcconv::program::PdlTrigger;
    // (the other kernels always do, and before sm_90 no launch is programmatic: no flag, so
    // that equal kernels stay one)
    if !p.target.programmatic_launch() || !matches!(p.ops.get(i), Some(TcOp::Conv2d(_))) {
        return false;
    }
    match p.pdl_trigger {
        PdlTrigger::MainLoop => false,
        PdlTrigger::Start => true,
        PdlTrigger::Auto => p
            .ops
            .get(i + 1)
            .is_none_or(|next| main_loop_stages(p, next) <= AUTO_TRIGGER_ITERS),
    }
}

/// The K stages a block of `op`'s kernel runs: a staged or wgmma conv's (its share of a
/// cluster's); 0 for the other kernels, short loops over their outputs.
pub fn main_loop_stages(p: &nibble_tcconv::program::Program, op: &TcOp) -> i64 {
    let TcOp::Conv2d(c) = op else {
        return 0;
    };
    let spec = conv::ConvSpec::conv(c, &p.buffers, &p.weights);
    match select::realize(c.family, &spec, &c.tiling, p.target) {
        Ok(Kernel::Staged(sp)) => sp.rank_iters(),
        Ok(Kernel::Wgmma(wp)) => wp.iters(),
        _ => 0,
    }
}

/// Whether a host-function op is a tcconv op that launches a kernel (not an allocation or a
/// weight).
fn is_launched(name: &str) -> bool {
    name.starts_with("tcconv.") && name != "tcconv.alloc" && name != "tcconv.weight"
}

/// What a tcconv op's launch needs of its function and module: where kernels, tables and
/// launches go.
struct Host<'c, 'a, 'b> {
    context: &'c Context,
    gm: OperationRef<'c, 'a>,
    gm_body: melior::ir::BlockRef<'c, 'a>,
    body: melior::ir::BlockRef<'c, 'a>,
    consts: &'b mut HostConsts<'c>,
    kernels: &'b mut Built,
    cache: Option<&'b std::path::Path>,
    target: Target,
}

impl<'c, 'a, 'b> Host<'c, 'a, 'b> {
    /// The kernel of signature `sig` (named `kname` if built), its tables and launch: the kernel
    /// an earlier op of that signature launches, else the cached one, else the one `build`
    /// makes. `tables_of` gives this op's (or chain's) values of the tables a kernel names; a
    /// new kernel's tables must be exactly those.
    fn kernel_for(
        &mut self,
        sig: &str,
        kname: &str,
        tables_of: impl Fn(&[String]) -> Result<Vec<Table>, String>,
        build: impl FnOnce() -> Result<(Operation<'c>, Vec<Table>, Launch), String>,
    ) -> Result<(OpKernel<'c>, Vec<Table>, Launch), String> {
        if let Some((run, whats, launch)) = self.kernels.by_signature.get(sig) {
            return Ok((OpKernel::Seen(run.clone()), tables_of(whats)?, *launch));
        }
        let sig_key = self.cache.map(|_| self.kernels.signature_key(sig));
        let hit = self
            .cache
            .zip(sig_key.as_deref())
            .and_then(|(d, k)| kernel_cache::lookup(d, k));
        if let Some(e) = hit {
            return Ok((OpKernel::Cached(e.content), tables_of(&e.tables)?, e.launch));
        }
        let (kernel, tables, launch) = build()?;
        let whats: Vec<String> = tables.iter().map(|t| t.what.clone()).collect();
        if tables_of(&whats).as_ref() != Ok(&tables) {
            return Err(format!(
                "internal error: the tables of kernel {kname} are not its op's"
            ));
        }
        Ok((OpKernel::New(kernel, sig_key), tables, launch))
    }

    /// The operands that pass `tables` to kernel `kname`, launched before `op`: each table a
    /// module-level constant (before the gpu.module), each state a zero global of its own.
    fn table_operands(
        &mut self,
        op: OperationRef<'c, 'a>,
        kname: &str,
        tables: &[Table],
    ) -> Vec<Value<'c, 'a>> {
        let context = self.context;
        let mut out = vec![];
        for t in tables {
            let tname = match self.kernels.tables.get(&t.values) {
                // the op's own state, zero-initialized and written by the kernel
                _ if t.is_state() => {
                    let n = format!("{kname}_{}", t.what);
                    self.gm
                        .block()
                        .expect("gpu.module in a module")
                        .insert_operation_before(
                            self.gm,
                            state_global(context, op.location(), &n, t.values.len()),
                        );
                    n
                }
                Some(n) => n.clone(),
                None => {
                    let n = format!("{kname}_{}", t.what);
                    self.gm
                        .block()
                        .expect("gpu.module in a module")
                        .insert_operation_before(
                            self.gm,
                            table_global(context, op.location(), &n, &t.values),
                        );
                    self.kernels.tables.insert(t.values.clone(), n.clone());
                    n
                }
            };
            let ty = Type::parse(context, &format!("memref<{}xi32>", t.values.len()))
                .expect("table type");
            let get = OperationBuilder::new("memref.get_global", op.location())
                .add_attributes(&[(
                    Identifier::new(context, "name"),
                    FlatSymbolRefAttribute::new(context, &tname).into(),
                )])
                .add_results(&[ty])
                .build()
                .expect("memref.get_global");
            let get = self.body.insert_operation_before(op, get);
            out.push(get.result(0).expect("get_global result").into());
        }
        out
    }

    /// The name of the kernel an op (or chain) of signature `sig` launches: the one built for
    /// it (added to the module), an earlier op's, or a cached kernel's stub taking `types` and
    /// then `tables`. Records the signature's kernel for the ops after it.
    #[allow(clippy::too_many_arguments)]
    fn kernel_name(
        &mut self,
        loc: Location<'c>,
        kname: &str,
        sig: &str,
        kernel: OpKernel<'c>,
        launch: Launch,
        tables: &[Table],
        types: &[Type<'c>],
    ) -> String {
        let context = self.context;
        let whats: Vec<String> = tables.iter().map(|t| t.what.clone()).collect();
        let run = match kernel {
            OpKernel::Seen(run) => run,
            OpKernel::New(mut kernel, sig_key) => {
                // the signature decides the kernel's text but for its name
                let content = self.kernels.key(sig, self.target);
                if let (Some(d), Some(k)) = (self.cache, &sig_key) {
                    kernel.set_attribute(
                        kernel_cache::CONTENT_ATTR,
                        StringAttribute::new(context, &content).into(),
                    );
                    let e = kernel_cache::SigEntry {
                        content: content.clone(),
                        launch,
                        tables: whats.clone(),
                    };
                    kernel_cache::store_signature(d, k, &e);
                }
                self.kernels
                    .add(self.gm_body, content, kname.to_owned(), || kernel)
            }
            OpKernel::Cached(content) => {
                // the cached kernel's parameters: the operands', then its tables
                let mut params = types.to_vec();
                for t in tables {
                    params.push(
                        Type::parse(context, &format!("memref<{}xi32>", t.values.len()))
                            .expect("table type"),
                    );
                }
                self.kernels
                    .add(self.gm_body, content.clone(), kname.to_owned(), || {
                        let (mut stub, _) = build_kernel(
                            context,
                            loc,
                            kname,
                            &params,
                            &[],
                            launch.block[0],
                            |_, _| {},
                        );
                        stub.set_attribute(
                            kernel_cache::CACHED_ATTR,
                            StringAttribute::new(context, &content).into(),
                        );
                        stub
                    })
            }
        };
        self.kernels
            .by_signature
            .entry(sig.to_owned())
            .or_insert_with(|| (run.clone(), whats, launch));
        run
    }

    /// Launch kernel `run` before `before`.
    fn insert_launch(
        &mut self,
        before: OperationRef<'c, 'a>,
        run: &str,
        launch: Launch,
        operands: &[Value<'c, 'a>],
    ) {
        insert_launch(self.context, self.consts, before, run, launch, operands);
    }

    /// The chain `ops` (program ops `tops`): one kernel that runs them in order (`chain.rs`),
    /// launched once with every conv's operands, then the chain's tables.
    fn chain(
        &mut self,
        p: &Program,
        kname: &str,
        ops: &[OperationRef<'c, 'a>],
        tops: &[&TcOp],
    ) -> Result<(), ()> {
        let last = *ops.last().expect("a chain has convs");
        let fail = |e: String| emit_error(last.location(), &format!("convert-tcconv-to-gpu: {e}"));
        let mut operands: Vec<Value> = vec![];
        let mut types: Vec<Vec<Type>> = vec![];
        for o in ops {
            let v: Vec<Value> = o.operands().collect();
            types.push(v.iter().map(|x| x.r#type()).collect());
            operands.extend(v);
        }
        let names: Vec<Vec<String>> = types
            .iter()
            .map(|t| t.iter().map(|x| x.to_string()).collect())
            .collect();
        let convs: Vec<&nibble_tcconv::program::Conv> = tops
            .iter()
            .filter_map(|t| match t {
                TcOp::Conv2d(c) => Some(c),
                _ => None,
            })
            .collect();
        let sig = signature::chain_signature(p, tops, &names).map_err(fail)?;
        let context = self.context;
        let (kernel, tables, launch) = self
            .kernel_for(
                &sig,
                kname,
                |whats| chain::chain_tables(tops, whats),
                || chain::build_chain_kernel(context, last.location(), kname, p, &convs, &types),
            )
            .map_err(fail)?;
        operands.extend(self.table_operands(last, kname, &tables));
        let all: Vec<Type> = types.into_iter().flatten().collect();
        let run = self.kernel_name(last.location(), kname, &sig, kernel, launch, &tables, &all);
        self.insert_launch(last, &run, launch, &operands);
        Ok(())
    }
}

/// An op's kernel: built for it, or the kernel of an earlier op of the same signature.
enum OpKernel<'c> {
    /// Built (with the key of its signature's kernel-cache entry when the cache is on).
    New(Operation<'c>, Option<String>),
    /// Launched by an earlier op of this module.
    Seen(String),
    /// Compiled before: the content key of its PTX in the kernel cache.
    Cached(String),
}

/// The tables `whats` of `op` (a kernel built for another op of its signature names them).
fn op_tables(p: &Program, op: &TcOp, whats: &[String]) -> Result<Vec<Table>, String> {
    whats
        .iter()
        .map(|w| {
            let values = match w.as_str() {
                builder::STATE_TABLE => signature::state_words(p, op).map(|n| vec![0; n]),
                _ => signature::op_table(op, w),
            }
            .ok_or_else(|| format!("internal error: no table '{w}'"))?;
            Ok(Table {
                what: w.clone(),
                values,
            })
        })
        .collect()
}

/// The kernels of one gpu.module so far: a kernel is built once per op signature and launched
/// by every op of that signature; likewise one constant per table.
#[derive(Default)]
struct Built {
    /// By the kernel's content key ([`Built::key`]): its name.
    built: HashMap<String, String>,
    /// The LLVM backend (`llvm_backend::Backend::describe`) the PTX will come from.
    backend: String,
    tables: HashMap<Vec<i32>, String>,
    /// By `signature::signature`: the kernel, its table parameters' names and its launch.
    by_signature: HashMap<String, (String, Vec<String>, Launch)>,
}

impl Built {
    /// The content key of the kernel an op of signature `sig` gets: the signature decides its
    /// text but for its name (`signature.rs`), and the LLVM pipeline and codegen level its
    /// PTX, so both are in the key (a kernel's text is never printed for it: on ResNet-50 that
    /// took 0.14 s of a cold compile).
    /// The kernel-cache key of signature `sig`'s entry, for this LLVM backend.
    fn signature_key(&self, sig: &str) -> String {
        kernel_cache::signature_key(&format!("{sig}\nllvm {}", self.backend))
    }

    fn key(&self, sig: &str, target: Target) -> String {
        kernel_cache::content_key(
            format!("signature {sig}\nllvm {}", self.backend).as_bytes(),
            target.name(),
        )
    }

    /// The name of the kernel of content key `content`: the one added before, else `make()`
    /// added to `gm_body` under `name`.
    fn add<'c>(
        &mut self,
        gm_body: melior::ir::BlockRef<'c, '_>,
        content: String,
        name: String,
        make: impl FnOnce() -> Operation<'c>,
    ) -> String {
        if let Some(k) = self.built.get(&content) {
            return k.clone();
        }
        gm_body.append_operation(make());
        self.built.insert(content, name.clone());
        name
    }
}

/// `memref.global "private" constant @name : memref<Nxi32> = dense<...>`.
fn table_global<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    values: &[i32],
) -> Operation<'c> {
    i32_global(ctx, loc, name, values, true)
}

/// `memref.global "private" @name : memref<Nxi32> = dense<0>`: an op's state (not constant).
fn state_global<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    words: usize,
) -> Operation<'c> {
    i32_global(ctx, loc, name, &vec![0; words], false)
}

fn i32_global<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    values: &[i32],
    constant: bool,
) -> Operation<'c> {
    let i32t = Type::parse(ctx, "i32").unwrap();
    let tensor = RankedTensorType::new(&[values.len() as u64], i32t, None);
    let dense = DenseElementsAttribute::i32_values(tensor.into(), values);
    let mty = Type::parse(ctx, &format!("memref<{}xi32>", values.len())).unwrap();
    melior::dialect::memref::global(
        ctx,
        name,
        Some("private"),
        melior::ir::r#type::MemRefType::try_from(mty).unwrap(),
        Some(dense.into()),
        constant,
        Some(IntegerAttribute::new(Type::parse(ctx, "i64").unwrap(), 4)),
        loc,
    )
}

fn loc_of<'c>(context: &'c Context, loc: &str, func: OperationRef<'c, '_>) -> Location<'c> {
    if loc.is_empty() {
        func.location()
    } else {
        nibble_qnn::ir::location_from_string(context, loc)
    }
}

/// Options of `convert-tcconv-to-gpu`: only the target. Which kernel runs each op is tcconv's
/// decision (`family` on `tcconv.conv2d`, chosen by `convert-qnn-to-tcconv{kernel=...}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuOptions {
    pub target: Target,
    /// Kernels compiled before come from the kernel cache as stubs (`kernel_cache.rs`).
    pub kernel_cache: bool,
}

pub fn parse_options(context: &Context, options: &PassOptions) -> Result<GpuOptions, ()> {
    let err = |m: String| {
        emit_error(
            Location::unknown(context),
            &format!("convert-tcconv-to-gpu: {m}"),
        )
    };
    let target = match options.get("target") {
        Some(t) => Target::parse(t).map_err(err)?,
        None => return Err(err("missing option target=sm_XX".into())),
    };
    let kernel_cache = match options.get("kernel-cache").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => return Err(err(format!("kernel-cache={v}: expected true or false"))),
    };
    Ok(GpuOptions {
        target,
        kernel_cache,
    })
}

impl NibblePass for ConvertTcconvToGpu {
    fn name(&self) -> &'static str {
        "convert-tcconv-to-gpu"
    }
    fn summary(&self) -> &'static str {
        "Lower tcconv functions to a gpu.module of kernels (one gpu.func per op) and gpu.launch_func host code"
    }
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("target", "sm_75 | sm_80 | sm_86 | sm_89 | sm_90 | sm_90a (required; must match the functions' tcconv.target)"),
            ("kernel-cache", "true | false (default false): kernels the kernel cache holds become stubs carrying nibble.cached_kernel, for a pipeline that ends in PTX (--emit=artifact sets it where nothing prints this stage)"),
        ]
    }
    fn run(&self, context: &Context, module: &mut Module, options: &PassOptions) -> Result<(), ()> {
        let opts = parse_options(context, options)?;
        let cache = if opts.kernel_cache {
            ptx_cache_dir()
        } else {
            None
        };
        convert(context, module, &opts, cache.as_deref())
    }
}

/// The pass on `module`, with the kernel cache in `cache` when `opts.kernel_cache` is on.
pub fn convert(
    context: &Context,
    module: &mut Module,
    opts: &GpuOptions,
    cache: Option<&std::path::Path>,
) -> Result<(), ()> {
    let cache = cache.filter(|_| opts.kernel_cache);
    {
        let fs = funcs(module, is_tcconv_func);
        if fs.is_empty() {
            return Ok(());
        }
        module
            .as_operation_mut()
            .set_attribute("gpu.container_module", Attribute::unit(context));
        let gm = gpu_module(context, module).to_raw();
        // the target its kernels are built for: the chip gpu-module-to-binary must be given
        // (`pipeline::check_binary_targets`)
        let target_attr = StringAttribute::new(context, opts.target.name());
        unsafe {
            mlir_sys::mlirOperationSetAttributeByName(
                gm,
                melior::StringRef::new(TARGET_ATTR).to_raw(),
                target_attr.to_raw(),
            )
        };
        let backend = llvm_backend::Backend::from_env()
            .map_err(|e| emit_error(Location::unknown(context), &e))?;
        let mut kernels = Built {
            backend: backend.describe(),
            ..Built::default()
        };
        for raw in fs {
            let func = unsafe { OperationRef::from_raw(raw) };
            let gm = unsafe { OperationRef::from_raw(gm) };
            convert_func(context, func, gm, opts, cache, &mut kernels)?;
        }
        // The builders emit index math per use; CSE on the kernels only (the host is untouched).
        let pm = PassManager::new(context);
        parse_pass_pipeline(
            pm.as_operation_pass_manager(),
            "builtin.module(gpu.module(gpu.func(cse)))",
        )
        .map_err(|e| emit_error(Location::unknown(context), &e.to_string()))?;
        pm.run(module).map_err(|e| {
            emit_error(
                Location::unknown(context),
                &format!("convert-tcconv-to-gpu: cse: {e}"),
            )
        })?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------- PTX

/// The PTX of the module's `gpu.module @kernels` for `target` (`sm_75` ... `sm_90a`).
///
/// The target is checked against [`Target::ALL`] first (LLVM aborts the process on an unknown
/// chip). Each kernel is lowered on its own: a `builtin.module` holding a `gpu.module` with the
/// kernel and the constant tables it reads (the host functions, which still hold tcconv ops,
/// are never touched), all of them nested in one module so that MLIR's pass manager runs
/// `nvvm-attach-target{chip=sm_XX features=+ptxNN}`,
/// `gpu.module(convert-scf-to-cf, convert-nvgpu-to-nvvm,
/// convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1})` (then `convert-nvvm-to-llvm` on
/// sm_90a), `reconcile-unrealized-casts` and
/// `gpu-module-to-binary{format=isa}` on the kernels in parallel (LLVM is almost all of the
/// compile time). The kernels' PTX texts are joined under one header, in kernel order.
///
/// With a cache directory ([`ptx_cache_dir`]), a kernel whose lowering input (its module's
/// text, the pipeline and the compiler build; or the content key convert-tcconv-to-gpu gave it)
/// was compiled before is read from the cache
/// instead. Errors carry MLIR's diagnostics when the context's handler collected them.
pub fn gpu_to_ptx(context: &Context, module: &Module, target: &str) -> Result<String, String> {
    gpu_to_ptx_cached(context, module, target, ptx_cache_dir().as_deref())
}

/// [`gpu_to_ptx`] with an explicit kernel cache directory (None: compile every kernel).
pub fn gpu_to_ptx_cached(
    context: &Context,
    module: &Module,
    target: &str,
    cache: Option<&std::path::Path>,
) -> Result<String, String> {
    let backend = llvm_backend::Backend::from_env()?;
    gpu_to_ptx_with(context, module, target, cache, &backend)
}

/// [`gpu_to_ptx_cached`] with an explicit LLVM pipeline and codegen level.
pub fn gpu_to_ptx_with(
    context: &Context,
    module: &Module,
    target: &str,
    cache: Option<&std::path::Path>,
    backend: &llvm_backend::Backend,
) -> Result<String, String> {
    let t = Target::parse(target)?;
    let mut gpu_modules = vec![];
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("gpu.module") {
            gpu_modules.push(op);
        }
        cur = op.next_in_block();
    }
    // one PTX module: kernels in a second gpu.module would be left out of it
    let src = match gpu_modules.as_slice() {
        [] => return Err("the module has no gpu.module (run convert-tcconv-to-gpu first)".into()),
        [m] => *m,
        ms => {
            let names: Vec<String> = ms
                .iter()
                .map(|m| format!("@{}", nibble_qnn::ir::symbol_name(m)))
                .collect();
            return Err(format!(
                "the module has {} gpu.modules ({}); the PTX is made from one, @{GPU_MODULE}",
                ms.len(),
                names.join(", ")
            ));
        }
    };
    let started = std::time::Instant::now();
    let units = kernel_units(context, src)?;
    // sm_90a: the wgmma ops are PTX-builder ops that convert-nvvm-to-llvm expands into inline
    // PTX (LLVM's translation does not know them)
    let nvvm_to_llvm = if t.wgmma() {
        ",convert-nvvm-to-llvm"
    } else {
        ""
    };
    let lower = format!(
        "nvvm-attach-target{{chip={} features=+ptx{}}},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{{use-bare-ptr-memref-call-conv=1}}{nvvm_to_llvm}),reconcile-unrealized-casts",
        t.name(),
        ptx_version(t)
    );
    // then: dynamic shared memory made `.extern` (see `extern_dynamic_smem`), and LLVM
    let pipeline = format!("{lower},extern-dynamic-smem,{}", backend.describe());
    // each kernel's cache key: its content key (stubs, and kernels built with the cache on),
    // else its lowering input's text with the pipeline and the build
    let keys: Vec<String> = units
        .iter()
        .map(|u| match (&u.cache, cache) {
            (Some(UnitCache::Stub(c) | UnitCache::Content(c)), _) => c.clone(),
            // no cache: no key needed (printing a kernel is not free)
            (None, None) => String::new(),
            (None, Some(_)) => kernel_cache::hash(&[
                kernel_cache::BUILD_HASH.as_bytes(),
                pipeline.as_bytes(),
                print_verified(&u.module.as_operation()).as_bytes(),
            ]),
        })
        .collect();
    let mut ptx: Vec<Option<String>> = vec![];
    for (u, key) in units.iter().zip(&keys) {
        ptx.push(match (&u.cache, cache) {
            // a stub has no body to compile: its PTX must be there
            (Some(UnitCache::Stub(_)), None) => {
                return Err("a kernel from the kernel cache, but the cache is off".into())
            }
            (Some(UnitCache::Stub(_)), Some(d)) => Some(kernel_cache::load_ptx(d, key, &u.name)?),
            (_, Some(d)) => kernel_cache::load_ptx(d, key, &u.name).ok(),
            (_, None) => None,
        });
    }
    let names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    // the kernels to compile, nested in one module: the pass manager runs them in parallel
    let mut top = Module::new(Location::unknown(context));
    let mut todo = vec![];
    for (i, u) in units.into_iter().enumerate() {
        let u = u.module;
        if ptx[i].is_none() {
            // the module hands its operation over to `top`
            let raw = u.to_raw();
            std::mem::forget(u);
            let op = unsafe { Operation::from_raw(mlir_sys::mlirModuleGetOperation(raw)) };
            top.body().append_operation(op);
            todo.push(i);
        }
    }
    if !todo.is_empty() {
        let pm = PassManager::new(context);
        parse_pass_pipeline(
            pm.as_operation_pass_manager(),
            &format!("builtin.module(builtin.module({lower}))"),
        )
        .map_err(|e| e.to_string())?;
        pm.run(&mut top)
            .map_err(|e| format!("lowering the gpu.module to PTX for {t} failed: {e}"))?;
        // what LLVM would crash on instead of reporting
        nvptx_guard::check(&top.as_operation(), t.name())?;
        extern_dynamic_smem(context, &top);
        let mut gpu_modules = vec![];
        let mut cur = top.body().first_operation();
        while let Some(unit) = cur {
            let body = unit
                .region(0)
                .ok()
                .and_then(|r| r.first_block())
                .ok_or("a kernel module without a body")?;
            let gm = std::iter::successors(body.first_operation(), |o| o.next_in_block())
                .find(|o| o.name().as_string_ref().as_str() == Ok("gpu.module"))
                .ok_or("a kernel module without its gpu.module")?;
            gpu_modules.push(gm.to_raw());
            cur = unit.next_in_block();
        }
        // tensor-core conv kernels take LLVM most of the time: they go first
        let cost: Vec<u32> = todo
            .iter()
            .map(|&i| if names[i].ends_with("_conv2d") { 10 } else { 1 })
            .collect();
        let compiled = llvm_backend::compile(
            &gpu_modules,
            &cost,
            t.name(),
            &format!("+ptx{}", ptx_version(t)),
            backend,
        )
        .map_err(|e| format!("lowering the gpu.module to PTX for {t} failed: {e}"))?;
        for (&i, text) in todo.iter().zip(compiled) {
            if let Some(d) = cache {
                kernel_cache::store_ptx(d, &keys[i], &names[i], &text);
            }
            ptx[i] = Some(text);
        }
    }
    crate::timing::record(
        format!(
            "gpu.module to PTX, LLVM on {} of {} kernels ({} from the cache)",
            todo.len(),
            names.len(),
            names.len() - todo.len()
        ),
        started.elapsed(),
    );
    join_ptx(
        &ptx.into_iter()
            .map(|p| p.unwrap_or_default())
            .collect::<Vec<_>>(),
    )
}

/// convert-gpu-to-nvvm lowers `gpu.dynamic_shared_memory` to an internal zero-length
/// `llvm.mlir.global` in address space 3, which LLVM's NVPTX backend demotes to a one-byte
/// `.shared` variable of the kernel; with external linkage it is what CUDA C++'s
/// `extern __shared__` is, `.extern .shared .align 16 .b8 __dynamic_shmem__N[]`: the launch's
/// dynamic shared memory.
fn extern_dynamic_smem(context: &Context, top: &Module) {
    fn ops<'c, 'a>(op: OperationRef<'c, 'a>) -> Vec<OperationRef<'c, 'a>> {
        let mut v = vec![];
        if let Some(b) = op.region(0).ok().and_then(|r| r.first_block()) {
            let mut cur = b.first_operation();
            while let Some(o) = cur {
                v.push(o);
                cur = o.next_in_block();
            }
        }
        v
    }
    let external = Attribute::parse(context, "#llvm.linkage<external>").expect("linkage");
    for unit in ops(top.as_operation()) {
        for gm in ops(unit) {
            for g in ops(gm) {
                let dynamic = g.name().as_string_ref().as_str() == Ok("llvm.mlir.global")
                    && g.attribute("sym_name")
                        .ok()
                        .and_then(|a| StringAttribute::try_from(a).ok())
                        .and_then(|s| nibble_qnn::ir::string_text(s).ok())
                        .is_some_and(|n| n.starts_with("__dynamic_shmem__"));
                if dynamic {
                    let name = melior::StringRef::new("linkage");
                    unsafe {
                        mlir_sys::mlirOperationSetAttributeByName(
                            g.to_raw(),
                            name.to_raw(),
                            external.to_raw(),
                        )
                    };
                }
            }
        }
    }
}

/// A kernel's PTX in the kernel cache (`kernel_cache.rs`).
#[derive(Clone, Debug)]
enum UnitCache {
    /// A stub: the PTX is there under this content key.
    Stub(String),
    /// Built with the cache on: the PTX goes there under this content key.
    Content(String),
}

/// A kernel to lower on its own.
struct Unit<'c> {
    name: String,
    cache: Option<UnitCache>,
    /// `builtin.module { gpu.module @kernels { tables..., gpu.func } }` (empty for a stub).
    module: Module<'c>,
}

/// The string attribute `name` of `op`, if any.
fn string_attr(op: &OperationRef, name: &str) -> Option<String> {
    op.attribute(name)
        .ok()
        .and_then(|a| StringAttribute::try_from(a).ok())
        .and_then(|s| nibble_qnn::ir::string_text(s).ok())
        .map(str::to_owned)
}

/// One unit per kernel of `src`.
fn kernel_units<'c>(
    context: &'c Context,
    src: OperationRef<'c, '_>,
) -> Result<Vec<Unit<'c>>, String> {
    let body = src
        .region(0)
        .ok()
        .and_then(|r| r.first_block())
        .ok_or("the gpu.module has no body")?;
    let mut globals: Vec<(String, OperationRef)> = vec![];
    let mut funcs = vec![];
    let mut cur = body.first_operation();
    while let Some(op) = cur {
        match op.name().as_string_ref().as_str() {
            Ok("memref.global") => {
                let name = op
                    .attribute("sym_name")
                    .ok()
                    .and_then(|a| StringAttribute::try_from(a).ok())
                    .and_then(|s| nibble_qnn::ir::string_text(s).ok())
                    .ok_or("a memref.global without a name")?;
                globals.push((name.to_owned(), op));
            }
            Ok("gpu.func") => funcs.push(op),
            Ok(other) => return Err(format!("unexpected '{other}' in the gpu.module")),
            Err(_) => return Err("an op with a non-UTF-8 name in the gpu.module".into()),
        }
        cur = op.next_in_block();
    }
    let loc = Location::unknown(context);
    let mut units = vec![];
    for f in funcs {
        let name = string_attr(&f, "sym_name").ok_or("a gpu.func without a name")?;
        if let Some(c) = string_attr(&f, kernel_cache::CACHED_ATTR) {
            units.push(Unit {
                name,
                cache: Some(UnitCache::Stub(c)),
                module: Module::new(loc),
            });
            continue;
        }
        let cache = string_attr(&f, kernel_cache::CONTENT_ATTR).map(UnitCache::Content);
        // the tables this kernel reads
        let mut used: Vec<String> = vec![];
        f.walk(melior::ir::operation::WalkOrder::PreOrder, |op| {
            if op.name().as_string_ref().as_str() == Ok("memref.get_global") {
                if let Ok(a) = op.attribute("name") {
                    let r = unsafe { mlir_sys::mlirFlatSymbolRefAttrGetValue(a.to_raw()) };
                    let bytes =
                        unsafe { std::slice::from_raw_parts(r.data as *const u8, r.length) };
                    used.push(String::from_utf8_lossy(bytes).into_owned());
                }
            }
            melior::ir::operation::WalkResult::Advance
        });
        let block = Block::new(&[]);
        for (name, g) in &globals {
            if used.contains(name) {
                block.append_operation(unsafe {
                    Operation::from_raw(mlir_sys::mlirOperationClone(g.to_raw()))
                });
            }
        }
        block.append_operation(unsafe {
            Operation::from_raw(mlir_sys::mlirOperationClone(f.to_raw()))
        });
        let region = Region::new();
        region.append_block(block);
        let gm = OperationBuilder::new("gpu.module", loc)
            .add_attributes(&[(
                Identifier::new(context, "sym_name"),
                StringAttribute::new(context, GPU_MODULE).into(),
            )])
            .add_regions([region])
            .build()
            .map_err(|e| e.to_string())?;
        let mut m = Module::new(loc);
        m.as_operation_mut()
            .set_attribute("gpu.container_module", Attribute::unit(context));
        m.body().append_operation(gm);
        units.push(Unit {
            name,
            cache,
            module: m,
        });
    }
    Ok(units)
}

/// The text of `op`, which belongs to a verified module: the module was verified after parsing
/// and after every pipeline element, so the printer need not verify it again (by default it
/// does, to print an invalid op in generic form; ResNet-50's 41 kernel keys: 130-160 -> 80-120
/// ms). The text is the default printer's.
fn print_verified(op: &Operation) -> String {
    let flags = melior::ir::operation::OperationPrintingFlags::new();
    unsafe { mlir_sys::mlirOpPrintingFlagsAssumeVerified(flags.to_raw()) };
    op.to_string_with_flags(flags)
        .unwrap_or_else(|_| op.to_string())
}

/// One PTX module from per-kernel ones: the first one's header (`.version`, `.target`,
/// `.address_size`), then every module's body in order. Module-scope symbols (kernels, tables,
/// shared buffers) are named after their kernel, so they never clash; a clash is an error.
fn join_ptx(parts: &[String]) -> Result<String, String> {
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    for (i, p) in parts.iter().enumerate() {
        let at = p
            .find(".address_size")
            .and_then(|k| p[k..].find('\n').map(|e| k + e + 1))
            .ok_or("a kernel's PTX has no .address_size header")?;
        if i == 0 {
            out.push_str(&p[..at]);
        }
        for line in p[at..].lines() {
            let l = line.trim_start();
            if let Some(name) = ptx_symbol(l) {
                if !seen.insert(name.to_owned()) {
                    return Err(format!("PTX symbol '{name}' is defined by two kernels"));
                }
            }
        }
        out.push_str(&p[at..]);
    }
    Ok(out)
}

/// The name a module-scope PTX definition line declares (`.visible .entry k(`, `.global ... t[4]`).
fn ptx_symbol(l: &str) -> Option<&str> {
    let decl = [
        ".visible .entry ",
        ".entry ",
        ".global ",
        ".shared ",
        ".const ",
    ]
    .iter()
    .any(|p| l.starts_with(p));
    if !decl || l.starts_with(".extern") {
        return None;
    }
    let head = l.split(['(', '[', ';', '=']).next()?;
    head.split_whitespace().last()
}

/// Where compiled kernels are kept: `$NIBBLE_CACHE_DIR`, else `$XDG_CACHE_HOME/nibble/ptx`, else
/// `~/.cache/nibble/ptx`; `NIBBLE_CACHE_DIR=` (empty) turns the cache off.
pub fn ptx_cache_dir() -> Option<std::path::PathBuf> {
    let dir: std::path::PathBuf = match std::env::var_os("NIBBLE_CACHE_DIR") {
        Some(d) if d.is_empty() => return None,
        Some(d) => d.into(),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))
            .map(|c| c.join("nibble").join("ptx"))?,
    };
    kernel_cache::trusted(&dir).then_some(dir)
}

#[cfg(test)]
mod tests;
