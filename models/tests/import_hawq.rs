//! The HAWQ checkpoint importer against the fixture of `fixtures/make_hawq_fixture.py`: a narrow
//! HAWQ-format ResNet-18 saved by torch.save, with logits computed by an independent
//! integer-only PyTorch implementation of HAWQ's forward.

use nibble_models::hawq::{Arch, BitConfig, BuildOptions};
use nibble_models::import::{self, ImportOptions, StateDict};
use nibble_pth::{self as pth, Value};
use nibble_qnn::tensor::Tensor;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

const CKPT: &str = "hawq_resnet18_narrow.pth";

fn opts() -> ImportOptions {
    ImportOptions {
        arch: Arch::ResNet18,
        conv1_stride: false,
        bits: BitConfig::uniform4(Arch::ResNet18),
        build: BuildOptions {
            batch: 2,
            image_size: 32,
        },
    }
}

fn state_dict() -> StateDict {
    let bytes = std::fs::read(fixture(CKPT)).unwrap();
    StateDict::from_checkpoint(&pth::load(&bytes).unwrap()).unwrap()
}

fn import_err(sd: &StateDict) -> String {
    match import::import_state_dict(sd, &opts()) {
        Ok(_) => panic!("the import succeeded"),
        Err(e) => e,
    }
}

fn npy(name: &str) -> Tensor {
    Tensor::from_npy(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

#[test]
fn fixture_logits_match_bit_for_bit() {
    let m = import::import_file(&fixture(CKPT), &opts()).unwrap();
    let p = &m.params;
    assert_eq!(p.convs["quant_init_block_convbn"].shape, [8, 3, 7, 7]);
    assert_eq!(p.convs["stage4.unit2.quant_convbn2"].shape, [32, 32, 3, 3]);
    assert_eq!(p.linears["quant_output"].shape, [10, 32]);
    // the plain QuantConv2d identity has no bias
    assert!(p.convs["stage4.unit1.quant_identity_convbn"]
        .bias_integer
        .iter()
        .all(|&b| b == 0));
    let input = npy("input.npy");
    let want = npy("logits.npy");
    assert_eq!(input.ty.shape, vec![2, 3, 32, 32]);
    let got = nibble_qnn::reference::run(&m.graph.graph, &m.weights, &[input]).unwrap();
    assert_eq!(got[0].ty, want.ty);
    let bits = |t: &Tensor| t.floats().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&got[0]),
        bits(&want),
        "logits differ:\n got {:?}\nwant {:?}",
        got[0].floats(),
        want.floats()
    );
    // the logits are not degenerate
    let mut distinct = bits(&want);
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 10, "{:?}", want.floats());
}

#[test]
fn legacy_format_reads_the_same_parameters() {
    let a = import::import_file(&fixture(CKPT), &opts()).unwrap();
    let b = import::import_file(&fixture("hawq_resnet18_narrow_legacy.pth"), &opts()).unwrap();
    assert_eq!(a.params, b.params);
    assert_eq!(a.graph.graph.to_mlir(), b.graph.graph.to_mlir());
}

#[test]
fn checkpoint_extras_read_as_plain_values() {
    let bytes = std::fs::read(fixture(CKPT)).unwrap();
    let root = pth::load(&bytes).unwrap();
    assert_eq!(root.get("epoch"), Some(&Value::Int(90)));
    assert_eq!(root.get("arch"), Some(&Value::Str("resnet18".into())));
    match root.get("best_acc1") {
        Some(Value::Tensor(t)) => {
            assert_eq!((t.shape.clone(), t.values.clone()), (vec![], vec![71.25]))
        }
        v => panic!("{v:?}"),
    }
    let groups = root.get("optimizer").and_then(|o| o.get("param_groups"));
    let Some(Value::List(g)) = groups else {
        panic!("{groups:?}")
    };
    assert_eq!(g[0].get("nesterov"), Some(&Value::Bool(false)));
    assert_eq!(g[0].get("lr"), Some(&Value::Float(0.0001)));
    // the state dict keys carry 'module.'
    let sd = state_dict();
    assert_eq!(sd.prefix, "module.");
    let (orig, t) = &sd.entries["quant_output.weight_integer"];
    assert_eq!(orig, "module.quant_output.weight_integer");
    assert_eq!(t.shape, vec![10, 32]);
}

