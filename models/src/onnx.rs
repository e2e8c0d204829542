//! The ONNX importer: a QDQ-quantized model (QuantizeLinear / DequantizeLinear around float ops,
//! what ONNX Runtime's `quantize_static`, NVIDIA's Model Optimizer and other tools write) ->
//! qnn graph + weights, computing what ONNX Runtime's integer CPU kernels compute. A model in
//! ONNX Runtime's QOperator format (QLinearConv, QLinearAdd, QGemm, ...) is first rewritten
//! into the QDQ groups ONNX Runtime fuses into those operators (`qoperator.rs`).
//!
//! Each ONNX tensor becomes one of:
//! - a quantized value ([`QVal`]): a qnn value holding `q - offset` for the ONNX integers `q`
//!   with `(scale, zero_point)`. `offset` is the zero point when `q - zp` fits a type as narrow
//!   as `q`'s (int8 with zp -128 is a `ui8`, uint8 with zp 128 an `i8`, zp 0 itself): then padding
//!   with 0 and summing without a correction are exact, as they are for real zeros. Otherwise the
//!   value is stored as `q` (offset 0) and whoever reads it corrects: a conv pads with the zero
//!   point (`padding_value`) and folds `-zp * sum(w)` into its bias (a dense folds it too), a
//!   residual add reads raw values anyway, others first re-center into i16 with an exact
//!   `qnn.requantize`.
//! - a float expression ([`Float`]): the DequantizeLinear of a quantized value, or a float op
//!   over such (Conv, Gemm, Add, GlobalAveragePool, Relu / Clip, and a MaxPool of a conv or add
//!   the quantizer left in float, which moves after the quantize: both are monotone) waiting
//!   for the QuantizeLinear that gives it its integer form, where one qnn op (plus its
//!   requantize) is emitted.
//! - a constant: an initializer or Constant, read when an op needs it (weights, biases, scales);
//!   a QuantizeLinear of a float constant (fake-quantization exports) is computed here. Weights
//!   are stored centred (`w - zp_w`); 8-bit weights far from their zero point (asymmetric
//!   per-tensor uint8: up to 9 bits) split into int8 parts, one layer a part, whose i32 results
//!   add exactly.
//!
//! The integer semantics are ONNX Runtime's (CPU, x86): QuantizeLinear is
//! `sat(round_half_even(x / scale) + zp)` (`qnn.quantize {mode = "divide"}`); QLinearConv and
//! QGemm requantize `f32(acc) * f32(f32(sx * sw[c]) / sy)` in float32 (rounding
//! `f32_half_to_even`); QLinearGlobalAveragePool sums in i32 and requantizes with
//! `f32(sx / f32(sy * HW))`; QLinearAveragePool (an 8-bit AveragePool whose window is smaller
//! than the map) averages the dequantized taps in f32 (`qnn.avg_pool2d_f32`), and where an
//! int8 QuantizeLinear -> DequantizeLinear pair follows it in a QDQ model, runs that pair as
//! uint8 with the zero point + 128 (ONNX Runtime's `QDQS8ToU8Transformer`), which can round
//! the average differently, so the importer does too; QLinearSoftmax (a Softmax over N x C
//! logits between a DequantizeLinear and a QuantizeLinear, fused as ONNX Runtime fuses it) is
//! `qnn.softmax`, its exponential table built as ONNX Runtime builds it; QLinearAdd sums in float32 with fused multiply-adds on the raw
//! values (`qnn.add {rounding = "f32_fma", bias}`; an Add of a quantized constant, one value or
//! one per channel, is `qnn.requantize {rounding = "f32_fma", offset}` of the other operand, the
//! constant's term `fma(c, sC / sY, F)` computed here as ONNX Runtime computes it); MaxPool,
//! Flatten and Reshape move integers.
//! Where ONNX Runtime itself computes in float (on x86: ops reading int8 tensors with several
//! consumers, INT4-weight convs, a DequantizeLinear straight into a QuantizeLinear) these
//! integer forms differ from it by at most a step where its float rounding parts from theirs,
//! and such differences spread through the later layers.
//!
//! Everything else is a diagnostic naming the node and its op type.

use nibble_onnx::proto::{data_type as dt, GraphProto, NodeProto, TensorProto};
use nibble_onnx::{self as onnx, Attrs};
use nibble_qnn::graph::{ChannelScales, Graph, Op, TensorType, ValueId};
use nibble_qnn::semantics::{
    quantize_f32, Dyadic, ElemType, FloatOp, FloatStep, KernelLayout, Layout, QuantizeMode,
    Rounding,
};
use nibble_qnn::tensor::Tensor;
use nibble_qnn::weights::Weights;
use std::collections::HashMap;

/// What `nibble-gen import model.onnx` may override.
#[derive(Clone, Debug, Default)]
pub struct OnnxOptions {
    /// Batch size (required when the model's batch dimension is symbolic).
    pub batch: Option<i64>,
    /// Input height and width (overrides the model's, for fully convolutional models).
    pub image_size: Option<[i64; 2]>,
}

/// An imported model.
pub struct Imported {
    pub graph: Graph,
    pub weights: Weights,
    /// One line per fact a user should know (ops approximated, ...).
    pub notes: Vec<String>,
}

/// A quantized tensor: qnn value `id` holds `q - offset`.
#[derive(Clone, Debug)]
struct QVal {
    id: ValueId,
    scale: f32,
    zp: i64,
    /// The ONNX element type of `q`.
    qtype: ElemType,
    offset: i64,
}

/// A float tensor of the ONNX graph, as what it is computed from.
#[derive(Clone, Debug)]
enum Float {
    /// The model's float input, after its float preprocessing (Sub / Div / Mul / Add of
    /// constants, in order), which the input quantize applies.
    Input(ValueId, Vec<FloatStep>),
    /// DequantizeLinear of a quantized value.
    Dq(QVal),
    /// An integer accumulator `acc` (i32 qnn value) whose real value is `acc * scale[c]`:
    /// scale per output channel as ONNX Runtime computes it for the requantize
    /// (`f32(sx * sw[c])`, or `sx` alone for a pool sum); `pool_count` the window size a
    /// global average pool divides by (`HW`), folded into the output scale.
    Acc {
        id: ValueId,
        scale: Vec<f32>,
        pool_count: Option<i64>,
        /// Real-valued bounds from Relu / Clip applied after it.
        lo: Option<f32>,
        hi: Option<f32>,
    },
    /// `a + b` of two quantized values, not yet requantized.
    Sum {
        a: QVal,
        b: QVal,
        lo: Option<f32>,
        hi: Option<f32>,
    },
    /// `a + c` of a quantized value and a quantized constant, not yet requantized.
    SumConst {
        a: QVal,
        c: ConstAddend,
        lo: Option<f32>,
        hi: Option<f32>,
    },
    /// A float function of a dequantized value (Sigmoid, HardSigmoid, HardSwish, LeakyRelu),
    /// not yet quantized: its QuantizeLinear makes it one table of the input's values.
    Unary(QVal, Unary),
    /// A Concat (channels) of dequantized values, not yet quantized: its QuantizeLinear brings
    /// each part to the output's scale and zero point first (ONNX Runtime's QLinearConcat).
    Concat(Vec<QVal>),
    /// An AveragePool of a dequantized 8-bit value whose window is smaller than the map, not
    /// yet quantized: its QuantizeLinear makes it `qnn.avg_pool2d_f32` (QLinearAveragePool's
    /// f32 average; `padding` already holds `ceil_mode`'s extra bottom / right rows).
    AvgPool {
        x: QVal,
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        count_include_pad: bool,
        /// N x C x 1 x 1 flattened to N x C (a ReduceMean without keepdims).
        flat: bool,
    },
    /// A Softmax over the classes of a dequantized 8-bit N x C value, not yet quantized: its
    /// QuantizeLinear makes it `qnn.softmax` (QLinearSoftmax's table and arithmetic).
    Softmax(QVal),
    /// A MaxPool of one of the above before its QuantizeLinear (a conv whose output the
    /// quantizer left in float): the quantize is monotone, so it runs first and the max pool on
    /// its integers, exactly.
    Pooled {
        inner: Box<Float>,
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        ceil: bool,
    },
}

/// A float function of one value (of its channel's), as ONNX Runtime's CPU kernels compute it in
/// f32.
#[derive(Clone, Debug)]
enum Unary {
    /// MLAS's logistic (Eigen's rational approximation on [-18, 18], fused multiply-adds as
    /// its FMA3 kernel on x86-64).
    Sigmoid,
    /// MLAS's hyperbolic tangent (Eigen's rational approximation on [-9, 9], fused
    /// multiply-adds as its FMA3 kernel on x86-64).
    Tanh,
    /// `clamp(alpha * x + beta, 0, 1)`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x * clamp(x / 6 + 1 / 2, 0, 1)`.
    HardSwish,
    /// `x` where `x >= 0`, else `alpha * x`.
    LeakyRelu { alpha: f32 },
    /// BatchNormalization: `x * scale[c] + bias[c]` (the per-channel factors as its kernel
    /// folds them: `scale = (1 / sqrt(var + eps)) * gamma`, `bias = beta - mean * scale`).
    Affine { scale: Vec<f32>, bias: Vec<f32> },
    /// Add / Sub / Mul / Div of a float constant (one value, or one a channel), one f32
    /// rounding as ONNX Runtime's float kernels compute it (the step an input quantize's
    /// preprocessing takes too).
    Arith(FloatStep),
    /// Float nodes one after another, before the next QuantizeLinear.
    Seq(Vec<Unary>),
}

impl Unary {
    /// Channels with their own function (None: one for all).
    fn channels(&self) -> Option<usize> {
        match self {
            Unary::Affine { scale, .. } => Some(scale.len()),
            Unary::Arith(s) if s.k.len() > 1 => Some(s.k.len()),
            Unary::Seq(fs) => fs.iter().filter_map(Unary::channels).max(),
            _ => None,
        }
    }
    /// `self`, then `next`.
    fn then(self, next: Unary) -> Unary {
        match self {
            Unary::Seq(mut fs) => {
                fs.push(next);
                Unary::Seq(fs)
            }
            f => Unary::Seq(vec![f, next]),
        }
    }
    fn apply(&self, x: f32, c: usize) -> f32 {
        match *self {
            Unary::Affine {
                ref scale,
                ref bias,
            } => x * scale[c] + bias[c],
            Unary::Arith(ref s) => s.apply(x, c),
            // every per-channel step has the same channels (checked where the steps are chained)
            Unary::Seq(ref fs) => fs.iter().fold(x, |x, f| f.apply(x, c)),
            Unary::Sigmoid => logistic(x),
            Unary::Tanh => tanh(x),
            Unary::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Unary::HardSwish => x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0),
            Unary::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
        }
    }
}

/// The logistic function as ONNX Runtime's MLAS computes it: the input clamped to [-18, 18],
/// `p(x) / q(x) + 1/2` with odd and even polynomials in `x^2` (Eigen's coefficients), evaluated
/// by fused multiply-adds, the result clamped to [0, 1].
fn logistic(x: f32) -> f32 {
    const ALPHA: [f32; 5] = [
        4.370_310_1e-11,
        1.156_273_2e-7,
        6.085_748_6e-5,
        8.513_771e-3,
        2.482_879_5e-1,
    ];
    const BETA: [f32; 6] = [
        6.102_474e-13,
        5.761_021_4e-9,
        6.291_067_8e-6,
        1.701_988_2e-3,
        1.168_176_6e-1,
        9.931_519e-1,
    ];
    (odd_over_even(x.clamp(-18.0, 18.0), &ALPHA, &BETA) + 0.5).clamp(0.0, 1.0)
}

/// `v * p(v^2) / q(v^2)`, both polynomials by Horner's rule in fused multiply-adds (their
/// coefficients highest power first): MLAS's FMA3 evaluation of Eigen's rational approximations.
fn odd_over_even(v: f32, p: &[f32], q: &[f32]) -> f32 {
    let v2 = v * v;
    let horner = |c: &[f32]| c[1..].iter().fold(c[0], |acc, &k| acc.mul_add(v2, k));
    horner(p) * v / horner(q)
}

/// The hyperbolic tangent as ONNX Runtime's MLAS computes it: the input clamped to [-9, 9],
/// `p(x) / q(x)` with odd and even polynomials in `x^2` (Eigen's coefficients), evaluated by
/// fused multiply-adds.
fn tanh(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_187_9e-13,
        -8.604_671_5e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const BETA: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    odd_over_even(x.clamp(-9.0, 9.0), &ALPHA, &BETA)
}

impl Float {
    /// `self` with the real bounds of a Relu / Clip applied after it (an Acc, Sum, SumConst or a
    /// max pool of one: a max pool commutes with the clamp); None for the others.
    fn bounded(self, lo: Option<f32>, hi: Option<f32>) -> Option<Float> {
        Some(match self {
            Float::Acc {
                id,
                scale,
                pool_count,
                lo: l0,
                hi: h0,
            } => Float::Acc {
                id,
                scale,
                pool_count,
                lo: max_opt(l0, lo),
                hi: min_opt(h0, hi),
            },
            Float::Sum {
                a,
                b,
                lo: l0,
                hi: h0,
            } => Float::Sum {
                a,
                b,
                lo: max_opt(l0, lo),
                hi: min_opt(h0, hi),
            },
            Float::SumConst {
                a,
                c,
                lo: l0,
                hi: h0,
            } => Float::SumConst {
                a,
                c,
                lo: max_opt(l0, lo),
                hi: min_opt(h0, hi),
            },
            Float::Pooled {
                inner,
                kernel,
                strides,
                padding,
                ceil,
            } => Float::Pooled {
                inner: Box::new(inner.bounded(lo, hi)?),
                kernel,
                strides,
                padding,
                ceil,
            },
            Float::Input(..)
            | Float::Dq(_)
            | Float::Concat(_)
            | Float::Unary(..)
            | Float::AvgPool { .. }
            | Float::Softmax(_) => return None,
        })
    }
}

/// The quantized constant of an Add: its raw integers (one, or one per channel of the other
/// operand), scale and zero point, and whether it is the Add's first operand.
#[derive(Clone, Debug)]
struct ConstAddend {
    vals: Vec<i64>,
    scale: f32,
    zp: i64,
    first: bool,
}

#[derive(Clone)]
enum Entry {
    Q(QVal),
    F(Float),
    Const,
    /// A channel-group view of a 4-D quantized value (or its DequantizeLinear: `float`), as a
    /// channel shuffle writes it: [N, g, C / g, H, W], or transposed [N, C / g, g, H, W]; its
    /// Reshape back to N x C x H x W is a `qnn.gather_channels`.
    Grouped {
        q: QVal,
        float: bool,
        groups: i64,
        transposed: bool,
    },
    /// A constant-mode Pad of the spatial axes of a quantized value (or of its
    /// DequantizeLinear: `float`) by its zero point (0.0 in float), [top, left, bottom, right]:
    /// folded into the padding of the Conv that reads it (tf2onnx writes Keras's ZeroPadding2D
    /// this way).
    Padded {
        q: QVal,
        float: bool,
        pads: [i64; 4],
    },
    /// A constant Pad by 0.0 of the float graph input (after its float preprocessing `pre`),
    /// before its QuantizeLinear (which makes it `Padded`: 0.0 quantizes to the zero point).
    PaddedInput {
        input: ValueId,
        pre: Vec<FloatStep>,
        pads: [i64; 4],
    },
}

struct Importer<'a> {
    g: Graph,
    weights: Weights,
    notes: Vec<String>,
    consts: HashMap<&'a str, &'a TensorProto>,
    values: HashMap<String, Entry>,
    /// DequantizeLinear of a constant: (quantized tensor name, scale tensor, zero point tensor, axis).
    const_dq: HashMap<String, (String, String, Option<String>, i64)>,
    used_names: HashMap<String, usize>,
    /// Constants the importer computed (QuantizeLinear of a float constant).
    folded: HashMap<String, onnx::Tensor>,
    /// A conv or dense reads int8 weights (ONNX Runtime's u8 x s8 kernels).
    s8_weights: bool,
    /// N x C x H x W values (H x W > 1) a Flatten / Reshape gave to a Gemm / MatMul as
    /// N x (C H W): the layer reads them as a conv with an H x W kernel (exact: the same dot
    /// products in NCHW order), so no flatten of a spatial map is ever emitted.
    spatial_flat: std::collections::HashSet<ValueId>,
    /// The N x O x 1 x 1 accumulators of those layers: their ONNX value is N x O, so their
    /// requantized result is flattened.
    spatial_acc: std::collections::HashSet<ValueId>,
    graph: &'a GraphProto,
    /// The outputs of quantized operators (QOperator nodes rewritten by `qoperator::expand`):
    /// ONNX Runtime runs those nodes as they are.
    qop_outputs: std::collections::HashSet<String>,
    /// int8 QuantizeLinear outputs imported as uint8 (zero point + 128), as ONNX Runtime runs
    /// them and their DequantizeLinear ([`Importer::runs_as_u8`]).
    u8_pairs: std::collections::HashSet<String>,
    /// The default-domain opset (a Softmax's default axis).
    opset: i64,
    /// The batch the model's input declares (a Reshape's shape constant may spell it out; it
    /// stands for the batch imported).
    model_batch: Option<i64>,
    /// The graph input is an N x H x W x C image that a Transpose (perm [0, 3, 1, 2]) makes NCHW
    /// (tf2onnx / Keras exports): the qnn input keeps NHWC, its quantize a layout transform.
    input_nhwc: Option<String>,
    /// The NHWC input's values before its transpose (the input and its float steps' results):
    /// a constant there broadcasts per channel as `[C]` (the last axis).
    nhwc_steps: std::collections::HashSet<String>,
    /// Each tensor's reading nodes (one entry an edge) and producing node, indexed once.
    readers: HashMap<&'a str, Vec<&'a NodeProto>>,
    producers: HashMap<&'a str, &'a NodeProto>,
}

/// The newest default-domain opset nibble knows of: a later one may redefine the operators
/// nibble reads, so it is refused rather than guessed at.
const MAX_OPSET: i64 = 28;

/// Import a QDQ ONNX model from its file bytes.
pub fn import_onnx(bytes: &[u8], opts: &OnnxOptions) -> Result<Imported, String> {
    let mut model = onnx::read(bytes)?;
    let default: Vec<i64> = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .collect();
    if default.len() > 1 {
        return Err(format!(
            "the model imports the default ONNX domain {} times (opsets {default:?}); one is allowed",
            default.len()
        ));
    }
    let opset = default.first().copied().unwrap_or(0);
    // opset 10 brought QuantizeLinear, DequantizeLinear and QLinearConv (per-axis Q / DQ came
    // with 13; the ONNX model zoo's int8 CNNs are opset 12 QOperator models)
    if opset > MAX_OPSET {
        return Err(format!(
            "the model uses ONNX opset {opset}; nibble knows the operators of opsets 10 to {MAX_OPSET}"
        ));
    }
    if opset < 10 {
        return Err(format!(
            "the model uses ONNX opset {opset}; nibble reads opset 10 and later (QuantizeLinear, QLinearConv)"
        ));
    }
    let mut graph = model.graph.take().expect("read() checks the graph");
    // com.microsoft's QuantizeLinear / DequantizeLinear (quantize_static's UseQDQContribOps)
    // compute what ONNX's do for the 8- and 4-bit types nibble reads (other types are refused
    // where their zero point is read)
    for n in &mut graph.node {
        if n.domain == "com.microsoft"
            && matches!(n.op_type.as_str(), "QuantizeLinear" | "DequantizeLinear")
        {
            n.domain.clear();
        }
    }
    let qop_outputs = qoperator::expand(&mut graph)?;
    let mut importer = Importer::new(&graph)?;
    importer.qop_outputs = qop_outputs;
    importer.opset = opset;
    importer.run(&graph, opts)
}

/// At most eight names of a list, for a message.
fn name_list<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut text = names
        .iter()
        .take(8)
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 8 {
        text += &format!(" and {} more", names.len() - 8);
    }
    text
}

