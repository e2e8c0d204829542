//! The HAWQ checkpoint importer: a `torch.save` file of a HAWQ `q_resnet18` / `q_resnet50`
//! (read by [`crate::pth`], no Python, no code execution) -> [`HawqParams`] -> qnn graph +
//! weights (the same builder as the generated examples, [`crate::hawq::build`]).
//!
//! What is read from the state dict (the dict under `state_dict`, or the top-level dict; keys
//! may carry `module.`):
//! - `QuantBnConv2d` layers: `<layer>.weight_integer` (OIHW), `<layer>.bias_integer`,
//!   `<layer>.convbn_scaling_factor` (per output channel, or one value); a plain `QuantConv2d`
//!   in the same place: `<layer>.weight_integer`, `<layer>.conv_scaling_factor`, no bias (zero);
//! - the `QuantLinear` `quant_output`: `weight_integer` [classes, features], `bias_integer`,
//!   `fc_scaling_factor`;
//! - `QuantAct` layers: `act_scaling_factor` (shape [] or [1]); `pre_weight_scaling_factor` where
//!   the forward reads it (each unit's `quant_act`, `quant_act_output`) and
//!   `identity_weight_scaling_factor` where the forward reads it (the `quant_act_int32` of a unit
//!   whose identity is not a conv).
//!
//! Float weights, BN statistics and `x_min` / `x_max` are ignored. Channel counts come from the
//! `weight_integer` shapes (so narrow models import); kernels and strides are the architecture's.
//! Integers stored as floats must be integral and fit their width: weights in [-7, 7] at 4 bits,
//! [-127, 127] at 8 bits (HAWQ's symmetric range), biases in i32. Every problem is one message
//! naming the layer and the key.

use crate::hawq::{
    self, ActParams, Arch, BitConfig, BuildOptions, ConvBnParams, HawqGraph, HawqParams,
    LinearParams, FC,
};
use nibble_pth::{self as pth, TensorData, Value};
use nibble_qnn::weights::Weights;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Buffers of HAWQ's quantized modules (a key ending in one of them belongs to a quantized layer).
const QUANT_BUFFERS: &[&str] = &[
    "weight_integer",
    "bias_integer",
    "convbn_scaling_factor",
    "conv_scaling_factor",
    "fc_scaling_factor",
    "act_scaling_factor",
    "pre_weight_scaling_factor",
    "identity_weight_scaling_factor",
    "x_min",
    "x_max",
];

/// A state dict: keys without `module.`, each with the key as the checkpoint spells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    pub entries: BTreeMap<String, (String, TensorData)>,
    /// Keys whose value is not a tensor (reported when such a key is needed).
    pub non_tensors: BTreeMap<String, (String, &'static str)>,
    /// The prefix most keys carry (`module.` or empty), for naming missing keys.
    pub prefix: String,
    /// The checkpoint's `arch` entry (HAWQ saves its `--arch`), when it is a string.
    pub arch: Option<String>,
}

impl StateDict {
    /// From a state dict's entries (key -> value).
    pub fn from_items(items: &[(Value, Value)]) -> Result<Self, String> {
        let mut sd = StateDict::default();
        let mut prefixed = 0usize;
        for (k, v) in items {
            let Value::Str(key) = k else {
                return Err(format!(
                    "state dict has a {} key, not a string: not a model state dict",
                    k.kind()
                ));
            };
            // HAWQ's keys are module paths of a few dozen characters; a longer one would only
            // make every message that names it as long
            if key.len() > 512 {
                return Err(format!(
                    "state dict key '{}...' has {} characters: not a layer's parameter",
                    key.chars().take(60).collect::<String>(),
                    key.len()
                ));
            }
            let short = match key.strip_prefix("module.") {
                Some(s) => {
                    prefixed += 1;
                    s.to_string()
                }
                None => key.clone(),
            };
            if sd.entries.contains_key(&short) || sd.non_tensors.contains_key(&short) {
                return Err(format!(
                    "state dict holds '{short}' twice (with and without 'module.')"
                ));
            }
            match v {
                Value::Tensor(t) => {
                    sd.entries.insert(short, (key.clone(), t.clone()));
                }
                v => {
                    sd.non_tensors.insert(short, (key.clone(), v.kind()));
                }
            }
        }
        if prefixed * 2 > items.len() {
            sd.prefix = "module.".into();
        }
        Ok(sd)
    }

