//! The residual streams of a model: its i32 activations other than raw conv / dense
//! accumulators (HAWQ's unclamped residual sums and the identity branches feeding them), each with its static bound
//! (`nibble_qnn::bounds`) and the range the reference actually produces on given inputs. It
//! answers where an i16 stream would be exact by proof and how often a value leaves i16.

use nibble_qnn::bounds::{value_bounds, Interval};
use nibble_qnn::graph::{Graph, Op};
use nibble_qnn::semantics::ElemType;
use nibble_qnn::tensor::Tensor;
use nibble_qnn::weights::Weights;

/// One stream: the node's value id, its static bound, and over the inputs the observed range,
/// the elements seen and how many of them left i16.
#[derive(Clone, Debug)]
pub struct Stream {
    pub value: usize,
    /// The op that makes it (`qnn.add`, `qnn.conv2d_fused`, ...) and its source location.
    pub op: &'static str,
    pub loc: String,
    pub bound: Interval,
    pub observed: Option<Interval>,
    pub elements: u64,
    pub beyond_i16: u64,
}

/// The streams of `g` (its i32 values except weights and raw conv / dense accumulators: the
/// results of residual adds, requantizes to i32 and fused convs), observed on `inputs` (one
/// input list per run).
pub fn residual_streams(
    g: &Graph,
    w: &Weights,
    inputs: &[Vec<Tensor>],
) -> Result<Vec<Stream>, String> {
    let bounds = value_bounds(g, w)?;
    let mut streams: Vec<Stream> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.result.elem == ElemType::I32
                && !matches!(n.op, Op::Conv2d { .. } | Op::Dense | Op::Weight { .. })
        })
        .filter_map(|(i, n)| {
            let v = g.args.len() + i;
            bounds[v].map(|b| Stream {
                value: v,
                op: n.op.mnemonic(),
                loc: n.loc.clone(),
                bound: b,
                observed: None,
                elements: 0,
                beyond_i16: 0,
            })
        })
        .collect();
    for run in inputs {
        let all = nibble_qnn::reference::run_all(g, w, run)?;
        for s in &mut streams {
            let v = all[s.value].ints();
            let (lo, hi) = v.iter().fold((i64::MAX, i64::MIN), |(a, b), &x| {
                (a.min(x as i64), b.max(x as i64))
            });
            if !v.is_empty() {
                let o = Interval { lo, hi };
                s.observed = Some(s.observed.map_or(o, |p| Interval {
                    lo: p.lo.min(lo),
                    hi: p.hi.max(hi),
                }));
            }
            s.elements += v.len() as u64;
            s.beyond_i16 += v.iter().filter(|&&x| x != x as i16 as i32).count() as u64;
        }
    }
    Ok(streams)
}

/// A table of the streams: bound, whether it proves i16, observed range, share beyond i16.
pub fn format_streams(streams: &[Stream]) -> String {
    let mut out = String::from(
        "stream (value, op, loc) | static bound | i16 by bound | observed | beyond i16\n",
    );
    for s in streams {
        let obs = s
            .observed
            .map_or("-".to_string(), |o| format!("[{}, {}]", o.lo, o.hi));
        out += &format!(
            "%{} {} {} | [{}, {}] | {} | {} | {} of {}\n",
            s.value,
            s.op,
            s.loc,
            s.bound.lo,
            s.bound.hi,
            if s.bound.fits_i16() { "yes" } else { "no" },
            obs,
            s.beyond_i16,
            s.elements
        );
    }
    let proved = streams.iter().filter(|s| s.bound.fits_i16()).count();
    let beyond: u64 = streams.iter().map(|s| s.beyond_i16).sum();
    let all: u64 = streams.iter().map(|s| s.elements).sum();
    out += &format!(
        "{} streams: {proved} proved to fit i16 by their static bound; observed: {beyond} of {all} values beyond i16\n",
        streams.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hawq::{Arch, BitConfig};
    use crate::{make_example, ExampleConfig};

    /// Every value the reference computes lies inside its static bound, for every integer value
    /// of a generated network (not just the streams), on fresh random inputs.
    #[test]
    fn static_bounds_contain_every_reference_value() {
        for (arch, bits) in [(Arch::ResNet18, "w4a4"), (Arch::ResNet50, "w8a8")] {
            let cfg = ExampleConfig {
                arch,
                bits: BitConfig::preset(arch, bits).unwrap(),
                batch: 2,
                seed: 11,
                image_size: 32,
                calibrate: false,
                percentile: 99.9,
            };
            let ex = make_example(&cfg).unwrap();
            let (g, w) = (&ex.graph.graph, &ex.weights);
            let bounds = value_bounds(g, w).unwrap();
            let mut rng = nibble_qnn::tensor::Rng(0x5eed ^ bits.len() as u64);
            for _ in 0..2 {
                let inputs: Vec<Tensor> = g.args.iter().map(|t| rng.tensor(t)).collect();
                let all = nibble_qnn::reference::run_all(g, w, &inputs).unwrap();
                let mut checked = 0;
                for (v, b) in bounds.iter().enumerate() {
                    let Some(b) = b else { continue };
                    if all[v].ty.elem == ElemType::F32 {
                        continue;
                    }
                    for &x in all[v].ints() {
                        assert!(
                            b.lo <= x as i64 && x as i64 <= b.hi,
                            "{arch:?} {bits}: %{v} = {x} outside [{}, {}]",
                            b.lo,
                            b.hi
                        );
                    }
                    checked += 1;
                }
                assert!(checked > 20, "{checked} values checked");
            }
            let streams = residual_streams(g, w, &[]).unwrap();
            assert!(!streams.is_empty());
        }
    }
}
