//! Random residual-unit tails (`nibble_models::conv`: a conv plus a strided 1x1 shortcut conv of
//! a second input, added, relu, requantize; odd batches, sizes and channel counts, 4- and 8-bit)
//! through `qnn-egraph-optimize` and `convert-qnn-to-tcconv` on every target: the tcconv
//! interpreter over the packed buffers equals the qnn reference bit for bit, whether the
//! lowering runs the shortcut in the conv's kernel or as a conv of its own.

use crate::optimized;
use nibble_models::conv::{conv_network, ConvConfig};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_tcconv::lower::{lower, LowerOptions, ShortcutSums};
use nibble_tcconv::program::TcOp;
use nibble_tcconv::select::Family;
use nibble_tcconv::target::Target;

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.int(0, v.len() as i64 - 1) as usize]
}

fn random_tail(rng: &mut Rng, seed: u64) -> ConvConfig {
    let kernel = pick(rng, &[1, 3]);
    ConvConfig {
        batch: pick(rng, &[1, 2, 3, 5]),
        in_channels: pick(rng, &[32, 64, 96]),
        size: rng.int(2, 9),
        out_channels: pick(rng, &[8, 24, 40, 64]),
        kernel,
        stride: 1,
        padding: kernel / 2,
        bits: pick(rng, &[4, 8]),
        seed,
        groups: 1,
        shortcut: Some((pick(rng, &[32, 64]), pick(rng, &[1, 2]))),
        then: None,
        pool: None,
    }
}

fn shortcuts(p: &nibble_tcconv::program::Program) -> usize {
    p.ops
        .iter()
        .filter(|o| matches!(o, TcOp::Conv2d(c) if c.shortcut.is_some()))
        .count()
}

#[test]
fn random_shortcut_tails_match_the_reference_on_every_target() {
    let mut rng = Rng(20261204);
    let mut fused = 0;
    for i in 0..10 {
        let cfg = random_tail(&mut rng, 700 + i);
        let (g, w) = conv_network(&cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        let inputs: Vec<Tensor> = g.args.iter().map(|ty| rng.tensor(ty)).collect();
        let want = nibble_qnn::reference::run(&g, &w.bind(&g).unwrap(), &inputs).unwrap();
        for target in Target::ALL {
            let opt = optimized(&g, target);
            for separate in [false, true] {
                let opts = LowerOptions {
                    separate_shortcuts: separate,
                    ..Default::default()
                };
                let p = lower(&opt, target, &opts).unwrap();
                nibble_tcconv::verify::verify_program(&p)
                    .unwrap_or_else(|e| panic!("{cfg:?} {target}: {e:?}"));
                let n = shortcuts(&p);
                if separate || target == Target::Sm75 {
                    assert_eq!(n, 0, "{cfg:?} {target} separate={separate}");
                }
                fused += n;
                let packed = nibble_tcconv::pack::pack_all(&p, &w).unwrap();
                let got = nibble_tcconv::interp::run(&p, &packed, &inputs).unwrap();
                if let Some(k) = got[0].first_mismatch(&want[0]) {
                    panic!(
                        "{cfg:?} {target} separate={separate}: first mismatch at {k}: {} vs {}",
                        got[0].show(k),
                        want[0].show(k)
                    );
                }
            }
        }
    }
    assert!(fused > 0, "no tail ran its shortcut in the conv's kernel");
}

/// The convs with a shortcut GEMM that take the bounded residual sum under `sums`: (index in
/// `p.ops`, family).
fn bounded_sums(tail: &ConvConfig, target: Target, sums: ShortcutSums) -> Vec<(usize, Family)> {
    let (g, _) = conv_network(tail).unwrap();
    let opts = LowerOptions {
        shortcut_sums: sums,
        ..Default::default()
    };
    let p = lower(&optimized(&g, target), target, &opts).unwrap();
    nibble_tcconv::verify::verify_program(&p)
        .unwrap_or_else(|e| panic!("{tail:?} {target} {sums:?}: {e:?}"));
    p.ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            TcOp::Conv2d(c) if c.tiling.bounded_sum => {
                assert!(
                    c.shortcut.is_some(),
                    "{tail:?} {target}: bounded without a shortcut"
                );
                Some((i, c.family))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn shortcut_sums_mark_only_shortcut_convs_on_the_staged_and_wgmma_kernels() {
    // the option changes only the flag: the verifier takes every program, `auto` marks a subset
    // of what `bounded` marks, and only over 4-bit operands
    let mut rng = Rng(20261208);
    let (mut bounded, mut auto) = (0, 0);
    for i in 0..16 {
        let tail = random_tail(&mut rng, 800 + i);
        for target in Target::ALL {
            assert!(bounded_sums(&tail, target, ShortcutSums::Wide).is_empty());
            let b = bounded_sums(&tail, target, ShortcutSums::Bounded);
            let a = bounded_sums(&tail, target, ShortcutSums::Auto);
            for (_, f) in &b {
                assert!(
                    matches!(f, Family::Staged | Family::Wgmma),
                    "{tail:?} {target}: {f:?}"
                );
            }
            assert!(
                a.iter().all(|x| b.contains(x)),
                "{tail:?} {target}: {a:?} not in {b:?}"
            );
            if tail.bits == 8 {
                assert!(a.is_empty(), "{tail:?} {target}: auto over 8-bit operands");
            }
            bounded += b.len();
            auto += a.len();
        }
    }
    assert!(auto > 0 && bounded > auto, "bounded {bounded}, auto {auto}");
}
