//! The nibble-opt driver as a library function: parse, run a pipeline, print, verify
//! diagnostics. The binary only handles the command line and files.

use crate::context::{new_context, parse_source};
use crate::diagnostics::{Diag, DiagnosticLog, Severity};
use crate::pipeline::{self, Element};
use melior::ir::operation::{OperationLike, OperationPrintingFlags};
use melior::ir::Module;
use std::fmt::Write;

#[derive(Clone, Debug, Default)]
pub struct OptOptions {
    pub pass_pipeline: Option<String>,
    pub split_input_file: bool,
    pub verify_diagnostics: bool,
    pub allow_unregistered_dialect: bool,
    pub print_ir_after_all: bool,
    /// Pass names after which to print the IR.
    pub print_ir_after: Vec<String>,
    pub print_debuginfo: bool,
    /// `--emit=artifact`: write an artifact directory instead of printing IR (crate::artifact).
    pub artifact: Option<crate::artifact::ArtifactRequest>,
    /// `--nibble-egraph-stats`: every qnn-egraph-optimize prints its statistics (`stats=true`).
    pub egraph_stats: bool,
    /// `--mlir-timing`: an execution time report (parse, each pipeline element, the artifact
    /// writer's steps, printing) on stderr.
    pub timing: bool,
}

/// What a run produced: the output IR text, the diagnostics/IR dumps for stderr, and success.
#[derive(Clone, Debug, Default)]
pub struct OptOutput {
    pub output: String,
    pub stderr: String,
    pub success: bool,
}

