use super::*;
use nibble_onnx::proto::*;
use prost::Message;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/onnx");

fn fixture(name: &str) -> (Imported, Tensor, Tensor) {
    let bytes = std::fs::read(format!("{FIXTURES}/{name}.onnx")).unwrap();
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    (m, npy(name, "input"), npy(name, "ort"))
}

/// The fixture file `{name}.{what}.npy`.
fn npy(name: &str, what: &str) -> Tensor {
    Tensor::from_npy(&std::fs::read(format!("{FIXTURES}/{name}.{what}.npy")).unwrap()).unwrap()
}

/// The CPU reference of each imported fixture against ONNX Runtime's output on the same input
/// (8 images): bit for bit, logits included. The int8 fixtures run partly in float in ONNX
/// Runtime (convs on shared tensors, every conv of the INT4-weight model), which nibble's
/// integer forms match here but need not in general (see the module doc).
#[test]
fn imported_fixtures_equal_onnx_runtime_bit_for_bit() {
    for name in [
        "resnet_u8",
        "resnet_s8",
        "bottleneck_s8",
        "resnet_w4",
        "mobilenet_s8",
        "bottleneck_u8w",
        "resnet_qop_u8",
        "mobilenet_qop_s8",
        "biased_u8",
        "biased_qop_u8",
        "resnet_convf_u8",
        "vgg_u8",
        "qcdq_u4",
        "squeeze_u8",
        "squeeze_qop_u8",
        "mobilenetv3_u8",
        "efficientnet_u8",
        "efficientnet_qop_u8",
        "densenet_u8",
        "tanh_u8",
        "bn_rounding_u8",
        "inception_u8",
        "inception_s8",
        "inception_qop_s8",
        "softmax_u8",
        "softmax_s8",
        "softmax_qop_s8",
        "shufflenet_u8",
        "shufflenet_qop_u8",
        "exported_u8",
        "exported_qop_u8",
        "oddconv_u8",
        "oddconv_qop_s8",
        "floatarith_u8",
        "floatarith_s8",
        "normalized_u8",
        "normalized_s8",
        "exported_norm_u8",
        "exported_norm_s8",
    ] {
        let (m, input, ort) = fixture(name);
        nibble_qnn::verify::verify_graph(&m.graph).unwrap();
        let out = nibble_qnn::reference::run(&m.graph, &m.weights, &[input]).unwrap();
        assert_eq!(out[0].ty.shape, ort.ty.shape, "{name}");
        if let Some(i) = out[0].first_mismatch(&ort) {
            panic!(
                "{name}: element {i}: nibble {}, ONNX Runtime {}",
                out[0].show(i),
                ort.show(i)
            );
        }
    }
}

/// Inputs with NaN, +inf and -inf among their values (`*.nonfinite.*`, written by
/// make_onnx_fixtures.py): QuantizeLinear saturates the infinities and takes NaN to the type's
/// lowest value, as ONNX Runtime's x86 kernels do; the rest of the network is integer, so the
/// logits equal ONNX Runtime's bit for bit.
#[test]
fn nonfinite_inputs_quantize_as_onnx_runtime_does() {
    for name in ["resnet_u8", "mobilenet_qop_s8"] {
        let (m, _, _) = fixture(name);
        let (input, ort) = (npy(name, "nonfinite.input"), npy(name, "nonfinite.ort"));
        let out = nibble_qnn::reference::run(&m.graph, &m.weights, &[input]).unwrap();
        if let Some(i) = out[0].first_mismatch(&ort) {
            panic!(
                "{name}: element {i}: nibble {}, ONNX Runtime {}",
                out[0].show(i),
                ort.show(i)
            );
        }
    }
}

/// Models with int8 weights carry the note on ONNX Runtime's saturating u8 x s8 pairs (x86
/// without VNNI); INT4 weights do not, nor uint8 weights (stored centred as int8 parts).
#[test]
fn int8_weights_note_onnx_runtimes_saturating_pairs() {
    let saturating = |m: &Imported| m.notes.iter().any(|n| n.contains("saturated at int16"));
    assert!(saturating(&fixture("resnet_u8").0));
    assert!(saturating(&fixture("mobilenet_s8").0));
    assert!(!saturating(&fixture("resnet_w4").0));
    assert!(!saturating(&fixture("bottleneck_u8w").0));
}

/// The pieces the importer emits for ONNX Runtime's integer kernels: QuantizeLinear divides
/// and keeps the input's zero point, the stem conv (the raw input, padded) pads with it, the
/// other convs read centred values, requantizes round in f32.
#[test]
fn the_stem_pads_with_the_input_zero_point() {
    let (m, _, _) = fixture("resnet_u8");
    let g = &m.graph;
    let quantize = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Quantize { .. }))
        .unwrap();
    let Op::Quantize {
        zero_point, mode, ..
    } = quantize.op
    else {
        unreachable!()
    };
    assert_eq!(mode, QuantizeMode::Divide);
    assert!(zero_point != 0, "the fixture's input has a zero point");
    let stem = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Conv2d { .. }))
        .unwrap();
    let Op::Conv2d {
        padding_value,
        padding,
        ..
    } = stem.op
    else {
        unreachable!()
    };
    assert_eq!(
        padding_value, zero_point,
        "the raw input pads with its zero point"
    );
    assert!(padding.iter().any(|&p| p > 0));
    // every other conv reads a centred (post-relu, zero point 0) value: no padding value
    let others = g
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.op,
                Op::Conv2d {
                    padding_value: 0,
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        others,
        g.nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv2d { .. }))
            .count()
            - 1
    );
    assert!(g.nodes.iter().any(|n| matches!(
        n.op,
        Op::Requantize {
            rounding: Rounding::F32HalfToEven,
            ..
        }
    )));
    // residual adds are QLinearAdd's fused-multiply-add sum
    assert!(g.nodes.iter().any(|n| matches!(
        n.op,
        Op::Add {
            rounding: Rounding::F32Fma,
            ..
        }
    )));
}

#[test]
fn offsets_keep_values_narrow() {
    // int8 with zp -128 (after a relu) is a ui8 once centred; uint8 with zp 128 an i8
    assert_eq!(stored_type(ElemType::I8, -128), ElemType::U8);
    assert_eq!(best_offset(ElemType::I8, -128), -128);
    assert_eq!(stored_type(ElemType::U8, 128), ElemType::I8);
    assert_eq!(best_offset(ElemType::U8, 0), 0);
    // an arbitrary zero point stays raw (a centred value would need 16 bits)
    assert_eq!(stored_type(ElemType::I8, -2), ElemType::I16);
    assert_eq!(best_offset(ElemType::I8, -2), 0);
    assert_eq!(stored_type(ElemType::I4, -8), ElemType::U4);
}

fn tensor_i8(name: &str, dims: Vec<i64>, v: Vec<i8>) -> TensorProto {
    TensorProto {
        dims,
        data_type: data_type::INT8,
        name: name.into(),
        raw_data: v.into_iter().map(|x| x as u8).collect(),
        ..Default::default()
    }
}
fn tensor_f32(name: &str, dims: Vec<i64>, v: Vec<f32>) -> TensorProto {
    TensorProto {
        dims,
        data_type: data_type::FLOAT,
        name: name.into(),
        float_data: v,
        ..Default::default()
    }
}
fn scalar_f32(name: &str, v: f32) -> TensorProto {
    TensorProto {
        data_type: data_type::FLOAT,
        name: name.into(),
        float_data: vec![v],
        ..Default::default()
    }
}
fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A float tensor's value info.
fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            dim_value: Some(d),
                            dim_param: None,
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

/// An opset-21 model of `nodes` from float input `x` to float output `y`.
fn model_bytes(
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    x: &[i64],
    y: &[i64],
) -> Vec<u8> {
    ModelProto {
        ir_version: 10,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 21,
        }],
        producer_name: "test".into(),
        producer_version: String::new(),
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer,
            input: vec![value_info("x", x)],
            output: vec![value_info("y", y)],
            value_info: vec![],
        }),
    }
    .encode_to_vec()
}

/// input [1, 2, 4, 4] -> Q -> DQ -> `extra` node -> ...
fn model(extra: NodeProto, initializer: Vec<TensorProto>) -> Vec<u8> {
    model_nodes(vec![extra], initializer)
}

/// input [1, 2, 4, 4] -> Q -> DQ -> `extra` nodes (the last writes `y`).
fn model_nodes(extra: Vec<NodeProto>, initializer: Vec<TensorProto>) -> Vec<u8> {
    let mut init = vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])];
    init.extend(initializer);
    let nodes = vec![
        node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
        node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
    ];
    model_bytes(
        nodes.into_iter().chain(extra).collect(),
        init,
        &[1, 2, 4, 4],
        &[1, 2, 4, 4],
    )
}

#[test]
fn unsupported_nodes_are_named_with_their_op_type() {
    let bytes = model(node("Resize", "head", &["xf"], &["y"]), vec![]);
    let e = import_error(&bytes);
    assert!(
        e.contains("Resize node 'head'") && e.contains("not supported"),
        "{e}"
    );
    // a Softmax over a spatial map, and one ONNX Runtime runs in float (its output no
    // QuantizeLinear's input): named, with why
    let e = import_error(&model(node("Softmax", "sm", &["xf"], &["y"]), vec![]));
    assert!(
        e.contains("Softmax node 'sm'") && e.contains("N x C logits"),
        "{e}"
    );
    let mut flat = vec![
        node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
        node("Flatten", "f", &["xq"], &["xq2"]),
        node("DequantizeLinear", "dq", &["xq2", "s", "zp"], &["xf"]),
        node("Softmax", "sm", &["xf"], &["y"]),
    ];
    flat[1].attribute.push(AttributeProto {
        name: "axis".into(),
        r#type: attribute_type::INT,
        i: 1,
        ..Default::default()
    });
    let bytes = model_bytes(
        flat,
        vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])],
        &[1, 32, 1, 1],
        &[1, 32],
    );
    let e = import_error(&bytes);
    assert!(
        e.contains("Softmax node 'sm'") && e.contains("runs it in float"),
        "{e}"
    );
    let mut conv = node("Conv", "dw", &["xf", "w"], &["y"]);
    conv.attribute.push(AttributeProto {
        name: "dilations".into(),
        r#type: attribute_type::INTS,
        ints: vec![2, 2],
        ..Default::default()
    });
    let e = import_error(&model(conv, vec![]));
    assert!(e.contains("Conv node 'dw'"), "{e}");
}

#[test]
fn malformed_models_are_errors() {
    let bytes = model(node("Relu", "r", &["xf"], &["y"]), vec![]);
    for cut in [3, bytes.len() / 3, bytes.len() - 2] {
        assert!(
            import_onnx(&bytes[..cut], &OnnxOptions::default()).is_err(),
            "cut at {cut}"
        );
    }
    // a conv whose weight is not a constant
    let e = import_onnx(
        &model(node("Conv", "c", &["xf", "xf"], &["y"]), vec![]),
        &OnnxOptions::default(),
    )
    .err()
    .unwrap();
    assert!(e.contains("Conv node 'c'") && e.contains("weight"), "{e}");
    // batch and image size limits
    let e = import_onnx(
        &bytes,
        &OnnxOptions {
            batch: Some(0),
            image_size: None,
        },
    )
    .err()
    .unwrap();
    assert!(e.contains("--batch"), "{e}");
}

