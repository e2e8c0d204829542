//! Single-conv test networks (the RFC's workloads and random configurations): an integer input
//! `x` (NCHW) -> `qnn.conv2d` + bias -> `qnn.requantize` (relu range) -> output, with
//! deterministic random weights and a requantize scale that spreads the outputs over the range.
//! With a shortcut, a residual unit's tail: a second input `s` -> 1x1 `qnn.conv2d` (stride) ->
//! `qnn.add` with the conv (per-channel scales) -> `qnn.relu` -> `qnn.requantize`. With `then`,
//! a 1x1 conv + bias of that result -> `qnn.requantize` follows (the pair a chain kernel runs).
//! With `pool`, ResNet-18's stem tail: the requantize writes i16 (16 times the scale, no relu),
//! a `qnn.max_pool2d` of that map follows, and the network returns the pooled map's
//! `qnn.requantize` to the activation type and the pooled map itself (read twice).

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
    /// A shortcut (its input channels, its stride): a 1x1 conv of a second input of
    /// `out * stride` pixels a side, added to the conv's result.
    pub shortcut: Option<(i64, i64)>,
    /// Output channels of a 1x1 conv (stride 1, no padding) of the requantized result.
    pub then: Option<i64>,
    /// A max pool (kernel, stride, padding) of the conv's result requantized to i16, returned
    /// requantized to the activation type and as it is (excludes `then`).
    pub pool: Option<[i64; 3]>,
}

