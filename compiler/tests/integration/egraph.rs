//! `qnn-egraph-optimize` on generated HAWQ ResNet-18 / ResNet-50 (W4A4, 32x32 images): the CPU reference gives
//! bit-identical outputs before and after the pass on fresh random inputs, and the optimized
//! network has the shape the pass promises (every conv but the downsampling identity convs fused,
//! residual streams requantized by their conv's second result, at most one layout transform at
//! the input and one at the output).

use nibble_models::hawq::{Arch, BitConfig};
use nibble_models::{make_example, ExampleConfig};
use nibble_qnn::graph::{EpilogueKind, Graph, Op};
use nibble_qnn::semantics::Layout;
use nibble_qnn::tensor::Rng;
use nibble_qnn::weights::Weights;

fn example(arch: Arch, batch: i64) -> (Graph, Weights) {
    let ex = make_example(&ExampleConfig {
        arch,
        bits: BitConfig::uniform4(arch),
        batch,
        seed: 7,
        image_size: 32,
        calibrate: false,
        percentile: 99.9,
    })
    .expect("example");
    (ex.graph.graph, ex.weights)
}

/// Run the pass (then qnn-verify) through nibble-opt's driver, read back as a graph.
fn optimize(g: &Graph, target: &str) -> Graph {
    crate::run_pipeline(
        g,
        &format!("builtin.module(qnn-egraph-optimize{{target={target}}},qnn-verify)"),
    )
}

fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| f(&n.op)).count()
}

fn check(arch: Arch, batch: i64, target: &str, downsampling_units: usize) -> Layout {
    let (g, w) = example(arch, batch);
    let opt = optimize(&g, target);
    let (wb, wo) = (w.bind(&g).unwrap(), w.bind(&opt).unwrap());
    // Fresh inputs: two at batch 1, one at batch 16 (keeps the debug-build test short).
    for seed in if batch == 1 { vec![1u64, 2] } else { vec![3] } {
        let x = Rng(seed).tensor(&g.args[0]);
        let before = nibble_qnn::reference::run(&g, &wb, std::slice::from_ref(&x)).unwrap();
        let after = nibble_qnn::reference::run(&opt, &wo, std::slice::from_ref(&x)).unwrap();
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(a.ty, b.ty);
            if let Some(i) = a.first_mismatch(b) {
                panic!(
                    "{} batch {batch} seed {seed}: first mismatch at {:?}: {} after, {} before",
                    g.name,
                    a.unflatten(i),
                    a.show(i),
                    b.show(i)
                );
            }
        }
    }

    // Structure: every conv carries its epilogue except the identity convs of downsampling
    // units (their i32 result is the residual operand of the fused conv that ends the unit).
    let convs = count(&g, |o| matches!(o, Op::Conv2d { .. }));
    let fused = count(&opt, |o| matches!(o, Op::Conv2dFused { .. }));
    let plain = count(&opt, |o| matches!(o, Op::Conv2d { .. }));
    assert_eq!(fused + plain, convs, "{}: convs lost or duplicated", g.name);
    assert_eq!(plain, downsampling_units, "{}: unfused convs", g.name);
    let residual = count(&opt, |o| {
        matches!(o, Op::Conv2dFused { epilogue, .. }
            if matches!(epilogue.kind, EpilogueKind::Residual { .. }) && epilogue.relu)
    });
    let units = arch.units().len();
    assert_eq!(residual, units, "{}: residual adds not fused", g.name);
    assert_eq!(
        count(&opt, |o| matches!(o, Op::Add { .. } | Op::Relu { .. })),
        0
    );
    // Every unit's wide residual stream but the last (the head's input) is requantized to the
    // next unit's 4-bit input by the conv that computes it: a second result, or the then step
    // where the 4-bit value is the stream's only user (before a downsampling unit, whose
    // identity conv reads 4 bits); a requantize left reads a pool (the head's average pool, or
    // the stem's max pool where the cost model keeps it there), never a conv.
    let seconds = count(&opt, |o| matches!(o, Op::SecondResult));
    let thens = count(&opt, |o| {
        matches!(o, Op::Conv2dFused { epilogue, .. }
            if matches!(epilogue.kind, EpilogueKind::Residual { .. }) && epilogue.then.is_some())
    });
    assert!(
        seconds + thens >= units - 1,
        "{}: {seconds} second results, {thens} then steps",
        g.name
    );
    for n in &opt.nodes {
        if matches!(n.op, Op::Requantize { .. }) {
            let src = opt.node_of(n.operands[0]).map(|p| &p.op);
            assert!(
                matches!(src, Some(Op::AvgPool2d { .. } | Op::MaxPool2d { .. })),
                "{}: a requantize of {src:?}",
                g.name
            );
        }
    }

    // Layout: one body layout; at most one transform near the input (before the first body
    // conv: the stem's im2col reads its own layout either way) and one at the output (after the
    // last conv).
    let is_conv = |o: &Op| matches!(o, Op::Conv2d { .. } | Op::Conv2dFused { .. });
    let convs: Vec<usize> = (0..opt.nodes.len())
        .filter(|&i| is_conv(&opt.nodes[i].op))
        .collect();
    let (second, last) = (convs[1], *convs.last().unwrap());
    let transforms: Vec<usize> = (0..opt.nodes.len())
        .filter(|&i| matches!(opt.nodes[i].op, Op::LayoutTransform { .. }))
        .collect();
    assert!(
        transforms.iter().filter(|&&i| i < second).count() <= 1,
        "{}",
        g.name
    );
    assert!(
        transforms.iter().filter(|&&i| i > last).count() <= 1,
        "{}",
        g.name
    );
    assert!(
        transforms.iter().all(|&i| i < second || i > last),
        "{}: {transforms:?}",
        g.name
    );
    let body: Vec<Layout> = convs[1..]
        .iter()
        .filter_map(|&i| match opt.nodes[i].op {
            Op::Conv2dFused { layout, .. } | Op::Conv2d { layout, .. } => Some(layout),
            _ => None,
        })
        .collect();
    assert!(body.windows(2).all(|w| w[0] == w[1]), "{body:?}");
    body[0]
}

#[test]
fn egraph_resnet18_is_bit_exact_and_fused() {
    // Batch 1: im2col everywhere (NHWC); batch 16: direct (HWNC) past the 3-channel stem.
    assert_eq!(check(Arch::ResNet18, 1, "sm_90", 3), Layout::NHWC);
    assert_eq!(check(Arch::ResNet18, 16, "sm_90", 3), Layout::HWNC);
}

#[test]
fn egraph_resnet50_is_bit_exact_and_fused() {
    assert_eq!(check(Arch::ResNet50, 1, "sm_90", 4), Layout::NHWC);
    assert_eq!(check(Arch::ResNet50, 16, "sm_80", 4), Layout::HWNC);
}
