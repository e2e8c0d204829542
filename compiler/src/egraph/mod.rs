//! E-graph optimization of qnn functions with egg (ARCHITECTURE.md, stage 2): global layout choice,
//! cancelling layout transforms, pooling and elementwise ops in the kernels' layout, and fusion
//! of requantize / relu / residual add into the producing conv's epilogue.
//!
//! [`optimize`] takes the MLIR-free [`Graph`] of one function:
//! 1. [`translate::to_egraph`]: one e-class per value; ops are e-nodes whose attribute leaves are
//!    typed ([`language`]); the [`analysis`] infers shape, layout, element type and quantization
//!    range per class and checks them against the IR.
//! 2. An egg `Runner` applies the [`rules`] (layout, fusion, pooling, elementwise), bounded by
//!    iteration, e-node and time limits.
//! 3. [`extract`] picks the cheapest program under the [`cost`] model (bytes moved + launches +
//!    MACs on the target, using tcconv's strategy rules for what each conv kernel reads), counting
//!    shared values once. The input program is always a candidate; when the extracted one is not
//!    cheaper the input is kept.
//! 4. [`translate::to_graph`] rebuilds the function; every node keeps the location of the op it
//!    came from.
//!
//! The result computes bit for bit what the input computed: every rule is an exact equality of
//! the integer semantics (`nibble_qnn::semantics`, `Epilogue::apply`), proved next to it.
//!
//! What it does to HAWQ's ResNets (models/src/hawq.rs): the body runs in the layout
//! the conv kernels read at the function's batch size (HWNC where tcconv's direct strategy
//! applies, NHWC for im2col) with one transform after the input quantize (and none at the
//! output: flatten reads any layout); the stem `conv -> max_pool(i32) -> requantize(i16) -> relu`
//! becomes `conv2d_fused(requantize, relu) -> max_pool(i16)`, and where only its 4-bit
//! requantize is used (ResNet-50) `conv2d_fused(requantize, relu, then requantize) ->
//! max_pool(ui4)` (`conv2d-fused-then-requantize`); `conv -> relu -> requantize(ui4)`
//! becomes `conv2d_fused(requantize, relu)`; `conv -> add(conv acc, identity) -> relu` becomes
//! `conv2d_fused(residual, relu)`. The residual stream (used by the next block's add and,
//! requantized to 4 bits, by its first conv) is one `conv2d_fused` with two results: the wide
//! sum and, as the second result, its 4-bit requantize (`conv2d-fused-second-requantize`: the
//! pair class `conv2d-fused2` with `first` / `second` projections, which the extractor moves
//! together). A second result is only built for values of the input graph, never for a copy the
//! pooling rules moved before a max pool. A downsampling block's 1x1 identity conv feeds the
//! add's rhs and keeps no epilogue (its rescale stays in the residual conv's epilogue).

pub mod analysis;
pub mod cost;
pub mod extract;
pub mod language;
pub mod rules;
pub mod translate;

/// Matches of one rule searched in one iteration, at most: the ResNets and the ONNX fixtures
/// optimize to the same IR with and without it; it bounds the work and memory of an iteration on inputs
/// built to make one rule match quadratically often (a chain of thousands of relus of a
/// non-negative value, collapsed into one class by `relu-of-non-negative`).
pub const MATCH_LIMIT: usize = 20_000;

/// egg's `SimpleScheduler` (every match applied, no rule banned) with at most [`MATCH_LIMIT`]
/// matches of a rule an iteration.
struct CappedScheduler;

impl egg::RewriteScheduler<language::Qnn, analysis::QnnAnalysis> for CappedScheduler {
    fn search_rewrite<'a>(
        &mut self,
        _iteration: usize,
        egraph: &egg::EGraph<language::Qnn, analysis::QnnAnalysis>,
        rewrite: &'a egg::Rewrite<language::Qnn, analysis::QnnAnalysis>,
    ) -> Vec<egg::SearchMatches<'a, language::Qnn>> {
        rewrite.search_with_limit(egraph, MATCH_LIMIT)
    }
}

#[cfg(test)]
mod tests;

use nibble_qnn::graph::{Graph, Op};
use nibble_tcconv::target::Target;
use std::fmt;
use std::time::{Duration, Instant};

/// Limits and target of one optimization.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub iter_limit: usize,
    pub node_limit: usize,
    pub time_limit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: Target::Sm90,
            iter_limit: 30,
            node_limit: 200_000,
            time_limit: Duration::from_secs(10),
        }
    }
}

