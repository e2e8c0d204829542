//! QOperator models (ONNX Runtime's `quantize_static(quant_format=QuantFormat.QOperator)`, the
//! format of the ONNX model zoo's int8 CNNs): quantized operators instead of QuantizeLinear /
//! DequantizeLinear pairs. [`expand`] rewrites each into the QDQ group the importer reads, in
//! place of the node:
//!
//! ```text
//! QLinearConv(x, sx, zx, w, sw, zw, sy, zy, B)   DQ(x), DQ(w, axis 0), DQ(B), Conv, Q(sy, zy)
//! QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)    DQ(a), DQ(b, axis 1), MatMul, Q(sy, zy)
//! QGemm(A, sa, za, B, sb, zb, C, sy, zy)         DQ(A), DQ(B), DQ(C), Gemm, Q(sy, zy) (float
//!   (com.microsoft)                                output when sy is absent)
//! QLinearAdd(A, sa, za, B, sb, zb, sc, zc)       DQ(A), DQ(B), Add, Q(sc, zc)
//!   (com.microsoft)
//! QLinearGlobalAveragePool(X, sx, zx, sy, zy)    DQ(X), GlobalAveragePool, Q(sy, zy)
//!   (com.microsoft)
//! QLinearAveragePool(X, sx, zx, sy, zy)          DQ(X), AveragePool, Q(sy, zy)
//!   (com.microsoft)
//! QLinearSoftmax(X, sx, zx, sy, zy)              DQ(X), Softmax(axis), Q(sy, zy)
//!   (com.microsoft)
//! QLinearConcat(sy, zy, X1, s1, z1, ...)         DQ(X1), ..., Concat, Q(sy, zy)
//!   (com.microsoft)
//! QLinearMul(A, sa, za, B, sb, zb, sc, zc)       DQ(A), DQ(B), Mul, Q(sc, zc)
//!   (com.microsoft)
//! QLinearSigmoid / QLinearLeakyRelu              DQ(X), Sigmoid / LeakyRelu, Q(sy, zy)
//!   (X, sx, zx, sy, zy; com.microsoft)
//! ```
//!
//! ONNX Runtime runs a QDQ graph by fusing exactly these groups into the same quantized
//! operators, so importing the groups reproduces the QOperator model's integer arithmetic (the
//! importer's module doc says how each is computed). The int32 bias of QLinearConv / QGemm is
//! dequantized with scale `f32(sx * sw)` and zero point 0, as a QDQ model stores it. Other
//! quantized operators stay and are diagnosed by name.

use nibble_onnx::proto::{
    attribute_type, data_type as dt, AttributeProto, GraphProto, NodeProto, TensorProto,
};
use std::collections::HashSet;

/// The attributes a QLinearConv / QGemm passes on to the Conv / Gemm of its QDQ group.
const CONV_ATTRS: [&str; 6] = [
    "auto_pad",
    "dilations",
    "group",
    "kernel_shape",
    "pads",
    "strides",
];
const GEMM_ATTRS: [&str; 3] = ["alpha", "transA", "transB"];
/// A QLinearAveragePool's attributes: its AveragePool's, and `channels_last` (refused when 1).
const AVG_POOL_ATTRS: [&str; 7] = [
    "auto_pad",
    "ceil_mode",
    "channels_last",
    "count_include_pad",
    "kernel_shape",
    "pads",
    "strides",
];

/// The quantized operators [`expand`] rewrites.
fn expands(n: &NodeProto) -> bool {
    let onnx = n.domain.is_empty() || n.domain == "ai.onnx";
    match n.op_type.as_str() {
        "QLinearConv" | "QLinearMatMul" => onnx,
        "QGemm"
        | "QLinearAdd"
        | "QLinearGlobalAveragePool"
        | "QLinearAveragePool"
        | "QLinearSoftmax"
        | "QLinearConcat"
        | "QLinearMul"
        | "QLinearSigmoid"
        | "QLinearLeakyRelu" => n.domain == "com.microsoft",
        _ => false,
    }
}

