//! `qnn-egraph-optimize{target=sm_XX stats=true}`: e-graph optimization of every qnn function
//! (`crate::egraph`, ARCHITECTURE.md stage 2): each function is read into a `nibble_qnn::graph::Graph`,
//! saturated with exact rewrite rules (layout choice, transform cancelling and motion, fusion of
//! requantize / relu / residual add into `qnn.conv2d_fused`), extracted with a cost model of the
//! target (bytes moved + kernel launches + MACs; tcconv's strategy rules decide which layout each
//! conv kernel reads) and rebuilt with melior op builders in place of the old function. Every
//! rebuilt op keeps the location of the op it came from (a fused conv: the conv's).
//!
//! The result computes bit for bit what the input computed. Fusion produces
//! `conv2d_fused(requantize)`, `conv2d_fused(requantize, relu)` and `conv2d_fused(residual[, relu])`;
//! the qnn graph has single-result nodes, so a value with two users (HAWQ's wide residual
//! stream: the next block's identity and, requantized to 4 bits, its first conv's input) stays a
//! `conv2d_fused(residual)` followed by a separate `requantize`. INT4 packing is a storage
//! decision of the tcconv stage: a `conv2d_fused` with a `ui4`/`i4` result is written packed by
//! its kernel.
//!
//! Options: `target` (default `sm_90`) picks the cost model's facts; `stats=true` (or
//! nibble-opt's `--nibble-egraph-stats`) prints, per function, the e-graph's size (nodes and
//! classes), the iterations and stop reason, and the estimated cost before and after to stderr;
//! `iter-limit`, `node-limit` and `time-limit-ms` bound the rewriting.

use crate::conversion::qnn_to_tcconv::{funcs, is_qnn_func, replace_func};
use crate::diagnostics::{emit_error, emit_located};
use crate::egraph::{optimize, Options};
use crate::pass::{NibblePass, PassOptions};
use crate::pipeline::Element;
use melior::ir::operation::{OperationLike, OperationRef};
use melior::ir::{Location, Module};
use melior::Context;
use nibble_qnn::ir::{build_func, graph_of_func, location_from_string};
use nibble_tcconv::target::Target;
use std::time::Duration;

pub struct QnnEgraphOptimize;

pub const NAME: &str = "qnn-egraph-optimize";

/// `--nibble-egraph-stats`: turn on `stats=true` of every qnn-egraph-optimize in `elements`.
pub fn force_stats(mut elements: Vec<Element>, on: bool) -> Vec<Element> {
    if on {
        for e in elements.iter_mut().filter(|e| e.name == NAME) {
            e.options.insert("stats".into(), "true".into());
        }
    }
    elements
}

/// The pass options as optimizer options and the stats flag.
pub fn parse_options(options: &PassOptions) -> Result<(Options, bool), String> {
    let mut o = Options::default();
    if let Some(t) = options.get("target") {
        o.target = Target::parse(t)?;
    }
    let stats = match options.get("stats").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(s) => return Err(format!("stats={s} is not true or false")),
    };
    let num = |k: &str| -> Result<Option<usize>, String> {
        options
            .get(k)
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{k}={v} is not a positive integer"))
            })
            .transpose()
    };
    if let Some(n) = num("iter-limit")? {
        o.iter_limit = n;
    }
    if let Some(n) = num("node-limit")? {
        o.node_limit = n;
    }
    if let Some(n) = num("time-limit-ms")? {
        o.time_limit = Duration::from_millis(n as u64);
    }
    Ok((o, stats))
}

impl NibblePass for QnnEgraphOptimize {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "E-graph optimization of qnn functions (egg): layout choice, transform cancelling, conv epilogue fusion"
    }
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "target",
                "sm_75 | sm_80 | sm_86 | sm_89 | sm_90 | sm_90a (default): the cost model's target",
            ),
            (
                "stats",
                "true: print e-graph size, iterations, stop reason and cost to stderr",
            ),
            ("iter-limit", "rewrite iterations (default 30)"),
            ("node-limit", "e-graph nodes (default 200000)"),
            ("time-limit-ms", "rewrite time (default 10000)"),
        ]
    }
    fn run(&self, context: &Context, module: &mut Module, options: &PassOptions) -> Result<(), ()> {
        const MAX_OPS: usize = 20_000;
        let (opts, stats) = parse_options(options)
            .map_err(|m| emit_error(Location::unknown(context), &format!("{NAME}: {m}")))?;
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
            // the e-graph grows faster than the function: a bound instead of minutes or an
            // exhausted memory (ResNet-50 has about 250 qnn ops)
            if g.nodes.len() > MAX_OPS {
                emit_error(
                    func.location(),
                    &format!(
                        "{NAME}: @{} has {} qnn ops; the e-graph optimizes functions of at most {MAX_OPS}",
                        g.name,
                        g.nodes.len()
                    ),
                );
                return Err(());
            }
            let (out, st) = optimize(&g, &opts)
                .map_err(|e| emit_error(func.location(), &format!("{NAME}: {e}")))?;
            if stats {
                eprintln!("{st}");
            }
            if st.kept_input {
                continue;
            }
            let new = build_func(context, &out)
                .map_err(|e| emit_error(func.location(), &format!("{NAME}: {e}")))?;
            // The rebuilt function keeps the old one's location too.
            unsafe { mlir_sys::mlirOperationSetLocation(new.to_raw(), func.location().to_raw()) };
            replace_func(context, module, func, new);
        }
        Ok(())
    }
}