    /// The state dict of a loaded checkpoint: `checkpoint["state_dict"]` or the checkpoint itself.
    pub fn from_checkpoint(root: &Value) -> Result<Self, String> {
        let Value::Dict(items) = root else {
            return Err(format!(
                "the checkpoint is a {}, not a dict with a state dict",
                root.kind()
            ));
        };
        let arch = match root.get("arch") {
            Some(Value::Str(a)) => Some(a.clone()),
            _ => None,
        };
        for key in ["state_dict", "model_state_dict"] {
            match root.get(key) {
                Some(Value::Dict(sd)) => {
                    return Self::from_items(sd).map(|s| Self { arch, ..s });
                }
                Some(v) => {
                    return Err(format!("checkpoint['{key}'] is a {}, not a dict", v.kind()))
                }
                None => {}
            }
        }
        // a top-level state dict, or one under another key ('model', 'net', 'ema', ...):
        // the dict that holds HAWQ's integer weights
        let hawq = |d: &[(Value, Value)]| {
            d.iter().any(|(k, v)| {
                matches!(k, Value::Str(s) if s.ends_with(".weight_integer"))
                    && matches!(v, Value::Tensor(_))
            })
        };
        if !hawq(items) {
            if let Some((_, Value::Dict(sd))) = items
                .iter()
                .find(|(_, v)| matches!(v, Value::Dict(d) if hawq(d)))
            {
                return Self::from_items(sd).map(|s| Self { arch, ..s });
            }
        }
        if items.iter().any(|(_, v)| matches!(v, Value::Tensor(_))) {
            return Self::from_items(items);
        }
        let keys: Vec<String> = items
            .iter()
            .take(8)
            .map(|(k, _)| match k {
                Value::Str(s) => format!("'{s}'"),
                k => k.kind().to_string(),
            })
            .collect();
        Err(format!(
            "the checkpoint holds no state dict: no 'state_dict' entry and no tensors at the top \
             level (keys: {})",
            keys.join(", ")
        ))
    }

    fn key(&self, layer: &str, buf: &str) -> String {
        format!("{}{layer}.{buf}", self.prefix)
    }

    fn get(&self, layer: &str, buf: &str) -> Result<Option<(&str, &TensorData)>, String> {
        let k = format!("{layer}.{buf}");
        if let Some((orig, kind)) = self.non_tensors.get(&k) {
            return Err(format!(
                "layer '{layer}': key '{orig}' holds a {kind}, not a tensor"
            ));
        }
        Ok(self.entries.get(&k).map(|(o, t)| (o.as_str(), t)))
    }

    fn need(&self, layer: &str, buf: &str) -> Result<(&str, &TensorData), String> {
        self.get(layer, buf)?
            .ok_or_else(|| format!("layer '{layer}': missing key '{}'", self.key(layer, buf)))
    }
}

/// Integers stored in a tensor (any dtype): each must be integral and in `[lo, hi]`.
fn integers(
    layer: &str,
    key: &str,
    t: &TensorData,
    lo: i64,
    hi: i64,
    what: &str,
) -> Result<Vec<i32>, String> {
    let mut out = Vec::with_capacity(t.values.len());
    for (i, &v) in t.values.iter().enumerate() {
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(format!(
                "layer '{layer}': key '{key}' holds {v} at {}, not an integer",
                index(&t.shape, i)
            ));
        }
        if v < lo as f64 || v > hi as f64 {
            return Err(format!(
                "layer '{layer}': key '{key}' holds {v} at {}, outside [{lo}, {hi}] ({what})",
                index(&t.shape, i)
            ));
        }
        out.push(v as i32);
    }
    Ok(out)
}