/// The diagnostic of an import that must fail.
fn import_error(bytes: &[u8]) -> String {
    import_onnx(bytes, &OnnxOptions::default())
        .err()
        .expect("the import fails")
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// input [1, 2, 5, 5] -> Q -> DQ -> Conv(3x3, pad 1, weight `w_nodes`, bias `b`) -> Q -> DQ.
fn conv_model(weight_nodes: Vec<NodeProto>, init: Vec<TensorProto>, bias: &str) -> Vec<u8> {
    let mut conv = node("Conv", "c", &["xf", "wf", bias], &["yf"]);
    conv.attribute.push(attr_ints("pads", &[1, 1, 1, 1]));
    let mut nodes = vec![
        node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
        node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
    ];
    nodes.extend(weight_nodes);
    nodes.extend([
        conv,
        node("QuantizeLinear", "qy", &["yf", "sy", "zp"], &["yq"]),
        node("DequantizeLinear", "dqy", &["yq", "sy", "zp"], &["y"]),
    ]);
    let mut inits = vec![
        scalar_f32("s", 0.05),
        scalar_f32("sy", 0.11),
        tensor_i8("zp", vec![], vec![3]),
    ];
    inits.extend(init);
    model_bytes(nodes, inits, &[1, 2, 5, 5], &[1, 3, 5, 5])
}

/// A fake-quantization export (QuantizeLinear of a float weight, a float bias) imports to the
/// same integers as the model with the quantized initializers written out: QuantizeLinear's
/// rounding for the weight, round(b / (x_scale * w_scale)) for the bias.
#[test]
fn quantize_of_float_constants_folds_at_import() {
    let mut rng = nibble_qnn::tensor::Rng(7);
    let wf: Vec<f32> = (0..3 * 2 * 9).map(|_| rng.normal() * 0.3).collect();
    let ws = [0.004f32, 0.006, 0.005];
    let bf = [0.31f32, -0.07, 0.5];
    let float_w = TensorProto {
        dims: vec![3, 2, 3, 3],
        data_type: data_type::FLOAT,
        name: "w".into(),
        float_data: wf.clone(),
        ..Default::default()
    };
    let wscale = TensorProto {
        dims: vec![3],
        data_type: data_type::FLOAT,
        name: "ws".into(),
        float_data: ws.to_vec(),
        ..Default::default()
    };
    let wzp = tensor_i8("wzp", vec![3], vec![0, 0, 0]);
    let mut qw = node("QuantizeLinear", "qw", &["w", "ws", "wzp"], &["wq"]);
    qw.attribute.push(qoperator::int_attr("axis", 0));
    let mut dqw = node("DequantizeLinear", "dqw", &["wq", "ws", "wzp"], &["wf"]);
    dqw.attribute.push(qoperator::int_attr("axis", 0));
    let bias = TensorProto {
        dims: vec![3],
        data_type: data_type::FLOAT,
        name: "b".into(),
        float_data: bf.to_vec(),
        ..Default::default()
    };
    let fake = conv_model(
        vec![qw, dqw.clone()],
        vec![float_w, wscale.clone(), wzp.clone(), bias],
        "b",
    );

    // the same model with int8 weights and int32 bias written out
    let wi: Vec<i8> = wf
        .iter()
        .enumerate()
        .map(|(i, &x)| (x / ws[i / 18]).round_ties_even().clamp(-128.0, 127.0) as i8)
        .collect();
    let bi: Vec<i32> = bf
        .iter()
        .zip(ws)
        .map(|(&b, s)| (b as f64 / (0.05f32 * s) as f64).round_ties_even() as i32)
        .collect();
    let wq = tensor_i8("wq", vec![3, 2, 3, 3], wi);
    let bq = TensorProto {
        dims: vec![3],
        data_type: data_type::INT32,
        name: "bq".into(),
        int32_data: bi,
        ..Default::default()
    };
    let bs = TensorProto {
        dims: vec![3],
        data_type: data_type::FLOAT,
        name: "bs".into(),
        float_data: ws.iter().map(|&s| 0.05 * s).collect(),
        ..Default::default()
    };
    let dqb = node("DequantizeLinear", "dqb", &["bq", "bs"], &["bf"]);
    let mut dqb = dqb;
    dqb.attribute.push(qoperator::int_attr("axis", 0));
    let written = conv_model(vec![dqw, dqb], vec![wq, wscale, wzp, bq, bs], "bf");

    let a = import_onnx(&fake, &OnnxOptions::default()).unwrap();
    let b = import_onnx(&written, &OnnxOptions::default()).unwrap();
    assert!(a.notes.iter().any(|n| n.starts_with("float biases")));
    let x = nibble_qnn::tensor::Rng(8).tensor(&a.graph.args[0]);
    let ya = nibble_qnn::reference::run(&a.graph, &a.weights, &[x.clone()]).unwrap();
    let yb = nibble_qnn::reference::run(&b.graph, &b.weights, &[x.clone()]).unwrap();
    assert_eq!(ya[0].floats(), yb[0].floats());
    let wa: Vec<_> = a
        .weights
        .tensors
        .values()
        .map(|t| t.ints().to_vec())
        .collect();
    let wb: Vec<_> = b
        .weights
        .tensors
        .values()
        .map(|t| t.ints().to_vec())
        .collect();
    assert_eq!(wa.len(), wb.len());
    for w in &wa {
        assert!(
            wb.contains(w),
            "weight {w:?} of the fake-quantized model is not among the written ones"
        );
    }
}

/// Int8 weights far from their zero point (`w - zp` beyond int8) run as int8 convs, one a part,
/// whose i32 results add exactly: two parts, and three for 127 - (-128) = 255.
#[test]
fn weights_beyond_int8_after_centring_split_into_int8_convs() {
    let weight = |vals: Vec<i8>, zp: i8| {
        assert_eq!(vals.len(), 54);
        let wq = tensor_i8("wq", vec![3, 2, 3, 3], vals);
        let ws = scalar_f32("ws", 0.01);
        let wzp = tensor_i8("wzp", vec![], vec![zp]);
        let dqw = node("DequantizeLinear", "dqw", &["wq", "ws", "wzp"], &["wf"]);
        let m = conv_model(vec![dqw], vec![wq, ws, wzp], "");
        import_onnx(&m, &OnnxOptions::default()).unwrap()
    };
    let ops = |m: &Imported, name: &str| {
        m.graph
            .nodes
            .iter()
            .filter(|n| n.op.mnemonic() == name)
            .count()
    };
    // the parts of every weight sum to its centred value
    let parts_sum_to = |m: &Imported, vals: &[i8], zp: i32, count: usize| {
        let parts: Vec<Vec<i32>> = m
            .weights
            .tensors
            .iter()
            .filter(|(k, _)| !k.ends_with("bias"))
            .map(|(_, t)| t.ints().to_vec())
            .collect();
        assert_eq!(parts.len(), count);
        for p in &parts {
            assert!(p.iter().all(|v| (-128..=127).contains(v)));
        }
        for (i, &v) in vals.iter().enumerate() {
            let sum: i32 = parts.iter().map(|p| p[i]).sum();
            assert_eq!(sum, v as i32 - zp, "weight {i}");
        }
    };
    // zero point -100: values up to 127 centre to 227
    let vals: Vec<i8> = (0..54).map(|i| (i * 37 % 256 - 128) as i8).collect();
    let m = weight(vals.clone(), -100);
    nibble_qnn::verify::verify_graph(&m.graph).unwrap();
    assert_eq!((ops(&m, "conv2d"), ops(&m, "add")), (2, 1));
    parts_sum_to(&m, &vals, -100, 2);
    // zero point 0: every value fits, one conv
    let m = weight(vals.clone(), 0);
    assert_eq!((ops(&m, "conv2d"), ops(&m, "add")), (1, 0));
    // zero point -128 with 127 among the weights: 255 takes three parts
    let mut vals = vals;
    vals[5] = 127;
    let m = weight(vals.clone(), -128);
    nibble_qnn::verify::verify_graph(&m.graph).unwrap();
    assert_eq!((ops(&m, "conv2d"), ops(&m, "add")), (3, 2));
    parts_sum_to(&m, &vals, -128, 3);
    let x = nibble_qnn::tensor::Rng(3).tensor(&m.graph.args[0]);
    let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x]).unwrap();
    assert_eq!(y[0].ty.shape, vec![1, 3, 5, 5]);
}

/// A DequantizeLinear straight into a QuantizeLinear of another scale becomes an f32
/// requantize by the ratio (noted: ONNX Runtime divides in float); blocked quantization is
/// refused by name.
#[test]
fn requantize_between_scales_and_blocked_quantization() {
    let nodes = vec![
        node("QuantizeLinear", "q2", &["xf", "s2", "zp"], &["x2"]),
        node("DequantizeLinear", "dq2", &["x2", "s2", "zp"], &["y"]),
    ];
    let bytes = model_nodes(nodes, vec![scalar_f32("s2", 0.3)]);
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    assert!(
        m.notes.iter().any(|n| n.starts_with("requantize")),
        "{:?}",
        m.notes
    );
    let x = Tensor::float(
        m.graph.args[0].clone(),
        (0..32).map(|i| i as f32 * 0.37 - 6.0).collect(),
    );
    let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
    // against the float definition: q1 = rne(x / 0.5), q2 = rne(q1 * 0.5 / 0.3); at most one
    // step apart, and equal where no rounding is near a half
    for (i, (&got, &xv)) in y[0].floats().iter().zip(x.floats()).enumerate() {
        let q1 = (xv / 0.5f32).round_ties_even().clamp(-128.0, 127.0);
        let q2 = ((q1 * 0.5f32) / 0.3f32)
            .round_ties_even()
            .clamp(-128.0, 127.0);
        assert!(
            (got - q2 * 0.3).abs() <= 0.3 * 1.001,
            "element {i}: {got} vs {}",
            q2 * 0.3
        );
    }
    let mut blocked = node("QuantizeLinear", "qb", &["xf", "s", "zp"], &["y"]);
    blocked
        .attribute
        .push(qoperator::int_attr("block_size", 32));
    let e = import_error(&model(blocked, vec![]));
    assert!(
        e.contains("QuantizeLinear node 'qb'") && e.contains("block_size"),
        "{e}"
    );
}

fn ms(mut n: NodeProto) -> NodeProto {
    n.domain = "com.microsoft".into();
    n
}

/// A QOperator graph imports as its QDQ form: a QLinearConv with bias followed by a
/// QLinearAdd gives the same qnn graph and outputs as the QuantizeLinear / DequantizeLinear
/// nodes around a float Conv and Add that ONNX Runtime fuses into those operators.
#[test]
fn qoperator_nodes_import_as_their_qdq_groups() {
    let init = vec![
        tensor_i8("w", vec![2, 2, 1, 1], vec![3, -5, 7, 2]),
        scalar_f32("sw", 0.25),
        scalar_f32("sy", 0.75),
        TensorProto {
            dims: vec![2],
            data_type: data_type::INT32,
            name: "b".into(),
            int32_data: vec![9, -4],
            ..Default::default()
        },
        scalar_f32("bs", 0.125),
    ];
    let qop = vec![
        node(
            "QLinearConv",
            "c",
            &["xq", "s", "zp", "w", "sw", "zp", "sy", "zp", "b"],
            &["yq"],
        ),
        ms(node(
            "QLinearAdd",
            "a",
            &["yq", "sy", "zp", "xq", "s", "zp", "s", "zp"],
            &["zq"],
        )),
        node("DequantizeLinear", "out", &["zq", "s", "zp"], &["y"]),
    ];
    let qdq = vec![
        node("DequantizeLinear", "dw", &["w", "sw", "zp"], &["wf"]),
        node("DequantizeLinear", "db", &["b", "bs"], &["bf"]),
        node("Conv", "c", &["xf", "wf", "bf"], &["yf"]),
        node("QuantizeLinear", "qy", &["yf", "sy", "zp"], &["yq"]),
        node("DequantizeLinear", "dy", &["yq", "sy", "zp"], &["yf2"]),
        node("Add", "a", &["yf2", "xf"], &["zf"]),
        node("QuantizeLinear", "qz", &["zf", "s", "zp"], &["zq"]),
        node("DequantizeLinear", "out", &["zq", "s", "zp"], &["y"]),
    ];
    let a = import_onnx(
        &model_nodes(qop.clone(), init.clone()),
        &OnnxOptions::default(),
    )
    .unwrap();
    let b = import_onnx(&model_nodes(qdq, init.clone()), &OnnxOptions::default()).unwrap();
    nibble_qnn::verify::verify_graph(&a.graph).unwrap();
    let ty = TensorType::new(vec![1, 2, 4, 4], ElemType::F32);
    let x = Tensor::float(ty, (0..32).map(|i| (i as f32 - 13.0) * 0.37).collect());
    let ya = nibble_qnn::reference::run(&a.graph, &a.weights, &[x.clone()]).unwrap();
    let yb = nibble_qnn::reference::run(&b.graph, &b.weights, &[x.clone()]).unwrap();
    assert_eq!(ya[0].first_mismatch(&yb[0]), None);
    assert_eq!(a.graph.nodes.len(), b.graph.nodes.len());
    // the ONNX model zoo's int8 CNNs are opset 12 QOperator models; opset 9 had no
    // QuantizeLinear
    let with_opset = |v: i64| {
        let mut m = ModelProto::decode(&model_nodes(qop.clone(), init.clone())[..]).unwrap();
        m.opset_import[0].version = v;
        m.encode_to_vec()
    };
    let c = import_onnx(&with_opset(12), &OnnxOptions::default()).unwrap();
    let yc = nibble_qnn::reference::run(&c.graph, &c.weights, &[x.clone()]).unwrap();
    assert_eq!(yc[0].first_mismatch(&ya[0]), None);
    let e = import_error(&with_opset(9));
    assert!(
        e.contains("opset 9") && e.contains("opset 10 and later"),
        "{e}"
    );
}

