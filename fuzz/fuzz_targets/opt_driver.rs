//! `nibble_compiler::opt_driver::run_opt` itself, as `nibble-opt --split-input-file
//! --verify-diagnostics --pass-pipeline=LOWER` runs it (annotation parsing, chunking, the
//! implicit module). run_opt leaks one MLIR context per call by design, so this target's
//! memory grows per iteration: run.sh runs it with -detect_leaks=0 and the RSS limit, and an
//! OOM report from this target alone is that leak, not a finding.

use libfuzzer_sys::fuzz_target;
use nibble_compiler::opt_driver::{run_opt, OptOptions};
use nibble_fuzz::{text, FILENAME, LOWER_PIPELINE};

fuzz_target!(|data: &[u8]| {
    let Some(src) = text(data) else { return };
    let opts = OptOptions {
        pass_pipeline: Some(LOWER_PIPELINE.to_string()),
        split_input_file: true,
        verify_diagnostics: true,
        ..Default::default()
    };
    let _ = run_opt(src, FILENAME, &opts);
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
