//! HAWQ-V3 quantized ResNets (Zhen-Dong/HAWQ, `utils/models/q_resnet.py`) as qnn graphs.
//!
//! [`HawqParams`] holds what a HAWQ checkpoint holds, keyed by HAWQ's own layer names
//! (`quant_init_block_convbn`, `stage1.unit1.quant_convbn1`, `stage1.unit1.quant_act1`, ...,
//! `quant_output`); [`BitConfig`] is HAWQ's `bit_config.py` dictionary (bit widths are not stored in
//! checkpoints). [`build_graph`] turns both into a `qnn` [`Graph`] that computes HAWQ's
//! integer-only forward bit for bit; [`build_weights`] makes the matching [`Weights`].
//!
//! The integer-only forward this follows (per `QuantAct`/`fixedpoint_fn`, `QuantBnConv2d`,
//! `QuantAveragePool2d`, `QuantLinear`):
//!
//! ```text
//! stem:   x_q  = quantize(x, quant_input)                        f32 -> i8 (8-bit symmetric)
//!         z    = conv7x7/2(x_q, W_stem) + b_stem                 i32
//!         z    = max_pool 3x3/2 pad 1 (z)                        i32 (pool before the requantize)
//!         r    = requantize(z; s_input*s_stem[c] / s_act_int32)  16-bit symmetric: i16, clamped
//!         r    = relu(r)
//! unit:   a    = requantize(r; s_r*pre_w / s_act)                 4-bit: ui4 [0,15], 8-bit: i8
//!         id   = resize ? conv1x1/s(a, W_id) + b_id : r           the identity reads `a` or `r`
//!         z1   = relu(conv(a, W1) + b1); a1 = requantize(z1; s_act*s_w1[c] / s_act1)
//!         (bottleneck: z2 = relu(conv(a1, W2) + b2); a2 = requantize(...); last = conv3)
//!         y    = conv_last(a_last, W_last) + b_last               i32
//!         r'   = add(y; s_a_last*s_w_last[c] / s_out,             each branch rounded half to even,
//!                    id; resize ? s_act*s_id[c] / s_out           summed in i32, NOT clamped
//!                             : s_r*id_w / s_out)                  (HAWQ's "16-bit" residual)
//!         r'   = relu(r')                                         i32 residual stream
//! head:   p    = avg_pool 7x7 (r)  (floor(sum / 49))              i32
//!         a    = requantize(p; s_r*pre_w / s_act_output)          8-bit symmetric: i8
//!         logits = dequantize(dense(flatten(a), W_fc) + b_fc; f32(s_fc * s_act_output))
//! ```
//!
//! Every requantize multiplier is derived from the float scales the way HAWQ's `fixedpoint_fn`
//! and `batch_frexp` do it (see [`hawq_dyadic`]). `pre_w` / `id_w` are the `QuantAct` buffers
//! `pre_weight_scaling_factor` / `identity_weight_scaling_factor` HAWQ substitutes for a missing
//! weight scale (1.0 in practice).
//!
//! Deliberate choices where HAWQ and the qnn semantics differ, or where qnn cannot say it yet:
//! - 8-bit activations are `i8` in [-128, 127] (HAWQ quantizes every non-4-bit activation
//!   symmetrically; its TVM export also uses int8), not `ui8`; after ReLU only [0, 127] occurs.
//! - The stem's `quant_act_int32` is a clamping (HAWQ case 0) 16-bit requantize, so it is `i16`;
//!   the residual `quant_act_int32`s (case 1) never clamp, so the residual stream is `i32`.
//! - HAWQ's `fc_scaling_factor` is per output channel: the logits' `qnn.dequantize` carries one
//!   scale per class (or one, when all are equal), fused into the dense kernel's epilogue.

use nibble_qnn::graph::{ChannelScales, Graph, Op, TensorType, ValueId};
use nibble_qnn::semantics::{Dyadic, ElemType, KernelLayout, Layout, Rounding, MAX_SHIFT};
use nibble_qnn::tensor::Tensor;
use nibble_qnn::weights::Weights;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Architecture
// ---------------------------------------------------------------------------------------------

/// HAWQ's ResNets: `q_resnet18` (pytorchcv resnet18, basic blocks), `q_resnet50` and
/// `q_resnet101` (pytorchcv resnet50b / resnet101b, bottlenecks with the stride on the 3x3 conv;
/// 3, 4, 6, 3 and 3, 4, 23, 3 units a stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    ResNet18,
    ResNet50,
    ResNet101,
}

/// One residual unit (`stageS.unitU`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitSpec {
    /// `stage1.unit1`
    pub prefix: String,
    pub in_channels: i64,
    pub mid_channels: i64,
    pub out_channels: i64,
    pub stride: i64,
    /// pytorchcv `resize_identity`: the identity branch is a 1x1 conv (`quant_identity_convbn`).
    pub resize_identity: bool,
    /// Bottlenecks: the stride on the first 1x1 conv (pytorchcv `resnet50`, `conv1_stride`)
    /// instead of the 3x3 (`resnet50b`).
    pub conv1_stride: bool,
}

/// Geometry of one `QuantBnConv2d` (OIHW, square kernel, symmetric padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub name: String,
    pub out_channels: i64,
    pub in_channels: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
}

impl ConvSpec {
    pub fn shape(&self) -> [i64; 4] {
        [
            self.out_channels,
            self.in_channels,
            self.kernel,
            self.kernel,
        ]
    }
    pub fn fan_in(&self) -> i64 {
        self.in_channels * self.kernel * self.kernel
    }
}

/// Name of HAWQ's final `QuantLinear`.
pub const FC: &str = "quant_output";
/// Output classes of the ImageNet head.
pub const NUM_CLASSES: i64 = 1000;