/// Quantized operators nibble does not rewrite are named; a channels-last
/// QLinearGlobalAveragePool and a bias scale that is no initializer are clear errors.
#[test]
fn unsupported_quantized_operators_are_named() {
    let sm = ms(node(
        "QLinearReduceMean",
        "sm",
        &["xq", "s", "zp", "s", "zp"],
        &["y"],
    ));
    let e = import_error(&model(sm, vec![]));
    assert!(
        e.contains("QLinearReduceMean node 'sm'") && e.contains("com.microsoft"),
        "{e}"
    );
    let mut gap = ms(node(
        "QLinearGlobalAveragePool",
        "gap",
        &["xq", "s", "zp", "s", "zp"],
        &["y"],
    ));
    gap.attribute.push(qoperator::int_attr("channels_last", 1));
    let e = import_error(&model(gap, vec![]));
    assert!(
        e.contains("QLinearGlobalAveragePool node 'gap'") && e.contains("channels_last"),
        "{e}"
    );
    let conv = node(
        "QLinearConv",
        "c",
        &["xq", "s", "zp", "w", "sw", "zp", "s", "zp", "b"],
        &["y"],
    );
    let w = tensor_i8("w", vec![2, 2, 1, 1], vec![1, 2, 3, 4]);
    let e = import_error(&model(conv, vec![w]));
    assert!(
        e.contains("QLinearConv node 'c'") && e.contains("'sw' must be an initializer"),
        "{e}"
    );
    // a bias added after a QLinearMatMul (QLinearAdd of a constant): named after the model's node
    let add = ms(node(
        "QLinearAdd",
        "fc_bias",
        &["xq", "s", "zp", "k", "s", "zp", "s", "zp"],
        &["y"],
    ));
    let k = tensor_i8("k", vec![1, 2, 4, 4], vec![1; 32]);
    let e = import_error(&model(add, vec![k]));
    assert!(e.contains("'fc_bias/Add'") && e.contains("constant"), "{e}");
}

/// input -> Q -> DQ -> Add with the DequantizeLinear of int8 constant `k` (dims `kdims`), the
/// constant first when `first` -> Q -> DQ.
fn add_constant_model(kdims: Vec<i64>, k: Vec<i8>, first: bool) -> Vec<u8> {
    let ins: [&str; 2] = if first { ["kf", "xf"] } else { ["xf", "kf"] };
    model_nodes(
        vec![
            node("DequantizeLinear", "dqk", &["k", "ks", "zp"], &["kf"]),
            node("Add", "add", &ins, &["sum"]),
            node("QuantizeLinear", "qy", &["sum", "s", "zp"], &["yq"]),
            node("DequantizeLinear", "dqy", &["yq", "s", "zp"], &["y"]),
        ],
        vec![tensor_i8("k", kdims, k), scalar_f32("ks", 0.25)],
    )
}