/// Split at lines `// -----`, returning (first line number - 1, text) per chunk.
pub fn split_chunks(source: &str, split: bool) -> Vec<(usize, String)> {
    if !split {
        return vec![(0, source.to_owned())];
    }
    let mut out = vec![];
    let mut start = 0;
    let mut cur = String::new();
    for (i, line) in source.lines().enumerate() {
        if line.trim_start().starts_with("// -----") {
            out.push((start, std::mem::take(&mut cur)));
            start = i + 1;
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    out.push((start, cur));
    out
}

/// `loc` (`file:line:col`) of `filename` moved down `shift` lines.
fn shift_line(loc: &mut String, filename: &str, shift: usize) {
    if shift == 0 {
        return;
    }
    let Some(rest) = loc.strip_prefix(filename).and_then(|r| r.strip_prefix(':')) else {
        return;
    };
    let Some((line, col)) = rest.split_once(':') else {
        return;
    };
    if let Ok(line) = line.parse::<usize>() {
        *loc = format!("{filename}:{}:{col}", line + shift);
    }
}

/// An `expected-*` annotation of `--verify-diagnostics`.
#[derive(Clone, Debug)]
struct Expected {
    severity: Severity,
    line: usize,
    message: String,
    annotation_line: usize,
    matched: bool,
}

fn parse_expected(chunk: &str, first_line: usize) -> Result<Vec<Expected>, String> {
    let mut out = vec![];
    for (i, line) in chunk.lines().enumerate() {
        let lineno = first_line + i + 1;
        let Some(at) = line.find("expected-") else {
            continue;
        };
        let rest = &line[at + "expected-".len()..];
        let (severity, rest) = [
            ("error", Severity::Error),
            ("warning", Severity::Warning),
            ("note", Severity::Note),
            ("remark", Severity::Remark),
        ]
        .iter()
        .find_map(|(n, s)| rest.strip_prefix(n).map(|r| (*s, r)))
        .ok_or_else(|| format!("{lineno}: unknown expected-* annotation"))?;
        let rest = rest.trim_start();
        let (target, rest) = if let Some(r) = rest.strip_prefix('@') {
            let end = r
                .find(|c: char| c.is_whitespace() || c == '{')
                .unwrap_or(r.len());
            let spec = &r[..end];
            let bad = |s: &str| format!("line {lineno}: bad offset @{s}");
            let offset = |s: &str| s[1..].parse::<usize>().map_err(|_| bad(s));
            // an offset that leaves the file is an error, never a wrapped line number
            let t = match spec {
                "above" => lineno.checked_sub(1),
                "below" => lineno.checked_add(1),
                s if s.starts_with('+') => lineno.checked_add(offset(s)?),
                s if s.starts_with('-') => lineno.checked_sub(offset(s)?),
                s => return Err(format!("line {lineno}: unsupported location @{s}")),
            }
            .filter(|&t| t >= 1)
            .ok_or_else(|| bad(spec))?;
            (t, r[end..].trim_start())
        } else {
            (lineno, rest)
        };
        let body = rest
            .strip_prefix("{{")
            .and_then(|r| r.rfind("}}").map(|e| &r[..e]));
        let message = body
            .ok_or_else(|| format!("line {lineno}: expected-* needs a {{{{message}}}}"))?
            .to_owned();
        out.push(Expected {
            severity,
            line: target,
            message,
            annotation_line: lineno,
            matched: false,
        });
    }
    Ok(out)
}

/// Match diagnostics against annotations; returns the failures as stderr text.
fn verify(diags: &[Diag], expected: &mut [Expected], filename: &str) -> String {
    let mut errs = String::new();
    for d in diags {
        let line = d.line_col().map(|(_, l, _)| l);
        let hit = expected.iter_mut().find(|e| {
            e.severity == d.severity && Some(e.line) == line && d.message.contains(&e.message)
        });
        match hit {
            Some(e) => e.matched = true,
            None if d.severity == Severity::Note => {}
            None => {
                let _ = writeln!(
                    errs,
                    "{}: error: unexpected {}: {}",
                    if d.loc.is_empty() { filename } else { &d.loc },
                    d.severity.name(),
                    d.message
                );
            }
        }
    }
    for e in expected.iter().filter(|e| !e.matched) {
        let _ = writeln!(
            errs,
            "{filename}:{}: error: expected {} \"{}\" on line {} was not produced",
            e.annotation_line,
            e.severity.name(),
            e.message,
            e.line
        );
    }
    errs
}

fn print_module(m: &Module, debuginfo: bool) -> String {
    let flags = OperationPrintingFlags::new().enable_debug_info(debuginfo, false);
    m.as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_else(|_| m.as_operation().to_string())
}

/// Run nibble-opt over `source` (named `filename` in locations).
pub fn run_opt(source: &str, filename: &str, opts: &OptOptions) -> OptOutput {
    let context = new_context();
    context.set_allow_unregistered_dialects(opts.allow_unregistered_dialect);
    let log = DiagnosticLog::attach(context);
    let mut out = OptOutput {
        success: true,
        ..Default::default()
    };

    let elements: Vec<Element> = match opts
        .pass_pipeline
        .as_deref()
        .map(pipeline::parse)
        .transpose()
    {
        Ok(e) => e.unwrap_or_default(),
        Err(e) => {
            out.stderr = format!("nibble-opt: error: {e}\n");
            out.success = false;
            return out;
        }
    };
    // a name that matches no step of the pipeline would print nothing, silently
    if let Some(bad) = opts
        .print_ir_after
        .iter()
        .find(|p| !elements.iter().any(|e| e.name == **p))
    {
        let names: Vec<&str> = elements.iter().map(|e| e.name.as_str()).collect();
        out.stderr = format!(
            "nibble-opt: error: --mlir-print-ir-after={bad} names no step of the pass pipeline (its steps: {})\n",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        );
        out.success = false;
        return out;
    }
    let mut elements =
        crate::transforms::qnn_egraph_optimize::force_stats(elements, opts.egraph_stats);
    // --emit=artifact: a gpu stage that nothing prints may take compiled kernels from the kernel
    // cache as stubs (convert-tcconv-to-gpu{kernel-cache=true})
    if opts.artifact.is_some() && !opts.print_ir_after_all {
        if let Some(last) = elements.last_mut() {
            if last.name == "convert-tcconv-to-gpu"
                && !opts.print_ir_after.contains(&last.name)
                && !last.options.contains_key("kernel-cache")
            {
                last.options.insert("kernel-cache".into(), "true".into());
            }
        }
    }
    if let Err(e) = pipeline::validate(context, &elements) {
        out.stderr = format!("nibble-opt: error: {e}\n");
        out.success = false;
        return out;
    }

    if opts.artifact.is_some() && (opts.split_input_file || opts.verify_diagnostics) {
        out.stderr = "nibble-opt: error: --emit=artifact takes one network: no --split-input-file or --verify-diagnostics\n".into();
        out.success = false;
        return out;
    }
    let mut outputs = vec![];
    for (first_line, chunk) in split_chunks(source, opts.split_input_file) {
        // A chunk parses alone and its diagnostics' lines are moved to the file's afterwards
        // (padding every chunk with the lines before it made many splits quadratic); printed
        // debug locations need the file's lines in the IR itself, so they keep the padding.
        let (padded, shift) = if opts.print_debuginfo && first_line > 0 {
            (format!("{}{}", "\n".repeat(first_line), chunk), 0)
        } else {
            (chunk.clone(), first_line)
        };
        let mut expected = if opts.verify_diagnostics {
            match parse_expected(&chunk, first_line) {
                Ok(e) => e,
                Err(e) => {
                    let _ = writeln!(out.stderr, "{filename}:{e}");
                    out.success = false;
                    continue;
                }
            }
        } else {
            vec![]
        };
        let mut dumps = String::new();
        let started = std::time::Instant::now();
        if opts.timing {
            crate::timing::start();
        }
        let result = (|| {
            let mut module = crate::timing::time("parse", || {
                parse_source_wrapping(context, &log, &padded, filename)
            })?;
            if !module.as_operation().verify() {
                return Err(());
            }
            // --emit=artifact: the original qnn graph is the artifact's CPU reference.
            let reference = match &opts.artifact {
                Some(req) => Some(crate::artifact::capture(&module, req, &log)?),
                None => None,
            };
            let mut step = std::time::Instant::now();
            pipeline::run(context, &mut module, &elements, &log, &mut |el, m| {
                crate::timing::record(el.text.clone(), step.elapsed());
                if opts.print_ir_after_all || opts.print_ir_after.iter().any(|p| *p == el.name) {
                    let _ = write!(
                        dumps,
                        "// -----// IR Dump After {} //----- //\n{}\n",
                        el.text,
                        print_module(m, opts.print_debuginfo)
                    );
                }
                step = std::time::Instant::now();
            })?;
            if let (Some(req), Some((g, weights))) = (&opts.artifact, reference) {
                return crate::artifact::write(context, &module, &g, req, weights, &log);
            }
            Ok(crate::timing::time("print", || {
                print_module(&module, opts.print_debuginfo)
            }))
        })();
        out.stderr.push_str(&dumps);
        if opts.timing {
            let steps = crate::timing::finish();
            out.stderr
                .push_str(&crate::timing::report(&steps, started.elapsed()));
        }
        let mut diags = log.take();
        for d in &mut diags {
            shift_line(&mut d.loc, filename, shift);
        }
        if opts.verify_diagnostics {
            let errs = verify(&diags, &mut expected, filename);
            if !errs.is_empty() {
                out.stderr.push_str(&errs);
                out.success = false;
            }
            if let Ok(text) = result {
                outputs.push(text);
            }
        } else {
            for d in &diags {
                let _ = writeln!(out.stderr, "{d}");
            }
            // an error reported by a pass that did not fail (an upstream pass whose option
            // names no pass, say) fails the run as well
            let reported = diags.iter().any(|d| d.severity == Severity::Error);
            match result {
                Ok(_) if reported => out.success = false,
                Ok(text) => outputs.push(text),
                Err(()) => {
                    if !reported {
                        let _ = writeln!(
                            out.stderr,
                            "{filename}: error: failed (no diagnostic was reported)"
                        );
                    }
                    out.success = false;
                }
            }
        }
    }
    out.output = outputs.join("// -----\n");
    out
}

/// Parse; a file of several top-level ops is re-parsed inside an implicit `module {`
/// opened on the first line (which keeps every line number, and every column after line 1).
pub fn parse_source_wrapping<'c>(
    context: &'c melior::Context,
    log: &DiagnosticLog,
    source: &str,
    filename: &str,
) -> Result<Module<'c>, ()> {
    let before = log.len();
    if let Some(m) = parse_source(context, source, filename) {
        return Ok(m);
    }
    let diags = log.take();
    let several = diags[before..]
        .iter()
        .any(|d| d.message.contains("single top-level operation"));
    for d in diags {
        log.push(d);
    }
    if !several {
        return Err(());
    }
    log.truncate(before);
    parse_source(context, &format!("module {{{source}\n}}"), filename).ok_or(())
}