/// The graph's nodes in an order where each comes after the producers of its inputs (ONNX
/// requires the stored order to be one; ONNX Runtime accepts any). The stored order where it
/// already is one; a cycle is an error naming a node on it.
fn topological(graph: &GraphProto) -> Result<Vec<&NodeProto>, String> {
    let nodes = &graph.node;
    let mut producer: HashMap<&str, usize> = HashMap::new();
    let initializers: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for (i, n) in nodes.iter().enumerate() {
        if n.output.iter().all(|o| o.is_empty()) {
            return Err(format!("{}: the node has no output", node_name(n)));
        }
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if initializers.contains(o.as_str()) {
                return Err(format!(
                    "{}: its output '{o}' is also the name of an initializer",
                    node_name(n)
                ));
            }
            if let Some(j) = producer.insert(o.as_str(), i) {
                return Err(format!(
                    "{} and {} both produce '{o}'",
                    node_name(&nodes[j]),
                    node_name(n)
                ));
            }
        }
    }
    let mut waits = vec![0usize; nodes.len()];
    let mut readers: Vec<Vec<usize>> = vec![vec![]; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for x in n.input.iter().filter(|x| !x.is_empty()) {
            if let Some(&j) = producer.get(x.as_str()) {
                waits[i] += 1;
                readers[j].push(i);
            }
        }
    }
    // the lowest stored index of the ready nodes first: the stored order where it is valid
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..nodes.len())
        .filter(|&i| waits[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(&nodes[i]);
        for &r in &readers[i] {
            waits[r] -= 1;
            if waits[r] == 0 {
                ready.push(std::cmp::Reverse(r));
            }
        }
    }
    if let Some(mut i) = (0..nodes.len()).find(|&i| waits[i] > 0) {
        // back through producers that never ran until one repeats: it is on the cycle
        let mut seen = vec![false; nodes.len()];
        while !seen[i] {
            seen[i] = true;
            i = nodes[i]
                .input
                .iter()
                .filter_map(|x| producer.get(x.as_str()).copied())
                .find(|&j| waits[j] > 0)
                .expect("a node that never ran waits on another that never ran");
        }
        return Err(format!(
            "{}: the graph has a cycle through this node (an input depends on its own output)",
            node_name(&nodes[i])
        ));
    }
    Ok(order)
}

fn node_name(n: &NodeProto) -> String {
    if n.name.is_empty() {
        format!(
            "{} node with output '{}'",
            n.op_type,
            n.output.first().map(String::as_str).unwrap_or("?")
        )
    } else {
        format!("{} node '{}'", n.op_type, n.name)
    }
}

/// The narrowest type that holds `q - offset` for ONNX integers of type `qtype` (4-bit first
/// for 4-bit `q`, then 8-bit, then i16).
fn stored_type(qtype: ElemType, offset: i64) -> ElemType {
    let (lo, hi) = qtype.range();
    let candidates: &[ElemType] = if qtype.bits() == 4 {
        &[
            ElemType::I4,
            ElemType::U4,
            ElemType::I8,
            ElemType::U8,
            ElemType::I16,
        ]
    } else {
        &[ElemType::I8, ElemType::U8, ElemType::I16]
    };
    for &t in candidates {
        let (tl, th) = t.range();
        if lo - offset >= tl && hi - offset <= th {
            return t;
        }
    }
    ElemType::I32
}

/// The offset a freshly computed value is stored with: its zero point when `q - zp` is as
/// narrow as `q`, else 0.
/// The diagnostic for a float value an op reads before any QuantizeLinear gave it integers.
fn unquantized(name: &str) -> String {
    format!(
        "'{name}' is a float result the quantizer left unquantized (no QuantizeLinear / DequantizeLinear pair before this node); nibble runs a model's ops on quantized tensors only"
    )
}

fn best_offset(qtype: ElemType, zp: i64) -> i64 {
    if stored_type(qtype, zp).bits() <= qtype.bits() {
        zp
    } else {
        0
    }
}

fn onnx_elem(t: i32) -> Option<ElemType> {
    Some(match t {
        dt::INT8 => ElemType::I8,
        dt::UINT8 => ElemType::U8,
        dt::INT4 => ElemType::I4,
        dt::UINT4 => ElemType::U4,
        dt::INT32 => ElemType::I32,
        _ => return None,
    })
}

/// A scale as ONNX Runtime computes a requantize scale, checked to be usable.
fn dyadic(s: f32, what: &str) -> Result<Dyadic, String> {
    Dyadic::from_f32(s).ok_or_else(|| {
        format!("{what} scale {s:e} is outside what nibble represents (positive, in [2^-39, 2^24))")
    })
}

fn scales_of(v: &[f32], what: &str) -> Result<ChannelScales, String> {
    let mut m = vec![];
    let mut s = vec![];
    for &x in v {
        let d = dyadic(x, what)?;
        m.push(d.multiplier);
        s.push(d.shift);
    }
    // one entry when every channel has the same scale
    if m.iter().all(|&x| x == m[0]) && s.iter().all(|&x| x == s[0]) {
        m.truncate(1);
        s.truncate(1);
    }
    Ok(ChannelScales {
        multiplier: m,
        shift: s,
    })
}

