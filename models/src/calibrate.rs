//! Layer-by-layer calibration of a HAWQ network's activation scales on the reference interpreter,
//! and per-layer statistics of the resulting integer activations.
//!
//! Each `QuantAct` is calibrated in forward order: the values feeding it are computed with every
//! earlier scale already fixed (only the part of the graph not yet evaluated is run, on a
//! sub-graph whose arguments are the cached values it reads), its float input is reconstructed
//! from the integer tensors and their HAWQ scales, and its scale is chosen so a high percentile
//! of that float input maps to the top of the integer range.

use crate::hawq::{
    build_graph, build_weights, BitConfig, BuildOptions, HawqParams, Site, SiteKind, FC,
};
use nibble_qnn::graph::{Graph, Op, ValueId};
use nibble_qnn::reference::run_all;
use nibble_qnn::semantics::ElemType;
use nibble_qnn::tensor::{Data, Rng, Tensor};
use nibble_qnn::weights::Weights;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// Evaluates a graph incrementally: values computed once are cached by `ValueId`, and asking for
/// more values runs only the nodes not evaluated yet. The graph may be rebuilt between calls as
/// long as its structure stays the same and no cached value depends on what changed.
pub struct Evaluator {
    pub cache: HashMap<ValueId, Tensor>,
}

impl Evaluator {
    /// `inputs`: one tensor per function argument.
    pub fn new(inputs: Vec<Tensor>) -> Self {
        Self {
            cache: inputs.into_iter().enumerate().collect(),
        }
    }

    /// Make sure every value of `targets` is in the cache.
    pub fn eval(&mut self, g: &Graph, w: &Weights, targets: &[ValueId]) -> Result<(), String> {
        // nodes to run: everything reachable backwards from the targets that is not cached
        let mut need = BTreeSet::new();
        let mut stack: Vec<ValueId> = targets.to_vec();
        while let Some(v) = stack.pop() {
            if self.cache.contains_key(&v) || need.contains(&v) {
                continue;
            }
            let node = g
                .node_of(v)
                .ok_or_else(|| format!("function argument %arg{v} has no value"))?;
            need.insert(v);
            stack.extend(node.operands.iter().copied());
        }
        if need.is_empty() {
            return Ok(());
        }
        // arguments of the sub-graph: cached values the nodes read
        let frontier: BTreeSet<ValueId> = need
            .iter()
            .flat_map(|&v| g.node_of(v).unwrap().operands.iter().copied())
            .filter(|v| !need.contains(v))
            .collect();
        let mut map: HashMap<ValueId, ValueId> = HashMap::new();
        let mut sub = Graph::new(
            format!("{}_part", g.name),
            frontier.iter().map(|&v| g.value_type(v).clone()).collect(),
        );
        for (i, &v) in frontier.iter().enumerate() {
            map.insert(v, i);
        }
        for &v in &need {
            let n = g.node_of(v).unwrap();
            let ops = n.operands.iter().map(|o| map[o]).collect();
            let nv = sub.push(n.op.clone(), ops, n.result.clone());
            sub.nodes.last_mut().unwrap().loc = n.loc.clone();
            map.insert(v, nv);
        }
        sub.results = targets
            .iter()
            .filter(|t| need.contains(t))
            .map(|t| map[t])
            .collect();
        let inputs: Vec<Tensor> = frontier.iter().map(|v| self.cache[v].clone()).collect();
        let values =
            run_all(&sub, w, &inputs).map_err(|e| format!("reference interpreter: {e}"))?;
        if values.len() != sub.args.len() + sub.nodes.len() {
            return Err(format!(
                "reference interpreter returned {} values for {} arguments and {} nodes",
                values.len(),
                sub.args.len(),
                sub.nodes.len()
            ));
        }
        let mut values: Vec<Option<Tensor>> = values.into_iter().map(Some).collect();
        for &v in &need {
            // weights are not cached: they are cheap to re-read and large to keep
            if matches!(g.node_of(v).unwrap().op, Op::Weight { .. }) {
                continue;
            }
            let t = values[map[&v]].take().unwrap();
            self.cache.insert(v, t);
        }
        Ok(())
    }
}