#[test]
fn adds_of_constants_are_requantizes_with_an_offset() {
    let fma_requantizes = |bytes: &[u8]| {
        let m = import_onnx(bytes, &OnnxOptions::default()).unwrap();
        nibble_qnn::verify::verify_graph(&m.graph).unwrap();
        m.graph
            .nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Requantize {
                    rounding: Rounding::F32Fma,
                    offset,
                    ..
                } => Some(offset.len()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // one value per channel (of 2), as [1, C, 1, 1] and as [C, 1, 1]
    assert_eq!(
        fma_requantizes(&add_constant_model(vec![1, 2, 1, 1], vec![3, -5], false)),
        [2]
    );
    assert_eq!(
        fma_requantizes(&add_constant_model(vec![2, 1, 1], vec![3, -5], false)),
        [2]
    );
    // one value, second operand or first
    assert_eq!(
        fma_requantizes(&add_constant_model(vec![], vec![7], false)),
        [1]
    );
    assert_eq!(
        fma_requantizes(&add_constant_model(vec![1], vec![7], true)),
        [1]
    );
    // a value per element, and a per-channel first operand (ONNX Runtime adds that one outside
    // the fused sum), are diagnosed
    let e = import_error(&add_constant_model(vec![2, 4, 4], vec![1; 32], false));
    assert!(
        e.contains("Add node 'add'") && e.contains("one value or one per channel"),
        "{e}"
    );
    let e = import_error(&add_constant_model(vec![1, 2, 1, 1], vec![3, -5], true));
    assert!(
        e.contains("Add node 'add'") && e.contains("first operand"),
        "{e}"
    );
}

/// An op reading a float result no QuantizeLinear gave integers (a partly quantized graph) is
/// diagnosed as such, with the node's name.
#[test]
fn float_results_left_unquantized_are_named() {
    let bytes = model_nodes(
        vec![
            node("Add", "sum", &["xf", "xf"], &["sum_out"]),
            node("GlobalAveragePool", "gap", &["sum_out"], &["y"]),
        ],
        vec![],
    );
    let e = import_error(&bytes);
    assert!(
        e.contains("GlobalAveragePool node 'gap'") && e.contains("left unquantized"),
        "{e}"
    );
}

/// conv_model with int8 weights (scale 0.01) and an int32 bias whose DequantizeLinear scale
/// is `bias_scale`; `weight_input` names what the weight's DequantizeLinear reads (`wq`, or
/// an Identity of it that `extra` makes).
fn int_conv_model(bias_scale: f32, extra: Vec<NodeProto>, weight_input: &str) -> Vec<u8> {
    let vals: Vec<i8> = (0..54).map(|i| (i * 29 % 17 - 8) as i8).collect();
    let bq = TensorProto {
        dims: vec![3],
        data_type: data_type::INT32,
        name: "bq".into(),
        int32_data: vec![40, -7, 13],
        ..Default::default()
    };
    let mut nodes = extra;
    nodes.push(node(
        "DequantizeLinear",
        "dqw",
        &[weight_input, "ws"],
        &["wf"],
    ));
    nodes.push(node("DequantizeLinear", "dqb", &["bq", "bs"], &["bf"]));
    conv_model(
        nodes,
        vec![
            tensor_i8("wq", vec![3, 2, 3, 3], vals),
            scalar_f32("ws", 0.01),
            bq,
            scalar_f32("bs", bias_scale),
        ],
        "bf",
    )
}

fn run_cpu(m: &Imported, seed: u64) -> Vec<f32> {
    let x = nibble_qnn::tensor::Rng(seed).tensor(&m.graph.args[0]);
    nibble_qnn::reference::run(&m.graph, &m.weights, &[x]).unwrap()[0]
        .floats()
        .to_vec()
}

/// An int32 bias is added to the accumulator as it is, so a conv's bias DequantizeLinear must
/// use the accumulator's scale (input scale x weight scale, what quantizers write); another
/// scale is refused by name instead of being ignored. (A Gemm's is added as ONNX Runtime's QGemm
/// adds it, with a note: quantize_static folds a Gemm's beta into its bias scale.)
#[test]
fn a_bias_at_another_scale_than_the_accumulators_is_refused() {
    let acc = 0.05f32 * 0.01;
    assert!(import_onnx(&int_conv_model(acc, vec![], "wq"), &OnnxOptions::default()).is_ok());
    let e = import_error(&int_conv_model(2.0 * acc, vec![], "wq"));
    assert!(
        e.contains("Conv node 'c'") && e.contains("bias 'bq'") && e.contains("accumulator"),
        "{e}"
    );
}

/// An Identity of an initializer (how exporters write a tied weight) is that initializer.
#[test]
fn an_identity_of_a_weight_is_the_weight() {
    let acc = 0.05f32 * 0.01;
    let direct = import_onnx(&int_conv_model(acc, vec![], "wq"), &OnnxOptions::default()).unwrap();
    let tied = int_conv_model(
        acc,
        vec![node("Identity", "tie", &["wq"], &["wq_tied"])],
        "wq_tied",
    );
    let tied = import_onnx(&tied, &OnnxOptions::default()).unwrap();
    assert_eq!(run_cpu(&direct, 4), run_cpu(&tied, 4));
}

/// Nodes stored out of topological order (ONNX Runtime accepts them) import as if in order;
/// a cycle is named.
#[test]
fn nodes_out_of_order_import_and_cycles_are_named() {
    let acc = 0.05f32 * 0.01;
    let bytes = int_conv_model(acc, vec![], "wq");
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    m.graph.as_mut().unwrap().node.reverse();
    let reversed = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    let stored = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    assert_eq!(run_cpu(&stored, 5), run_cpu(&reversed, 5));

    let cycle = model_nodes(
        vec![
            node("Add", "a1", &["xf", "b"], &["a"]),
            node("Relu", "r1", &["a"], &["b"]),
            node("Relu", "r2", &["b"], &["y"]),
        ],
        vec![],
    );
    let e = import_error(&cycle);
    assert!(
        e.contains("cycle") && (e.contains("'a1'") || e.contains("'r1'")),
        "{e}"
    );
}

/// Weight names are unique among all names given, including the `.k` suffixes of repeats
/// (`w/x`, `w_x` and `w_x.2` must stay three weights).
#[test]
fn weight_names_never_collide() {
    let g = GraphProto::default();
    let mut imp = Importer::new(&g).unwrap();
    let ty = TensorType::new(vec![1], ElemType::I8);
    for (i, n) in ["w/x", "w_x", "w_x.2", "w_x"].iter().enumerate() {
        imp.weight(n, ty.clone(), vec![i as i32]);
    }
    assert_eq!(imp.weights.tensors.len(), 4);
    let mut values: Vec<i32> = imp.weights.tensors.values().map(|t| t.ints()[0]).collect();
    values.sort();
    assert_eq!(values, vec![0, 1, 2, 3]);
}

/// A window larger than its (padded) input is the node's error, not a negative dimension
/// found later; `--image-size` on a declared size says so in a note.
#[test]
fn windows_and_image_sizes_are_checked_at_the_node() {
    let vals: Vec<i8> = vec![1; 3 * 2 * 7 * 7];
    let mut conv = node("Conv", "big", &["xf", "wf"], &["yf"]);
    conv.attribute.push(attr_ints("kernel_shape", &[7, 7]));
    let m = model_bytes(
        vec![
            node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
            node("DequantizeLinear", "dqw", &["wq", "ws"], &["wf"]),
            conv,
            node("QuantizeLinear", "qy", &["yf", "s", "zp"], &["yq"]),
            node("DequantizeLinear", "dqy", &["yq", "s", "zp"], &["y"]),
        ],
        vec![
            scalar_f32("s", 0.5),
            tensor_i8("zp", vec![], vec![0]),
            tensor_i8("wq", vec![3, 2, 7, 7], vals),
            scalar_f32("ws", 0.01),
        ],
        &[1, 2, 5, 5],
        &[1, 3, 1, 1],
    );
    let e = import_error(&m);
    assert!(
        e.contains("Conv node 'big'") && e.contains("7x7 window does not fit the 5x5 input"),
        "{e}"
    );
    // a declared 5x5 input at its own size, and at 9x9 with a note
    let fixed = int_conv_model(0.05 * 0.01, vec![], "wq");
    let at = |s| OnnxOptions {
        batch: None,
        image_size: Some([s, s]),
    };
    let resized = |m: &Imported| {
        m.notes
            .iter()
            .any(|n| n.contains("declared 5x5; imported at"))
    };
    assert!(!resized(&import_onnx(&fixed, &at(5)).unwrap()));
    let m = import_onnx(&fixed, &at(9)).unwrap();
    assert!(resized(&m));
    assert_eq!(m.graph.args[0].shape, vec![1, 2, 9, 9]);
    // a symbolic width takes --image-size, the declared height stays
    let mut g = ModelProto::decode(fixed.as_slice()).unwrap();
    let dims = &mut g.graph.as_mut().unwrap().input[0]
        .r#type
        .as_mut()
        .unwrap()
        .tensor_type
        .as_mut()
        .unwrap()
        .shape
        .as_mut()
        .unwrap()
        .dim;
    dims[3] = Dimension {
        dim_value: None,
        dim_param: Some("W".into()),
    };
    let partly = g.encode_to_vec();
    assert!(import_error(&partly).contains("give --image-size"));
    let m = import_onnx(&partly, &at(7)).unwrap();
    assert_eq!(m.graph.args[0].shape, vec![1, 2, 5, 7]);
    // HxW: a declared input imported at a size of another aspect, and a symbolic width
    let hw = |h, w| OnnxOptions {
        batch: None,
        image_size: Some([h, w]),
    };
    let m = import_onnx(&fixed, &hw(13, 11)).unwrap();
    assert!(resized(&m));
    assert_eq!(m.graph.args[0].shape, vec![1, 2, 13, 11]);
    let m = import_onnx(&partly, &hw(9, 6)).unwrap();
    assert_eq!(m.graph.args[0].shape, vec![1, 2, 5, 6]);
}

/// A Gemm over a flattened 2 x 4 x 4 map (a conv over the map) whose bias carries twice the
/// accumulator's scale (quantize_static folds a Gemm's beta into it): the int32 values are
/// added as ONNX Runtime's QGemm adds them, with a note; the map is never flattened itself.
#[test]
fn a_gemm_bias_at_another_scale_is_added_as_qgemm_adds_it() {
    let wv: Vec<i8> = (0..3 * 32).map(|i| (i * 7 % 13 - 6) as i8).collect();
    let bq = TensorProto {
        dims: vec![3],
        data_type: data_type::INT32,
        name: "bq".into(),
        int32_data: vec![100, -50, 7],
        ..Default::default()
    };
    let mut gemm = node("Gemm", "fc", &["flat", "wf", "bf"], &["yf"]);
    gemm.attribute.push(qoperator::int_attr("transB", 1));
    let m = model_bytes(
        vec![
            node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
            node("Flatten", "flatten", &["xf"], &["flat"]),
            node("DequantizeLinear", "dqw", &["wq", "ws"], &["wf"]),
            node("DequantizeLinear", "dqb", &["bq", "bs"], &["bf"]),
            gemm,
            node("QuantizeLinear", "qy", &["yf", "sy", "zp"], &["yq"]),
            node("DequantizeLinear", "dqy", &["yq", "sy", "zp"], &["y"]),
        ],
        vec![
            scalar_f32("s", 0.5),
            scalar_f32("sy", 0.25),
            tensor_i8("zp", vec![], vec![0]),
            tensor_i8("wq", vec![3, 32], wv.clone()),
            scalar_f32("ws", 0.01),
            bq,
            scalar_f32("bs", 2.0 * 0.5 * 0.01),
        ],
        &[1, 2, 4, 4],
        &[1, 3],
    );
    let imp = import_onnx(&m, &OnnxOptions::default()).unwrap();
    assert!(imp
        .notes
        .iter()
        .any(|n| n.contains("as ONNX Runtime's QGemm does")));
    assert!(!imp.graph.nodes.iter().any(|n| n.op.mnemonic() == "flatten"
        && imp.graph.value_type(n.operands[0]).shape[2..] != [1, 1]));
    // against the integers: y = clamp(round((x . w + b) * 0.5 * 0.01 / 0.25))
    let x = nibble_qnn::tensor::Rng(6).tensor(&imp.graph.args[0]);
    let y = nibble_qnn::reference::run(&imp.graph, &imp.weights, &[x.clone()]).unwrap();
    let xq: Vec<i64> = x
        .floats()
        .iter()
        .map(|&v| ((v / 0.5).round_ties_even() as i64).clamp(-128, 127))
        .collect();
    for o in 0..3 {
        let acc: i64 =
            (0..32).map(|k| xq[k] * wv[o * 32 + k] as i64).sum::<i64>() + [100, -50, 7][o];
        let want =
            ((acc as f32 * (0.5f32 * 0.01) / 0.25).round_ties_even() as i64).clamp(-128, 127);
        assert_eq!(y[0].floats()[o], want as f32 * 0.25, "output {o}");
    }
}

/// QCDQ (QuantizeLinear -> Clip -> DequantizeLinear on integers, as Brevitas writes fewer than
/// 8 bits): a Clip of an integer weight is the clamped weight, a Clip of a quantized activation
/// the clamp of its integers; and a Clip with opset-6 min / max attributes is the Clip with
/// bound inputs.
#[test]
fn integer_clips_and_clip_attributes() {
    let vals: Vec<i8> = (0..54).map(|i| (i * 29 % 31 - 15) as i8).collect();
    let clamped: Vec<i8> = vals.iter().map(|&v| v.clamp(-8, 7)).collect();
    let int_bound = |name: &str, v: i8| tensor_i8(name, vec![], vec![v]);
    // conv input [1, 2, 5, 5], zero point 3: Q -> [Clip] -> DQ -> Conv(weight [Clip]) -> Q -> DQ
    let build = |clip_w: bool, clip_x: bool| {
        let w_in = if clip_w { "wc" } else { "wq" };
        let x_in = if clip_x { "xc" } else { "xq" };
        let mut nodes = vec![node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"])];
        if clip_x {
            nodes.push(node("Clip", "clipx", &["xq", "lo", "hi"], &["xc"]));
        }
        nodes.push(node("DequantizeLinear", "dq", &[x_in, "s", "zp"], &["xf"]));
        if clip_w {
            nodes.push(node("Clip", "clipw", &["wq", "lo", "hi"], &["wc"]));
        }
        nodes.push(node("DequantizeLinear", "dqw", &[w_in, "ws"], &["wf"]));
        let mut conv = node("Conv", "c", &["xf", "wf"], &["yf"]);
        conv.attribute.push(attr_ints("pads", &[1, 1, 1, 1]));
        nodes.extend([
            conv,
            node("QuantizeLinear", "qy", &["yf", "sy", "zp"], &["yq"]),
            node("DequantizeLinear", "dqy", &["yq", "sy", "zp"], &["y"]),
        ]);
        let w = if clip_w {
            vals.clone()
        } else {
            clamped.clone()
        };
        model_bytes(
            nodes,
            vec![
                scalar_f32("s", 0.05),
                scalar_f32("sy", 0.11),
                tensor_i8("zp", vec![], vec![3]),
                tensor_i8("wq", vec![3, 2, 3, 3], w),
                scalar_f32("ws", 0.01),
                int_bound("lo", -8),
                int_bound("hi", 7),
            ],
            &[1, 2, 5, 5],
            &[1, 3, 5, 5],
        )
    };
    let run = |b: &[u8], x: &Tensor| {
        let m = import_onnx(b, &OnnxOptions::default()).unwrap();
        nibble_qnn::verify::verify_graph(&m.graph).unwrap();
        nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap()[0]
            .floats()
            .to_vec()
    };
    let m = import_onnx(&build(false, false), &OnnxOptions::default()).unwrap();
    let x = nibble_qnn::tensor::Rng(9).tensor(&m.graph.args[0]);
    // the weight clip folds into the constant
    assert_eq!(run(&build(true, false), &x), run(&build(false, false), &x));
    // the activation clip: the same as a float Clip of the dequantized input at the bounds'
    // real values ((-8 - 3) * 0.05, (7 - 3) * 0.05), and not a no-op on these inputs
    let with_clip = run(&build(false, true), &x);
    assert_ne!(with_clip, run(&build(false, false), &x));
    let x_clamped_by_hand = Tensor::float(
        x.ty.clone(),
        x.floats()
            .iter()
            .map(|&v| {
                let q = ((v / 0.05).round_ties_even() + 3.0).clamp(-8.0, 7.0);
                (q - 3.0) * 0.05
            })
            .collect(),
    );
    assert_eq!(with_clip, run(&build(false, false), &x_clamped_by_hand));

    // Clip(min = 0, max = 6) as opset-6 attributes and as opset-11 inputs
    let clip = |attrs: bool| {
        let mut c = if attrs {
            node("Clip", "relu6", &["xf"], &["cf"])
        } else {
            node("Clip", "relu6", &["xf", "zero", "six"], &["cf"])
        };
        if attrs {
            for (n, v) in [("min", 0.0f32), ("max", 6.0)] {
                c.attribute.push(AttributeProto {
                    name: n.into(),
                    r#type: attribute_type::FLOAT,
                    f: v,
                    ..Default::default()
                });
            }
        }
        model_nodes(
            vec![
                c,
                node("QuantizeLinear", "q2", &["cf", "s", "zp"], &["cq"]),
                node("DequantizeLinear", "dq2", &["cq", "s", "zp"], &["y"]),
            ],
            vec![scalar_f32("zero", 0.0), scalar_f32("six", 6.0)],
        )
    };
    let m = import_onnx(&clip(true), &OnnxOptions::default()).unwrap();
    let x = nibble_qnn::tensor::Rng(10).tensor(&m.graph.args[0]);
    assert_eq!(run(&clip(true), &x), run(&clip(false), &x));
}

/// MaxPool with `ceil_mode = 1`: ONNX Runtime's output size (rounded up, less one where the last
/// window would start past the input and its top / left padding) and values (windows clipped
/// to the input), against a direct computation on the quantized input, odd sizes included.
#[test]
fn ceil_mode_max_pools_round_up_as_onnx_runtime() {
    for (h, w, k, s, p) in [
        (5, 7, 3, 2, 1),
        (4, 4, 3, 2, 0),
        (7, 6, 2, 2, 0),
        (9, 5, 3, 3, 1),
        (6, 11, 2, 3, 1),
    ] {
        let mut mp = node("MaxPool", "pool", &["xf"], &["pf"]);
        mp.attribute.push(attr_ints("kernel_shape", &[k, k]));
        mp.attribute.push(attr_ints("strides", &[s, s]));
        mp.attribute.push(attr_ints("pads", &[p, p, p, p]));
        mp.attribute.push(qoperator::int_attr("ceil_mode", 1));
        let out = |n: i64| {
            let mut o = (n + 2 * p - k + s - 1) / s + 1;
            if (o - 1) * s >= n + p {
                o -= 1;
            }
            o
        };
        let (oh, ow) = (out(h), out(w));
        let m = model_bytes(
            vec![
                node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
                node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
                mp,
                node("QuantizeLinear", "q2", &["pf", "s", "zp"], &["pq"]),
                node("DequantizeLinear", "dq2", &["pq", "s", "zp"], &["y"]),
            ],
            vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])],
            &[1, 2, h, w],
            &[1, 2, oh, ow],
        );
        let imp = import_onnx(&m, &OnnxOptions::default()).unwrap();
        nibble_qnn::verify::verify_graph(&imp.graph).unwrap();
        let x = nibble_qnn::tensor::Rng(11).tensor(&imp.graph.args[0]);
        let y = nibble_qnn::reference::run(&imp.graph, &imp.weights, &[x.clone()]).unwrap();
        assert_eq!(y[0].ty.shape, vec![1, 2, oh, ow], "{h}x{w} k{k} s{s} p{p}");
        let q: Vec<f32> = x
            .floats()
            .iter()
            .map(|&v| (v / 0.5).round_ties_even().clamp(-128.0, 127.0) * 0.5)
            .collect();
        for c in 0..2 {
            for i in 0..oh {
                for j in 0..ow {
                    let mut best = f32::MIN;
                    for r in (i * s - p).max(0)..(i * s - p + k).min(h) {
                        for t in (j * s - p).max(0)..(j * s - p + k).min(w) {
                            best = best.max(q[((c * h + r) * w + t) as usize]);
                        }
                    }
                    let got = y[0].floats()[((c * oh + i) * ow + j) as usize];
                    assert_eq!(got, best, "{h}x{w} k{k} s{s} p{p} at {c},{i},{j}");
                }
            }
        }
    }
}

