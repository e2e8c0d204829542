//! An MLIR-free model of one qnn function: the form the reference interpreter, the example
//! generator and the GPU-side runtime share. `ir` (feature `mlir`) converts MLIR to it; `print`
//! turns it back into qnn IR text in MLIR's generic syntax (what IRDL ops print as).

use crate::attrs::AttrValue;
use crate::semantics::{Dyadic, ElemType, FloatStep, KernelLayout, Layout, QuantizeMode, Rounding};
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

/// Declares the qnn ops once: each op's variant, mnemonic and attributes (field, type, MLIR
/// attribute name, and for an optional attribute `or` its default, which is never printed).
/// From it follow the [`Op`] enum, [`Op::mnemonic`], [`attr_dict`] (the printer, entries sorted
/// by name as MLIR prints them) and `read_op` (the reader behind `ir::op_of`); how a field type
/// is spelled is its [`AttrValue`] impl. The IRDL definition (`qnn.irdl.mlir`) declares the same
/// required attributes, checked by a test.
macro_rules! qnn_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $mnemonic:literal $({ $(
            $(#[$fattr:meta])*
            $field:ident : $fty:ty => $attr:literal $(or $default:expr)?
        ),* $(,)? })?
    ),* $(,)?) => {
        /// The qnn ops with typed attributes. Operand conventions are documented per variant.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Op {
            $(
                $(#[$doc])*
                $variant $({ $( $(#[$fattr])* $field: $fty ),* })?,
            )*
            /// The second result of the `qnn.conv2d_fused` its one operand is (whose epilogue has a
            /// [`RequantizeStep`]): the graph keeps one value per node, so a two-result op is the op
            /// (its first result) and this projection. Not an op of its own in MLIR: printed as
            /// `%N#1`.
            SecondResult,
        }

        impl Op {
            /// The op's name in the qnn dialect (`qnn.<mnemonic>`).
            pub fn mnemonic(&self) -> &'static str {
                match self {
                    $( Op::$variant { .. } => $mnemonic, )*
                    Op::SecondResult => "second_result",
                }
            }
        }

        /// Every qnn op's mnemonic and attributes (name, optional), as the table declares them.
        pub fn op_attributes() -> Vec<(&'static str, Vec<(String, bool)>)> {
            vec![$(
                ($mnemonic, {
                    #[allow(unused_mut)]
                    let mut v: Vec<(String, bool)> = vec![];
                    $($(
                        let optional = false $(|| { stringify!($default); true })?;
                        v.extend(<$fty as AttrValue>::names($attr)
                            .into_iter()
                            .map(|(n, o)| (n, o || optional)));
                    )*)?
                    v
                }),
            )*]
        }

        /// The op's attributes as MLIR attribute-dictionary entries (`k = v, ...`), sorted by
        /// name; optional attributes at their default are left out.
        pub fn attr_dict(op: &Op) -> String {
            let mut out: Vec<(String, String)> = vec![];
            match op {
                $( Op::$variant $({ $($field),* })? => {
                    $($(
                        let default_only: Option<$fty> = None $(.or(Some($default)))?;
                        if default_only.as_ref() != Some($field) {
                            AttrValue::entries($field, $attr, &mut out);
                        }
                    )*)?
                } )*
                Op::SecondResult => {}
            }
            dict_text(out)
        }

        /// The typed op `qnn.<mnemonic>` read from `op` (None: not a qnn mnemonic).
        #[cfg(feature = "mlir")]
        #[allow(clippy::redundant_closure_call)] // `?` inside each arm's closure
        pub(crate) fn read_op(
            mnemonic: &str,
            op: &melior::ir::operation::OperationRef,
        ) -> Option<Result<Op, String>> {
            #[allow(unused_imports)]
            use melior::ir::operation::OperationLike;
            Some(match mnemonic {
                $( $mnemonic => (|| -> Result<Op, String> {
                    Ok(Op::$variant $({ $(
                        $field: {
                            let default_only: Option<$fty> = None $(.or(Some($default)))?;
                            match default_only {
                                Some(d) if op.attribute($attr).is_err() => d,
                                _ => <$fty as AttrValue>::read(op, $attr)?,
                            }
                        }
                    ),* })?)
                })(), )*
                _ => return None,
            })
        }
    };
}

qnn_ops! {
    /// `qnn.weight`: () -> tensor; the tensor stored under `name` in the weights file.
    Weight = "weight" { name: String => "name" },
    /// `qnn.quantize`: (f32) -> int; `clamp(round_half_even(x * f32(1/scale)) + zero_point)`
    /// (`x / scale` under `QuantizeMode::Divide`) of `x` after the f32 steps of `pre`, in
    /// order (a model's float preprocessing, `semantics::FloatStep`).
    Quantize = "quantize" {
        scale: f32 => "scale",
        layout: Layout => "layout",
        #[serde(default)]
        zero_point: i64 => "zero_point" or 0,
        #[serde(default)]
        mode: QuantizeMode => "mode" or QuantizeMode::MultiplyReciprocal,
        #[serde(default)]
        pre: Vec<FloatStep> => "pre" or Vec::new(),
    },
    /// `qnn.conv2d`: (input, weight, bias?) -> i32; padded taps read `padding_value`.
    Conv2d = "conv2d" {
        strides: [i64; 2] => "strides",
        /// [top, left, bottom, right]
        padding: [i64; 4] => "padding",
        layout: Layout => "layout",
        kernel_layout: KernelLayout => "kernel_layout",
        #[serde(default)]
        padding_value: i64 => "padding_value" or 0,
        /// Channel groups: output channel `o` reads input channels
        /// `[g * C/groups, (g+1) * C/groups)` with `g = o / (O/groups)` (1: a plain conv;
        /// C: depthwise).
        #[serde(default = "one")]
        groups: i64 => "groups" or 1,
    },
    /// `qnn.dense`: (input NC, weight OI, bias?) -> i32.
    Dense = "dense",
    /// `qnn.requantize`: (int) -> int.
    Requantize = "requantize" {
        scales: ChannelScales => "",
        rounding: Rounding => "rounding",
        zero_point: i64 => "zero_point",
        clamp: [i64; 2] => "clamp",
        layout: Layout => "layout",
        /// Under rounding `f32_fma`: the f32 added by the fused multiply-add, one entry or one
        /// per channel (an add of a constant; empty otherwise).
        #[serde(default)]
        offset: Vec<f32> => "offset" or vec![],
    },
    /// `qnn.add`: (lhs, rhs) -> int; each branch requantized with its own scale, summed, clamped.
    Add = "add" {
        lhs: ChannelScales => "lhs_",
        rhs: ChannelScales => "rhs_",
        rounding: Rounding => "rounding",
        clamp: [i64; 2] => "clamp",
        layout: Layout => "layout",
        /// The f32 added inside the sum under rounding `f32_fma` (0 otherwise).
        #[serde(default)]
        bias: f32 => "bias" or 0.0,
    },
    /// `qnn.mul`: (lhs, rhs) -> i32 `lhs * rhs`, exact (operands of at most 16 bits); rhs has
    /// lhs's shape or is N x C x 1 x 1, read at (n, c, 0, 0) for every (h, w).
    Mul = "mul" { layout: Layout => "layout" },
    /// `qnn.lookup`: `table[x - lo]` (lo the least value of x's type, which has at most 8 bits);
    /// any function of a 4- or 8-bit tensor's values, elementwise.
    Lookup = "lookup" {
        table: Vec<i32> => "table",
        layout: Layout => "layout",
    },
    /// `qnn.relu`: max(x, 0).
    Relu = "relu" { layout: Layout => "layout" },
    /// `qnn.clamp`: clamp(x, min, max).
    Clamp = "clamp" {
        min: i64 => "min",
        max: i64 => "max",
        layout: Layout => "layout",
    },
    /// `qnn.max_pool2d`.
    MaxPool2d = "max_pool2d" {
        kernel: [i64; 2] => "kernel",
        strides: [i64; 2] => "strides",
        padding: [i64; 4] => "padding",
        layout: Layout => "layout",
    },
    /// `qnn.avg_pool2d`: floor(sum / divisor), divisor kh*kw unless given; padding counts as
    /// zeros.
    AvgPool2d = "avg_pool2d" {
        kernel: [i64; 2] => "kernel",
        strides: [i64; 2] => "strides",
        padding: [i64; 4] => "padding",
        layout: Layout => "layout",
        #[serde(default)]
        divisor: Option<i64> => "divisor" or None,
    },
    /// `qnn.avg_pool2d_f32`: (int) -> int, ONNX Runtime's QLinearAveragePool: each window's
    /// taps inside the input dequantized in f32 and summed in f32 row by row, divided by the
    /// count, then quantized (`semantics::avg_pool_f32`).
    AvgPool2dF32 = "avg_pool2d_f32" {
        kernel: [i64; 2] => "kernel",
        strides: [i64; 2] => "strides",
        padding: [i64; 4] => "padding",
        layout: Layout => "layout",
        input_scale: f32 => "input_scale",
        input_zero_point: i64 => "input_zero_point",
        output_scale: f32 => "output_scale",
        output_zero_point: i64 => "output_zero_point",
        /// Divide by `kh * kw` (else by the taps inside the input).
        #[serde(default)]
        count_include_pad: bool => "count_include_pad" or false,
    },
    /// `qnn.softmax`: (N x C int of at most 8 bits) -> N x C int, ONNX Runtime's
    /// QLinearSoftmax over each row (`semantics::softmax_row`).
    Softmax = "softmax" {
        table: Vec<f32> => "table",
        scale: f32 => "scale",
        zero_point: i64 => "zero_point",
        layout: Layout => "layout",
    },
    /// `qnn.gather_channels`: result channel `j` is input channel `indices[j]` (a channel
    /// slice, a shuffle, any selection); element type kept.
    GatherChannels = "gather_channels" {
        indices: Vec<i32> => "indices",
        layout: Layout => "layout",
    },
    /// `qnn.flatten`: N x C x 1 x 1 (any 4-D layout) -> N x C.
    Flatten = "flatten" { layout: Layout => "layout" },
    /// `qnn.concat`: (lhs, rhs) -> lhs's channels, then rhs's (N, H, W and the element type
    /// shared; any 4-D layout, both operands in it).
    Concat = "concat" { layout: Layout => "layout" },
    /// `qnn.conv2d_fused`: (input, weight, bias?, residual?) -> int; `qnn.conv2d` followed by
    /// its epilogue (requantize or per-branch residual add, clamp, relu; see [`Epilogue`]).
    /// A residual operand is present iff the epilogue is `Residual`; bias iff one more operand.
    Conv2dFused = "conv2d_fused" {
        strides: [i64; 2] => "strides",
        padding: [i64; 4] => "padding",
        layout: Layout => "layout",
        kernel_layout: KernelLayout => "kernel_layout",
        epilogue: Epilogue => "epilogue",
        #[serde(default)]
        padding_value: i64 => "padding_value" or 0,
        #[serde(default = "one")]
        groups: i64 => "groups" or 1,
    },
    /// `qnn.dequantize`: (int) -> f32; `f32(x) * scales[c]` (one entry: per tensor).
    Dequantize = "dequantize" {
        scales: Vec<f32> => "scale",
        layout: Layout => "layout",
    },
    /// `qnn.layout_transform`.
    LayoutTransform = "layout_transform" {
        src: Layout => "src_layout",
        dst: Layout => "dst_layout",
    },
}

impl Op {
    /// The arithmetic of a `qnn.avg_pool2d_f32` (None for other ops).
    pub fn avg_pool_f32(&self) -> Option<crate::semantics::AvgPoolF32> {
        match *self {
            Op::AvgPool2dF32 {
                input_scale,
                input_zero_point,
                output_scale,
                output_zero_point,
                count_include_pad,
                ..
            } => Some(crate::semantics::AvgPoolF32 {
                input_scale,
                input_zero_point,
                output_scale,
                output_zero_point,
                count_include_pad,
            }),
            _ => None,
        }
    }

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
            | Op::Mul { layout }
            | Op::Lookup { layout, .. }
            | Op::Clamp { layout, .. }
            | Op::MaxPool2d { layout, .. }
            | Op::AvgPool2d { layout, .. }
            | Op::AvgPool2dF32 { layout, .. }
            | Op::Softmax { layout, .. }
            | Op::GatherChannels { layout, .. }
            | Op::Flatten { layout }
            | Op::Concat { layout }
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

/// `clamp, epilogue, multiplier, relu, residual_multiplier, residual_shift, rounding, shift,
/// zero_point` attribute entries of an epilogue (shared by qnn.conv2d_fused and tcconv), then
/// `second_clamp, second_multiplier, second_rounding, second_shift, second_zero_point` when the
/// epilogue has a second output, the same `then_*` entries for a `then` step.
pub fn epilogue_attrs(e: &Epilogue) -> Vec<(String, String)> {
    let mut out = vec![];
    epilogue_entries(e, &mut out);
    out
}

/// Attribute-dictionary entries as `k = v, ...`, sorted by name (as MLIR prints them).
pub fn dict_text(mut entries: Vec<(String, String)>) -> String {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let items: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    items.join(", ")
}

fn epilogue_entries(e: &Epilogue, out: &mut Vec<(String, String)>) {
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
    e.clamp.entries("clamp", out);
    kind.to_owned().entries("epilogue", out);
    s.entries("", out);
    e.relu.entries("relu", out);
    r.entries("residual_", out);
    e.rounding.entries("rounding", out);
    zp.entries("zero_point", out);
    for (name, step) in [("second_", &e.second), ("then_", &e.then)] {
        if let Some(o) = step {
            o.entries(name, out);
        }
    }
}

/// What a fused conv does to its i32 accumulator `acc = conv(x, w) + bias` (per output channel c):
/// 1. `Requantize`: `y = round(acc * s[c]) + zero_point`;
///    `Residual`:   `y = round(acc * s[c]) + round(r * rs[c])` with `r` the residual input,
///    each branch rounded on its own (the `qnn.add` rule);
///    `None`: `y = acc`.
/// 2. `y = clamp(y, clamp[0], clamp[1])`, then `y = max(y, 0)` if `relu`.
/// 3. Result: `y` in the op's result element type. With a `then` step, `y` is not stored: the
///    result is `t = clamp(round(y * st[c]) + zpt, then_clamp)` (`clamp` within i32: the
///    `qnn.requantize` of the i32 value steps 1-2 give, in the same kernel; HAWQ's stem: the
///    16-bit requantize and relu, then the 4-bit requantize, with the max pool after both).
/// 4. With a `second` output, a second result `z = clamp(round(y * s2[c]) + zp2, clamp2)` in
///    the second result's element type: the `qnn.requantize` of the first result, written by the
///    same kernel (HAWQ's residual stream: `y` is the wide sum the next block adds, `z` the
///    4-bit input of the next conv). `then` and `second` exclude each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epilogue {
    pub kind: EpilogueKind,
    pub rounding: Rounding,
    pub clamp: [i64; 2],
    pub relu: bool,
    #[serde(default)]
    pub second: Option<RequantizeStep>,
    #[serde(default)]
    pub then: Option<RequantizeStep>,
}

/// A requantize inside a fused epilogue: of its value for a `then` step (step 3 of
/// [`Epilogue`]) or for a second output (step 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequantizeStep {
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
    /// The plain accumulator: no requantize, the whole i32 range, no relu.
    pub const fn none() -> Epilogue {
        Epilogue {
            kind: EpilogueKind::None,
            rounding: Rounding::HalfToEven,
            clamp: [i32::MIN as i64, i32::MAX as i64],
            relu: false,
            second: None,
            then: None,
        }
    }

    /// Apply steps 1-2 and the `then` step to one accumulator of channel `c` (`r`: the residual value, if any).
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
        let y = if self.relu { y.max(0) } else { y };
        match &self.then {
            Some(t) => t.apply(y.clamp(i32::MIN as i64, i32::MAX as i64), c),
            None => y,
        }
    }
}