/// Calibration settings.
#[derive(Clone, Copy, Debug)]
pub struct CalibrationOptions {
    /// Input height/width of the calibration image (batch 1).
    pub image_size: i64,
    /// Seed of the deterministic calibration input.
    pub seed: u64,
    /// Percentile of |float input| mapped to the top of a 4/8-bit range (16-bit and residual
    /// sums map their maximum, as HAWQ's min/max calibration does).
    pub percentile: f64,
    /// Also rescale weight scales the way folded batch norm leaves them in a trained network:
    /// each conv's per-channel `convbn_scaling_factor` so its float output has an RMS of about
    /// 1 (times the channel's random jitter), and the fc scale so the logits have an RMS of
    /// [`LOGIT_RMS`]. Integer weights and biases are untouched. Without it the float
    /// magnitudes of a random network grow layer after layer (the integer behaviour is
    /// calibrated either way).
    pub normalize_weight_scales: bool,
}

/// Target RMS of the float logits when weight scales are normalized.
pub const LOGIT_RMS: f64 = 2.0;

impl Default for CalibrationOptions {
    fn default() -> Self {
        Self {
            image_size: 224,
            seed: 0,
            percentile: 99.9,
            normalize_weight_scales: true,
        }
    }
}

/// Statistics of one `QuantAct`'s integer output.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStats {
    pub name: String,
    pub kind: SiteKind,
    pub elem: ElemType,
    pub scale: f32,
    pub count: usize,
    pub frac_zero: f64,
    /// Fraction equal to the clamp maximum (None when the op does not clamp).
    pub frac_sat: Option<f64>,
    pub mean: f64,
    pub min: i64,
    pub max: i64,
    /// Bucket range and fractions of 8 equal buckets over it.
    pub hist_range: [i64; 2],
    pub hist: [f64; 8],
}

/// The outcome of a calibration: per-layer stats and the calibration logits.
#[derive(Clone, Debug)]
pub struct Report {
    pub layers: Vec<LayerStats>,
    /// The calibration input (`f32[1,3,S,S]`) and the calibrated model's logits on it.
    pub input: Tensor,
    pub logits: Tensor,
}

/// The deterministic calibration input: `f32[1,3,S,S]`, approximately standard normal.
pub fn calibration_input(image_size: i64, seed: u64) -> Tensor {
    let ty = nibble_qnn::graph::TensorType::new(vec![1, 3, image_size, image_size], ElemType::F32);
    Rng(seed ^ 0x1A2B_3C4D_5E6F_7081).tensor(&ty)
}

/// The float value of every element a site reads: `sum_i z_i * scale_i[channel]`.
fn site_float_input(site: &Site, ev: &Evaluator) -> Vec<f64> {
    let mut out: Vec<f64> = vec![];
    for (k, input) in site.inputs.iter().enumerate() {
        let scales = &input.scale;
        let t = &ev.cache[&input.value];
        let shape = &t.ty.shape;
        let c = if shape.len() >= 2 {
            shape[1] as usize
        } else {
            1
        };
        let inner: usize = shape.iter().skip(2).product::<i64>() as usize;
        let n = t.len();
        if k == 0 {
            out = vec![0.0; n];
        }
        let scale = |i: usize| -> f64 {
            if scales.len() == 1 {
                scales[0] as f64
            } else {
                scales[(i / inner.max(1)) % c] as f64
            }
        };
        match &t.data {
            Data::Float(x) => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o += x[i] as f64 * scale(i);
                }
            }
            Data::Int(x) => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o += x[i] as f64 * scale(i);
                }
            }
        }
    }
    out
}

/// The `pct`-th percentile of `|x|` (HAWQ's `kthvalue` at `round(n * pct / 100)`).
pub fn abs_percentile(x: &[f64], pct: f64) -> f64 {
    let mut a: Vec<f64> = x.iter().map(|v| v.abs()).collect();
    if a.is_empty() {
        return 0.0;
    }
    let k = ((a.len() as f64 * pct / 100.0).round() as usize).clamp(1, a.len()) - 1;
    let (_, v, _) = a.select_nth_unstable_by(k, |p, q| p.total_cmp(q));
    *v
}