impl Arch {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "resnet18" => Some(Self::ResNet18),
            "resnet50" | "resnet50b" => Some(Self::ResNet50),
            "resnet101" | "resnet101b" => Some(Self::ResNet101),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::ResNet18 => "resnet18",
            Self::ResNet50 => "resnet50",
            Self::ResNet101 => "resnet101",
        }
    }
    pub fn bottleneck(self) -> bool {
        self != Self::ResNet18
    }
    /// Units per stage.
    pub fn units_per_stage(self) -> [usize; 4] {
        match self {
            Self::ResNet18 => [2, 2, 2, 2],
            Self::ResNet50 => [3, 4, 6, 3],
            Self::ResNet101 => [3, 4, 23, 3],
        }
    }
    /// HAWQ names the stem conv differently in its two classes.
    pub fn stem_conv(self) -> &'static str {
        match self {
            Self::ResNet18 => "quant_init_block_convbn",
            Self::ResNet50 | Self::ResNet101 => "quant_init_convbn",
        }
    }
    /// Channels entering the head (global pool + fc).
    pub fn feature_channels(self) -> i64 {
        match self {
            Self::ResNet18 => 512,
            Self::ResNet50 | Self::ResNet101 => 2048,
        }
    }
    /// Convs per unit (2 for basic blocks, 3 for bottlenecks).
    pub fn convs_per_unit(self) -> usize {
        if self.bottleneck() {
            3
        } else {
            2
        }
    }
    pub fn units(self) -> Vec<UnitSpec> {
        let outs: [i64; 4] = match self {
            Self::ResNet18 => [64, 128, 256, 512],
            Self::ResNet50 | Self::ResNet101 => [256, 512, 1024, 2048],
        };
        let mut v = vec![];
        let mut in_ch = 64;
        for (s, &n) in self.units_per_stage().iter().enumerate() {
            for u in 0..n {
                let stride = if u == 0 && s > 0 { 2 } else { 1 };
                let out = outs[s];
                v.push(UnitSpec {
                    prefix: format!("stage{}.unit{}", s + 1, u + 1),
                    in_channels: in_ch,
                    mid_channels: if self.bottleneck() { out / 4 } else { out },
                    out_channels: out,
                    stride,
                    resize_identity: in_ch != out || stride != 1,
                    conv1_stride: false,
                });
                in_ch = out;
            }
        }
        v
    }
    /// Every `QuantBnConv2d` in forward order (stem; per unit: identity (if any), convbn1..).
    pub fn convs(self) -> Vec<ConvSpec> {
        let mut v = vec![ConvSpec {
            name: self.stem_conv().into(),
            out_channels: 64,
            in_channels: 3,
            kernel: 7,
            stride: 2,
            padding: 3,
        }];
        for u in self.units() {
            if u.resize_identity {
                v.push(ConvSpec {
                    name: format!("{}.quant_identity_convbn", u.prefix),
                    out_channels: u.out_channels,
                    in_channels: u.in_channels,
                    kernel: 1,
                    stride: u.stride,
                    padding: 0,
                });
            }
            v.extend(self.unit_convs(&u));
        }
        v
    }
    /// The body convs of one unit, in order.
    pub fn unit_convs(self, u: &UnitSpec) -> Vec<ConvSpec> {
        let c = |i: usize, o: i64, inp: i64, k: i64, s: i64| ConvSpec {
            name: format!("{}.quant_convbn{i}", u.prefix),
            out_channels: o,
            in_channels: inp,
            kernel: k,
            stride: s,
            padding: k / 2,
        };
        if self.bottleneck() {
            let (s1, s2) = if u.conv1_stride {
                (u.stride, 1)
            } else {
                (1, u.stride)
            };
            vec![
                c(1, u.mid_channels, u.in_channels, 1, s1),
                c(2, u.mid_channels, u.mid_channels, 3, s2),
                c(3, u.out_channels, u.mid_channels, 1, 1),
            ]
        } else {
            vec![
                c(1, u.out_channels, u.in_channels, 3, u.stride),
                c(2, u.out_channels, u.out_channels, 3, 1),
            ]
        }
    }
    /// Every `QuantAct` in forward order.
    pub fn acts(self) -> Vec<String> {
        let mut v = vec!["quant_input".to_string(), "quant_act_int32".to_string()];
        for u in self.units() {
            v.push(format!("{}.quant_act", u.prefix));
            for i in 1..self.convs_per_unit() {
                v.push(format!("{}.quant_act{i}", u.prefix));
            }
            v.push(format!("{}.quant_act_int32", u.prefix));
        }
        v.push("quant_act_output".into());
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters (what a HAWQ checkpoint stores) and bit configuration (what bit_config.py stores)
// ---------------------------------------------------------------------------------------------

/// A `QuantBnConv2d` (BN folded): buffers `weight_integer` (OIHW), `bias_integer`,
/// `convbn_scaling_factor` (per output channel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvBnParams {
    /// OIHW, values in [-7, 7] (4-bit) or [-127, 127] (8-bit).
    pub weight_integer: Vec<i32>,
    /// [O, I, kh, kw]
    pub shape: [i64; 4],
    /// [O], i32 (HAWQ's 32-bit bias, in units of s_in * s_w[o]).
    pub bias_integer: Vec<i32>,
    /// [O], > 0.
    pub convbn_scaling_factor: Vec<f32>,
}

/// A `QuantLinear`: `weight_integer` [O, I], `bias_integer` [O], `fc_scaling_factor` [O].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearParams {
    pub weight_integer: Vec<i32>,
    /// [O, I]
    pub shape: [i64; 2],
    pub bias_integer: Vec<i32>,
    pub fc_scaling_factor: Vec<f32>,
}

/// A `QuantAct`: `act_scaling_factor` plus the two buffers HAWQ uses in place of a missing
/// previous weight scale (`pre_weight_scaling_factor`: the block input requantize and
/// `quant_act_output`; `identity_weight_scaling_factor`: the plain identity branch of a residual
/// add). Both are 1.0 in every checkpoint HAWQ writes; they are kept to follow its arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActParams {
    pub act_scaling_factor: f32,
    #[serde(default = "one")]
    pub pre_weight_scaling_factor: f32,
    #[serde(default = "one")]
    pub identity_weight_scaling_factor: f32,
}

fn one() -> f32 {
    1.0
}

impl ActParams {
    pub fn new(act_scaling_factor: f32) -> Self {
        Self {
            act_scaling_factor,
            pre_weight_scaling_factor: 1.0,
            identity_weight_scaling_factor: 1.0,
        }
    }
}

/// A HAWQ quantized ResNet, keyed by HAWQ layer names (no `module.` prefix):
/// `convs["stage1.unit1.quant_convbn1"]`, `acts["stage1.unit1.quant_act1"]`,
/// `linears["quant_output"]`. [`Arch::convs`] / [`Arch::acts`] list the names a model needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HawqParams {
    pub arch: Arch,
    /// ResNet-50 only: the bottleneck stride on the first 1x1 conv (HAWQ trained on pytorchcv
    /// `resnet50`) instead of the 3x3 (`resnet50b`, the generator's).
    #[serde(default)]
    pub conv1_stride: bool,
    pub convs: BTreeMap<String, ConvBnParams>,
    pub acts: BTreeMap<String, ActParams>,
    pub linears: BTreeMap<String, LinearParams>,
}

impl HawqParams {
    pub fn conv(&self, name: &str) -> Result<&ConvBnParams, String> {
        self.convs
            .get(name)
            .ok_or_else(|| format!("layer '{name}' (QuantBnConv2d) is missing from the parameters"))
    }
    pub fn act(&self, name: &str) -> Result<&ActParams, String> {
        self.acts
            .get(name)
            .ok_or_else(|| format!("layer '{name}' (QuantAct) is missing from the parameters"))
    }
    pub fn linear(&self, name: &str) -> Result<&LinearParams, String> {
        self.linears
            .get(name)
            .ok_or_else(|| format!("layer '{name}' (QuantLinear) is missing from the parameters"))
    }

    // Channel widths from the parameters (added for the checkpoint importer): the layer names,
    // kernels and strides are the architecture's, the channel counts are those of the
    // `weight_integer` shapes present, so narrower (or wider) trained models build too. With the
    // standard widths (the generator's) these equal `Arch::units()` / `Arch::convs()`. A layer
    // that is absent keeps the standard width; `check` then reports it missing.

    /// [`Arch::units`] with the channel counts of the parameters.
    pub fn units(&self) -> Vec<UnitSpec> {
        let out_of =
            |name: &str, default: i64| self.convs.get(name).map_or(default, |c| c.shape[0]);
        let mut in_ch = out_of(self.arch.stem_conv(), 64);
        let mut v = self.arch.units();
        for u in &mut v {
            let last = format!("{}.quant_convbn{}", u.prefix, self.arch.convs_per_unit());
            u.in_channels = in_ch;
            u.out_channels = out_of(&last, u.out_channels);
            u.mid_channels = if self.arch.bottleneck() {
                out_of(&format!("{}.quant_convbn1", u.prefix), u.mid_channels)
            } else {
                u.out_channels
            };
            u.resize_identity = u.in_channels != u.out_channels || u.stride != 1;
            u.conv1_stride = self.conv1_stride && self.arch.bottleneck();
            in_ch = u.out_channels;
        }
        v
    }

    /// [`Arch::convs`] with the channel counts of the parameters.
    pub fn conv_specs(&self) -> Vec<ConvSpec> {
        let mut stem = self.arch.convs().remove(0);
        stem.out_channels = self.convs.get(&stem.name).map_or(64, |c| c.shape[0]);
        let mut v = vec![stem];
        for u in self.units() {
            if u.resize_identity {
                v.push(ConvSpec {
                    name: format!("{}.quant_identity_convbn", u.prefix),
                    out_channels: u.out_channels,
                    in_channels: u.in_channels,
                    kernel: 1,
                    stride: u.stride,
                    padding: 0,
                });
            }
            v.extend(self.arch.unit_convs(&u));
        }
        v
    }

    /// Check every layer the architecture needs: present, shapes right, values in range for
    /// their bit widths, scales positive and finite.
    pub fn validate(&self, bits: &BitConfig) -> Result<(), String> {
        self.check(bits, true)
    }

