//! nibble's runtime: loads the PTX of an artifact with cudarc, uploads weights once, owns one
//! activation arena, and replays the launch plan through a CUDA graph. It never links MLIR.
//! The artifact contract (plan schema, loading, host tensors) is `nibble_artifact`, re-exported
//! here; [`gpu`] is the CUDA side ([`Runtime`]).
pub mod gpu;

pub use gpu::Runtime;
pub use nibble_artifact::{artifact, host, plan, Artifact, Error};
