//! nibble's own passes and the registry that resolves them by their pipeline names.
//!
//! The MLIR C API cannot register Rust passes under a name for MLIR's textual pipeline parser,
//! so nibble-opt splits a pipeline into its top-level elements, runs nibble's passes itself and
//! hands every other element to MLIR's `parse_pass_pipeline` (see `pipeline.rs`).

use melior::ir::Module;
use melior::Context;
use std::collections::BTreeMap;

/// `key=value` options of one pass instance (`pass-name{key=value other=1}`).
pub type PassOptions = BTreeMap<String, String>;

/// A nibble pass over a whole module. Failures are reported with `diagnostics::emit_error` at the
/// offending op's location before returning `Err(())`.
pub trait NibblePass {
    /// The pipeline name, e.g. `qnn-verify` (also the file name: `qnn_verify.rs`).
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// `(option, description)` pairs this pass accepts.
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    fn run(&self, context: &Context, module: &mut Module, options: &PassOptions) -> Result<(), ()>;
}

/// Every nibble pass, by name.
pub fn registry() -> Vec<Box<dyn NibblePass>> {
    vec![
        Box::new(crate::transforms::qnn_verify::QnnVerify),
        Box::new(crate::transforms::tcconv_verify::TcconvVerify),
        Box::new(crate::transforms::qnn_egraph_optimize::QnnEgraphOptimize),
        Box::new(crate::conversion::qnn_to_tcconv::ConvertQnnToTcconv),
        Box::new(crate::conversion::tcconv_to_gpu::ConvertTcconvToGpu),
    ]
}

pub fn lookup(name: &str) -> Option<Box<dyn NibblePass>> {
    registry().into_iter().find(|p| p.name() == name)
}