/// Malformed nodes and tensors that the operator schemas forbid are refused with the node's
/// name, never imported as something else: inputs and outputs beyond the schema, auto_pad with
/// explicit pads, an attribute of the wrong type, NaN in a quantized constant, scales of rank 2,
/// a zero point of the other signedness, opsets newer than nibble knows.
#[test]
fn what_the_operator_schemas_forbid_is_refused() {
    let w = || tensor_i8("wq", vec![3, 2, 3, 3], vec![1; 54]);
    let dqw = || node("DequantizeLinear", "dqw", &["wq", "ws", "wzp"], &["wf"]);
    let good = || {
        vec![
            w(),
            scalar_f32("ws", 0.01),
            tensor_i8("wzp", vec![], vec![0]),
        ]
    };
    import_onnx(
        &conv_model(vec![dqw()], good(), ""),
        &OnnxOptions::default(),
    )
    .unwrap();

    // a Conv with five inputs
    let mut conv = node("Conv", "c5", &["xf", "wf", "", "wf", "wf"], &["y"]);
    conv.attribute.push(attr_ints("pads", &[1, 1, 1, 1]));
    let e = import_error(&model_nodes(vec![dqw(), conv], good()));
    assert!(
        e.contains("Conv node 'c5'") && e.contains("5 inputs"),
        "{e}"
    );
    // a MaxPool whose Indices output is used
    let mut pool = node("MaxPool", "mp", &["xf"], &["y", "idx"]);
    pool.attribute.push(attr_ints("kernel_shape", &[2, 2]));
    let e = import_error(&model(pool, vec![]));
    assert!(
        e.contains("MaxPool node 'mp'") && e.contains("'idx'"),
        "{e}"
    );
    // auto_pad VALID with explicit pads
    let mut pool = node("MaxPool", "mp", &["xf"], &["y"]);
    pool.attribute.push(attr_ints("kernel_shape", &[2, 2]));
    pool.attribute.push(attr_ints("pads", &[1, 1, 1, 1]));
    pool.attribute.push(AttributeProto {
        name: "auto_pad".into(),
        r#type: attribute_type::STRING,
        s: b"VALID".to_vec(),
        ..Default::default()
    });
    let e = import_error(&model(pool, vec![]));
    assert!(
        e.contains("MaxPool node 'mp'") && e.contains("auto_pad 'VALID'"),
        "{e}"
    );
    // channels_last as a string
    let mut gap = ms(node(
        "QLinearGlobalAveragePool",
        "gap",
        &["xq", "s", "zp", "s", "zp"],
        &["y"],
    ));
    gap.attribute.push(AttributeProto {
        name: "channels_last".into(),
        r#type: attribute_type::STRING,
        s: b"yes".to_vec(),
        ..Default::default()
    });
    let e = import_error(&model(gap, vec![]));
    assert!(e.contains("'channels_last' is not an integer"), "{e}");
    // an attribute a QOperator node's QDQ group would drop
    let mut conv = node(
        "QLinearConv",
        "qc",
        &["xq", "s", "zp", "wq", "ws", "zp", "s", "zp"],
        &["y"],
    );
    conv.attribute.push(qoperator::int_attr("channels_last", 1));
    let e = import_error(&model(conv, vec![w(), scalar_f32("ws", 0.01)]));
    assert!(
        e.contains("QLinearConv node 'qc'") && e.contains("'channels_last'"),
        "{e}"
    );

    // QuantizeLinear of a float weight holding NaN
    let mut wf: Vec<f32> = (0..54).map(|i| i as f32 * 0.01).collect();
    wf[17] = f32::NAN;
    let float_w = TensorProto {
        dims: vec![3, 2, 3, 3],
        data_type: data_type::FLOAT,
        name: "w".into(),
        float_data: wf,
        ..Default::default()
    };
    let qw = node("QuantizeLinear", "qw", &["w", "ws", "wzp"], &["wq"]);
    let inits = vec![
        float_w,
        scalar_f32("ws", 0.01),
        tensor_i8("wzp", vec![], vec![0]),
    ];
    let e = import_error(&conv_model(vec![qw, dqw()], inits, ""));
    assert!(
        e.contains("QuantizeLinear node 'qw'") && e.contains("element 17 is NaN"),
        "{e}"
    );
    // a weight scale of dims [3, 1]
    let scale = TensorProto {
        dims: vec![3, 1],
        data_type: data_type::FLOAT,
        name: "ws".into(),
        float_data: vec![0.01; 3],
        ..Default::default()
    };
    let mut dq = dqw();
    dq.input.truncate(2);
    let e = import_error(&conv_model(vec![dq], vec![w(), scale], ""));
    assert!(e.contains("scale 'ws' has dims [3, 1]"), "{e}");
    // INT4 weights with a UINT4 zero point
    let four = |name: &str, ty: i32, dims: Vec<i64>, bytes: Vec<u8>| TensorProto {
        dims,
        data_type: ty,
        name: name.into(),
        raw_data: bytes,
        ..Default::default()
    };
    let inits = vec![
        four("wq", data_type::INT4, vec![3, 2, 3, 3], vec![0x11; 27]),
        scalar_f32("ws", 0.01),
        four("wzp", data_type::UINT4, vec![], vec![0]),
    ];
    let e = import_error(&conv_model(vec![dqw()], inits, ""));
    assert!(
        e.contains("INT4") && e.contains("UINT4") && e.contains("one type"),
        "{e}"
    );
    // an activation quantized to uint8 and dequantized with an int8 zero point
    let nodes = vec![
        node("QuantizeLinear", "q", &["x", "s", "uz"], &["xq"]),
        node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["y"]),
    ];
    let inits = vec![
        scalar_f32("s", 0.5),
        tensor_i8("zp", vec![], vec![0]),
        TensorProto {
            data_type: data_type::UINT8,
            name: "uz".into(),
            raw_data: vec![0],
            ..Default::default()
        },
    ];
    let e = import_error(&model_bytes(nodes, inits, &[1, 2, 4, 4], &[1, 2, 4, 4]));
    assert!(
        e.contains("DequantizeLinear node 'dq'") && e.contains("one type"),
        "{e}"
    );

    // an opset from the future, also beside a known one
    let mut m = ModelProto::decode(&conv_model(vec![dqw()], good(), "")[..]).unwrap();
    m.opset_import[0].version = 99;
    let e = import_error(&m.encode_to_vec());
    assert!(e.contains("opset 99"), "{e}");
    m.opset_import.insert(
        0,
        OperatorSetIdProto {
            domain: String::new(),
            version: 21,
        },
    );
    let e = import_error(&m.encode_to_vec());
    assert!(e.contains("default ONNX domain 2 times"), "{e}");

    // a Mul by a quantized constant: one value, or one a channel (N x C x 1 x 1); a constant
    // along the last axis (W) is named
    let mul = |dims: Vec<i64>, v: Vec<i8>| {
        let nodes = vec![
            node("DequantizeLinear", "dqc", &["cq", "s", "zp"], &["cf"]),
            node("Mul", "mc", &["cf", "xf"], &["y"]),
        ];
        model_nodes(nodes, vec![tensor_i8("cq", dims, v)])
    };
    for (dims, v) in [
        (vec![1], vec![3]),
        (vec![], vec![-2]),
        (vec![1, 2, 1, 1], vec![3, -5]),
    ] {
        import_onnx(&mul(dims.clone(), v), &OnnxOptions::default())
            .unwrap_or_else(|e| panic!("constant of dims {dims:?}: {e}"));
    }
    let e = import_error(&mul(vec![2], vec![3, 4]));
    assert!(
        e.contains("Mul node 'mc'") && e.contains("constant 'cf' of dims [2]"),
        "{e}"
    );
    // a float constant: an f32 step of the next QuantizeLinear's table; with none after it, the
    // float result is named
    let nodes = vec![
        node("Mul", "mf", &["xf", "s"], &["m"]),
        node("QuantizeLinear", "qm", &["m", "s", "zp"], &["mq"]),
        node("DequantizeLinear", "dqm", &["mq", "s", "zp"], &["y"]),
    ];
    import_onnx(&model_nodes(nodes, vec![]), &OnnxOptions::default()).unwrap();
    let nodes = vec![node("Mul", "mf", &["xf", "s"], &["y"])];
    let e = import_error(&model_nodes(nodes, vec![]));
    assert!(e.contains("output 'y'"), "{e}");

    // BatchNormalization: 1-D parameters, statistics per channel (spatial = 1)
    let f32t = |name: &str, dims: Vec<i64>, v: Vec<f32>| TensorProto {
        dims,
        data_type: data_type::FLOAT,
        name: name.into(),
        float_data: v,
        ..Default::default()
    };
    let bn_params = |gamma_dims: Vec<i64>| {
        vec![
            f32t("g", gamma_dims, vec![1.0, 2.0]),
            f32t("b", vec![2], vec![0.0, 0.5]),
            f32t("m", vec![2], vec![0.1, 0.2]),
            f32t("v", vec![2], vec![1.0, 1.5]),
        ]
    };
    let bn = || {
        node(
            "BatchNormalization",
            "bn",
            &["xf", "g", "b", "m", "v"],
            &["y"],
        )
    };
    let e = import_error(&model(bn(), bn_params(vec![2, 1, 1])));
    assert!(
        e.contains("BatchNormalization node 'bn'") && e.contains("1-D"),
        "{e}"
    );
    let mut spatial = bn();
    spatial.attribute.push(qoperator::int_attr("spatial", 0));
    let e = import_error(&model(spatial, bn_params(vec![2])));
    assert!(e.contains("spatial = 0"), "{e}");

    // names that must be unique: initializers, a node's attributes
    let mut twice = good();
    twice.push(tensor_i8("wq", vec![3, 2, 3, 3], vec![0; 54]));
    let e = import_error(&conv_model(vec![dqw()], twice, ""));
    assert!(e.contains("initializer 'wq' is defined twice"), "{e}");
    let mut m = ModelProto::decode(&conv_model(vec![dqw()], good(), "")[..]).unwrap();
    let conv = m
        .graph
        .as_mut()
        .unwrap()
        .node
        .iter_mut()
        .find(|n| n.op_type == "Conv")
        .unwrap();
    conv.attribute.insert(0, attr_ints("pads", &[0, 0, 0, 0]));
    let e = import_error(&m.encode_to_vec());
    assert!(
        e.contains("Conv node 'c'") && e.contains("'pads' is given twice"),
        "{e}"
    );
}