/// `[i, j, k]` of the flat index `i` in `shape`.
fn index(shape: &[i64], mut i: usize) -> String {
    let mut idx = vec![0usize; shape.len()];
    for d in (0..shape.len()).rev() {
        let n = shape[d].max(1) as usize;
        idx[d] = i % n;
        i /= n;
    }
    format!("{idx:?}")
}

/// Float scales: shape [] / [1] (one value) or `[n]` (one per channel, when `n` is given);
/// positive and finite, read as f32 (HAWQ's buffers are float32).
fn scales(
    layer: &str,
    key: &str,
    t: &TensorData,
    per_channel: Option<i64>,
) -> Result<Vec<f32>, String> {
    let one = t.numel() == 1 && t.shape.iter().all(|&d| d == 1);
    let chan = per_channel.is_some_and(|n| t.shape == [n]);
    if !(one || chan) {
        let want = match per_channel {
            Some(n) => format!("[] or [1] or [{n}]"),
            None => "[] or [1]".to_string(),
        };
        return Err(format!(
            "layer '{layer}': key '{key}' has shape {}, expected {want}",
            shape_text(&t.shape)
        ));
    }
    if !t.dtype.is_float() {
        return Err(format!(
            "layer '{layer}': key '{key}' is {}, a scale must be a float tensor",
            t.dtype.name()
        ));
    }
    t.values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = v as f32;
            if f.is_finite() && f > 0.0 {
                Ok(f)
            } else {
                Err(format!(
                    "layer '{layer}': key '{key}' holds {v} at {}, not a positive finite scale",
                    index(&t.shape, i)
                ))
            }
        })
        .collect()
}

/// HAWQ's `SymmetricQuantFunction` clamps to [-2^(b-1), 2^(b-1) - 1]: the max-based scale
/// never reaches -2^(b-1), a percentile scale does.
fn weight_range(layer: &str, bits: &BitConfig) -> Result<(i64, i64, String), String> {
    let b = bits.weight_bits(layer)?;
    let q = hawq::weight_qmax(b) as i64;
    Ok((-q - 1, q, format!("{b}-bit weights")))
}

/// Every layer name a quantized `arch` model can have (identity convs on every unit).
fn known_layers(arch: Arch) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = arch.acts().into_iter().collect();
    s.insert(arch.stem_conv().into());
    s.insert(FC.into());
    for u in arch.units() {
        for c in arch.unit_convs(&u) {
            s.insert(c.name);
        }
        s.insert(format!("{}.quant_identity_convbn", u.prefix));
    }
    s
}

