//! MLIR text -> qnn-verify -> qnn-egraph-optimize (bounded) -> convert-qnn-to-tcconv ->
//! tcconv-verify, on one shared context.

use libfuzzer_sys::fuzz_target;
use nibble_fuzz::{text, Mlir, EGRAPH_PIPELINE};

thread_local! {
    static MLIR: Mlir = Mlir::new(EGRAPH_PIPELINE);
}

fuzz_target!(|data: &[u8]| {
    let Some(src) = text(data) else { return };
    MLIR.with(|m| {
        m.run(src);
    });
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
