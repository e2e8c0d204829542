//! Process conventions shared by nibble's command-line tools (`nibble-opt`, `nibble-run`,
//! `nibble-gen`): every failure is one `tool: error: ...` line on stderr and exit code 1, as
//! mlir-opt does; nothing panics its way out or aborts on a deep stack.

use std::process::ExitCode;

/// Stack of the thread the tools run on: MLIR's parser and verifier recurse per nesting level.
pub const STACK_BYTES: usize = 256 << 20;

/// Run `body` on a thread with a [`STACK_BYTES`] stack, with a panic hook that turns a failed
/// write to stdout (closed pipe, full disk) into one error line and any other panic into one
/// `internal error` line, both exit 1; a failed write to stderr exits 1 without a line.
pub fn main(tool: &'static str, body: impl FnOnce() -> ExitCode + Send + 'static) -> ExitCode {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        // never `eprintln!` here: where stderr itself fails (full disk, closed pipe) it panics
        // again, and a panic inside the hook aborts; the line is lost, the exit code is not
        use std::io::Write;
        let mut se = std::io::stderr().lock();
        let _ = match msg.strip_prefix("failed printing to stdout: ") {
            Some(why) => writeln!(se, "{tool}: error: cannot write to standard output: {why}"),
            None if msg.starts_with("failed printing to stderr: ") => Ok(()),
            None => writeln!(se, "{tool}: internal error: {info}"),
        };
        std::process::exit(1);
    }));
    match std::thread::Builder::new()
        .name(tool.into())
        .stack_size(STACK_BYTES)
        .spawn(body)
    {
        Ok(h) => h.join().unwrap_or(ExitCode::FAILURE),
        Err(e) => {
            eprintln!("{tool}: error: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Write `text` to stdout and flush; a failure is one error line (the caller exits 1).
pub fn write_stdout(tool: &str, text: &str) -> Result<(), ()> {
    use std::io::Write;
    let mut so = std::io::stdout().lock();
    so.write_all(text.as_bytes())
        .and_then(|_| so.flush())
        .map_err(|e| eprintln!("{tool}: error: cannot write to standard output: {e}"))
}
