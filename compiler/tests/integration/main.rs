//! nibble-compiler's integration tests: ONE test binary (each is a ~250 MB link), one module per
//! area.

mod architecture;
mod artifact;
mod egraph;
mod shortcut;
mod tcconv_resnet;

use melior::ir::block::BlockLike;
use nibble_compiler::context::{new_context, parse_source};
use nibble_compiler::opt_driver::{run_opt, OptOptions};
use nibble_qnn::graph::Graph;
use nibble_tcconv::target::Target;

/// `g` after `qnn-egraph-optimize{target}` (fused epilogues), read back as a graph.
pub fn optimized(g: &Graph, target: Target) -> Graph {
    let out = run_opt(
        &g.to_mlir(),
        "net.mlir",
        &OptOptions {
            pass_pipeline: Some(format!(
                "builtin.module(qnn-egraph-optimize{{target={target}}})"
            )),
            ..Default::default()
        },
    );
    assert!(out.success, "{}", out.stderr);
    let ctx = new_context();
    let module = parse_source(ctx, &out.output, "opt.mlir").expect("valid IR");
    nibble_qnn::ir::graph_of_func(module.body().first_operation().unwrap()).unwrap()
}