impl<'a> Importer<'a> {
    fn new(graph: &'a GraphProto) -> Result<Self, String> {
        let mut readers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
        let mut producers = HashMap::new();
        for n in &graph.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                readers.entry(i.as_str()).or_default().push(n);
            }
            if let Some(o) = n.output.first() {
                producers.insert(o.as_str(), n);
            }
        }
        let mut consts = HashMap::new();
        for t in &graph.initializer {
            if consts.insert(t.name.as_str(), t).is_some() {
                return Err(format!("initializer '{}' is defined twice", t.name));
            }
        }
        for n in &graph.node {
            if n.op_type == "Constant" {
                let t = Attrs::new(n)
                    .tensor("value")
                    .map_err(|e| format!("{}: {e}", node_name(n)))?
                    .ok_or_else(|| {
                        format!("{}: only `value` tensors are supported", node_name(n))
                    })?;
                if let Some(o) = n.output.first() {
                    if consts.insert(o.as_str(), t).is_some() {
                        return Err(format!(
                            "{}: its output '{o}' is also an initializer",
                            node_name(n)
                        ));
                    }
                }
            }
            // an Identity of a constant (how exporters write a tied weight) is that constant
            if n.op_type == "Identity" {
                if let (Some(i), Some(o)) = (n.input.first(), n.output.first()) {
                    if let Some(&t) = consts.get(i.as_str()) {
                        if consts.insert(o.as_str(), t).is_some() {
                            return Err(format!(
                                "{}: its output '{o}' is also an initializer",
                                node_name(n)
                            ));
                        }
                    }
                }
            }
        }
        Ok(Self {
            g: Graph::new("main", vec![]),
            weights: Weights::default(),
            notes: vec![],
            consts,
            values: HashMap::new(),
            const_dq: HashMap::new(),
            used_names: HashMap::new(),
            folded: HashMap::new(),
            s8_weights: false,
            spatial_flat: Default::default(),
            spatial_acc: Default::default(),
            graph,
            qop_outputs: Default::default(),
            u8_pairs: Default::default(),
            opset: 0,
            model_batch: None,
            input_nhwc: None,
            nhwc_steps: Default::default(),
            readers,
            producers,
        })
    }

    fn run(mut self, graph: &'a GraphProto, opts: &OnnxOptions) -> Result<Imported, String> {
        // the one float input that is not an initializer
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !self.consts.contains_key(i.name.as_str()))
            .collect();
        if inputs.len() != 1 {
            return Err(format!(
                "the model has {} inputs ({}); nibble imports models with one image input",
                inputs.len(),
                name_list(inputs.iter().map(|i| i.name.as_str()))
            ));
        }
        let input = inputs[0];
        let tt = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| format!("input '{}' is not a tensor", input.name))?;
        if tt.elem_type != dt::FLOAT {
            return Err(format!(
                "input '{}' is {}; nibble imports float32 image inputs (quantized by the model's QuantizeLinear)",
                input.name,
                dt::name(tt.elem_type)
            ));
        }
        let dims: Vec<Option<i64>> = tt
            .shape
            .as_ref()
            .ok_or_else(|| {
                format!(
                    "input '{}' declares no shape; nibble needs its rank and channel count (NCHW)",
                    input.name
                )
            })?
            .dim
            .iter()
            .map(|d| d.dim_value.filter(|&v| v > 0))
            .collect();
        if dims.len() != 4 {
            return Err(format!(
                "input '{}' has rank {}; nibble imports NCHW images (rank 4)",
                input.name,
                dims.len()
            ));
        }
        // an NHWC image whose only reader transposes it to NCHW, maybe after float steps of a
        // constant (Keras preprocessing, each step its value's only reader): dims taken as N,
        // C, H, W
        let mut cur = input.name.clone();
        let mut steps = vec![];
        let nhwc = loop {
            let here = self.is_graph_output(&cur);
            match self.readers(&cur) {
                [t] if !here
                    && t.op_type == "Transpose"
                    && Attrs::new(t).ints("perm")?.as_deref() == Some(&[0, 3, 1, 2][..]) =>
                {
                    break t.output.first().cloned();
                }
                [s] if !here
                    && steps.len() < 64
                    && matches!(s.op_type.as_str(), "Add" | "Sub" | "Mul" | "Div")
                    && self
                        .float_const_operand(s)
                        .is_some_and(|ci| s.input.get(1 - ci) == Some(&cur)) =>
                {
                    steps.push(cur.clone());
                    cur = s.output.first().cloned().unwrap_or_default();
                }
                _ => break None,
            }
        };
        if nhwc.is_some() {
            self.nhwc_steps = steps.into_iter().collect();
        }
        let dims = match &nhwc {
            Some(_) => vec![dims[0], dims[3], dims[1], dims[2]],
            None => dims,
        };
        self.model_batch = dims[0];
        let batch = match (opts.batch, dims[0]) {
            (Some(b), _) => b,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(format!(
                    "input '{}' has a symbolic batch dimension: give --batch",
                    input.name
                ))
            }
        };
        let c = dims[1].ok_or_else(|| format!("input '{}' has no channel count", input.name))?;
        // --image-size: the symbolic dims of a partly declared size, or both (a declared
        // size imported at another resolution, said in a note)
        let (h, w) = match (opts.image_size, dims[2], dims[3]) {
            (Some([sh, sw]), Some(h), Some(w)) => {
                if (h, w) != (sh, sw) {
                    self.notes.push(format!(
                        "input '{}' is declared {h}x{w}; imported at {sh}x{sw} (--image-size)",
                        input.name
                    ));
                }
                (sh, sw)
            }
            (Some([sh, sw]), h, w) => (h.unwrap_or(sh), w.unwrap_or(sw)),
            (None, Some(h), Some(w)) => (h, w),
            (None, _, _) => {
                return Err(format!(
                    "input '{}' has symbolic height or width: give --image-size",
                    input.name
                ))
            }
        };
        let (bw, sw) = (
            if opts.batch.is_some() {
                "--batch"
            } else {
                "the declared batch"
            },
            if opts.image_size.is_some() {
                "--image-size"
            } else {
                "the declared image size"
            },
        );
        for (v, what) in [(batch, bw), (h, sw), (w, sw)] {
            if !(1..=1 << 20).contains(&v) {
                return Err(format!(
                    "input '{}': {what} {v} is outside [1, 2^20]",
                    input.name
                ));
            }
        }
        let shape = match nhwc {
            Some(_) => vec![batch, h, w, c],
            None => vec![batch, c, h, w],
        };
        self.g.args.push(TensorType::new(shape, ElemType::F32));
        // (the input's own name where float steps come before its transpose)
        let name = match &nhwc {
            Some(t) if self.nhwc_steps.is_empty() => t.clone(),
            _ => input.name.clone(),
        };
        self.values.insert(name, Entry::F(Float::Input(0, vec![])));
        self.input_nhwc = nhwc;
        // (before the nodes: a second output, such as probabilities next to the logits, would
        // otherwise be diagnosed as whatever its node does not support)
        if graph.output.len() != 1 {
            return Err(format!(
                "the model has {} outputs; nibble imports models with one output",
                graph.output.len()
            ));
        }
        for n in topological(graph)? {
            self.node(n).map_err(|e| format!("{}: {e}", node_name(n)))?;
        }
        let out = &graph.output[0].name;
        if let Some(Entry::F(Float::Acc { id, .. })) = self.values.get(out) {
            if self.spatial_acc.contains(id) {
                return Err(format!(
                    "output '{out}' is the float result of a Gemm / MatMul over a flattened N x C x H x W map, which nibble does not produce (quantize it)"
                ));
            }
        }
        if let Some(Entry::F(Float::Dq(q)) | Entry::Q(q)) = self.values.get(out) {
            if self.spatial_flat.contains(&q.id) {
                return Err(format!(
                    "output '{out}' is a flattened N x C x H x W map; nibble flattens maps for a Gemm / MatMul only"
                ));
            }
        }
        let result = match self.values.get(out) {
            Some(Entry::F(Float::Dq(q))) => {
                let q = q.clone();
                self.dequantize(&q)
            }
            Some(Entry::F(Float::Acc { id, scale, pool_count: None, lo: None, hi: None })) => {
                // QGemm with a float output: f32(acc * f32(sx * sw[c]))
                let (id, scale) = (*id, scale.clone());
                if !matches!(self.g.node_of(id).map(|n| &n.op), Some(Op::Dense)) {
                    self.notes.push(format!(
                        "output '{out}' is the float result of a {}: nibble dequantizes its exact integer result, f32(acc * scale); ONNX Runtime computes that op in float, so the outputs may differ in their last bits",
                        self.g
                            .node_of(id)
                            .map_or("qnn op", |n| n.op.mnemonic())
                            .replace("conv2d", "Conv")
                            .replace("mul", "Mul")
                    ));
                }
                let layout = self.layout_of(id);
                let ty = self.g.value_type(id).clone();
                self.g.push(
                    Op::Dequantize { scales: scale, layout },
                    vec![id],
                    TensorType::new(ty.shape, ElemType::F32),
                )
            }
            _ => {
                return Err(format!(
                    "output '{out}' is not the DequantizeLinear of a quantized tensor or a quantized Gemm's float result"
                ))
            }
        };
        self.g.results.push(result);
        // ONNX Runtime's u8 x s8 kernels on x86 CPUs without VNNI add each pair of products in
        // a saturating 16-bit lane (VPMADDUBSW; int8 activations are shifted to uint8 first)
        if self.s8_weights {
            self.notes.push(
                "8-bit activations x int8 weights: nibble sums the products exactly; ONNX Runtime on x86 CPUs without VNNI (AVX2) adds them in pairs saturated at int16, so with large activations and weights its output differs (quantize_static's reduce_range=True avoids that)"
                    .into(),
            );
        }
        Ok(Imported {
            graph: self.g,
            weights: self.weights,
            notes: self.notes,
        })
    }

    fn constant(&self, name: &str) -> Result<onnx::Tensor, String> {
        if let Some(t) = self.folded.get(name) {
            return Ok(t.clone());
        }
        let t = self
            .consts
            .get(name)
            .ok_or_else(|| format!("'{name}' must be a constant (an initializer)"))?;
        onnx::tensor(t)
    }

    /// The int64 result of a shape-arithmetic node over constants: Shape of a value (its
    /// N x C x H x W or N x C dims as imported, `start` / `end` from opset 15), Gather of a
    /// 1-D int64 constant along axis 0, Unsqueeze and Concat (axis 0) of int64 constants.
    fn fold_shape_op(&self, n: &NodeProto) -> Result<onnx::Tensor, String> {
        let a = Attrs::new(n);
        let ints = |name: &str| -> Result<(Vec<i64>, Vec<usize>), String> {
            let t = self.constant(name)?;
            if t.data_type != dt::INT64 {
                return Err(format!(
                    "'{name}' is {}; shape arithmetic takes int64",
                    dt::name(t.data_type)
                ));
            }
            Ok((t.data.ints().unwrap_or_default(), t.dims))
        };
        let tensor = |v: Vec<i64>, dims: Vec<usize>| onnx::Tensor {
            dims,
            data_type: dt::INT64,
            data: onnx::Data::I64(v),
        };
        let clamp = |i: i64, len: usize| {
            let i = if i < 0 { i + len as i64 } else { i };
            i.clamp(0, len as i64) as usize
        };
        match n.op_type.as_str() {
            "Shape" => {
                check_known(
                    &a,
                    if self.opset >= 15 {
                        &["start", "end"]
                    } else {
                        &[]
                    },
                )?;
                let x = input(n, 0)?;
                let dims = self
                    .onnx_dims(x)
                    .ok_or_else(|| format!("the shape of '{x}' is not known at import"))?;
                let lo = clamp(a.int("start")?.unwrap_or(0), dims.len());
                let hi = clamp(a.int("end")?.unwrap_or(dims.len() as i64), dims.len());
                let v = dims[lo..hi.max(lo)].to_vec();
                let len = v.len();
                Ok(tensor(v, vec![len]))
            }
            "Gather" => {
                check_known(&a, &["axis"])?;
                let (data, ddims) = ints(input(n, 0)?)?;
                let (idx, idims) = ints(input(n, 1)?)?;
                if ddims.len() != 1 || a.int("axis")?.unwrap_or(0) != 0 {
                    return Err("only a Gather along axis 0 of a 1-D shape is supported".into());
                }
                let v = idx
                    .iter()
                    .map(|&i| {
                        let j = if i < 0 { i + data.len() as i64 } else { i };
                        usize::try_from(j)
                            .ok()
                            .and_then(|j| data.get(j).copied())
                            .ok_or_else(|| {
                                format!("index {i} is outside the {} values", data.len())
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(tensor(v, idims))
            }
            "Unsqueeze" => {
                let axes = if self.opset >= 13 {
                    check_known(&a, &[])?;
                    ints(input(n, 1)?)?.0
                } else {
                    check_known(&a, &["axes"])?;
                    a.ints("axes")?.ok_or("axes are missing")?
                };
                let (v, mut dims) = ints(input(n, 0)?)?;
                let rank = dims.len() + axes.len();
                let mut axes: Vec<usize> = axes
                    .iter()
                    .map(|&x| if x < 0 { x + rank as i64 } else { x })
                    .map(|x| usize::try_from(x).ok().filter(|&x| x < rank))
                    .collect::<Option<_>>()
                    .ok_or_else(|| format!("axes outside a rank-{rank} result"))?;
                axes.sort_unstable();
                axes.dedup();
                for x in axes {
                    dims.insert(x.min(dims.len()), 1);
                }
                Ok(tensor(v, dims))
            }
            _ => {
                // Concat of 1-D int64 constants
                check_known(&a, &["axis"])?;
                if !matches!(a.int("axis")?, Some(0) | Some(-1)) {
                    return Err("only a Concat along axis 0 of 1-D shapes is supported".into());
                }
                let mut v = vec![];
                for i in n.input.iter().filter(|i| !i.is_empty()) {
                    let (x, dims) = ints(i)?;
                    if dims.len() != 1 {
                        return Err(format!("'{i}' is not 1-D"));
                    }
                    v.extend(x);
                }
                let len = v.len();
                Ok(tensor(v, vec![len]))
            }
        }
    }

    /// Transpose `n` of a constant: its `perm` (default: the dims reversed) applied to the
    /// values.
    fn fold_transpose(&self, n: &NodeProto) -> Result<onnx::Tensor, String> {
        let a = Attrs::new(n);
        check_known(&a, &["perm"])?;
        let t = self.constant(input(n, 0)?)?;
        let rank = t.dims.len();
        let perm: Vec<usize> = match a.ints("perm")? {
            Some(p) => p
                .iter()
                .map(|&v| usize::try_from(v).ok().filter(|&v| v < rank))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("perm {p:?} is not a permutation of {rank} dims"))?,
            None => (0..rank).rev().collect(),
        };
        let mut seen = perm.clone();
        seen.sort_unstable();
        if seen != (0..rank).collect::<Vec<_>>() {
            return Err(format!("perm {perm:?} is not a permutation of {rank} dims"));
        }
        let dims: Vec<usize> = perm.iter().map(|&p| t.dims[p]).collect();
        // the source index of each result element, row-major
        let mut strides = vec![1; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * t.dims[i + 1];
        }
        let total: usize = dims.iter().product();
        let src: Vec<usize> = (0..total)
            .map(|mut k| {
                let mut at = 0;
                for d in (0..rank).rev() {
                    at += (k % dims[d]) * strides[perm[d]];
                    k /= dims[d];
                }
                at
            })
            .collect();
        fn pick<T: Clone>(v: &[T], src: &[usize]) -> Vec<T> {
            src.iter().map(|&i| v[i].clone()).collect()
        }
        use onnx::Data;
        let data = match &t.data {
            Data::F32(v) => Data::F32(pick(v, &src)),
            Data::F64(v) => Data::F64(pick(v, &src)),
            Data::I64(v) => Data::I64(pick(v, &src)),
            Data::I32(v) => Data::I32(pick(v, &src)),
            Data::I8(v) => Data::I8(pick(v, &src)),
            Data::U8(v) => Data::U8(pick(v, &src)),
            Data::I4(v) => Data::I4(pick(v, &src)),
            Data::U4(v) => Data::U4(pick(v, &src)),
        };
        Ok(onnx::Tensor {
            dims,
            data_type: t.data_type,
            data,
        })
    }

    /// The ONNX dims of activation `name` as imported (N x C x H x W, or N x C).
    fn onnx_dims(&self, name: &str) -> Option<Vec<i64>> {
        // the qnn value of the same shape
        let id = match self.values.get(name)? {
            Entry::Q(q)
            | Entry::F(
                Float::Dq(q)
                | Float::Sum { a: q, .. }
                | Float::SumConst { a: q, .. }
                | Float::Unary(q, _)
                | Float::Softmax(q),
            ) => q.id,
            Entry::F(Float::Input(id, _) | Float::Acc { id, .. }) => *id,
            _ => return None,
        };
        let shape = &self.g.value_type(id).shape;
        match shape.len() {
            4 => Some(self.nchw(id).to_vec()),
            2 => Some(shape.clone()),
            _ => None,
        }
    }

    /// The operand of Add / Sub / Mul / Div `n` that is a float constant ONNX Runtime applies
    /// in f32 (a plain float initializer or Constant; for Sub and Div, which ONNX Runtime does not
    /// quantize, also the DequantizeLinear of quantized integers), when the other is not one.
    fn float_const_operand(&self, n: &NodeProto) -> Option<usize> {
        let float = |i: usize| {
            n.input.get(i).is_some_and(|x| {
                let dq = self.const_dq.contains_key(x.as_str());
                (self.is_constant(x) && !dq) || (dq && matches!(n.op_type.as_str(), "Sub" | "Div"))
            })
        };
        match (float(0), float(1)) {
            (true, false) => Some(0),
            (false, true) => Some(1),
            _ => None,
        }
    }

    /// Add / Sub / Mul / Div `n` of the float constant at input `ci` and a quantized tensor (or
    /// a float function of one): one more f32 step of the table its QuantizeLinear builds; of
    /// the float input (its preprocessing, which quantize_static leaves in float): one more f32
    /// step of the input quantize (`qnn.quantize`'s `pre`). The constant is one value or one a
    /// channel (`[1, C, 1, 1]` / `[C, 1, 1]` of an N x C x H x W map, `[C]` / `[1, C]` of an
    /// N x C matrix).
    fn float_arith(&self, n: &NodeProto, ci: usize) -> Result<Float, String> {
        let x = input(n, 1 - ci)?;
        // the quantized tensor and the table steps before this one, or the float input's
        // steps
        let (q, before) = match self.values.get(x) {
            Some(Entry::F(Float::Dq(q))) => (Ok(q.clone()), None),
            Some(Entry::F(Float::Unary(q, f))) => (Ok(q.clone()), Some(f.clone())),
            Some(Entry::F(Float::Input(id, pre))) => (Err((*id, pre.clone())), None),
            _ => {
                return Err(format!(
                    "'{x}' is not the DequantizeLinear of a quantized tensor (or a float function of one)"
                ))
            }
        };
        if let Ok(q) = &q {
            if q.qtype.bits() > 8 {
                return Err(format!("{} of a {}-bit tensor", n.op_type, q.qtype.bits()));
            }
        }
        let cname = input(n, ci)?;
        let dims = self.constant_dims(cname)?;
        let k = self.float_constant(cname)?;
        let xdims = self
            .onnx_dims(x)
            .ok_or_else(|| format!("'{x}' is neither N x C x H x W nor N x C"))?;
        let ch = xdims[1];
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let per_channel = match xdims.len() {
            // an NHWC value before the input's transpose: channels are the last axis
            4 if self.nhwc_steps.contains(x) => {
                dims.iter().skip_while(|&&d| d == 1).eq([ch].iter()) && dims.len() <= 4
            }
            4 => dims == [1, ch, 1, 1] || dims == [ch, 1, 1],
            _ => dims == [ch] || dims == [1, ch],
        };
        let one = k.len() == 1 && dims.len() <= xdims.len();
        if !one && !(per_channel && k.len() == ch as usize) {
            return Err(format!(
                "{} by the constant '{cname}' of dims {dims:?} over a tensor of dims {xdims:?}: one value or one a channel is supported",
                n.op_type
            ));
        }
        let op = match n.op_type.as_str() {
            "Add" => FloatOp::Add,
            "Sub" => FloatOp::Sub,
            "Mul" => FloatOp::Mul,
            _ => FloatOp::Div,
        };
        let step = FloatStep {
            op,
            k,
            first: ci == 0,
        };
        let q = match q {
            Ok(q) => q,
            Err((id, mut pre)) => {
                pre.push(step);
                return Ok(Float::Input(id, pre));
            }
        };
        let step = Unary::Arith(step);
        let f = match before {
            None => step,
            Some(f) => {
                if let (Some(a), Some(b)) = (f.channels(), step.channels()) {
                    if a != b {
                        return Err(format!("{} channels after a function of {a}", b));
                    }
                }
                f.then(step)
            }
        };
        Ok(Float::Unary(q, f))
    }

    /// The dims of constant `name` (of its quantized integers, where it is their
    /// DequantizeLinear).
    fn constant_dims(&self, name: &str) -> Result<Vec<usize>, String> {
        Ok(match self.const_dq.get(name) {
            Some((q, ..)) => self.constant(q)?.dims,
            None => self.constant(name)?.dims,
        })
    }

    fn is_constant(&self, name: &str) -> bool {
        self.consts.contains_key(name) || self.folded.contains_key(name)
    }

    /// QuantizeLinear of a float constant (a weight exported by fake quantization, as
    /// PyTorch's QAT export writes): the integers, computed as QuantizeLinear defines them
    /// (`sat(round_half_even(x / scale) + zp)`, per tensor or along `axis`).
    fn fold_quantize(&mut self, n: &NodeProto, out: &str) -> Result<(), String> {
        plain_quantization(n)?;
        let x = self.constant(input(n, 0)?)?;
        let Some(v) = x.data.floats() else {
            return Err("quantizes a constant that is not float".into());
        };
        if let Some(i) = v.iter().position(|f| f.is_nan()) {
            return Err(format!(
                "quantizes the constant '{}', whose element {i} is NaN",
                input(n, 0)?
            ));
        }
        let st = self.constant(input(n, 1)?)?;
        let scales = st.data.floats().ok_or("the scale is not float")?;
        for &sc in &scales {
            if !(sc.is_finite() && sc > 0.0) {
                return Err(format!("scale {sc} is not a positive finite number"));
            }
        }
        let (zps, qt) = match n.input.get(2).filter(|s| !s.is_empty()) {
            Some(z) => {
                let t = self.constant(z)?;
                param_dims(&st, &t, input(n, 1)?, z)?;
                (
                    t.data.ints().ok_or("the zero point is not integer")?,
                    t.data_type,
                )
            }
            None => {
                param_dims(&st, &st, input(n, 1)?, "")?;
                (vec![0; scales.len()], dt::UINT8)
            }
        };
        let qtype = onnx_elem(qt)
            .filter(|e| e.bits() <= 8)
            .ok_or_else(|| format!("quantizes to {}; nibble reads 4- and 8-bit", dt::name(qt)))?;
        let axis = Attrs::new(n).int("axis")?.unwrap_or(1);
        let at = per_axis(&x.dims, scales.len(), zps.len(), axis)?;
        let (lo, hi) = qtype.range();
        let q: Vec<i64> = v
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let c = at.param(i);
                quantize_f32(f, scales[c], zps[c], QuantizeMode::Divide, lo, hi)
            })
            .collect();
        let data = match qtype {
            ElemType::I8 => onnx::Data::I8(q.iter().map(|&v| v as i8).collect()),
            ElemType::U8 => onnx::Data::U8(q.iter().map(|&v| v as u8).collect()),
            ElemType::I4 => onnx::Data::I4(q.iter().map(|&v| v as i8).collect()),
            _ => onnx::Data::U4(q.iter().map(|&v| v as u8).collect()),
        };
        self.folded.insert(
            out.to_string(),
            onnx::Tensor {
                dims: x.dims.clone(),
                data_type: qt,
                data,
            },
        );
        Ok(())
    }

    /// A Clip of integers (the QCDQ form Brevitas and others write for fewer than 8 bits:
    /// QuantizeLinear -> Clip -> DequantizeLinear, and an integer weight -> Clip ->
    /// DequantizeLinear): the clamped constant, or a clamp of the quantized tensor. False when
    /// the Clip is of a float tensor.
    fn integer_clip(&mut self, n: &NodeProto, out: &str) -> Result<bool, String> {
        let x = input(n, 0)?;
        let bound = |i: usize| -> Result<Option<i64>, String> {
            match n.input.get(i).filter(|s| !s.is_empty()) {
                Some(b) => match self.constant(b)?.data.ints().as_deref() {
                    Some([v]) => Ok(Some(*v)),
                    _ => Err(format!(
                        "the bound '{b}' of an integer Clip must be one integer"
                    )),
                },
                None => Ok(None),
            }
        };
        if self.is_constant(x) {
            let mut t = self.constant(x)?;
            if t.data.ints().is_none() {
                return Ok(false);
            }
            let what = dt::name(t.data_type);
            let (lo, hi) = (bound(1)?, bound(2)?);
            let c = |v: i64| v.max(lo.unwrap_or(i64::MIN)).min(hi.unwrap_or(i64::MAX));
            // 8-bit weights clipped to a 4-bit range are 4-bit weights (QCDQ's 4-bit form)
            let narrow = |signed: bool| match (lo, hi) {
                (Some(l), Some(h)) if signed => l >= -8 && h <= 7,
                (Some(l), Some(h)) => l >= 0 && h <= 15,
                _ => false,
            };
            let i8s = |v: Vec<i8>| v.into_iter().map(|x| c(x as i64) as i8).collect();
            let u8s = |v: Vec<u8>| v.into_iter().map(|x| c(x as i64) as u8).collect();
            t.data = match t.data {
                onnx::Data::I8(v) if narrow(true) => {
                    t.data_type = dt::INT4;
                    onnx::Data::I4(i8s(v))
                }
                onnx::Data::U8(v) if narrow(false) => {
                    t.data_type = dt::UINT4;
                    onnx::Data::U4(u8s(v))
                }
                onnx::Data::I8(v) => onnx::Data::I8(i8s(v)),
                onnx::Data::U8(v) => onnx::Data::U8(u8s(v)),
                onnx::Data::I4(v) => onnx::Data::I4(i8s(v)),
                onnx::Data::U4(v) => onnx::Data::U4(u8s(v)),
                onnx::Data::I32(v) => {
                    onnx::Data::I32(v.into_iter().map(|x| c(x as i64) as i32).collect())
                }
                _ => return Err(format!("a Clip of the {what} constant '{x}'")),
            };
            self.folded.insert(out.to_string(), t);
            self.values.insert(out.to_string(), Entry::Const);
            return Ok(true);
        }
        let Some(Entry::Q(q)) = self.values.get(x) else {
            return Ok(false);
        };
        let q = q.clone();
        let (lo, hi) = (bound(1)?, bound(2)?);
        let ty = self.g.value_type(q.id).clone();
        let (ql, qh) = q.qtype.range();
        let (lo_q, hi_q) = (lo.unwrap_or(ql).max(ql), hi.unwrap_or(qh).min(qh));
        // an 8-bit value clipped to a 4-bit range (QCDQ's 4-bit activations) becomes a 4-bit
        // value: 4-bit kernels read it
        let narrow = [ElemType::I4, ElemType::U4].into_iter().find(|t| {
            let (l, h) = t.range();
            q.qtype.bits() == 8 && lo_q >= l && hi_q <= h && (l..=h).contains(&q.zp)
        });
        if let Some(qtype) = narrow {
            let elem = stored_type(qtype, q.offset);
            let id = self.unit_requantize(q.id, 0, [lo_q - q.offset, hi_q - q.offset], elem);
            self.values
                .insert(out.to_string(), Entry::Q(QVal { id, qtype, ..q }));
            return Ok(true);
        }
        let (tl, th) = ty.elem.range();
        // stored values are q - offset
        let id = self.g.push(
            Op::Clamp {
                min: lo.map_or(tl, |v| v - q.offset).clamp(tl, th),
                max: hi.map_or(th, |v| v - q.offset).clamp(tl, th),
                layout: self.layout_of(q.id),
            },
            vec![q.id],
            ty,
        );
        self.values
            .insert(out.to_string(), Entry::Q(QVal { id, ..q }));
        Ok(true)
    }

    /// The float values of a constant: a float initializer, or the DequantizeLinear of a
    /// quantized one (`f32(q - zp) * scale`, per tensor or along its axis).
    fn float_constant(&self, name: &str) -> Result<Vec<f32>, String> {
        let Some((qn, sn, zn, axis)) = self.const_dq.get(name) else {
            return self
                .constant(name)?
                .data
                .floats()
                .ok_or_else(|| format!("'{name}' is not a float constant"));
        };
        let t = self.constant(qn)?;
        let q = t
            .data
            .ints()
            .ok_or_else(|| format!("'{qn}' is not integer"))?;
        let scales = self
            .constant(sn)?
            .data
            .floats()
            .ok_or_else(|| format!("scale '{sn}' is not float"))?;
        let zps = match zn {
            Some(z) => self
                .constant(z)?
                .data
                .ints()
                .ok_or_else(|| format!("zero point '{z}' is not integer"))?,
            None => vec![0; scales.len()],
        };
        let at = per_axis(&t.dims, scales.len(), zps.len(), *axis)?;
        Ok(q.iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = at.param(i);
                nibble_qnn::semantics::dequantize_f32(v - zps[c], scales[c])
            })
            .collect())
    }

    fn float_scalar(&self, name: &str) -> Result<f32, String> {
        let t = self.constant(name)?;
        match t.data.floats() {
            Some(v) if v.len() == 1 && t.dims.len() <= 1 => Ok(v[0]),
            _ => Err(format!("scale '{name}' must be one float")),
        }
    }

    /// (scale, zero point, type) of a QuantizeLinear / DequantizeLinear of an activation.
    /// The nodes reading `name`, one entry an edge (a node reading it twice is there twice).
    fn readers(&self, name: &str) -> &[&'a NodeProto] {
        self.readers.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The node whose first output is `name`.
    fn producer(&self, name: &str) -> Option<&'a NodeProto> {
        self.producers.get(name).copied()
    }

    fn is_graph_output(&self, name: &str) -> bool {
        self.graph.output.iter().any(|o| o.name == name)
    }

    /// The one int8 value of a Q / DQ node's zero point (an initializer or Constant), if it has
    /// one.
    fn int8_zero_point(&self, m: &NodeProto) -> Option<i64> {
        m.input
            .get(2)
            .filter(|z| !z.is_empty())
            .and_then(|z| self.constant(z).ok())
            .filter(|t| t.data_type == dt::INT8)
            .and_then(|t| t.data.ints())
            .filter(|v| v.len() == 1)
            .map(|v| v[0])
    }

    /// Whether ONNX Runtime fuses the float node `n` with its input's DequantizeLinear and its
    /// output's QuantizeLinear into one quantized operator (its QDQ node units): the input made
    /// by a DequantizeLinear that nothing else reads, the output read by exactly one node, a
    /// QuantizeLinear, and no graph output.
    fn fused_unit(&self, n: &NodeProto) -> bool {
        let (Some(x), Some(y)) = (n.input.first(), n.output.first()) else {
            return false;
        };
        let x = self.through_elided(x);
        let dq = self
            .producer(x)
            .is_some_and(|m| m.op_type == "DequantizeLinear");
        let readers = self.readers(y);
        dq && self.readers(x).len() == 1
            && !self.is_graph_output(x)
            && !self.is_graph_output(y)
            && readers.len() == 1
            && readers[0].op_type == "QuantizeLinear"
    }

    /// The value `x` is once ONNX Runtime has removed the Identity and Dropout nodes that make
    /// it (its first graph transformations): the input of that chain, where each value on it
    /// has one reader and is no graph output; else `x`.
    fn through_elided<'b>(&'b self, x: &'b str) -> &'b str {
        let mut at = x;
        while let Some(m) = self.producer(at) {
            let elided = matches!(m.op_type.as_str(), "Identity" | "Dropout")
                && m.output.iter().skip(1).all(|o| o.is_empty())
                && self.readers(at).len() == 1
                && !self.is_graph_output(at);
            match m.input.first() {
                Some(i) if elided => at = i,
                _ => break,
            }
        }
        at
    }

    /// Whether ONNX Runtime runs the float node `n` (AveragePool, Softmax) as its quantized
    /// operator: `n` comes from a QOperator node, or is a fused QDQ unit ([`Self::fused_unit`])
    /// whose input is uint8, or int8 from a QuantizeLinear -> DequantizeLinear pair that ONNX
    /// Runtime moves to uint8 (on x86 it fuses these units for uint8 only).
    fn runs_quantized(&self, n: &NodeProto) -> bool {
        let Some(y) = n.output.first() else {
            return false;
        };
        let q_out = self
            .readers(y)
            .iter()
            .find(|m| m.op_type == "QuantizeLinear")
            .and_then(|q| q.output.first());
        if q_out.is_some_and(|o| self.qop_outputs.contains(o)) {
            return true;
        }
        if !self.fused_unit(n) {
            return false;
        }
        let Some(dq) = n
            .input
            .first()
            .and_then(|x| self.producer(self.through_elided(x)))
        else {
            return false;
        };
        self.int8_zero_point(dq).is_none()
            || dq
                .input
                .first()
                .and_then(|x| self.producer(x))
                .is_some_and(|q| q.op_type == "QuantizeLinear" && self.runs_as_u8(q))
    }

    /// Whether ONNX Runtime on x86 runs int8 QuantizeLinear `n` as uint8 (its
    /// `QDQS8ToU8Transformer`): in a QDQ model, an output read by exactly one node, a
    /// DequantizeLinear of the same zero point, and no graph output; both then take uint8 and
    /// the zero point + 128.
    fn runs_as_u8(&self, n: &NodeProto) -> bool {
        let Some(out) = n.output.first() else {
            return false;
        };
        if self.qop_outputs.contains(out) || self.is_graph_output(out) {
            return false;
        }
        let [dq] = self.readers(out) else {
            return false;
        };
        dq.op_type == "DequantizeLinear"
            && (dq.domain.is_empty() || dq.domain == "ai.onnx")
            && n.input.len() == 3
            && dq.input.len() == 3
            && self.int8_zero_point(n).is_some()
            && self.int8_zero_point(n) == self.int8_zero_point(dq)
    }

    fn qparams(&self, n: &NodeProto) -> Result<(f32, i64, ElemType), String> {
        let scale = self.float_scalar(input(n, 1)?)?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(format!("scale {scale} is not a positive finite number"));
        }
        let (zp, qtype) = match n.input.get(2).filter(|s| !s.is_empty()) {
            Some(z) => {
                let t = self.constant(z)?;
                let ty = onnx_elem(t.data_type)
                    .filter(|t| t.bits() <= 8)
                    .ok_or_else(|| {
                        format!(
                            "zero point '{z}' is {}; nibble reads 4- and 8-bit quantization",
                            dt::name(t.data_type)
                        )
                    })?;
                match t.data.ints() {
                    Some(v) if v.len() == 1 => (v[0], ty),
                    _ => {
                        return Err(format!(
                            "zero point '{z}' must be one value (per-tensor activations)"
                        ))
                    }
                }
            }
            None => (0, ElemType::U8),
        };
        plain_quantization(n)?;
        if let Some(a) = Attrs::new(n).int("saturate")? {
            if a != 1 {
                return Err("saturate = 0 is only defined for float8 types".into());
            }
        }
        Ok((scale, zp, qtype))
    }

    fn node(&mut self, n: &'a NodeProto) -> Result<(), String> {
        if !(n.domain.is_empty() || n.domain == "ai.onnx") {
            return Err(format!(
                "op type {} of domain '{}' is not supported (of com.microsoft's quantized operators nibble imports QLinearAdd, QLinearMul, QGemm, QLinearConcat, QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearAveragePool and QLinearSoftmax)",
                n.op_type, n.domain
            ));
        }
        arity(n)?;
        let out = n.output.first().cloned().unwrap_or_default();
        match n.op_type.as_str() {
            "Constant" => {
                self.values.insert(out, Entry::Const);
            }
            "QuantizeLinear" if self.is_constant(input(n, 0)?) => {
                self.fold_quantize(n, &out)?;
                self.values.insert(out, Entry::Const);
            }
            "QuantizeLinear" | "DequantizeLinear"
                if matches!(self.values.get(input(n, 0)?), Some(Entry::Padded { .. })) =>
            {
                // a Q / DQ pair of the same quantization around a Pad moves integers
                let (scale, zp, qtype) = self.qparams(n)?;
                let Some(Entry::Padded { q, float, pads }) = self.values.get(input(n, 0)?).cloned()
                else {
                    unreachable!("matched above")
                };
                if float != (n.op_type == "QuantizeLinear") || (q.scale, q.zp, q.qtype) != (scale, zp, qtype) {
                    return Err(format!(
                        "a {} of a Pad's result must keep its quantization (scale {}, zero point {}, {})",
                        n.op_type, q.scale, q.zp, q.qtype
                    ));
                }
                self.values.insert(out, Entry::Padded { q, float: !float, pads });
            }
            "Pad" => {
                let pads = self.pad_node(n)?;
                let x = input(n, 0)?;
                let (q, float) = match self.values.get(x) {
                    Some(Entry::Q(q)) => (q.clone(), false),
                    Some(Entry::F(Float::Dq(q))) => (q.clone(), true),
                    Some(Entry::F(Float::Input(input, pre))) => {
                        if self.pad_value(n)? != 0.0 {
                            return Err("a Pad of the float input by another value than 0.0 is not supported".into());
                        }
                        let (input, pre) = (*input, pre.clone());
                        self.values.insert(out, Entry::PaddedInput { input, pre, pads });
                        return Ok(());
                    }
                    _ => return Err(format!("'{x}' is not a quantized tensor or its DequantizeLinear")),
                };
                if self.g.value_type(q.id).shape.len() != 4 {
                    return Err("only a Pad of an N x C x H x W map is supported".into());
                }
                // the padding value: 0.0 in float (the zero point once quantized), the zero
                // point itself on integers
                let value = self.pad_value(n)?;
                let want = if float { 0.0 } else { q.zp as f64 };
                if value != want {
                    return Err(format!(
                        "a Pad by {value}: nibble folds a Pad by the zero point into the Conv that reads it ({})",
                        if float { "0.0 before quantization".to_string() } else { format!("{} on these integers", q.zp) }
                    ));
                }
                self.values.insert(out, Entry::Padded { q, float, pads });
            }
            "QuantizeLinear" | "DequantizeLinear"
                if matches!(self.values.get(input(n, 0)?), Some(Entry::Grouped { .. })) =>
            {
                // a Q / DQ pair around a reshape or transpose of the same quantization moves
                // integers (ONNX Runtime drops it)
                let (scale, zp, qtype) = self.qparams(n)?;
                let Some(Entry::Grouped {
                    q,
                    float,
                    groups,
                    transposed,
                }) = self.values.get(input(n, 0)?).cloned()
                else {
                    unreachable!("matched above")
                };
                if float != (n.op_type == "QuantizeLinear") || (q.scale, q.zp, q.qtype) != (scale, zp, qtype)
                {
                    return Err(format!(
                        "a {} of a channel-group view must keep its quantization (scale {}, zero point {}, {})",
                        n.op_type, q.scale, q.zp, q.qtype
                    ));
                }
                self.values.insert(
                    out,
                    Entry::Grouped {
                        q,
                        float: !float,
                        groups,
                        transposed,
                    },
                );
            }
            "QuantizeLinear" if matches!(self.values.get(input(n, 0)?), Some(Entry::PaddedInput { .. })) => {
                // the input quantized, then padded by Q(0.0): the zero point
                let (scale, zp, qtype) = self.qparams(n)?;
                let Some(Entry::PaddedInput { input: x, pre, pads }) = self.values.get(input(n, 0)?).cloned()
                else {
                    unreachable!("matched above")
                };
                let q = self.quantize_float(input(n, 0)?, Float::Input(x, pre), scale, zp, qtype)?;
                self.values.insert(out, Entry::Padded { q, float: false, pads });
            }
            "QuantizeLinear" => {
                let (scale, mut zp, mut qtype) = self.qparams(n)?;
                let zp_inside = matches!(
                    self.values.get(input(n, 0)?),
                    Some(Entry::F(Float::AvgPool { .. } | Float::Softmax(_)))
                );
                if zp_inside && qtype == ElemType::I8 && self.runs_as_u8(n) {
                    // QLinearAveragePool adds the zero point before it rounds and QLinearSoftmax
                    // saturates int8 results past 255 only, so the uint8 zero point ONNX
                    // Runtime moves this pair to can give another value
                    (zp, qtype) = (zp + 128, ElemType::U8);
                    self.u8_pairs.insert(out.clone());
                }
                let q = self.quantize(n, scale, zp, qtype)?;
                self.values.insert(out, Entry::Q(q));
            }
            "DequantizeLinear" => {
                let x = input(n, 0)?;
                if self.is_constant(x) {
                    plain_quantization(n)?;
                    let axis = Attrs::new(n).int("axis")?.unwrap_or(1);
                    let zp = n.input.get(2).filter(|s| !s.is_empty()).cloned();
                    self.const_dq
                        .insert(out.clone(), (x.to_string(), input(n, 1)?.to_string(), zp, axis));
                    self.values.insert(out, Entry::Const);
                    return Ok(());
                }
                let (scale, mut zp, mut qtype) = self.qparams(n)?;
                if self.u8_pairs.contains(x) {
                    (zp, qtype) = (zp + 128, ElemType::U8);
                }
                let q = self.q(x)?.clone();
                // one type by the schema; an integer Clip may have narrowed the width (QCDQ)
                if q.qtype.is_signed() != qtype.is_signed() {
                    return Err(format!(
                        "dequantizes '{x}' ({}) with a zero point of type {qtype} (DequantizeLinear needs both of one type)",
                        q.qtype
                    ));
                }
                if q.scale != scale || q.zp != zp {
                    return Err(format!(
                        "dequantizes '{x}' with (scale {scale}, zero point {zp}), but it was quantized with ({}, {})",
                        q.scale, q.zp
                    ));
                }
                self.values.insert(out, Entry::F(Float::Dq(q)));
            }
            "Conv" => {
                let f = self.conv(n)?;
                self.values.insert(out, Entry::F(f));
            }
            "Gemm" | "MatMul" => {
                let f = self.gemm(n)?;
                self.values.insert(out, Entry::F(f));
            }
            "Add" | "Sub" | "Mul" | "Div" if self.float_const_operand(n).is_some() => {
                let ci = self.float_const_operand(n).expect("checked by the guard");
                let f = self.float_arith(n, ci)?;
                self.values.insert(out, Entry::F(f));
            }
            "Sub" | "Div" => {
                return Err(format!(
                    "{} of two activations is not supported (of a float constant and a quantized tensor, it is: one table of its values)",
                    n.op_type
                ));
            }
            "Add" => {
                let is_const = |i: usize| -> Result<bool, String> {
                    let x = input(n, i)?;
                    Ok(self.is_constant(x) || matches!(self.values.get(x), Some(Entry::Const)))
                };
                let (c0, c1) = (is_const(0)?, is_const(1)?);
                if c0 && c1 {
                    return Err("adds two constants".into());
                }
                if c0 || c1 {
                    let (ai, ci) = if c1 { (0, 1) } else { (1, 0) };
                    let a = self.dq(input(n, ai)?)?;
                    let shape = self.g.value_type(a.id).shape.clone();
                    let c = self.const_addend(input(n, ci)?, &shape, ci == 0)?;
                    self.values
                        .insert(out, Entry::F(Float::SumConst { a, c, lo: None, hi: None }));
                    return Ok(());
                }
                let a = self.dq(input(n, 0)?)?;
                let b = self.dq(input(n, 1)?)?;
                let ta = self.g.value_type(a.id).shape.clone();
                let tb = self.g.value_type(b.id).shape.clone();
                if ta != tb {
                    return Err(format!("adds shapes {ta:?} and {tb:?}; only equal shapes (no broadcasting) are supported"));
                }
                self.values
                    .insert(out, Entry::F(Float::Sum { a, b, lo: None, hi: None }));
            }
            "Clip" if self.integer_clip(n, &out)? => {}
            "Relu" | "Clip" => {
                let (lo, hi) = if n.op_type == "Relu" {
                    (Some(0.0), None)
                } else {
                    let bound = |i: usize| -> Result<Option<f32>, String> {
                        match n.input.get(i).filter(|s| !s.is_empty()) {
                            Some(s) => Ok(Some(self.float_scalar(s)?)),
                            None => Ok(None),
                        }
                    };
                    // opset < 11: the bounds are attributes
                    let a = Attrs::new(n);
                    match (a.float("min")?, a.float("max")?) {
                        (None, None) => (bound(1)?, bound(2)?),
                        (lo, hi) => (lo, hi),
                    }
                };
                let x = input(n, 0)?;
                let f = match self.values.get(x) {
                    Some(Entry::F(f)) => f.clone(),
                    _ => return Err(format!("'{x}' is not a float tensor of the quantized graph")),
                };
                let f = match f {
                    f @ (Float::Acc { .. }
                    | Float::Sum { .. }
                    | Float::SumConst { .. }
                    | Float::Pooled { .. }) => f.bounded(lo, hi).expect("a bounded float"),
                    Float::Dq(q) => {
                        // on integers: q >= zp + round(lo / s), q <= zp + round(hi / s)
                        let bound = |v: Option<f32>| v.map(|v| (v / q.scale).round_ties_even() as i64 + q.zp - q.offset);
                        let (qlo, qhi) = (bound(lo), bound(hi));
                        let ty = self.g.value_type(q.id).clone();
                        let (tl, th) = ty.elem.range();
                        let id = self.g.push(
                            Op::Clamp {
                                min: qlo.unwrap_or(tl).clamp(tl, th),
                                max: qhi.unwrap_or(th).clamp(tl, th),
                                layout: self.layout_of(q.id),
                            },
                            vec![q.id],
                            ty,
                        );
                        Float::Dq(QVal { id, ..q })
                    }
                    Float::Input(..) => return Err("a Relu / Clip on the float input is not supported".into()),
                    Float::Concat(_)
                    | Float::Unary(..)
                    | Float::AvgPool { .. }
                    | Float::Softmax(_) => {
                        return Err(format!(
                            "a Relu / Clip of '{x}' before its QuantizeLinear is not supported"
                        ))
                    }
                };
                self.values.insert(out, Entry::F(f));
            }
            "MaxPool" | "GlobalMaxPool" => {
                let a = Attrs::new(n);
                let hw = self
                    .onnx_dims(input(n, 0)?)
                    .filter(|d| d.len() == 4)
                    .map(|d| [d[2], d[3]]);
                let (kernel, strides, padding, ceil) = if n.op_type == "GlobalMaxPool" {
                    // the maximum over the whole map: a max pool of the map's size
                    check_known(&a, &[])?;
                    let hw = hw.ok_or("a GlobalMaxPool of a tensor that is not N x C x H x W")?;
                    (hw, [1, 1], [0; 4], false)
                } else {
                    check_known(&a, &["kernel_shape", "strides", "pads", "ceil_mode", "dilations", "storage_order", "auto_pad"])?;
                    window(&a, true, hw)?
                };
                if let Some(Entry::F(
                    f @ (Float::Acc { pool_count: None, .. }
                    | Float::Sum { .. }
                    | Float::SumConst { .. }
                    | Float::Pooled { .. }),
                )) = self.values.get(input(n, 0)?)
                {
                    // a max pool of an unquantized conv / add: after its QuantizeLinear
                    let inner = Box::new(f.clone());
                    self.values.insert(
                        out,
                        Entry::F(Float::Pooled { inner, kernel, strides, padding, ceil }),
                    );
                    return Ok(());
                }
                let (x, float) = self.moved(input(n, 0)?)?;
                let y = self.max_pool(&x, kernel, strides, padding, ceil)?;
                self.values.insert(out, wrap(QVal { id: y, ..x }, float));
            }
            "GlobalAveragePool" | "AveragePool" => {
                let q = self.dq(input(n, 0)?)?;
                let [_, _, h, w] = self.nchw(q.id);
                let (kernel, strides, _) = if n.op_type == "GlobalAveragePool" {
                    ([h, w], [1, 1], [0; 4])
                } else {
                    let a = Attrs::new(n);
                    check_known(
                        &a,
                        &["kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad", "dilations"],
                    )?;
                    if a.ints("dilations")?.is_some_and(|d| d.iter().any(|&v| v != 1)) {
                        return Err("dilated pooling is not supported".into());
                    }
                    let (k, s, p, ceil) = window(&a, false, Some([h, w]))?;
                    let p = if ceil { ceil_padding([h, w], k, s, p) } else { p };
                    window_output([h, w], k, s, p)?;
                    let global = k == [h, w] && p == [0; 4];
                    if q.qtype.bits() == 8 && !global {
                        // QLinearAveragePool, what ONNX Runtime fuses an 8-bit DQ -> AveragePool
                        // -> Q into: an f32 average, quantized by the QuantizeLinear that follows
                        // (over the whole map it runs QLinearGlobalAveragePool's integer sum)
                        let count_include_pad = a.int("count_include_pad")?.unwrap_or(0) != 0;
                        if !self.runs_quantized(n) {
                            self.notes.push(format!(
                                "{}: ONNX Runtime runs this AveragePool unfused, in float (on x86 it fuses QLinearAveragePool for uint8 or paired int8 inputs only); nibble computes QLinearAveragePool's arithmetic, which may differ by a step",
                                node_name(n)
                            ));
                        }
                        self.values.insert(
                            out,
                            Entry::F(Float::AvgPool {
                                x: q,
                                kernel: k,
                                strides: s,
                                padding: p,
                                count_include_pad,
                                flat: false,
                            }),
                        );
                        return Ok(());
                    }
                    if !global {
                        return Err(format!(
                            "an AveragePool of {} values smaller than its input is not supported (ONNX Runtime fuses it into QLinearAveragePool for 8-bit values only, and computes this one unfused in float)",
                            q.qtype
                        ));
                    }
                    (k, s, p)
                };
                let x = self.center(&q);
                let sum = self.pool_sum(&x, kernel, strides);
                self.values.insert(
                    out,
                    Entry::F(Float::Acc {
                        id: sum,
                        scale: vec![x.scale],
                        pool_count: Some(h * w),
                        lo: None,
                        hi: None,
                    }),
                );
            }
            "ReduceMean" => {
                // over the spatial axes of an 8-bit map (tf2onnx's global average pool): ONNX
                // Runtime runs it in float; taken as QLinearAveragePool's f32 average
                let a = Attrs::new(n);
                let axes = if self.opset >= 18 {
                    check_known(&a, &["keepdims", "noop_with_empty_axes"])?;
                    match n.input.get(1).filter(|x| !x.is_empty()) {
                        Some(x) => Some(self.constant(x)?.data.ints().unwrap_or_default()),
                        None => None,
                    }
                } else {
                    check_known(&a, &["keepdims", "axes"])?;
                    if n.input.get(1).is_some_and(|x| !x.is_empty()) {
                        return Err(format!(
                            "axes as an input need opset 18 (the model's is {}: an attribute)",
                            self.opset
                        ));
                    }
                    a.ints("axes")?
                };
                let q = self.dq(input(n, 0)?)?;
                let ty = self.g.value_type(q.id).clone();
                let written = axes.ok_or(
                    "a ReduceMean over every axis is not supported; nibble takes the mean over axes [2, 3]",
                )?;
                if ty.shape.len() != 4 || !spatial_axes(&written) || q.qtype.bits() != 8 {
                    return Err(format!(
                        "a ReduceMean over axes {written:?} of a {:?} {} value: only the mean over axes [2, 3] of an 8-bit N x C x H x W map is supported",
                        ty.shape, q.qtype
                    ));
                }
                let [_, _, h, w] = self.nchw(q.id);
                self.notes.push(format!(
                    "{}: ONNX Runtime computes ReduceMean in float; nibble computes QLinearAveragePool's f32 average (the taps summed in order, divided by H x W), which may differ by a step",
                    node_name(n)
                ));
                let flat = a.int("keepdims")?.unwrap_or(1) == 0;
                self.values.insert(
                    out,
                    Entry::F(Float::AvgPool {
                        x: q,
                        kernel: [h, w],
                        strides: [1, 1],
                        padding: [0; 4],
                        count_include_pad: false,
                        flat,
                    }),
                );
            }
            "Softmax" => {
                let q = self.dq(input(n, 0)?)?;
                let shape = self.g.value_type(q.id).shape.clone();
                let a = Attrs::new(n);
                check_known(&a, &["axis"])?;
                let axis = a.int("axis")?.unwrap_or(if self.opset < 13 { 1 } else { -1 });
                if shape.len() != 2 || !(axis == 1 || axis == -1) {
                    return Err(format!(
                        "a Softmax over axis {axis} of a {shape:?} tensor is not supported (nibble takes one over the classes of N x C logits)"
                    ));
                }
                if q.qtype.bits() != 8 {
                    return Err(format!(
                        "a Softmax of {} values is not supported (ONNX Runtime fuses it into QLinearSoftmax for 8-bit values only)",
                        q.qtype
                    ));
                }
                if !self.runs_quantized(n) {
                    return Err(
                        "a Softmax ONNX Runtime does not fuse into QLinearSoftmax is not supported (it runs it in float): the fused form is DequantizeLinear -> Softmax -> QuantizeLinear, the input read by the Softmax alone and, on x86, uint8 or an int8 QuantizeLinear -> DequantizeLinear pair, the output read by one QuantizeLinear"
                            .into(),
                    );
                }
                self.values.insert(out, Entry::F(Float::Softmax(q)));
            }
            "Mul" if (0..2).any(|i| n.input.get(i).is_some_and(|x| self.const_dq.contains_key(x.as_str()))) => {
                let f = self.mul_constant(n)?;
                self.values.insert(out, Entry::F(f));
            }
            "Mul" => {
                for i in 0..2 {
                    let x = input(n, i)?;
                    if self.is_constant(x) {
                        return Err(format!(
                            "a Mul by the float constant '{x}' is not supported (a quantized constant, the DequantizeLinear of one, is)"
                        ));
                    }
                }
                let (mut a, mut b) = (self.dq(input(n, 0)?)?, self.dq(input(n, 1)?)?);
                let (ta, tb) = (
                    self.g.value_type(a.id).shape.clone(),
                    self.g.value_type(b.id).shape.clone(),
                );
                // the broadcast operand (N x C x 1 x 1) second
                if ta.len() == 4 && ta[2..] == [1, 1] && tb.len() == 4 && tb[2..] != [1, 1] {
                    std::mem::swap(&mut a, &mut b);
                }
                let ta = self.g.value_type(a.id).shape.clone();
                let tb = self.g.value_type(b.id).shape.clone();
                let broadcast = ta.len() == 4 && tb == [ta[0], ta[1], 1, 1];
                if ta != tb && !broadcast {
                    return Err(format!(
                        "multiplies shapes {ta:?} and {tb:?}; equal shapes or N x C x 1 x 1 (a channel scale) are supported"
                    ));
                }
                // exact products of the centred values at scale f32(sa * sb), as QLinearMul
                let (ca, cb) = (self.center(&a), self.center(&b));
                let layout = self.layout_of(ca.id);
                let id = self.g.push(
                    Op::Mul { layout },
                    vec![ca.id, cb.id],
                    TensorType::new(ta, ElemType::I32),
                );
                self.values.insert(
                    out,
                    Entry::F(Float::acc(id, vec![a.scale * b.scale])),
                );
            }
            "BatchNormalization" => {
                let a = Attrs::new(n);
                check_known(&a, &["epsilon", "momentum", "training_mode", "spatial"])?;
                if a.int("spatial")?.is_some_and(|s| s != 1) {
                    return Err("spatial = 0 (statistics per element, opset < 9) is not supported".into());
                }
                if a.int("training_mode")?.is_some_and(|t| t != 0) {
                    return Err("training_mode = 1 is not supported".into());
                }
                if n.output.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err("the running mean / variance outputs are not supported".into());
                }
                let eps = a.float("epsilon")?.unwrap_or(1e-5);
                let q = self.dq(input(n, 0)?)?;
                let [_, ch, _, _] = self.nchw(q.id);
                let param = |i: usize| -> Result<Vec<f32>, String> {
                    let name = input(n, i)?;
                    // the schema: 1-D of C (ONNX Runtime refuses [C, 1, 1])
                    let dims = self.constant_dims(name)?;
                    if dims.len() != 1 {
                        return Err(format!("'{name}' has dims {dims:?}; BatchNormalization's parameters are 1-D"));
                    }
                    let v = self.float_constant(name)?;
                    if v.len() != ch as usize {
                        return Err(format!(
                            "{} values of '{}' for {ch} channels",
                            v.len(),
                            input(n, i)?
                        ));
                    }
                    Ok(v)
                };
                let (gamma, beta, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
                // as ONNX Runtime's kernel folds them, in f32: 1 / sqrt(var + eps) rounded, then
                // times gamma (gamma / sqrt(...) rounds once, and differs in the last bit)
                let scale: Vec<f32> = (0..ch as usize)
                    .map(|c| (1.0 / (var[c] + eps).sqrt()) * gamma[c])
                    .collect();
                let bias: Vec<f32> = (0..ch as usize)
                    .map(|c| beta[c] - mean[c] * scale[c])
                    .collect();
                if q.qtype.bits() > 8 {
                    return Err(format!("BatchNormalization of a {}-bit tensor", q.qtype.bits()));
                }
                self.values.insert(out, Entry::F(Float::Unary(q, Unary::Affine { scale, bias })));
            }
            "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" | "LeakyRelu" => {
                let a = Attrs::new(n);
                let f = match n.op_type.as_str() {
                    "Sigmoid" => {
                        check_known(&a, &[])?;
                        Unary::Sigmoid
                    }
                    "Tanh" => {
                        check_known(&a, &[])?;
                        Unary::Tanh
                    }
                    "HardSigmoid" => {
                        check_known(&a, &["alpha", "beta"])?;
                        Unary::HardSigmoid {
                            alpha: a.float("alpha")?.unwrap_or(0.2),
                            beta: a.float("beta")?.unwrap_or(0.5),
                        }
                    }
                    "HardSwish" => {
                        check_known(&a, &[])?;
                        Unary::HardSwish
                    }
                    _ => {
                        check_known(&a, &["alpha"])?;
                        Unary::LeakyRelu {
                            alpha: a.float("alpha")?.unwrap_or(0.01),
                        }
                    }
                };
                let q = self.dq(input(n, 0)?)?;
                if q.qtype.bits() > 8 {
                    return Err(format!("{} of a {}-bit tensor", n.op_type, q.qtype.bits()));
                }
                self.values.insert(out, Entry::F(Float::Unary(q, f)));
            }
            "Shape" | "Gather" | "Unsqueeze" | "Concat"
                if n.op_type == "Shape" || n.input.iter().all(|i| i.is_empty() || self.is_constant(i)) =>
            {
                // shape arithmetic (torch's `x.view(x.size(0), -1)`: Shape -> Gather ->
                // Unsqueeze -> Concat -> Reshape), folded as ONNX Runtime folds it
                let t = self.fold_shape_op(n)?;
                self.folded.insert(out.clone(), t);
                self.values.insert(out, Entry::Const);
            }
            "Concat" => {
                let a = Attrs::new(n);
                check_known(&a, &["axis"])?;
                let axis = a.int("axis")?.ok_or("Concat needs its axis")?;
                if axis != 1 && axis != -3 {
                    return Err(format!(
                        "a Concat along axis {axis} is not supported (channels, axis 1, are)"
                    ));
                }
                let mut parts = vec![];
                for (i, x) in n.input.iter().enumerate() {
                    match self.values.get(x.as_str()) {
                        Some(Entry::F(Float::Dq(q))) => parts.push(q.clone()),
                        Some(Entry::F(Float::Concat(qs))) => parts.extend(qs.iter().cloned()),
                        _ => {
                            return Err(format!(
                                "input {i} '{x}' is not the DequantizeLinear of a quantized tensor"
                            ))
                        }
                    }
                }
                if let Some(q) = parts.iter().find(|q| self.g.value_type(q.id).shape.len() != 4) {
                    return Err(format!(
                        "concatenates a tensor of shape {:?}; nibble concatenates the channels of N x C x H x W maps",
                        self.g.value_type(q.id).shape
                    ));
                }
                let [b, _, h, w] = self.nchw(parts[0].id);
                for q in &parts {
                    let [qb, _, qh, qw] = self.nchw(q.id);
                    if (qb, qh, qw) != (b, h, w) {
                        return Err("concatenates tensors of different batch, height or width".into());
                    }
                }
                self.values.insert(out, Entry::F(Float::Concat(parts)));
            }
            "Reshape" if self.reshapes_groups(n)? => {}
            "Transpose" if self.is_constant(input(n, 0)?) => {
                // of a weight (MatMul(x, Transpose(W))): folded, as ONNX Runtime folds it
                let t = self.fold_transpose(n)?;
                self.folded.insert(out.clone(), t);
                self.values.insert(out, Entry::Const);
            }
            "Transpose" if self.input_nhwc.as_deref() == Some(out.as_str()) => {
                // the input's NHWC -> NCHW transpose: the qnn input is the NHWC image itself
                // (with the float steps before it, if any)
                check_known(&Attrs::new(n), &["perm"])?;
                if let Some(e) = self.values.get(input(n, 0)?).cloned() {
                    self.values.insert(out, e);
                }
            }
            "Transpose"
                if self.graph.input.first().is_some_and(|i| i.name == input(n, 0).unwrap_or_default()) =>
            {
                return Err(
                    "a Transpose of the graph input: nibble takes an NHWC image transposed to NCHW (perm [0, 3, 1, 2]) when that Transpose is the input's only reader"
                        .into(),
                );
            }
            "Transpose" => {
                let Some(Entry::Grouped {
                    q,
                    float,
                    groups,
                    transposed: false,
                }) = self.values.get(input(n, 0)?).cloned()
                else {
                    return Err(
                        "only the transpose of a channel shuffle ([N, g, C / g, H, W] -> [N, C / g, g, H, W]) is supported"
                            .into(),
                    );
                };
                let a = Attrs::new(n);
                check_known(&a, &["perm"])?;
                if a.ints("perm")?.as_deref() != Some(&[0, 2, 1, 3, 4][..]) {
                    return Err("a channel shuffle's transpose has perm [0, 2, 1, 3, 4]".into());
                }
                self.values.insert(
                    out,
                    Entry::Grouped {
                        q,
                        float,
                        groups,
                        transposed: true,
                    },
                );
            }
            "Split" => {
                let (x, float) = self.moved(input(n, 0)?)?;
                let [_, c, _, _] = self.nchw(x.id);
                if self.g.value_type(x.id).shape.len() != 4 {
                    return Err("only a Split of N x C x H x W along its channels is supported".into());
                }
                let a = Attrs::new(n);
                // the sizes: an attribute before opset 13, an input since; from 18 an input or
                // `num_outputs`, exactly one
                let known: &[&str] = match self.opset {
                    ..=12 => &["axis", "split"],
                    13..=17 => &["axis"],
                    _ => &["axis", "num_outputs"],
                };
                check_known(&a, known)?;
                let sizes_input = n.input.get(1).filter(|s| !s.is_empty());
                if self.opset < 13 && sizes_input.is_some() {
                    return Err(format!(
                        "the split sizes are an attribute at opset {} (an input from 13)",
                        self.opset
                    ));
                }
                if self.opset >= 18 {
                    let num = a.int("num_outputs")?;
                    match (sizes_input, num) {
                        (Some(_), Some(_)) => {
                            return Err("takes the 'split' input or num_outputs, not both".into())
                        }
                        (None, None) => {
                            return Err("needs the 'split' input or num_outputs".into())
                        }
                        (None, Some(k)) if k != n.output.len() as i64 => {
                            return Err(format!(
                                "num_outputs is {k} but the node has {} outputs",
                                n.output.len()
                            ))
                        }
                        _ => {}
                    }
                }
                if let Some(s) = sizes_input {
                    let t = self.constant(s)?;
                    if t.data_type != dt::INT64 {
                        return Err(format!(
                            "the split sizes '{s}' are {}; Split takes int64",
                            dt::name(t.data_type)
                        ));
                    }
                }
                let axis = a.int("axis")?.unwrap_or(0);
                if axis != 1 && axis != -3 {
                    return Err(format!(
                        "a Split along axis {axis} is not supported (nibble splits channels, axis 1)"
                    ));
                }
                let k = n.output.len() as i64;
                let sizes: Vec<i64> = match (n.input.get(1).filter(|s| !s.is_empty()), a.ints("split")?) {
                    (Some(s), _) => self.constant(s)?.data.ints().unwrap_or_default(),
                    (None, Some(s)) => s,
                    // equal parts, the last one smaller where C does not divide (opset 18)
                    (None, None) => {
                        let part = (c + k - 1) / k;
                        (0..k).map(|i| part.min(c - i * part).max(0)).collect()
                    }
                };
                if sizes.len() as i64 != k
                    || sizes.iter().any(|&s| s < 1)
                    || sizes.iter().sum::<i64>() != c
                {
                    return Err(format!(
                        "split sizes {sizes:?} for {k} outputs of {c} channels"
                    ));
                }
                let mut start = 0;
                for (o, &size) in n.output.iter().zip(&sizes) {
                    let indices: Vec<i32> = (start..start + size).map(|i| i as i32).collect();
                    start += size;
                    if o.is_empty() {
                        continue;
                    }
                    let id = self.gather_channels(x.id, indices);
                    self.values.insert(o.clone(), wrap(QVal { id, ..x.clone() }, float));
                }
            }
            "Flatten" | "Reshape" => {
                // the flatten of a pool over the whole map before its QuantizeLinear
                if let Some(f) = self.flat_pool(n)? {
                    self.values.insert(out, Entry::F(f));
                    return Ok(());
                }
                let (x, float) = self.moved(input(n, 0)?)?;
                let [b, c, h, w] = self.nchw(x.id);
                let ok = if n.op_type == "Flatten" {
                    Attrs::new(n).int("axis")?.unwrap_or(1) == 1
                } else {
                    let s = self.reshape_target(n)?;
                    let batch = s.first().is_some_and(|&v| {
                        v == b || v == -1 || v == 0 || Some(v) == self.model_batch
                    });
                    s.len() == 2 && batch && (s[1] == c || s[1] == -1)
                };
                let flat_ok = if n.op_type == "Flatten" {
                    ok
                } else {
                    // Reshape to [N, C H W] (0 / -1 keep / infer)
                    let s = self.reshape_target(n)?;
                    s.len() == 2
                        && (s[0] == b || s[0] == -1 || s[0] == 0 || Some(s[0]) == self.model_batch)
                        && (s[1] == c * h * w || (s[1] == -1 && s[0] != -1))
                };
                if flat_ok && (h, w) != (1, 1) && self.g.value_type(x.id).shape.len() == 4 {
                    // read by the Gemm / MatMul as a conv over the whole map (Importer doc)
                    self.spatial_flat.insert(x.id);
                    self.values.insert(out, wrap(x, float));
                    return Ok(());
                }
                if !ok || h != 1 || w != 1 || self.g.value_type(x.id).shape.len() != 4 {
                    return Err("only a flatten of N x C x H x W to N x (C H W) is supported".into());
                }
                let ty = TensorType::new(vec![b, c], self.g.value_type(x.id).elem);
                let id = self.g.push(Op::Flatten { layout: Layout::NCHW }, vec![x.id], ty);
                self.values.insert(out, wrap(QVal { id, ..x }, float));
            }
            "Squeeze" => {
                // of the 1 x 1 map a global pool leaves: N x C x 1 x 1 -> N x C, a flatten;
                // of a float mean over the whole map before its QuantizeLinear, that mean flat
                if let Some(f) = self.flat_pool(n)? {
                    self.values.insert(out, Entry::F(f));
                    return Ok(());
                }
                let written = self.squeeze_axes(n)?;
                let (x, float) = self.moved(input(n, 0)?)?;
                let ty = self.g.value_type(x.id).clone();
                let [b, c, h, w] = if ty.shape.len() == 4 { self.nchw(x.id) } else { [0; 4] };
                if ty.shape.len() != 4 || !spatial_axes(&written) || (h, w) != (1, 1) {
                    return Err(format!(
                        "a Squeeze of axes {written:?} of a {:?} value: only the squeeze of axes [2, 3] of an N x C x 1 x 1 map is supported",
                        ty.shape
                    ));
                }
                let ty = TensorType::new(vec![b, c], ty.elem);
                let id = self.g.push(Op::Flatten { layout: Layout::NCHW }, vec![x.id], ty);
                self.values.insert(out, wrap(QVal { id, ..x }, float));
            }
            "Dropout" => {
                // inference: the identity; its mask output and training mode are refused
                let a = Attrs::new(n);
                let known: &[&str] = match self.opset {
                    ..=6 => &["ratio", "is_test", "consumed_inputs"],
                    7..=11 => &["ratio"],
                    _ => &["seed"],
                };
                check_known(&a, known)?;
                if n.output.get(1).is_some_and(|m| !m.is_empty()) {
                    return Err("a Dropout whose mask output is named is not supported".into());
                }
                if let Some(t) = n.input.get(2).filter(|t| !t.is_empty()) {
                    let v = self.constant(t)?;
                    if v.data_type != dt::BOOL || v.data.ints().unwrap_or_default().iter().any(|&b| b != 0) {
                        return Err(format!("training_mode '{t}' must be a constant false"));
                    }
                }
                self.alias(input(n, 0)?, out)?;
            }
            "Identity" => self.alias(input(n, 0)?, out)?,
            other => {
                return Err(format!(
                    "op type {other} is not supported (nibble imports QDQ CNNs: Conv, Gemm, MatMul, Add, Mul, Sub and Div of a float constant, Relu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, BatchNormalization, MaxPool, GlobalMaxPool, AveragePool, GlobalAveragePool, Concat, Split, Softmax, ReduceMean, a Pad before a Conv, Flatten, Reshape, Squeeze, Identity, Dropout, and a Transpose of a channel shuffle)"
                ))
            }
        }
        Ok(())
    }

    /// The target shape of Reshape `n`: an int64 constant, with the attributes its opset
    /// defines (`allowzero` from 14; a 0 under `allowzero = 1` is a zero-sized dimension,
    /// which nibble does not take).
    fn reshape_target(&self, n: &NodeProto) -> Result<Vec<i64>, String> {
        let a = Attrs::new(n);
        check_known(
            &a,
            if self.opset >= 14 {
                &["allowzero"]
            } else {
                &[]
            },
        )?;
        let t = self.constant(input(n, 1)?)?;
        if t.data_type != dt::INT64 {
            return Err(format!(
                "the shape '{}' is {}; Reshape takes int64",
                input(n, 1)?,
                dt::name(t.data_type)
            ));
        }
        let s = t.data.ints().unwrap_or_default();
        if a.int("allowzero")?.unwrap_or(0) != 0 && s.contains(&0) {
            return Err(format!(
                "a Reshape to {s:?} with allowzero = 1 makes a dimension of size 0"
            ));
        }
        Ok(s)
    }

    /// A Reshape of a channel shuffle (`Entry::Grouped`): N x C x H x W -> [N, g, C / g, H, W]
    /// makes the grouped view, its transpose's Reshape back to N x C x H x W the
    /// `qnn.gather_channels` of the shuffle (output channel `i * g + j` is input channel
    /// `j * C / g + i`). Whether `n` was one (false: a Reshape of another kind).
    fn reshapes_groups(&mut self, n: &NodeProto) -> Result<bool, String> {
        let x = input(n, 0)?;
        let out = n.output.first().cloned().unwrap_or_default();
        let target = |me: &Self| me.reshape_target(n);
        match self.values.get(x).cloned() {
            Some(Entry::Grouped {
                q,
                float,
                groups,
                transposed,
            }) => {
                let [b, c, h, w] = self.nchw(q.id);
                let s = target(self)?;
                let declared = self.model_batch;
                let keeps = |i: usize, v: i64| {
                    s[i] == v || (s[i] == 0 && i < 2) || (i == 0 && Some(s[0]) == declared)
                };
                if !transposed
                    || s.len() != 4
                    || !(keeps(0, b) && (s[1] == c || s[1] == -1) && s[2] == h && s[3] == w)
                {
                    return Err(format!(
                        "a channel-group view reshaped to {s:?}: only the transposed view back to [{b}, {c}, {h}, {w}] (a channel shuffle) is supported"
                    ));
                }
                let per = c / groups;
                let indices: Vec<i32> = (0..c)
                    .map(|o| ((o % groups) * per + o / groups) as i32)
                    .collect();
                let id = self.gather_channels(q.id, indices);
                self.values.insert(out, wrap(QVal { id, ..q }, float));
                Ok(true)
            }
            Some(Entry::Q(_) | Entry::F(Float::Dq(_))) => {
                let s = target(self)?;
                if s.len() != 5 {
                    return Ok(false);
                }
                let (q, float) = self.moved(x)?;
                if self.g.value_type(q.id).shape.len() != 4 {
                    return Ok(false);
                }
                let [b, c, h, w] = self.nchw(q.id);
                let g = s[1];
                let ok = (s[0] == b || s[0] == 0 || Some(s[0]) == self.model_batch)
                    && g >= 1
                    && c % g == 0
                    && (s[2] == c / g || s[2] == -1)
                    && s[3] == h
                    && s[4] == w;
                if !ok {
                    return Err(format!(
                        "a Reshape of [{b}, {c}, {h}, {w}] to {s:?}: only [N, g, C / g, H, W] (a channel shuffle) is supported"
                    ));
                }
                self.values.insert(
                    out,
                    Entry::Grouped {
                        q,
                        float,
                        groups: g,
                        transposed: false,
                    },
                );
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn q(&self, name: &str) -> Result<&QVal, String> {
        match self.values.get(name) {
            Some(Entry::Q(q)) => Ok(q),
            Some(_) => Err(format!(
                "'{name}' is not quantized (expected the output of a QuantizeLinear)"
            )),
            None => Err(format!("'{name}' is not produced by a supported node")),
        }
    }

    /// The input of an op that moves integers (MaxPool, Flatten): a quantized tensor or the
    /// DequantizeLinear of one (whether it was float, so the output is too).
    fn moved(&self, name: &str) -> Result<(QVal, bool), String> {
        match self.values.get(name) {
            Some(Entry::Q(q)) => Ok((q.clone(), false)),
            Some(Entry::F(Float::Dq(q))) => Ok((q.clone(), true)),
            Some(Entry::F(_)) => Err(unquantized(name)),
            Some(_) => Err(format!(
                "'{name}' is not a quantized tensor or its DequantizeLinear"
            )),
            None => Err(format!("'{name}' is not produced by a supported node")),
        }
    }

    fn dq(&self, name: &str) -> Result<QVal, String> {
        match self.values.get(name) {
            Some(Entry::F(Float::Dq(q))) => Ok(q.clone()),
            Some(Entry::F(_)) => Err(unquantized(name)),
            Some(Entry::Padded { .. }) => Err(format!(
                "'{name}' is a Pad's result; nibble folds a Pad into the Conv that reads it"
            )),
            Some(_) => Err(format!(
                "'{name}' is not the DequantizeLinear of a quantized tensor"
            )),
            None => Err(format!("'{name}' is not produced by a supported node")),
        }
    }

    /// The importer builds NCHW activations and NC matrices only: the rank says which.
    fn layout_of(&self, id: ValueId) -> Layout {
        if id == 0 && self.input_nhwc.is_some() {
            Layout::NHWC
        } else if self.g.value_type(id).shape.len() == 2 {
            Layout::NC
        } else {
            Layout::NCHW
        }
    }
    fn nchw(&self, id: ValueId) -> [i64; 4] {
        self.layout_of(id).nchw(&self.g.value_type(id).shape)
    }

    /// A Squeeze node's axes (an input from opset 13, an attribute before); a Squeeze without
    /// them (of every size-1 dimension, the batch too when it is 1) is refused.
    fn squeeze_axes(&self, n: &NodeProto) -> Result<Vec<i64>, String> {
        let axes = if self.opset >= 13 {
            check_known(&Attrs::new(n), &[])?;
            match n.input.get(1).filter(|a| !a.is_empty()) {
                Some(a) => {
                    let t = self.constant(a)?;
                    if t.data_type != dt::INT64 {
                        return Err(format!(
                            "the axes '{a}' are {}; Squeeze takes int64",
                            dt::name(t.data_type)
                        ));
                    }
                    Some(t.data.ints().unwrap_or_default())
                }
                None => None,
            }
        } else {
            let a = Attrs::new(n);
            check_known(&a, &["axes"])?;
            a.ints("axes")?
        };
        axes.ok_or_else(|| {
            "a Squeeze without axes (of every size-1 dimension, the batch too when it is 1) is not supported; name the axes [2, 3]".into()
        })
    }

    /// Flatten / Reshape / Squeeze `n` of an average pool over the whole map not yet quantized,
    /// to N x C (Flatten of axis 1, a Reshape to [N, C] with 0 / -1 / the declared batch, a
    /// Squeeze of axes [2, 3]): that pool, flattened.
    fn flat_pool(&self, n: &NodeProto) -> Result<Option<Float>, String> {
        let Some(Entry::F(
            f @ Float::AvgPool {
                x,
                kernel,
                padding: [0, 0, 0, 0],
                flat: false,
                ..
            },
        )) = self.values.get(input(n, 0)?)
        else {
            return Ok(None);
        };
        let [b, c, h, w] = self.nchw(x.id);
        if *kernel != [h, w] {
            return Ok(None);
        }
        let to_nc = if n.op_type == "Flatten" {
            Attrs::new(n).int("axis")?.unwrap_or(1) == 1
        } else if n.op_type == "Squeeze" {
            spatial_axes(&self.squeeze_axes(n)?)
        } else {
            let s = self.reshape_target(n)?;
            s.len() == 2
                && (s[0] == b
                    || s[0] == 0
                    || Some(s[0]) == self.model_batch
                    || (s[0] == -1 && s[1] == c))
                && (s[1] == c || (s[1] == -1 && s[0] != -1))
        };
        let mut f = f.clone();
        if let Float::AvgPool { flat, .. } = &mut f {
            *flat = true;
        }
        Ok(to_nc.then_some(f))
    }

    /// A Pad node's padding value: its `constant_value` input (from opset 11) or `value`
    /// attribute, 0 when absent.
    fn pad_value(&self, n: &NodeProto) -> Result<f64, String> {
        let Some(v) = n.input.get(2).filter(|v| !v.is_empty()) else {
            return Ok(Attrs::new(n).float("value")?.map_or(0.0, |v| v as f64));
        };
        let t = self.constant(v)?;
        let vals: Vec<f64> = match t.data.floats() {
            Some(f) => f.iter().map(|&x| x as f64).collect(),
            None => t
                .data
                .ints()
                .unwrap_or_default()
                .iter()
                .map(|&x| x as f64)
                .collect(),
        };
        match vals.as_slice() {
            [x] => Ok(*x),
            _ => Err(format!("constant_value '{v}' is not one value")),
        }
    }

    /// A Pad node's spatial padding [top, left, bottom, right]: constant mode, four-dim pads
    /// (an attribute before opset 11, then an int64 input, `axes` from 18) that leave N and C
    /// alone and crop nothing.
    fn pad_node(&self, n: &NodeProto) -> Result<[i64; 4], String> {
        let a = Attrs::new(n);
        let (p, axes) = if self.opset >= 11 {
            check_known(&a, &["mode"])?;
            let t = self.constant(input(n, 1)?)?;
            if t.data_type != dt::INT64 {
                return Err(format!(
                    "the pads are {}; Pad takes int64",
                    dt::name(t.data_type)
                ));
            }
            let axes = match n.input.get(3).filter(|x| !x.is_empty()) {
                Some(x) => Some(self.constant(x)?.data.ints().unwrap_or_default()),
                None => None,
            };
            (t.data.ints().unwrap_or_default(), axes)
        } else {
            check_known(&a, &["mode", "pads", "value"])?;
            (a.ints("pads")?.ok_or("pads are missing")?, None)
        };
        if a.string("mode")?.is_some_and(|m| m != "constant") {
            return Err("only a constant-mode Pad is supported".into());
        }
        // the pads of dims 0..4, begins then ends
        let axes: Vec<i64> = match axes {
            Some(ax) => ax.iter().map(|&v| if v < 0 { v + 4 } else { v }).collect(),
            None => (0..4).collect(),
        };
        if p.len() != 2 * axes.len() || axes.iter().any(|a| !(0..4).contains(a)) {
            return Err(format!("pads {p:?} for axes {axes:?} of a rank-4 value"));
        }
        let mut full = [0i64; 8];
        for (i, &ax) in axes.iter().enumerate() {
            full[ax as usize] = p[i];
            full[ax as usize + 4] = p[i + axes.len()];
        }
        if full.iter().any(|&v| !(0..=1 << 16).contains(&v))
            || full[0] + full[1] + full[4] + full[5] != 0
        {
            return Err(format!(
                "pads {full:?}: nibble folds a Pad of the spatial axes (in [0, 65536]) into a Conv"
            ));
        }
        Ok([full[2], full[3], full[6], full[7]])
    }

    /// `out` is `x` (an Identity, a Dropout of inference): the same entry, and for a constant
    /// the same tensor (an Identity of an initializer is one already: `Importer::new`).
    fn alias(&mut self, x: &str, out: String) -> Result<(), String> {
        if self.is_constant(x) {
            if !self.is_constant(&out) {
                let t = self.constant(x)?;
                self.folded.insert(out.clone(), t);
            }
            self.values.insert(out, Entry::Const);
            return Ok(());
        }
        let e = self
            .values
            .get(x)
            .cloned()
            .ok_or_else(|| format!("'{x}' is unknown"))?;
        self.values.insert(out, e);
        Ok(())
    }

    /// `qnn.gather_channels` of NCHW map `x`: result channel j is channel `indices[j]`.
    fn gather_channels(&mut self, x: ValueId, indices: Vec<i32>) -> ValueId {
        let [b, _, h, w] = self.nchw(x);
        let ty = TensorType::new(
            vec![b, indices.len() as i64, h, w],
            self.g.value_type(x).elem,
        );
        let layout = Layout::NCHW;
        self.g
            .push(Op::GatherChannels { indices, layout }, vec![x], ty)
    }

    /// A qnn weight from integers (name derived from the ONNX name, unique).
    fn weight(&mut self, onnx_name: &str, ty: TensorType, v: Vec<i32>) -> ValueId {
        let mut base: String = onnx_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() {
            base = "w".into();
        }
        // unique among every name given so far (`w_x.2` may be another tensor's own name)
        let mut name = base.clone();
        let mut k = 1;
        while self.used_names.contains_key(&name) {
            k += 1;
            name = format!("{base}.{k}");
        }
        self.used_names.insert(name.clone(), 1);
        self.weights
            .insert(name.clone(), Tensor::int(ty.clone(), v));
        self.g.push(Op::Weight { name }, vec![], ty)
    }

    /// `x + zero_point` clamped to `clamp`, as `elem`: an exact requantize (unit scale).
    fn unit_requantize(
        &mut self,
        x: ValueId,
        zero_point: i64,
        clamp: [i64; 2],
        elem: ElemType,
    ) -> ValueId {
        let ty = TensorType::new(self.g.value_type(x).shape.clone(), elem);
        let layout = self.layout_of(x);
        self.g.push(
            Op::Requantize {
                offset: vec![],
                scales: ChannelScales::per_tensor(Dyadic {
                    multiplier: 1,
                    shift: 0,
                }),
                rounding: Rounding::HalfToEven,
                zero_point,
                clamp,
                layout,
            },
            vec![x],
            ty,
        )
    }

    /// `q` stored in at most `bits` bits: as it is where it fits, else re-centred to the offset
    /// that keeps its values narrowest ([`best_offset`]).
    fn narrowed(&mut self, q: QVal, bits: u32) -> QVal {
        if self.g.value_type(q.id).elem.bits() > bits {
            self.shift_offset(&q, best_offset(q.qtype, q.zp))
        } else {
            q
        }
    }

    /// `q - from` re-centred to `q - to` with an exact requantize (unit scale).
    fn shift_offset(&mut self, x: &QVal, to: i64) -> QVal {
        if x.offset == to {
            return x.clone();
        }
        let elem = stored_type(x.qtype, to);
        let (lo, hi) = x.qtype.range();
        let id = self.unit_requantize(x.id, x.offset - to, [lo - to, hi - to], elem);
        QVal {
            id,
            offset: to,
            ..x.clone()
        }
    }

    /// The value as `q - zp` (exact real-zero arithmetic), re-centred if needed.
    /// `qnn.requantize` of `id` in ONNX Runtime's f32 rounding to the quantized type `(scale,
    /// zp, qtype)` clamped to `[lo, hi]`, stored at the offset that keeps it narrowest.
    fn requantize_f32(
        &mut self,
        id: ValueId,
        scales: ChannelScales,
        (scale, zp, qtype): (f32, i64, ElemType),
        [lo, hi]: [i64; 2],
    ) -> QVal {
        let offset = best_offset(qtype, zp);
        let ty = self.g.value_type(id).clone();
        let layout = self.layout_of(id);
        let y = self.g.push(
            Op::Requantize {
                offset: vec![],
                scales,
                rounding: Rounding::F32HalfToEven,
                zero_point: zp - offset,
                clamp: [lo - offset, hi - offset],
                layout,
            },
            vec![id],
            TensorType::new(ty.shape, stored_type(qtype, offset)),
        );
        QVal {
            id: y,
            scale,
            zp,
            qtype,
            offset,
        }
    }

    fn center(&mut self, x: &QVal) -> QVal {
        self.shift_offset(x, x.zp)
    }

    fn dequantize(&mut self, q: &QVal) -> ValueId {
        let q = self.center(q);
        let ty = self.g.value_type(q.id).clone();
        let layout = self.layout_of(q.id);
        self.g.push(
            Op::Dequantize {
                scales: vec![q.scale],
                layout,
            },
            vec![q.id],
            TensorType::new(ty.shape, ElemType::F32),
        )
    }

    fn max_pool(
        &mut self,
        x: &QVal,
        k: [i64; 2],
        s: [i64; 2],
        p: [i64; 4],
        ceil: bool,
    ) -> Result<ValueId, String> {
        let [n, c, h, w] = self.nchw(x.id);
        let p = if ceil {
            ceil_padding([h, w], k, s, p)
        } else {
            p
        };
        let [oh, ow] = window_output([h, w], k, s, p)?;
        let ty = TensorType::new(vec![n, c, oh, ow], self.g.value_type(x.id).elem);
        let op = Op::MaxPool2d {
            kernel: k,
            strides: s,
            padding: p,
            layout: Layout::NCHW,
        };
        Ok(self.g.push(op, vec![x.id], ty))
    }

    fn pool_sum(&mut self, x: &QVal, kernel: [i64; 2], strides: [i64; 2]) -> ValueId {
        let [n, c, _, _] = self.nchw(x.id);
        let ty = TensorType::new(vec![n, c, 1, 1], ElemType::I32);
        self.g.push(
            Op::AvgPool2d {
                kernel,
                strides,
                padding: [0; 4],
                layout: Layout::NCHW,
                divisor: Some(1),
            },
            vec![x.id],
            ty,
        )
    }

    /// QuantizeLinear of a float tensor: where integer ops are emitted.
    fn quantize(
        &mut self,
        n: &NodeProto,
        scale: f32,
        zp: i64,
        qtype: ElemType,
    ) -> Result<QVal, String> {
        let x = input(n, 0)?;
        let f = match self.values.get(x) {
            Some(Entry::F(f)) => f.clone(),
            Some(_) => return Err(format!("'{x}' is not a float tensor")),
            None => return Err(format!("'{x}' is not produced by a supported node")),
        };
        self.quantize_float(x, f, scale, zp, qtype)
    }

    /// The QuantizeLinear `(scale, zp, qtype)` of float expression `f` (ONNX tensor `x`).
    fn quantize_float(
        &mut self,
        x: &str,
        f: Float,
        scale: f32,
        zp: i64,
        qtype: ElemType,
    ) -> Result<QVal, String> {
        let (qlo, qhi) = qtype.range();
        if !(qlo..=qhi).contains(&zp) {
            return Err(format!("zero point {zp} is outside the range of {qtype}"));
        }
        match f {
            Float::Pooled {
                inner,
                kernel,
                strides,
                padding,
                ceil,
            } => {
                let q = self.quantize_float(x, *inner, scale, zp, qtype)?;
                let y = self.max_pool(&q, kernel, strides, padding, ceil)?;
                Ok(QVal { id: y, ..q })
            }
            Float::Input(id, pre) => {
                let shape = self.g.value_type(id).shape.clone();
                let layout = self.layout_of(id);
                let mut q = self.g.push(
                    Op::Quantize {
                        scale,
                        layout,
                        zero_point: zp,
                        mode: QuantizeMode::Divide,
                        pre,
                    },
                    vec![id],
                    TensorType::new(shape, qtype),
                );
                if layout == Layout::NHWC {
                    // the rest of the graph reads NCHW (the e-graph chooses the layouts)
                    let [b, c, h, w] = self.nchw(id);
                    q = self.g.push(
                        Op::LayoutTransform {
                            src: Layout::NHWC,
                            dst: Layout::NCHW,
                        },
                        vec![q],
                        TensorType::new(vec![b, c, h, w], qtype),
                    );
                }
                Ok(QVal {
                    id: q,
                    scale,
                    zp,
                    qtype,
                    offset: 0,
                })
            }
            Float::Unary(q, f) => {
                // one table entry per stored input value: Q(f(DQ(q))) as ONNX Runtime computes
                // it in f32, stored at the offset that keeps the result narrowest
                let q = self.narrowed(q, 8);
                let offset = best_offset(qtype, zp);
                let elem = stored_type(qtype, offset);
                let ie = self.g.value_type(q.id).elem;
                let (ilo, ihi) = ie.range();
                let (qlo_in, qhi_in) = q.qtype.range();
                // one table, or one a channel, one after another
                let table: Vec<i32> = (0..f.channels().unwrap_or(1))
                    .flat_map(|c| (ilo..=ihi).map(move |s| (c, s)))
                    .map(|(c, s)| {
                        let v = (s + q.offset).clamp(qlo_in, qhi_in);
                        let x = nibble_qnn::semantics::dequantize_f32(v - q.zp, q.scale);
                        let y = f.apply(x, c);
                        let y = quantize_f32(y, scale, zp, QuantizeMode::Divide, qlo, qhi);
                        (y - offset) as i32
                    })
                    .collect();
                let ty = TensorType::new(self.g.value_type(q.id).shape.clone(), elem);
                let layout = self.layout_of(q.id);
                let id = self.g.push(Op::Lookup { table, layout }, vec![q.id], ty);
                Ok(QVal {
                    id,
                    scale,
                    zp,
                    qtype,
                    offset,
                })
            }
            Float::AvgPool {
                x: q,
                kernel,
                strides,
                padding,
                count_include_pad,
                flat,
            } => {
                if qtype.bits() != 8 {
                    return Err(format!(
                        "the AveragePool before '{x}' is quantized to {qtype}; ONNX Runtime fuses it into QLinearAveragePool for 8-bit outputs only"
                    ));
                }
                let q = self.narrowed(q, 16);
                // stored as the ONNX integers themselves: the zero point is added before the
                // rounding, so shifting it (an offset) would move ties
                let [nn, c, h, w] = self.nchw(q.id);
                let [oh, ow] = window_output([h, w], kernel, strides, padding)?;
                let id = self.g.push(
                    Op::AvgPool2dF32 {
                        kernel,
                        strides,
                        padding,
                        layout: Layout::NCHW,
                        input_scale: q.scale,
                        input_zero_point: q.zp - q.offset,
                        output_scale: scale,
                        output_zero_point: zp,
                        count_include_pad,
                    },
                    vec![q.id],
                    TensorType::new(vec![nn, c, oh, ow], qtype),
                );
                let id = if flat {
                    let ty = TensorType::new(vec![nn, c], qtype);
                    self.g.push(
                        Op::Flatten {
                            layout: Layout::NCHW,
                        },
                        vec![id],
                        ty,
                    )
                } else {
                    id
                };
                Ok(QVal {
                    id,
                    scale,
                    zp,
                    qtype,
                    offset: 0,
                })
            }
            Float::Softmax(q) => {
                if qtype.bits() != 8 {
                    return Err(format!(
                        "the Softmax before '{x}' is quantized to {qtype}; ONNX Runtime fuses it into QLinearSoftmax for 8-bit outputs only"
                    ));
                }
                let q = self.narrowed(q, 8);
                let shape = self.g.value_type(q.id).shape.clone();
                let table = softmax_table(q.scale, shape[1]);
                // QLinearSoftmax's output scale: floor(1 / y_scale) in f32
                let k = (1.0f32 / scale).floor();
                if !(table[255] * k).is_finite() {
                    return Err(format!(
                        "the Softmax before '{x}' is quantized with scale {scale}: QLinearSoftmax's largest term exp(..) * floor(1 / scale) = {:e} * {k} overflows f32 for {} classes (ONNX Runtime's result is undefined there; 1 / 256 is the usual scale)",
                        table[255],
                        shape[1]
                    ));
                }
                let id = self.g.push(
                    Op::Softmax {
                        table,
                        scale: k,
                        zero_point: zp,
                        layout: Layout::NC,
                    },
                    vec![q.id],
                    TensorType::new(shape, qtype),
                );
                Ok(QVal {
                    id,
                    scale,
                    zp,
                    qtype,
                    offset: 0,
                })
            }
            Float::Concat(parts) => {
                // each part at the output's scale and zero point, stored at one offset
                let to = best_offset(qtype, zp);
                let mut acc: Option<QVal> = None;
                for q in parts {
                    let q = self.quantize_float(x, Float::Dq(q), scale, zp, qtype)?;
                    let q = self.shift_offset(&q, to);
                    acc = Some(match acc {
                        None => q,
                        Some(a) => {
                            let [b, ca, h, w] = self.nchw(a.id);
                            let [_, cq, _, _] = self.nchw(q.id);
                            let elem = self.g.value_type(a.id).elem;
                            let ty = TensorType::new(vec![b, ca + cq, h, w], elem);
                            let id = self.g.push(
                                Op::Concat {
                                    layout: Layout::NCHW,
                                },
                                vec![a.id, q.id],
                                ty,
                            );
                            QVal { id, ..a }
                        }
                    });
                }
                acc.ok_or_else(|| "a Concat of nothing".to_string())
            }
            Float::Dq(q) => {
                if q.scale == scale && q.zp == zp && q.qtype == qtype {
                    return Ok(q);
                }
                // one quantized tensor to another scale: ONNX Runtime runs it in float,
                // round(f32(f32(q - zp1) * s1) / s2) + zp2; here (q - zp1) * f32(s1 / s2) rounded
                // in f32, which can differ by one step where the two roundings part
                let c = self.center(&q);
                let scales = scales_of(&[q.scale / scale], "requantize")?;
                let y = self.requantize_f32(c.id, scales, (scale, zp, qtype), [qlo, qhi]);
                if !self.notes.iter().any(|n| n.starts_with("requantize")) {
                    self.notes.push(format!(
                        "requantize of '{x}' between two scales (a DequantizeLinear straight into a QuantizeLinear): ONNX Runtime divides in float, nibble multiplies by the ratio, so a few values may differ by one step"
                    ));
                }
                Ok(y)
            }
            Float::Acc {
                id,
                scale: sacc,
                pool_count,
                lo,
                hi,
            } => {
                let s: Vec<f32> = sacc
                    .iter()
                    .map(|&sa| match pool_count {
                        // QLinearGlobalAveragePool: f32(sx / f32(sy * HW))
                        Some(hw) => sa / (scale * hw as f32),
                        // QLinearConv / QGemm: f32(f32(sx * sw) / sy)
                        None => sa / scale,
                    })
                    .collect();
                let scales = scales_of(&s, "requantize")?;
                let range = clipped_range(qtype, scale, zp, lo, hi);
                let q = self.requantize_f32(id, scales, (scale, zp, qtype), range);
                if !self.spatial_acc.contains(&id) {
                    return Ok(q);
                }
                // the N x O x 1 x 1 result of a Gemm over a flattened map: N x O, flattened
                // after its requantize (which the conv's epilogue takes)
                let [b, o, _, _] = self.nchw(q.id);
                let elem = self.g.value_type(q.id).elem;
                let id = self.g.push(
                    Op::Flatten {
                        layout: Layout::NCHW,
                    },
                    vec![q.id],
                    TensorType::new(vec![b, o], elem),
                );
                Ok(QVal { id, ..q })
            }
            Float::SumConst { a, c, lo, hi } => {
                // ONNX Runtime's QLinearAdd (module doc) with the constant's term folded:
                // fma(a, rA, fma(c, rC, F)), or for a one-value first operand
                // fma(b, rB, fma(c, rC, F)): a requantize with the per-channel offset
                // fma(c, rC, F)
                let a = self.shift_offset(&a, 0);
                let (ra, rc) = (a.scale / scale, c.scale / scale);
                let zps = if c.first { (c.zp, a.zp) } else { (a.zp, c.zp) };
                let rs = if c.first { (rc, ra) } else { (ra, rc) };
                let fixed = zp as f32 - rs.0.mul_add(zps.0 as f32, rs.1 * zps.1 as f32);
                let offset: Vec<f32> = c
                    .vals
                    .iter()
                    .map(|&v| (v as f32).mul_add(rc, fixed))
                    .collect();
                let offset = if offset.iter().all(|o| o.to_bits() == offset[0].to_bits()) {
                    offset[..1].to_vec()
                } else {
                    offset
                };
                if let Some(o) = offset.iter().find(|o| !o.is_finite()) {
                    return Err(format!("the added constant's term {o} is not finite"));
                }
                let sa = scales_of(&[ra], "add")?;
                let [lo_q, hi_q] = clipped_range(qtype, scale, zp, lo, hi);
                let ty = self.g.value_type(a.id).clone();
                let layout = self.layout_of(a.id);
                let id = self.g.push(
                    Op::Requantize {
                        scales: sa,
                        rounding: Rounding::F32Fma,
                        zero_point: 0,
                        clamp: [lo_q, hi_q],
                        layout,
                        offset,
                    },
                    vec![a.id],
                    TensorType::new(ty.shape, qtype),
                );
                Ok(self.raw_sum(id, scale, zp, qtype))
            }
            Float::Sum { a, b, lo, hi } => {
                // ONNX Runtime's QLinearAdd on the raw values (q, not q - zp):
                // y = sat(rne(fma(a, rA, fma(b, rB, F)))), rA = f32(sA / sC), rB = f32(sB / sC),
                // F = f32(zC - fma(rA, zA, f32(rB * zB)))
                let a = self.shift_offset(&a, 0);
                let b = self.shift_offset(&b, 0);
                let (ra, rb) = (a.scale / scale, b.scale / scale);
                let bias = zp as f32 - ra.mul_add(a.zp as f32, rb * b.zp as f32);
                let sa = scales_of(&[ra], "add")?;
                let sb = scales_of(&[rb], "add")?;
                let [lo_q, hi_q] = clipped_range(qtype, scale, zp, lo, hi);
                let ty = self.g.value_type(a.id).clone();
                let layout = self.layout_of(a.id);
                let id = self.g.push(
                    Op::Add {
                        lhs: sa,
                        rhs: sb,
                        rounding: Rounding::F32Fma,
                        clamp: [lo_q, hi_q],
                        layout,
                        bias,
                    },
                    vec![a.id, b.id],
                    TensorType::new(ty.shape, qtype),
                );
                Ok(self.raw_sum(id, scale, zp, qtype))
            }
        }
    }

    /// An add's result `id`, the raw integers of `(scale, zp, qtype)`, as the quantized value
    /// stored with its best offset.
    fn raw_sum(&mut self, id: ValueId, scale: f32, zp: i64, qtype: ElemType) -> QVal {
        let raw = QVal {
            id,
            scale,
            zp,
            qtype,
            offset: 0,
        };
        let offset = best_offset(qtype, zp);
        self.shift_offset(&raw, offset)
    }

    /// The quantized constant `name` (a DequantizeLinear of an integer initializer, per
    /// tensor) that an Add adds to an activation of ONNX dims `shape`: one value, or one per
    /// channel (axis 1) where every other axis of the broadcast constant is 1.
    fn const_addend(&self, name: &str, shape: &[i64], first: bool) -> Result<ConstAddend, String> {
        let (qname, sname, zname, _) = self.const_dq.get(name).cloned().ok_or_else(|| {
            format!(
                "adds '{name}', a constant that is not the DequantizeLinear of quantized integers"
            )
        })?;
        let t = self.constant(&qname)?;
        if onnx_elem(t.data_type).is_none_or(|e| e.bits() > 8) {
            return Err(format!(
                "adds the constant '{qname}' of type {}; nibble adds 4- and 8-bit constants",
                dt::name(t.data_type)
            ));
        }
        let scale = self.float_scalar(&sname)?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(format!(
                "constant '{qname}' has scale {scale}, not positive"
            ));
        }
        let zp = match &zname {
            Some(z) => match self.constant(z)?.data.ints().as_deref() {
                Some([v]) => *v,
                _ => {
                    return Err(format!(
                        "zero point '{z}' of an added constant must be one integer"
                    ))
                }
            },
            None => 0,
        };
        let vals = t.data.ints().expect("integer type");
        let dims: Vec<i64> = t.dims.iter().map(|&d| d as i64).collect();
        // numpy broadcasting: the constant's dims align with the activation's last ones
        let per_channel = |c_axis: usize| {
            let off = shape.len() as i64 - dims.len() as i64;
            off >= 0
                && dims.iter().enumerate().all(|(i, &d)| {
                    let axis = i + off as usize;
                    d == 1 || (axis == c_axis && d == shape[axis])
                })
        };
        let vals = if vals.len() == 1 && dims.len() <= shape.len() {
            vals
        } else if shape.len() >= 2 && per_channel(1) && vals.len() as i64 == shape[1] {
            if first {
                // ONNX Runtime's QLinearAdd adds a vector first operand outside the sum
                // `fma(b, sB, F)`, a rounding a requantize of the other one cannot hold
                return Err(format!(
                    "adds the per-channel constant '{qname}' as its first operand; nibble takes a constant first operand only when it is one value"
                ));
            }
            vals
        } else {
            return Err(format!(
                "adds the constant '{qname}' of dims {dims:?} to dims {shape:?}; nibble adds one value or one per channel"
            ));
        };
        Ok(ConstAddend {
            vals,
            scale,
            zp,
            first,
        })
    }

    /// Weight (quantized constant) of a Conv / Gemm: values `w - zp_w` (which must fit the
    /// stored type), per-output-channel scales along `axis`.
    fn const_weight(
        &self,
        name: &str,
        out_axis: usize,
    ) -> Result<(onnx::Tensor, Vec<i32>, Vec<f32>, ElemType), String> {
        let (qname, sname, zname, axis) =
            self.const_dq.get(name).cloned().ok_or_else(|| {
                format!("weight '{name}' must be the DequantizeLinear of a constant")
            })?;
        let t = self.constant(&qname)?;
        let qtype = onnx_elem(t.data_type)
            .filter(|e| e.bits() <= 8)
            .ok_or_else(|| {
                format!(
                    "weight '{qname}' is {}; nibble reads 4- and 8-bit weights",
                    dt::name(t.data_type)
                )
            })?;
        let st = self.constant(&sname)?;
        let scales = st
            .data
            .floats()
            .ok_or_else(|| format!("scale '{sname}' is not float"))?;
        let zps = match &zname {
            Some(z) => {
                let zt = self.constant(z)?;
                param_dims(&st, &zt, &sname, z).map_err(|e| format!("weight '{qname}': {e}"))?;
                // one type by the schema; an integer Clip may have narrowed the width (QCDQ)
                let signed = |ty: i32| onnx_elem(ty).is_some_and(|e| e.is_signed());
                if signed(zt.data_type) != signed(t.data_type) {
                    return Err(format!(
                        "weight '{qname}' is {} but its zero point '{z}' is {} (DequantizeLinear needs both of one type)",
                        dt::name(t.data_type),
                        dt::name(zt.data_type)
                    ));
                }
                zt.data
                    .ints()
                    .ok_or_else(|| format!("zero point '{z}' is not integer"))?
            }
            None => {
                param_dims(&st, &st, &sname, "").map_err(|e| format!("weight '{qname}': {e}"))?;
                vec![0; scales.len()]
            }
        };
        let at = per_axis(&t.dims, scales.len(), zps.len(), axis)
            .map_err(|e| format!("weight '{qname}': {e}"))?;
        if at.axis.is_some_and(|a| a != out_axis) {
            return Err(format!(
                "weight '{qname}' is quantized along axis {} with {} scales; nibble needs per-tensor or per-output-channel scales",
                at.axis.unwrap_or(0),
                scales.len()
            ));
        }
        let vals = t.data.ints().expect("integer type");
        let stored = if zps.iter().all(|&z| z == 0) {
            qtype
        } else {
            ElemType::I8
        };
        // centred 8-bit values take up to 9 bits: the layer runs once per int8 part (`split_wide`)
        let (lo, hi) = match stored {
            ElemType::I8 => (-255, 255),
            _ => stored.range(),
        };
        let mut out = Vec::with_capacity(vals.len());
        for (i, &v) in vals.iter().enumerate() {
            let ch = at.param(i);
            let c = v - zps[ch];
            if c < lo || c > hi {
                return Err(format!(
                    "weight '{qname}' minus its zero point {} is {c}, outside {stored}",
                    zps[ch]
                ));
            }
            out.push(c as i32);
        }
        for &s in &scales {
            if !(s.is_finite() && s > 0.0) {
                return Err(format!("weight '{qname}' has scale {s}, not positive"));
            }
        }
        Ok((t, out, scales, stored))
    }

    /// The conv / dense `op` of input `x` with centred weights `(name, type, values)` and
    /// `bias` (its i32 result of type `acc`): one layer where the weights fit their type, else
    /// one layer an int8 part ([`split_wide`]; the parts after the first without a bias) whose
    /// i32 results add exactly (`x * 2^30 >> 30` on both sides of a `qnn.add`).
    fn weighted_layer(
        &mut self,
        op: Op,
        x: ValueId,
        (wname, wty, wv): (&str, TensorType, Vec<i32>),
        bias: &[i64],
        acc: TensorType,
        layout: Layout,
    ) -> ValueId {
        let bty = TensorType::new(vec![bias.len() as i64], ElemType::I32);
        let one = ChannelScales::per_tensor(Dyadic {
            multiplier: 1 << 30,
            shift: 30,
        });
        let mut sum = None;
        for (i, part) in split_wide(wv, wty.elem).into_iter().enumerate() {
            let (name, b) = match i {
                0 => (wname.to_string(), bias.iter().map(|&v| v as i32).collect()),
                _ => (format!("{wname}.part{i}"), vec![0; bias.len()]),
            };
            let wid = self.weight(&name, wty.clone(), part);
            let bid = self.weight(&format!("{name}.bias"), bty.clone(), b);
            let layer = self.g.push(op.clone(), vec![x, wid, bid], acc.clone());
            sum = Some(match sum {
                None => layer,
                Some(prev) => self.g.push(
                    Op::Add {
                        lhs: one.clone(),
                        rhs: one.clone(),
                        rounding: Rounding::HalfToEven,
                        clamp: [i32::MIN as i64, i32::MAX as i64],
                        layout,
                        bias: 0.0,
                    },
                    vec![prev, layer],
                    acc.clone(),
                ),
            });
        }
        sum.expect("one part at least")
    }

    /// Bias: the int32 constant of a DequantizeLinear (ONNX Runtime adds it to the accumulator
    /// as is).
    /// `acc_scale[c]` is the accumulator's scale (`x_scale * w_scale[c]`), for a float bias.
    /// `conv`: whether a bias at another scale than the accumulator's is refused (ONNX Runtime
    /// runs such a conv in float) or, for a Gemm, added as it is (ONNX Runtime's QGemm does).
    fn const_bias(
        &mut self,
        name: &str,
        o: usize,
        acc_scale: &[f32],
        conv: bool,
    ) -> Result<Vec<i64>, String> {
        if !self.const_dq.contains_key(name) && self.is_constant(name) {
            // a float bias (fake-quantization exports): quantized as quantize_static does,
            // round_half_even(b / f32(x_scale * w_scale)) in double precision
            let b = self.constant(name)?;
            let v = b
                .data
                .floats()
                .ok_or_else(|| format!("bias '{name}' is neither float nor a DequantizeLinear"))?;
            if v.len() != o {
                return Err(format!(
                    "bias '{name}' has {} values for {o} output channels",
                    v.len()
                ));
            }
            if !self.notes.iter().any(|n| n.starts_with("float biases")) {
                self.notes.push(
                    "float biases are quantized to int32 at import (round(b / (x_scale * w_scale))); ONNX Runtime runs such convs in float"
                        .into(),
                );
            }
            return v
                .iter()
                .enumerate()
                .map(|(c, &x)| {
                    let s = acc_scale[if acc_scale.len() == 1 { 0 } else { c }] as f64;
                    let q = (x as f64 / s).round_ties_even();
                    if q.is_finite() && q.abs() <= i32::MAX as f64 {
                        Ok(q as i64)
                    } else {
                        Err(format!(
                            "bias '{name}' value {x} does not fit i32 at scale {s:e}"
                        ))
                    }
                })
                .collect();
        }
        let (qname, sname, zname, _) = self
            .const_dq
            .get(name)
            .cloned()
            .ok_or_else(|| format!("bias '{name}' must be a float constant or the DequantizeLinear of an int32 constant"))?;
        // the int32 bias is added to the accumulator as it is: its scale must be the
        // accumulator's (what quantizers write, but quantize_static folds a Gemm's beta into
        // the bias scale, and ONNX Runtime's QGemm then adds the int32 values as they are)
        let bs = self
            .constant(&sname)?
            .data
            .floats()
            .ok_or_else(|| format!("bias '{qname}': scale '{sname}' is not float"))?;
        if bs.len() != 1 && bs.len() != o {
            return Err(format!(
                "bias '{qname}' has {} scales for {o} output channels",
                bs.len()
            ));
        }
        for c in 0..o {
            let (b, a) = (bs[c % bs.len()], acc_scale[c % acc_scale.len()]);
            if (b - a).abs() <= a.abs() * 1e-6 {
                continue;
            }
            if conv {
                return Err(format!(
                    "bias '{qname}' is dequantized with scale {b:e} (channel {c}), but the accumulator's scale (input scale x weight scale) is {a:e}: nibble adds an int32 bias at the accumulator's scale only (ONNX Runtime runs such a conv in float)"
                ));
            }
            self.notes.push(format!(
                "bias '{qname}' is dequantized with scale {b:e}, not the accumulator's {a:e}: its int32 values are added to the accumulator as they are, as ONNX Runtime's QGemm does (its unoptimized float graph differs)"
            ));
            break;
        }
        let t = self.constant(&qname)?;
        if t.data_type != dt::INT32 {
            return Err(format!(
                "bias '{qname}' is {}, not INT32",
                dt::name(t.data_type)
            ));
        }
        if let Some(z) = zname {
            if self
                .constant(&z)?
                .data
                .ints()
                .unwrap_or_default()
                .iter()
                .any(|&v| v != 0)
            {
                return Err(format!("bias '{qname}' has a non-zero zero point"));
            }
        }
        let v = t.data.ints().expect("int32");
        if v.len() != o {
            return Err(format!(
                "bias '{qname}' has {} values for {o} output channels",
                v.len()
            ));
        }
        Ok(v)
    }

    fn conv(&mut self, n: &NodeProto) -> Result<Float, String> {
        let a = Attrs::new(n);
        check_known(
            &a,
            &[
                "kernel_shape",
                "strides",
                "pads",
                "dilations",
                "group",
                "auto_pad",
            ],
        )?;
        let groups = a.int("group")?.unwrap_or(1);
        // a Pad before the conv (by its zero point) adds to the conv's padding
        let (x, extra) = match self.values.get(input(n, 0)?) {
            Some(Entry::Padded {
                q,
                float: true,
                pads,
            }) => (q.clone(), *pads),
            _ => (self.dq(input(n, 0)?)?, [0; 4]),
        };
        let (wt, wv, ws, welem) = self.const_weight(input(n, 1)?, 0)?;
        self.s8_weights |= wt.data_type == dt::INT8;
        if wt.dims.len() != 4 {
            return Err(format!(
                "weight has rank {}; nibble imports 2-D convolutions",
                wt.dims.len()
            ));
        }
        let [o, ci, kh, kw] = [wt.dims[0], wt.dims[1], wt.dims[2], wt.dims[3]].map(|d| d as i64);
        if self.g.value_type(x.id).shape.len() != 4 {
            return Err(format!(
                "the input is {:?}; a Conv reads an N x C x H x W map",
                self.g.value_type(x.id).shape
            ));
        }
        let [b, c, h, w] = self.nchw(x.id);
        if groups < 1 || c % groups != 0 || o % groups != 0 || ci * groups != c {
            return Err(format!(
                "group {groups} with {c} input channels, {o} outputs and a weight of {ci} input channels"
            ));
        }
        if let Some(k) = a.ints("kernel_shape")? {
            if k != [kh, kw] {
                return Err(format!(
                    "kernel_shape {k:?} differs from the weight's {kh}x{kw}"
                ));
            }
        }
        if a.ints("dilations")?
            .is_some_and(|d| d.iter().any(|&v| v != 1))
        {
            return Err("dilated convolution is not supported".into());
        }
        let strides = pair(a.ints("strides")?, "strides")?;
        let own = pads(
            &a,
            [kh, kw],
            [h + extra[0] + extra[2], w + extra[1] + extra[3]],
            strides,
        )?;
        let padding: [i64; 4] = std::array::from_fn(|i| own[i] + extra[i]);
        // ONNX Runtime: f32(x_scale * w_scale[c]), divided by y_scale at the QuantizeLinear
        let acc_scale: Vec<f32> = ws.iter().map(|&s| x.scale * s).collect();
        let mut bias = match n.input.get(2).filter(|s| !s.is_empty()) {
            Some(bn) => self.const_bias(bn, o as usize, &acc_scale, true)?,
            None => vec![0; o as usize],
        };
        // an input stored as q (not q - zp) pads with its zero point and folds -zp * sum(w)
        let d = x.zp - x.offset;
        fold_zero_point(&mut bias, &wv, (ci * kh * kw) as usize, d)?;
        self.note_wide_accumulator(n, &bias, &wv, (ci * kh * kw) as usize, x.id);
        let padding_value = if padding.iter().any(|&p| p > 0) { d } else { 0 };
        let wname = input(n, 1)?
            .trim_end_matches("_DequantizeLinear_Output")
            .to_string();
        let [oh, ow] = window_output([h, w], [kh, kw], strides, padding)?;
        let conv = nchw_conv(strides, padding, padding_value, groups);
        let id = self.weighted_layer(
            conv,
            x.id,
            (&wname, TensorType::new(vec![o, ci, kh, kw], welem), wv),
            &bias,
            TensorType::new(vec![b, o, oh, ow], ElemType::I32),
            Layout::NCHW,
        );
        Ok(Float::acc(id, acc_scale))
    }

    /// A Mul of an activation by a quantized constant of one value or one a channel (N x C x 1
    /// x 1; what ONNX Runtime runs as QLinearMul with a constant operand): the exact products
    /// of the centred values at scale f32(sa * sb), as for two activations, computed as a
    /// depthwise 1 x 1 conv whose weights are the constant's centred values.
    fn mul_constant(&mut self, n: &NodeProto) -> Result<Float, String> {
        let k = usize::from(self.const_dq.contains_key(input(n, 1)?));
        let (xname, cname) = (input(n, 1 - k)?, input(n, k)?);
        if self.const_dq.contains_key(xname) {
            return Err("a Mul of two constants is not supported".into());
        }
        let x = self.dq(xname)?;
        if self.g.value_type(x.id).shape.len() != 4 || self.g.value_type(x.id).elem.bits() > 8 {
            return Err(format!(
                "a Mul by the constant '{cname}' of a {:?} value: nibble multiplies an 8-bit N x C x H x W map by a constant",
                self.g.value_type(x.id).shape
            ));
        }
        let [b, c, h, w] = self.nchw(x.id);
        let (t, wv, ws, welem) = self.const_weight(cname, 0)?;
        let dims: Vec<usize> = t.dims.iter().copied().filter(|&d| d != 1).collect();
        let per_channel = match t.dims.len() {
            3 => t.dims[1..] == [1, 1],
            4 => t.dims[0] == 1 && t.dims[2..] == [1, 1],
            _ => false,
        };
        let wv: Vec<i32> = match (wv.len(), ws.len()) {
            (1, 1) if t.dims.len() <= 4 => vec![wv[0]; c as usize],
            (len, 1) if per_channel && len == c as usize && dims.len() <= 1 => wv,
            _ => {
                return Err(format!(
                    "a Mul by the constant '{cname}' of dims {:?} with {} scales: one value or one a channel (N x C x 1 x 1), quantized per tensor, is supported",
                    t.dims,
                    ws.len()
                ))
            }
        };
        let acc_scale = vec![x.scale * ws[0]];
        let mut bias = vec![0; c as usize];
        fold_zero_point(&mut bias, &wv, 1, x.zp - x.offset)?;
        let conv = nchw_conv([1, 1], [0; 4], 0, c);
        let wname = cname
            .trim_end_matches("_DequantizeLinear_Output")
            .to_string();
        let id = self.weighted_layer(
            conv,
            x.id,
            (&wname, TensorType::new(vec![c, 1, 1, 1], welem), wv),
            &bias,
            TensorType::new(vec![b, c, h, w], ElemType::I32),
            Layout::NCHW,
        );
        Ok(Float::acc(id, acc_scale))
    }

    /// A note where a layer's i32 accumulator can leave i32 for some input: the folded `bias`
    /// plus `per_o` weights `wv` an output channel times the largest stored input value of
    /// `x` (quantizers clamp a bias to i32, which a dead channel's folded batch norm can reach).
    /// The reference stops at such a value; ONNX Runtime's int32 arithmetic wraps.
    fn note_wide_accumulator(
        &mut self,
        n: &NodeProto,
        bias: &[i64],
        wv: &[i32],
        per_o: usize,
        x: ValueId,
    ) {
        let (lo, hi) = self.g.value_type(x).elem.range();
        let m = lo.abs().max(hi.abs());
        let wide = bias.iter().enumerate().find_map(|(o, &b)| {
            let sw: i64 = wv[o * per_o..(o + 1) * per_o]
                .iter()
                .map(|&v| (v as i64).abs())
                .sum();
            let bound = b.abs() + m * sw;
            (bound > i32::MAX as i64).then_some((o, b, bound))
        });
        if let Some((o, b, bound)) = wide {
            self.notes.push(format!(
                "{}: output channel {o}'s accumulator (bias {b}) can reach {bound} in magnitude, past i32; nibble stops with an error on an input that takes it there, where ONNX Runtime's int32 arithmetic wraps",
                node_name(n)
            ));
        }
    }

    fn gemm(&mut self, n: &NodeProto) -> Result<Float, String> {
        let a = Attrs::new(n);
        let gemm = n.op_type == "Gemm";
        if gemm {
            check_known(&a, &["alpha", "beta", "transA", "transB"])?;
            if a.float("alpha")?.unwrap_or(1.0) != 1.0 || a.float("beta")?.unwrap_or(1.0) != 1.0 {
                return Err("Gemm with alpha or beta other than 1 is not supported".into());
            }
            if a.int("transA")?.unwrap_or(0) != 0 {
                return Err("Gemm with transA = 1 is not supported".into());
            }
        }
        let trans_b = gemm && a.int("transB")?.unwrap_or(0) == 1;
        let x = self.dq(input(n, 0)?)?;
        let xt = self.g.value_type(x.id).clone();
        // a flattened N x C x H x W map: K = C H W in NCHW order
        let spatial = xt.shape.len() == 4 && self.spatial_flat.contains(&x.id);
        let xk = if spatial {
            xt.shape[1..].iter().product::<i64>()
        } else {
            xt.shape.get(1).copied().unwrap_or(0)
        };
        if xt.shape.len() != 2 && !spatial {
            return Err(format!(
                "input has shape {:?}; nibble imports Gemm / MatMul on N x K",
                xt.shape
            ));
        }
        // a value stored as q - offset with offset != zp: fold -(zp - offset) * sum(w) into
        // the bias (a dense has no padding)
        if self.g.value_type(x.id).elem.bits() > 8 {
            return Err(format!(
                "the input is stored as {} (a 16-bit form of q - zero point)",
                self.g.value_type(x.id).elem
            ));
        }
        let d = x.zp - x.offset;
        let (wt, wv, ws, welem) = self.const_weight(input(n, 1)?, if trans_b { 0 } else { 1 })?;
        self.s8_weights |= wt.data_type == dt::INT8;
        if wt.dims.len() != 2 {
            return Err(format!("weight has rank {}", wt.dims.len()));
        }
        let (o, k) = if trans_b {
            (wt.dims[0], wt.dims[1])
        } else {
            (wt.dims[1], wt.dims[0])
        };
        if k as i64 != xk {
            return Err(format!("weight has {k} inputs, the input {xk}"));
        }
        // qnn.dense reads O x K
        let wv: Vec<i32> = if trans_b {
            wv
        } else {
            (0..o)
                .flat_map(|oc| (0..k).map(move |kk| (oc, kk)))
                .map(|(oc, kk)| wv[kk * o + oc])
                .collect()
        };
        let acc_scale: Vec<f32> = ws.iter().map(|&s| x.scale * s).collect();
        let mut bias = match n.input.get(2).filter(|s| gemm && !s.is_empty()) {
            Some(bn) => self.const_bias(bn, o, &acc_scale, false)?,
            None => vec![0; o],
        };
        fold_zero_point(&mut bias, &wv, k, d)?;
        self.note_wide_accumulator(n, &bias, &wv, k, x.id);
        let wname = input(n, 1)?
            .trim_end_matches("_DequantizeLinear_Output")
            .to_string();
        if spatial {
            // O x (C H W) is OIHW: a conv whose kernel covers the map, then a 1 x 1 flatten
            let [b, c, h, w] = [xt.shape[0], xt.shape[1], xt.shape[2], xt.shape[3]];
            let conv = nchw_conv([1, 1], [0; 4], 0, 1);
            let id = self.weighted_layer(
                conv,
                x.id,
                (&wname, TensorType::new(vec![o as i64, c, h, w], welem), wv),
                &bias,
                TensorType::new(vec![b, o as i64, 1, 1], ElemType::I32),
                Layout::NCHW,
            );
            self.spatial_acc.insert(id);
            return Ok(Float::acc(id, acc_scale));
        }
        let id = self.weighted_layer(
            Op::Dense,
            x.id,
            (&wname, TensorType::new(vec![o as i64, k as i64], welem), wv),
            &bias,
            TensorType::new(vec![xt.shape[0], o as i64], ElemType::I32),
            Layout::NC,
        );
        Ok(Float::acc(id, acc_scale))
    }
}

/// Centred weights `wv` beyond `welem` (8-bit weights far from their zero point, up to 9 bits)
/// as int8 parts that sum to them: `w = a + r (+ t)` with `a = clamp(w, -128, 127)`, `r` the
/// clamped rest, and for `w = 255` (an int8 weight of 127 with zero point -128) a last part
/// of 1. The layer runs once a part; the i32 results add exactly. One part where every value
/// fits `welem`.
fn split_wide(wv: Vec<i32>, welem: ElemType) -> Vec<Vec<i32>> {
    let (lo, hi) = welem.range();
    if wv.iter().all(|&v| (lo..=hi).contains(&(v as i64))) {
        return vec![wv];
    }
    let mut parts = vec![];
    let mut rest = wv;
    while rest.iter().any(|&v| v != 0) {
        let a: Vec<i32> = rest.iter().map(|&v| v.clamp(-128, 127)).collect();
        rest = rest.iter().zip(&a).map(|(&v, &a)| v - a).collect();
        parts.push(a);
    }
    parts
}

/// `bias[o] -= d * sum(w[o])` (`per_o` weights an output): what reading `q` where the kernel
/// wants `q - d` costs, when no tap is padding. The result must stay in i32.
fn fold_zero_point(bias: &mut [i64], wv: &[i32], per_o: usize, d: i64) -> Result<(), String> {
    if d != 0 {
        for (oc, bo) in bias.iter_mut().enumerate() {
            let sw: i64 = wv[oc * per_o..(oc + 1) * per_o]
                .iter()
                .map(|&v| v as i64)
                .sum();
            *bo -= d * sw;
        }
    }
    match bias
        .iter()
        .find(|&&v| v < i32::MIN as i64 || v > i32::MAX as i64)
    {
        Some(bad) => Err(format!(
            "the bias with the zero-point correction is {bad}, outside i32"
        )),
        None => Ok(()),
    }
}

/// QuantizeLinear / DequantizeLinear without blocked quantization (opset 21 `block_size`) or
/// `output_dtype`, which nibble does not read.
fn plain_quantization(n: &NodeProto) -> Result<(), String> {
    let attrs = Attrs::new(n);
    if attrs.int("block_size")?.is_some_and(|b| b != 0) {
        return Err("blocked quantization (block_size) is not supported".into());
    }
    if attrs.int("output_dtype")?.is_some_and(|t| t != 0) {
        return Err("output_dtype is not supported (the zero point gives the type)".into());
    }
    // opset 23: the division's precision, float32 (the scale's type) unless it says otherwise
    if attrs
        .int("precision")?
        .is_some_and(|t| t != 0 && t != i64::from(dt::FLOAT))
    {
        return Err("a precision other than float32 is not supported".into());
    }
    Ok(())
}

/// Where the quantization parameters of a tensor's elements are: one for the tensor, or one per
/// index along `axis`.
struct PerAxis {
    /// None: per tensor.
    axis: Option<usize>,
    /// Elements after one step along the axis.
    inner: usize,
    params: usize,
}

impl PerAxis {
    /// The parameter of element `i` (row-major).
    fn param(&self, i: usize) -> usize {
        if self.axis.is_none() {
            0
        } else {
            (i / self.inner) % self.params
        }
    }
}

/// A QuantizeLinear / DequantizeLinear's scale `st` is a scalar or 1-D, and its zero point `zt`
/// (named `z`; empty: none) has the scale's dims.
fn param_dims(st: &onnx::Tensor, zt: &onnx::Tensor, s: &str, z: &str) -> Result<(), String> {
    if st.dims.len() > 1 {
        return Err(format!(
            "scale '{s}' has dims {:?}; a scale is a scalar or 1-D (one per index of the axis)",
            st.dims
        ));
    }
    if !z.is_empty() && zt.dims != st.dims {
        return Err(format!(
            "zero point '{z}' has dims {:?}, its scale '{s}' {:?}",
            zt.dims, st.dims
        ));
    }
    Ok(())
}

/// `scales` scale and `zps` zero-point values for a tensor of `dims` quantized along `axis`
/// (negative: from the end), checked to fit.
fn per_axis(dims: &[usize], scales: usize, zps: usize, axis: i64) -> Result<PerAxis, String> {
    if zps != scales {
        return Err(format!("{scales} scales but {zps} zero points"));
    }
    if scales == 1 {
        return Ok(PerAxis {
            axis: None,
            inner: 1,
            params: 1,
        });
    }
    let rank = dims.len() as i64;
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&a) || dims[a as usize] != scales {
        return Err(format!(
            "{scales} scales do not fit axis {axis} of {dims:?}"
        ));
    }
    let a = a as usize;
    Ok(PerAxis {
        axis: Some(a),
        inner: dims[a + 1..].iter().product(),
        params: scales,
    })
}