    /// `validate` without the per-element weight range scan (the graph builder's check).
    fn check(&self, bits: &BitConfig, values: bool) -> Result<(), String> {
        let pos = |name: &str, what: &str, v: &[f32]| -> Result<(), String> {
            match v.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
                Some(i) => Err(format!(
                    "layer '{name}': {what}[{i}] = {} is not a positive finite scale",
                    v[i]
                )),
                None => Ok(()),
            }
        };
        let in_range = |name: &str, v: &[i32], b: u32| -> Result<(), String> {
            if !values {
                return Ok(());
            }
            let q = weight_qmax(b);
            match v.iter().position(|&x| x < -q - 1 || x > q) {
                Some(i) => Err(format!(
                    "layer '{name}': weight_integer[{i}] = {} does not fit {b} bits",
                    v[i]
                )),
                None => Ok(()),
            }
        };
        for spec in self.conv_specs() {
            let c = self.conv(&spec.name)?;
            let want = spec.shape();
            if c.shape != want {
                return Err(format!(
                    "layer '{}': weight_integer has shape {:?}, {} needs {:?}",
                    spec.name,
                    c.shape,
                    self.arch.name(),
                    want
                ));
            }
            let n = want.iter().product::<i64>() as usize;
            let o = want[0] as usize;
            if c.weight_integer.len() != n {
                return Err(format!(
                    "layer '{}': weight_integer holds {} values, shape {:?} needs {n}",
                    spec.name,
                    c.weight_integer.len(),
                    want
                ));
            }
            if c.bias_integer.len() != o {
                return Err(format!(
                    "layer '{}': bias_integer holds {} values, {o} output channels",
                    spec.name,
                    c.bias_integer.len()
                ));
            }
            if c.convbn_scaling_factor.len() != o && c.convbn_scaling_factor.len() != 1 {
                return Err(format!(
                    "layer '{}': convbn_scaling_factor holds {} values, {o} output channels",
                    spec.name,
                    c.convbn_scaling_factor.len()
                ));
            }
            pos(
                &spec.name,
                "convbn_scaling_factor",
                &c.convbn_scaling_factor,
            )?;
            in_range(&spec.name, &c.weight_integer, bits.weight_bits(&spec.name)?)?;
        }
        let fc = self.linear(FC)?;
        // classes: any positive count; features: the last unit's width (checkpoint widths)
        let classes = if fc.shape[0] > 0 {
            fc.shape[0]
        } else {
            NUM_CLASSES
        };
        let features = self.units().last().map_or(0, |u| u.out_channels);
        let want = [classes, features];
        if fc.shape != want || fc.weight_integer.len() != (want[0] * want[1]) as usize {
            return Err(format!(
                "layer '{FC}': weight_integer has shape {:?} ({} values), needs {:?}",
                fc.shape,
                fc.weight_integer.len(),
                want
            ));
        }
        if fc.bias_integer.len() != want[0] as usize {
            return Err(format!(
                "layer '{FC}': bias_integer holds {} values, needs {}",
                fc.bias_integer.len(),
                want[0]
            ));
        }
        if fc.fc_scaling_factor.len() != want[0] as usize && fc.fc_scaling_factor.len() != 1 {
            return Err(format!(
                "layer '{FC}': fc_scaling_factor holds {} values, needs {}",
                fc.fc_scaling_factor.len(),
                want[0]
            ));
        }
        pos(FC, "fc_scaling_factor", &fc.fc_scaling_factor)?;
        in_range(FC, &fc.weight_integer, bits.weight_bits(FC)?)?;
        for name in self.arch.acts() {
            let a = self.act(&name)?;
            pos(&name, "act_scaling_factor", &[a.act_scaling_factor])?;
            pos(
                &name,
                "pre_weight_scaling_factor",
                &[a.pre_weight_scaling_factor],
            )?;
            pos(
                &name,
                "identity_weight_scaling_factor",
                &[a.identity_weight_scaling_factor],
            )?;
            bits.act_bits(&name)?;
        }
        Ok(())
    }
}

/// Largest weight magnitude HAWQ produces at `bits` (symmetric: 2^(b-1) - 1).
pub fn weight_qmax(bits: u32) -> i32 {
    (1 << (bits - 1)) - 1
}

/// HAWQ's per-layer bit widths (`bit_config.py`): layer name -> bits. Weights of `QuantBnConv2d`
/// / `QuantLinear` layers take 4 or 8; `QuantAct` layers 4 (unsigned, HAWQ's "asymmetric" mode
/// without zero point), 8 or 16 (symmetric, signed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BitConfig(pub BTreeMap<String, u32>);

impl BitConfig {
    /// HAWQ's `bit_config_<arch>_uniform4`: 8-bit input, stem and fc, 16-bit residual
    /// requantizes, everything else 4-bit.
    pub fn uniform4(arch: Arch) -> Self {
        Self::uniform(arch, 4)
    }
    /// HAWQ's `bit_config_<arch>_uniform8`.
    pub fn uniform8(arch: Arch) -> Self {
        Self::uniform(arch, 8)
    }
    fn uniform(arch: Arch, b: u32) -> Self {
        let mut m = BTreeMap::new();
        m.insert("quant_input".into(), 8);
        m.insert(arch.stem_conv().into(), 8);
        m.insert("quant_act_int32".into(), 16);
        for c in arch.convs().into_iter().skip(1) {
            m.insert(c.name, b);
        }
        for a in arch.acts() {
            if a.ends_with("quant_act_int32") || a == "quant_input" || a == "quant_act_output" {
                continue;
            }
            m.insert(a, b);
        }
        for u in arch.units() {
            m.insert(format!("{}.quant_act_int32", u.prefix), 16);
        }
        m.insert("quant_act_output".into(), 8);
        m.insert(FC.into(), 8);
        Self(m)
    }
    /// `w4a4` (= uniform4) or `w8a8` (= uniform8).
    pub fn preset(arch: Arch, name: &str) -> Option<Self> {
        match name {
            "w4a4" | "uniform4" => Some(Self::uniform4(arch)),
            "w8a8" | "uniform8" => Some(Self::uniform8(arch)),
            _ => None,
        }
    }
    /// A JSON object `{"layer name": bits, ...}` laid over `base` (keys may carry `module.`).
    pub fn overlay_json(mut self, json: &str) -> Result<Self, String> {
        let m: BTreeMap<String, u32> =
            serde_json::from_str(json).map_err(|e| format!("bit configuration: {e}"))?;
        for (k, v) in m {
            let k = k.strip_prefix("module.").unwrap_or(&k).to_string();
            self.0.insert(k, v);
        }
        Ok(self)
    }
    /// The layer names of a JSON bit configuration (keys may carry `module.`) that this one
    /// (a full configuration of a network) has no width for: layers the network does not have.
    pub fn unknown_layers(&self, json: &str) -> Result<Vec<String>, String> {
        let m: BTreeMap<String, u32> =
            serde_json::from_str(json).map_err(|e| format!("bit configuration: {e}"))?;
        Ok(m.into_keys()
            .filter(|k| !self.0.contains_key(k.strip_prefix("module.").unwrap_or(k)))
            .collect())
    }
    fn get(&self, name: &str) -> Result<u32, String> {
        self.0
            .get(name)
            .copied()
            .ok_or_else(|| format!("layer '{name}' has no bit width in the bit configuration"))
    }
    pub fn weight_bits(&self, name: &str) -> Result<u32, String> {
        match self.get(name)? {
            b @ (4 | 8) => Ok(b),
            b => Err(format!(
                "layer '{name}': {b}-bit weights are not supported (4 or 8)"
            )),
        }
    }
    pub fn act_bits(&self, name: &str) -> Result<u32, String> {
        match self.get(name)? {
            b @ (4 | 8 | 16) => Ok(b),
            b => Err(format!(
                "layer '{name}': {b}-bit activations are not supported (4, 8 or 16)"
            )),
        }
    }
}

/// Element type of a weight of `bits`.
pub fn weight_type(bits: u32) -> ElemType {
    if bits == 4 {
        ElemType::I4
    } else {
        ElemType::I8
    }
}

