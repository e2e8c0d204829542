//! The ONNX fixtures (models/fixtures/onnx/, made by onnxruntime's quantize_static) through the
//! compiler: on every target the e-graph's fusions and convert-qnn-to-tcconv's lowering keep the
//! qnn reference's output bit for bit (the tcconv interpreter over the packed buffers), the
//! per-tensor uint8-weight net with its weights split into int8 parts included.

use crate::optimized;
use nibble_models::onnx::{import_onnx, OnnxOptions};
use nibble_qnn::tensor::Tensor;
use nibble_tcconv::lower::{lower, LowerOptions};
use nibble_tcconv::program::TcOp;
use nibble_tcconv::target::Target;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/fixtures/onnx");

#[test]
fn onnx_fixtures_lower_to_the_reference_on_every_target() {
    for name in [
        "resnet_u8",
        "bottleneck_s8",
        "mobilenet_s8",
        "bottleneck_u8w",
        "mobilenet_qop_s8",
        "biased_qop_u8",
        "resnet_convf_u8",
        "vgg_u8",
        "qcdq_u4",
    ] {
        let bytes = std::fs::read(format!("{FIXTURES}/{name}.onnx")).unwrap();
        let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
        let npy = std::fs::read(format!("{FIXTURES}/{name}.input.npy")).unwrap();
        let x = Tensor::from_npy(&npy).unwrap();
        let want = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
        // pads=quantize: the stem's zero-point pad written by the quantize
        let folded = LowerOptions {
            fold_pads: true,
            ..LowerOptions::default()
        };
        for (target, opts) in Target::ALL
            .into_iter()
            .flat_map(|t| [(t, LowerOptions::default()), (t, folded.clone())])
        {
            let opt = optimized(&m.graph, target);
            let p = lower(&opt, target, &opts).unwrap_or_else(|e| panic!("{name} {target}: {e}"));
            // their stems (input zero point 123, one reader) need no pad kernel
            if opts.fold_pads && matches!(name, "resnet_u8" | "biased_qop_u8") {
                assert!(
                    !p.ops.iter().any(|o| matches!(o, TcOp::Pad { .. })),
                    "{name} {target}: a pad left beside its quantize"
                );
            }
            nibble_tcconv::verify::verify_program(&p)
                .unwrap_or_else(|e| panic!("{name} {target}: {e:?}"));
            let packed = nibble_tcconv::pack::pack_all(&p, &m.weights).unwrap();
            let got = nibble_tcconv::interp::run(&p, &packed, &[x.clone()]).unwrap();
            if let Some(k) = got[0].first_mismatch(&want[0]) {
                panic!(
                    "{name} {target}: first mismatch at {k}: {} vs {}",
                    got[0].show(k),
                    want[0].show(k)
                );
            }
        }
    }
}
