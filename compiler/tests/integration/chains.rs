//! Random conv pairs (`nibble_models::conv` with `then`: a conv, requantize, then a 1x1 conv of
//! the result, requantize; odd batches, sizes and channel counts, 4- and 8-bit) through
//! `qnn-egraph-optimize` and `convert-qnn-to-tcconv{chains=cluster}` on sm_90 / sm_90a (and
//! `chains=wide` on sm_90a): the pairs the chain kernel takes become one chain, and the tcconv
//! interpreter over the packed buffers equals the qnn reference bit for bit (ptxas checks the
//! chain kernel in `lit_tests/Conversion/TcconvToGpu/chain.mlir` and the GPU suite).

use crate::{interpret_equals, optimized};
use nibble_models::conv::{conv_network, ConvConfig};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_tcconv::lower::{lower, LowerOptions, CHAIN_MAX_BATCH};
use nibble_tcconv::program::TcOp;
use nibble_tcconv::target::Target;

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.int(0, v.len() as i64 - 1) as usize]
}

fn random_pair(rng: &mut Rng, seed: u64) -> ConvConfig {
    let kernel = pick(rng, &[1, 3]);
    ConvConfig {
        batch: pick(rng, &[1, 2, 3, 5, 8, 9]),
        in_channels: pick(rng, &[32, 64, 128]),
        size: rng.int(2, 15),
        out_channels: pick(rng, &[32, 64, 96, 256, 512]),
        kernel,
        stride: pick(rng, &[1, 2]),
        padding: kernel / 2,
        bits: pick(rng, &[4, 8]),
        seed,
        groups: 1,
        shortcut: None,
        then: Some(pick(rng, &[8, 40, 64, 136])),
        pool: None,
    }
}

#[test]
fn random_chains_match_the_reference() {
    let mut rng = Rng(20261205);
    let mut chained = 0;
    let chains = LowerOptions {
        chain: nibble_tcconv::lower::CHAIN_MAX_LEN,
        ..Default::default()
    };
    for i in 0..12 {
        let cfg = random_pair(&mut rng, 800 + i);
        let (g, w) = conv_network(&cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        let inputs: Vec<Tensor> = g.args.iter().map(|ty| rng.tensor(ty)).collect();
        let want = nibble_qnn::reference::run(&g, &w.bind(&g).unwrap(), &inputs).unwrap();
        for (target, wide) in [
            (Target::Sm90, false),
            (Target::Sm90a, false),
            (Target::Sm90a, true),
        ] {
            let opts = LowerOptions {
                chain_wide: wide,
                ..chains.clone()
            };
            let p = lower(&optimized(&g, target), target, &opts).unwrap();
            let n = p
                .ops
                .iter()
                .filter(|o| matches!(o, TcOp::Conv2d(c) if c.chain.is_some()))
                .count();
            assert!(n == 0 || n == 2, "{cfg:?} {target}: {n} chained convs");
            if cfg.batch > CHAIN_MAX_BATCH {
                assert_eq!(n, 0, "{cfg:?} {target}");
            }
            chained += n / 2;
            interpret_equals(&p, &w, &inputs, &want[0], &format!("{cfg:?} {target}"));
        }
    }
    assert!(chained >= 6, "only {chained} pairs chained");
}
