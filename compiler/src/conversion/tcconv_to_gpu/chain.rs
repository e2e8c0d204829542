//! A chain of convs in one kernel (`tcconv.conv2d`'s `chain`, `lower::chain_convs`): a conv
//! and the 1 x 1 convs after it, each of the output of the one before. ResNet-50's unit 3x3
//! conv, its residual conv and the next unit's reducing conv are one launch instead of three.
//!
//! The launch is a grid of thread-block clusters (`select::ChainPlan`): cluster `c` owns M
//! tile `c` of every conv, which all cover the same output pixels in the same order (each
//! after the first is a 1 x 1 conv of stride 1). Phase `i`: block `r` of the cluster runs the
//! staged body of conv `i` for its N tile `r` (where `r` < the conv's N tiles; with more tiles
//! than blocks, tiles `r, r + R, ...`, R blocks a cluster), the tile standing in for the block
//! index ([`KernelBuilder::block_override`]). Between phases the cluster meets at
//! `barrier.cluster.arrive` (release) / `barrier.cluster.wait` (acquire): conv `i`'s rows of
//! the M tile, which every block of the cluster wrote a part of, are visible to all of them.
//! Phase `i + 1`'s loader reads them with `cp.async` from global memory (L2; no block of
//! another cluster writes or reads them in this launch). No block waits for another cluster,
//! so nothing limits the grid.
//!
//! A conv whose blocks are smaller than the chain's runs on the first threads, its block
//! barriers on named barrier 1 of that many threads; every thread meets the cluster barrier.
//! After each tile the block drains its `cp.async` groups and meets at a barrier, so the next
//! tile's loads never overwrite shared memory another warp still reads. Programmatic dependent
//! launch: the chain waits for its predecessor first and lets its successor start only at its
//! end (the first conv's trigger would release it a phase early).

use super::builder::{self, Cmp, KernelBuilder, Table};
use super::conv::ConvSpec;
use super::{staged, Launch};
use melior::ir::attribute::{DenseI32ArrayAttribute, IntegerAttribute};
use melior::ir::operation::OperationMutLike;
use melior::ir::{Location, Operation, Type};
use melior::Context;
use nibble_tcconv::program::{Conv, Program, TcOp};
use nibble_tcconv::select::{self, ChainPlan};

/// What a table of a chain kernel is: table `what` of conv `member` (named `c{member}.{what}`).
pub fn split_table(what: &str) -> Option<(usize, &str)> {
    let (m, w) = what.split_once('.')?;
    Some((m.strip_prefix('c')?.parse().ok()?, w))
}

/// The table prefix of conv `i` of a chain.
fn prefix(i: usize) -> String {
    format!("c{i}.")
}

/// The chain kernel's plan for `convs` and each conv's spec.
fn plan<'a>(p: &'a Program, convs: &[&'a Conv]) -> Result<(Vec<ConvSpec<'a>>, ChainPlan), String> {
    let cp = select::chain_plan_of(convs, &p.buffers, &p.weights, p.target)?;
    let specs = convs
        .iter()
        .map(|c| ConvSpec::conv(c, &p.buffers, &p.weights))
        .collect();
    Ok((specs, cp))
}

