//! Textual pass pipelines (`builtin.module(qnn-verify,canonicalize,func.func(cse))`) mixing
//! nibble's passes and upstream MLIR passes, plus named pipelines that expand to several passes.

use crate::diagnostics::{Diag, DiagnosticLog, Severity};
use crate::pass::{lookup, registry, PassOptions};
use melior::ir::operation::OperationLike;
use melior::ir::Module;
use melior::pass::PassManager;
use melior::utility::parse_pass_pipeline;
use melior::Context;

/// One top-level element of a pipeline: `name{options}(nested)`, kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub options: PassOptions,
    /// The element's text exactly as written (handed to MLIR for upstream passes).
    pub text: String,
}

/// Split `a, b{x=1 y=2}, c(d, e)` at top-level commas.
fn split_top(s: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced '{ch}' in pass pipeline"));
                }
            }
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_owned());
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if depth != 0 {
        return Err("unbalanced brackets in pass pipeline".into());
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    if out.iter().any(|e| e.is_empty()) {
        return Err("empty element in pass pipeline".into());
    }
    Ok(out)
}

fn parse_options(s: &str) -> Result<PassOptions, String> {
    let mut opts = PassOptions::new();
    for item in s.split_whitespace() {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("pass option '{item}' is not key=value"))?;
        opts.insert(k.to_owned(), v.trim_matches('"').to_owned());
    }
    Ok(opts)
}

fn parse_element(text: &str) -> Result<Element, String> {
    let end = text.find(['{', '(']).unwrap_or(text.len());
    let name = text[..end].trim().to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!("'{text}' is not a pass name"));
    }
    let mut options = PassOptions::new();
    let rest = &text[end..];
    if let Some(body) = rest.strip_prefix('{') {
        let close = body
            .rfind('}')
            .ok_or_else(|| format!("unterminated options in '{text}'"))?;
        options = parse_options(&body[..close])?;
    }
    Ok(Element {
        name,
        options,
        text: text.to_owned(),
    })
}

/// Parse `builtin.module(...)` into its top-level elements, expanding named pipelines.
pub fn parse(pipeline: &str) -> Result<Vec<Element>, String> {
    let p = pipeline.trim();
    let inner = p
        .strip_prefix("builtin.module(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("pass pipeline must be anchored on builtin.module: 'builtin.module(...)', found '{p}'"))?;
    let mut out = vec![];
    for e in split_top(inner)? {
        let el = parse_element(&e)?;
        match expand_named(&el)? {
            Some(v) => out.extend(v),
            None => out.push(el),
        }
    }
    Ok(out)
}

/// Expand a named pipeline element, if `el` names one.
fn expand_named(el: &Element) -> Result<Option<Vec<Element>>, String> {
    let Some(body) = crate::pipelines::expansion(&el.name, &el.options)? else {
        return Ok(None);
    };
    let mut out = vec![];
    for e in split_top(&body)? {
        out.push(parse_element(&e)?);
    }
    Ok(Some(out))
}

/// Check option names of nibble passes and that upstream elements parse, before running anything.
pub fn validate(context: &Context, elements: &[Element]) -> Result<(), String> {
    for el in elements {
        if let Some(p) = lookup(&el.name) {
            for k in el.options.keys() {
                if !p.options().iter().any(|(o, _)| o == k) {
                    let known: Vec<&str> = p.options().iter().map(|(o, _)| *o).collect();
                    return Err(format!(
                        "pass '{}' has no option '{k}' (options: {})",
                        el.name,
                        known.join(", ")
                    ));
                }
            }
        } else {
            let pm = PassManager::new(context);
            parse_pass_pipeline(
                pm.as_operation_pass_manager(),
                &format!("builtin.module({})", el.text),
            )
            .map_err(|e| {
                format!(
                    "unknown pass or invalid pipeline element '{}': {e}",
                    el.text
                )
            })?;
        }
    }
    Ok(())
}

/// Run the elements in order. After each one `after(name, module)` is called (IR printing).
/// On failure the diagnostics are already in `log`.
pub fn run(
    context: &Context,
    module: &mut Module,
    elements: &[Element],
    log: &DiagnosticLog,
    after: &mut dyn FnMut(&Element, &Module),
) -> Result<(), ()> {
    for el in elements {
        if let Some(p) = lookup(&el.name) {
            p.run(context, module, &el.options)?;
            if !module.as_operation().verify() {
                return Err(());
            }
        } else {
            let pm = PassManager::new(context);
            pm.enable_verifier(true);
            if let Err(e) = parse_pass_pipeline(
                pm.as_operation_pass_manager(),
                &format!("builtin.module({})", el.text),
            ) {
                log.push(Diag {
                    severity: Severity::Error,
                    loc: String::new(),
                    message: e.to_string(),
                });
                return Err(());
            }
            if pm.run(module).is_err() {
                if !log.has_errors() {
                    log.push(Diag {
                        severity: Severity::Error,
                        loc: String::new(),
                        message: format!("pass '{}' failed", el.name),
                    });
                }
                return Err(());
            }
        }
        after(el, module);
    }
    Ok(())
}

/// `--list-passes` text.
pub fn list_passes() -> String {
    let mut s = String::from("nibble passes:\n");
    for p in registry() {
        s.push_str(&format!("  {:<28} {}\n", p.name(), p.summary()));
        for (o, d) in p.options() {
            s.push_str(&format!("      {o:<24} {d}\n"));
        }
    }
    s.push_str("named pipelines:\n");
    for (n, d) in crate::pipelines::list() {
        s.push_str(&format!("  {n:<28} {d}\n"));
    }
    s.push_str("upstream MLIR passes: every pass mlir-opt-22 registers (e.g. canonicalize, cse, convert-gpu-to-nvvm).\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_top_level_elements_with_options_and_nesting() {
        let els = parse("builtin.module(qnn-verify, canonicalize{max-iterations=3 test-convergence=true},func.func(cse,canonicalize))").unwrap();
        let names: Vec<&str> = els.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["qnn-verify", "canonicalize", "func.func"]);
        assert_eq!(els[1].options["max-iterations"], "3");
        assert_eq!(els[2].text, "func.func(cse,canonicalize)");
    }

    #[test]
    fn rejects_unanchored_and_unbalanced_pipelines() {
        assert!(parse("qnn-verify").unwrap_err().contains("anchored"));
        assert!(
            parse("builtin.module(a(b)")
                .unwrap_err()
                .contains("anchored")
                || parse("builtin.module(a(b)").is_err()
        );
        assert!(parse("builtin.module(a,,b)").unwrap_err().contains("empty"));
        assert!(parse("builtin.module(a{x})")
            .unwrap_err()
            .contains("key=value"));
    }
}
