//! The bit-exact CPU reference interpreter for qnn (the definition every other stage is checked against).

use crate::graph::Graph;
use crate::tensor::Tensor;
use crate::weights::Weights;

/// Run `g` on `inputs` (one per function argument) and return the function's results.
/// `w` must hold every weight the graph names (see `Weights::bind`).
pub fn run(g: &Graph, w: &Weights, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let all = run_all(g, w, inputs)?;
    Ok(g.results.iter().map(|&v| all[v].clone()).collect())
}

/// Run `g` and return every SSA value (arguments first, then one per node), for calibration.
pub fn run_all(_g: &Graph, _w: &Weights, _inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    Err("reference interpreter not written yet".into())
}