/// An AveragePool of uint8 values with zero point 128: QLinearAveragePool adds the zero point
/// before it rounds. The first window's taps are -19, 13, 0, 0 steps: an average a hair above
/// -1.5 steps, which plus 128 is 126.5 in f32 and rounds to 126, where rounding first gives
/// -1 + 128 = 127 (a stored offset of 128 did that). ONNX Runtime 1.32's output on this input:
/// [-0.1, 0.15].
#[test]
fn average_pools_add_the_zero_point_before_rounding() {
    let zp = TensorProto {
        data_type: data_type::UINT8,
        name: "z".into(),
        raw_data: vec![128],
        ..Default::default()
    };
    let mut pool = node("AveragePool", "pool", &["xd"], &["p"]);
    pool.attribute.push(attr_ints("kernel_shape", &[2, 2]));
    let m = model_bytes(
        vec![
            node("QuantizeLinear", "q", &["x", "s", "z"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "z"], &["xd"]),
            pool,
            node("QuantizeLinear", "q2", &["p", "s", "z"], &["pq"]),
            node("DequantizeLinear", "dq2", &["pq", "s", "z"], &["y"]),
        ],
        vec![scalar_f32("s", 0.05), zp],
        &[1, 1, 2, 3],
        &[1, 1, 1, 2],
    );
    let imp = import_onnx(&m, &OnnxOptions::default()).unwrap();
    let x = Tensor::float(
        imp.graph.args[0].clone(),
        vec![-0.95, 0.65, 0.0, 0.0, 0.0, 0.0],
    );
    let y = nibble_qnn::reference::run(&imp.graph, &imp.weights, &[x]).unwrap();
    assert_eq!(y[0].floats(), &[-0.1f32, 0.15][..]);
}

/// QLinearSoftmax / QLinearAveragePool as their schemas require them: the `opset` attribute
/// and both zero points of one type.
#[test]
fn quantized_softmax_and_pool_need_what_their_schemas_require() {
    let zu8 = TensorProto {
        data_type: data_type::UINT8,
        name: "zu".into(),
        raw_data: vec![0],
        ..Default::default()
    };
    let build = |op: &str, attrs: Vec<AttributeProto>, zy: &str| {
        let mut n = ms(node(op, "sm", &["xq", "s", "zu", "s", zy], &["y"]));
        n.attribute = attrs;
        let nodes = vec![node("QuantizeLinear", "q", &["x", "s", "zu"], &["xq"]), n];
        model_bytes(
            nodes,
            vec![
                scalar_f32("s", 0.5),
                zu8.clone(),
                tensor_i8("zp", vec![], vec![0]),
            ],
            &[1, 2, 4, 4],
            &[1, 2, 4, 4],
        )
    };
    let e = import_error(&build(
        "QLinearSoftmax",
        vec![qoperator::int_attr("axis", 1)],
        "zu",
    ));
    assert!(e.contains("'opset' is missing"), "{e}");
    let e = import_error(&build(
        "QLinearSoftmax",
        vec![qoperator::int_attr("opset", 13)],
        "zp",
    ));
    assert!(e.contains("UINT8 (input) and INT8 (output)"), "{e}");
    let e = import_error(&build(
        "QLinearAveragePool",
        vec![attr_ints("kernel_shape", &[2, 2])],
        "zp",
    ));
    assert!(e.contains("QLinearAveragePool takes one type"), "{e}");
}

fn tensor_i64(name: &str, v: Vec<i64>) -> TensorProto {
    TensorProto {
        dims: vec![v.len() as i64],
        data_type: data_type::INT64,
        name: name.into(),
        int64_data: v,
        ..Default::default()
    }
}

/// Split and the channel shuffle's Reshapes as ONNX defines them (opset 21 here): the sizes an
/// int64 input or num_outputs matching the outputs, a shape of int64, allowzero's zero-sized
/// dimensions refused, and a quantization inside the shuffle that would clamp (a narrower
/// type) refused rather than dropped.
#[test]
fn splits_and_shuffles_follow_the_schemas() {
    let split = |attrs: Vec<AttributeProto>, sizes: Option<&str>, outs: &[&str]| {
        let mut ins = vec!["xf"];
        ins.extend(sizes);
        let mut n = node("Split", "sp", &ins, outs);
        n.attribute = attrs;
        n
    };
    let axis = qoperator::int_attr("axis", 1);
    // sizes as an int32 input
    let mut s32 = tensor_i64("sz", vec![1, 1]);
    s32.data_type = data_type::INT32;
    s32.int64_data.clear();
    s32.int32_data = vec![1, 1];
    let e = import_error(&model_nodes(
        vec![split(vec![axis.clone()], Some("sz"), &["a", "b"])],
        vec![s32],
    ));
    assert!(e.contains("Split takes int64"), "{e}");
    let e = import_error(&model_nodes(
        vec![split(
            vec![axis.clone(), qoperator::int_attr("num_outputs", 3)],
            None,
            &["a", "b"],
        )],
        vec![],
    ));
    assert!(
        e.contains("num_outputs is 3 but the node has 2 outputs"),
        "{e}"
    );
    let e = import_error(&model_nodes(
        vec![split(vec![axis.clone()], None, &["a", "b"])],
        vec![],
    ));
    assert!(e.contains("needs the 'split' input or num_outputs"), "{e}");
    // a shuffle's 5-D shape with allowzero = 1 and a 0, and one of int32
    let mut r5 = node("Reshape", "r5", &["xf", "s5"], &["g"]);
    r5.attribute.push(qoperator::int_attr("allowzero", 1));
    let e = import_error(&model_nodes(
        vec![r5],
        vec![tensor_i64("s5", vec![0, 2, 1, 4, 4])],
    ));
    assert!(
        e.contains("allowzero = 1 makes a dimension of size 0"),
        "{e}"
    );
    let mut s5 = tensor_i64("s5", vec![1, 2, 1, 4, 4]);
    s5.data_type = data_type::INT32;
    s5.int64_data.clear();
    s5.int32_data = vec![1, 2, 1, 4, 4];
    let e = import_error(&model_nodes(
        vec![node("Reshape", "r5", &["xf", "s5"], &["g"])],
        vec![s5],
    ));
    assert!(e.contains("Reshape takes int64"), "{e}");
    // a 4-bit Q / DQ of the grouped view (ONNX Runtime would clamp to [-8, 7])
    let z4 = TensorProto {
        data_type: data_type::INT4,
        name: "z4".into(),
        raw_data: vec![0],
        ..Default::default()
    };
    let e = import_error(&model_nodes(
        vec![
            node("Reshape", "r5", &["xf", "s5"], &["g"]),
            node("QuantizeLinear", "q5", &["g", "s", "z4"], &["gq"]),
        ],
        vec![tensor_i64("s5", vec![1, 2, 1, 4, 4]), z4],
    ));
    assert!(e.contains("must keep its quantization"), "{e}");
}

/// A bool tensor (one byte a value).
fn tensor_bool(name: &str, v: Vec<bool>) -> TensorProto {
    TensorProto {
        dims: vec![v.len() as i64],
        data_type: data_type::BOOL,
        name: name.into(),
        raw_data: v.into_iter().map(u8::from).collect(),
        ..Default::default()
    }
}

/// x -> Q -> DQ -> GlobalAveragePool -> Q -> DQ (`pf`, N x C x 1 x 1) -> `head` (scale "s",
/// zero point "zp").
fn pooled(head: Vec<NodeProto>) -> Vec<NodeProto> {
    let mut nodes = vec![
        node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
        node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
        node("GlobalAveragePool", "gap", &["xf"], &["p"]),
        node("QuantizeLinear", "pq", &["p", "s", "zp"], &["pq"]),
        node("DequantizeLinear", "pdq", &["pq", "s", "zp"], &["pf"]),
    ];
    nodes.extend(head);
    nodes
}

/// The pooled head of [`pooled`] flattened by a Flatten (axis 1): the reference the other
/// spellings of N x C x 1 x 1 -> N x C are compared with.
fn flattened_pool(x: &[i64], y: &[i64]) -> Imported {
    let init = vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])];
    let head = pooled(vec![node("Flatten", "flat", &["pf"], &["y"])]);
    import_onnx(&model_bytes(head, init, x, y), &OnnxOptions::default()).unwrap()
}

/// Squeeze and Dropout take what ONNX Runtime's graph transformations leave integer: the
/// squeeze of a global pool's 1 x 1 map, a Dropout of inference (no mask, training mode a
/// constant false); anything else is named.
#[test]
fn squeezes_and_dropouts_of_inference_only() {
    // x [1, 2, 4, 4] -> Q -> DQ -> GlobalAveragePool -> Q -> DQ -> Squeeze(axes) -> y [1, 2]
    let squeeze = |axes: Option<Vec<i64>>, out: &str| {
        let mut init = vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])];
        let mut sq = node("Squeeze", "sq", &["pf"], &[out]);
        if let Some(a) = axes {
            init.push(tensor_i64("axes", a));
            sq.input.push("axes".into());
        }
        model_bytes(pooled(vec![sq]), init, &[1, 2, 4, 4], &[1, 2])
    };
    let flat = flattened_pool(&[1, 2, 4, 4], &[1, 2]);
    for axes in [vec![2, 3], vec![-1, -2], vec![3, 2]] {
        let m = import_onnx(&squeeze(Some(axes.clone()), "y"), &OnnxOptions::default())
            .unwrap_or_else(|e| panic!("axes {axes:?}: {e}"));
        assert_eq!(run_cpu(&m, 3), run_cpu(&flat, 3), "axes {axes:?}");
    }
    let e = import_error(&squeeze(None, "y"));
    assert!(
        e.contains("Squeeze node 'sq'") && e.contains("without axes"),
        "{e}"
    );
    let e = import_error(&squeeze(Some(vec![0, 2]), "y"));
    assert!(
        e.contains("Squeeze node 'sq'") && e.contains("[0, 2]"),
        "{e}"
    );

    // x -> Q -> DQ -> Dropout -> Relu -> y
    let dropout = |extra: Vec<&str>, mask: bool, init: Vec<TensorProto>| {
        let mut d = node("Dropout", "drop", &["xf"], &["d"]);
        d.input.extend(extra.iter().map(|s| s.to_string()));
        if mask {
            d.output.push("mask".into());
        }
        model_nodes(vec![d, node("Relu", "r", &["d"], &["y"])], init)
    };
    import_onnx(&dropout(vec![], false, vec![]), &OnnxOptions::default()).unwrap();
    let off = vec![scalar_f32("ratio", 0.5), tensor_bool("train", vec![false])];
    import_onnx(
        &dropout(vec!["ratio", "train"], false, off),
        &OnnxOptions::default(),
    )
    .unwrap();
    let on = vec![scalar_f32("ratio", 0.5), tensor_bool("train", vec![true])];
    let e = import_error(&dropout(vec!["ratio", "train"], false, on));
    assert!(
        e.contains("Dropout node 'drop'") && e.contains("constant false"),
        "{e}"
    );
    let e = import_error(&dropout(vec![], true, vec![]));
    assert!(
        e.contains("Dropout node 'drop'") && e.contains("mask"),
        "{e}"
    );
}

