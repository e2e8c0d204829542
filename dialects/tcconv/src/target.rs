//! GPU targets and the facts the tile model and the strategy rules use.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Sm75,
    Sm80,
    Sm86,
    Sm89,
    Sm90,
    /// Hopper with its architecture-specific instructions (`wgmma`): PTX for sm_90a runs on
    /// sm_90 parts only.
    Sm90a,
}

/// `mma.sync` shape M x N x K.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MmaShape {
    pub m: i64,
    pub n: i64,
    pub k: i64,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Sm75,
        Target::Sm80,
        Target::Sm86,
        Target::Sm89,
        Target::Sm90,
        Target::Sm90a,
    ];

    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "sm_75" => Self::Sm75,
            "sm_80" => Self::Sm80,
            "sm_86" => Self::Sm86,
            "sm_89" => Self::Sm89,
            "sm_90" => Self::Sm90,
            "sm_90a" => Self::Sm90a,
            _ => {
                return Err(format!(
                    "unknown target '{s}' (known: sm_75, sm_80, sm_86, sm_89, sm_90, sm_90a)"
                ))
            }
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Sm75 => "sm_75",
            Self::Sm80 => "sm_80",
            Self::Sm86 => "sm_86",
            Self::Sm89 => "sm_89",
            Self::Sm90 => "sm_90",
            Self::Sm90a => "sm_90a",
        }
    }
    /// Does the target have INT4 tensor cores? (Hopper does not: INT4 is widened to 8 bit.)
    pub fn native_int4(self) -> bool {
        !self.hopper()
    }
    /// sm_90 or sm_90a.
    pub fn hopper(self) -> bool {
        matches!(self, Self::Sm90 | Self::Sm90a)
    }
    /// Programmatic dependent launch (`griddepcontrol`, sm_90+): every kernel starts by waiting
    /// for its predecessor and lets its successor be scheduled, the runtime launches with
    /// programmatic stream serialization.
    pub fn programmatic_launch(self) -> bool {
        self.hopper()
    }
    /// Does the target have halfword SIMD min / max (`max.s16x2`: sm_90+ in PTX 8.0, so the
    /// PTX nibble writes for sm_90a)? A narrow16 stream's escape test is then one instruction
    /// a word.
    pub fn simd16(self) -> bool {
        self == Self::Sm90a
    }
    /// Does the target have the warpgroup MMA (`wgmma.mma_async`)? sm_90a only.
    pub fn wgmma(self) -> bool {
        self == Self::Sm90a
    }
    /// The MMA the target uses for 4-bit operands (after widening on sm_90).
    pub fn mma_int4(self) -> MmaShape {
        match self {
            Self::Sm75 => MmaShape { m: 8, n: 8, k: 32 },
            Self::Sm80 | Self::Sm86 | Self::Sm89 => MmaShape { m: 16, n: 8, k: 64 },
            Self::Sm90 | Self::Sm90a => MmaShape { m: 16, n: 8, k: 32 },
        }
    }
    /// The MMA the target uses for 8-bit operands.
    pub fn mma_int8(self) -> MmaShape {
        match self {
            Self::Sm75 => MmaShape { m: 8, n: 8, k: 16 },
            _ => MmaShape { m: 16, n: 8, k: 32 },
        }
    }
    pub fn sm_count(self) -> i64 {
        match self {
            Self::Sm75 => 40,                // T4
            Self::Sm80 => 108,               // A100
            Self::Sm86 => 84,                // A10 / RTX 3090 class
            Self::Sm89 => 128,               // L40 / RTX 4090 class
            Self::Sm90 | Self::Sm90a => 132, // H100 / H200 SXM
        }
    }
    /// Shared memory one block may use (bytes).
    pub fn smem_per_block(self) -> i64 {
        match self {
            Self::Sm75 => 64 * 1024,
            Self::Sm80 => 163 * 1024,
            Self::Sm86 | Self::Sm89 => 99 * 1024,
            Self::Sm90 | Self::Sm90a => 227 * 1024,
        }
    }
    /// Shared memory of an SM (bytes): what its resident blocks share, each with
    /// [`BLOCK_RESERVED_SMEM`] more that the driver keeps.
    pub const fn smem_per_sm(self) -> i64 {
        match self {
            Self::Sm75 => 64 * 1024,
            Self::Sm80 => 164 * 1024,
            Self::Sm86 | Self::Sm89 => 100 * 1024,
            Self::Sm90 | Self::Sm90a => 228 * 1024,
        }
    }
    /// Threads an SM holds at once.
    pub const fn threads_per_sm(self) -> i64 {
        match self {
            Self::Sm75 => 1024,
            Self::Sm86 | Self::Sm89 => 1536,
            Self::Sm80 | Self::Sm90 | Self::Sm90a => 2048,
        }
    }
    /// Shared memory a kernel declares statically (bytes; more needs dynamic shared memory,
    /// which the launch plan does not use): what the tile model's stages must fit in.
    pub fn static_smem(self) -> i64 {
        48 * 1024
    }
    /// Deepest cp.async pipeline worth using (sm_75 has no cp.async: 1 stage, register staging).
    pub fn max_stages(self) -> i64 {
        match self {
            Self::Sm75 => 1,
            Self::Sm86 | Self::Sm89 => 3,
            Self::Sm80 | Self::Sm90 | Self::Sm90a => 4,
        }
    }
}

/// Shared memory the driver reserves of an SM's for each resident block (bytes).
pub const BLOCK_RESERVED_SMEM: i64 = 1024;

/// 32-bit registers of an SM (every target).
pub const REGS_PER_SM: i64 = 64 * 1024;

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
