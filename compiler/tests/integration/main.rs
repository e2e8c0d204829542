//! nibble-compiler's integration tests: ONE test binary (each is a ~250 MB link), one module per
//! area.

mod architecture;
mod artifact;
mod chains;
mod concat;
mod egraph;
mod onnx;
mod pool_second;
mod shortcut;
mod tcconv_resnet;

use melior::ir::block::BlockLike;
use nibble_compiler::context::{new_context, parse_source};
use nibble_compiler::opt_driver::{run_opt, OptOptions};
use nibble_qnn::graph::Graph;
use nibble_tcconv::target::Target;

/// `g` after the pass pipeline `pipeline` (nibble-opt's driver), read back as a graph.
pub fn run_pipeline(g: &Graph, pipeline: &str) -> Graph {
    let out = run_opt(
        &g.to_mlir(),
        "net.mlir",
        &OptOptions {
            pass_pipeline: Some(pipeline.to_string()),
            ..Default::default()
        },
    );
    assert!(out.success, "{}", out.stderr);
    let ctx = new_context();
    let module = parse_source(ctx, &out.output, "opt.mlir").expect("the pipeline prints valid IR");
    let func = module.body().first_operation().expect("a function");
    nibble_qnn::ir::graph_of_func(func).expect("a qnn function")
}

/// The tcconv program `p`, verified, packed and interpreted on `inputs`, equals `want` bit for
/// bit.
pub fn interpret_equals(
    p: &nibble_tcconv::program::Program,
    weights: &nibble_qnn::weights::Weights,
    inputs: &[nibble_qnn::tensor::Tensor],
    want: &nibble_qnn::tensor::Tensor,
    what: &str,
) {
    nibble_tcconv::verify::verify_program(p).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let packed = nibble_tcconv::pack::pack_all(p, weights).unwrap();
    let got = nibble_tcconv::interp::run(p, &packed, inputs).unwrap();
    if let Some(k) = got[0].first_mismatch(want) {
        panic!(
            "{what}: first mismatch at {k}: {} vs {}",
            got[0].show(k),
            want.show(k)
        );
    }
}

/// `g` after `qnn-egraph-optimize{target}` (fused epilogues).
pub fn optimized(g: &Graph, target: Target) -> Graph {
    run_pipeline(
        g,
        &format!("builtin.module(qnn-egraph-optimize{{target={target}}})"),
    )
}
