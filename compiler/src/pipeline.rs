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
        if opts
            .insert(k.to_owned(), v.trim_matches('"').to_owned())
            .is_some()
        {
            return Err(format!("pass option '{k}' is given twice"));
        }
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
            nested_pipelines(context, el)?;
        }
    }
    Ok(())
}

/// Upstream options that hold a pipeline of their own (the inliner's `default-pipeline`): MLIR
/// parses them only when the pass runs, where a bad one is printed but does not fail the run.
fn nested_pipelines(context: &Context, el: &Element) -> Result<(), String> {
    if el.name != "inline" {
        return Ok(());
    }
    let Some(p) = el.options.get("default-pipeline").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let pm = PassManager::new(context);
    parse_pass_pipeline(
        pm.as_operation_pass_manager(),
        &format!("builtin.module(any({p}))"),
    )
    .map(|_| ())
    .map_err(|e| {
        format!(
            "option 'default-pipeline' of '{}': '{p}' is not a pass pipeline: {e}",
            el.name
        )
    })
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
            if let Err(e) = check_binary_targets(module, el) {
                log.push(Diag::error(e));
                return Err(());
            }
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

/// Before an upstream element that runs LLVM's NVPTX backend (`gpu-module-to-binary`, also in
/// `gpu-lower-to-nvvm-pipeline`): every chip it will compile for is one nibble targets (LLVM
/// aborts the process on an unknown one) and, for kernels convert-tcconv-to-gpu built, the one
/// they were built for (LLVM aborts on an instruction the chip lacks).
fn check_binary_targets(module: &Module, el: &Element) -> Result<(), String> {
    use melior::ir::block::BlockLike;
    use melior::ir::operation::OperationLike;
    let lower_pipeline = el.text.contains("gpu-lower-to-nvvm-pipeline");
    if !lower_pipeline && !el.text.contains("gpu-module-to-binary") {
        return Ok(());
    }
    let known = || {
        nibble_tcconv::target::Target::ALL
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let check = |chip: &str,
                 ptx: u32,
                 built: Option<String>,
                 module_name: &str|
     -> Result<(), String> {
        if nibble_tcconv::target::Target::parse(chip).is_err() {
            return Err(format!(
                "'{}': chip '{chip}' of gpu.module @{module_name} is not a target nibble compiles for ({})",
                el.name,
                known()
            ));
        }
        // the PTX ISA LLVM needs for the chip (it aborts below it)
        let need = match chip {
            "sm_75" => 63,
            "sm_80" => 70,
            "sm_86" => 71,
            "sm_89" | "sm_90" => 78,
            _ => 80,
        };
        if ptx < need {
            return Err(format!(
                "'{}': gpu.module @{module_name} is compiled for {chip} with PTX ISA {}.{}, which needs {}.{} at least (features = \"+ptx{need}\")",
                el.name,
                ptx / 10,
                ptx % 10,
                need / 10,
                need % 10
            ));
        }
        match built {
            Some(t) if t != chip => Err(format!(
                "'{}': the kernels of gpu.module @{module_name} were built for {t} (convert-tcconv-to-gpu{{target={t}}}) but are compiled for chip {chip}: attach {t}",
                el.name
            )),
            _ => Ok(()),
        }
    };
    // gpu-lower-to-nvvm-pipeline attaches its own chip and features (`cubin-chip`, sm_50, and
    // `cubin-features`, +ptx60, by default)
    let option = |key: &str, default: &str| {
        el.text
            .split(|c: char| c == '{' || c == '}' || c.is_whitespace())
            .find_map(|kv| kv.strip_prefix(key))
            .unwrap_or(default)
            .trim_matches('"')
            .to_string()
    };
    let ptx_of = |features: &str| {
        features
            .split(',')
            .find_map(|f| f.trim().strip_prefix("+ptx"))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(60)
    };
    let pipeline_chip = lower_pipeline.then(|| {
        (
            option("cubin-chip=", "sm_50"),
            ptx_of(&option("cubin-features=", "+ptx60")),
        )
    });
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        cur = op.next_in_block();
        if op.name().as_string_ref().as_str() != Ok("gpu.module") {
            continue;
        }
        let name = nibble_qnn::ir::symbol_name(&op);
        let built = nibble_qnn::ir::string(&op, crate::conversion::tcconv_to_gpu::TARGET_ATTR)
            .ok()
            .map(str::to_owned);
        // bitcode linked into the kernels is not checked: LLVM aborts on what it cannot select
        let targets = op
            .attribute("targets")
            .map(|a| a.to_string())
            .unwrap_or_default();
        if targets.contains("link = [") {
            return Err(format!(
                "'{}': gpu.module @{name} links bitcode files into its kernels (nvvm-attach-target{{l=...}}); nibble-opt does not link files it cannot check",
                el.name
            ));
        }
        // `[#nvvm.target<chip = "sm_80", features = "+ptx70">, ...]`
        let chips: Vec<(String, u32)> = match &pipeline_chip {
            Some(c) => vec![c.clone()],
            None => targets
                .split("#nvvm.target")
                .skip(1)
                .map(|t| {
                    let field = |k: &str| {
                        t.split(k)
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .map(str::to_string)
                    };
                    // nvvm-attach-target's defaults: sm_50, +ptx60
                    (
                        field("chip = \"").unwrap_or_else(|| "sm_50".into()),
                        ptx_of(&field("features = \"").unwrap_or_default()),
                    )
                })
                .collect(),
        };
        for (chip, ptx) in &chips {
            check(chip.as_str(), *ptx, built.clone(), &name)?;
            // (after the lowering inside gpu-lower-to-nvvm-pipeline it is not seen here)
            crate::conversion::tcconv_to_gpu::nvptx_guard::check(&op, chip)?;
        }
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
        assert!(parse("builtin.module(a{target=sm_90 target=sm_75})")
            .unwrap_err()
            .contains("'target' is given twice"));
    }
}
