//! torch.save bytes -> nibble_pth::load -> StateDict::from_checkpoint -> (ResNet-18 import:
//! parameters from the state dict and the HAWQ graph build, as `nibble-gen import` does).

use libfuzzer_sys::fuzz_target;
use nibble_models::hawq::{Arch, BitConfig, BuildOptions};
use nibble_models::import::{import_state_dict, ImportOptions, StateDict};

fuzz_target!(|data: &[u8]| {
    let Ok(root) = nibble_pth::load(data) else { return };
    let _ = format!("{root:?}");
    let Ok(sd) = StateDict::from_checkpoint(&root) else { return };
    let opts = ImportOptions {
        arch: Arch::ResNet18,
        conv1_stride: false,
        bits: BitConfig::preset(Arch::ResNet18, "w4a4").unwrap(),
        build: BuildOptions {
            batch: 1,
            image_size: 32,
        },
    };
    let _ = import_state_dict(&sd, &opts);
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