impl RequantizeStep {
    /// Its attribute entries, each name after `prefix`: `{prefix}clamp`, `{prefix}multiplier`,
    /// `{prefix}rounding`, `{prefix}shift`, `{prefix}zero_point`.
    pub fn entries(&self, prefix: &str, out: &mut Vec<(String, String)>) {
        self.clamp.entries(&format!("{prefix}clamp"), out);
        self.scales.entries(prefix, out);
        self.rounding.entries(&format!("{prefix}rounding"), out);
        self.zero_point.entries(&format!("{prefix}zero_point"), out);
    }

    /// `clamp(round(y * s[c]) + zero_point, clamp)`.
    pub fn apply(&self, y: i64, c: usize) -> i64 {
        (self.scales.get(c).apply(y, self.rounding) + self.zero_point)
            .clamp(self.clamp[0], self.clamp[1])
    }
}

#[cfg(test)]
mod op_table_tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `irdl.operation @name { ... irdl.attributes { "a" = %x, ... } }` of the dialect file.
    fn irdl_attributes() -> Vec<(String, BTreeSet<String>)> {
        let text = include_str!("../qnn.irdl.mlir");
        text.split("irdl.operation @")
            .skip(1)
            .map(|op| {
                let name = op.split_whitespace().next().unwrap().to_owned();
                let attrs = match op.find("irdl.attributes {") {
                    Some(i) => {
                        let body = &op[i..];
                        let body = &body[..body.find('}').unwrap()];
                        body.split('"')
                            .skip(1)
                            .step_by(2)
                            .map(str::to_owned)
                            .collect()
                    }
                    None => BTreeSet::new(),
                };
                (name, attrs)
            })
            .collect()
    }

    #[test]
    fn op_table_and_irdl_declare_the_same_ops_and_required_attributes() {
        let irdl = irdl_attributes();
        let table = op_attributes();
        assert_eq!(
            irdl.iter()
                .map(|(n, _)| n.as_str())
                .collect::<BTreeSet<_>>(),
            table.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>()
        );
        for (op, attrs) in &table {
            let required: BTreeSet<String> = attrs
                .iter()
                .filter(|(_, optional)| !optional)
                .map(|(n, _)| n.clone())
                .collect();
            let declared = &irdl.iter().find(|(n, _)| n == op).unwrap().1;
            assert_eq!(&required, declared, "qnn.{op}");
        }
    }

    #[test]
    fn optional_attributes_at_their_default_are_not_printed() {
        let conv = Op::Conv2d {
            strides: [1, 1],
            padding: [0, 0, 0, 0],
            layout: Layout::NCHW,
            kernel_layout: KernelLayout::OIHW,
            padding_value: 0,
            groups: 1,
        };
        let text = attr_dict(&conv);
        assert!(
            !text.contains("groups") && !text.contains("padding_value"),
            "{text}"
        );
        let grouped = Op::Conv2d {
            strides: [1, 1],
            padding: [0, 0, 0, 0],
            layout: Layout::NCHW,
            kernel_layout: KernelLayout::OIHW,
            padding_value: -128,
            groups: 4,
        };
        assert_eq!(
            attr_dict(&grouped),
            "groups = 4 : i64, kernel_layout = \"OIHW\", layout = \"NCHW\", padding = array<i64: 0, 0, 0, 0>, padding_value = -128 : i64, strides = array<i64: 1, 1>"
        );
    }
}
