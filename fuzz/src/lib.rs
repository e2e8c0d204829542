//! Helpers shared by the fuzz targets.
//!
//! `nibble_compiler::opt_driver::run_opt` makes (and leaks, by design) a fresh MLIR context per
//! call: fine for a tool, ruinous for a fuzzer (every iteration pays for registering every
//! dialect and keeps its memory). The MLIR targets therefore run the same steps as `run_opt`
//! (split at `// -----`, parse with the implicit-module fallback, verify, run the pipeline,
//! print) on ONE context per process, made on first use. The `opt_driver` target calls
//! `run_opt` itself (with `--split-input-file --verify-diagnostics`) to cover the driver code.

use melior::ir::operation::{OperationLike, OperationPrintingFlags};
use melior::ir::Module;
use melior::Context;
use nibble_compiler::context::{new_context, parse_source};
use nibble_compiler::diagnostics::DiagnosticLog;
use nibble_compiler::opt_driver::split_chunks;
use nibble_compiler::pipeline::{self, Element};

pub const FILENAME: &str = "fuzz.mlir";

/// Lowering pipeline of `parse_verify_lower` / `opt_driver`.
pub const LOWER_PIPELINE: &str = "builtin.module(qnn-verify,convert-qnn-to-tcconv{target=sm_90},tcconv-verify,convert-tcconv-to-gpu{target=sm_90})";

/// `parse_egraph`: the e-graph optimizer with limits well below its defaults (10 s, 200000
/// nodes) so one input cannot eat the whole run; then the lowering, which consumes its output,
/// with chains of convs (the default lowering is `parse_verify_lower`'s).
pub const EGRAPH_PIPELINE: &str = "builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90 time-limit-ms=1000 node-limit=20000 iter-limit=10},convert-qnn-to-tcconv{target=sm_90 chains=cluster},tcconv-verify)";

/// One MLIR context (and its diagnostic log) per process, with a parsed pipeline.
pub struct Mlir {
    pub context: &'static Context,
    pub log: DiagnosticLog,
    pub elements: Vec<Element>,
}

impl Mlir {
    pub fn new(pipeline_text: &str) -> Self {
        let context = new_context();
        context.set_allow_unregistered_dialects(false);
        let log = DiagnosticLog::attach(context);
        let elements = pipeline::parse(pipeline_text).expect("the fuzz pipeline parses");
        pipeline::validate(context, &elements).expect("the fuzz pipeline validates");
        Mlir {
            context,
            log,
            elements,
        }
    }

    /// What `run_opt(text, FILENAME, {pass_pipeline, split_input_file: true})` does, on the
    /// shared context. Returns per chunk whether it succeeded (errors are fine; the fuzzer
    /// looks for panics, aborts and sanitizer reports).
    pub fn run(&self, text: &str) -> Vec<bool> {
        let mut out = vec![];
        for (first_line, chunk) in split_chunks(text, true) {
            let padded = format!("{}{}", "\n".repeat(first_line), chunk);
            self.log.take();
            let ok = self.run_chunk(&padded).is_ok();
            // every diagnostic is rendered, as nibble-opt prints them
            for d in self.log.take() {
                let _ = d.to_string();
                let _ = d.line_col();
            }
            out.push(ok);
        }
        out
    }

    fn run_chunk(&self, source: &str) -> Result<String, ()> {
        let mut module = self.parse_wrapping(source)?;
        if !module.as_operation().verify() {
            return Err(());
        }
        pipeline::run(
            self.context,
            &mut module,
            &self.elements,
            &self.log,
            &mut |_, _| {},
        )?;
        let flags = OperationPrintingFlags::new().enable_debug_info(false, false);
        Ok(module
            .as_operation()
            .to_string_with_flags(flags)
            .unwrap_or_else(|_| module.as_operation().to_string()))
    }

    /// `opt_driver::parse_source_wrapping` (private there): a file of several top-level ops is
    /// re-parsed inside an implicit `module {`.
    fn parse_wrapping(&self, source: &str) -> Result<Module<'static>, ()> {
        let before = self.log.len();
        if let Some(m) = parse_source(self.context, source, FILENAME) {
            return Ok(m);
        }
        let several = self.log.take()[before..]
            .iter()
            .any(|d| d.message.contains("single top-level operation"));
        if !several {
            return Err(());
        }
        parse_source(self.context, &format!("module {{{source}\n}}"), FILENAME).ok_or(())
    }
}

/// Bytes -> UTF-8 text, else None (the MLIR targets only see text, as nibble-opt reads it).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The fuzz targets' `main`, calling libFuzzer's `LLVMFuzzerRunDriver` with the input handler
/// `fuzz_target!` defines. The targets cannot use `#![no_main]` (libFuzzer's own `main`): the
/// MLIR static libraries that mlir-sys links hold mlir-opt's `main`, and the linker takes that one
/// first, so the binary would parse its arguments as mlir-opt options ("Unknown command line
/// argument '-max_total_time=...'"). A `main` in the binary itself always wins.
#[macro_export]
macro_rules! libfuzzer_main {
    () => {
        fn main() {
            use std::ffi::{c_char, c_int, CString};
            use std::os::unix::ffi::OsStringExt;
            extern "C" {
                fn LLVMFuzzerRunDriver(
                    argc: *mut c_int,
                    argv: *mut *mut *mut c_char,
                    cb: extern "C" fn(*const u8, usize) -> c_int,
                ) -> c_int;
            }
            extern "C" fn one_input(data: *const u8, size: usize) -> c_int {
                unsafe { libfuzzer_sys::test_input_wrap(data, size) }
            }
            let args: Vec<CString> = std::env::args_os()
                .map(|a| CString::new(a.into_vec()).expect("no NUL in arguments"))
                .collect();
            let mut ptrs: Vec<*mut c_char> =
                args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
            ptrs.push(std::ptr::null_mut());
            let mut argc = args.len() as c_int;
            let mut argv = ptrs.as_mut_ptr();
            let rc = unsafe { LLVMFuzzerRunDriver(&mut argc, &mut argv, one_input) };
            std::process::exit(rc);
        }
    };
}
