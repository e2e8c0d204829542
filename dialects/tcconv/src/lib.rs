//! The `tcconv` dialect: tensor-core convolution kernels on buffers.

/// The IRDL definition of the dialect, loaded into every MLIR context nibble creates.
pub const IRDL: &str = include_str!("../tcconv.irdl.mlir");