/// torch's `x.view(x.size(0), -1)` exports as Shape -> Gather -> Unsqueeze -> Concat ->
/// Reshape: folded at import into the flatten it computes (with the imported batch); an index
/// outside the shape is named.
#[test]
fn shape_arithmetic_folds_as_onnx_runtime_folds_it() {
    let chain = |index: i64| {
        let init = vec![
            scalar_f32("s", 0.5),
            tensor_i8("zp", vec![], vec![0]),
            TensorProto {
                data_type: data_type::INT64,
                name: "i".into(),
                int64_data: vec![index],
                ..Default::default()
            },
            tensor_i64("axes", vec![0]),
            tensor_i64("rest", vec![-1]),
        ];
        let nodes = pooled(vec![
            node("Shape", "shape", &["pf"], &["sh"]),
            node("Gather", "gather", &["sh", "i"], &["n"]),
            node("Unsqueeze", "unsq", &["n", "axes"], &["n1"]),
            NodeProto {
                attribute: vec![AttributeProto {
                    name: "axis".into(),
                    r#type: attribute_type::INT,
                    i: 0,
                    ..Default::default()
                }],
                ..node("Concat", "cat", &["n1", "rest"], &["target"])
            },
            node("Reshape", "view", &["pf", "target"], &["y"]),
        ]);
        model_bytes(nodes, init, &[3, 2, 4, 4], &[3, 2])
    };
    // the same network as a Flatten of the pooled map; index -4 is the batch too
    let flat = flattened_pool(&[3, 2, 4, 4], &[3, 2]);
    for index in [0, -4] {
        let m = import_onnx(&chain(index), &OnnxOptions::default()).unwrap();
        assert_eq!(run_cpu(&m, 1), run_cpu(&flat, 1), "index {index}");
    }
    // 4 is past the shape
    let e = import_error(&chain(4));
    assert!(
        e.contains("Gather node 'gather'") && e.contains("index 4"),
        "{e}"
    );
}

/// com.microsoft's QuantizeLinear / DequantizeLinear (`UseQDQContribOps`) import as ONNX's: the
/// same network, the same output.
#[test]
fn contrib_quantize_dequantize_import_as_onnx_ones() {
    let relu = || model(node("Relu", "r", &["xf"], &["y"]), vec![]);
    let plain = import_onnx(&relu(), &OnnxOptions::default()).unwrap();
    let mut m = ModelProto::decode(relu().as_slice()).unwrap();
    for n in &mut m.graph.as_mut().unwrap().node {
        if n.op_type.ends_with("Linear") {
            n.domain = "com.microsoft".into();
        }
    }
    m.opset_import.push(OperatorSetIdProto {
        domain: "com.microsoft".into(),
        version: 1,
    });
    let contrib = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    assert_eq!(run_cpu(&contrib, 5), run_cpu(&plain, 5));
    assert_eq!(contrib.graph.nodes.len(), plain.graph.nodes.len());
}

/// A Transpose of a weight (MatMul(x, Transpose(W))) is folded at import: the same network as
/// the weight written transposed; a perm that is no permutation is named.
#[test]
fn transposes_of_constants_fold() {
    let w: Vec<i8> = vec![3, -1, 4, 1, -5, 9]; // W [3, 2], so W^T [2, 3]
    let wt: Vec<i8> = vec![3, 4, -5, -1, 1, 9];
    let head = |transposed: Option<Vec<i64>>| {
        let mut nodes = vec![node("Flatten", "flat", &["pf"], &["f"])];
        let init = match &transposed {
            Some(perm) => {
                let mut t = node("Transpose", "tw", &["wq"], &["wqt"]);
                if !perm.is_empty() {
                    t.attribute.push(attr_ints("perm", perm));
                }
                nodes.push(t);
                nodes.push(node("DequantizeLinear", "dqw", &["wqt", "s"], &["wf"]));
                tensor_i8("wq", vec![3, 2], w.clone())
            }
            None => {
                nodes.push(node("DequantizeLinear", "dqw", &["wq", "s"], &["wf"]));
                tensor_i8("wq", vec![2, 3], wt.clone())
            }
        };
        nodes.push(node("MatMul", "mm", &["f", "wf"], &["y"]));
        let inits = vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0]), init];
        model_bytes(pooled(nodes), inits, &[1, 2, 4, 4], &[1, 3])
    };
    let plain = import_onnx(&head(None), &OnnxOptions::default()).unwrap();
    for perm in [vec![1, 0], vec![]] {
        let folded = import_onnx(&head(Some(perm.clone())), &OnnxOptions::default())
            .unwrap_or_else(|e| panic!("perm {perm:?}: {e}"));
        assert_eq!(run_cpu(&folded, 7), run_cpu(&plain, 7), "perm {perm:?}");
    }
    let e = import_error(&head(Some(vec![0, 0])));
    assert!(
        e.contains("Transpose node 'tw'") && e.contains("not a permutation"),
        "{e}"
    );
}