/// Element type and clamp range of a `QuantAct` output of `bits` when the act clamps (HAWQ case 0):
/// 4-bit is unsigned [0, 15] (HAWQ switches 4-bit acts to its zero-point-free "asymmetric"
/// mode), 8 and 16 bits are symmetric signed [-2^(b-1), 2^(b-1) - 1].
pub fn act_type(bits: u32) -> ElemType {
    match bits {
        4 => ElemType::U4,
        8 => ElemType::I8,
        _ => ElemType::I16,
    }
}

// ---------------------------------------------------------------------------------------------
// Dyadic multipliers, the HAWQ way
// ---------------------------------------------------------------------------------------------

/// `frexp` for a positive finite f64: `x = m * 2^e`, `m` in [0.5, 1).
pub fn frexp(x: f64) -> (f64, i32) {
    assert!(x.is_finite() && x > 0.0, "frexp of {x}");
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // subnormal: scale into the normal range first
        let (m, e) = frexp(x * 2f64.powi(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp - 1022)
}

/// The dyadic form of a positive real scale: `m, e = frexp(scale)`,
/// `b = round_half_up(m * 2^31)`, `c = 31 - e`; `b == 2^31` becomes `(2^30, c - 1)`.
/// Errors when `c` falls outside `0..=62`.
pub fn dyadic_from_scale(scale: f64) -> Result<Dyadic, String> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!(
            "requantize scale {scale:e} is not positive and finite"
        ));
    }
    let (m, e) = frexp(scale);
    let x = m * 2f64.powi(31); // exact
    let f = x.floor();
    let mut b = if x - f >= 0.5 { f as i64 + 1 } else { f as i64 };
    let mut c = 31 - e;
    if b == 1i64 << 31 {
        b >>= 1;
        c -= 1;
    }
    if !(0..=MAX_SHIFT).contains(&c) {
        return Err(format!(
            "requantize scale {scale:e} needs shift {c}, outside 0..={MAX_SHIFT}"
        ));
    }
    Ok(Dyadic {
        multiplier: b as i32,
        shift: c,
    })
}

/// HAWQ's `fixedpoint_fn` multiplier from float scales:
/// `new_scale = double(float32(s_in * s_w)) / double(s_out)`, then [`dyadic_from_scale`].
pub fn hawq_dyadic(s_in: f32, s_w: f32, s_out: f32) -> Result<Dyadic, String> {
    dyadic_from_scale((s_in * s_w) as f64 / s_out as f64)
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    pub batch: i64,
    /// Input height and width (224 for ImageNet; a multiple of 32). The final average pool
    /// covers the whole last feature map (7x7 at 224), as HAWQ's `QuantAveragePool2d(7)` does.
    pub image_size: i64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            batch: 1,
            image_size: 224,
        }
    }
}

/// What a calibration site is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// `quant_input`: `qnn.quantize` of the f32 image.
    Quantize,
    /// A clamping `QuantAct` (HAWQ case 0): `qnn.requantize`.
    Requantize,
    /// A residual `quant_act_int32` (HAWQ case 1): `qnn.add`, no clamp.
    ResidualAdd,
}

/// One `QuantAct` in the graph: the value it defines and how its inputs map to float.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// HAWQ layer name (`stage1.unit1.quant_act1`).
    pub name: String,
    pub kind: SiteKind,
    pub bits: u32,
    /// The op's result.
    pub value: ValueId,
    /// What the op reads (two inputs for a residual add).
    pub inputs: Vec<SiteInput>,
    /// Clamp of the result, when the op clamps.
    pub clamp: Option<[i64; 2]>,
}

/// One input of a [`Site`].
#[derive(Clone, Debug, PartialEq)]
pub struct SiteInput {
    pub value: ValueId,
    /// The float scale of the integers, per channel (NCHW axis 1) or one entry for the whole
    /// tensor: the float value HAWQ sees is `z * scale[c]` (summed over the inputs of a residual
    /// add). The quantize site's input is already float (scale 1).
    pub scale: Vec<f32>,
    /// The `QuantBnConv2d` whose `convbn_scaling_factor` is part of `scale`, with the value of its
    /// accumulator (before any relu / pooling).
    pub conv: Option<(String, ValueId)>,
}

/// A built HAWQ network: the graph and where each `QuantAct` sits in it.
#[derive(Clone, Debug, PartialEq)]
pub struct HawqGraph {
    pub graph: Graph,
    pub sites: Vec<Site>,
}

struct Builder<'a> {
    p: &'a HawqParams,
    bits: &'a BitConfig,
    g: Graph,
    sites: Vec<Site>,
}

/// A value of the wide or narrow activation stream together with its HAWQ scale.
#[derive(Clone, Copy)]
struct Act {
    v: ValueId,
    scale: f32,
}

