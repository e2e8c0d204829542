//! `tcconv-verify`: reads every tcconv function back into its `Program` and checks that each
//! kernel op agrees with its buffers (strategy, layouts, packing, MMA shape, epilogue).

use crate::diagnostics::emit_error;
use crate::pass::{NibblePass, PassOptions};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationLike, OperationRef};
use melior::ir::{Module, RegionLike};
use melior::Context;
use nibble_qnn::ir::location_from_string;

pub struct TcconvVerify;

impl NibblePass for TcconvVerify {
    fn name(&self) -> &'static str {
        "tcconv-verify"
    }
    fn summary(&self) -> &'static str {
        "Check tcconv kernels against their buffers: strategy, layouts, packing, MMA shape, epilogue"
    }
    fn run(
        &self,
        context: &Context,
        module: &mut Module,
        _options: &PassOptions,
    ) -> Result<(), ()> {
        let mut failed = false;
        let funcs = crate::conversion::qnn_to_tcconv::funcs(module, |f| {
            f.attribute("tcconv.target").is_ok()
        });
        for raw in funcs {
            let func = unsafe { OperationRef::from_raw(raw) };
            let p = match nibble_tcconv::ir::program_of_func(func) {
                Ok(p) => p,
                Err(e) => {
                    emit_error(location_from_string(context, &e.loc), &e.message);
                    failed = true;
                    continue;
                }
            };
            failed |= check_program(func, &p).is_err();
        }
        if failed {
            Err(())
        } else {
            Ok(())
        }
    }
}

/// Verify the program `func` reads back as (`nibble_tcconv::verify::verify_program`), each
/// error at its op's location; convert-tcconv-to-gpu calls it too, so that no kernel is built
/// for an op the verifier refuses.
pub(crate) fn check_program(
    func: OperationRef,
    p: &nibble_tcconv::program::Program,
) -> Result<(), ()> {
    let Err(errs) = nibble_tcconv::verify::verify_program(p) else {
        return Ok(());
    };
    // Program ops are the function's kernel ops in order (allocs and weights aside).
    let mut kernels = vec![];
    let block = func.region(0).ok().and_then(|r| r.first_block());
    let mut cur = block.and_then(|b| b.first_operation());
    while let Some(op) = cur {
        let n = op.name().as_string_ref().as_str().unwrap_or("").to_owned();
        if n.starts_with("tcconv.") && n != "tcconv.alloc" && n != "tcconv.weight" {
            kernels.push(op.location());
        }
        cur = op.next_in_block();
    }
    for (i, e) in errs {
        emit_error(kernels.get(i).copied().unwrap_or(func.location()), &e);
    }
    Err(())
}
