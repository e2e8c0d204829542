//! Deterministic random HAWQ parameters for the example models.
//!
//! Every layer draws from its own generator seeded by `(seed, layer name)`, so a layer's values do
//! not depend on the order layers are generated in. Weights are uniform over the full symmetric
//! range of their bit width; per-channel weight scales follow He-uniform initialisation (so the
//! float model keeps its activation magnitude from layer to layer); biases are small against the
//! spread of the accumulator. Activation scales start at a data-free guess ([`heuristic_act_scale`])
//! and are meant to be replaced by [`crate::calibrate::calibrate`].

use crate::hawq::{
    weight_qmax, ActParams, Arch, BitConfig, ConvBnParams, HawqParams, LinearParams, FC,
    NUM_CLASSES,
};
use nibble_qnn::tensor::Rng;
use std::collections::BTreeMap;

/// FNV-1a of a layer name mixed with the seed.
pub fn layer_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A data-free activation scale: the float activations of a He-initialised network stay around
/// unit variance, so map ~3 to the top of 4/8-bit ranges and ~16 to the top of 16-bit ones.
pub fn heuristic_act_scale(bits: u32) -> f32 {
    match bits {
        4 => 3.0 / 15.0,
        8 => 3.0 / 127.0,
        _ => 16.0 / 32767.0,
    }
}

/// Typical magnitude (RMS) of a calibrated activation integer of `bits` feeding a conv.
fn typical_input(bits: u32) -> f64 {
    0.25 * if bits == 4 { 15.0 } else { 127.0 }
}

/// The `QuantAct` whose output feeds a conv (for the bias magnitude).
fn input_act_of(arch: Arch, conv: &str) -> String {
    if conv == arch.stem_conv() {
        return "quant_input".into();
    }
    let (unit, layer) = conv.rsplit_once('.').unwrap();
    match layer {
        "quant_identity_convbn" | "quant_convbn1" => format!("{unit}.quant_act"),
        l => {
            let i: usize = l.trim_start_matches("quant_convbn").parse().unwrap();
            format!("{unit}.quant_act{}", i - 1)
        }
    }
}

/// Random integer weights of a layer: uniform in [-q, q], `q = 2^(bits-1) - 1`.
fn random_weights(rng: &mut Rng, n: usize, bits: u32) -> Vec<i32> {
    let q = weight_qmax(bits) as i64;
    (0..n).map(|_| rng.int(-q, q) as i32).collect()
}

/// Bias integers: normal, a quarter of the accumulator's expected spread.
fn random_bias(rng: &mut Rng, n: usize, fan_in: i64, wbits: u32, in_bits: u32) -> Vec<i32> {
    let q = weight_qmax(wbits) as f64;
    let rms_w = (q * (q + 1.0) / 3.0).sqrt();
    let sigma = (fan_in as f64).sqrt() * rms_w * typical_input(in_bits);
    (0..n)
        .map(|_| (rng.normal() as f64 * 0.25 * sigma).round() as i32)
        .collect()
}

/// Per-channel He-uniform weight scales: `sqrt(6 / fan_in) / q`, jittered by +-25%.
fn random_scales(rng: &mut Rng, n: usize, fan_in: i64, wbits: u32, jitter: bool) -> Vec<f32> {
    let base = (6.0 / fan_in as f64).sqrt() / weight_qmax(wbits) as f64;
    let j = if jitter { rng.unit() as f64 } else { 0.5 };
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let f = if jitter && i > 0 {
            rng.unit() as f64
        } else {
            j
        };
        v.push((base * (0.75 + 0.5 * f)) as f32);
    }
    v
}

/// Deterministic random parameters for `arch` under `bits`, with heuristic activation scales.
pub fn random_params(arch: Arch, bits: &BitConfig, seed: u64) -> Result<HawqParams, String> {
    let mut convs = BTreeMap::new();
    for spec in arch.convs() {
        let mut rng = Rng(layer_seed(seed, &spec.name));
        let wb = bits.weight_bits(&spec.name)?;
        let in_bits = bits.act_bits(&input_act_of(arch, &spec.name))?;
        let shape = spec.shape();
        let n = shape.iter().product::<i64>() as usize;
        let o = spec.out_channels as usize;
        let weight_integer = random_weights(&mut rng, n, wb);
        let bias_integer = random_bias(&mut rng, o, spec.fan_in(), wb, in_bits);
        let convbn_scaling_factor = random_scales(&mut rng, o, spec.fan_in(), wb, true);
        convs.insert(
            spec.name.clone(),
            ConvBnParams {
                weight_integer,
                shape,
                bias_integer,
                convbn_scaling_factor,
            },
        );
    }
    let mut linears = BTreeMap::new();
    {
        let mut rng = Rng(layer_seed(seed, FC));
        let wb = bits.weight_bits(FC)?;
        let in_bits = bits.act_bits("quant_act_output")?;
        let k = arch.feature_channels();
        let weight_integer = random_weights(&mut rng, (NUM_CLASSES * k) as usize, wb);
        let bias_integer = random_bias(&mut rng, NUM_CLASSES as usize, k, wb, in_bits);
        // one scale per class, as HAWQ's QuantLinear has (a per-channel logits dequantize)
        let fc_scaling_factor = random_scales(&mut rng, NUM_CLASSES as usize, k, wb, true);
        linears.insert(
            FC.to_string(),
            LinearParams {
                weight_integer,
                shape: [NUM_CLASSES, k],
                bias_integer,
                fc_scaling_factor,
            },
        );
    }
    let mut acts = BTreeMap::new();
    for name in arch.acts() {
        let b = bits.act_bits(&name)?;
        acts.insert(name, ActParams::new(heuristic_act_scale(b)));
    }
    Ok(HawqParams {
        conv1_stride: false,
        arch,
        convs,
        acts,
        linears,
    })
}
