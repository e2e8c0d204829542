//! Random stem tails (`nibble_models::conv` with `pool`: a conv requantized to i16, a max pool
//! of odd window, stride and padding, returned as it is and requantized to 4 or 8 bits; odd
//! batches, sizes and channel counts) through `qnn-egraph-optimize` and `convert-qnn-to-tcconv`
//! on every target, with the requantize in the pool's kernel (`pool-requantize=second`),
//! apart, and by the default's batch rule (`auto`): the tcconv interpreter over the packed
//! buffers equals the qnn reference bit for bit on both results, and the fold takes every
//! requantize of a pool's map whose buffer stores its channels as the map's does (by default
//! only from batch 16).

use crate::optimized;
use nibble_models::conv::{conv_network, ConvConfig};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_tcconv::lower::{lower, LowerOptions, PoolRequantize, POOL_SECOND_MIN_BATCH};
use nibble_tcconv::program::{Elementwise, Program, TcOp};
use nibble_tcconv::target::Target;

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.int(0, v.len() as i64 - 1) as usize]
}

fn random_stem_tail(rng: &mut Rng, seed: u64) -> ConvConfig {
    let kernel = pick(rng, &[1, 3, 7]);
    let pool_kernel = pick(rng, &[2, 3]);
    ConvConfig {
        batch: pick(rng, &[1, 2, 3, 5, POOL_SECOND_MIN_BATCH + 1]),
        in_channels: pick(rng, &[3, 16, 32]),
        size: rng.int(4, 13),
        out_channels: pick(rng, &[8, 12, 20, 24, 64]),
        kernel,
        stride: pick(rng, &[1, 2]),
        padding: kernel / 2,
        bits: pick(rng, &[4, 8]),
        seed,
        groups: 1,
        shortcut: None,
        then: None,
        pool: Some([pool_kernel, pick(rng, &[1, 2]), rng.int(0, pool_kernel - 1)]),
    }
}

fn seconds(p: &Program) -> usize {
    p.ops
        .iter()
        .filter(|o| {
            matches!(
                o,
                TcOp::Pool {
                    second: Some(_),
                    ..
                }
            )
        })
        .count()
}

/// The requantizes of a pool's map that the fold takes: a buffer of the map's stored channels.
fn foldable(p: &Program) -> usize {
    p.ops
        .iter()
        .filter(|o| match o {
            TcOp::Elementwise {
                op: Elementwise::Requantize { .. },
                inputs,
                output,
            } => p.ops.iter().any(|w| {
                matches!(w, TcOp::Pool { output: m, .. } if *m == inputs[0]
                    && p.buffers[*m].stored_channels() == p.buffers[*output].stored_channels())
            }),
            _ => false,
        })
        .count()
}

#[test]
fn random_stem_tails_match_the_reference_with_the_pools_second_output() {
    let mut rng = Rng(20261208);
    let (mut folded, mut folded_by_batch) = (0, 0);
    for i in 0..12 {
        let cfg = random_stem_tail(&mut rng, 900 + i);
        let (g, w) = conv_network(&cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        let inputs: Vec<Tensor> = g.args.iter().map(|ty| rng.tensor(ty)).collect();
        let want = nibble_qnn::reference::run(&g, &w.bind(&g).unwrap(), &inputs).unwrap();
        for target in Target::ALL {
            // as generated (pool -> requantize), and optimized (where the e-graph may move the
            // requantize before the pool, into the conv's second output)
            for (how, graph) in [
                ("as generated", g.clone()),
                ("optimized", optimized(&g, target)),
            ] {
                let lowered = |pool_requantize| {
                    let opts = LowerOptions {
                        pool_requantize,
                        ..Default::default()
                    };
                    lower(&graph, target, &opts).unwrap()
                };
                let apart = foldable(&lowered(PoolRequantize::Separate));
                let by_batch = if cfg.batch >= POOL_SECOND_MIN_BATCH {
                    apart
                } else {
                    0
                };
                for (pr, want_folded) in [
                    (PoolRequantize::Separate, 0),
                    (PoolRequantize::Second, apart),
                    (PoolRequantize::Auto, by_batch),
                ] {
                    let p = lowered(pr);
                    let what = format!("{cfg:?} {target} {how} {pr:?}");
                    nibble_tcconv::verify::verify_program(&p)
                        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let n = seconds(&p);
                    assert_eq!(n, want_folded, "{what}");
                    folded += n;
                    if pr == PoolRequantize::Auto {
                        folded_by_batch += n;
                    }
                    let packed = nibble_tcconv::pack::pack_all(&p, &w).unwrap();
                    let got = nibble_tcconv::interp::run(&p, &packed, &inputs).unwrap();
                    assert_eq!(got.len(), 2, "{what}");
                    for (k, (y, x)) in got.iter().zip(&want).enumerate() {
                        if let Some(e) = y.first_mismatch(x) {
                            panic!(
                                "{what}: result {k}: first mismatch at {e}: {} vs {}",
                                y.show(e),
                                x.show(e)
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(folded > 0, "no tail folded its requantize into the pool");
    assert!(folded_by_batch > 0, "no tail of the default's batch folded");
}
