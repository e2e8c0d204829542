//! An MLIR-free model of one qnn function: the form the reference interpreter, the example
//! generator and the GPU-side runtime share. `ir` (feature `mlir`) converts MLIR to it; `print`
//! turns it back into qnn IR text in MLIR's generic syntax (what IRDL ops print as).

use crate::semantics::{Dyadic, ElemType, KernelLayout, Layout, QuantizeMode, Rounding};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TensorType {
    pub shape: Vec<i64>,
    pub elem: ElemType,
}

impl TensorType {
    pub fn new(shape: Vec<i64>, elem: ElemType) -> Self {
        Self { shape, elem }
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product::<i64>() as usize
    }
    /// `tensor<1x3x224x224xf32>`
    pub fn mlir(&self) -> String {
        let mut s = String::from("tensor<");
        for d in &self.shape {
            write!(s, "{d}x").unwrap();
        }
        write!(s, "{}>", self.elem).unwrap();
        s
    }
}

/// Per-channel (or per-tensor, when one entry) dyadic requantize parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelScales {
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
}

impl ChannelScales {
    pub fn per_tensor(s: Dyadic) -> Self {
        Self {
            multiplier: vec![s.multiplier],
            shift: vec![s.shift],
        }
    }
    pub fn get(&self, c: usize) -> Dyadic {
        let i = if self.multiplier.len() == 1 { 0 } else { c };
        Dyadic {
            multiplier: self.multiplier[i],
            shift: self.shift[i],
        }
    }
    pub fn len(&self) -> usize {
        self.multiplier.len()
    }
    pub fn is_empty(&self) -> bool {
        self.multiplier.is_empty()
    }
}

/// The qnn ops with typed attributes. Operand conventions are documented per variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `qnn.weight`: () -> tensor; the tensor stored under `name` in the weights file.
    Weight { name: String },
    /// `qnn.quantize`: (f32) -> int; `clamp(round_half_even(x * f32(1/scale)) + zero_point)`
    /// (`x / scale` under `QuantizeMode::Divide`).
    Quantize {
        scale: f32,
        layout: Layout,
        #[serde(default)]
        zero_point: i64,
        #[serde(default)]
        mode: QuantizeMode,
    },
    /// `qnn.conv2d`: (input, weight, bias?) -> i32; padded taps read `padding_value`.
    Conv2d {
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        kernel_layout: KernelLayout,
        #[serde(default)]
        padding_value: i64,
        /// Channel groups: output channel `o` reads input channels
        /// `[g * C/groups, (g+1) * C/groups)` with `g = o / (O/groups)` (1: a plain conv;
        /// C: depthwise).
        #[serde(default = "one")]
        groups: i64,
    },
    /// `qnn.dense`: (input NC, weight OI, bias?) -> i32.
    Dense,
    /// `qnn.requantize`: (int) -> int.
    Requantize {
        scales: ChannelScales,
        rounding: Rounding,
        zero_point: i64,
        clamp: [i64; 2],
        layout: Layout,
    },
    /// `qnn.add`: (lhs, rhs) -> int; each branch requantized with its own scale, summed, clamped.
    Add {
        lhs: ChannelScales,
        rhs: ChannelScales,
        rounding: Rounding,
        clamp: [i64; 2],
        layout: Layout,
        /// The f32 added inside the sum under rounding `f32_fma` (0 otherwise).
        #[serde(default)]
        bias: f32,
    },
    /// `qnn.relu`: max(x, 0).
    Relu { layout: Layout },
    /// `qnn.clamp`: clamp(x, min, max).
    Clamp { min: i64, max: i64, layout: Layout },
    /// `qnn.max_pool2d`.
    MaxPool2d {
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
    },
    /// `qnn.avg_pool2d`: floor(sum / divisor), divisor kh*kw unless given; padding counts as
    /// zeros.
    AvgPool2d {
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        #[serde(default)]
        divisor: Option<i64>,
    },
    /// `qnn.flatten`: N x C x 1 x 1 (any 4-D layout) -> N x C.
    Flatten { layout: Layout },
    /// `qnn.conv2d_fused`: (input, weight, bias?, residual?) -> int; `qnn.conv2d` followed by
    /// its epilogue (requantize or per-branch residual add, clamp, relu; see [`Epilogue`]).
    /// A residual operand is present iff the epilogue is `Residual`; bias iff one more operand.
    Conv2dFused {
        strides: [i64; 2],
        padding: [i64; 4],
        layout: Layout,
        kernel_layout: KernelLayout,
        epilogue: Epilogue,
        #[serde(default)]
        padding_value: i64,
        #[serde(default = "one")]
        groups: i64,
    },
    /// `qnn.dequantize`: (int) -> f32; `f32(x) * scales[c]` (one entry: per tensor).
    Dequantize { scales: Vec<f32>, layout: Layout },
    /// The second result of the `qnn.conv2d_fused` its one operand is (whose epilogue has a
    /// [`SecondOutput`]): the graph keeps one value per node, so a two-result op is the op (its
    /// first result) and this projection. Not an op of its own in MLIR: printed as `%N#1`.
    SecondResult,
    /// `qnn.layout_transform`.
    LayoutTransform { src: Layout, dst: Layout },
}

