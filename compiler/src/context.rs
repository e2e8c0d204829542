//! MLIR contexts as nibble uses them: every upstream dialect, pass and LLVM translation
//! registered, and the qnn and tcconv IRDL dialects loaded.

use melior::dialect::DialectRegistry;
use melior::ir::operation::OperationLike;
use melior::ir::{Location, Module, Operation};
use melior::utility::{
    load_irdl_dialects, register_all_dialects, register_all_llvm_translations, register_all_passes,
};
use melior::{Context, StringRef};

/// A fresh context with upstream dialects and nibble's IRDL dialects. The context is leaked:
/// tools create one per process (tests one per case), and IR borrows it for its whole life.
pub fn new_context() -> &'static Context {
    let registry = DialectRegistry::new();
    register_all_dialects(&registry);
    let context: &'static Context = Box::leak(Box::new(Context::new()));
    context.append_dialect_registry(&registry);
    context.load_all_available_dialects();
    register_all_llvm_translations(context);
    register_all_passes();
    for (name, src) in [("qnn", nibble_qnn::IRDL), ("tcconv", nibble_tcconv::IRDL)] {
        let m = Module::parse(context, src)
            .unwrap_or_else(|| panic!("the bundled {name} IRDL does not parse"));
        assert!(
            load_irdl_dialects(&m),
            "the bundled {name} IRDL does not load"
        );
        std::mem::forget(m);
    }
    context
}

/// Parse `source` as a top-level operation named after `filename` (so locations read
/// `filename:line:col`). A file of bare top-level ops is wrapped into a `builtin.module` as
/// mlir-opt does. Errors are reported through the context's diagnostic handlers.
pub fn parse_source<'c>(context: &'c Context, source: &str, filename: &str) -> Option<Module<'c>> {
    let op = unsafe {
        Operation::from_option_raw(mlir_sys::mlirOperationCreateParse(
            context.to_raw(),
            StringRef::new(source).to_raw(),
            StringRef::new(filename).to_raw(),
        ))
    }?;
    if op.name().as_string_ref().as_str() == Ok("builtin.module") {
        return Module::from_operation(op);
    }
    let module = Module::new(Location::unknown(context));
    module.body().append_operation(op);
    Some(module)
}

use melior::ir::block::BlockLike;
