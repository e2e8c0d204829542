//! Named pipelines: one name for a sequence of passes (e.g. `qnn-to-ptx{target=sm_90}`).

use crate::pass::PassOptions;

/// `(name, summary)` of every named pipeline.
pub fn list() -> Vec<(&'static str, &'static str)> {
    vec![(
        "qnn-to-ptx",
        "qnn-verify, qnn-egraph-optimize, convert-qnn-to-tcconv, convert-tcconv-to-gpu (option target=sm_XX, required; any other option goes to convert-qnn-to-tcconv, e.g. chains=cluster; the gpu stage --emit=artifact packages)",
    )]
}

/// The pipeline text a named pipeline stands for, or None if `name` is not one. Options are
/// checked here, before anything runs.
pub fn expansion(name: &str, options: &PassOptions) -> Result<Option<String>, String> {
    match name {
        "qnn-to-ptx" => {
            let target = options
                .get("target")
                .ok_or("pipeline 'qnn-to-ptx' needs target=sm_XX")?;
            // every other option is convert-qnn-to-tcconv's, checked here with its values
            use crate::pass::NibblePass;
            let lowering = crate::conversion::qnn_to_tcconv::ConvertQnnToTcconv;
            if let Some(k) = options
                .keys()
                .find(|k| !lowering.options().iter().any(|(o, _)| o == k))
            {
                let known: Vec<&str> = lowering.options().iter().map(|(o, _)| *o).collect();
                return Err(format!(
                    "pipeline 'qnn-to-ptx' has no option '{k}' (options: {})",
                    known.join(", ")
                ));
            }
            crate::conversion::qnn_to_tcconv::lower_options(options)
                .map_err(|e| format!("pipeline 'qnn-to-ptx': {e}"))?;
            let tcconv: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Ok(Some(format!(
                "qnn-verify,qnn-egraph-optimize{{target={target}}},convert-qnn-to-tcconv{{{}}},convert-tcconv-to-gpu{{target={target}}}",
                tcconv.join(" ")
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
    fn qnn_to_ptx_forwards_lowering_options() {
        assert_eq!(
            expansion(
                "qnn-to-ptx",
                &opts(&[("target", "sm_90a"), ("chains", "cluster"), ("tile", "32x64x128")])
            )
            .unwrap()
            .unwrap(),
            "qnn-verify,qnn-egraph-optimize{target=sm_90a},convert-qnn-to-tcconv{chains=cluster target=sm_90a tile=32x64x128},convert-tcconv-to-gpu{target=sm_90a}"
        );
        let els = crate::pipeline::parse(
            "builtin.module(qnn-to-ptx{target=sm_90 maxpool=stem pools=dense})",
        )
        .unwrap();
        assert_eq!(els[2].options["maxpool"], "stem");
        assert_eq!(els[2].options["pools"], "dense");
        assert!(!els[3].options.contains_key("maxpool"));
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
            expansion("qnn-to-ptx", &opts(&[("target", "sm_90"), ("bogus", "1")]))
                .unwrap_err()
                .contains("no option 'bogus'")
        );
        // a lowering option's value, before the e-graph runs
        let e = expansion(
            "qnn-to-ptx",
            &opts(&[("target", "sm_90"), ("chains", "grid")]),
        )
        .unwrap_err();
        assert!(
            e.contains("chains 'grid' is not none, pairs, cluster, wide or cluster16"),
            "{e}"
        );
        let e = expansion("qnn-to-ptx", &opts(&[("target", "sm_90"), ("tile", "1")])).unwrap_err();
        assert!(e.starts_with("pipeline 'qnn-to-ptx': "), "{e}");
        assert!(crate::pipeline::parse("builtin.module(qnn-to-ptx{target=sm_100})").is_err());
        assert_eq!(expansion("canonicalize", &opts(&[])).unwrap(), None);
    }
}