impl Op {
    /// The activation layout the op names (its input's for layout_transform; None for ops
    /// without one: weight, dense).
    pub fn layout(&self) -> Option<Layout> {
        match self {
            Op::Quantize { layout, .. }
            | Op::Conv2d { layout, .. }
            | Op::Conv2dFused { layout, .. }
            | Op::Requantize { layout, .. }
            | Op::Add { layout, .. }
            | Op::Relu { layout }
            | Op::Clamp { layout, .. }
            | Op::MaxPool2d { layout, .. }
            | Op::AvgPool2d { layout, .. }
            | Op::Flatten { layout }
            | Op::Dequantize { layout, .. } => Some(*layout),
            Op::LayoutTransform { src, .. } => Some(*src),
            Op::Weight { .. } | Op::Dense | Op::SecondResult => None,
        }
    }

    /// `operandSegmentSizes` of ops with several optional operands (conv2d_fused).
    pub fn segment_sizes(&self, num_operands: usize) -> Option<Vec<i32>> {
        match self {
            Op::Conv2dFused { epilogue, .. } => {
                let r = matches!(epilogue.kind, EpilogueKind::Residual { .. }) as i32;
                let b = num_operands as i32 - 2 - r;
                Some(vec![1, 1, b, r])
            }
            _ => None,
        }
    }
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Op::Weight { .. } => "weight",
            Op::Quantize { .. } => "quantize",
            Op::Conv2d { .. } => "conv2d",
            Op::Dense => "dense",
            Op::Requantize { .. } => "requantize",
            Op::Add { .. } => "add",
            Op::Relu { .. } => "relu",
            Op::Clamp { .. } => "clamp",
            Op::MaxPool2d { .. } => "max_pool2d",
            Op::AvgPool2d { .. } => "avg_pool2d",
            Op::Flatten { .. } => "flatten",
            Op::Dequantize { .. } => "dequantize",
            Op::Conv2dFused { .. } => "conv2d_fused",
            Op::LayoutTransform { .. } => "layout_transform",
            Op::SecondResult => "second_result",
        }
    }
}

/// An SSA value: function arguments come first (0..args.len()), then one per node.
pub type ValueId = usize;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub op: Op,
    pub operands: Vec<ValueId>,
    pub result: TensorType,
    /// Source location as `file:line:col` (empty when unknown).
    #[serde(default)]
    pub loc: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub name: String,
    pub args: Vec<TensorType>,
    pub nodes: Vec<Node>,
    pub results: Vec<ValueId>,
}