/// The integer range `[lo, hi]` of a QuantizeLinear (`qtype`, `scale`, `zp`) after a Relu /
/// Clip's real bounds: `q >= zp + round(lo / scale)`, `q <= zp + round(hi / scale)`, never empty.
fn clipped_range(
    qtype: ElemType,
    scale: f32,
    zp: i64,
    lo: Option<f32>,
    hi: Option<f32>,
) -> [i64; 2] {
    let (mut l, mut h) = qtype.range();
    if let Some(v) = lo {
        l = l.max((v / scale).round_ties_even() as i64 + zp);
    }
    if let Some(v) = hi {
        h = h.min((v / scale).round_ties_even() as i64 + zp);
    }
    [l, h.max(l)]
}

impl Float {
    /// An accumulator of real value `acc * scale[c]`, not yet bounded.
    fn acc(id: ValueId, scale: Vec<f32>) -> Self {
        Float::Acc {
            id,
            scale,
            pool_count: None,
            lo: None,
            hi: None,
        }
    }
}

/// A `qnn.conv2d` of an NCHW input and an OIHW weight.
fn nchw_conv(strides: [i64; 2], padding: [i64; 4], padding_value: i64, groups: i64) -> Op {
    Op::Conv2d {
        strides,
        padding,
        layout: Layout::NCHW,
        kernel_layout: KernelLayout::OIHW,
        padding_value,
        groups,
    }
}