impl Builder<'_> {
    fn ty(&self, v: ValueId) -> TensorType {
        self.g.value_type(v).clone()
    }

    fn weight(&mut self, name: String, ty: TensorType) -> ValueId {
        self.g.push(Op::Weight { name }, vec![], ty)
    }

    /// `QuantBnConv2d`: conv + i32 bias. Returns the i32 accumulator.
    fn conv(&mut self, x: ValueId, spec: &ConvSpec) -> Result<ValueId, String> {
        let wb = self.bits.weight_bits(&spec.name)?;
        let w = self.weight(
            format!("{}.weight_integer", spec.name),
            TensorType::new(spec.shape().to_vec(), weight_type(wb)),
        );
        let b = self.weight(
            format!("{}.bias_integer", spec.name),
            TensorType::new(vec![spec.out_channels], ElemType::I32),
        );
        let [n, c, h, wd] = Layout::NCHW.nchw(&self.ty(x).shape);
        if c != spec.in_channels {
            return Err(format!(
                "layer '{}': input has {c} channels, the conv reads {}",
                spec.name, spec.in_channels
            ));
        }
        let oh = (h + 2 * spec.padding - spec.kernel) / spec.stride + 1;
        let ow = (wd + 2 * spec.padding - spec.kernel) / spec.stride + 1;
        Ok(self.g.push(
            Op::Conv2d {
                strides: [spec.stride; 2],
                padding: [spec.padding; 4],
                layout: Layout::NCHW,
                kernel_layout: KernelLayout::OIHW,
                padding_value: 0,
                groups: 1,
            },
            vec![x, w, b],
            TensorType::new(vec![n, spec.out_channels, oh, ow], ElemType::I32),
        ))
    }

    fn relu(&mut self, x: ValueId) -> ValueId {
        let ty = self.ty(x);
        self.g.push(
            Op::Relu {
                layout: Layout::NCHW,
            },
            vec![x],
            ty,
        )
    }

    /// Per-channel float scales `float32(s_in * s_w[c])` of an accumulator.
    fn pre_scales(s_in: f32, s_w: &[f32]) -> Vec<f32> {
        s_w.iter().map(|&w| s_in * w).collect()
    }

    fn channel_scales(name: &str, pre: &[f32], s_out: f32) -> Result<ChannelScales, String> {
        let mut cs = ChannelScales {
            multiplier: vec![],
            shift: vec![],
        };
        for &s in pre {
            let d = dyadic_from_scale(s as f64 / s_out as f64)
                .map_err(|e| format!("layer '{name}': {e}"))?;
            cs.multiplier.push(d.multiplier);
            cs.shift.push(d.shift);
        }
        Ok(cs)
    }

    /// A clamping `QuantAct` (HAWQ `fixedpoint_fn` case 0) on `z` whose float scale is
    /// `float32(s_in * s_w[c])`.
    fn requant(
        &mut self,
        name: &str,
        z: ValueId,
        s_in: f32,
        s_w: &[f32],
        conv: Option<(String, ValueId)>,
    ) -> Result<Act, String> {
        let a = *self.p.act(name)?;
        let bits = self.bits.act_bits(name)?;
        let pre = Self::pre_scales(s_in, s_w);
        let scales = Self::channel_scales(name, &pre, a.act_scaling_factor)?;
        let elem = act_type(bits);
        let (lo, hi) = if bits == 16 {
            (i16::MIN as i64, i16::MAX as i64)
        } else {
            elem.range()
        };
        let mut ty = self.ty(z);
        ty.elem = elem;
        let layout = if ty.shape.len() == 2 {
            Layout::NC
        } else {
            Layout::NCHW
        };
        let v = self.g.push(
            Op::Requantize {
                offset: vec![],
                scales,
                rounding: Rounding::HalfToEven,
                zero_point: 0,
                clamp: [lo, hi],
                layout,
            },
            vec![z],
            ty,
        );
        self.sites.push(Site {
            name: name.into(),
            kind: SiteKind::Requantize,
            bits,
            value: v,
            inputs: vec![SiteInput {
                value: z,
                scale: pre,
                conv,
            }],
            clamp: Some([lo, hi]),
        });
        Ok(Act {
            v,
            scale: a.act_scaling_factor,
        })
    }

    /// The residual `quant_act_int32` (HAWQ case 1): both branches requantized to the output
    /// scale, each rounded half to even, summed without a clamp.
    fn residual_add(
        &mut self,
        name: &str,
        main: SiteInput,
        identity: SiteInput,
    ) -> Result<Act, String> {
        let (main_pre, identity_pre) = (&main.scale, &identity.scale);
        let a = *self.p.act(name)?;
        let bits = self.bits.act_bits(name)?;
        let lhs = Self::channel_scales(name, main_pre, a.act_scaling_factor)?;
        let rhs = Self::channel_scales(name, identity_pre, a.act_scaling_factor)?;
        let (ml, il) = (self.ty(main.value).shape, self.ty(identity.value).shape);
        if ml != il {
            return Err(format!(
                "layer '{name}': branch shapes differ: {ml:?} and {il:?}"
            ));
        }
        let v = self.g.push(
            Op::Add {
                lhs,
                rhs,
                rounding: Rounding::HalfToEven,
                clamp: [i32::MIN as i64, i32::MAX as i64],
                layout: Layout::NCHW,
                bias: 0.0,
            },
            vec![main.value, identity.value],
            TensorType::new(ml, ElemType::I32),
        );
        self.sites.push(Site {
            name: name.into(),
            kind: SiteKind::ResidualAdd,
            bits,
            value: v,
            inputs: vec![main, identity],
            clamp: None,
        });
        Ok(Act {
            v,
            scale: a.act_scaling_factor,
        })
    }

    fn unit(&mut self, u: &UnitSpec, r: Act) -> Result<Act, String> {
        let arch = self.p.arch;
        let pfx = &u.prefix;
        // quant_act on the block input; its missing weight scale is its own buffer.
        let qa_name = format!("{pfx}.quant_act");
        let pre_w = self.p.act(&qa_name)?.pre_weight_scaling_factor;
        let a = self.requant(&qa_name, r.v, r.scale, &[pre_w], None)?;
        // identity branch
        let identity = if u.resize_identity {
            let spec = ConvSpec {
                name: format!("{pfx}.quant_identity_convbn"),
                out_channels: u.out_channels,
                in_channels: u.in_channels,
                kernel: 1,
                stride: u.stride,
                padding: 0,
            };
            let id = self.conv(a.v, &spec)?;
            let s_w = self.p.conv(&spec.name)?.convbn_scaling_factor.clone();
            SiteInput {
                value: id,
                scale: Self::pre_scales(a.scale, &s_w),
                conv: Some((spec.name.clone(), id)),
            }
        } else {
            let idw = self
                .p
                .act(&format!("{pfx}.quant_act_int32"))?
                .identity_weight_scaling_factor;
            SiteInput {
                value: r.v,
                scale: Self::pre_scales(r.scale, &[idw]),
                conv: None,
            }
        };
        // body
        let convs = arch.unit_convs(u);
        let mut x = a;
        let mut last = None;
        for (i, spec) in convs.iter().enumerate() {
            let z = self.conv(x.v, spec)?;
            let s_w = self.p.conv(&spec.name)?.convbn_scaling_factor.clone();
            if i + 1 == convs.len() {
                last = Some(SiteInput {
                    value: z,
                    scale: Self::pre_scales(x.scale, &s_w),
                    conv: Some((spec.name.clone(), z)),
                });
                break;
            }
            let zr = self.relu(z);
            let src = Some((spec.name.clone(), z));
            x = self.requant(&format!("{pfx}.quant_act{}", i + 1), zr, x.scale, &s_w, src)?;
        }
        let main = last.expect("a unit has convs");
        let out = self.residual_add(&format!("{pfx}.quant_act_int32"), main, identity)?;
        Ok(Act {
            v: self.relu(out.v),
            scale: out.scale,
        })
    }
}

/// Build the qnn graph of HAWQ's integer-only forward (see the module docs). The function takes
/// `f32[N,3,S,S]` and returns `f32[N,1000]` logits.
pub fn build_graph(
    p: &HawqParams,
    bits: &BitConfig,
    opts: &BuildOptions,
) -> Result<HawqGraph, String> {
    p.check(bits, false)?;
    let s = opts.image_size;
    if s <= 0 || s % 32 != 0 {
        return Err(format!("image size {s} is not a positive multiple of 32"));
    }
    if opts.batch <= 0 {
        return Err(format!("batch {} is not positive", opts.batch));
    }
    let arch = p.arch;
    let input = TensorType::new(vec![opts.batch, 3, s, s], ElemType::F32);
    let mut b = Builder {
        p,
        bits,
        g: Graph::new(format!("{}_hawq", arch.name()), vec![input]),
        sites: vec![],
    };

    // quant_input
    let qi = *p.act("quant_input")?;
    let qi_bits = bits.act_bits("quant_input")?;
    let x = b.g.push(
        Op::Quantize {
            scale: qi.act_scaling_factor,
            layout: Layout::NCHW,
            zero_point: 0,
            mode: Default::default(),
            pre: vec![],
        },
        vec![0],
        TensorType::new(vec![opts.batch, 3, s, s], act_type(qi_bits)),
    );
    b.sites.push(Site {
        name: "quant_input".into(),
        kind: SiteKind::Quantize,
        bits: qi_bits,
        value: x,
        inputs: vec![SiteInput {
            value: 0,
            scale: vec![1.0],
            conv: None,
        }],
        clamp: Some({
            let (lo, hi) = act_type(qi_bits).range();
            [lo, hi]
        }),
    });

    // stem: conv -> max pool (on the accumulator) -> 16-bit requantize -> relu
    let stem = p.conv_specs().remove(0);
    let z_stem = b.conv(x, &stem)?;
    let ty = b.ty(z_stem);
    let [n, c, h, w] = Layout::NCHW.nchw(&ty.shape);
    let z = b.g.push(
        Op::MaxPool2d {
            kernel: [3, 3],
            strides: [2, 2],
            padding: [1; 4],
            layout: Layout::NCHW,
        },
        vec![z_stem],
        TensorType::new(
            vec![n, c, (h + 2 - 3) / 2 + 1, (w + 2 - 3) / 2 + 1],
            ty.elem,
        ),
    );
    let s_stem = p.conv(&stem.name)?.convbn_scaling_factor.clone();
    let src = Some((stem.name.clone(), z_stem));
    let r = b.requant("quant_act_int32", z, qi.act_scaling_factor, &s_stem, src)?;
    let mut r = Act {
        v: b.relu(r.v),
        scale: r.scale,
    };

    for u in p.units() {
        r = b.unit(&u, r)?;
    }

    // head: integer average pool over the last map, 8-bit requantize, fc, dequantize
    let ty = b.ty(r.v);
    let [n, c, h, w] = Layout::NCHW.nchw(&ty.shape);
    let pooled = b.g.push(
        Op::AvgPool2d {
            kernel: [h, w],
            strides: [1, 1],
            padding: [0; 4],
            layout: Layout::NCHW,
            divisor: None,
        },
        vec![r.v],
        TensorType::new(vec![n, c, 1, 1], ty.elem),
    );
    let pre_w = p.act("quant_act_output")?.pre_weight_scaling_factor;
    let a = b.requant("quant_act_output", pooled, r.scale, &[pre_w], None)?;
    let a_ty = b.ty(a.v);
    let flat = b.g.push(
        Op::Flatten {
            layout: Layout::NCHW,
        },
        vec![a.v],
        TensorType::new(vec![n, c], a_ty.elem),
    );
    let fc = p.linear(FC)?;
    let fb = bits.weight_bits(FC)?;
    let fw = b.weight(
        format!("{FC}.weight_integer"),
        TensorType::new(fc.shape.to_vec(), weight_type(fb)),
    );
    let fbias = b.weight(
        format!("{FC}.bias_integer"),
        TensorType::new(vec![fc.shape[0]], ElemType::I32),
    );
    let acc = b.g.push(
        Op::Dense,
        vec![flat, fw, fbias],
        TensorType::new(vec![n, fc.shape[0]], ElemType::I32),
    );
    // logits = float32(acc) * float32(s_fc[o] * s_act)
    let out_scales: Vec<f32> = fc.fc_scaling_factor.iter().map(|&s| s * a.scale).collect();
    // One scale when every output channel shares it, else one per channel (HAWQ's default).
    let same = out_scales
        .iter()
        .all(|s| s.to_bits() == out_scales[0].to_bits());
    let scales = if same {
        vec![out_scales[0]]
    } else {
        out_scales
    };
    let logits = b.g.push(
        Op::Dequantize {
            scales,
            layout: Layout::NC,
        },
        vec![acc],
        TensorType::new(vec![n, fc.shape[0]], ElemType::F32),
    );
    b.g.results = vec![logits];
    Ok(HawqGraph {
        graph: b.g,
        sites: b.sites,
    })
}