/// ReduceMean over the spatial axes (tf2onnx's global average pool) imports as
/// QLinearAveragePool's f32 average with a note, flattened without keepdims or by a Flatten /
/// Squeeze before its QuantizeLinear (the same values each way); other axes are named.
#[test]
fn spatial_reduce_means_are_f32_averages() {
    let mean = |axes: &[i64], keepdims: i64, flatten: Option<&str>| {
        let mut r = node("ReduceMean", "rm", &["xf"], &["m"]);
        r.attribute.push(attr_ints("axes", axes));
        r.attribute.push(AttributeProto {
            name: "keepdims".into(),
            r#type: attribute_type::INT,
            i: keepdims,
            ..Default::default()
        });
        let mut nodes = vec![
            node("QuantizeLinear", "q", &["x", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["xf"]),
            r,
        ];
        let m = match flatten {
            Some("Squeeze") => {
                let mut sq = node("Squeeze", "f", &["m"], &["mf"]);
                sq.attribute.push(attr_ints("axes", &[2, 3]));
                nodes.push(sq);
                "mf"
            }
            Some(op) => {
                nodes.push(node(op, "f", &["m"], &["mf"]));
                "mf"
            }
            None => "m",
        };
        nodes.push(node("QuantizeLinear", "mq", &[m, "s", "zp"], &["mqq"]));
        nodes.push(node("DequantizeLinear", "mdq", &["mqq", "s", "zp"], &["y"]));
        let inits = vec![scalar_f32("s", 0.5), tensor_i8("zp", vec![], vec![0])];
        // opset 13: axes as an attribute
        let mut m =
            ModelProto::decode(&model_bytes(nodes, inits, &[2, 3, 5, 5], &[2, 3])[..]).unwrap();
        m.opset_import[0].version = 13;
        m.encode_to_vec()
    };
    let mut outs = vec![];
    for (axes, keep, flatten) in [(&[2, 3][..], 0, None), (&[-1, -2][..], 1, Some("Flatten"))] {
        let m = import_onnx(&mean(axes, keep, flatten), &OnnxOptions::default())
            .unwrap_or_else(|e| panic!("axes {axes:?}: {e}"));
        assert!(
            m.notes.iter().any(|n| n.contains("ReduceMean")),
            "{:?}",
            m.notes
        );
        outs.push(run_cpu(&m, 2));
        assert_eq!(outs.last().unwrap().len(), 2 * 3, "axes {axes:?}");
    }
    // a Squeeze of axes [2, 3] (opset 13: an int64 input) after a keepdims mean
    let squeeze = {
        let mut m = ModelProto::decode(&mean(&[2, 3], 1, Some("Squeeze"))[..]).unwrap();
        let g = m.graph.as_mut().unwrap();
        let sq = g.node.iter_mut().find(|n| n.op_type == "Squeeze").unwrap();
        sq.attribute.clear();
        sq.input.push("ax".into());
        g.initializer.push(TensorProto {
            name: "ax".into(),
            dims: vec![2],
            data_type: 7, // INT64
            int64_data: vec![2, 3],
            ..Default::default()
        });
        m.encode_to_vec()
    };
    let m = import_onnx(&squeeze, &OnnxOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    outs.push(run_cpu(&m, 2));
    assert!(outs.iter().all(|o| *o == outs[0]), "{outs:?}");
    let e = import_error(&mean(&[1], 0, None));
    assert!(
        e.contains("ReduceMean node 'rm'") && e.contains("axes [1]"),
        "{e}"
    );
}

/// A constant Pad by the zero point (0.0 before quantization) before a Conv folds into the
/// conv's padding: the same network as the conv padding itself; other modes and values are
/// named.
#[test]
fn pads_by_the_zero_point_fold_into_the_conv() {
    let direct = import_onnx(
        &int_conv_model(0.05 * 0.01, vec![], "wq"),
        &OnnxOptions::default(),
    )
    .unwrap();
    let padded = |mode: &str, value: Option<f32>| {
        let mut m = ModelProto::decode(&int_conv_model(0.05 * 0.01, vec![], "wq")[..]).unwrap();
        let g = m.graph.as_mut().unwrap();
        let c = g.node.iter_mut().find(|n| n.op_type == "Conv").unwrap();
        c.input[0] = "pf".into();
        c.attribute.retain(|a| a.name != "pads");
        let mut pad = node("Pad", "pad", &["xf", "pads"], &["p"]);
        pad.attribute.push(AttributeProto {
            name: "mode".into(),
            r#type: attribute_type::STRING,
            s: mode.as_bytes().to_vec(),
            ..Default::default()
        });
        if let Some(v) = value {
            g.initializer.push(scalar_f32("pv", v));
            pad.input.push("pv".into());
        }
        g.initializer
            .push(tensor_i64("pads", vec![0, 0, 1, 1, 0, 0, 1, 1]));
        let at = g.node.iter().position(|n| n.op_type == "Conv").unwrap();
        g.node.insert(
            at,
            node("DequantizeLinear", "pdq", &["pq", "s", "zp"], &["pf"]),
        );
        g.node.insert(
            at,
            node("QuantizeLinear", "pqq", &["p", "s", "zp"], &["pq"]),
        );
        g.node.insert(at, pad);
        m.encode_to_vec()
    };
    for value in [None, Some(0.0)] {
        let m = import_onnx(&padded("constant", value), &OnnxOptions::default())
            .unwrap_or_else(|e| panic!("value {value:?}: {e}"));
        assert_eq!(run_cpu(&m, 4), run_cpu(&direct, 4), "value {value:?}");
    }
    // an Identity between the Pad and its quantization changes nothing
    let mut m = ModelProto::decode(&padded("constant", None)[..]).unwrap();
    let g = m.graph.as_mut().unwrap();
    let q = g.node.iter_mut().find(|n| n.name == "pqq").unwrap();
    q.input[0] = "pi".into();
    let at = g.node.iter().position(|n| n.name == "pqq").unwrap();
    g.node.insert(at, node("Identity", "pid", &["p"], &["pi"]));
    let m = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    assert_eq!(run_cpu(&m, 4), run_cpu(&direct, 4));
    // a Pad of the float input before its QuantizeLinear (0.0 quantizes to the zero point)
    let mut m = ModelProto::decode(&int_conv_model(0.05 * 0.01, vec![], "wq")[..]).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.node
        .iter_mut()
        .find(|n| n.op_type == "Conv")
        .unwrap()
        .attribute
        .retain(|a| a.name != "pads");
    g.node.iter_mut().find(|n| n.name == "q").unwrap().input[0] = "xp".into();
    g.initializer
        .push(tensor_i64("pads", vec![0, 0, 1, 1, 0, 0, 1, 1]));
    g.node
        .insert(0, node("Pad", "inpad", &["x", "pads"], &["xp"]));
    let m = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    assert_eq!(run_cpu(&m, 4), run_cpu(&direct, 4));
    let e = import_error(&padded("reflect", None));
    assert!(
        e.contains("Pad node 'pad'") && e.contains("constant-mode"),
        "{e}"
    );
    let e = import_error(&padded("constant", Some(0.5)));
    assert!(
        e.contains("Pad node 'pad'") && e.contains("a Pad by 0.5"),
        "{e}"
    );
}

/// A bias at the end of i32 (quantizers clamp there; a dead channel's folded batch norm gets
/// there) is noted at import, naming the node and channel: the accumulator can leave i32.
#[test]
fn accumulators_that_can_leave_i32_are_noted() {
    let mut m = ModelProto::decode(&int_conv_model(0.05 * 0.01, vec![], "wq")[..]).unwrap();
    let plain = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    assert!(
        !plain.notes.iter().any(|n| n.contains("past i32")),
        "{:?}",
        plain.notes
    );
    let g = m.graph.as_mut().unwrap();
    let b = g.initializer.iter_mut().find(|t| t.name == "bq").unwrap();
    b.int32_data[1] = i32::MAX;
    let wide = import_onnx(&m.encode_to_vec(), &OnnxOptions::default()).unwrap();
    assert!(
        wide.notes.iter().any(|n| n.contains("Conv node 'c'")
            && n.contains("channel 1")
            && n.contains("past i32")),
        "{:?}",
        wide.notes
    );
}

/// Sub and Div of float constants between a DequantizeLinear and a QuantizeLinear (what
/// quantize_static leaves in float) are one table of the quantized values: each entry the f32
/// operations in ONNX Runtime's order, one rounding each, compared here with that arithmetic
/// written out (per-channel Sub, Div by one value, a constant minus the map).
#[test]
fn float_arithmetic_of_constants_is_a_table_of_f32_operations() {
    let c = tensor_f32("c", vec![1, 2, 1, 1], vec![0.3, -1.1]);
    let bytes = model_nodes(
        vec![
            node("Sub", "sub", &["xf", "c"], &["a"]),
            node("Div", "div", &["a", "d"], &["b"]),
            node("Sub", "rsub", &["k", "b"], &["e"]),
            node("QuantizeLinear", "q2", &["e", "s2", "zp"], &["eq"]),
            node("DequantizeLinear", "dq2", &["eq", "s2", "zp"], &["y"]),
        ],
        vec![
            c,
            scalar_f32("d", 1.7),
            scalar_f32("k", 0.25),
            scalar_f32("s2", 0.07),
        ],
    );
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    let mut rng = nibble_qnn::tensor::Rng(11);
    for _ in 0..4 {
        let x = rng.tensor(&m.graph.args[0]);
        // the whole int8 range and past it
        let x = Tensor::float(x.ty.clone(), x.floats().iter().map(|v| v * 40.0).collect());
        let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
        let q = |v: f32, s: f32| ((v / s).round_ties_even()).clamp(-128.0, 127.0);
        for (i, (&xv, &yv)) in x.floats().iter().zip(y[0].floats()).enumerate() {
            let ch = (i / 16) % 2;
            let xf = q(xv, 0.5) * 0.5;
            let e = 0.25f32 - (xf - [0.3f32, -1.1][ch]) / 1.7f32;
            assert_eq!(yv, q(e, 0.07) * 0.07, "element {i}: x = {xv}");
        }
    }
}

/// Add and Mul of a plain float constant (nodes a quantizer left in float) take the same path.
#[test]
fn float_add_and_mul_of_constants_are_tables_too() {
    let c = tensor_f32("c", vec![2, 1, 1], vec![0.75, -2.5]);
    let bytes = model_nodes(
        vec![
            node("Mul", "mul", &["xf", "c"], &["a"]),
            node("Add", "add", &["k", "a"], &["e"]),
            node("QuantizeLinear", "q2", &["e", "s2", "zp"], &["eq"]),
            node("DequantizeLinear", "dq2", &["eq", "s2", "zp"], &["y"]),
        ],
        vec![c, scalar_f32("k", -0.4), scalar_f32("s2", 0.3)],
    );
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    let x = nibble_qnn::tensor::Rng(5).tensor(&m.graph.args[0]);
    let x = Tensor::float(x.ty.clone(), x.floats().iter().map(|v| v * 30.0).collect());
    let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
    let q = |v: f32, s: f32| ((v / s).round_ties_even()).clamp(-128.0, 127.0);
    for (i, (&xv, &yv)) in x.floats().iter().zip(y[0].floats()).enumerate() {
        let e = -0.4f32 + q(xv, 0.5) * 0.5 * [0.75f32, -2.5][(i / 16) % 2];
        assert_eq!(yv, q(e, 0.3) * 0.3, "element {i}: x = {xv}");
    }
}

#[test]
fn the_inputs_float_preprocessing_is_steps_of_its_quantize() {
    // (x - k[c]) / 0.5, then 2 - x, quantized: each step one f32 operation, as ONNX Runtime
    let bytes = model_bytes(
        vec![
            node("Sub", "norm", &["x", "k"], &["xn"]),
            node("Div", "scale", &["xn", "half"], &["xs"]),
            node("Sub", "flip", &["two", "xs"], &["xf"]),
            node("QuantizeLinear", "q", &["xf", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["y"]),
        ],
        vec![
            scalar_f32("s", 0.05),
            tensor_i8("zp", vec![], vec![3]),
            tensor_f32("k", vec![1, 2, 1, 1], vec![0.3, -1.7]),
            scalar_f32("half", 0.5),
            scalar_f32("two", 2.0),
        ],
        &[1, 2, 4, 4],
        &[1, 2, 4, 4],
    );
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    let x = Tensor::float(
        TensorType::new(vec![1, 2, 4, 4], ElemType::F32),
        (0..32).map(|i| i as f32 * 0.37 - 5.0).collect(),
    );
    let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
    for (i, (&xv, &yv)) in x.floats().iter().zip(y[0].floats()).enumerate() {
        let v = 2.0f32 - (xv - [0.3f32, -1.7][i / 16]) / 0.5;
        let q = ((v / 0.05).round_ties_even() + 3.0).clamp(-128.0, 127.0);
        assert_eq!(yv, (q - 3.0) * 0.05, "element {i}: x = {xv}");
    }
    // a constant that broadcasts along the width of the input is still named
    let bytes = model_bytes(
        vec![
            node("Sub", "rows", &["x", "w"], &["xn"]),
            node("QuantizeLinear", "q", &["xn", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["y"]),
        ],
        vec![
            scalar_f32("s", 0.5),
            tensor_i8("zp", vec![], vec![0]),
            tensor_f32("w", vec![4], vec![1.0, 2.0, 3.0, 4.0]),
        ],
        &[1, 2, 4, 4],
        &[1, 2, 4, 4],
    );
    let e = import_error(&bytes);
    assert!(
        e.contains("Sub node 'rows'") && e.contains("one value or one a channel"),
        "{e}"
    );
}

#[test]
fn an_nhwc_inputs_preprocessing_after_its_transpose_is_per_channel_steps() {
    // tf2onnx's Keras form: the NHWC input transposed to NCHW, then normalized per channel
    let mut t = node("Transpose", "to_nchw", &["x"], &["xt"]);
    t.attribute.push(attr_ints("perm", &[0, 3, 1, 2]));
    let bytes = model_bytes(
        vec![
            t,
            node("Sub", "mean", &["xt", "m"], &["xm"]),
            node("Div", "std", &["xm", "d"], &["xn"]),
            node("QuantizeLinear", "q", &["xn", "s", "zp"], &["xq"]),
            node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["y"]),
        ],
        vec![
            scalar_f32("s", 0.04),
            tensor_i8("zp", vec![], vec![-2]),
            tensor_f32("m", vec![1, 3, 1, 1], vec![0.485, 0.456, 0.406]),
            tensor_f32("d", vec![3, 1, 1], vec![0.229, 0.224, 0.225]),
        ],
        &[1, 2, 2, 3],
        &[1, 3, 2, 2],
    );
    let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
    // the input stays NHWC: element i is channel i % 3
    let x = Tensor::float(
        TensorType::new(vec![1, 2, 2, 3], ElemType::F32),
        (0..12).map(|i| i as f32 * 0.21 - 1.0).collect(),
    );
    let y = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
    let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
    let yv = y[0].floats();
    for (i, &xv) in x.floats().iter().enumerate() {
        let (c, hw) = (i % 3, i / 3);
        let v = (xv - mean[c]) / std[c];
        let q = ((v / 0.04).round_ties_even() - 2.0).clamp(-128.0, 127.0);
        // the result is NCHW
        assert_eq!(yv[c * 4 + hw], (q + 2.0) * 0.04, "element {i}: x = {xv}");
    }
}

/// The same preprocessing before the transpose, as Keras models have it (`x - mean` in NHWC,
/// the constants `[C]` or `[1, 1, 1, C]`: one a channel along the last axis): the same steps,
/// the same numbers; a constant laid out for NCHW there is named.
#[test]
fn an_nhwc_inputs_preprocessing_before_its_transpose_is_per_channel_steps() {
    let model = |before: bool, mdims: Vec<i64>| {
        let mut t = node(
            "Transpose",
            "to_nchw",
            &[if before { "xn" } else { "x" }],
            &["xt"],
        );
        t.attribute.push(attr_ints("perm", &[0, 3, 1, 2]));
        let (sub, div) = if before {
            (
                node("Sub", "mean", &["x", "m"], &["xm"]),
                node("Div", "std", &["xm", "d"], &["xn"]),
            )
        } else {
            (
                node("Sub", "mean", &["xt", "m"], &["xm"]),
                node("Div", "std", &["xm", "d"], &["xn"]),
            )
        };
        let q = node(
            "QuantizeLinear",
            "q",
            &[if before { "xt" } else { "xn" }, "s", "zp"],
            &["xq"],
        );
        let nodes = if before {
            vec![sub, div, t, q]
        } else {
            vec![t, sub, div, q]
        };
        let mut nodes = nodes;
        nodes.push(node("DequantizeLinear", "dq", &["xq", "s", "zp"], &["y"]));
        let ddims = if before {
            vec![1, 1, 1, 3]
        } else {
            vec![3, 1, 1]
        };
        model_bytes(
            nodes,
            vec![
                scalar_f32("s", 0.04),
                tensor_i8("zp", vec![], vec![-2]),
                tensor_f32("m", mdims, vec![0.485, 0.456, 0.406]),
                tensor_f32("d", ddims, vec![0.229, 0.224, 0.225]),
            ],
            &[2, 3, 5, 3],
            &[2, 3, 3, 5],
        )
    };
    let after = import_onnx(&model(false, vec![1, 3, 1, 1]), &OnnxOptions::default()).unwrap();
    let before = import_onnx(&model(true, vec![3]), &OnnxOptions::default()).unwrap();
    assert_eq!(
        before.graph.args, after.graph.args,
        "the qnn input stays NHWC"
    );
    for seed in [1, 2, 3] {
        assert_eq!(run_cpu(&before, seed), run_cpu(&after, seed), "seed {seed}");
    }
    // [1, 3, 1, 1] before the transpose broadcasts along the height, not the channels
    let e = import_error(&model(true, vec![1, 3, 1, 1]));
    assert!(
        e.contains("Sub node 'mean'") && e.contains("one value or one a channel"),
        "{e}"
    );
}

#[test]
fn float_arithmetic_outside_tables_is_named() {
    // of two activations
    let e = import_error(&model(node("Div", "ratio", &["xf", "xf"], &["y"]), vec![]));
    assert!(
        e.contains("Div node 'ratio'") && e.contains("two activations"),
        "{e}"
    );
    // a constant that broadcasts along the width, not the channels
    let w = tensor_f32("w", vec![4], vec![1.0, 2.0, 3.0, 4.0]);
    let e = import_error(&model(node("Sub", "rows", &["xf", "w"], &["y"]), vec![w]));
    assert!(
        e.contains("Sub node 'rows'") && e.contains("one value or one a channel"),
        "{e}"
    );
}