/// Whether `axes` of a rank-4 value (negative ones counted from the end) are exactly the
/// spatial ones, 2 and 3.
fn spatial_axes(axes: &[i64]) -> bool {
    let mut a: Vec<i64> = axes
        .iter()
        .map(|&v| if (-4..0).contains(&v) { v + 4 } else { v })
        .collect();
    a.sort_unstable();
    a == [2, 3]
}

fn wrap(q: QVal, float: bool) -> Entry {
    if float {
        Entry::F(Float::Dq(q))
    } else {
        Entry::Q(q)
    }
}

/// The inputs (fewest, most) and outputs (most) each op type nibble imports may have, by the
/// ONNX operator schemas (an optional output, such as MaxPool's Indices, counts only when named).
const ARITY: &[(&str, usize, usize, usize)] = &[
    ("Constant", 0, 0, 1),
    ("QuantizeLinear", 2, 3, 1),
    ("DequantizeLinear", 2, 3, 1),
    ("Conv", 2, 3, 1),
    ("Gemm", 2, 3, 1),
    ("MatMul", 2, 2, 1),
    ("Add", 2, 2, 1),
    ("Relu", 1, 1, 1),
    ("Clip", 1, 3, 1),
    ("MaxPool", 1, 1, 1),
    ("GlobalMaxPool", 1, 1, 1),
    ("AveragePool", 1, 1, 1),
    ("GlobalAveragePool", 1, 1, 1),
    ("Softmax", 1, 1, 1),
    ("Split", 1, 2, 1 << 16),
    ("Transpose", 1, 1, 1),
    ("Flatten", 1, 1, 1),
    ("Reshape", 1, 2, 1),
    ("Identity", 1, 1, 1),
    ("Dropout", 1, 3, 2),
    ("Squeeze", 1, 2, 1),
    ("ReduceMean", 1, 2, 1),
    ("Pad", 1, 4, 1),
    ("Shape", 1, 1, 1),
    ("Gather", 2, 2, 1),
    ("Unsqueeze", 1, 2, 1),
    ("Concat", 1, usize::MAX, 1),
    ("Mul", 2, 2, 1),
    ("Sub", 2, 2, 1),
    ("Div", 2, 2, 1),
    ("Sigmoid", 1, 1, 1),
    ("Tanh", 1, 1, 1),
    ("HardSigmoid", 1, 1, 1),
    ("HardSwish", 1, 1, 1),
    ("LeakyRelu", 1, 1, 1),
    ("BatchNormalization", 5, 5, 3),
    ("QLinearConv", 8, 9, 1),
    ("QLinearMatMul", 8, 8, 1),
    ("QGemm", 6, 9, 1),
    ("QLinearAdd", 7, 8, 1),
    ("QLinearGlobalAveragePool", 5, 5, 1),
    ("QLinearAveragePool", 5, 5, 1),
    ("QLinearSoftmax", 5, 5, 1),
    ("QLinearConcat", 5, usize::MAX, 1),
    ("QLinearMul", 7, 8, 1),
    ("QLinearSigmoid", 4, 5, 1),
    ("QLinearLeakyRelu", 4, 5, 1),
];

