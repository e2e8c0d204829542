//! Named pipelines: one name for a sequence of passes (e.g. `qnn-to-ptx{target=sm_90}`).

use crate::pass::PassOptions;

/// `(name, summary)` of every named pipeline.
pub fn list() -> Vec<(&'static str, &'static str)> {
    vec![(
        "qnn-to-ptx",
        "qnn-verify, qnn-egraph-optimize, convert-qnn-to-tcconv, convert-tcconv-to-gpu (option target=sm_XX, required; the gpu stage --emit=artifact packages)",
    )]
}

/// The pipeline text a named pipeline stands for, or None if `name` is not one. Options are
/// checked here, before anything runs.
pub fn expansion(name: &str, options: &PassOptions) -> Result<Option<String>, String> {
    match name {
        "qnn-to-ptx" => {
            if let Some(k) = options.keys().find(|k| k.as_str() != "target") {
                return Err(format!(
                    "pipeline 'qnn-to-ptx' has no option '{k}' (options: target)"
                ));
            }
            let target = options
                .get("target")
                .ok_or("pipeline 'qnn-to-ptx' needs target=sm_XX")?;
            nibble_tcconv::target::Target::parse(target)
                .map_err(|e| format!("pipeline 'qnn-to-ptx': {e}"))?;
            Ok(Some(format!(
                "qnn-verify,qnn-egraph-optimize{{target={target}}},convert-qnn-to-tcconv{{target={target}}},convert-tcconv-to-gpu{{target={target}}}"
            )))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> PassOptions {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn qnn_to_ptx_forwards_the_target() {
        assert_eq!(
            expansion("qnn-to-ptx", &opts(&[("target", "sm_80")]))
                .unwrap()
                .unwrap(),
            "qnn-verify,qnn-egraph-optimize{target=sm_80},convert-qnn-to-tcconv{target=sm_80},convert-tcconv-to-gpu{target=sm_80}"
        );
        let els = crate::pipeline::parse("builtin.module(qnn-to-ptx{target=sm_90})").unwrap();
        let names: Vec<&str> = els.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "qnn-verify",
                "qnn-egraph-optimize",
                "convert-qnn-to-tcconv",
                "convert-tcconv-to-gpu"
            ]
        );
        assert_eq!(els[2].options["target"], "sm_90");
    }

    #[test]
    fn qnn_to_ptx_rejects_bad_options_before_running() {
        assert!(expansion("qnn-to-ptx", &opts(&[("target", "sm_61")]))
            .unwrap_err()
            .contains("sm_61"));
        assert!(expansion("qnn-to-ptx", &opts(&[]))
            .unwrap_err()
            .contains("needs target"));
        assert!(
            expansion("qnn-to-ptx", &opts(&[("target", "sm_90"), ("tile", "1")]))
                .unwrap_err()
                .contains("no option 'tile'")
        );
        assert!(crate::pipeline::parse("builtin.module(qnn-to-ptx{target=sm_100})").is_err());
        assert_eq!(expansion("canonicalize", &opts(&[])).unwrap(), None);
    }
}
