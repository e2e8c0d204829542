//! Passes over the qnn dialect (one pass per file, named like its flag).
pub mod qnn_egraph_optimize;
pub mod qnn_verify;
pub mod tcconv_verify;
