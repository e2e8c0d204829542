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
    if let Err((line, col, message)) = guard_source(source) {
        let loc = Location::new(context, filename, line, col);
        crate::diagnostics::emit_error(loc, &message);
        return None;
    }
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

/// Brackets nested deeper than this are refused before MLIR sees the text: its recursive-descent
/// parser overflows the stack (and aborts) on deep nesting. Real IR nests a few dozen levels.
pub const MAX_NESTING: usize = 256;

/// Reject, with a 1-based (line, column), text that is known to crash MLIR 22's parser instead
/// of giving an error: nesting deeper than [`MAX_NESTING`] and `array<index ...>` (a dense array
/// of `index` elements segfaults upstream `mlir-opt-22` too). Strings and `//` comments are
/// skipped.
pub fn guard_source(source: &str) -> Result<(), (usize, usize, String)> {
    let b = source.as_bytes();
    let (mut line, mut col) = (1usize, 1usize);
    let mut depth = 0usize;
    let mut i = 0;
    let word = |i: usize| b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.';
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                // a string literal, with backslash escapes
                i += 1;
                col += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                        col += 1;
                    }
                    if i < b.len() && b[i] == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                    col += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\n' => {
                line += 1;
                col = 0;
            }
            b'(' | b'[' | b'{' | b'<' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err((
                        line,
                        col,
                        format!("brackets nested deeper than {MAX_NESTING} levels"),
                    ));
                }
                if c == b'<' && i >= 5 && &b[i - 5..i] == b"array" && (i == 5 || !word(i - 6)) {
                    let mut j = i + 1;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if b[j..].starts_with(b"index") && (j + 5 == b.len() || !word(j + 5)) {
                        return Err((
                            line,
                            col - 5,
                            "array<index ...> is not a dense array type (elements are integers or floats of a fixed width)".into(),
                        ));
                    }
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            // `->` is an arrow, not the end of a `<...>`
            b'>' if i == 0 || b[i - 1] != b'-' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
        col += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{guard_source, MAX_NESTING};

    #[test]
    fn deep_nesting_is_refused_at_its_position() {
        let deep = format!(
            "func.func @f() attributes {{a = {}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let (line, col, m) = guard_source(&deep).unwrap_err();
        // the `{` of the attribute dictionary is level 1, at column 27; `[` k at column 31 + k
        assert_eq!((line, col), (1, 31 + MAX_NESTING), "{m}");
        assert!(m.contains("nested deeper"));
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_NESTING - 1),
            "]".repeat(MAX_NESTING - 1)
        );
        assert!(guard_source(&ok).is_ok());
        // brackets inside strings and comments do not count; arrows do not close
        let quiet = format!(
            "// {}\n\"{}\" (a) -> (b) -> (c)",
            "(".repeat(1000),
            "[".repeat(1000)
        );
        assert!(guard_source(&quiet).is_ok());
    }

    #[test]
    fn index_dense_arrays_are_refused() {
        let e = guard_source("func.func @f() attributes {a = array<index: 1>} {}").unwrap_err();
        assert_eq!((e.0, e.1), (1, 32));
        assert!(guard_source("func.func @f() attributes {a = array< index>} {}").is_err());
        assert!(guard_source(
            "func.func @f() attributes {a = array<i64: 1>, b = \"array<index: 1>\"} {}"
        )
        .is_ok());
        assert!(guard_source("%0 = memref.alloc() : memref<4xindex>").is_ok());
    }
}
