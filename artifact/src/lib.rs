//! What `nibble-opt --emit=artifact` writes and the runtime reads, with no CUDA and no MLIR: the
//! compiler links this crate to write and check artifacts, the runtime to load them.
//!
//! - [`plan`]: the `plan.json` schema (launches, buffers in one arena, packed weights).
//! - [`artifact`]: the directory's file names, loading and checking an artifact (plan, PTX
//!   entries and parameter sizes, packed weights, the CPU reference model).
//! - [`host`]: host tensors <-> the stored form of a buffer (INT4 packing, layouts, padding).
//!
//! Artifact directory layout:
//! ```text
//! DIR/plan.json                      launch plan (plan::Plan)
//! DIR/kernels.ptx                    every kernel, one PTX module
//! DIR/weights.safetensors            pre-packed weights by name (raw bytes, U8 or I32 tensors)
//! DIR/reference/model.json           the original qnn graph (nibble_qnn::graph::Graph, serde JSON)
//! DIR/reference/weights.safetensors  its qnn weights (nibble_qnn::weights::Weights)
//! ```
pub mod artifact;
pub mod host;
pub mod plan;

pub use artifact::Artifact;

/// What can go wrong; `NoDriver` is the one a machine without a GPU sees.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// No CUDA driver library (libcuda.so) could be loaded, or no device.
    NoDriver(String),
    /// A CUDA call failed (the message names the call).
    Cuda(String),
    /// A missing or corrupt artifact file.
    Artifact(String),
    /// Inputs that do not fit the plan.
    Input(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoDriver(m) | Error::Cuda(m) | Error::Artifact(m) | Error::Input(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}