/// Rewrite every QOperator node of `g` into its QDQ group (module doc); a graph without one is
/// left as it is.
/// Returns the outputs of the rewritten operators.
pub fn expand(g: &mut GraphProto) -> Result<HashSet<String>, String> {
    let mut outputs = HashSet::new();
    if !g.node.iter().any(expands) {
        return Ok(outputs);
    }
    let mut x = Expander {
        names: g
            .node
            .iter()
            .flat_map(|n| n.output.iter().cloned())
            .chain(g.input.iter().map(|i| i.name.clone()))
            .chain(g.initializer.iter().map(|t| t.name.clone()))
            .collect(),
        nodes: vec![],
        inits: vec![],
        graph_inits: &g.initializer,
    };
    for n in &g.node {
        if expands(n) {
            let start = x.nodes.len();
            super::arity(n)
                .and_then(|()| x.node(n))
                .map_err(|e| format!("{}: {e}", super::node_name(n)))?;
            // the group's nodes carry the quantized operator's name, so that a diagnostic on
            // one of them points at the node of the model
            let label = if n.name.is_empty() {
                &n.output[0]
            } else {
                &n.name
            };
            for m in &mut x.nodes[start..] {
                m.name = format!("{label}/{}", m.op_type);
            }
            outputs.extend(n.output.iter().cloned());
        } else {
            x.nodes.push(n.clone());
        }
    }
    let (nodes, inits) = (x.nodes, x.inits);
    g.node = nodes;
    g.initializer.extend(inits);
    Ok(outputs)
}

struct Expander<'g> {
    names: HashSet<String>,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    graph_inits: &'g [TensorProto],
}

