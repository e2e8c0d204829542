//! The launch plan (`plan.json` of an artifact directory): everything the runtime needs to run
//! a compiled network, with no MLIR. Written by `nibble-opt --emit=artifact`, read by nibble-run.
//!
//! Memory: one device arena holds every activation buffer at its `offset` (a liveness-based
//! plan lets buffers whose lifetimes do not overlap share bytes; offsets are multiples of
//! [`ALIGN`]; network inputs and outputs never share bytes with any other buffer); weights are
//! uploaded once from `weights.safetensors` (pre-packed, one tensor per `WeightSlot.name`, raw
//! bytes as `U8` or `I32` tensors) into one device allocation, each at a 256-byte-aligned
//! offset in `weights` order. Constant tables (per-channel requantize multipliers and shifts,
//! which kernels take as parameters so that layers of one shape share a kernel) are weight
//! slots whose i32 values the plan holds (`constant`).
//!
//! Launches run in order on one stream (captured once into a CUDA graph). Kernel parameters are
//! `args` in order: a memref is ONE bare device pointer (`convert-gpu-to-nvvm
//! {use-bare-ptr-memref-call-conv=1}`), scalars are passed by value.
//!
//! Inputs and outputs name their buffer and the host tensor it holds: `shape`/`elem` of the qnn
//! tensor and the `layout` its indices follow (inputs: `NCHW`, or `NC` for 2-D; outputs: the
//! layout the qnn op producing it declares). The runtime converts between that host tensor and
//! the buffer's stored form with `nibble_tcconv::buffer` (padding channels hold zeros).
//!
//! Example (`Plan::to_json`: keys sorted, one buffer / io / launch per line):
//! ```json
//! {
//!   "arena_bytes": 1024,
//!   "buffers": [
//!     {"bytes": 64, "dims": [1, 8, 4, 4], "elem": "ui4", "layout": "NHWC", "offset": 0},
//!     {"bytes": 64, "dims": [1, 8, 4, 4], "elem": "ui4", "layout": "NHWC", "offset": 256}
//!   ],
//!   "inputs": [
//!     {"buffer": 0, "elem": "ui4", "layout": "NCHW", "shape": [1, 8, 4, 4]}
//!   ],
//!   "launches": [
//!     {"args": [{"Buffer": 0}, {"Weight": 0}, {"Buffer": 1}, {"Weight": 1}], "block": [256, 1, 1], "grid": [1, 1, 1], "kernel": "block_0_conv2d", "shared_bytes": 0}
//!   ],
//!   "network": "block",
//!   "outputs": [
//!     {"buffer": 1, "elem": "ui4", "layout": "NCHW", "shape": [1, 8, 4, 4]}
//!   ],
//!   "ptx": "kernels.ptx",
//!   "target": "sm_90",
//!   "version": 2,
//!   "weights": [
//!     {"bytes": 288, "name": "w.hwoi"},
//!     {"bytes": 32, "constant": [1, 2, 3, 4, 5, 6, 7, 8], "name": "block_0_conv2d_mul"}
//!   ]
//! }
//! ```

use nibble_qnn::semantics::{ElemType, Layout};
use nibble_tcconv::buffer::ActBuffer;
use serde::{Deserialize, Serialize};

/// Version 2 added constant weight slots (`WeightSlot::constant`); a version-1 plan has none
/// and is read as it is.
pub const PLAN_VERSION: u32 = 2;
pub const OLDEST_PLAN_VERSION: u32 = 1;
/// The largest activation arena a plan may ask for (256 GiB: above any GPU's memory), checked
/// before the runtime allocates anything.
pub const MAX_ARENA_BYTES: u64 = 1 << 38;

/// Alignment of arena offsets (and of weights in their device allocation).
pub const ALIGN: u64 = 256;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// The network (the qnn function's name).
    pub network: String,
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
    /// How the slot is packed from a qnn weight, so the runtime can pack it at load time from
    /// the qnn weights file when the artifact ships without `weights.safetensors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packing: Option<nibble_tcconv::program::PackedWeight>,
    /// A constant table's values (little-endian i32 words on the device); such a slot is in no
    /// weights file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Vec<i32>>,
}

