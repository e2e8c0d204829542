//! The tcconv interpreter (packed buffers, packed weights) reproduces the qnn reference bit for
//! bit on generated HAWQ ResNet-18 and ResNet-50, W4A4 and W8A8, for every target's lowering,
//! both for the graph as generated and after `qnn-egraph-optimize` (fused epilogues), at a batch
//! where `direct` applies (16) and one where it does not (3). Small images keep it quick. The
//! optimized programs are lowered with `streams=narrow16`.

use crate::optimized;
use nibble_models::hawq::{Arch, BitConfig};
use nibble_models::{make_example, ExampleConfig};
use nibble_qnn::tensor::Rng;
use nibble_tcconv::lower::{lower, LowerOptions};
use nibble_tcconv::program::{Strategy, TcOp};
use nibble_tcconv::target::Target;

/// Returns the number of targets whose optimized program runs a shortcut in its conv.
fn check(arch: Arch, bits: BitConfig, batch: i64, seed: u64) -> usize {
    let ex = make_example(&ExampleConfig {
        arch,
        bits,
        batch,
        seed: 3,
        image_size: 32,
        calibrate: false,
        percentile: 99.9,
    })
    .expect("example");
    let (g, w) = (ex.graph.graph, ex.weights);
    let x = Rng(seed).tensor(&g.args[0]);
    let want =
        nibble_qnn::reference::run(&g, &w.bind(&g).unwrap(), std::slice::from_ref(&x)).unwrap();
    let mut direct = 0;
    let mut fused_targets = 0;
    for target in Target::ALL {
        let opt = optimized(&g, target);
        for (what, graph) in [
            ("as generated", g.clone()),
            ("optimized", opt.clone()),
            ("optimized, separate shortcuts", opt),
        ] {
            // the optimized graph with its residual streams in narrow16 storage
            let opts = LowerOptions {
                narrow_streams: what != "as generated",
                separate_shortcuts: what != "optimized",
                ..Default::default()
            };
            let p = lower(&graph, target, &opts).unwrap();
            nibble_tcconv::verify::verify_program(&p)
                .unwrap_or_else(|e| panic!("{target} {what}: {e:?}"));
            direct += p
                .ops
                .iter()
                .filter(|o| matches!(o, TcOp::Conv2d(c) if c.strategy == Strategy::Direct))
                .count();
            // the optimized residual streams are written as conv second outputs
            let seconds = p
                .ops
                .iter()
                .filter(|o| matches!(o, TcOp::Conv2d(c) if c.second.is_some()))
                .count();
            assert_eq!(seconds > 0, what != "as generated", "{target} {what}");
            // and, between convs, stored narrow16 (the interpreter runs that storage too)
            let narrow = p.buffers.iter().filter(|b| b.narrow).count();
            assert_eq!(narrow > 0, what != "as generated", "{target} {what}");
            // the downsampling convs run in their residual conv's kernel only where that is
            // a shared-memory family (sm_80 and later) and splits no K
            let shortcuts = p
                .ops
                .iter()
                .filter(|o| matches!(o, TcOp::Conv2d(c) if c.shortcut.is_some()))
                .count();
            if what == "optimized" && target != Target::Sm75 {
                fused_targets += (shortcuts > 0) as usize;
            } else {
                assert_eq!(shortcuts, 0, "{target} {what}");
            }
            let packed = nibble_tcconv::pack::pack_all(&p, &w).unwrap();
            let got = nibble_tcconv::interp::run(&p, &packed, std::slice::from_ref(&x)).unwrap();
            assert_eq!(got.len(), want.len());
            if let Some(i) = got[0].first_mismatch(&want[0]) {
                panic!(
                    "{arch:?} batch {batch} {target} ({what}): first mismatch at {i}: {} vs {}",
                    got[0].show(i),
                    want[0].show(i)
                );
            }
        }
    }
    if batch == 16 {
        assert!(direct > 0, "batch 16 takes the direct strategy somewhere");
    }
    fused_targets
}

#[test]
fn resnet18_w4a4_all_targets() {
    // (at 32x32 images every staged plan of its shortcut convs' readers splits K, so they stay
    // separate kernels)
    check(Arch::ResNet18, BitConfig::uniform4(Arch::ResNet18), 16, 1);
    check(Arch::ResNet18, BitConfig::uniform4(Arch::ResNet18), 3, 2);
}

#[test]
fn resnet18_w8a8_all_targets() {
    check(Arch::ResNet18, BitConfig::uniform8(Arch::ResNet18), 16, 3);
}

#[test]
fn resnet50_w4a4_all_targets() {
    // the 1x1 residual convs take the downsampling convs on every shared-memory target
    let fused = check(Arch::ResNet50, BitConfig::uniform4(Arch::ResNet50), 16, 4);
    assert_eq!(fused, Target::ALL.len() - 1);
}

#[test]
fn resnet50_w8a8_all_targets() {
    let fused = check(Arch::ResNet50, BitConfig::uniform8(Arch::ResNet50), 3, 5);
    assert_eq!(fused, Target::ALL.len() - 1);
}