/// `n` names each attribute once and has as many inputs and outputs as its op type allows (op
/// types not in [`ARITY`] are diagnosed where they are dispatched).
fn arity(n: &NodeProto) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if let Some(a) = n.attribute.iter().find(|a| !seen.insert(a.name.as_str())) {
        return Err(format!("attribute '{}' is given twice", a.name));
    }
    let Some(&(_, lo, hi, outs)) = ARITY.iter().find(|a| a.0 == n.op_type) else {
        return Ok(());
    };
    let given = n.input.len();
    if given < lo || given > hi {
        let want = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo} to {hi}")
        };
        return Err(format!("{given} inputs; {} takes {want}", n.op_type));
    }
    let named = n
        .output
        .iter()
        .rposition(|o| !o.is_empty())
        .map_or(0, |i| i + 1);
    if named == 0 {
        return Err("no output".into());
    }
    if named > outs {
        return Err(format!(
            "output '{}' is not supported ({} has {outs} output nibble reads)",
            n.output[outs], n.op_type
        ));
    }
    Ok(())
}

fn input(n: &NodeProto, i: usize) -> Result<&str, String> {
    n.input
        .get(i)
        .filter(|s| !s.is_empty())
        .map(String::as_str)
        .ok_or_else(|| format!("input {i} is missing"))
}