impl Graph {
    pub fn new(name: impl Into<String>, args: Vec<TensorType>) -> Self {
        Self {
            name: name.into(),
            args,
            nodes: vec![],
            results: vec![],
        }
    }
    /// Append a node and return its value.
    pub fn push(&mut self, op: Op, operands: Vec<ValueId>, result: TensorType) -> ValueId {
        self.nodes.push(Node {
            op,
            operands,
            result,
            loc: String::new(),
        });
        self.args.len() + self.nodes.len() - 1
    }
    pub fn value_type(&self, v: ValueId) -> &TensorType {
        if v < self.args.len() {
            &self.args[v]
        } else {
            &self.nodes[v - self.args.len()].result
        }
    }
    pub fn node_of(&self, v: ValueId) -> Option<&Node> {
        v.checked_sub(self.args.len()).map(|i| &self.nodes[i])
    }
    /// Names of all weights the function reads, in order of first use.
    pub fn weight_names(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Weight { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The `SecondResult` projection of each two-result node: node value -> projection value.
    pub fn second_results(&self) -> std::collections::HashMap<ValueId, ValueId> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.op, Op::SecondResult))
            .map(|(i, n)| (n.operands[0], self.args.len() + i))
            .collect()
    }

    /// qnn IR in MLIR generic syntax, one op per line, parseable by nibble-opt and by
    /// `mlir-opt-22 --irdl-file=dialects/qnn/qnn.irdl.mlir`.
    pub fn to_mlir(&self) -> String {
        let mut s = String::from("module {\n");
        let args: Vec<String> = self
            .args
            .iter()
            .enumerate()
            .map(|(i, t)| format!("%arg{i}: {}", t.mlir()))
            .collect();
        let res: Vec<String> = self
            .results
            .iter()
            .map(|&v| self.value_type(v).mlir())
            .collect();
        let res_sig = if res.len() == 1 {
            res[0].clone()
        } else {
            format!("({})", res.join(", "))
        };
        writeln!(
            s,
            "  func.func @{}({}) -> {} {{",
            self.name,
            args.join(", "),
            res_sig
        )
        .unwrap();
        // a two-result conv2d_fused prints as `%N:2 = ...`, its results as `%N#0` / `%N#1`
        let second = self.second_results();
        let name = |v: ValueId| {
            if v < self.args.len() {
                return format!("%arg{v}");
            }
            let i = v - self.args.len();
            match &self.nodes[i].op {
                Op::SecondResult => format!("%{}#1", self.nodes[i].operands[0] - self.args.len()),
                _ if second.contains_key(&v) => format!("%{i}#0"),
                _ => format!("%{i}"),
            }
        };
        for (i, n) in self.nodes.iter().enumerate() {
            if matches!(n.op, Op::SecondResult) {
                continue;
            }
            let ops: Vec<String> = n.operands.iter().map(|&v| name(v)).collect();
            let mut attrs = attr_dict(&n.op);
            if let Some(seg) = n.op.segment_sizes(n.operands.len()) {
                attrs.push_str(&format!(", operandSegmentSizes = {}", arr32(&seg)));
            }
            let tys: Vec<String> = n
                .operands
                .iter()
                .map(|&v| self.value_type(v).mlir())
                .collect();
            let (lhs, res) = match second.get(&(self.args.len() + i)) {
                Some(&p) => (
                    format!("%{i}:2"),
                    format!("({}, {})", n.result.mlir(), self.value_type(p).mlir()),
                ),
                None => (format!("%{i}"), n.result.mlir()),
            };
            writeln!(
                s,
                "    {lhs} = \"qnn.{}\"({}) {{{}}} : ({}) -> {res}",
                n.op.mnemonic(),
                ops.join(", "),
                attrs,
                tys.join(", "),
            )
            .unwrap();
        }
        let rv: Vec<String> = self.results.iter().map(|&v| name(v)).collect();
        writeln!(s, "    return {} : {}", rv.join(", "), res.join(", ")).unwrap();
        s.push_str("  }\n}\n");
        s
    }
}

/// `array<i64: ...>` (`array<i64>` when empty).
pub fn arr64(v: &[i64]) -> String {
    if v.is_empty() {
        return "array<i64>".into();
    }
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("array<i64: {}>", items.join(", "))
}

/// `array<i32: ...>` (`array<i32>` when empty).
pub fn arr32(v: &[i32]) -> String {
    if v.is_empty() {
        return "array<i32>".into();
    }
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("array<i32: {}>", items.join(", "))
}

/// An f32 attribute printed exactly (MLIR reads hex float literals bit for bit).
pub fn f32_attr(x: f32) -> String {
    format!("0x{:08X} : f32", x.to_bits())
}

/// One element of an `array<f32: ...>`: decimal where MLIR's parser (decimal -> f64 -> f32)
/// gives back exactly `x`, else the bit pattern in hex (which MLIR also reads bit for bit).
pub fn f32_element(x: f32) -> String {
    if x.is_finite() {
        let mut s = format!("{x:?}");
        // MLIR reads `1e-5` as an integer literal: a float literal needs its dot
        if !s.contains('.') {
            match s.find('e') {
                Some(i) => s.insert_str(i, ".0"),
                None => s.push_str(".0"),
            }
        }
        if s.parse::<f64>()
            .is_ok_and(|d| (d as f32).to_bits() == x.to_bits())
        {
            return s;
        }
    }
    format!("0x{:08X}", x.to_bits())
}