impl Expander<'_> {
    /// A tensor name no node, input or initializer of the graph uses.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut i = 1;
        while self.names.contains(&name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// A node of the group (its name is given in [`expand`]).
    fn push(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        output: &str,
        attribute: Vec<AttributeProto>,
    ) {
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.to_string()],
            op_type: op.to_string(),
            attribute,
            ..Default::default()
        });
    }

    /// `DequantizeLinear(x, scale, zp)` into a fresh tensor named after `base`.
    fn dq(
        &mut self,
        n: &NodeProto,
        x: usize,
        axis: Option<i64>,
        base: &str,
    ) -> Result<String, String> {
        let out = self.fresh(&format!("{base}_dequantized"));
        let mut inputs = vec![input(n, x)?, input(n, x + 1)?];
        inputs.extend(optional(n, x + 2));
        let axis = axis.map(|a| int_attr("axis", a)).into_iter().collect();
        self.push("DequantizeLinear", inputs, &out, axis);
        Ok(out)
    }

    /// The element types of `n`'s zero points at inputs `zx` and `zy` (initializers) must be one
    /// type, as the operator's schema binds both to `T`.
    fn same_zero_point_types(&self, n: &NodeProto, zx: usize, zy: usize) -> Result<(), String> {
        let ty = |i: usize| {
            optional(n, i).and_then(|name| {
                self.graph_inits
                    .iter()
                    .chain(&self.inits)
                    .find(|t| t.name == name)
                    .map(|t| t.data_type)
            })
        };
        match (ty(zx), ty(zy)) {
            (Some(a), Some(b)) if a != b => Err(format!(
                "its zero points are {} (input) and {} (output); {} takes one type for both",
                dt::name(a),
                dt::name(b),
                n.op_type
            )),
            _ => Ok(()),
        }
    }

    /// `QuantizeLinear(x, n.input[s], n.input[s + 1])` into `out`.
    fn q(&mut self, n: &NodeProto, x: String, s: usize, out: &str) -> Result<(), String> {
        let mut inputs = vec![x, input(n, s)?];
        inputs.extend(optional(n, s + 1));
        self.push("QuantizeLinear", inputs, out, vec![]);
        Ok(())
    }

    /// The float operator `op` on `inputs`, with `n`'s attributes named in `keep`, into a fresh
    /// tensor.
    fn op(
        &mut self,
        n: &NodeProto,
        op: &str,
        inputs: Vec<String>,
        keep: &[&str],
        out: &str,
    ) -> String {
        let name = self.fresh(&format!("{out}_float"));
        let attrs = n
            .attribute
            .iter()
            .filter(|a| keep.contains(&a.name.as_str()))
            .cloned()
            .collect();
        self.push(op, inputs, &name, attrs);
        name
    }

    /// The int32 bias `n.input[b]` dequantized with scale `f32(sa * sb)` (per channel where
    /// `sb` is), zero point 0.
    fn bias(
        &mut self,
        n: &NodeProto,
        b: usize,
        sa: usize,
        sb: usize,
        out: &str,
    ) -> Result<String, String> {
        let sa = self.floats(&input(n, sa)?)?;
        let sb = self.floats(&input(n, sb)?)?;
        if sa.len() != 1 {
            return Err(format!(
                "an input scale of {} values (one expected)",
                sa.len()
            ));
        }
        let scale: Vec<f32> = sb.iter().map(|w| sa[0] * w).collect();
        let sname = self.fresh(&format!("{out}_bias_scale"));
        self.inits.push(TensorProto {
            dims: if scale.len() == 1 {
                vec![]
            } else {
                vec![scale.len() as i64]
            },
            data_type: dt::FLOAT,
            float_data: scale,
            name: sname.clone(),
            ..Default::default()
        });
        let bname = self.fresh(&format!("{out}_bias_dequantized"));
        let inputs = vec![input(n, b)?, sname];
        self.push(
            "DequantizeLinear",
            inputs,
            &bname,
            vec![int_attr("axis", 0)],
        );
        Ok(bname)
    }

    /// The values of a float initializer (a scale).
    fn floats(&self, name: &str) -> Result<Vec<f32>, String> {
        let t = self
            .graph_inits
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("scale '{name}' must be an initializer"))?;
        nibble_onnx::tensor(t)?
            .data
            .floats()
            .ok_or_else(|| format!("scale '{name}' is not float"))
    }

    fn node(&mut self, n: &NodeProto) -> Result<(), String> {
        let out = n
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or("a quantized operator without an output")?
            .clone();
        // an attribute the QDQ group would not carry is refused, never dropped
        let known: &[&str] = match n.op_type.as_str() {
            "QLinearConv" => &CONV_ATTRS,
            "QGemm" => &GEMM_ATTRS,
            "QLinearGlobalAveragePool" => &["channels_last"],
            "QLinearAveragePool" => &AVG_POOL_ATTRS,
            "QLinearSoftmax" => &["axis", "opset"],
            "QLinearConcat" => &["axis"],
            "QLinearLeakyRelu" => &["alpha"],
            _ => &[],
        };
        if let Some(u) = nibble_onnx::Attrs::new(n).unknown(known).first() {
            return Err(format!("attribute '{u}' is not supported"));
        }
        if n.output.len() != 1 {
            return Err(format!("{} outputs (one expected)", n.output.len()));
        }
        match n.op_type.as_str() {
            "QLinearConv" => {
                let x = self.dq(n, 0, None, &format!("{out}_x"))?;
                let w = self.dq(n, 3, Some(0), &format!("{out}_w"))?;
                let mut inputs = vec![x, w];
                if optional(n, 8).is_some() {
                    inputs.push(self.bias(n, 8, 1, 4, &out)?);
                }
                let y = self.op(n, "Conv", inputs, &CONV_ATTRS, &out);
                self.q(n, y, 6, &out)
            }
            "QLinearMatMul" => {
                let a = self.dq(n, 0, None, &format!("{out}_a"))?;
                let b = self.dq(n, 3, Some(1), &format!("{out}_b"))?;
                let y = self.op(n, "MatMul", vec![a, b], &[], &out);
                self.q(n, y, 6, &out)
            }
            "QGemm" => {
                let trans_b = nibble_onnx::Attrs::new(n)
                    .int("transB")?
                    .is_some_and(|v| v != 0);
                let a = self.dq(n, 0, None, &format!("{out}_a"))?;
                let b = self.dq(n, 3, Some(if trans_b { 0 } else { 1 }), &format!("{out}_b"))?;
                let mut inputs = vec![a, b];
                if optional(n, 6).is_some() {
                    inputs.push(self.bias(n, 6, 1, 4, &out)?);
                }
                let y = self.op(n, "Gemm", inputs, &GEMM_ATTRS, &out);
                if optional(n, 7).is_some() {
                    self.q(n, y, 7, &out)
                } else {
                    // no output scale: the float result itself
                    self.push("Identity", vec![y], &out, vec![]);
                    Ok(())
                }
            }
            "QLinearAdd" => {
                let a = self.dq(n, 0, None, &format!("{out}_a"))?;
                let b = self.dq(n, 3, None, &format!("{out}_b"))?;
                let y = self.op(n, "Add", vec![a, b], &[], &out);
                self.q(n, y, 6, &out)
            }
            "QLinearMul" => {
                let a = self.dq(n, 0, None, &format!("{out}_a"))?;
                let b = self.dq(n, 3, None, &format!("{out}_b"))?;
                let y = self.op(n, "Mul", vec![a, b], &[], &out);
                self.q(n, y, 6, &out)
            }
            "QLinearSigmoid" | "QLinearLeakyRelu" => {
                let x = self.dq(n, 0, None, &format!("{out}_x"))?;
                let op = n.op_type.trim_start_matches("QLinear");
                let y = self.op(n, op, vec![x], &["alpha"], &out);
                self.q(n, y, 3, &out)
            }
            "QLinearConcat" => {
                // (Y_scale, Y_zero_point, then X, X_scale, X_zero_point for each input)
                if n.input.len() < 5 || (n.input.len() - 2) % 3 != 0 {
                    return Err(format!(
                        "{} inputs: QLinearConcat takes the output's scale and zero point, then three per input",
                        n.input.len()
                    ));
                }
                let mut xs = vec![];
                for k in 0..(n.input.len() - 2) / 3 {
                    xs.push(self.dq(n, 2 + 3 * k, None, &format!("{out}_x{k}"))?);
                }
                let y = self.op(n, "Concat", xs, &["axis"], &out);
                self.q(n, y, 0, &out)
            }
            "QLinearSoftmax" => {
                // `opset` is the one its axis follows (before 13: default 1, the rest
                // flattened); nibble takes the classes of N x C logits, where both agree
                let a = nibble_onnx::Attrs::new(n);
                let axis = a.int("axis")?;
                let opset = a
                    .int("opset")?
                    .ok_or("the attribute 'opset' is missing (QLinearSoftmax requires it)")?;
                self.same_zero_point_types(n, 2, 4)?;
                if optional(n, 2).is_none() || optional(n, 4).is_none() {
                    return Err("QLinearSoftmax takes both zero points (inputs 2 and 4)".into());
                }
                let x = self.dq(n, 0, None, &format!("{out}_x"))?;
                let name = self.op(n, "Softmax", vec![x], &["axis"], &out);
                if axis.is_none() && opset < 13 {
                    // the Softmax just pushed: its axis as the operator's opset defaults it
                    let softmax = self.nodes.last_mut().expect("pushed by op");
                    softmax.attribute.push(int_attr("axis", 1));
                }
                self.q(n, name, 3, &out)
            }
            "QLinearGlobalAveragePool" | "QLinearAveragePool" => {
                if nibble_onnx::Attrs::new(n)
                    .int("channels_last")?
                    .is_some_and(|v| v != 0)
                {
                    return Err("channels_last = 1 is not supported (NCHW activations only)".into());
                }
                self.same_zero_point_types(n, 2, 4)?;
                let x = self.dq(n, 0, None, &format!("{out}_x"))?;
                let op = n.op_type.trim_start_matches("QLinear");
                let attrs: &[&str] = if op == "AveragePool" {
                    &AVG_POOL_ATTRS[..]
                } else {
                    &[]
                };
                let attrs: Vec<&str> = attrs
                    .iter()
                    .copied()
                    .filter(|&a| a != "channels_last")
                    .collect();
                let y = self.op(n, op, vec![x], &attrs, &out);
                self.q(n, y, 3, &out)
            }
            other => Err(format!(
                "{other} is not a quantized operator nibble rewrites"
            )),
        }
    }
}

/// Input `i` of `n`, which must be there.
fn input(n: &NodeProto, i: usize) -> Result<String, String> {
    optional(n, i).ok_or_else(|| format!("input {i} is missing"))
}

/// Input `i` of `n` where it is given (absent or empty: an omitted optional input).
fn optional(n: &NodeProto, i: usize) -> Option<String> {
    n.input.get(i).filter(|s| !s.is_empty()).cloned()
}

/// An INT attribute.
pub(super) fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: v,
        ..Default::default()
    }
}