fn check_known(a: &Attrs, known: &[&str]) -> Result<(), String> {
    match a.unknown(known).first() {
        Some(u) => Err(format!("attribute '{u}' is not supported")),
        None => Ok(()),
    }
}

fn max_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
fn min_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn pair(v: Option<Vec<i64>>, what: &str) -> Result<[i64; 2], String> {
    match v {
        None => Ok([1, 1]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (1..=1 << 16).contains(&x)) => {
            Ok([v[0], v[1]])
        }
        Some(v) => Err(format!("{what} {v:?} must be two values in [1, 65536]")),
    }
}

/// qnn padding `[top, left, bottom, right]` from ONNX `pads` `[top, left, bottom, right]` or
/// `auto_pad`.
fn pads(a: &Attrs, k: [i64; 2], hw: [i64; 2], s: [i64; 2]) -> Result<[i64; 4], String> {
    let auto = a.string("auto_pad")?;
    let auto = auto.as_deref().unwrap_or("NOTSET");
    // the operator schemas: explicit pads only with auto_pad NOTSET
    if auto != "NOTSET" && a.ints("pads")?.is_some() {
        return Err(format!(
            "auto_pad '{auto}' with explicit pads (ONNX allows pads only with auto_pad NOTSET)"
        ));
    }
    match auto {
        "NOTSET" => {}
        "VALID" => return Ok([0; 4]),
        m @ ("SAME_UPPER" | "SAME_LOWER") => {
            let mut p = [0; 4];
            for i in 0..2 {
                let out = (hw[i] + s[i] - 1) / s[i];
                let total = ((out - 1) * s[i] + k[i] - hw[i]).max(0);
                let (small, big) = (total / 2, total - total / 2);
                (p[i], p[i + 2]) = if m == "SAME_UPPER" {
                    (small, big)
                } else {
                    (big, small)
                };
            }
            return Ok(p);
        }
        other => return Err(format!("auto_pad '{other}' is not an ONNX value")),
    }
    match a.ints("pads")? {
        None => Ok([0; 4]),
        Some(p) if p.len() == 4 && p.iter().all(|&v| (0..=1 << 16).contains(&v)) => {
            Ok([p[0], p[1], p[2], p[3]])
        }
        Some(p) => Err(format!("pads {p:?} must be four values in [0, 65536]")),
    }
}