/// Build the kernel of a chain: `convs` in order, `arg_types[i]` the host operands' types of
/// conv `i` (the kernel takes them all, in order, then the tables). Returns the `gpu.func`, its
/// tables and its launch.
pub fn build_chain_kernel<'c>(
    context: &'c Context,
    loc: Location<'c>,
    name: &str,
    p: &Program,
    convs: &[&Conv],
    arg_types: &[Vec<Type<'c>>],
) -> Result<(Operation<'c>, Vec<Table>, Launch), String> {
    let (specs, cp) = plan(p, convs)?;
    let block = cp.block();
    let all: Vec<Type> = arg_types.iter().flatten().copied().collect();
    let workgroup = [builder::workgroup_i32(context, cp.smem_words())];
    let mut err = None;
    let (mut f, tables) =
        builder::build_kernel(context, loc, name, &all, &workgroup, block, |kb, args| {
            if p.target.programmatic_launch() {
                kb.griddepcontrol("wait");
            }
            kb.programmatic_launch = false;
            kb.simd16 = p.target.simd16();
            let smem = args[args.len() - 1];
            let hw = kb.hw_block_id();
            let kr = kb.idx(cp.cluster);
            let rank = kb.remu(hw, kr);
            let mt = kb.divu(hw, kr);
            let mut off = 0;
            for (j, (spec, sp)) in specs.iter().zip(&cp.plans).enumerate() {
                if j > 0 {
                    // every thread of the cluster: the earlier convs' rows written and visible
                    kb.cluster_barrier();
                    // the phase's thread-index arithmetic its own, not the earlier phase's
                    // kept in registers across it (ResNet-50 b1: 4-8 registers fewer a chain)
                    let t = kb.opaque_thread_id();
                    kb.thread_override = Some(t);
                }
                let n = arg_types[j].len();
                let mut sub = args[off..off + n].to_vec();
                sub.push(smem);
                off += n;
                kb.table_prefix = prefix(j);
                let tiles_n = kb.idx(sp.tiles_n);
                let tile_of = |kb: &mut KernelBuilder<'c>, nt| {
                    let ktn = kb.idx(sp.tiles_n);
                    let t0 = kb.mul(mt, ktn);
                    kb.add(t0, nt)
                };
                let one_tile = |kb: &mut KernelBuilder<'c>, tile| {
                    kb.block_override = Some(tile);
                    let r = staged::conv(kb, &sub, spec, sp).map(|_| ());
                    kb.block_override = None;
                    kb.async_wait(0);
                    kb.barrier();
                    r
                };
                let phase = |kb: &mut KernelBuilder<'c>| {
                    let mut r = Ok(());
                    if sp.tiles_n <= cp.cluster {
                        // at most one N tile a block: no loop, whose hoisted invariants would
                        // stay live across the whole body
                        let mine = kb.cmp(Cmp::Ult, rank, tiles_n);
                        kb.if_then(mine, |kb| {
                            let tile = tile_of(kb, rank);
                            r = one_tile(kb, tile);
                        });
                    } else {
                        kb.for_range(rank, tiles_n, kr, &[], |kb, nt, _| {
                            let tile = tile_of(kb, nt);
                            if let Err(e) = one_tile(kb, tile) {
                                r = Err(e);
                            }
                            vec![]
                        });
                    }
                    r
                };
                let r = if sp.block() < block {
                    kb.barrier_threads = Some(sp.block());
                    let mut r = Ok(());
                    let tid = kb.thread_id();
                    let k = kb.idx(sp.block());
                    let mine = kb.cmp(Cmp::Ult, tid, k);
                    kb.if_then(mine, |kb| r = phase(kb));
                    kb.barrier_threads = None;
                    r
                } else {
                    phase(kb)
                };
                if let Err(e) = r {
                    err.get_or_insert(e);
                }
            }
            kb.table_prefix.clear();
            kb.thread_override = None;
        });
    if let Some(e) = err {
        return Err(e);
    }
    // a conv's output is the next conv's input: two arguments, one buffer, so no argument is
    // `llvm.noalias`
    let empty = melior::ir::Attribute::parse(context, "{}").expect("empty dict");
    let none = vec![empty; all.len() + tables.len()];
    f.set_attribute(
        "arg_attrs",
        melior::ir::attribute::ArrayAttribute::new(context, &none).into(),
    );
    // ptxas gives the chain what its largest phase needs (see `build_op_kernel`)
    let i32t = Type::parse(context, "i32").expect("i32");
    f.set_attribute("nvvm.minctasm", IntegerAttribute::new(i32t, 1).into());
    // the cluster's shape is the kernel's (`.reqnctapercluster`): a plain launch forms them
    let dims = DenseI32ArrayAttribute::new(context, &[cp.cluster as i32, 1, 1]);
    f.set_attribute("nvvm.cluster_dim", dims.into());
    Ok((
        f,
        tables,
        Launch {
            grid: [cp.blocks(), 1, 1],
            block: [block, 1, 1],
            shared_bytes: 0,
        },
    ))
}

/// The tables `whats` of a chain kernel for the chain `convs` (a kernel built for another chain
/// of the same signature names them).
pub fn chain_tables(convs: &[&TcOp], whats: &[String]) -> Result<Vec<Table>, String> {
    whats
        .iter()
        .map(|w| {
            let values = split_table(w)
                .and_then(|(i, t)| super::signature::op_table(convs.get(i)?, t))
                .ok_or_else(|| format!("internal error: no table '{w}' in the chain"))?;
            Ok(Table {
                what: w.clone(),
                values,
            })
        })
        .collect()
}