/// `array<f32: a, b, ...>`, exact (see [`f32_element`]).
pub fn f32_array(xs: &[f32]) -> String {
    let items: Vec<String> = xs.iter().map(|&x| f32_element(x)).collect();
    format!("array<f32: {}>", items.join(", "))
}

fn one() -> i64 {
    1
}

/// `groups = g : i64, ` when not 1 (the attribute is optional).
fn groups_attr(g: i64) -> String {
    if g == 1 {
        String::new()
    } else {
        format!("groups = {g} : i64, ")
    }
}

/// `, padding_value = v : i64` when not 0 (the attribute is optional).
fn padding_value_attr(v: i64) -> String {
    if v == 0 {
        String::new()
    } else {
        format!(", padding_value = {v} : i64")
    }
}

/// The op's attributes as MLIR attribute-dictionary entries (`k = v, ...`), sorted by name.
pub fn attr_dict(op: &Op) -> String {
    match op {
        Op::Weight { name } => format!("name = \"{name}\""),
        Op::Quantize { scale, layout, zero_point, mode } => {
            let mut s = format!("layout = \"{layout}\"");
            if *mode != QuantizeMode::default() {
                write!(s, ", mode = \"{}\"", mode.name()).unwrap();
            }
            write!(s, ", scale = {}", f32_attr(*scale)).unwrap();
            if *zero_point != 0 {
                write!(s, ", zero_point = {zero_point} : i64").unwrap();
            }
            s
        }
        Op::Conv2d { strides, padding, layout, kernel_layout, padding_value, groups } => format!(
            "{}kernel_layout = \"{kernel_layout}\", layout = \"{layout}\", padding = {}{}, strides = {}",
            groups_attr(*groups),
            arr64(padding),
            padding_value_attr(*padding_value),
            arr64(strides)
        ),
        Op::Dense => String::new(),
        Op::Requantize { scales, rounding, zero_point, clamp, layout } => format!(
            "clamp = {}, layout = \"{layout}\", multiplier = {}, rounding = \"{rounding}\", shift = {}, zero_point = {zero_point} : i64",
            arr64(clamp),
            arr32(&scales.multiplier),
            arr32(&scales.shift)
        ),
        Op::Add { lhs, rhs, rounding, clamp, layout, bias } => format!(
            "{}clamp = {}, layout = \"{layout}\", lhs_multiplier = {}, lhs_shift = {}, rhs_multiplier = {}, rhs_shift = {}, rounding = \"{rounding}\"",
            if *bias != 0.0 || *rounding == Rounding::F32Fma {
                format!("bias = {}, ", f32_attr(*bias))
            } else {
                String::new()
            },
            arr64(clamp),
            arr32(&lhs.multiplier),
            arr32(&lhs.shift),
            arr32(&rhs.multiplier),
            arr32(&rhs.shift)
        ),
        Op::Relu { layout } => format!("layout = \"{layout}\""),
        Op::Clamp { min, max, layout } => format!("layout = \"{layout}\", max = {max} : i64, min = {min} : i64"),
        Op::MaxPool2d { kernel, strides, padding, layout } => format!(
            "kernel = {}, layout = \"{layout}\", padding = {}, strides = {}",
            arr64(kernel),
            arr64(padding),
            arr64(strides)
        ),
        Op::AvgPool2d { kernel, strides, padding, layout, divisor } => format!(
            "{}kernel = {}, layout = \"{layout}\", padding = {}, strides = {}",
            divisor.map(|d| format!("divisor = {d} : i64, ")).unwrap_or_default(),
            arr64(kernel),
            arr64(padding),
            arr64(strides)
        ),
        Op::Flatten { layout } => format!("layout = \"{layout}\""),
        Op::Dequantize { scales, layout } => {
            format!("layout = \"{layout}\", scale = {}", f32_array(scales))
        }
        Op::Conv2dFused { strides, padding, layout, kernel_layout, epilogue, padding_value, groups } => format!(
            "{}, {}kernel_layout = \"{kernel_layout}\", layout = \"{layout}\", padding = {}{}, strides = {}",
            epilogue_attrs(epilogue),
            groups_attr(*groups),
            arr64(padding),
            padding_value_attr(*padding_value),
            arr64(strides)
        ),
        Op::LayoutTransform { src, dst } => format!("dst_layout = \"{dst}\", src_layout = \"{src}\""),
        Op::SecondResult => String::new(),
    }
}

