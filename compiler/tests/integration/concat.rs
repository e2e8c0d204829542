//! Channel concats of odd splits (4-bit words straddling the boundary, channel counts that are
//! not multiples of the storage's padding) through the e-graph and convert-qnn-to-tcconv on
//! every target: the tcconv interpreter over the stored buffers equals the qnn reference bit for
//! bit on random inputs, chained concats and a conv reading the concat included.

use crate::{interpret_equals, optimized};
use nibble_qnn::graph::{Graph, Op, TensorType};
use nibble_qnn::semantics::{ElemType, KernelLayout, Layout};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use nibble_tcconv::lower::{lower, LowerOptions};
use nibble_tcconv::program::{Program, TcOp};
use nibble_tcconv::target::Target;

/// NCHW arguments of `chans` channels, each moved to `layout` (a `qnn.layout_transform` unless
/// NCHW), concatenated one after another in `layout`, the result moved back to NCHW.
fn concat_graph(n: i64, chans: &[i64], hw: [i64; 2], elem: ElemType, layout: Layout) -> Graph {
    let ty = |c: i64, l: Layout| TensorType::new(l.shape([n, c, hw[0], hw[1]]), elem);
    let mut g = Graph::new(
        "concat",
        chans.iter().map(|&c| ty(c, Layout::NCHW)).collect(),
    );
    let moved = |g: &mut Graph, v: usize, c: i64, src: Layout, dst: Layout| {
        if src == dst {
            return v;
        }
        g.push(Op::LayoutTransform { src, dst }, vec![v], ty(c, dst))
    };
    let mut acc = (moved(&mut g, 0, chans[0], Layout::NCHW, layout), chans[0]);
    for (i, &c) in chans.iter().enumerate().skip(1) {
        let x = moved(&mut g, i, c, Layout::NCHW, layout);
        let v = g.push(Op::Concat { layout }, vec![acc.0, x], ty(acc.1 + c, layout));
        acc = (v, acc.1 + c);
    }
    let r = moved(&mut g, acc.0, acc.1, layout, Layout::NCHW);
    g.results = vec![r];
    g
}

/// The tcconv program of `g` on every target (after the e-graph), interpreted, equals the
/// reference; the programs, for what a caller checks of them.
fn lowers_to_the_reference(
    g: &Graph,
    w: &Weights,
    inputs: &[Tensor],
    what: &str,
) -> Vec<(Target, Program)> {
    let want = nibble_qnn::reference::run(g, w, inputs).unwrap();
    Target::ALL
        .into_iter()
        .map(|target| {
            let opt = optimized(g, target);
            let p = lower(&opt, target, &LowerOptions::default())
                .unwrap_or_else(|e| panic!("{what} {target}: {e}"));
            interpret_equals(&p, w, inputs, &want[0], &format!("{what} {target}"));
            (target, p)
        })
        .collect()
}

/// [`lowers_to_the_reference`], each program holding a tcconv.concat.
fn concat_lowers_to_the_reference(g: &Graph, w: &Weights, inputs: &[Tensor], what: &str) {
    for (target, p) in lowers_to_the_reference(g, w, inputs, what) {
        assert!(
            p.ops.iter().any(|o| matches!(o, TcOp::Concat { .. })),
            "{what} {target}: no tcconv.concat"
        );
    }
}

#[test]
fn concats_of_odd_splits_lower_to_the_reference_on_every_target() {
    use ElemType::{I4, I8, U4, U8};
    use Layout::{HWNC, NCHW, NHWC};
    let cases: &[(i64, &[i64], [i64; 2], ElemType, Layout)] = &[
        (3, &[5, 13], [7, 9], U4, NCHW),
        (2, &[16, 8], [5, 5], I4, NHWC),
        (1, &[3, 1], [1, 1], U4, NCHW),
        (4, &[24, 40], [6, 6], U8, NCHW),
        (2, &[7, 9], [3, 11], I8, HWNC),
        (2, &[8, 5, 3], [4, 4], U4, NCHW),
    ];
    let mut rng = Rng(17);
    for &(n, chans, hw, elem, layout) in cases {
        let g = concat_graph(n, chans, hw, elem, layout);
        let inputs: Vec<Tensor> = g.args.iter().map(|t| rng.tensor(t)).collect();
        let what = format!("{chans:?} {elem} {layout}");
        concat_lowers_to_the_reference(&g, &Weights::default(), &inputs, &what);
    }
}

/// A 1x1 conv reading a concat of two 4-bit tensors: the concat is written in the layout the
/// conv reads (no relayout) and the result equals the reference.
#[test]
fn a_conv_reads_a_concat() {
    let (n, hw) = (2, [6, 6]);
    let mut g = concat_graph(n, &[12, 20], hw, ElemType::U4, Layout::NCHW);
    let cat = g.results[0];
    let mut rng = Rng(5);
    let wt = TensorType::new(vec![16, 32, 1, 1], ElemType::I4);
    let mut w = Weights::default();
    w.insert("w", rng.tensor(&wt));
    let wv = g.push(Op::Weight { name: "w".into() }, vec![], wt);
    let conv = Op::Conv2d {
        strides: [1, 1],
        padding: [0; 4],
        layout: Layout::NCHW,
        kernel_layout: KernelLayout::OIHW,
        padding_value: 0,
        groups: 1,
    };
    let c = g.push(
        conv,
        vec![cat, wv],
        TensorType::new(vec![n, 16, hw[0], hw[1]], ElemType::I32),
    );
    g.results = vec![c];
    let inputs: Vec<Tensor> = g.args.iter().map(|t| rng.tensor(t)).collect();
    concat_lowers_to_the_reference(&g, &w, &inputs, "conv of a concat");
}