impl WeightSlot {
    /// The device bytes of a constant table.
    pub fn constant_bytes(&self) -> Option<Vec<u8>> {
        self.constant
            .as_ref()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
}

/// A network input or output: which buffer holds it, and the host tensor it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Io {
    pub buffer: usize,
    /// Shape of the host tensor (the qnn tensor type's shape).
    pub shape: Vec<i64>,
    /// Element type of the host tensor (= the buffer's).
    pub elem: String,
    /// Layout the host tensor's indices follow (`NCHW`, `NHWC`, `HWNC`, or `NC` for 2-D).
    pub layout: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// Kernel (PTX entry) name.
    pub kernel: String,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    /// Dynamic shared memory bytes.
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
    /// Also `index` scalars (64-bit on the GPU).
    I64(i64),
    F32(f32),
}

impl Plan {
    /// Whether parameter `i` of kernel `kernel` is a weight (or constant table: nothing any
    /// kernel writes) at every launch of it.
    pub fn read_only_param(&self, kernel: &str, i: usize) -> bool {
        let mut launches = self
            .launches
            .iter()
            .filter(|l| l.kernel == kernel)
            .peekable();
        launches.peek().is_some() && launches.all(|l| matches!(l.args.get(i), Some(Arg::Weight(_))))
    }
}

impl Arg {
    /// Bytes of the kernel parameter.
    pub fn param_bytes(&self) -> usize {
        match self {
            Arg::Buffer(_) | Arg::Weight(_) | Arg::I64(_) => 8,
            Arg::I32(_) | Arg::F32(_) => 4,
        }
    }
}

impl Io {
    pub fn elem_type(&self) -> Result<ElemType, String> {
        ElemType::parse(&self.elem).ok_or_else(|| format!("unknown element type '{}'", self.elem))
    }
    pub fn layout_of(&self) -> Result<Layout, String> {
        Layout::parse(&self.layout).ok_or_else(|| format!("unknown layout '{}'", self.layout))
    }
}

impl BufferSlot {
    /// The buffer's storage description (what `nibble_tcconv::buffer` computes with).
    pub fn act_buffer(&self) -> Result<ActBuffer, String> {
        let layout = Layout::parse(&self.layout)
            .ok_or_else(|| format!("unknown layout '{}'", self.layout))?;
        let elem = ElemType::parse(&self.elem)
            .ok_or_else(|| format!("unknown element type '{}'", self.elem))?;
        // sizes never wrap: the element count (hence bytes and packed words) is bounded first
        nibble_qnn::semantics::checked_elements(&self.dims)?;
        Ok(ActBuffer::new(layout, elem, self.dims))
    }
}

/// A JSON error in `file` as `file:line:col: message` (serde's own "at line L column C" moved
/// to the front), or `file: message` where it has no position.
pub fn json_error(file: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let msg = match text.rfind(" at line ") {
        Some(i) if e.line() > 0 => &text[..i],
        _ => &text[..],
    };
    if e.line() > 0 {
        format!("{file}:{}:{}: {msg}", e.line(), e.column())
    } else {
        format!("{file}: {msg}")
    }
}

impl Plan {
    pub fn from_json(s: &str) -> Result<Plan, String> {
        let v: serde_json::Value =
            serde_json::from_str(s).map_err(|e| json_error("plan.json", &e))?;
        if let Some(ver) = v.get("version").and_then(|x| x.as_u64()) {
            if !(OLDEST_PLAN_VERSION as u64..=PLAN_VERSION as u64).contains(&ver) {
                return Err(format!(
                    "plan.json: version {ver} (this runtime reads {OLDEST_PLAN_VERSION} to {PLAN_VERSION})"
                ));
            }
        }
        let p: Plan = serde_json::from_value(v).map_err(|e| format!("plan.json: {e}"))?;
        p.validate()?;
        Ok(p)
    }

    /// The JSON text: pretty, with arrays of numbers and each `args` entry on one line.
    pub fn to_json(&self) -> String {
        let v = serde_json::to_value(self).expect("a plan serializes");
        let mut s = String::new();
        write_json(&v, 0, &mut s);
        s.push('\n');
        s
    }