#[test]
fn missing_key_fixture_names_layer_and_key() {
    let e = match import::import_file(&fixture("hawq_resnet18_narrow_missing_key.pth"), &opts()) {
        Ok(_) => panic!("imported"),
        Err(e) => e,
    };
    assert!(
        e.contains("layer 'stage3.unit2.quant_convbn1'")
            && e.contains("missing key 'module.stage3.unit2.quant_convbn1.bias_integer'"),
        "{e}"
    );
    assert!(e.contains("hawq_resnet18_narrow_missing_key.pth"), "{e}");
}

#[test]
fn missing_act_scale_names_layer_and_key() {
    let mut sd = state_dict();
    sd.entries
        .remove("stage4.unit2.quant_act1.act_scaling_factor");
    let e = import_err(&sd);
    assert_eq!(
        e,
        "layer 'stage4.unit2.quant_act1': missing key \
         'module.stage4.unit2.quant_act1.act_scaling_factor'"
    );
    // the buffers the forward reads only in some places are needed only there
    let mut sd = state_dict();
    for k in [
        "quant_input.pre_weight_scaling_factor",
        "quant_input.identity_weight_scaling_factor",
        "stage2.unit1.quant_act_int32.identity_weight_scaling_factor",
        "stage1.unit1.quant_act1.pre_weight_scaling_factor",
        "stage1.unit1.quant_act.x_min",
        "stage1.unit1.quant_act.x_max",
    ] {
        assert!(sd.entries.remove(k).is_some(), "{k}");
    }
    import::import_state_dict(&sd, &opts()).unwrap();
    let mut sd = state_dict();
    sd.entries
        .remove("stage1.unit2.quant_act_int32.identity_weight_scaling_factor");
    assert!(import_err(&sd).contains(
        "layer 'stage1.unit2.quant_act_int32': missing key \
         'module.stage1.unit2.quant_act_int32.identity_weight_scaling_factor'"
    ));
    let mut sd = state_dict();
    sd.entries
        .remove("quant_act_output.pre_weight_scaling_factor");
    assert!(import_err(&sd).contains("'module.quant_act_output.pre_weight_scaling_factor'"));
}

#[test]
fn wrong_shapes_name_layer_and_key() {
    // a conv whose input channels do not chain
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage2.unit2.quant_convbn1.weight_integer")
        .unwrap()
        .1;
    t.shape = vec![16, 8, 3, 3];
    t.values.truncate(16 * 8 * 9);
    let e = import_err(&sd);
    assert!(
        e.starts_with("layer 'stage2.unit2.quant_convbn1': key 'module.stage2.unit2.quant_convbn1.weight_integer' has shape [16, 8, 3, 3], expected [16, 16, 3, 3]"),
        "{e}"
    );
    // a wrong kernel
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage1.unit1.quant_convbn2.weight_integer")
        .unwrap()
        .1;
    t.shape = vec![8, 8, 1, 9];
    let e = import_err(&sd);
    assert!(
        e.contains("'module.stage1.unit1.quant_convbn2.weight_integer'")
            && e.contains("3x3 kernel"),
        "{e}"
    );
    // a per-channel scale of the wrong length
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage3.unit1.quant_convbn2.convbn_scaling_factor")
        .unwrap()
        .1;
    t.shape = vec![15];
    t.values.pop();
    let e = import_err(&sd);
    assert!(
        e.contains("layer 'stage3.unit1.quant_convbn2'")
            && e.contains(
                "'module.stage3.unit1.quant_convbn2.convbn_scaling_factor' has shape [15]"
            ),
        "{e}"
    );
    // an activation scale that is not one value
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("quant_act_int32.act_scaling_factor")
        .unwrap()
        .1;
    t.shape = vec![2];
    t.values = vec![0.1, 0.2];
    let e = import_err(&sd);
    assert_eq!(
        e,
        "layer 'quant_act_int32': key 'module.quant_act_int32.act_scaling_factor' has shape [2], \
         expected [] or [1]"
    );
    // the fc reads the last unit's channels
    let mut sd = state_dict();
    let t = &mut sd.entries.get_mut("quant_output.weight_integer").unwrap().1;
    t.shape = vec![20, 16];
    let e = import_err(&sd);
    assert!(e.starts_with("layer 'quant_output': key 'module.quant_output.weight_integer' has shape [20, 16], expected [classes, 32]"), "{e}");
    // a bias of the wrong length
    let mut sd = state_dict();
    let t = &mut sd.entries.get_mut("quant_output.bias_integer").unwrap().1;
    t.shape = vec![9];
    t.values.pop();
    let e = import_err(&sd);
    assert!(
        e.contains("'module.quant_output.bias_integer' has shape [9], expected [10]"),
        "{e}"
    );
}

