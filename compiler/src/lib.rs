//! nibble's compiler: MLIR contexts with nibble's dialects, diagnostics, passes, conversions and
//! pipelines. Tools (nibble-opt, nibble-run) sit on top; dialects sit below and never depend on it.

pub mod artifact;
pub mod context;
pub mod conversion;
pub mod diagnostics;
pub mod egraph;
pub mod memory_plan;
pub mod opt_driver;
pub mod pass;
pub mod pipeline;
pub mod pipelines;
pub mod timing;
pub mod transforms;
