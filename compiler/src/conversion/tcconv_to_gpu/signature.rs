//! What a tcconv op's kernel depends on, known before the kernel is built: ops with equal
//! signatures get the same kernel text but for its name, so `convert-tcconv-to-gpu` builds the
//! first one and launches it for the others with their own per-channel tables.
//!
//! The kernel builder reads an op's per-channel tables through `elementwise::chan`: a table
//! whose entries are all equal is baked in as a constant, any other becomes a kernel parameter
//! of which the code only knows its length and range (`TableRange`). So the signature is the
//! op with
//! - every table reduced to that: the value and length of a uniform one, else its length,
//!   range and whether every entry is a valid shift (the builder's check);
//! - every buffer and weight id replaced by what the kernel reads of it (layout, element type,
//!   dims; packing and dims of a weight, not its name);
//!
//! and the target and the kernel's argument types. [`op_table`] gives the values of the table a
//! kernel names `what` for another op of the same signature; the first build of every
//! signature checks it against the tables the builder recorded.

use nibble_qnn::graph::{ChannelScales, Epilogue, EpilogueKind};
use nibble_tcconv::program::{Elementwise, Program, TcOp};
use serde_json::{json, Value};

/// The signature of `op`'s kernel (its argument types `arg_types`) in program `p`; `early`:
/// the kernel lets its successor launch at its start ([`super::trigger_at_start`]).
pub fn signature(
    p: &Program,
    op: &TcOp,
    arg_types: &[String],
    early: bool,
) -> Result<String, String> {
    let mut v = serde_json::to_value(op).map_err(|e| e.to_string())?;
    reduce(p, &mut v)?;
    // the residual sum's bias limit, baked into the kernel, follows from the values of the
    // scales the reduced tables no longer hold
    let bound = match op {
        TcOp::Conv2d(c) => {
            let s = nibble_tcconv::select::ConvSpec::conv(c, &p.buffers, &p.weights);
            super::epilogue::ResidualSumBound::of_conv(&s)
        }
        _ => None,
    };
    Ok(format!(
        "{}{}{} ({}) {v}",
        p.target.name(),
        if early { " trigger at start" } else { "" },
        bound.map_or(String::new(), |b| format!(
            " residual bias limit {}",
            b.bias_limit
        )),
        arg_types.join(", ")
    ))
}

fn reduce(p: &Program, v: &mut Value) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                // ids are integers (a float `bias` is qnn.add's, baked into the code)
                let id = x.is_u64();
                match (k.as_str(), &*x) {
                    ("input" | "output" | "residual" | "second", _) if id => *x = buffer(p, x)?,
                    ("inputs", Value::Array(_)) => {
                        if let Value::Array(a) = x {
                            for b in a.iter_mut() {
                                *b = buffer(p, b)?;
                            }
                        }
                    }
                    ("weight" | "bias", _) if id => *x = weight(p, x)?,
                    ("multiplier", Value::Array(_)) => *x = class(&ints(x)?, false),
                    ("shift", Value::Array(_)) => *x = class(&ints(x)?, true),
                    ("scales" | "dequantize" | "offset", Value::Array(_)) => {
                        *x = class(&float_bits(x)?, false)
                    }
                    // a lookup's table is always loaded: only its size is in the code
                    ("table", Value::Array(a)) => *x = json!({"lut": a.len()}),
                    // which chain a conv is in is not in its code, only that it is in one (its plan then
                    // takes no cluster of its own: `chain_signature`)
                    ("chain", _) => *x = Value::Bool(!x.is_null()),
                    _ => reduce(p, x)?,
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                reduce(p, x)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn index(v: &Value) -> Result<usize, String> {
    v.as_u64()
        .map(|i| i as usize)
        .ok_or_else(|| format!("signature: {v} is not an index"))
}

fn buffer(p: &Program, v: &Value) -> Result<Value, String> {
    let b = p
        .buffers
        .get(index(v)?)
        .ok_or("signature: buffer out of range")?;
    Ok(json!([b.layout, b.elem, b.dims, b.narrow]))
}

fn weight(p: &Program, v: &Value) -> Result<Value, String> {
    let w = p
        .weights
        .get(index(v)?)
        .ok_or("signature: weight out of range")?;
    Ok(json!([
        w.packing,
        w.elem,
        w.dims,
        w.source_layout,
        w.space_to_depth,
        w.widened
    ]))
}

fn ints(v: &Value) -> Result<Vec<i32>, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            x.as_i64()
                .and_then(|x| i32::try_from(x).ok())
                .ok_or_else(|| format!("signature: {x} is not an i32"))
        })
        .collect()
}