/// The weights the graph of [`build_graph`] names: `<layer>.weight_integer` (OIHW / OI, `i4` or
/// `i8` by the layer's bit width) and `<layer>.bias_integer` (`i32`).
pub fn build_weights(p: &HawqParams, bits: &BitConfig) -> Result<Weights, String> {
    p.validate(bits)?;
    let mut w = Weights::default();
    for spec in p.conv_specs() {
        let c = p.conv(&spec.name)?;
        let wb = bits.weight_bits(&spec.name)?;
        w.insert(
            format!("{}.weight_integer", spec.name),
            Tensor::int(
                TensorType::new(c.shape.to_vec(), weight_type(wb)),
                c.weight_integer.clone(),
            ),
        );
        w.insert(
            format!("{}.bias_integer", spec.name),
            Tensor::int(
                TensorType::new(vec![c.shape[0]], ElemType::I32),
                c.bias_integer.clone(),
            ),
        );
    }
    let fc = p.linear(FC)?;
    w.insert(
        format!("{FC}.weight_integer"),
        Tensor::int(
            TensorType::new(fc.shape.to_vec(), weight_type(bits.weight_bits(FC)?)),
            fc.weight_integer.clone(),
        ),
    );
    w.insert(
        format!("{FC}.bias_integer"),
        Tensor::int(
            TensorType::new(vec![fc.shape[0]], ElemType::I32),
            fc.bias_integer.clone(),
        ),
    );
    Ok(w)
}