/// The output size of a `k` window at strides `s` over an `hw` input padded by `p`, or why
/// the window does not fit.
fn window_output(hw: [i64; 2], k: [i64; 2], s: [i64; 2], p: [i64; 4]) -> Result<[i64; 2], String> {
    let span = [hw[0] + p[0] + p[2], hw[1] + p[1] + p[3]];
    if span[0] < k[0] || span[1] < k[1] {
        return Err(format!(
            "the {}x{} window does not fit the {}x{} input (padded: {}x{})",
            k[0], k[1], hw[0], hw[1], span[0], span[1]
        ));
    }
    Ok([(span[0] - k[0]) / s[0] + 1, (span[1] - k[1]) / s[1] + 1])
}

/// `ceil_mode = 1` as padding: ONNX Runtime's output size `ceil((H + pads - k) / s) + 1`, less
/// one where the last window would start past the input and its top / left padding (PyTorch's
/// rule, which ONNX Runtime follows), reached by padding the bottom / right so far that the
/// floor formula gives it. Padding never wins a max, so the values are the max pool's.
fn ceil_padding(hw: [i64; 2], k: [i64; 2], s: [i64; 2], p: [i64; 4]) -> [i64; 4] {
    let mut p = p;
    for i in 0..2 {
        let span = hw[i] + p[i] + p[i + 2] - k[i];
        if span < 0 {
            continue; // the window does not fit: window_output says so
        }
        let mut out = (span + s[i] - 1) / s[i] + 1;
        if (out - 1) * s[i] >= hw[i] + p[i] {
            out -= 1;
        }
        p[i + 2] = p[i + 2].max((out - 1) * s[i] + k[i] - hw[i] - p[i]);
    }
    p
}

/// QLinearSoftmax's exponential table for a row of `d` values of input scale `sx`:
/// `table[i] = f32(exp((i - 255 + b) * sx))` in f64, with `b = max(0, ln(f32(f32::MAX / d)) - 5)
/// / sx` keeping a row's sum far below `f32::MAX` (the largest value of a row reads entry 255).
fn softmax_table(sx: f32, d: i64) -> Vec<f32> {
    let shift = ((f32::MAX / d.max(1) as f32) as f64).ln();
    let shift = (shift - 5.0).max(0.0) / sx as f64;
    (0..256)
        .map(|i| ((i as f64 - 255.0 + shift) * sx as f64).exp() as f32)
        .collect()
}

/// kernel, strides, padding of a pool node over an `hw` input, and whether its output size
/// rounds up (`ceil_mode`, max pools only). `auto_pad` SAME pads as a conv's, so it needs
/// `hw`.
fn window(
    a: &Attrs,
    max: bool,
    hw: Option<[i64; 2]>,
) -> Result<([i64; 2], [i64; 2], [i64; 4], bool), String> {
    let k = a.ints("kernel_shape")?.ok_or("kernel_shape is missing")?;
    if k.len() != 2 || k.iter().any(|&v| !(1..=1 << 16).contains(&v)) {
        return Err(format!(
            "kernel_shape {k:?} must be two values in [1, 65536]"
        ));
    }
    let k = [k[0], k[1]];
    // (an average pool is taken over its whole map only, where rounding up changes nothing)
    let ceil = a.int("ceil_mode")?.unwrap_or(0) != 0;
    if max {
        if a.ints("dilations")?
            .is_some_and(|d| d.iter().any(|&v| v != 1))
        {
            return Err("dilated pooling is not supported".into());
        }
        if a.int("storage_order")?.unwrap_or(0) != 0 {
            return Err("storage_order = 1 is not supported".into());
        }
    }
    let s = pair(a.ints("strides")?, "strides")?;
    let same = a.string("auto_pad")?.is_some_and(|m| m.starts_with("SAME"));
    let p = match hw {
        Some(hw) => pads(a, k, hw, s)?,
        None if same => return Err("auto_pad SAME on a pool of this input is not supported".into()),
        None => pads(a, k, [i64::MAX / 4, i64::MAX / 4], s)?,
    };
    if p[0] >= k[0] || p[2] >= k[0] || p[1] >= k[1] || p[3] >= k[1] {
        return Err(format!("pads {p:?} must be smaller than the kernel {k:?}"));
    }
    Ok((k, s, p, ceil))
}

mod qoperator;
#[cfg(test)]
mod tests;