/// Build the graph and weights of one conv workload.
pub fn conv_network(c: &ConvConfig) -> Result<(Graph, Weights), String> {
    let sizes = [
        c.batch,
        c.in_channels,
        c.size,
        c.out_channels,
        c.kernel,
        c.stride,
        c.groups,
    ];
    if sizes.iter().any(|&v| v <= 0)
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
    // sizes a network could have, checked before anything is allocated
    let sc = c.shortcut.map_or(1, |(sc, ss)| sc.max(ss));
    let then = c.then.unwrap_or(1);
    if then <= 0 {
        return Err(format!(
            "bad 1x1 conv after the conv: {then} output channels"
        ));
    }
    if sizes
        .iter()
        .chain(&[c.padding, sc, then])
        .any(|&v| v > 1 << 16)
    {
        return Err(format!(
            "conv configuration {c:?}: sizes, channels and the shortcut are at most 65536"
        ));
    }
    let elements = |d: [i64; 4]| d.iter().try_fold(1i64, |a, &x| a.checked_mul(x.max(1)));
    let big = [
        [
            c.batch,
            c.in_channels,
            c.size + 2 * c.padding,
            c.size + 2 * c.padding,
        ],
        [c.batch, c.out_channels, c.size, c.size],
        [c.out_channels, c.in_channels, c.kernel, c.kernel],
        [c.batch, sc, c.size, c.size],
        [c.out_channels, sc, 1, 1],
    ];
    if big.iter().any(|&d| elements(d).is_none_or(|n| n > 1 << 32)) {
        return Err(format!(
            "conv configuration {c:?} makes a tensor of more than 2^32 elements"
        ));
    }
    // the weights are made in memory (an i32 an element) before anything is written
    let weight_elems = [big[2], big[4]]
        .iter()
        .filter_map(|&d| elements(d))
        .fold(0i64, i64::saturating_add);
    nibble_qnn::reference::fits_bytes(
        (weight_elems as u64).saturating_mul(4),
        &format!("the weights of conv configuration {c:?} take {{}}"),
    )?;
    let out = (c.size + 2 * c.padding - c.kernel) / c.stride + 1;
    if out <= 0 {
        return Err(format!(
            "kernel {} does not fit input {} with padding {}",
            c.kernel, c.size, c.padding
        ));
    }
    let x = TensorType::new(vec![c.batch, c.in_channels, c.size, c.size], a);
    let mut args = vec![x];
    if let Some((sc, ss)) = c.shortcut {
        if sc <= 0 || ss <= 0 {
            return Err(format!("bad shortcut (channels, stride) {:?}", c.shortcut));
        }
        args.push(TensorType::new(vec![c.batch, sc, out * ss, out * ss], a));
    }
    let mut g = Graph::new("conv", args);
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
    let acc = g.push(conv, vec![0, wv, bv], acc_t.clone());
    let mut rng = Rng(c.seed ^ 0xC0DE);
    let mut ws = Weights::default();
    let (lo, hi) = if c.bits == 4 { (-7, 7) } else { (-127, 127) };
    let mut k = (c.in_channels / c.groups * c.kernel * c.kernel) as f64;
    let acc = match c.shortcut {
        None => acc,
        Some((sc, ss)) => {
            let sacc = conv_1x1(
                (&mut g, &mut ws, &mut rng),
                "shortcut",
                1,
                sc,
                ss,
                acc_t.clone(),
                (w, lo, hi),
            );
            // per-channel branch scales in [0.5, 1): multipliers in [2^30, 2^31), shift 31
            let mut branch = || ChannelScales {
                multiplier: (0..c.out_channels)
                    .map(|_| rng.int(1 << 30, i32::MAX as i64) as i32)
                    .collect(),
                shift: vec![31; c.out_channels as usize],
            };
            let add = Op::Add {
                lhs: branch(),
                rhs: branch(),
                rounding: Rounding::HalfToEven,
                clamp: [i32::MIN as i64, i32::MAX as i64],
                layout: Layout::NCHW,
                bias: 0.0,
            };
            let sum = g.push(add, vec![acc, sacc], acc_t.clone());
            k += sc as f64;
            g.push(
                Op::Relu {
                    layout: Layout::NCHW,
                },
                vec![sum],
                acc_t,
            )
        }
    };
    let rq = requantize_for(k, c.bits, a);
    g.results = match c.pool {
        Some(_) if c.then.is_some() => {
            return Err("a conv network takes a pool or a 1x1 conv after the conv, not both".into())
        }
        // no draws from `rng`: the weights are those of the conv without the pool
        Some(pool) => pool_tail(&mut g, acc, rq, pool, a, c.seed)?,
        None => {
            let y = g.push(
                rq,
                vec![acc],
                TensorType::new(vec![c.batch, c.out_channels, out, out], a),
            );
            let y = match c.then {
                None => y,
                Some(o2) => {
                    let acc2_t = TensorType::new(vec![c.batch, o2, out, out], ElemType::I32);
                    let acc2 = conv_1x1(
                        (&mut g, &mut ws, &mut rng),
                        "then",
                        y,
                        c.out_channels,
                        1,
                        acc2_t,
                        (w, lo, hi),
                    );
                    let rq2 = requantize_for(c.out_channels as f64, c.bits, a);
                    g.push(
                        rq2,
                        vec![acc2],
                        TensorType::new(vec![c.batch, o2, out, out], a),
                    )
                }
            };
            vec![y]
        }
    };
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

/// A 1x1 conv with bias (no padding, one group) of value `input` (`in_channels`, `stride`)
/// giving `out` (i32): weight and bias `{name}.weight` / `{name}.bias`, uniform in [lo, hi] and
/// [-2000, 2000], drawn in that order.
fn conv_1x1(
    (g, ws, rng): (&mut Graph, &mut Weights, &mut Rng),
    name: &str,
    input: usize,
    in_channels: i64,
    stride: i64,
    out: TensorType,
    (w, lo, hi): (ElemType, i64, i64),
) -> usize {
    let o = out.shape[1];
    let wt = TensorType::new(vec![o, in_channels, 1, 1], w);
    let bt = TensorType::new(vec![o], ElemType::I32);
    let wv = g.push(
        Op::Weight {
            name: format!("{name}.weight"),
        },
        vec![],
        wt.clone(),
    );
    let bv = g.push(
        Op::Weight {
            name: format!("{name}.bias"),
        },
        vec![],
        bt.clone(),
    );
    let conv = Op::Conv2d {
        strides: [stride, stride],
        padding: [0; 4],
        layout: Layout::NCHW,
        kernel_layout: KernelLayout::OIHW,
        padding_value: 0,
        groups: 1,
    };
    let acc = g.push(conv, vec![input, wv, bv], out);
    let weights = (0..wt.numel()).map(|_| rng.int(lo, hi) as i32).collect();
    ws.insert(&format!("{name}.weight"), Tensor::int(wt, weights));
    let bias = (0..bt.numel())
        .map(|_| rng.int(-2000, 2000) as i32)
        .collect();
    ws.insert(&format!("{name}.bias"), Tensor::int(bt, bias));
    acc
}

/// The requantize of a `k`-term dot product of uniform `bits`-bit inputs and weights to `a`:
/// the accumulator's spread is about sqrt(K) * std(x) * std(w); two standard deviations map to
/// the top of the output range.
/// ResNet-18's stem tail after the conv's accumulator `acc`: `rq` (the requantize to the
/// activation type `a`) at 16 times the scale into i16 without the clamp to `a`, a max pool
/// (`[kernel, stride, padding]`) of that map, and the pooled map's requantize to `a` (per-channel
/// scales in [1/32, 1/16), from `seed`); returns that requantize and the pooled map.
fn pool_tail(
    g: &mut Graph,
    acc: usize,
    rq: Op,
    [k, s, p]: [i64; 3],
    a: ElemType,
    seed: u64,
) -> Result<Vec<usize>, String> {
    let [n, o, h, w] = g.value_type(acc).shape[..] else {
        return Err("the conv's result is not 4-D".into());
    };
    if k <= 0 || s <= 0 || p < 0 || p >= k || k > 1 << 16 || s > 1 << 16 || h + 2 * p < k {
        return Err(format!(
            "bad max pool (kernel, stride, padding) {:?} over a {h} x {w} map",
            [k, s, p]
        ));
    }
    let Op::Requantize { mut scales, .. } = rq else {
        return Err("the conv's requantize is not a requantize".into());
    };
    scales.shift = scales.shift.iter().map(|&x| (x - 4).max(0)).collect();
    let wide = Op::Requantize {
        offset: vec![],
        scales,
        rounding: Rounding::HalfToEven,
        zero_point: 0,
        clamp: {
            let (lo, hi) = ElemType::I16.range();
            [lo, hi]
        },
        layout: Layout::NCHW,
    };
    let map_t = |e, hw| TensorType::new(vec![n, o, hw, hw], e);
    let map = g.push(wide, vec![acc], map_t(ElemType::I16, h));
    let ph = (h + 2 * p - k) / s + 1;
    let pool = Op::MaxPool2d {
        kernel: [k, k],
        strides: [s, s],
        padding: [p; 4],
        layout: Layout::NCHW,
    };
    let pooled = g.push(pool, vec![map], map_t(ElemType::I16, ph));
    let mut rng = Rng(seed ^ 0x9001);
    let requantize = Op::Requantize {
        offset: vec![],
        scales: ChannelScales {
            multiplier: (0..o)
                .map(|_| rng.int(1 << 30, i32::MAX as i64) as i32)
                .collect(),
            shift: vec![35; o as usize],
        },
        rounding: Rounding::HalfToEven,
        zero_point: 0,
        clamp: [0, a.range().1],
        layout: Layout::NCHW,
    };
    let y = g.push(requantize, vec![pooled], map_t(a, ph));
    Ok(vec![y, pooled])
}

fn requantize_for(k: f64, bits: u32, a: ElemType) -> Op {
    let (amax, wmax) = if bits == 4 {
        (15.0, 8.0)
    } else {
        (255.0, 128.0)
    };
    let spread = k.sqrt() * (amax / 3f64.sqrt()) * (wmax / 3f64.sqrt()) * 2.0;
    let scale = a.range().1 as f64 / spread;
    let (m, e) = frexp(scale);
    let shift = 31 - e;
    let mult = (m * (1u64 << 31) as f64).round().min(i32::MAX as f64) as i32;
    Op::Requantize {
        offset: vec![],
        scales: ChannelScales {
            multiplier: vec![mult],
            shift: vec![shift as i32],
        },
        rounding: Rounding::HalfToEven,
        zero_point: 0,
        clamp: [0, a.range().1],
        layout: Layout::NCHW,
    }
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
            shortcut: None,
            then: None,
            pool: None,
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