/// [`build_graph`] and [`build_weights`] together.
pub fn build(
    p: &HawqParams,
    bits: &BitConfig,
    opts: &BuildOptions,
) -> Result<(HawqGraph, Weights), String> {
    Ok((build_graph(p, bits, opts)?, build_weights(p, bits)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::random_params;

    fn count(g: &Graph, mnemonic: &str) -> usize {
        g.nodes
            .iter()
            .filter(|n| n.op.mnemonic() == mnemonic)
            .count()
    }

    fn built(arch: Arch, preset: &str, batch: i64) -> (HawqGraph, Weights, BitConfig) {
        let bits = BitConfig::preset(arch, preset).unwrap();
        let p = random_params(arch, &bits, 7).unwrap();
        let (g, w) = build(
            &p,
            &bits,
            &BuildOptions {
                batch,
                image_size: 224,
            },
        )
        .unwrap();
        (g, w, bits)
    }

    #[test]
    fn dyadic_matches_hand_computed_values() {
        let d = |m: i32, s: i32| Dyadic {
            multiplier: m,
            shift: s,
        };
        // 1.0 = 0.5 * 2^1 -> b = 2^30, c = 30
        assert_eq!(hawq_dyadic(1.0, 1.0, 1.0).unwrap(), d(1 << 30, 30));
        // 0.75 = 0.75 * 2^0 -> b = 0.75 * 2^31, c = 31
        assert_eq!(dyadic_from_scale(0.75).unwrap(), d(1_610_612_736, 31));
        // values computed with numpy + decimal exactly as HAWQ's fixedpoint_fn / batch_frexp do
        assert_eq!(
            hawq_dyadic(0.0123, 0.00456, 0.0789).unwrap(),
            d(1_563_229_467, 41)
        );
        assert_eq!(hawq_dyadic(0.05, 0.01, 0.1).unwrap(), d(1_374_389_580, 38));
        assert_eq!(hawq_dyadic(0.1, 1.0, 0.3).unwrap(), d(1_431_655_730, 32));
        // the f32 product is rounded before the division: float32(0.05 * 0.01) != 0.0005
        let exact = dyadic_from_scale(0.05f64 * 0.01 / 0.1f32 as f64).unwrap();
        assert_ne!(exact, hawq_dyadic(0.05, 0.01, 0.1).unwrap());
    }

    #[test]
    fn dyadic_rounds_half_up_and_renormalises_two_to_the_31() {
        // m * 2^31 = 2^30 + 0.5 exactly: half rounds up
        let s = 0.5 + 2f64.powi(-32);
        assert_eq!(
            dyadic_from_scale(s).unwrap(),
            Dyadic {
                multiplier: (1 << 30) + 1,
                shift: 31
            }
        );
        // m * 2^31 = 2^31 - 0.25 rounds to 2^31, which does not fit i32: (2^30, c - 1)
        let s = 1.0 - 2f64.powi(-33);
        assert_eq!(
            dyadic_from_scale(s).unwrap(),
            Dyadic {
                multiplier: 1 << 30,
                shift: 30
            }
        );
        let s = (1.0 - 2f64.powi(-33)) * 2f64.powi(-10);
        assert_eq!(
            dyadic_from_scale(s).unwrap(),
            Dyadic {
                multiplier: 1 << 30,
                shift: 40
            }
        );
        // m * 2^31 = 2^31 - 0.5 exactly: also rounds up to 2^31
        let s = 1.0 - 2f64.powi(-32);
        assert_eq!(dyadic_from_scale(s).unwrap().multiplier, 1 << 30);
    }

    #[test]
    fn dyadic_rejects_shifts_outside_0_to_62() {
        assert_eq!(dyadic_from_scale(2f64.powi(-31)).unwrap().shift, 61);
        assert_eq!(dyadic_from_scale(2f64.powi(-32) * 1.5).unwrap().shift, 62);
        assert!(dyadic_from_scale(2f64.powi(-33))
            .unwrap_err()
            .contains("shift 63"));
        assert_eq!(dyadic_from_scale(2f64.powi(30)).unwrap().shift, 0);
        assert!(dyadic_from_scale(2f64.powi(31))
            .unwrap_err()
            .contains("shift -1"));
        assert!(dyadic_from_scale(0.0).is_err());
        assert!(dyadic_from_scale(f64::NAN).is_err());
        // (2^31 - 0.25) * 2^31 / 2^31 ... renormalising may push the shift to -1
        assert!(dyadic_from_scale((1.0 - 2f64.powi(-33)) * 2f64.powi(31)).is_err());
    }

    #[test]
    fn frexp_matches_the_c_definition() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(6.0), (0.75, 3));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
    }

    #[test]
    fn resnet18_has_hawq_structure() {
        let (hg, w, _) = built(Arch::ResNet18, "w4a4", 2);
        let g = &hg.graph;
        assert_eq!(count(g, "conv2d"), 20);
        assert_eq!(count(g, "add"), 8);
        assert_eq!(count(g, "dense"), 1);
        assert_eq!(count(g, "quantize"), 1);
        assert_eq!(count(g, "dequantize"), 1);
        assert_eq!(count(g, "max_pool2d"), 1);
        assert_eq!(count(g, "avg_pool2d"), 1);
        assert_eq!(count(g, "flatten"), 1);
        // stem + 2 per basic block + head
        assert_eq!(count(g, "requantize"), 1 + 8 * 2 + 1);
        // stem + conv1 per block + residual per block
        assert_eq!(count(g, "relu"), 1 + 8 + 8);
        assert_eq!(count(g, "weight"), 2 * 21);
        assert_eq!(hg.sites.len(), Arch::ResNet18.acts().len());
        assert_eq!(hg.sites.len(), 2 + 8 * 3 + 1);
        assert_eq!(g.args[0].shape, vec![2, 3, 224, 224]);
        assert_eq!(g.value_type(g.results[0]).shape, vec![2, 1000]);
        assert_eq!(g.value_type(g.results[0]).elem, ElemType::F32);
        assert_eq!(w.tensors.len(), 42);
        assert!(w.get("stage1.unit1.quant_convbn1.weight_integer").is_some());
        assert!(w.get("quant_init_block_convbn.bias_integer").is_some());
        assert!(w
            .get("stage2.unit1.quant_identity_convbn.weight_integer")
            .is_some());
        assert!(w
            .get("stage1.unit1.quant_identity_convbn.weight_integer")
            .is_none());
    }

    /// q_resnet101: ResNet-50's bottlenecks with 23 units in stage 3 (33 units, 99 convs in
    /// them, 4 identity convs, the stem).
    #[test]
    fn resnet101_has_hawq_structure() {
        let (hg, w, _) = built(Arch::ResNet101, "w4a4", 1);
        let g = &hg.graph;
        assert_eq!(Arch::ResNet101.units().len(), 33);
        assert_eq!(count(g, "conv2d"), 1 + 33 * 3 + 4);
        assert_eq!(count(g, "add"), 33);
        assert_eq!(count(g, "requantize"), 1 + 33 * 3 + 1);
        assert_eq!(hg.sites.len(), 2 + 33 * 4 + 1);
        assert_eq!(w.tensors.len(), 2 * (1 + 33 * 3 + 4 + 1));
        assert_eq!(g.value_type(g.results[0]).shape, vec![1, 1000]);
        assert!(w
            .get("stage3.unit23.quant_convbn3.weight_integer")
            .is_some());
        assert!(w
            .get("stage3.unit24.quant_convbn3.weight_integer")
            .is_none());
        assert_eq!(Arch::parse("resnet101b"), Some(Arch::ResNet101));
    }

    #[test]
    fn resnet50_has_hawq_structure() {
        let (hg, w, _) = built(Arch::ResNet50, "w4a4", 1);
        let g = &hg.graph;
        assert_eq!(count(g, "conv2d"), 53);
        assert_eq!(count(g, "add"), 16);
        assert_eq!(count(g, "requantize"), 1 + 16 * 3 + 1);
        assert_eq!(count(g, "relu"), 1 + 16 * 2 + 16);
        assert_eq!(hg.sites.len(), 2 + 16 * 4 + 1);
        assert_eq!(w.tensors.len(), 2 * 54);
        assert_eq!(g.value_type(g.results[0]).shape, vec![1, 1000]);
        // resnet50b: the stride sits on the 3x3 conv, identity conv on every first unit
        let conv_out = |name: &str| -> Vec<i64> {
            let wid = g
                .nodes
                .iter()
                .position(|n| matches!(&n.op, Op::Weight { name: x } if x == name))
                .unwrap()
                + g.args.len();
            let conv = g
                .nodes
                .iter()
                .find(|n| n.op.mnemonic() == "conv2d" && n.operands[1] == wid)
                .unwrap();
            conv.result.shape.clone()
        };
        assert_eq!(
            conv_out("stage2.unit1.quant_convbn1.weight_integer"),
            vec![1, 128, 56, 56]
        );
        assert_eq!(
            conv_out("stage2.unit1.quant_convbn2.weight_integer"),
            vec![1, 128, 28, 28]
        );
        assert_eq!(
            conv_out("stage1.unit1.quant_identity_convbn.weight_integer"),
            vec![1, 256, 56, 56]
        );
        assert_eq!(
            conv_out("stage4.unit3.quant_convbn3.weight_integer"),
            vec![1, 2048, 7, 7]
        );
        assert!(w.get("quant_init_convbn.weight_integer").is_some());
    }

    /// The op sequence of HAWQ's forward, checked on the start of resnet18.
    #[test]
    fn resnet18_follows_hawq_op_order() {
        let (hg, _, _) = built(Arch::ResNet18, "w4a4", 1);
        let g = &hg.graph;
        let seq: Vec<&str> = g
            .nodes
            .iter()
            .filter(|n| n.op.mnemonic() != "weight")
            .map(|n| n.op.mnemonic())
            .collect();
        assert_eq!(
            &seq[..12],
            &[
                "quantize",   // quant_input
                "conv2d",     // quant_init_block_convbn
                "max_pool2d", // pool on the accumulator
                "requantize", // quant_act_int32 (16-bit, clamped)
                "relu",
                "requantize", // stage1.unit1.quant_act
                "conv2d",     // quant_convbn1
                "relu",
                "requantize", // quant_act1
                "conv2d",     // quant_convbn2
                "add",        // quant_act_int32 (identity = stem output)
                "relu",
            ]
        );
        assert_eq!(
            &seq[seq.len() - 6..],
            &[
                "relu",
                "avg_pool2d",
                "requantize",
                "flatten",
                "dense",
                "dequantize"
            ]
        );
    }

    fn node(g: &Graph, v: ValueId) -> &nibble_qnn::graph::Node {
        g.node_of(v).unwrap()
    }

    #[test]
    fn element_types_and_clamps_follow_the_bit_configuration() {
        let (hg, _, bits) = built(Arch::ResNet18, "w4a4", 1);
        let g = &hg.graph;
        let site = |n: &str| hg.sites.iter().find(|s| s.name == n).unwrap().clone();
        let ty = |v: ValueId| g.value_type(v).clone();
        assert_eq!(ty(site("quant_input").value).elem, ElemType::I8);
        let stem = site("quant_act_int32");
        assert_eq!(ty(stem.value).elem, ElemType::I16);
        assert_eq!(stem.clamp, Some([-32768, 32767]));
        assert_eq!(node(g, stem.inputs[0].value).op.mnemonic(), "max_pool2d");
        let qa = site("stage1.unit1.quant_act");
        assert_eq!(ty(qa.value).elem, ElemType::U4);
        assert_eq!(qa.clamp, Some([0, 15]));
        let add = site("stage1.unit1.quant_act_int32");
        assert_eq!(ty(add.value).elem, ElemType::I32);
        match &node(g, add.value).op {
            Op::Add {
                clamp,
                rounding,
                lhs,
                rhs,
                ..
            } => {
                assert_eq!(*clamp, [i32::MIN as i64, i32::MAX as i64]);
                assert_eq!(*rounding, Rounding::HalfToEven);
                assert_eq!(lhs.len(), 64, "main branch: per channel");
                assert_eq!(rhs.len(), 1, "plain identity: per tensor");
            }
            op => panic!("{op:?}"),
        }
        // stage1.unit1's identity is the stem's relu output (i16 residual), read unquantized
        let id = node(g, add.value).operands[1];
        assert_eq!(node(g, id).op.mnemonic(), "relu");
        assert_eq!(node(g, id).operands[0], stem.value);
        // a resized identity is a conv on the unit's quantized input, scaled per channel
        let add2 = site("stage2.unit1.quant_act_int32");
        let id2 = node(g, add2.value).operands[1];
        assert_eq!(node(g, id2).op.mnemonic(), "conv2d");
        assert_eq!(
            node(g, id2).operands[0],
            site("stage2.unit1.quant_act").value
        );
        assert_eq!(add2.inputs[1].scale.len(), 128);
        assert_eq!(ty(site("quant_act_output").value).elem, ElemType::I8);
        assert_eq!(site("quant_act_output").clamp, Some([-128, 127]));
        // weights: stem and fc 8-bit, the rest 4-bit
        let wty = |n: &str| {
            g.nodes
                .iter()
                .find(|x| matches!(&x.op, Op::Weight { name } if name == n))
                .unwrap()
                .result
                .elem
        };
        assert_eq!(wty("quant_init_block_convbn.weight_integer"), ElemType::I8);
        assert_eq!(
            wty("stage3.unit2.quant_convbn2.weight_integer"),
            ElemType::I4
        );
        assert_eq!(wty("quant_output.weight_integer"), ElemType::I8);
        assert_eq!(wty("quant_output.bias_integer"), ElemType::I32);
        // a mixed configuration, like HAWQ's bops/latency presets
        let mixed = bits
            .overlay_json(
                r#"{"module.stage3.unit2.quant_act1": 8, "stage3.unit2.quant_convbn2": 8}"#,
            )
            .unwrap();
        let p = random_params(Arch::ResNet18, &mixed, 1).unwrap();
        let hg = build_graph(&p, &mixed, &BuildOptions::default()).unwrap();
        let s = hg
            .sites
            .iter()
            .find(|s| s.name == "stage3.unit2.quant_act1")
            .unwrap();
        assert_eq!(hg.graph.value_type(s.value).elem, ElemType::I8);
        let s = hg
            .sites
            .iter()
            .find(|s| s.name == "stage3.unit2.quant_act")
            .unwrap();
        assert_eq!(hg.graph.value_type(s.value).elem, ElemType::U4);
    }

    /// pytorchcv `resnet50` strides a bottleneck's first 1x1 conv, `resnet50b` its 3x3; the
    /// identity conv and every map size stay the same.
    #[test]
    fn bottleneck_stride_sits_where_the_checkpoint_says() {
        let bits = BitConfig::uniform4(Arch::ResNet50);
        let mut p = random_params(Arch::ResNet50, &bits, 2).unwrap();
        let stride = |p: &HawqParams, name: &str| {
            p.conv_specs()
                .into_iter()
                .find(|c| c.name == name)
                .unwrap()
                .stride
        };
        let n = |i| format!("stage3.unit1.quant_convbn{i}");
        assert_eq!((stride(&p, &n(1)), stride(&p, &n(2))), (1, 2), "resnet50b");
        p.conv1_stride = true;
        assert_eq!((stride(&p, &n(1)), stride(&p, &n(2))), (2, 1), "resnet50");
        assert_eq!(stride(&p, "stage3.unit1.quant_identity_convbn"), 2);
        assert_eq!(stride(&p, "stage3.unit2.quant_convbn1"), 1);
        let hg = build_graph(&p, &bits, &BuildOptions::default()).unwrap();
        let out = hg.graph.value_type(hg.graph.results[0]);
        assert_eq!(out.shape, vec![1, NUM_CLASSES]);
    }

    #[test]
    fn w8a8_is_eight_bit_everywhere_but_the_residual() {
        let (hg, _, _) = built(Arch::ResNet50, "w8a8", 1);
        let g = &hg.graph;
        for s in &hg.sites {
            let e = g.value_type(s.value).elem;
            match s.kind {
                SiteKind::ResidualAdd => assert_eq!(e, ElemType::I32, "{}", s.name),
                _ if s.name == "quant_act_int32" => assert_eq!(e, ElemType::I16),
                _ => assert_eq!(e, ElemType::I8, "{}", s.name),
            }
        }
        for n in &g.nodes {
            if let Op::Weight { name } = &n.op {
                if name.ends_with("weight_integer") {
                    assert_eq!(n.result.elem, ElemType::I8, "{name}");
                }
            }
        }
    }

    #[test]
    fn requantize_multipliers_come_from_the_float_scales() {
        let arch = Arch::ResNet18;
        let bits = BitConfig::uniform4(arch);
        let p = random_params(arch, &bits, 3).unwrap();
        let hg = build_graph(&p, &bits, &BuildOptions::default()).unwrap();
        let s = hg
            .sites
            .iter()
            .find(|s| s.name == "stage2.unit2.quant_act1")
            .unwrap();
        let s_in = p.acts["stage2.unit2.quant_act"].act_scaling_factor;
        let s_w = &p.convs["stage2.unit2.quant_convbn1"].convbn_scaling_factor;
        let s_out = p.acts["stage2.unit2.quant_act1"].act_scaling_factor;
        let Op::Requantize { scales, .. } = &hg.graph.node_of(s.value).unwrap().op else {
            panic!()
        };
        assert_eq!(scales.len(), 128);
        for (c, &w) in s_w.iter().enumerate() {
            assert_eq!(scales.get(c), hawq_dyadic(s_in, w, s_out).unwrap());
        }
        let logits = hg.graph.node_of(hg.graph.results[0]).unwrap();
        let Op::Dequantize { scales, .. } = &logits.op else {
            panic!()
        };
        assert_eq!(
            scales[0],
            p.linears[FC].fc_scaling_factor[0] * p.acts["quant_act_output"].act_scaling_factor
        );
    }

    #[test]
    fn generated_weights_bind_to_the_ir() {
        for arch in [Arch::ResNet18, Arch::ResNet50] {
            for preset in ["w4a4", "w8a8"] {
                let (hg, w, _) = built(arch, preset, 1);
                let bound = w.bind(&hg.graph).unwrap();
                assert_eq!(bound.tensors.len(), w.tensors.len());
                // and survive a safetensors round trip
                let back = Weights::from_bytes(&w.to_bytes().unwrap()).unwrap();
                back.bind(&hg.graph).unwrap();
            }
        }
    }

    #[test]
    fn generation_is_deterministic_and_seeded() {
        let bits = BitConfig::uniform4(Arch::ResNet18);
        let a = random_params(Arch::ResNet18, &bits, 5).unwrap();
        let b = random_params(Arch::ResNet18, &bits, 5).unwrap();
        let c = random_params(Arch::ResNet18, &bits, 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.convs, c.convs);
        let o = BuildOptions::default();
        assert_eq!(
            build_graph(&a, &bits, &o).unwrap().graph.to_mlir(),
            build_graph(&b, &bits, &o).unwrap().graph.to_mlir()
        );
    }

    #[test]
    fn invalid_parameters_name_the_layer() {
        let arch = Arch::ResNet18;
        let bits = BitConfig::uniform4(arch);
        let mut p = random_params(arch, &bits, 1).unwrap();
        p.convs.remove("stage3.unit1.quant_convbn2");
        let e = build_graph(&p, &bits, &BuildOptions::default()).unwrap_err();
        assert!(e.contains("'stage3.unit1.quant_convbn2'"), "{e}");
        let mut p = random_params(arch, &bits, 1).unwrap();
        p.convs
            .get_mut("stage1.unit2.quant_convbn1")
            .unwrap()
            .weight_integer[5] = 9;
        let e = build_weights(&p, &bits).unwrap_err();
        assert!(
            e.contains("'stage1.unit2.quant_convbn1'") && e.contains("4 bits"),
            "{e}"
        );
        let mut p = random_params(arch, &bits, 1).unwrap();
        p.acts
            .get_mut("stage4.unit2.quant_act")
            .unwrap()
            .act_scaling_factor = 0.0;
        let e = build_graph(&p, &bits, &BuildOptions::default()).unwrap_err();
        assert!(e.contains("'stage4.unit2.quant_act'"), "{e}");
        let mut p = random_params(arch, &bits, 1).unwrap();
        p.linears.get_mut(FC).unwrap().fc_scaling_factor[3] *= 2.0;
        let g = build_graph(&p, &bits, &BuildOptions::default())
            .unwrap()
            .graph;
        let Op::Dequantize { scales, .. } = &g.node_of(g.results[0]).unwrap().op else {
            panic!()
        };
        assert_eq!(
            scales.len(),
            1000,
            "per-channel fc scales give per-channel logits scales"
        );
        assert_eq!(
            scales[3],
            p.linears[FC].fc_scaling_factor[3] * p.acts["quant_act_output"].act_scaling_factor
        );
        let mut b2 = bits.clone();
        b2.0.remove("stage2.unit2.quant_act1");
        let e = build_graph(&p, &b2, &BuildOptions::default()).unwrap_err();
        assert!(e.contains("'stage2.unit2.quant_act1'"), "{e}");
    }
}