/// Choose the scale of one site from its float input.
fn choose_scale(site: &Site, x: &[f64], pct: f64) -> Result<f32, String> {
    let qmax = match (site.kind, site.bits) {
        (SiteKind::ResidualAdd, b) | (_, b @ 16) => ((1i64 << (b - 1)) - 1) as f64,
        _ => site.clamp.map(|c| c[1]).unwrap_or(127) as f64,
    };
    let maxabs = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let top = if site.kind == SiteKind::ResidualAdd || site.bits >= 16 {
        maxabs
    } else {
        let p = abs_percentile(x, pct);
        if p > 0.0 {
            p
        } else {
            maxabs
        }
    };
    if !(top > 0.0 && top.is_finite()) {
        return Err(format!(
            "layer '{}': its input is all zero on the calibration data",
            site.name
        ));
    }
    Ok((top / qmax) as f32)
}

/// Calibrate every activation scale of `p` in forward order (see the module docs) and return the
/// statistics of the calibrated network on the calibration input.
pub fn calibrate(
    p: &mut HawqParams,
    bits: &BitConfig,
    opts: &CalibrationOptions,
) -> Result<Report, String> {
    let bopts = BuildOptions {
        batch: 1,
        image_size: opts.image_size,
    };
    let w = build_weights(p, bits)?;
    let mut hg = build_graph(p, bits, &bopts)?;
    // the CPU reference runs this graph: refused before it runs out of memory
    nibble_qnn::reference::fits_in_memory(&hg.graph)
        .map_err(|e| format!("calibration at {0}x{0}: {e}", opts.image_size))?;
    let n_nodes = hg.graph.nodes.len();
    let mut ev = Evaluator::new(vec![calibration_input(opts.image_size, opts.seed)]);
    for i in 0..hg.sites.len() {
        if i > 0 {
            hg = build_graph(p, bits, &bopts)?;
            debug_assert_eq!(hg.graph.nodes.len(), n_nodes);
        }
        if opts.normalize_weight_scales && normalize_convs(p, &hg.sites[i], &hg.graph, &w, &mut ev)?
        {
            hg = build_graph(p, bits, &bopts)?;
        }
        let site = &hg.sites[i];
        let targets: Vec<ValueId> = site.inputs.iter().map(|x| x.value).collect();
        ev.eval(&hg.graph, &w, &targets)?;
        let x = site_float_input(site, &ev);
        let s = choose_scale(site, &x, opts.percentile)?;
        p.acts
            .get_mut(&site.name)
            .ok_or_else(|| format!("layer '{}' is missing from the parameters", site.name))?
            .act_scaling_factor = s;
    }
    let mut hg = build_graph(p, bits, &bopts)?;
    let mut targets: Vec<ValueId> = hg.sites.iter().map(|s| s.value).collect();
    // the fc accumulator (the dequantize's operand), before its scale is chosen
    let logits_node = hg
        .graph
        .node_of(hg.graph.results[0])
        .ok_or("the graph returns an argument")?;
    let acc = logits_node.operands[0];
    targets.push(acc);
    ev.eval(&hg.graph, &w, &targets)?;
    if opts.normalize_weight_scales {
        let z = ev.cache[&acc].ints();
        let ss: f64 = z.iter().map(|&x| (x as f64).powi(2)).sum();
        let rms = (ss / z.len().max(1) as f64).sqrt();
        let s_act = p.act("quant_act_output")?.act_scaling_factor as f64;
        if rms > 0.0 {
            let s_fc = (LOGIT_RMS / (rms * s_act)) as f32;
            let fc = p.linears.get_mut(FC).ok_or("no fc layer")?;
            fc.fc_scaling_factor.iter_mut().for_each(|s| *s = s_fc);
            hg = build_graph(p, bits, &bopts)?;
        }
    }
    ev.eval(&hg.graph, &w, &hg.graph.results)?;
    let layers = hg
        .sites
        .iter()
        .map(|s| {
            let scale = p.acts[&s.name].act_scaling_factor;
            site_stats(s, &ev.cache[&s.value], scale)
        })
        .collect();
    Ok(Report {
        layers,
        input: ev.cache[&0].clone(),
        logits: ev.cache[&hg.graph.results[0]].clone(),
    })
}