/// `clamp, epilogue, multiplier, relu, residual_multiplier, residual_shift, rounding, shift,
/// zero_point` attribute entries of an epilogue (shared by qnn.conv2d_fused and tcconv), then
/// `second_clamp, second_multiplier, second_rounding, second_shift, second_zero_point` when the
/// epilogue has a second output.
pub fn epilogue_attrs(e: &Epilogue) -> String {
    let empty = ChannelScales {
        multiplier: vec![],
        shift: vec![],
    };
    let (kind, s, r, zp) = match &e.kind {
        EpilogueKind::None => ("none", &empty, &empty, 0),
        EpilogueKind::Requantize { scales, zero_point } => {
            ("requantize", scales, &empty, *zero_point)
        }
        EpilogueKind::Residual { scales, residual } => ("residual", scales, residual, 0),
    };
    format!(
        "clamp = {}, epilogue = \"{kind}\", multiplier = {}, relu = {}, residual_multiplier = {}, residual_shift = {}, rounding = \"{}\", shift = {}, zero_point = {zp} : i64",
        arr64(&e.clamp),
        arr32(&s.multiplier),
        e.relu,
        arr32(&r.multiplier),
        arr32(&r.shift),
        e.rounding,
        arr32(&s.shift)
    ) + &match &e.second {
        None => String::new(),
        Some(o) => format!(
            ", second_clamp = {}, second_multiplier = {}, second_rounding = \"{}\", second_shift = {}, second_zero_point = {} : i64",
            arr64(&o.clamp),
            arr32(&o.scales.multiplier),
            o.rounding,
            arr32(&o.scales.shift),
            o.zero_point
        ),
    }
}

/// What a fused conv does to its i32 accumulator `acc = conv(x, w) + bias` (per output channel c):
/// 1. `Requantize`: `y = round(acc * s[c]) + zero_point`;
///    `Residual`:   `y = round(acc * s[c]) + round(r * rs[c])` with `r` the residual input,
///    each branch rounded on its own (the `qnn.add` rule);
///    `None`: `y = acc`.
/// 2. `y = clamp(y, clamp[0], clamp[1])`, then `y = max(y, 0)` if `relu`.
/// 3. Result: `y` in the op's result element type.
/// 4. With a `second` output, a second result `z = clamp(round(y * s2[c]) + zp2, clamp2)` in
///    the second result's element type: the `qnn.requantize` of the first result, written by the
///    same kernel (HAWQ's residual stream: `y` is the wide sum the next block adds, `z` the
///    4-bit input of the next conv).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epilogue {
    pub kind: EpilogueKind,
    pub rounding: Rounding,
    pub clamp: [i64; 2],
    pub relu: bool,
    #[serde(default)]
    pub second: Option<SecondOutput>,
}

/// The requantize a fused epilogue applies to its result for a second output (step 4 of
/// [`Epilogue`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecondOutput {
    pub scales: ChannelScales,
    pub rounding: Rounding,
    pub zero_point: i64,
    pub clamp: [i64; 2],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EpilogueKind {
    None,
    Requantize {
        scales: ChannelScales,
        zero_point: i64,
    },
    Residual {
        scales: ChannelScales,
        residual: ChannelScales,
    },
}

impl Epilogue {
    /// Apply steps 1-2 to one accumulator of channel `c` (`r`: the residual value, if any).
    pub fn apply(&self, acc: i64, r: i64, c: usize) -> i64 {
        let y = match &self.kind {
            EpilogueKind::None => acc,
            EpilogueKind::Requantize { scales, zero_point } => {
                scales.get(c).apply(acc, self.rounding) + zero_point
            }
            EpilogueKind::Residual { scales, residual } => {
                scales.get(c).apply(acc, self.rounding) + residual.get(c).apply(r, self.rounding)
            }
        };
        let y = y.clamp(self.clamp[0], self.clamp[1]);
        if self.relu {
            y.max(0)
        } else {
            y
        }
    }
}
