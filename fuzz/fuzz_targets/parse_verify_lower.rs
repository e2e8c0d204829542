//! MLIR text -> parse -> qnn-verify -> convert-qnn-to-tcconv -> tcconv-verify ->
//! convert-tcconv-to-gpu (sm_90), on one shared context. Errors are fine; panics/aborts are bugs.

use libfuzzer_sys::fuzz_target;
use nibble_fuzz::{text, Mlir, LOWER_PIPELINE};

thread_local! {
    static MLIR: Mlir = Mlir::new(LOWER_PIPELINE);
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = text(data) else { return };
    MLIR.with(|m| {
        m.run(src);
    });
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