/// Map a state dict onto [`HawqParams`] for `arch` with the bit widths of `bits`.
pub fn params_from_state_dict(
    sd: &StateDict,
    arch: Arch,
    bits: &BitConfig,
) -> Result<HawqParams, String> {
    // quantized layers present in the checkpoint
    let mut layers: BTreeMap<String, String> = BTreeMap::new();
    let all_keys = sd
        .entries
        .iter()
        .map(|(k, (o, _))| (k, o))
        .chain(sd.non_tensors.iter().map(|(k, (o, _))| (k, o)));
    for (k, orig) in all_keys {
        if let Some((layer, buf)) = k.rsplit_once('.') {
            if QUANT_BUFFERS.contains(&buf) {
                layers
                    .entry(layer.to_string())
                    .or_insert_with(|| orig.clone());
            }
        }
    }
    if !sd.entries.keys().any(|k| k.ends_with(".weight_integer")) {
        return Err(
            "the checkpoint holds no HAWQ integer parameters (no '<layer>.weight_integer' key): \
             it looks like a float model; quantize and fine-tune it with HAWQ (quant_train.py) \
             first"
                .into(),
        );
    }
    let known = known_layers(arch);
    if let Some((layer, key)) = layers.iter().find(|(l, _)| !known.contains(*l)) {
        let others = [Arch::ResNet18, Arch::ResNet50, Arch::ResNet101];
        let hint = match others
            .into_iter()
            .find(|&o| o != arch && known_layers(o).contains(layer))
        {
            Some(o) => format!(" (it is one of {}'s: check --arch)", o.name()),
            None => String::new(),
        };
        return Err(format!(
            "layer '{layer}' (key '{key}') is not a layer of HAWQ's q_{}{hint}",
            arch.name()
        ));
    }

    // 1. shapes: read every conv's weight_integer, derive the widths, check them
    let mut p = HawqParams {
        conv1_stride: false,
        arch,
        convs: BTreeMap::new(),
        acts: BTreeMap::new(),
        linears: BTreeMap::new(),
    };
    let shape_of = |name: &str| -> Result<Option<[i64; 4]>, String> {
        let Some((key, t)) = sd.get(name, "weight_integer")? else {
            return Ok(None);
        };
        let s: [i64; 4] = t.shape.as_slice().try_into().map_err(|_| {
            format!(
                "layer '{name}': key '{key}' has shape {}, a conv weight is 4-D (OIHW)",
                shape_text(&t.shape)
            )
        })?;
        Ok(Some(s))
    };
    let stem = arch.stem_conv();
    let mut all_convs: Vec<String> = vec![stem.to_string()];
    for u in arch.units() {
        all_convs.push(format!("{}.quant_identity_convbn", u.prefix));
        all_convs.extend(arch.unit_convs(&u).into_iter().map(|c| c.name));
    }
    for name in &all_convs {
        if let Some(shape) = shape_of(name)? {
            p.convs.insert(
                name.clone(),
                ConvBnParams {
                    weight_integer: vec![],
                    shape,
                    bias_integer: vec![],
                    convbn_scaling_factor: vec![],
                },
            );
        }
    }
    let specs = p.conv_specs();
    let wanted: BTreeSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for name in p.convs.keys() {
        if !wanted.contains(name.as_str()) {
            let u = name.rsplit_once('.').map_or("", |x| x.0);
            return Err(format!(
                "layer '{name}': the checkpoint has an identity conv where q_{} has none (unit \
                 '{u}' keeps its channel count and stride, so its identity is the unit input)",
                arch.name()
            ));
        }
    }
    for spec in &specs {
        let name = &spec.name;
        let (key, _) = sd.need(name, "weight_integer")?;
        let have = p.convs[name].shape;
        let want = spec.shape();
        if have != want {
            let why = if have[2] != want[2] || have[3] != want[3] {
                format!("{0}x{0} kernel", spec.kernel)
            } else {
                format!(
                    "{} input channels{}",
                    spec.in_channels,
                    if name == stem {
                        " (RGB)".to_string()
                    } else {
                        " (the previous layer's output channels)".to_string()
                    }
                )
            };
            return Err(format!(
                "layer '{name}': key '{key}' has shape {}, expected {want:?} ({why})",
                shape_text(&have)
            ));
        }
    }

    // 2. values
    for spec in &specs {
        let name = &spec.name;
        let o = spec.out_channels;
        let (wkey, wt) = sd.need(name, "weight_integer")?;
        let (lo, hi, what) = weight_range(name, bits)?;
        let weight_integer = integers(name, wkey, wt, lo, hi, &what)?;
        let (bias_integer, s) = match sd.get(name, "convbn_scaling_factor")? {
            Some((skey, st)) => {
                let (bkey, bt) = sd.need(name, "bias_integer")?;
                let s = scales(name, skey, st, Some(o))?;
                (bias(name, bkey, bt, o)?, s)
            }
            None => match sd.get(name, "conv_scaling_factor")? {
                // a plain QuantConv2d: no folded BN, no bias
                Some((skey, st)) => {
                    let s = scales(name, skey, st, Some(o))?;
                    let b = match sd.get(name, "bias_integer")? {
                        Some((bkey, bt)) => bias(name, bkey, bt, o)?,
                        None => vec![0; o as usize],
                    };
                    (b, s)
                }
                None => {
                    return Err(format!(
                        "layer '{name}': missing key '{}' (QuantBnConv2d; a plain QuantConv2d \
                         would have '{}')",
                        sd.key(name, "convbn_scaling_factor"),
                        sd.key(name, "conv_scaling_factor")
                    ))
                }
            },
        };
        let c = p.convs.get_mut(name).expect("shape pass inserted it");
        c.weight_integer = weight_integer;
        c.bias_integer = bias_integer;
        c.convbn_scaling_factor = s;
    }

    // the fc
    let features = p.units().last().map_or(0, |u| u.out_channels);
    let (wkey, wt) = sd.need(FC, "weight_integer")?;
    if wt.shape.len() != 2 || wt.shape[1] != features || wt.shape[0] <= 0 {
        return Err(format!(
            "layer '{FC}': key '{wkey}' has shape {}, expected [classes, {features}] ({features} \
             = the last unit's output channels)",
            shape_text(&wt.shape)
        ));
    }
    let classes = wt.shape[0];
    let (lo, hi, what) = weight_range(FC, bits)?;
    let weight_integer = integers(FC, wkey, wt, lo, hi, &what)?;
    let (bkey, bt) = sd.need(FC, "bias_integer")?;
    let bias_integer = bias(FC, bkey, bt, classes)?;
    let (skey, st) = sd.need(FC, "fc_scaling_factor")?;
    let fc_scaling_factor = scales(FC, skey, st, Some(classes))?;
    p.linears.insert(
        FC.into(),
        LinearParams {
            weight_integer,
            shape: [classes, features],
            bias_integer,
            fc_scaling_factor,
        },
    );

    // the activations
    let units = p.units();
    let mut uses_pre_w: BTreeSet<String> = units
        .iter()
        .map(|u| format!("{}.quant_act", u.prefix))
        .collect();
    uses_pre_w.insert("quant_act_output".into());
    let uses_id_w: BTreeSet<String> = units
        .iter()
        .filter(|u| !u.resize_identity)
        .map(|u| format!("{}.quant_act_int32", u.prefix))
        .collect();
    for name in arch.acts() {
        let (k, t) = sd.need(&name, "act_scaling_factor")?;
        let s = scales(&name, k, t, None)?[0];
        let mut a = ActParams::new(s);
        if uses_pre_w.contains(&name) {
            let (k, t) = sd.need(&name, "pre_weight_scaling_factor")?;
            a.pre_weight_scaling_factor = scales(&name, k, t, None)?[0];
        }
        if uses_id_w.contains(&name) {
            let (k, t) = sd.need(&name, "identity_weight_scaling_factor")?;
            a.identity_weight_scaling_factor = scales(&name, k, t, None)?[0];
        }
        p.acts.insert(name, a);
    }
    p.validate(bits)?;
    Ok(p)
}

