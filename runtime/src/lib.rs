//! nibble's runtime: loads the PTX of an artifact with cudarc, uploads weights once, owns one
//! activation arena, and replays the launch plan through a CUDA graph. It never links MLIR.
pub mod plan;
