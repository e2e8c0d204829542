//! The `tcconv` dialect: tensor-core convolution kernels on buffers (stage 3 of nibble).
//!
//! - [`target`]: sm_75 ... sm_90 facts (MMA shapes, SM count, shared memory).
//! - [`buffer`]: where each element lives in a kernel buffer; INT4 packing.
//! - [`program`]: the MLIR-free model of a tcconv function (one op per kernel).
//! - [`lower`]: qnn graph -> program: strategy rules, tile model, weight packing plan.
//! - [`pack`]: compile-time weight pre-packing.
//! - [`interp`]: the CPU interpreter over packed buffers (bit-exact against the qnn reference).

pub mod buffer;
pub mod interp;
pub mod lower;
pub mod pack;
pub mod program;
pub mod select;
pub mod target;
pub mod verify;

/// The IRDL definition of the dialect, loaded into every MLIR context nibble creates.
pub const IRDL: &str = include_str!("../tcconv.irdl.mlir");
#[cfg(feature = "mlir")]
pub mod ir;
