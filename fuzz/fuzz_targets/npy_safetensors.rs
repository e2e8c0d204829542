//! bytes -> Tensor::from_npy and Weights::from_bytes (safetensors), with write/read round trips
//! of whatever loads.

use libfuzzer_sys::fuzz_target;
use nibble_qnn::tensor::Tensor;
use nibble_qnn::weights::Weights;

/// NIBBLE_FUZZ_NPY=0 leaves .npy out (to fuzz the safetensors side while a known .npy crash is
/// open: every run would otherwise stop at it).
fn npy_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("NIBBLE_FUZZ_NPY").map_or(true, |v| v != "0"))
}

fuzz_target!(|data: &[u8]| {
    if npy_enabled() {
        if let Ok(t) = Tensor::from_npy(data) {
            let again = Tensor::from_npy(&t.to_npy()).expect("to_npy output reads back");
            assert_eq!(again.ty, t.ty);
            assert_eq!(again.first_mismatch(&t), None, "npy round trip changed a value");
        }
    }
    if let Ok(w) = Weights::from_bytes(data) {
        if let Ok(bytes) = w.to_bytes() {
            let again = Weights::from_bytes(&bytes).expect("to_bytes output reads back");
            assert_eq!(again.tensors.len(), w.tensors.len());
            for (name, t) in &w.tensors {
                let u = &again.tensors[name];
                assert_eq!(u.ty.shape, t.ty.shape);
                assert_eq!(u.first_mismatch(t), None, "safetensors round trip changed '{name}'");
            }
        }
    }
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