/// BN-like normalization of the convs feeding `site` (see
/// [`CalibrationOptions::normalize_weight_scales`]). Returns whether any scale changed.
fn normalize_convs(
    p: &mut HawqParams,
    site: &Site,
    g: &Graph,
    w: &Weights,
    ev: &mut Evaluator,
) -> Result<bool, String> {
    let mut changed = false;
    for input in &site.inputs {
        let Some((name, v)) = &input.conv else {
            continue;
        };
        ev.eval(g, w, &[*v])?;
        let t = &ev.cache[v];
        let [n, c, h, wd] = nibble_qnn::semantics::Layout::NCHW.nchw(&t.ty.shape);
        let (n, c, inner) = (n as usize, c as usize, (h * wd) as usize);
        let z = t.ints();
        let conv = p
            .convs
            .get_mut(name)
            .ok_or_else(|| format!("layer '{name}' is missing from the parameters"))?;
        let sw = &mut conv.convbn_scaling_factor;
        if sw.len() != c || input.scale.len() != c {
            continue;
        }
        let mean_sw = sw.iter().map(|&x| x as f64).sum::<f64>() / c as f64;
        for (ch, s) in sw.iter_mut().enumerate() {
            let mut ss = 0f64;
            for b in 0..n {
                let base = (b * c + ch) * inner;
                ss += z[base..base + inner]
                    .iter()
                    .map(|&x| (x as f64).powi(2))
                    .sum::<f64>();
            }
            let rms = (ss / (n * inner).max(1) as f64).sqrt() * input.scale[ch] as f64;
            if rms > 0.0 {
                let gamma = *s as f64 / mean_sw;
                *s = (*s as f64 * gamma / rms) as f32;
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// Statistics of a site's output tensor.
pub fn site_stats(site: &Site, t: &Tensor, scale: f32) -> LayerStats {
    let v = t.ints();
    let n = v.len().max(1);
    let (mut min, mut max, mut sum, mut zeros) = (i64::MAX, i64::MIN, 0f64, 0usize);
    for &x in v {
        let x = x as i64;
        min = min.min(x);
        max = max.max(x);
        sum += x as f64;
        zeros += (x == 0) as usize;
    }
    if v.is_empty() {
        (min, max) = (0, 0);
    }
    let (lo, hi) = match site.clamp {
        Some([lo, hi]) if site.bits <= 8 => (if min >= 0 { 0.max(lo) } else { lo }, hi),
        _ => (min, max),
    };
    let width = (hi - lo + 1).max(1) as i128;
    let mut hist = [0f64; 8];
    for &x in v {
        let b = (((x as i64 - lo).max(0) as i128 * 8) / width).clamp(0, 7) as usize;
        hist[b] += 1.0;
    }
    for h in &mut hist {
        *h /= n as f64;
    }
    let frac_sat = site
        .clamp
        .map(|[_, chi]| v.iter().filter(|&&x| x as i64 == chi).count() as f64 / n as f64);
    LayerStats {
        name: site.name.clone(),
        kind: site.kind,
        elem: t.ty.elem,
        scale,
        count: v.len(),
        frac_zero: zeros as f64 / n as f64,
        frac_sat,
        mean: sum / n as f64,
        min,
        max,
        hist_range: [lo, hi],
        hist,
    }
}

/// A table of the per-layer statistics, one line per `QuantAct`.
pub fn format_report(layers: &[LayerStats]) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "{:<30} {:<5} {:>11} {:>6} {:>6} {:>9}  {:<26} histogram % (8 buckets)",
        "layer", "type", "scale", "zero%", "max%", "mean", "range [min, max] / buckets"
    )
    .unwrap();
    for l in layers {
        let sat = l
            .frac_sat
            .map(|f| format!("{:6.2}", 100.0 * f))
            .unwrap_or_else(|| format!("{:>6}", "-"));
        let hist: Vec<String> = l
            .hist
            .iter()
            .map(|h| format!("{:2.0}", 100.0 * h))
            .collect();
        let range = format!(
            "[{}, {}] / [{}, {}]",
            l.min, l.max, l.hist_range[0], l.hist_range[1]
        );
        writeln!(
            s,
            "{:<30} {:<5} {:>11.4e} {:6.2} {} {:9.2}  {:<26} {}",
            l.name,
            l.elem.to_string(),
            l.scale,
            100.0 * l.frac_zero,
            sat,
            l.mean,
            range,
            hist.join(" ")
        )
        .unwrap();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hawq::{build_graph, Arch};
    use crate::{make_example, ExampleConfig};

    fn example(arch: Arch, preset: &str, image_size: i64) -> crate::Example {
        make_example(&ExampleConfig {
            arch,
            bits: BitConfig::preset(arch, preset).unwrap(),
            batch: 1,
            seed: 11,
            image_size,
            calibrate: true,
            percentile: 99.9,
        })
        .unwrap()
    }

    fn check_report(r: &Report) {
        for l in &r.layers {
            assert!(l.frac_zero < 1.0, "{}: all zero", l.name);
            if let Some(s) = l.frac_sat {
                assert!(s <= 0.5, "{}: {:.1}% saturated", l.name, 100.0 * s);
            }
            assert!(l.max > 0, "{}: max {}", l.name, l.max);
        }
        let l = r.logits.floats();
        assert!(l.iter().all(|x| x.is_finite()));
        assert!(
            l.iter().any(|x| x.to_bits() != l[0].to_bits()),
            "logits are constant"
        );
    }

    #[test]
    fn incremental_evaluation_matches_a_full_run() {
        let arch = Arch::ResNet18;
        let bits = BitConfig::uniform4(arch);
        let p = crate::generate::random_params(arch, &bits, 2).unwrap();
        let opts = BuildOptions {
            batch: 1,
            image_size: 32,
        };
        let hg = build_graph(&p, &bits, &opts).unwrap();
        let w = build_weights(&p, &bits).unwrap();
        let x = calibration_input(32, 2);
        let full = run_all(&hg.graph, &w, std::slice::from_ref(&x)).unwrap();
        let mut ev = Evaluator::new(vec![x]);
        for s in &hg.sites {
            ev.eval(&hg.graph, &w, &[s.value]).unwrap();
        }
        ev.eval(&hg.graph, &w, &hg.graph.results).unwrap();
        for (v, t) in &ev.cache {
            assert_eq!(&full[*v], t, "value {v}");
        }
        assert!(ev.cache.contains_key(&hg.graph.results[0]));
    }

    #[test]
    fn calibrated_resnet18_w4a4_runs_and_uses_its_ranges() {
        let ex = example(Arch::ResNet18, "w4a4", 64);
        let r = ex.report.as_ref().unwrap();
        assert_eq!(r.layers.len(), Arch::ResNet18.acts().len());
        check_report(r);
        // the 4-bit activations are neither dead nor clipped: p99.9 -> 15 saturates ~0.1%
        for l in r.layers.iter().filter(|l| l.elem == ElemType::U4) {
            assert!(l.frac_sat.unwrap() < 0.05, "{}", l.name);
            assert!(l.max == 15, "{}: max {}", l.name, l.max);
        }
        // the calibrated model written at another batch still binds
        ex.weights.bind(&ex.graph.graph).unwrap();
    }

    #[test]
    fn calibrated_resnet18_w8a8_runs_and_uses_its_ranges() {
        let ex = example(Arch::ResNet18, "w8a8", 64);
        check_report(ex.report.as_ref().unwrap());
    }

    #[test]
    fn calibration_is_deterministic() {
        let a = example(Arch::ResNet18, "w4a4", 32);
        let b = example(Arch::ResNet18, "w4a4", 32);
        assert_eq!(a.params, b.params);
        assert_eq!(a.graph.graph.to_mlir(), b.graph.graph.to_mlir());
    }

    #[test]
    fn percentile_follows_kthvalue() {
        let x: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
        assert_eq!(abs_percentile(&x, 99.9), 999.0);
        assert_eq!(abs_percentile(&x, 100.0), 1000.0);
        assert_eq!(abs_percentile(&[-5.0, 1.0], 100.0), 5.0);
    }
}
