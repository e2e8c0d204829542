//! The tcconv interpreter (packed buffers, packed weights) reproduces the qnn reference bit for
//! bit on generated HAWQ ResNet-18 and ResNet-50, W4A4 and W8A8, for every target's lowering,
//! both for the graph as generated and after `qnn-egraph-optimize` (fused epilogues), at a batch
//! where `direct` applies (16) and one where it does not (3). Small images keep it quick. The
//! optimized programs are lowered with `streams=narrow16`.

use crate::{interpret_equals, optimized};
use nibble_models::hawq::{Arch, BitConfig};
use nibble_models::{make_example, ExampleConfig};
use nibble_qnn::graph::Graph;
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use nibble_tcconv::lower::{lower, LowerOptions, PoolRequantize, StreamChoice};
use nibble_tcconv::program::{Strategy, TcOp};
use nibble_tcconv::target::Target;

/// A generated HAWQ ResNet on 32 x 32 images, a random input of `seed` and the reference's
/// result.
fn example(
    arch: Arch,
    bits: BitConfig,
    batch: i64,
    seed: u64,
) -> (Graph, Weights, Tensor, Vec<Tensor>) {
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
    (g, w, x, want)
}

/// Returns the number of targets whose optimized program runs a shortcut in its conv.
fn check(arch: Arch, bits: BitConfig, batch: i64, seed: u64) -> usize {
    let (g, w, x, want) = example(arch, bits, batch, seed);
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
                streams: if what == "as generated" {
                    StreamChoice::I32
                } else {
                    StreamChoice::Narrow16
                },
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

/// `chains=cluster` on the optimized ResNet-50 at batch <= 8, sm_90 / sm_90a: each unit's 3x3
/// conv, its residual conv and the next unit's reducing 1x1 conv form a chain (the chain kernel
/// runs their launches as one), and the chained program still matches the reference; on sm_80
/// (no clusters) and at batch 16 nothing is chained. `opts`: the other lowering options
/// (narrow16 streams, the widest tiles). Returns the chains' lengths.
fn check_chains(bits: BitConfig, batch: i64, seed: u64, opts: LowerOptions) -> Vec<usize> {
    let (g, w, x, want) = example(Arch::ResNet50, bits, batch, seed);
    let chains = LowerOptions {
        chain: nibble_tcconv::lower::CHAIN_MAX_LEN,
        ..opts
    };
    let mut lengths = vec![];
    for target in [Target::Sm80, Target::Sm90, Target::Sm90a] {
        let p = lower(&optimized(&g, target), target, &chains).unwrap();
        // the chains, in order: (first op, id, length)
        let mut runs: Vec<(usize, i64, usize)> = vec![];
        for (i, o) in p.ops.iter().enumerate() {
            let TcOp::Conv2d(c) = o else { continue };
            let Some(k) = c.chain else { continue };
            match runs.last_mut() {
                Some((f, id, n)) if *id == k && *f + *n == i => *n += 1,
                _ => runs.push((i, k, 1)),
            }
        }
        if target.hopper() && batch <= nibble_tcconv::lower::CHAIN_MAX_BATCH {
            for &(f, _, n) in &runs {
                assert!(n >= 2, "{target}: a chain of one conv at op {f}");
                // each conv after the first a 1x1 conv of what the one before writes
                for j in f + 1..f + n {
                    let (TcOp::Conv2d(x), TcOp::Conv2d(y)) = (&p.ops[j - 1], &p.ops[j]) else {
                        unreachable!()
                    };
                    assert!(
                        y.input == x.output || Some(y.input) == x.second,
                        "{target} op {j}"
                    );
                    assert_eq!(y.kernel, [1, 1], "{target} op {j}");
                }
            }
            let got: Vec<usize> = runs.iter().map(|r| r.2).collect();
            assert!(
                lengths.is_empty() || lengths == got,
                "{target}: {got:?} vs {lengths:?}"
            );
            lengths = got;
        } else {
            assert!(runs.is_empty(), "{target} batch {batch}: {runs:?}");
        }
        let x = std::slice::from_ref(&x);
        interpret_equals(
            &p,
            &w,
            x,
            &want[0],
            &format!("batch {batch} {target} (chains)"),
        );
    }
    lengths
}

#[test]
fn resnet50_chains_join_a_units_3x3_residual_and_next_reducing_conv() {
    // stages 1-3, 13 units: a 3x3 conv, its residual conv and the next unit's reducing conv;
    // stage 4's 2048-channel residual convs would need more than 8 tiles of the widths the
    // staged kernel takes, so its convs stay apart: 53 - 26 = 27 launches
    let (w4, w8) = (
        BitConfig::uniform4(Arch::ResNet50),
        BitConfig::uniform8(Arch::ResNet50),
    );
    let plain = LowerOptions::default;
    assert_eq!(check_chains(w4.clone(), 1, 6, plain()), vec![3; 13]);
    assert_eq!(check_chains(w8.clone(), 3, 7, plain()), vec![3; 13]);
    // with the residual streams stored narrow16 (escapes to a 32-bit plane)
    let narrow = LowerOptions {
        streams: StreamChoice::Narrow16,
        ..plain()
    };
    assert_eq!(check_chains(w4.clone(), 2, 9, narrow), vec![3; 13]);
    // chains=wide: each conv on its widest tile
    let wide = LowerOptions {
        chain_wide: true,
        ..plain()
    };
    assert_eq!(check_chains(w8.clone(), 1, 10, wide), vec![3; 13]);
    // chains=cluster16: stage 4 too, on clusters of 16 blocks (its 2048-channel residual convs
    // in 16 tiles of 128): 53 - 31 = 22 launches
    let sixteen = LowerOptions {
        chain_tiles: nibble_tcconv::select::CHAIN_CLUSTER_LIMIT,
        ..plain()
    };
    let mut lengths = vec![3; 15];
    lengths.push(2);
    assert_eq!(check_chains(w8, 1, 11, sixteen), lengths);
    assert!(check_chains(w4, 16, 8, plain()).is_empty());
}

/// `weights=widened` / `tiles` with the wgmma kernel wherever it applies (sm_90a): the 4-bit
/// weights of the wgmma convs over 4-bit inputs are stored widened (and tiled), none of another
/// conv (a shortcut's, the 8-bit stem's), and the program still matches the reference
/// (ResNet-50 W4A4, a batch whose tiles are exact and one whose are not).
#[test]
fn resnet50_w4a4_widened_weights_on_wgmma() {
    use nibble_tcconv::lower::WeightStorage;
    for (storage, batch, seed) in [
        (WeightStorage::Widened, 16, 6),
        (WeightStorage::Widened, 3, 7),
        (WeightStorage::Tiles, 16, 8),
        (WeightStorage::Tiles, 3, 9),
    ] {
        let (g, w, x, want) = example(
            Arch::ResNet50,
            BitConfig::uniform4(Arch::ResNet50),
            batch,
            seed,
        );
        let opt = optimized(&g, Target::Sm90a);
        let opts = LowerOptions {
            kernel: nibble_tcconv::select::Choice::Wgmma,
            widened_weights: storage,
            streams: StreamChoice::Narrow16,
            ..Default::default()
        };
        let p = lower(&opt, Target::Sm90a, &opts).unwrap();
        let what = format!("{storage:?} batch {batch}");
        let (mut widened, mut tiled) = (0, 0);
        for op in &p.ops {
            if let TcOp::Conv2d(c) = op {
                let pw = &p.weights[c.weight];
                let wgmma4 = c.family == nibble_tcconv::select::Family::Wgmma
                    && p.buffers[c.input].elem.bits() == 4
                    && c.chain.is_none();
                // widened: every such conv's; tiles: those whose plan takes the tiles
                if storage == WeightStorage::Widened {
                    assert_eq!(pw.widened, wgmma4, "{what}: conv of weight '{}'", pw.name);
                } else {
                    assert!(!pw.widened || wgmma4, "{what}: '{}'", pw.name);
                    assert_eq!(pw.widened, pw.tiles.is_some(), "{what}: '{}'", pw.name);
                }
                if let Some(t) = pw.tiles {
                    assert_eq!(t, c.tiling.block_tile[1..], "{what}: '{}'", pw.name);
                }
                widened += pw.widened as usize;
                tiled += pw.tiles.is_some() as usize;
                if let Some(sc) = &c.shortcut {
                    assert!(
                        !p.weights[sc.weight].widened,
                        "a shortcut's weight stays 4-bit"
                    );
                }
            }
        }
        assert!(widened >= 40, "{what}: {widened} widened weights");
        assert_eq!(
            tiled > 0,
            storage == WeightStorage::Tiles,
            "{what}: {tiled} tiled"
        );
        interpret_equals(&p, &w, std::slice::from_ref(&x), &want[0], &what);
    }
}

/// `staged-weights=widened`: the 4-bit weight of each staged conv that widens its operands
/// (sm_90, sm_90a) is stored widened, untiled, never a shortcut's or an 8-bit conv's, on at most
/// the stages it had and with the stream tile it had; the program verifies and still matches
/// the reference (ResNet-50 W4A4 on sm_90 and sm_90a, a batch whose tiles are exact and one
/// whose are not, a batch that slices K). On sm_80 (4-bit MMAs) no weight is widened.
#[test]
fn resnet50_w4a4_widened_weights_on_staged() {
    use nibble_tcconv::select::Family;
    for (target, batch, seed) in [
        (Target::Sm90a, 16, 21),
        (Target::Sm90, 3, 22),
        (Target::Sm90a, 1, 23),
        (Target::Sm80, 3, 24),
    ] {
        let (g, w, x, want) = example(
            Arch::ResNet50,
            BitConfig::uniform4(Arch::ResNet50),
            batch,
            seed,
        );
        let opt = optimized(&g, target);
        let packed = lower(&opt, target, &LowerOptions::default()).unwrap();
        let opts = LowerOptions {
            staged_widened: true,
            ..Default::default()
        };
        let p = lower(&opt, target, &opts).unwrap();
        let what = format!("{target} batch {batch}");
        nibble_tcconv::verify::verify_program(&p).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let mut widened = 0;
        for (op, before) in p.ops.iter().zip(&packed.ops) {
            let (TcOp::Conv2d(c), TcOp::Conv2d(b)) = (op, before) else {
                continue;
            };
            let (pw, was) = (&p.weights[c.weight], &packed.weights[b.weight]);
            if pw.widened && !was.widened {
                // newly widened: a staged conv's weight that its kernel reads as it is
                assert_eq!(c.family, Family::Staged, "{what}: '{}'", pw.name);
                assert!(c.tiling.widen, "{what}: '{}' on a 4-bit MMA", pw.name);
                assert!(
                    pw.tiles.is_none() && pw.elem.bits() == 4,
                    "{what}: '{}'",
                    pw.name
                );
                assert!(c.tiling.stages <= b.tiling.stages, "{what}: '{}'", pw.name);
                widened += 1;
            } else {
                assert_eq!(pw.widened, was.widened, "{what}: '{}'", pw.name);
            }
            if let Some(sc) = &c.shortcut {
                assert!(
                    !p.weights[sc.weight].widened,
                    "a shortcut's weight stays 4-bit"
                );
            }
        }
        if target == Target::Sm80 {
            assert_eq!(widened, 0, "{what}");
        } else {
            assert!(widened >= 10, "{what}: {widened} widened staged weights");
        }
        interpret_equals(&p, &w, std::slice::from_ref(&x), &want[0], &what);
    }
}

/// `maps=narrow16`: ResNet-18's stem map and pooled map (i16, between the stem, its max pool,
/// the pooled map's requantize and the first unit's residual) are stored narrow16 beside the
/// streams, the program verifies, and it still matches the reference (W4A4 and W8A8, a batch
/// whose tiles are exact and one whose are not, on sm_90a and sm_80).
#[test]
fn resnet18_i16_maps_in_narrow16_storage() {
    use nibble_qnn::semantics::ElemType;
    for (bits, batch, seed, target) in [
        (BitConfig::uniform4(Arch::ResNet18), 16, 11, Target::Sm90a),
        (BitConfig::uniform4(Arch::ResNet18), 3, 12, Target::Sm80),
        (BitConfig::uniform8(Arch::ResNet18), 16, 13, Target::Sm90a),
    ] {
        let (g, w, x, want) = example(Arch::ResNet18, bits, batch, seed);
        let opt = optimized(&g, target);
        let opts = LowerOptions {
            streams: StreamChoice::Narrow16,
            maps: StreamChoice::Narrow16,
            ..Default::default()
        };
        let p = lower(&opt, target, &opts).unwrap();
        let what = format!("{target} batch {batch} {:?}", p.buffers[0].elem);
        nibble_tcconv::verify::verify_program(&p).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let maps: Vec<usize> = (0..p.buffers.len())
            .filter(|&b| p.buffers[b].narrow && p.buffers[b].elem == ElemType::I16)
            .collect();
        assert_eq!(maps.len(), 2, "{what}: the stem's map and the pooled map");
        // one a max pool reads, one it writes
        assert!(p
            .ops
            .iter()
            .any(|o| matches!(o, TcOp::Pool { input, output, .. }
            if maps.contains(input) && maps.contains(output))));
        interpret_equals(&p, &w, std::slice::from_ref(&x), &want[0], &what);
        // with maps=i32, the maps stay in 32-bit words
        let wide = lower(
            &opt,
            target,
            &LowerOptions {
                streams: StreamChoice::Narrow16,
                maps: StreamChoice::I32,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!wide
            .buffers
            .iter()
            .any(|b| b.narrow && b.elem == ElemType::I16));
    }
}

/// `pool-requantize=second`: ResNet-18's pooled stem map, read by the first unit's residual and
/// (requantized) by its first conv, is requantized by the max pool's kernel as a second output.
/// The program has one op fewer, no requantize of the pooled map is left, it verifies and it
/// still matches the reference (W4A4 and W8A8, exact and inexact tiles, i16 maps in 32-bit words
/// and in narrow16 storage, sm_90a and sm_80).
#[test]
fn resnet18_pooled_map_requantize_as_the_pools_second_output() {
    use nibble_tcconv::program::Elementwise;
    for (bits, batch, seed, target, maps) in [
        (
            BitConfig::uniform4(Arch::ResNet18),
            16,
            21,
            Target::Sm90a,
            StreamChoice::Narrow16,
        ),
        (
            BitConfig::uniform4(Arch::ResNet18),
            3,
            22,
            Target::Sm80,
            StreamChoice::I32,
        ),
        (
            BitConfig::uniform8(Arch::ResNet18),
            5,
            23,
            Target::Sm90a,
            StreamChoice::I32,
        ),
        (
            BitConfig::uniform8(Arch::ResNet18),
            16,
            24,
            Target::Sm75,
            StreamChoice::Narrow16,
        ),
    ] {
        let (g, w, x, want) = example(Arch::ResNet18, bits, batch, seed);
        let opt = optimized(&g, target);
        let opts = |pool_requantize| LowerOptions {
            maps,
            pool_requantize,
            ..Default::default()
        };
        let separate = lower(&opt, target, &opts(PoolRequantize::Separate)).unwrap();
        let p = lower(&opt, target, &opts(PoolRequantize::Second)).unwrap();
        let what = format!(
            "{target} batch {batch} {:?} maps {maps:?}",
            p.buffers[0].elem
        );
        assert_eq!(p.ops.len() + 1, separate.ops.len(), "{what}");
        let (map, second) = p
            .ops
            .iter()
            .find_map(|o| match o {
                TcOp::Pool {
                    output,
                    second: Some(s),
                    ..
                } => Some((*output, s.output)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{what}: a pool with a second output"));
        assert!(
            !p.ops.iter().any(|o| matches!(o, TcOp::Elementwise {
                op: Elementwise::Requantize { .. }, inputs, .. } if inputs.contains(&map))),
            "{what}: the pooled map's requantize is gone"
        );
        // the residual conv reads the map, a conv the second output
        assert!(p.ops.iter().any(|o| o.reads().contains(&map)), "{what}");
        assert!(p.ops.iter().any(|o| o.reads().contains(&second)), "{what}");
        interpret_equals(&p, &w, std::slice::from_ref(&x), &want[0], &what);
    }
}
