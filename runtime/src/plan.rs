//! The launch plan (`plan.json` of an artifact directory): everything the runtime needs to run
//! a compiled network, with no MLIR. Written by `nibble-opt --emit=artifact`, read by nibble-run.
//!
//! Memory: one device arena holds every activation buffer at its `offset` (a liveness-based
//! plan lets buffers whose lifetimes do not overlap share bytes); weights are uploaded once from
//! `weights.safetensors` (pre-packed, one tensor per `WeightSlot.name`).

use serde::{Deserialize, Serialize};

pub const PLAN_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// `sm_90`, ...
    pub target: String,
    /// PTX file name in the artifact directory (`kernels.ptx`).
    pub ptx: String,
    /// Bytes of the activation arena.
    pub arena_bytes: u64,
    pub buffers: Vec<BufferSlot>,
    pub weights: Vec<WeightSlot>,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
    pub launches: Vec<Launch>,
}

/// An activation buffer: `bytes` at `offset` in the arena.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BufferSlot {
    pub offset: u64,
    pub bytes: u64,
    /// How the kernels store it: `layout` (NCHW/NHWC/HWNC/NC), `elem` (ui4, i8, i32, f32, ...),
    /// logical `dims` (n, c, h, w); storage rules in nibble_tcconv::buffer.
    pub layout: String,
    pub elem: String,
    pub dims: [i64; 4],
}

/// A pre-packed weight tensor, by name in `weights.safetensors`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightSlot {
    pub name: String,
    pub bytes: u64,
}

/// A network input or output: which buffer holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Io {
    pub buffer: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// Kernel (PTX entry) name.
    pub kernel: String,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
    /// One entry per kernel parameter, in order (memrefs are bare device pointers).
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Arg {
    /// Device pointer of an activation buffer (index into `buffers`).
    Buffer(usize),
    /// Device pointer of a weight (index into `weights`).
    Weight(usize),
    I32(i32),
    I64(i64),
}

impl Plan {
    pub fn from_json(s: &str) -> Result<Plan, String> {
        let p: Plan = serde_json::from_str(s).map_err(|e| format!("plan.json: {e}"))?;
        if p.version != PLAN_VERSION {
            return Err(format!("plan.json: version {} (this runtime reads {PLAN_VERSION})", p.version));
        }
        p.validate()?;
        Ok(p)
    }
    /// Every index in range and every buffer inside the arena.
    pub fn validate(&self) -> Result<(), String> {
        for (i, b) in self.buffers.iter().enumerate() {
            if b.offset.checked_add(b.bytes).map(|e| e > self.arena_bytes).unwrap_or(true) {
                return Err(format!("plan.json: buffer {i} [{}, +{}) exceeds the arena ({} bytes)", b.offset, b.bytes, self.arena_bytes));
            }
        }
        for io in self.inputs.iter().chain(&self.outputs) {
            if io.buffer >= self.buffers.len() {
                return Err(format!("plan.json: io buffer {} out of range", io.buffer));
            }
        }
        for l in &self.launches {
            for a in &l.args {
                match a {
                    Arg::Buffer(i) if *i >= self.buffers.len() => return Err(format!("plan.json: {} uses buffer {i} out of range", l.kernel)),
                    Arg::Weight(i) if *i >= self.weights.len() => return Err(format!("plan.json: {} uses weight {i} out of range", l.kernel)),
                    _ => {}
                }
            }
            if l.grid.contains(&0) || l.block.contains(&0) {
                return Err(format!("plan.json: {} has an empty grid or block", l.kernel));
            }
        }
        Ok(())
    }
}