fn float_bits(v: &Value) -> Result<Vec<i32>, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            x.as_f64()
                .map(|f| (f as f32).to_bits() as i32)
                .ok_or_else(|| format!("signature: {x} is not a float"))
        })
        .collect()
}

/// What the kernel knows of a table (see `elementwise::chan`).
fn class(vals: &[i32], shifts: bool) -> Value {
    let n = vals.len();
    match vals.first() {
        Some(&v0) if vals.iter().all(|&x| x == v0) => json!({"const": v0, "len": n}),
        _ => {
            // the builder's own classification: a kernel built for one class (the rounding on
            // the product's high word, or on its words for shifts in [1, 31]) is wrong for
            // another
            let range = format!("{:?}", super::elementwise::table_range(vals));
            let valid = !shifts || vals.iter().all(|x| (0..=62).contains(x));
            json!({"table": n, "range": range, "valid": valid})
        }
    }
}

/// The values of the table named `what` (the builder's parameter name) of `op`.
pub fn op_table(op: &TcOp, what: &str) -> Option<Vec<i32>> {
    // `{prefix}_{field}` (`elementwise::scale_params`), or the dequantize scales
    let (prefix, field) = match what {
        "deq_scale" => ("", what),
        _ => what.rsplit_once('_').unwrap_or(("", what)),
    };
    let scales = |s: &ChannelScales| match field {
        "mul" => Some(s.multiplier.clone()),
        "shift" => Some(s.shift.clone()),
        _ => None,
    };
    let epilogue = |e: &Epilogue| -> Option<Vec<i32>> {
        match prefix {
            "" => match &e.kind {
                EpilogueKind::Requantize { scales: s, .. }
                | EpilogueKind::Residual { scales: s, .. } => scales(s),
                EpilogueKind::None => None,
            },
            "res" => match &e.kind {
                EpilogueKind::Residual { residual, .. } => scales(residual),
                _ => None,
            },
            "sec" => scales(&e.second.as_ref()?.scales),
            "then" => scales(&e.then.as_ref()?.scales),
            _ => None,
        }
    };
    let bits = |f: &[f32]| f.iter().map(|x| x.to_bits() as i32).collect::<Vec<i32>>();
    match op {
        TcOp::Conv2d(c) => epilogue(&c.epilogue),
        TcOp::Dense(d) if what == "deq_scale" => d.dequantize.as_deref().map(bits),
        TcOp::Dense(d) if prefix == "pool" => scales(&d.pool.as_ref()?.requantize.as_ref()?.scales),
        TcOp::Dense(d) => epilogue(&d.epilogue),
        TcOp::Dequantize { scales, .. } if what == "deq_scale" => Some(bits(scales)),
        TcOp::Softmax { table, .. } if what == "softmax_exp" => Some(bits(table)),
        // a quantize's preprocessing constants, `pre{i}` (`elementwise::float_steps`)
        TcOp::Quantize { pre, .. } if what.starts_with("pre") => {
            Some(bits(&pre.get(what[3..].parse::<usize>().ok()?)?.k))
        }
        TcOp::Gather { indices, .. } if what == "chan_map" => Some(indices.clone()),
        TcOp::Elementwise { op, .. } => match (op, prefix) {
            (Elementwise::Requantize { offset, .. }, "") if field == "offset" => Some(bits(offset)),
            (Elementwise::Requantize { scales: s, .. }, "") => scales(s),
            (Elementwise::Add { lhs, .. }, "") => scales(lhs),
            (Elementwise::Add { rhs, .. }, "rhs") => scales(rhs),
            (Elementwise::Lookup { table }, "") if what == "lut" => Some(table.clone()),
            _ => None,
        },
        TcOp::Pool {
            requantize: Some(q),
            ..
        } if prefix.is_empty() => scales(&q.scales),
        TcOp::Pool {
            second: Some(s), ..
        } if prefix == "sec" => scales(&s.requantize.scales),
        _ => None,
    }
}

