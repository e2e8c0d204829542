use super::proto::*;
use super::*;

fn model_with(initializer: Vec<TensorProto>, node: Vec<NodeProto>) -> Vec<u8> {
    ModelProto {
        ir_version: 10,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 21,
        }],
        producer_name: "test".into(),
        producer_version: String::new(),
        graph: Some(GraphProto {
            node,
            name: "g".into(),
            initializer,
            input: vec![],
            output: vec![],
            value_info: vec![],
        }),
    }
    .encode_to_vec()
}

fn raw(name: &str, data_type: i32, dims: Vec<i64>, raw_data: Vec<u8>) -> TensorProto {
    TensorProto {
        dims,
        data_type,
        name: name.into(),
        raw_data,
        ..Default::default()
    }
}

#[test]
fn model_round_trips_through_prost() {
    let bytes = model_with(
        vec![raw("w", data_type::INT8, vec![2], vec![0xff, 3])],
        vec![],
    );
    assert!(looks_like_onnx(&bytes));
    let m = read(&bytes).unwrap();
    let t = tensor(&m.graph.unwrap().initializer[0]).unwrap();
    assert_eq!(t.dims, vec![2]);
    assert_eq!(t.data, Data::I8(vec![-1, 3]));
}

#[test]
fn four_bit_values_unpack_low_nibble_first() {
    // 5 values: 1, -2, 7, -8, 3 -> bytes (lo, hi): 0xE1, 0x87, 0x03
    let t = raw("w", data_type::INT4, vec![5], vec![0xE1, 0x87, 0x03]);
    assert_eq!(tensor(&t).unwrap().data, Data::I4(vec![1, -2, 7, -8, 3]));
    let t = raw("w", data_type::UINT4, vec![3], vec![0xE1, 0x0f]);
    assert_eq!(tensor(&t).unwrap().data, Data::U4(vec![1, 14, 15]));
    let t = TensorProto {
        int32_data: vec![0xE1],
        ..raw("w", data_type::INT4, vec![2], vec![])
    };
    assert_eq!(tensor(&t).unwrap().data, Data::I4(vec![1, -2]));
}

/// int32_data holds one value of an 8-bit type per entry, or one packed byte of a 4-bit type:
/// anything outside the type's range is refused, never truncated.
#[test]
fn int32_data_outside_the_element_type_is_refused() {
    let field = |ty: i32, dims: Vec<i64>, v: Vec<i32>| TensorProto {
        int32_data: v,
        ..raw("w", ty, dims, vec![])
    };
    assert_eq!(
        tensor(&field(data_type::INT8, vec![2], vec![-128, 127]))
            .unwrap()
            .data,
        Data::I8(vec![-128, 127])
    );
    assert_eq!(
        tensor(&field(data_type::UINT8, vec![2], vec![0, 255]))
            .unwrap()
            .data,
        Data::U8(vec![0, 255])
    );
    for (ty, v, bad) in [
        (data_type::INT8, vec![3, 200], "200"),
        (data_type::INT8, vec![-129, 0], "-129"),
        (data_type::UINT8, vec![-1, 0], "-1"),
        (data_type::UINT8, vec![256, 0], "256"),
    ] {
        let e = tensor(&field(ty, vec![2], v)).unwrap_err();
        assert!(
            e.contains("'w'") && e.contains(bad) && e.contains("int32_data"),
            "{e}"
        );
    }
    let e = tensor(&field(data_type::INT4, vec![2], vec![0x1E1])).unwrap_err();
    assert!(e.contains("481") && e.contains("4-bit"), "{e}");
}

#[test]
fn typed_fields_and_raw_data_agree() {
    let f = TensorProto {
        float_data: vec![1.5, -2.0],
        ..raw("f", data_type::FLOAT, vec![2], vec![])
    };
    let mut bytes = 1.5f32.to_le_bytes().to_vec();
    bytes.extend((-2.0f32).to_le_bytes());
    let r = raw("f", data_type::FLOAT, vec![2], bytes);
    assert_eq!(tensor(&f).unwrap().data, tensor(&r).unwrap().data);
    let i = TensorProto {
        int64_data: vec![-7, 1 << 40],
        ..raw("i", data_type::INT64, vec![1, 2], vec![])
    };
    assert_eq!(tensor(&i).unwrap().data, Data::I64(vec![-7, 1 << 40]));
}

