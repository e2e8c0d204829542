//! HAWQ-faithful quantized ResNet-18/50 as qnn graphs + weights (the library behind
//! `nibble-gen` and the tests).
//!
//! - [`hawq`]: HAWQ's parameters (keyed by HAWQ layer names), bit configurations, the dyadic
//!   multiplier derivation and the graph builder (shared with the checkpoint importer).
//! - [`generate`]: deterministic random parameters for the examples.
//! - [`calibrate`]: layer-by-layer activation-scale calibration on the reference interpreter.
//! - [`conv`]: single-conv networks (the RFC workloads, random shapes).
//! - [`import`]: HAWQ checkpoints (`torch.save` files read by `nibble_pth`) -> parameters.

pub mod calibrate;
pub mod conv;
pub mod generate;
pub mod hawq;
pub mod import;
pub mod streams;

use std::path::Path;

/// What `nibble-gen example` makes.
#[derive(Clone, Debug)]
pub struct ExampleConfig {
    pub arch: hawq::Arch,
    pub bits: hawq::BitConfig,
    pub batch: i64,
    pub seed: u64,
    pub image_size: i64,
    /// Calibrate on the reference interpreter (otherwise keep the heuristic scales).
    pub calibrate: bool,
    pub percentile: f64,
}

/// A generated example: parameters, graph, weights and (when calibrated) the calibration report.
pub struct Example {
    pub params: hawq::HawqParams,
    pub bits: hawq::BitConfig,
    pub graph: hawq::HawqGraph,
    pub weights: nibble_qnn::weights::Weights,
    pub report: Option<calibrate::Report>,
}

/// Generate (and calibrate) an example model.
pub fn make_example(cfg: &ExampleConfig) -> Result<Example, String> {
    if !(1..=1 << 16).contains(&cfg.batch) || !(1..=1 << 13).contains(&cfg.image_size) {
        return Err(format!(
            "batch {} and image size {} must lie in [1, 65536] and [1, 8192]",
            cfg.batch, cfg.image_size
        ));
    }
    let mut params = generate::random_params(cfg.arch, &cfg.bits, cfg.seed)?;
    let report = if cfg.calibrate {
        Some(calibrate::calibrate(
            &mut params,
            &cfg.bits,
            &calibrate::CalibrationOptions {
                image_size: cfg.image_size,
                seed: cfg.seed,
                percentile: cfg.percentile,
                normalize_weight_scales: true,
            },
        )?)
    } else {
        None
    };
    let (graph, weights) = hawq::build(
        &params,
        &cfg.bits,
        &hawq::BuildOptions {
            batch: cfg.batch,
            image_size: cfg.image_size,
        },
    )?;
    Ok(Example {
        params,
        bits: cfg.bits.clone(),
        graph,
        weights,
        report,
    })
}

/// Write `DIR/model.mlir` and `DIR/weights.safetensors` (both atomically).
pub fn write_example(ex: &Example, dir: &Path) -> Result<(), String> {
    write_graph(dir, &ex.graph.graph, &ex.weights)
}

/// [`write_model_files`] of a graph that passes the qnn verifier (shapes within the element
/// limits, every op well-formed): what nibble-gen writes, nibble-opt and nibble-run accept.
pub fn write_graph(
    dir: &Path,
    g: &nibble_qnn::graph::Graph,
    weights: &nibble_qnn::weights::Weights,
) -> Result<(), String> {
    nibble_qnn::verify::verify_graph(g).map_err(|e| {
        let more = match e.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let first = e.first().map(String::as_str).unwrap_or("");
        let first = first.strip_prefix("error: ").unwrap_or(first);
        format!("the model would not be valid qnn, nothing written: {first}{more}")
    })?;
    write_model_files(dir, &g.to_mlir(), weights)
}

/// `DIR/model.mlir` and `DIR/weights.safetensors`, both or neither (a failed write leaves the
/// old pair).
pub fn write_model_files(
    dir: &Path,
    mlir: &str,
    weights: &nibble_qnn::weights::Weights,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let w = weights.to_bytes()?;
    nibble_qnn::write_files_atomically(&[
        (&dir.join("model.mlir"), mlir.as_bytes()),
        (&dir.join("weights.safetensors"), &w),
    ])
}

/// Write `DIR/hawq_params.json`, `DIR/hawq_bit_config.json` and, when calibrated, `DIR/calibration_input.npy` and
/// `DIR/calibration_logits.npy` (the batch-1 calibration input and the reference logits).
pub fn write_calibration(ex: &Example, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let json = serde_json::to_vec(&ex.params).map_err(|e| e.to_string())?;
    nibble_qnn::write_atomically(&dir.join("hawq_params.json"), &json)?;
    let json = serde_json::to_vec_pretty(&ex.bits).map_err(|e| e.to_string())?;
    nibble_qnn::write_atomically(&dir.join("hawq_bit_config.json"), &json)?;
    if let Some(r) = &ex.report {
        nibble_qnn::write_atomically(&dir.join("calibration_input.npy"), &r.input.to_npy())?;
        nibble_qnn::write_atomically(&dir.join("calibration_logits.npy"), &r.logits.to_npy())?;
    }
    Ok(())
}
pub mod onnx;