    /// Every index in range, every buffer inside the arena, aligned, and large enough for its
    /// layout/elem/dims; inputs/outputs consistent with their buffers and never overlapping
    /// another buffer; names unique; launches non-empty.
    pub fn validate(&self) -> Result<(), String> {
        let e = |m: String| Err(format!("plan.json: {m}"));
        if self.ptx.is_empty() || self.ptx.contains('/') || self.ptx.contains("..") {
            return e(format!(
                "ptx '{}' must be a file name in the artifact directory",
                self.ptx
            ));
        }
        if self.arena_bytes > MAX_ARENA_BYTES {
            return e(format!(
                "arena of {} bytes exceeds the limit of {MAX_ARENA_BYTES}",
                self.arena_bytes
            ));
        }
        for (i, b) in self.buffers.iter().enumerate() {
            if b.offset
                .checked_add(b.bytes)
                .map(|end| end > self.arena_bytes)
                .unwrap_or(true)
            {
                return e(format!(
                    "buffer {i} [{}, +{}) exceeds the arena ({} bytes)",
                    b.offset, b.bytes, self.arena_bytes
                ));
            }
            if b.offset % ALIGN != 0 {
                return e(format!(
                    "buffer {i} offset {} is not a multiple of {ALIGN}",
                    b.offset
                ));
            }
            let ab = b
                .act_buffer()
                .map_err(|m| format!("plan.json: buffer {i}: {m}"))?;
            if b.layout == "NC" && (b.dims[2] != 1 || b.dims[3] != 1) {
                return e(format!(
                    "buffer {i} is NC but has spatial dims {:?} (NC buffers are n x c x 1 x 1)",
                    b.dims
                ));
            }
            if (ab.bytes() as u64) > b.bytes {
                return e(format!(
                    "buffer {i} has {} bytes, {} {} {:?} needs {}",
                    b.bytes,
                    b.layout,
                    b.elem,
                    b.dims,
                    ab.bytes()
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        for w in &self.weights {
            if !names.insert(w.name.as_str()) {
                return e(format!("weight '{}' appears twice", w.name));
            }
            if let Some(c) = &w.constant {
                if w.packing.is_some() || c.len() as u64 * 4 != w.bytes {
                    return e(format!(
                        "constant '{}' has {} values for {} bytes{}",
                        w.name,
                        c.len(),
                        w.bytes,
                        if w.packing.is_some() {
                            " and a packing recipe"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        if self.outputs.is_empty() {
            return e("the network has no outputs".into());
        }
        for (what, ios) in [("input", &self.inputs), ("output", &self.outputs)] {
            for (k, io) in ios.iter().enumerate() {
                let Some(b) = self.buffers.get(io.buffer) else {
                    return e(format!("{what} {k}: buffer {} out of range", io.buffer));
                };
                let elem = io
                    .elem_type()
                    .map_err(|m| format!("plan.json: {what} {k}: {m}"))?;
                let layout = io
                    .layout_of()
                    .map_err(|m| format!("plan.json: {what} {k}: {m}"))?;
                if io.elem != b.elem {
                    return e(format!(
                        "{what} {k} is {elem}, its buffer {} holds {}",
                        io.buffer, b.elem
                    ));
                }
                if io.shape.len() != layout.rank() || layout.nchw(&io.shape) != b.dims {
                    return e(format!(
                        "{what} {k}: shape {:?} in {} is not the dims {:?} of buffer {}",
                        io.shape, io.layout, b.dims, io.buffer
                    ));
                }
                for (j, o) in self.buffers.iter().enumerate() {
                    let (x, y) = (b.offset, o.offset);
                    if j != io.buffer && x < y + o.bytes && y < x + b.bytes {
                        return e(format!(
                            "{what} {k} (buffer {}) overlaps buffer {j} in the arena",
                            io.buffer
                        ));
                    }
                }
            }
        }
        for (li, l) in self.launches.iter().enumerate() {
            if l.kernel.is_empty() {
                return e(format!("launch {li} has no kernel name"));
            }
            for a in &l.args {
                match a {
                    Arg::Buffer(i) if *i >= self.buffers.len() => {
                        return e(format!("{} uses buffer {i} out of range", l.kernel))
                    }
                    Arg::Weight(i) if *i >= self.weights.len() => {
                        return e(format!("{} uses weight {i} out of range", l.kernel))
                    }
                    _ => {}
                }
            }
            if l.grid.contains(&0) || l.block.contains(&0) {
                return e(format!("{} has an empty grid or block", l.kernel));
            }
            // CUDA's limits: a grid of at most 2^31 - 1 x 65535 x 65535 blocks
            if l.grid[0] as u64 > i32::MAX as u64 || l.grid[1] > 65535 || l.grid[2] > 65535 {
                return e(format!(
                    "{} has a grid of {:?} blocks (at most [2147483647, 65535, 65535])",
                    l.kernel, l.grid
                ));
            }
            if l.block.iter().map(|&x| x as u128).product::<u128>() > 1024 {
                return e(format!(
                    "{} has {:?} threads per block (at most 1024)",
                    l.kernel, l.block
                ));
            }
        }
        Ok(())
    }
}

/// Scalars, arrays of scalars and one-key objects of a scalar fit on one line.
fn one_line(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    let small = |x: &Value| match x {
        Value::Array(_) => false,
        Value::Object(o) => o.len() <= 1 && o.values().all(|y| !y.is_array() && !y.is_object()),
        _ => true,
    };
    match v {
        Value::Array(a) => a.iter().all(small),
        Value::Object(_) => small(v),
        _ => true,
    }
}

/// Pretty JSON where one-line values (see [`one_line`]) and objects whose fields are all one-line
/// (buffers, weights, inputs, outputs) stay on one line: plan.json reads (and FileChecks) line
/// by line. Keys are sorted (serde_json's map).
fn write_json(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = "  ".repeat(indent + 1);
    match v {
        Value::Array(_) if one_line(v) => out.push_str(&inline_str(v)),
        Value::Object(o) if indent > 1 || (indent > 0 && o.values().all(one_line)) => {
            out.push_str(&inline_str(v))
        }
        Value::Array(a) => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                out.push_str(&pad);
                write_json(x, indent + 1, out);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        Value::Object(o) => {
            out.push_str("{\n");
            for (i, (k, x)) in o.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(": ");
                write_json(x, indent + 1, out);
                out.push_str(if i + 1 < o.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        _ => out.push_str(&serde_json::to_string(v).unwrap()),
    }
}

/// A value on one line with a space after `,` and `:` (outside strings).
fn inline_str(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(inline_str).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, x)| format!("{}: {}", serde_json::to_string(k).unwrap(), inline_str(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => serde_json::to_string(v).unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Plan {
        Plan {
            version: PLAN_VERSION,
            network: "block".into(),
            target: "sm_90".into(),
            ptx: "kernels.ptx".into(),
            arena_bytes: 1024,
            buffers: vec![
                BufferSlot {
                    offset: 0,
                    bytes: 256,
                    layout: "NCHW".into(),
                    elem: "f32".into(),
                    dims: [1, 2, 4, 4],
                },
                BufferSlot {
                    offset: 256,
                    bytes: 64,
                    layout: "NHWC".into(),
                    elem: "ui4".into(),
                    dims: [1, 2, 4, 4],
                },
                BufferSlot {
                    offset: 512,
                    bytes: 128,
                    layout: "NC".into(),
                    elem: "i32".into(),
                    dims: [2, 16, 1, 1],
                },
            ],
            weights: vec![
                WeightSlot {
                    name: "w.hwoi".into(),
                    bytes: 288,
                    packing: None,
                    constant: None,
                },
                WeightSlot {
                    name: "k0_mul".into(),
                    bytes: 8,
                    packing: None,
                    constant: Some(vec![7, -1]),
                },
            ],
            inputs: vec![Io {
                buffer: 0,
                shape: vec![1, 2, 4, 4],
                elem: "f32".into(),
                layout: "NCHW".into(),
            }],
            outputs: vec![Io {
                buffer: 2,
                shape: vec![2, 16],
                elem: "i32".into(),
                layout: "NC".into(),
            }],
            launches: vec![Launch {
                kernel: "k0".into(),
                grid: [2, 1, 1],
                block: [128, 1, 1],
                shared_bytes: 4096,
                args: vec![
                    Arg::Buffer(0),
                    Arg::Weight(0),
                    Arg::Buffer(1),
                    Arg::I32(-3),
                    Arg::I64(1 << 40),
                    Arg::F32(0.25),
                    Arg::Weight(1),
                ],
            }],
        }
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let p = sample();
        let text = p.to_json();
        assert!(text.contains("\"grid\": [2, 1, 1]"), "{text}");
        assert!(
            text.contains(
                "\"args\": [{\"Buffer\": 0}, {\"Weight\": 0}, {\"Buffer\": 1}, {\"I32\": -3}"
            ),
            "{text}"
        );
        assert!(text.contains("{\"bytes\": 64, \"dims\": [1, 2, 4, 4], \"elem\": \"ui4\", \"layout\": \"NHWC\", \"offset\": 256}"), "{text}");
        assert_eq!(Plan::from_json(&text).unwrap(), p);
        // serde's own pretty printer reads back the same.
        assert_eq!(
            Plan::from_json(&serde_json::to_string_pretty(&p).unwrap()).unwrap(),
            p
        );
    }

    fn err_of(edit: impl FnOnce(&mut Plan)) -> String {
        let mut p = sample();
        edit(&mut p);
        Plan::from_json(&serde_json::to_string(&p).unwrap()).unwrap_err()
    }

    #[test]
    fn validation_errors_name_the_problem() {
        assert!(err_of(|p| p.version = 7).contains("version 7"));
        assert!(err_of(|p| p.version = 0).contains("version 0"));
        assert!(err_of(|p| p.weights[1].bytes = 12)
            .contains("constant 'k0_mul' has 2 values for 12 bytes"));
        let bias = nibble_tcconv::program::PackedWeight {
            name: "b.bias".into(),
            source: "b".into(),
            packing: nibble_tcconv::program::Packing::Bias,
            elem: ElemType::I32,
            dims: [2, 1, 1, 1],
            source_layout: nibble_qnn::semantics::KernelLayout::OIHW,
            space_to_depth: None,
            widened: false,
            tiles: None,
        };
        assert!(err_of(|p| p.weights[1].packing = Some(bias)).contains("and a packing recipe"));
        assert!(err_of(|p| p.buffers[1].offset = 1024).contains("exceeds the arena"));
        assert!(err_of(|p| p.arena_bytes = u64::MAX).contains("exceeds the limit of 274877906944"));
        assert!(err_of(|p| p.buffers[1].offset = 300).contains("not a multiple of 256"));
        assert!(err_of(|p| p.buffers[1].bytes = 8).contains("needs 64"));
        assert!(err_of(|p| p.buffers[1].elem = "u3".into()).contains("unknown element type 'u3'"));
        assert!(err_of(|p| p.buffers[2].dims = [2, 16, 2, 1]).contains("NC but has spatial dims"));
        assert!(err_of(|p| p.inputs[0].buffer = 9).contains("buffer 9 out of range"));
        assert!(err_of(|p| p.inputs[0].shape = vec![1, 2, 4, 5]).contains("is not the dims"));
        assert!(err_of(|p| p.outputs[0].elem = "i8".into()).contains("holds i32"));
        assert!(err_of(|p| p.outputs.clear()).contains("no outputs"));
        assert!(err_of(|p| p.launches[0].grid = [1, 65536, 1]).contains("at most [2147483647"));
        // a block whose product wraps a 64-bit integer is still too large
        assert!(err_of(|p| p.launches[0].block = [u32::MAX; 3]).contains("at most 1024"));
        assert!(err_of(|p| p.buffers[2].offset = 256).contains("overlaps buffer 1"));
        assert!(
            err_of(|p| p.launches[0].args[1] = Arg::Weight(3)).contains("weight 3 out of range")
        );
        assert!(
            err_of(|p| p.launches[0].args[0] = Arg::Buffer(3)).contains("buffer 3 out of range")
        );
        assert!(err_of(|p| p.launches[0].grid = [0, 1, 1]).contains("empty grid"));
        assert!(err_of(|p| p.launches[0].block = [1024, 2, 1]).contains("at most 1024"));
        assert!(err_of(|p| p.weights.push(p.weights[0].clone())).contains("appears twice"));
        assert!(err_of(|p| p.ptx = "../x.ptx".into()).contains("file name"));
        assert!(Plan::from_json("{").unwrap_err().starts_with("plan.json:"));
        assert!(Plan::from_json("{\"version\": 2}")
            .unwrap_err()
            .contains("missing field"));
        assert!(Plan::from_json("{\"version\": 3}")
            .unwrap_err()
            .contains("version 3 (this runtime reads 1 to 2)"));
        // a plan from before kernels took constant tables as parameters reads as it is
        let mut old = sample();
        old.version = 1;
        old.weights.pop();
        old.launches[0].args.pop();
        assert_eq!(Plan::from_json(&old.to_json()).unwrap(), old);
    }
}