fn bias(layer: &str, key: &str, t: &TensorData, n: i64) -> Result<Vec<i32>, String> {
    if t.shape != [n] {
        return Err(format!(
            "layer '{layer}': key '{key}' has shape {}, expected [{n}]",
            shape_text(&t.shape)
        ));
    }
    integers(
        layer,
        key,
        t,
        i32::MIN as i64,
        i32::MAX as i64,
        "32-bit bias",
    )
}

/// `--arch` of `nibble-gen import`, in pytorchcv's names (what HAWQ's `--arch` takes and its
/// checkpoints store as `arch`): (architecture, bottleneck stride on the first 1x1 conv).
/// `resnet50` / `resnet101` stride their bottlenecks in the 1x1 conv, `resnet50b` / `resnet101b`
/// in the 3x3.
pub fn parse_arch(s: &str) -> Option<(Arch, bool)> {
    match s {
        "resnet18" => Some((Arch::ResNet18, false)),
        "resnet50" => Some((Arch::ResNet50, true)),
        "resnet50b" => Some((Arch::ResNet50, false)),
        "resnet101" => Some((Arch::ResNet101, true)),
        "resnet101b" => Some((Arch::ResNet101, false)),
        _ => None,
    }
}

/// What `nibble-gen import` makes.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub arch: Arch,
    /// ResNet-50: pytorchcv `resnet50` (stride on the bottleneck's 1x1 conv) rather than
    /// `resnet50b` (see [`parse_arch`]).
    pub conv1_stride: bool,
    pub bits: BitConfig,
    pub build: BuildOptions,
}

