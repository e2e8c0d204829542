//! Diagnostics: everything MLIR and nibble's passes report goes through the context's handler
//! into a [`DiagnosticLog`], printed as `file:line:col: error: message` (what mlir-opt prints)
//! or matched against `expected-*` annotations by `--verify-diagnostics`.

use melior::diagnostic::DiagnosticSeverity;
use melior::ir::Location;
use melior::Context;
use nibble_qnn::ir::{location_from_string, location_string};
use std::cell::RefCell;
use std::ffi::CString;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub severity: Severity,
    /// `file:line:col`, or "" when unknown.
    pub loc: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
    Remark,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::Remark => "remark",
        }
    }
}

impl Diag {
    /// An error whose message may start with its location (`file:line:col: [error: ]...`, as
    /// the MLIR-free checks write them): the location becomes the diagnostic's.
    pub fn error(message: String) -> Diag {
        let (loc, message) = match split_location(&message) {
            Some((loc, rest)) => (loc.to_owned(), rest.to_owned()),
            None => (String::new(), message),
        };
        Diag {
            severity: Severity::Error,
            loc,
            message,
        }
    }

    /// (line, col) of the location, if it has one.
    pub fn line_col(&self) -> Option<(String, usize, usize)> {
        let mut parts = self.loc.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = parts.next()?.to_owned();
        Some((file, line, col))
    }
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.loc.is_empty() {
            write!(f, "{}: {}", self.severity.name(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.loc,
                self.severity.name(),
                self.message
            )
        }
    }
}

/// Collected diagnostics of one context (shared with the handler closure).
#[derive(Clone, Default)]
pub struct DiagnosticLog(Rc<RefCell<Vec<Diag>>>);

impl DiagnosticLog {
    /// Attach a collecting handler to `context` (notes become separate `Note` entries).
    pub fn attach(context: &Context) -> Self {
        let log = DiagnosticLog::default();
        let sink = log.0.clone();
        context.attach_diagnostic_handler(move |d| {
            let push = |d: &melior::diagnostic::Diagnostic, sev: Severity| {
                sink.borrow_mut().push(Diag {
                    severity: sev,
                    loc: location_string(d.location()),
                    message: d.to_string(),
                });
            };
            let sev = match d.severity() {
                DiagnosticSeverity::Error => Severity::Error,
                DiagnosticSeverity::Warning => Severity::Warning,
                DiagnosticSeverity::Note => Severity::Note,
                DiagnosticSeverity::Remark => Severity::Remark,
            };
            push(&d, sev);
            for i in 0..d.note_count() {
                if let Ok(n) = d.note(i) {
                    push(&n, Severity::Note);
                }
            }
            true
        });
        log
    }
    pub fn take(&self) -> Vec<Diag> {
        std::mem::take(&mut self.0.borrow_mut())
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn truncate(&self, n: usize) {
        self.0.borrow_mut().truncate(n)
    }
    pub fn has_errors(&self) -> bool {
        self.0
            .borrow()
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
    /// Record a diagnostic that has no MLIR location (e.g. a bad command-line option).
    pub fn push(&self, d: Diag) {
        self.0.borrow_mut().push(d)
    }
}

/// Report an error at `loc` through MLIR's diagnostic engine (so every handler sees it).
/// Emit `message` at the location it starts with (`file:line:col: [error: ]...`, as the
/// MLIR-free models write them), else at `fallback`: one location per diagnostic, never two.
pub fn emit_located<'c>(context: &'c Context, fallback: Location<'c>, message: &str) {
    match split_location(message) {
        Some((loc, rest)) => emit_error(location_from_string(context, loc), rest),
        None => emit_error(fallback, message),
    }
}

/// `("file:line:col", rest)` of a message that starts with a location.
fn split_location(message: &str) -> Option<(&str, &str)> {
    let mut end = 0;
    // file:line:col: the first ": " after two numeric fields
    for (i, _) in message.match_indices(": ") {
        let head = &message[..i];
        let mut parts = head.rsplitn(3, ':');
        let col = parts.next()?;
        let line = parts.next()?;
        let file = parts.next()?;
        if !file.is_empty()
            && !file.contains(' ')
            && col.parse::<u32>().is_ok()
            && line.parse::<u32>().is_ok()
        {
            end = i;
        }
        break;
    }
    if end == 0 {
        return None;
    }
    let rest = &message[end + 2..];
    Some((
        &message[..end],
        rest.strip_prefix("error: ").unwrap_or(rest),
    ))
}

pub fn emit_error(loc: Location, message: &str) {
    let msg = CString::new(message.replace('\0', " ")).unwrap_or_default();
    unsafe { mlir_sys::mlirEmitError(loc.to_raw(), msg.as_ptr()) }
}

#[cfg(test)]
mod split_tests {
    use super::split_location;

    #[test]
    fn a_leading_location_is_split_off_with_its_severity() {
        assert_eq!(
            split_location("m.mlir:4:8: error: 'qnn.conv2d' bad"),
            Some(("m.mlir:4:8", "'qnn.conv2d' bad"))
        );
        assert_eq!(
            split_location("/a/b c.mlir:12:3: lower failed"),
            None,
            "a path with a space is not taken for a location"
        );
        assert_eq!(split_location("qnn.conv2d #3: error: x"), None);
        assert_eq!(split_location("no location here"), None);
    }
}