#[test]
fn tensor_length_must_match_dims() {
    let e = tensor(&raw("w", data_type::INT8, vec![3], vec![1, 2])).unwrap_err();
    assert!(
        e.contains("tensor 'w'") && e.contains("its dims need 3"),
        "{e}"
    );
    let e = tensor(&raw("w", data_type::FLOAT, vec![2], vec![0; 7])).unwrap_err();
    assert!(e.contains("its dims need 2"), "{e}");
    let e = tensor(&raw("w", data_type::INT4, vec![5], vec![0; 2])).unwrap_err();
    assert!(e.contains("its dims need 5"), "{e}");
}

#[test]
fn huge_or_negative_dims_are_refused_before_allocating() {
    let e = tensor(&raw("w", data_type::FLOAT, vec![1 << 40, 1 << 40], vec![])).unwrap_err();
    assert!(e.contains("more than"), "{e}");
    let e = tensor(&raw("w", data_type::FLOAT, vec![-1], vec![])).unwrap_err();
    assert!(e.contains("negative dimension"), "{e}");
}

#[test]
fn external_data_is_refused_with_the_way_out() {
    let t = TensorProto {
        data_location: 1,
        external_data: vec![StringStringEntryProto {
            key: "location".into(),
            value: "weights.bin".into(),
        }],
        ..raw("w", data_type::FLOAT, vec![4], vec![])
    };
    let e = tensor(&t).unwrap_err();
    assert!(
        e.contains("weights.bin") && e.contains("save_as_external_data=False"),
        "{e}"
    );
}

#[test]
fn many_empty_messages_are_refused_before_decoding() {
    // graph field 1 (node) repeated, each an empty message: 2 bytes in the file, a whole
    // NodeProto once decoded
    let mut graph = Vec::new();
    for _ in 0..(1 << 20) {
        graph.extend([0x0a, 0x00]);
    }
    let mut bytes = vec![0x08, 10, 0x3a];
    prost::encoding::encode_varint(graph.len() as u64, &mut bytes);
    bytes.extend(graph);
    let need = decoded_bytes(&bytes).unwrap();
    assert!(need >= (1 << 20) * std::mem::size_of::<NodeProto>() as u64);
    // the estimate bounds what prost really builds
    let m = read(&bytes).unwrap();
    assert_eq!(m.graph.unwrap().node.len(), 1 << 20);
}

#[test]
fn a_repeated_field_past_its_limit_is_refused() {
    // one node more than MAX_REPEATED: refused by the walk, nothing decoded
    let n = MAX_REPEATED as usize + 1;
    let mut graph = Vec::with_capacity(2 * n);
    for _ in 0..n {
        graph.extend([0x0a, 0x00]);
    }
    let mut bytes = vec![0x08, 10, 0x3a];
    prost::encoding::encode_varint(graph.len() as u64, &mut bytes);
    bytes.extend(graph);
    let e = read(&bytes).unwrap_err();
    assert!(e.contains("the graph's nodes number more than"), "{e}");
}

#[test]
fn raw_tensor_bytes_count_once() {
    // a 4 MB raw initializer decodes into about 4 MB, not eight times that
    let t = raw("w", data_type::INT8, vec![4 << 20], vec![1; 4 << 20]);
    let bytes = model_with(vec![t], vec![]);
    let need = decoded_bytes(&bytes).unwrap();
    assert!((4 << 20..5 << 20).contains(&need), "{need}");
}

#[test]
fn corrupt_bytes_are_errors() {
    let bytes = model_with(vec![raw("w", data_type::INT8, vec![2], vec![1, 2])], vec![]);
    for cut in [1, 5, bytes.len() / 2, bytes.len() - 1] {
        assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    assert!(read(b"PK\x03\x04 a zip").is_err());
    let e = read(&[0x08, 0x0a]).unwrap_err();
    assert!(e.contains("no graph"), "{e}");
}

#[test]
fn attributes_are_typed() {
    let node = NodeProto {
        op_type: "Conv".into(),
        attribute: vec![
            AttributeProto {
                name: "strides".into(),
                r#type: attribute_type::INTS,
                ints: vec![2, 2],
                ..Default::default()
            },
            AttributeProto {
                name: "group".into(),
                r#type: attribute_type::INT,
                i: 1,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let a = Attrs::new(&node);
    assert_eq!(a.ints("strides").unwrap(), Some(vec![2, 2]));
    assert_eq!(a.int("group").unwrap(), Some(1));
    assert_eq!(a.int("pads").unwrap(), None);
    assert!(a.int("strides").unwrap_err().contains("not an integer"));
    assert_eq!(a.unknown(&["strides"]), vec!["group".to_string()]);
}
