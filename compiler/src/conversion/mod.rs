//! Dialect conversions, one module per `<src>_to_<dst>` pass.
pub mod qnn_to_tcconv;
pub mod tcconv_to_gpu;
