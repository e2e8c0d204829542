//! Single-conv test networks (the RFC's workloads and random configurations): an integer input
//! `x` (NCHW) -> `qnn.conv2d` + bias -> `qnn.requantize` (relu range) -> output, with
//! deterministic random weights and a requantize scale that spreads the outputs over the range.

use nibble_qnn::graph::{ChannelScales, Graph, Op, TensorType};
use nibble_qnn::semantics::{ElemType, KernelLayout, Layout, Rounding};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;

#[derive(Clone, Debug)]
pub struct ConvConfig {
    pub batch: i64,
    pub in_channels: i64,
    pub size: i64,
    pub out_channels: i64,
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    /// `w4a4` (ui4 x i4 -> ui4) or `w8a8` (ui8 x i8 -> ui8).
    pub bits: u32,
    pub seed: u64,
    /// Channel groups (1; in_channels for a depthwise conv).
    pub groups: i64,
}

/// Build the graph and weights of one conv workload.
pub fn conv_network(c: &ConvConfig) -> Result<(Graph, Weights), String> {
    if [
        c.batch,
        c.in_channels,
        c.size,
        c.out_channels,
        c.kernel,
        c.stride,
        c.groups,
    ]
    .iter()
    .any(|&v| v <= 0)
        || c.padding < 0
        || c.in_channels % c.groups != 0
        || c.out_channels % c.groups != 0
    {
        return Err(format!("bad conv configuration {c:?}"));
    }
    let (a, w) = match c.bits {
        4 => (ElemType::U4, ElemType::I4),
        8 => (ElemType::U8, ElemType::I8),
        b => return Err(format!("bits must be 4 or 8, found {b}")),
    };
    let out = (c.size + 2 * c.padding - c.kernel) / c.stride + 1;
    if out <= 0 {
        return Err(format!(
            "kernel {} does not fit input {} with padding {}",
            c.kernel, c.size, c.padding
        ));
    }
    let x = TensorType::new(vec![c.batch, c.in_channels, c.size, c.size], a);
    let mut g = Graph::new("conv", vec![x]);
    let wt = TensorType::new(
        vec![c.out_channels, c.in_channels / c.groups, c.kernel, c.kernel],
        w,
    );
    let wv = g.push(
        Op::Weight {
            name: "conv.weight".into(),
        },
        vec![],
        wt.clone(),
    );
    let bt = TensorType::new(vec![c.out_channels], ElemType::I32);
    let bv = g.push(
        Op::Weight {
            name: "conv.bias".into(),
        },
        vec![],
        bt.clone(),
    );
    let acc_t = TensorType::new(vec![c.batch, c.out_channels, out, out], ElemType::I32);
    let conv = Op::Conv2d {
        strides: [c.stride, c.stride],
        padding: [c.padding; 4],
        layout: Layout::NCHW,
        kernel_layout: KernelLayout::OIHW,
        padding_value: 0,
        groups: c.groups,
    };
    let acc = g.push(conv, vec![0, wv, bv], acc_t);
    // Inputs and weights are uniform: the accumulator's spread is about
    // sqrt(K) * std(x) * std(w); map two standard deviations to the top of the output range.
    let k = (c.in_channels / c.groups * c.kernel * c.kernel) as f64;
    let (amax, wmax) = if c.bits == 4 {
        (15.0, 8.0)
    } else {
        (255.0, 128.0)
    };
    let spread = k.sqrt() * (amax / 3f64.sqrt()) * (wmax / 3f64.sqrt()) * 2.0;
    let scale = a.range().1 as f64 / spread;
    let (m, e) = frexp(scale);
    let shift = 31 - e;
    let mult = (m * (1u64 << 31) as f64).round().min(i32::MAX as f64) as i32;
    let rq = Op::Requantize {
        scales: ChannelScales {
            multiplier: vec![mult],
            shift: vec![shift as i32],
        },
        rounding: Rounding::HalfToEven,
        zero_point: 0,
        clamp: [0, a.range().1],
        layout: Layout::NCHW,
    };
    let y = g.push(
        rq,
        vec![acc],
        TensorType::new(vec![c.batch, c.out_channels, out, out], a),
    );
    g.results = vec![y];
    let mut rng = Rng(c.seed ^ 0xC0DE);
    let mut ws = Weights::default();
    let (lo, hi) = if c.bits == 4 { (-7, 7) } else { (-127, 127) };
    ws.insert(
        "conv.weight",
        Tensor::int(
            wt.clone(),
            (0..wt.numel()).map(|_| rng.int(lo, hi) as i32).collect(),
        ),
    );
    ws.insert(
        "conv.bias",
        Tensor::int(
            bt.clone(),
            (0..bt.numel())
                .map(|_| rng.int(-2000, 2000) as i32)
                .collect(),
        ),
    );
    Ok((g, ws))
}

fn frexp(x: f64) -> (f64, i32) {
    let mut e = 0;
    let mut m = x;
    while m >= 1.0 {
        m /= 2.0;
        e += 1;
    }
    while m < 0.5 {
        m *= 2.0;
        e -= 1;
    }
    (m, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_network_verifies_and_spreads_outputs() {
        let c = ConvConfig {
            batch: 3,
            in_channels: 40,
            size: 9,
            out_channels: 24,
            kernel: 3,
            stride: 2,
            padding: 1,
            bits: 4,
            seed: 7,
            groups: 1,
        };
        let (g, w) = conv_network(&c).unwrap();
        nibble_qnn::verify::verify_graph(&g).unwrap();
        let w = w.bind(&g).unwrap();
        let x = Rng(1).tensor(&g.args[0]);
        let y = nibble_qnn::reference::run(&g, &w, &[x]).unwrap();
        let v = y[0].ints();
        let zeros = v.iter().filter(|&&x| x == 0).count() as f64 / v.len() as f64;
        let sat = v.iter().filter(|&&x| x == 15).count() as f64 / v.len() as f64;
        assert!(zeros < 0.8 && sat < 0.3, "zeros {zeros}, saturated {sat}");
        assert!(conv_network(&ConvConfig { kernel: 20, ..c }).is_err());
    }
}