/// An imported model.
pub struct Imported {
    pub params: HawqParams,
    pub graph: HawqGraph,
    pub weights: Weights,
}

/// Import a checkpoint's bytes.
pub fn import_bytes(bytes: &[u8], opts: &ImportOptions) -> Result<Imported, String> {
    let root = pth::load(bytes)?;
    let sd = StateDict::from_checkpoint(&root)?;
    import_state_dict(&sd, opts)
}

/// Import a parsed state dict.
pub fn import_state_dict(sd: &StateDict, opts: &ImportOptions) -> Result<Imported, String> {
    // the checkpoint's own `arch` (HAWQ saves its --arch) must agree: resnet50 and resnet50b
    // hold the same keys and shapes but stride different convs
    if let Some(a) = &sd.arch {
        if let Some(ck) = parse_arch(a) {
            if ck != (opts.arch, opts.conv1_stride && opts.arch.bottleneck()) {
                return Err(format!(
                    "the checkpoint was trained as '{a}' (its 'arch' entry) but --arch says {}; \
                     resnet50 strides the bottleneck's 1x1 conv, resnet50b its 3x3",
                    arch_name(opts)
                ));
            }
        }
    }
    let mut params = params_from_state_dict(sd, opts.arch, &opts.bits)?;
    params.conv1_stride = opts.conv1_stride && opts.arch.bottleneck();
    let (graph, weights) = hawq::build(&params, &opts.bits, &opts.build)?;
    Ok(Imported {
        params,
        graph,
        weights,
    })
}

/// The pytorchcv name of what `opts` imports.
pub fn arch_name(opts: &ImportOptions) -> &'static str {
    match (opts.arch, opts.conv1_stride) {
        (Arch::ResNet18, _) => "resnet18",
        (Arch::ResNet50, true) => "resnet50",
        (Arch::ResNet50, false) => "resnet50b",
        (Arch::ResNet101, true) => "resnet101",
        (Arch::ResNet101, false) => "resnet101b",
    }
}

/// Import a checkpoint file; errors are prefixed with the path.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    import_bytes(&bytes, opts).map_err(|e| format!("{}: {e}", path.display()))
}

/// `--bits`: a preset (`uniform4`, `uniform8`, `w4a4`, `w8a8`) or a JSON file holding a complete
/// HAWQ bit configuration `{"layer": bits, ...}` (optionally wrapped in one named entry, as in
/// HAWQ's `bit_config_dict`).
pub fn parse_bits(arch: Arch, spec: &str) -> Result<BitConfig, String> {
    if let Some(b) = BitConfig::preset(arch, spec) {
        return Ok(b);
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(format!(
            "--bits '{spec}' is neither a preset (uniform4, uniform8, w4a4, w8a8) nor a file"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    bits_from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A complete bit configuration from JSON (see [`parse_bits`]).
pub fn bits_from_json(text: &str) -> Result<BitConfig, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("bit configuration: {e}"))?;
    let inner = match &v {
        serde_json::Value::Object(m) if m.len() == 1 && m.values().all(|x| x.is_object()) => {
            m.values().next().unwrap().to_string()
        }
        _ => text.to_string(),
    };
    BitConfig(BTreeMap::new()).overlay_json(&inner)
}

/// Write `DIR/model.mlir` and `DIR/weights.safetensors`.
pub fn write_model(m: &Imported, dir: &Path) -> Result<(), String> {
    crate::write_graph(dir, &m.graph.graph, &m.weights)
}

/// A shape for a message: its first eight dimensions and the rank beyond (a file may claim a
/// rank of millions).
fn shape_text(shape: &[i64]) -> String {
    if shape.len() <= 8 {
        return format!("{shape:?}");
    }
    format!("{:?} ... (rank {})", &shape[..8], shape.len())
}