#[test]
fn out_of_range_integers_name_layer_and_key() {
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage2.unit1.quant_convbn2.weight_integer")
        .unwrap()
        .1;
    t.values[5] = 8.0;
    let e = import_err(&sd);
    assert_eq!(
        e,
        "layer 'stage2.unit1.quant_convbn2': key 'module.stage2.unit1.quant_convbn2.weight_integer' \
         holds 8 at [0, 0, 1, 2], outside [-8, 7] (4-bit weights)"
    );
    // the stem is 8-bit: 100 and -128 fit (HAWQ's SymmetricQuantFunction clamps to
    // [-128, 127]; a percentile scale reaches -128), -129 does not
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("quant_init_block_convbn.weight_integer")
        .unwrap()
        .1;
    t.values[0] = 100.0;
    import::import_state_dict(&sd, &opts()).unwrap();
    let t = &mut sd
        .entries
        .get_mut("quant_init_block_convbn.weight_integer")
        .unwrap()
        .1;
    t.values[0] = -128.0;
    import::import_state_dict(&sd, &opts()).unwrap();
    let t = &mut sd
        .entries
        .get_mut("quant_init_block_convbn.weight_integer")
        .unwrap()
        .1;
    t.values[0] = -129.0;
    let e = import_err(&sd);
    assert!(
        e.contains("layer 'quant_init_block_convbn'")
            && e.contains("outside [-128, 127] (8-bit weights)"),
        "{e}"
    );
    // integers stored as floats must be integral
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage1.unit1.quant_convbn1.bias_integer")
        .unwrap()
        .1;
    t.values[3] = 2.5;
    let e = import_err(&sd);
    assert_eq!(
        e,
        "layer 'stage1.unit1.quant_convbn1': key 'module.stage1.unit1.quant_convbn1.bias_integer' \
         holds 2.5 at [3], not an integer"
    );
    // with 8-bit body weights the 4-bit range no longer applies
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage2.unit1.quant_convbn2.weight_integer")
        .unwrap()
        .1;
    t.values[5] = 8.0;
    let mut o = opts();
    o.bits = o
        .bits
        .overlay_json(r#"{"stage2.unit1.quant_convbn2": 8}"#)
        .unwrap();
    import::import_state_dict(&sd, &o).unwrap();
    // scales must be positive
    let mut sd = state_dict();
    let t = &mut sd
        .entries
        .get_mut("stage3.unit2.quant_act.act_scaling_factor")
        .unwrap()
        .1;
    t.values[0] = 0.0;
    let e = import_err(&sd);
    assert!(
        e.contains("layer 'stage3.unit2.quant_act'") && e.contains("not a positive finite scale"),
        "{e}"
    );
}

#[test]
fn unknown_layers_and_wrong_architectures_are_named() {
    let mut sd = state_dict();
    let t = sd.entries["stage1.unit1.quant_convbn1.weight_integer"].clone();
    sd.entries.insert(
        "stage1.unit3.quant_convbn1.weight_integer".into(),
        t.clone(),
    );
    let e = import_err(&sd);
    assert!(e.starts_with("layer 'stage1.unit3.quant_convbn1' (key 'module.stage1.unit1.quant_convbn1.weight_integer')") || e.starts_with("layer 'stage1.unit3.quant_convbn1'"), "{e}");
    assert!(
        e.contains("not a layer of HAWQ's q_resnet18") && e.contains("resnet50"),
        "{e}"
    );
    // a layer only ResNet-101 has (stage 3 has 23 units there, 6 in ResNet-50)
    let mut sd = state_dict();
    sd.entries
        .insert("stage3.unit7.quant_convbn3.weight_integer".into(), t);
    let e = import_err(&sd);
    assert!(
        e.contains("not a layer of HAWQ's q_resnet18") && e.contains("one of resnet101's"),
        "{e}"
    );
    // the resnet18 checkpoint imported as resnet50: its 'arch' entry says otherwise, and
    // without the entry its layers do
    let mut o = opts();
    o.arch = Arch::ResNet50;
    o.bits = BitConfig::uniform4(Arch::ResNet50);
    let err = |sd: &StateDict| match import::import_state_dict(sd, &o) {
        Ok(_) => panic!("imported"),
        Err(e) => e,
    };
    let mut sd = state_dict();
    assert_eq!(sd.arch.as_deref(), Some("resnet18"));
    let e = err(&sd);
    assert!(
        e.contains("trained as 'resnet18'") && e.contains("--arch says resnet50b"),
        "{e}"
    );
    sd.arch = None;
    let e = err(&sd);
    assert!(
        e.contains("'quant_init_block_convbn'") && e.contains("check --arch"),
        "{e}"
    );
    // an identity conv where the unit keeps its shape
    let mut sd = state_dict();
    let t = sd.entries["stage2.unit1.quant_identity_convbn.weight_integer"].clone();
    sd.entries.insert(
        "stage2.unit2.quant_identity_convbn.weight_integer".into(),
        t,
    );
    let e = import_err(&sd);
    assert!(
        e.starts_with("layer 'stage2.unit2.quant_identity_convbn'"),
        "{e}"
    );
}

#[test]
fn float_only_and_non_checkpoints_are_explained() {
    let mut sd = state_dict();
    sd.entries.retain(|k, _| !k.ends_with("weight_integer"));
    assert!(import_err(&sd).contains("no HAWQ integer parameters"));
    let e = match import::import_bytes(b"not a checkpoint", &opts()) {
        Ok(_) => panic!(),
        Err(e) => e,
    };
    assert!(e.contains("not a PyTorch checkpoint"), "{e}");
    // a checkpoint that is a list
    let e = StateDict::from_checkpoint(&Value::List(vec![])).unwrap_err();
    assert!(e.contains("not a dict"), "{e}");
}

// ---- a torch.save-like zip written here (stored entries) ----

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![];
    let mut central = vec![];
    for (name, data) in entries {
        let off = out.len() as u32;
        let crc = crc32(data);
        let head = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&[0; 4]); // flags, method 0
            h.extend_from_slice(&[0; 4]); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&[0; 4]); // external attributes
                h.extend_from_slice(&off.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(head(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(head(0x0201_4b50, true));
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn a_checkpoint_with_a_malicious_global_is_refused() {
    // what `torch.save` of an object whose __reduce__ returns (os.system, ("...",)) holds
    let pkl: &[u8] = b"\x80\x02}q\x00X\n\x00\x00\x00state_dictq\x01cos\nsystem\nq\x02X\x0b\x00\x00\x00touch /tmp/q\x03\x85q\x04Rq\x05s.";
    let zip = stored_zip(&[("archive/data.pkl", pkl), ("archive/version", b"3\n")]);
    let e = match import::import_bytes(&zip, &opts()) {
        Ok(_) => panic!("imported"),
        Err(e) => e,
    };
    assert_eq!(e, "refusing to load os.system: not a tensor checkpoint");
    // a well-formed tensor archive written here reads back (the writer is right)
    let pkl: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x02tq\x07QK\x00K\x02\x85q\x08K\x01\x85q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.";
    let data: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let zip = stored_zip(&[("archive/data.pkl", pkl), ("archive/data/0", &data)]);
    let v = pth::load(&zip).unwrap();
    match v.get("w") {
        Some(Value::Tensor(t)) => assert_eq!(t.values, vec![1.5, -2.0]),
        v => panic!("{v:?}"),
    }
}

#[test]
fn image_size_and_batch_follow_the_options() {
    let mut o = opts();
    o.build = BuildOptions {
        batch: 3,
        image_size: 64,
    };
    let m = import::import_file(&fixture(CKPT), &o).unwrap();
    let g = &m.graph.graph;
    assert_eq!(g.args[0].shape, vec![3, 3, 64, 64]);
    assert_eq!(g.value_type(g.results[0]).shape, vec![3, 10]);
    // the head pools the whole last map (2x2 at 64x64, 1x1 at 32x32)
    let pool = g
        .nodes
        .iter()
        .find_map(|n| match &n.op {
            nibble_qnn::graph::Op::AvgPool2d { kernel, .. } => Some(*kernel),
            _ => None,
        })
        .unwrap();
    assert_eq!(pool, [2, 2]);
}

#[test]
fn bits_come_from_a_preset_or_a_json_file() {
    let b = import::parse_bits(Arch::ResNet18, "uniform8").unwrap();
    assert_eq!(b, BitConfig::uniform8(Arch::ResNet18));
    let json = serde_json::to_string(&BitConfig::uniform4(Arch::ResNet18).0).unwrap();
    assert_eq!(
        import::bits_from_json(&json).unwrap(),
        BitConfig::uniform4(Arch::ResNet18)
    );
    // HAWQ's bit_config_dict entry shape: one named configuration
    let wrapped = format!("{{\"bit_config_resnet18_uniform4\": {json}}}");
    assert_eq!(
        import::bits_from_json(&wrapped).unwrap(),
        BitConfig::uniform4(Arch::ResNet18)
    );
    assert!(import::parse_bits(Arch::ResNet18, "w3a3").is_err());
    // an incomplete file names the layer without a width
    let mut partial = BitConfig::uniform4(Arch::ResNet18);
    partial.0.remove("stage2.unit2.quant_act1");
    let mut o = opts();
    o.bits = import::bits_from_json(&serde_json::to_string(&partial.0).unwrap()).unwrap();
    let e = match import::import_file(&fixture(CKPT), &o) {
        Ok(_) => panic!(),
        Err(e) => e,
    };
    assert!(e.contains("'stage2.unit2.quant_act1'"), "{e}");
}

/// HAWQ's usual per-class `fc_scaling_factor` (per-channel `qnn.dequantize` of the logits).
#[test]
fn per_channel_fc_scales_match_bit_for_bit() {
    let mut sd = state_dict();
    let s = npy("fc_scaling_factor_per_channel.npy");
    let t = &mut sd
        .entries
        .get_mut("quant_output.fc_scaling_factor")
        .unwrap()
        .1;
    assert_eq!(t.shape, vec![10]);
    t.values = s.floats().iter().map(|&x| x as f64).collect();
    let m = import::import_state_dict(&sd, &opts()).unwrap();
    let want = npy("logits_fc_per_channel.npy");
    let got = nibble_qnn::reference::run(&m.graph.graph, &m.weights, &[npy("input.npy")]).unwrap();
    let bits = |t: &Tensor| t.floats().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&got[0]),
        bits(&want),
        "{:?} vs {:?}",
        got[0].floats(),
        want.floats()
    );
}

/// A checkpoint whose state dict sits under another key than 'state_dict' ('model', 'net',
/// as many training scripts save it) beside other top-level tensors reads the same state dict.
#[test]
fn a_state_dict_under_another_key_is_found() {
    let bytes = std::fs::read(fixture(CKPT)).unwrap();
    let root = pth::load(&bytes).unwrap();
    let Value::Dict(items) = &root else { panic!() };
    let renamed: Vec<(Value, Value)> = items
        .iter()
        .map(|(k, v)| match k {
            Value::Str(s) if s == "state_dict" => (Value::Str("model".into()), v.clone()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let sd = StateDict::from_checkpoint(&Value::Dict(renamed)).unwrap();
    let want = state_dict();
    assert_eq!(sd.entries.len(), want.entries.len());
    assert_eq!(sd.prefix, want.prefix);
    assert_eq!(
        sd.entries["quant_output.weight_integer"].1.values,
        want.entries["quant_output.weight_integer"].1.values
    );
}

/// The pickle read is the one under the first entry's directory, as torch.load reads it, not
/// another `data.pkl` elsewhere in the archive.
#[test]
fn the_archive_root_is_its_first_entrys_directory() {
    let pkl: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x02tq\x07QK\x00K\x02\x85q\x08K\x01\x85q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.";
    let bytes = |v: [f32; 2]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (torch, other) = (bytes([1.5, -2.0]), bytes([7.0, 7.0]));
    let zip = stored_zip(&[
        ("model/data.pkl", pkl),
        ("model/data/0", &torch),
        ("a/data.pkl", pkl),
        ("a/data/0", &other),
    ]);
    match pth::load(&zip).unwrap().get("w") {
        Some(Value::Tensor(t)) => assert_eq!(t.values, vec![1.5, -2.0]),
        v => panic!("{v:?}"),
    }
}
