//! The ONNX fixtures (models/fixtures/onnx/, made by onnxruntime's quantize_static) through the
//! compiler: on every target the e-graph's fusions and convert-qnn-to-tcconv's lowering keep the
//! qnn reference's output bit for bit (the tcconv interpreter over the packed buffers), the
//! per-tensor uint8-weight net with its weights split into int8 parts included.

use crate::{interpret_equals, optimized};
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
        "squeeze_u8",
        "squeeze_qop_u8",
        "mobilenetv3_u8",
        "efficientnet_u8",
        "efficientnet_qop_u8",
        "densenet_u8",
        "tanh_u8",
        "inception_u8",
        "inception_qop_s8",
        "softmax_u8",
        "softmax_qop_s8",
        "shufflenet_u8",
        "exported_u8",
        "exported_qop_u8",
        "oddconv_u8",
        "oddconv_qop_s8",
        "floatarith_u8",
        "floatarith_s8",
        "normalized_u8",
        "normalized_s8",
        "exported_norm_u8",
        "exported_norm_s8",
    ] {
        let bytes = std::fs::read(format!("{FIXTURES}/{name}.onnx")).unwrap();
        let m = import_onnx(&bytes, &OnnxOptions::default()).unwrap();
        let npy = std::fs::read(format!("{FIXTURES}/{name}.input.npy")).unwrap();
        let x = Tensor::from_npy(&npy).unwrap();
        let want = nibble_qnn::reference::run(&m.graph, &m.weights, &[x.clone()]).unwrap();
        // the tcconv interpreter takes logical NCHW inputs (an NHWC image input: transposed)
        let x = if name.starts_with("exported") {
            nchw_of_nhwc(&x)
        } else {
            x
        };
        // pads=separate: the stem's zero-point pad a kernel of its own (by default the
        // quantize writes it)
        let separate = LowerOptions {
            separate_pads: true,
            ..LowerOptions::default()
        };
        for (target, opts) in Target::ALL
            .into_iter()
            .flat_map(|t| [(t, LowerOptions::default()), (t, separate.clone())])
        {
            let opt = optimized(&m.graph, target);
            let p = lower(&opt, target, &opts).unwrap_or_else(|e| panic!("{name} {target}: {e}"));
            // their stems (input zero point 123, one reader) need no pad kernel
            if !opts.separate_pads && matches!(name, "resnet_u8" | "biased_qop_u8") {
                assert!(
                    !p.ops.iter().any(|o| matches!(o, TcOp::Pad { .. })),
                    "{name} {target}: a pad left beside its quantize"
                );
            }
            interpret_equals(
                &p,
                &m.weights,
                &[x.clone()],
                &want[0],
                &format!("{name} {target}"),
            );
        }
    }
}

/// Max pools with the bottom / right padding `ceil_mode` turns into (up to kernel - 1, larger
/// than the top / left), on 8- and 4-bit values of odd sizes: the tcconv lowering and its
/// interpreter equal the qnn reference on every target.
#[test]
fn max_pools_padded_unevenly_lower_to_the_reference_on_every_target() {
    use nibble_qnn::graph::{Graph, Op, TensorType};
    use nibble_qnn::semantics::{ElemType, Layout};
    for (elem, h, w, padding) in [
        (ElemType::I8, 7, 9, [1, 1, 2, 1]),
        (ElemType::U8, 6, 11, [0, 0, 1, 2]),
        (ElemType::I8, 5, 5, [1, 0, 2, 2]),
    ] {
        let (n, c, k, s) = (3i64, 8i64, 3i64, 2i64);
        let oh = (h + padding[0] + padding[2] - k) / s + 1;
        let ow = (w + padding[1] + padding[3] - k) / s + 1;
        let mut g = Graph::new(
            "pool",
            vec![TensorType::new(vec![n, c, h, w], ElemType::F32)],
        );
        let q = g.push(
            Op::Quantize {
                scale: 0.05,
                layout: Layout::NCHW,
                zero_point: if elem == ElemType::U8 { 100 } else { 0 },
                mode: Default::default(),
                pre: vec![],
            },
            vec![0],
            TensorType::new(vec![n, c, h, w], elem),
        );
        let p = g.push(
            Op::MaxPool2d {
                kernel: [k, k],
                strides: [s, s],
                padding,
                layout: Layout::NCHW,
            },
            vec![q],
            TensorType::new(vec![n, c, oh, ow], elem),
        );
        let y = g.push(
            Op::Dequantize {
                scales: vec![0.05],
                layout: Layout::NCHW,
            },
            vec![p],
            TensorType::new(vec![n, c, oh, ow], ElemType::F32),
        );
        g.results.push(y);
        nibble_qnn::verify::verify_graph(&g).unwrap();
        let weights = nibble_qnn::weights::Weights::default();
        let x = nibble_qnn::tensor::Rng(12).tensor(&g.args[0]);
        let want = nibble_qnn::reference::run(&g, &weights, &[x.clone()]).unwrap();
        for target in Target::ALL {
            let opt = optimized(&g, target);
            let p = lower(&opt, target, &LowerOptions::default())
                .unwrap_or_else(|e| panic!("{target}: {e}"));
            let what = format!("{elem} {h}x{w} {padding:?} {target}");
            interpret_equals(&p, &weights, &[x.clone()], &want[0], &what);
        }
    }
}

/// An N x H x W x C f32 tensor as N x C x H x W.
fn nchw_of_nhwc(x: &Tensor) -> Tensor {
    let [n, h, w, c] = <[i64; 4]>::try_from(x.ty.shape.clone()).expect("a 4-D tensor");
    let v = x.floats();
    let at = |i: i64, ch: i64, y: i64, xx: i64| v[(((i * h + y) * w + xx) * c + ch) as usize];
    let mut out = Vec::with_capacity(v.len());
    for i in 0..n {
        for ch in 0..c {
            for y in 0..h {
                for xx in 0..w {
                    out.push(at(i, ch, y, xx));
                }
            }
        }
    }
    Tensor::float(
        nibble_qnn::graph::TensorType::new(vec![n, c, h, w], x.ty.elem),
        out,
    )
}