/// A per-channel lookup (a BatchNormalization head, BN1d) reading a flattened N x C x 1 x 1 map:
/// the flatten's value is its operand's buffer (stored as N x C in any layout), which the NC
/// lookup reads; equal to the reference on every target.
#[test]
fn a_lookup_reads_a_flattened_map() {
    use nibble_qnn::graph::ChannelScales;
    use nibble_qnn::semantics::{Dyadic, Rounding};
    let (n, c) = (2, 6);
    let mut g = Graph::new(
        "head",
        vec![TensorType::new(vec![n, c, 4, 4], ElemType::I8)],
    );
    let pool = Op::AvgPool2d {
        kernel: [4, 4],
        strides: [1, 1],
        padding: [0; 4],
        layout: Layout::NCHW,
        divisor: Some(1),
    };
    let p = g.push(
        pool,
        vec![0],
        TensorType::new(vec![n, c, 1, 1], ElemType::I32),
    );
    let rq = Op::Requantize {
        scales: ChannelScales::per_tensor(Dyadic {
            multiplier: 1,
            shift: 4,
        }),
        rounding: Rounding::HalfToEven,
        zero_point: 128,
        clamp: [0, 255],
        layout: Layout::NCHW,
        offset: vec![],
    };
    let r = g.push(rq, vec![p], TensorType::new(vec![n, c, 1, 1], ElemType::U8));
    let f = g.push(
        Op::Flatten {
            layout: Layout::NCHW,
        },
        vec![r],
        TensorType::new(vec![n, c], ElemType::U8),
    );
    let table: Vec<i32> = (0..c * 256).map(|i| ((i * 7) % 251 - 125) as i32).collect();
    let l = g.push(
        Op::Lookup {
            table,
            layout: Layout::NC,
        },
        vec![f],
        TensorType::new(vec![n, c], ElemType::I8),
    );
    g.results = vec![l];
    let x = Rng(3).tensor(&g.args[0]);
    lowers_to_the_reference(&g, &Weights::default(), &[x], "flattened lookup");
}

/// Gathers of channels (a shuffle of odd groups, a slice, a repeat) on 4- and 8-bit values in
/// every layout, on every target: the interpreter over the stored buffers equals the reference
/// (4-bit words of the output straddle the input's differently).
#[test]
fn channel_gathers_of_odd_selections_equal_the_reference() {
    for (elem, layout, c) in [
        (ElemType::U4, Layout::NHWC, 15),
        (ElemType::I4, Layout::HWNC, 9),
        (ElemType::U8, Layout::NCHW, 12),
        (ElemType::I8, Layout::NHWC, 7),
    ] {
        let (n, h, w) = (3, 5, 4);
        let ty = |ch: i64, l: Layout| TensorType::new(l.shape([n, ch, h, w]), elem);
        let mut g = Graph::new("gather", vec![ty(c, Layout::NCHW)]);
        let x = if layout == Layout::NCHW {
            0
        } else {
            g.push(
                Op::LayoutTransform {
                    src: Layout::NCHW,
                    dst: layout,
                },
                vec![0],
                ty(c, layout),
            )
        };
        // a shuffle of 3 groups where c divides, else a reversal
        let shuffle: Vec<i32> = if c % 3 == 0 {
            let per = c / 3;
            (0..c).map(|o| ((o % 3) * per + o / 3) as i32).collect()
        } else {
            (0..c).rev().map(|i| i as i32).collect()
        };
        let s = g.push(
            Op::GatherChannels {
                indices: shuffle,
                layout,
            },
            vec![x],
            ty(c, layout),
        );
        let pick: Vec<i32> = vec![1, (c - 1) as i32, 1, 2, 0];
        let k = pick.len() as i64;
        let p = g.push(
            Op::GatherChannels {
                indices: pick,
                layout,
            },
            vec![s],
            ty(k, layout),
        );
        let r = if layout == Layout::NCHW {
            p
        } else {
            g.push(
                Op::LayoutTransform {
                    src: layout,
                    dst: Layout::NCHW,
                },
                vec![p],
                ty(k, Layout::NCHW),
            )
        };
        g.results = vec![r];
        nibble_qnn::verify::verify_graph(&g).unwrap();
        let x = Rng(c as u64).tensor(&g.args[0]);
        let programs = lowers_to_the_reference(
            &g,
            &Weights::default(),
            &[x],
            &format!("gather {elem} {layout}"),
        );
        for (t, p) in programs {
            assert!(
                p.ops.iter().any(|o| matches!(o, TcOp::Gather { .. })),
                "{t}: no gather kernel"
            );
        }
    }
}