/// What one optimization did.
#[derive(Clone, Debug)]
pub struct Stats {
    pub function: String,
    pub target: Target,
    pub egraph_nodes: usize,
    pub egraph_classes: usize,
    pub iterations: usize,
    pub stop_reason: String,
    pub cost_before: cost::Cost,
    pub cost_after: cost::Cost,
    /// Estimated time (µs) before and after.
    pub time_before_us: f64,
    pub time_after_us: f64,
    /// Ops (not weights) before and after.
    pub ops_before: usize,
    pub ops_after: usize,
    pub transforms_before: usize,
    pub transforms_after: usize,
    /// The extracted program was not cheaper: the input was kept.
    pub kept_input: bool,
    pub rewrite_time: Duration,
    pub extract_time: Duration,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "qnn-egraph-optimize @{} ({}): e-graph {} nodes, {} classes; {} iterations, stop: {}",
            self.function,
            self.target,
            self.egraph_nodes,
            self.egraph_classes,
            self.iterations,
            self.stop_reason
        )?;
        writeln!(
            f,
            "  cost before: {:.1} us ({})",
            self.time_before_us, self.cost_before
        )?;
        writeln!(
            f,
            "  cost after:  {:.1} us ({}){}",
            self.time_after_us,
            self.cost_after,
            if self.kept_input {
                " [not cheaper: input kept]"
            } else {
                ""
            }
        )?;
        write!(
            f,
            "  ops {} -> {}, layout transforms {} -> {}; rewrite {:.1} ms, extraction {:.1} ms",
            self.ops_before,
            self.ops_after,
            self.transforms_before,
            self.transforms_after,
            self.rewrite_time.as_secs_f64() * 1e3,
            self.extract_time.as_secs_f64() * 1e3
        )
    }
}

fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| f(&n.op)).count()
}

/// Optimize one function. Errors: the function uses something the optimizer does not model
/// (with the op's location), or an internal inconsistency.
pub fn optimize(g: &Graph, opts: &Options) -> Result<(Graph, Stats), String> {
    let model = cost::CostModel::new(opts.target);
    let t = translate::to_egraph(g)?;
    let initial: std::collections::HashMap<egg::Id, language::Qnn> = t
        .egraph
        .classes()
        .filter_map(|c| c.nodes.first().map(|n| (c.id, n.clone())))
        .collect();
    let cost_before = extract::program_cost(&t.egraph, &initial, &t.roots, &model)
        .ok_or("the input program has no cost (ill-typed e-graph)")?;

    let start = Instant::now();
    let runner = egg::Runner::default()
        .with_egraph(t.egraph)
        .with_iter_limit(opts.iter_limit)
        .with_node_limit(opts.node_limit)
        .with_time_limit(opts.time_limit)
        .with_scheduler(CappedScheduler)
        .run(&rules::rules());
    let rewrite_time = start.elapsed();
    let eg = &runner.egraph;
    if let Some(c) = eg.analysis.conflicts.first() {
        return Err(format!("internal error: a rewrite {c}"));
    }
    let roots: Vec<egg::Id> = t.roots.iter().map(|&r| eg.find(r)).collect();

    let start = Instant::now();
    let ex = extract::extract(eg, &roots, &model)?;
    let extract_time = start.elapsed();
    let time_before_us = model.time_us(&cost_before);
    let time_after = model.time_us(&ex.cost);
    let mut kept_input = time_after >= time_before_us - 1e-9;
    let mut out = if kept_input {
        g.clone()
    } else {
        translate::to_graph(g, eg, &ex.choice, &roots)?
    };
    // a function left without any qnn op (its results its arguments: a relu of an unsigned
    // input, say) is no qnn network any more, which nothing downstream lowers: keep the input
    let no_ops = |g: &Graph| {
        g.nodes
            .iter()
            .all(|n| matches!(n.op, Op::Weight { .. } | Op::SecondResult))
    };
    if no_ops(&out) && !no_ops(g) {
        out = g.clone();
        kept_input = true;
    }
    if let Err(errs) = nibble_qnn::verify::verify_graph(&out) {
        return Err(format!(
            "internal error: the optimized function does not verify: {}",
            errs.join("; ")
        ));
    }
    let is_transform = |o: &Op| matches!(o, Op::LayoutTransform { .. });
    // MLIR ops: weights are constants, a second result is part of its conv
    let is_op = |o: &Op| !matches!(o, Op::Weight { .. } | Op::SecondResult);
    let stats = Stats {
        function: g.name.clone(),
        target: opts.target,
        egraph_nodes: eg.total_number_of_nodes(),
        egraph_classes: eg.number_of_classes(),
        iterations: runner.iterations.len(),
        stop_reason: match &runner.stop_reason {
            Some(egg::StopReason::Saturated) => "saturated".into(),
            Some(egg::StopReason::IterationLimit(n)) => format!("iteration limit ({n})"),
            Some(egg::StopReason::NodeLimit(n)) => format!("node limit ({n})"),
            Some(egg::StopReason::TimeLimit(s)) => format!("time limit ({s:.1} s)"),
            Some(egg::StopReason::Other(s)) => s.clone(),
            None => "none".into(),
        },
        cost_before,
        cost_after: if kept_input { cost_before } else { ex.cost },
        time_before_us,
        time_after_us: if kept_input {
            time_before_us
        } else {
            time_after
        },
        ops_before: count(g, is_op),
        ops_after: count(&out, is_op),
        transforms_before: count(g, is_transform),
        transforms_after: count(&out, is_transform),
        kept_input,
        rewrite_time,
        extract_time,
    };
    Ok((out, stats))
}
