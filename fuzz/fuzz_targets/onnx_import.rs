//! ONNX bytes -> nibble_onnx::read (prost, allocation bound) -> the QDQ importer -> qnn-verify,
//! as `nibble-gen import model.onnx` does; small graphs also run on the CPU reference.

use libfuzzer_sys::fuzz_target;
use nibble_models::onnx::{import_onnx, OnnxOptions};

fuzz_target!(|data: &[u8]| {
    let opts = OnnxOptions {
        batch: Some(1),
        image_size: Some([8, 8]),
    };
    let Ok(m) = import_onnx(data, &opts) else { return };
    if nibble_qnn::verify::verify_graph(&m.graph).is_err() {
        // the importer must only build graphs the verifier accepts
        panic!("the importer built an invalid graph");
    }
    let elements: i64 = m.graph.nodes.iter().map(|n| n.result.shape.iter().product::<i64>()).sum();
    if elements < 1 << 20 {
        let x = nibble_qnn::tensor::Tensor::float(m.graph.args[0].clone(), vec![0.5; m.graph.args[0].numel()]);
        let _ = nibble_qnn::reference::run(&m.graph, &m.weights, &[x]);
    }
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