/// The signature of the kernel of a chain of convs (`chain.rs`): its convs' signatures in
/// order (`arg_types[i]`: conv `i`'s argument types).
pub fn chain_signature(
    p: &Program,
    convs: &[&TcOp],
    arg_types: &[Vec<String>],
) -> Result<String, String> {
    let sigs: Result<Vec<String>, String> = convs
        .iter()
        .zip(arg_types)
        .map(|(op, t)| signature(p, op, t, false))
        .collect();
    Ok(format!("chain of {}\n{}", convs.len(), sigs?.join("\n")))
}

/// The words of `op`'s state (`KernelBuilder::state`; a dense layer with a fused pool has one:
/// `dense_pool::state_words`).
pub fn state_words(p: &Program, op: &TcOp) -> Option<usize> {
    match op {
        TcOp::Dense(d) if d.pool.is_some() => {
            let [n, o, ..] = p.buffers.get(d.output)?.dims;
            Some(super::dense_pool::state_words(n, o) as usize)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::semantics::{ElemType, Layout, Rounding};
    use nibble_tcconv::buffer::ActBuffer;
    use nibble_tcconv::target::Target;

    fn program() -> Program {
        let b = |e| ActBuffer::new(Layout::NHWC, e, [1, 4, 2, 2]);
        Program {
            name: "t".into(),
            target: Target::Sm90,
            buffers: vec![
                b(ElemType::I32),
                b(ElemType::U4),
                b(ElemType::I32),
                b(ElemType::U4),
                b(ElemType::I8),
            ],
            weights: vec![],
            inputs: vec![],
            outputs: vec![],
            ops: vec![],
            pdl_trigger: Default::default(),
        }
    }

    fn requantize(input: usize, output: usize, multiplier: &[i32], shift: &[i32]) -> TcOp {
        TcOp::Elementwise {
            op: Elementwise::Requantize {
                offset: vec![],
                scales: ChannelScales {
                    multiplier: multiplier.to_vec(),
                    shift: shift.to_vec(),
                },
                rounding: Rounding::HalfToEven,
                zero_point: 0,
                clamp: [0, 15],
            },
            inputs: vec![input],
            output,
        }
    }

    #[test]
    fn ops_that_differ_only_in_table_values_share_a_signature() {
        let p = program();
        let sig = |op: &TcOp| signature(&p, op, &["memref<4xi32>".into()], false).unwrap();
        let a = requantize(0, 1, &[5, 6, 7, 8], &[33, 34, 35, 36]);
        // other buffers of the same types, other values of the same classes
        let b = requantize(2, 3, &[9, 10, 11, 12], &[40, 41, 42, 62]);
        assert_eq!(sig(&a), sig(&b));
        assert_eq!(op_table(&b, "mul"), Some(vec![9, 10, 11, 12]));
        assert_eq!(op_table(&b, "shift"), Some(vec![40, 41, 42, 62]));
        assert_eq!(op_table(&b, "rhs_mul"), None);
        // what the kernel's code depends on changes the signature: a uniform table's value (it
        // is baked in), a shift table's range (high / low / non-zero / with a 0) and validity, a
        // buffer's element type, the argument types
        let differ = [
            requantize(0, 1, &[5; 4], &[33, 34, 35, 36]),
            requantize(0, 1, &[5, 6, 7, 8], &[32, 34, 35, 36]),
            requantize(0, 1, &[5, 6, 7, 8], &[0, 34, 35, 36]),
            requantize(0, 1, &[5, 6, 7, 8], &[63, 34, 35, 36]),
            // shifts in [1, 31] round on the product's words (`TableRange::Low`); a table
            // mixing such a shift with a larger one must not take that kernel
            requantize(0, 1, &[5, 6, 7, 8], &[29, 30, 31, 30]),
            requantize(0, 1, &[5, 6, 7, 8], &[29, 30, 31, 40]),
            requantize(0, 4, &[5, 6, 7, 8], &[33, 34, 35, 36]),
        ];
        for d in &differ {
            assert_ne!(sig(&a), sig(d), "{d:?}");
        }
        assert_ne!(
            sig(&requantize(0, 1, &[5; 4], &[34; 4])),
            sig(&requantize(0, 1, &[6; 4], &[34; 4]))
        );
        assert_ne!(
            sig(&a),
            signature(&p, &a, &["memref<8xi32>".into()], false).unwrap()
        );
        // and where the kernel lets its successor launch (`tcconv.pdl_trigger`)
        assert_ne!(
            sig(&a),
            signature(&p, &a, &["memref<4xi32>".into()], true).unwrap()
        );
    }
}
