//! ARCHITECTURE.md's dependency invariants, checked on the workspace's own manifests
//! (`cargo metadata --no-deps`): what each crate declares, dev-dependencies included.

use std::collections::BTreeMap;

/// crate -> [(dependency, kind ("normal" / "dev" / "build"), optional, features enabled,
/// default features used)]
type Deps = BTreeMap<String, Vec<(String, String, bool, Vec<String>, bool)>>;

fn workspace_deps() -> Deps {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut deps = Deps::new();
    for p in m["packages"].as_array().unwrap() {
        let ds = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap().to_owned(),
                    d["kind"].as_str().unwrap_or("normal").to_owned(),
                    d["optional"].as_bool().unwrap_or(false),
                    d["features"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap().to_owned())
                        .collect(),
                    d["uses_default_features"].as_bool().unwrap_or(true),
                )
            })
            .collect();
        deps.insert(p["name"].as_str().unwrap().to_owned(), ds);
    }
    deps
}

/// Every crate `name` reaches through normal (non-dev) dependencies, itself excluded; optional
/// ones only when `with_optional`.
fn closure(deps: &Deps, name: &str, with_optional: bool) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    let mut todo = vec![name.to_owned()];
    while let Some(n) = todo.pop() {
        for (d, kind, optional, ..) in deps.get(&n).into_iter().flatten() {
            if kind == "normal" && (with_optional || !optional) && !seen.contains(d) {
                seen.push(d.clone());
                todo.push(d.clone());
            }
        }
    }
    seen
}

const TOOLS: &[&str] = &["nibble-opt", "nibble-run", "nibble-gen"];

#[test]
fn dependencies_run_one_way() {
    let deps = workspace_deps();
    for dialect in ["nibble-qnn", "nibble-tcconv"] {
        let reach = closure(&deps, dialect, true);
        for other in ["nibble-compiler", "nibble-runtime", "nibble-artifact"]
            .iter()
            .chain(TOOLS)
        {
            assert!(
                !reach.iter().any(|r| r == other),
                "dialect {dialect} depends on {other}"
            );
        }
    }
    // libraries never depend on tools, not even for their tests
    for (krate, ds) in &deps {
        if TOOLS.contains(&krate.as_str()) {
            continue;
        }
        for (d, kind, ..) in ds {
            assert!(
                !TOOLS.contains(&d.as_str()),
                "{krate} depends ({kind}) on the tool {d}"
            );
        }
    }
}

#[test]
fn only_the_runtime_links_cuda() {
    let deps = workspace_deps();
    for (krate, ds) in &deps {
        if ds.iter().any(|(d, ..)| d == "cudarc") {
            assert_eq!(krate, "nibble-runtime", "{krate} depends on cudarc");
        }
    }
    // nibble-opt and the compiler reach no CUDA code, even through optional features
    for krate in [
        "nibble-opt",
        "nibble-compiler",
        "nibble-artifact",
        "nibble-gen",
    ] {
        let reach = closure(&deps, krate, true);
        assert!(
            !reach.iter().any(|r| r == "cudarc" || r == "nibble-runtime"),
            "{krate} reaches {reach:?}"
        );
    }
}

#[test]
fn the_runtime_never_links_mlir() {
    let deps = workspace_deps();
    for krate in ["nibble-runtime", "nibble-artifact"] {
        // the dialects' MLIR parts are optional, behind their `mlir` features (checked below)
        let reach = closure(&deps, krate, false);
        assert!(
            !reach
                .iter()
                .any(|r| r == "melior" || r == "mlir-sys" || r == "nibble-compiler"),
            "{krate} reaches MLIR: {reach:?}"
        );
        // and nothing it reaches turns a dialect's `mlir` feature on, by name or as a default
        for k in std::iter::once(krate.to_owned()).chain(reach) {
            for (d, _, _, features, defaults) in deps.get(&k).into_iter().flatten() {
                assert!(
                    !features.iter().any(|f| f == "mlir"),
                    "{k} enables {d}/mlir"
                );
                assert!(
                    !(d == "nibble-qnn" && *defaults),
                    "{k} takes nibble-qnn's default features (mlir)"
                );
            }
        }
    }
    // nibble-run reaches MLIR only through its optional `mlir` feature
    let reach = closure(&deps, "nibble-run", false);
    assert!(
        !reach
            .iter()
            .any(|r| r == "melior" || r == "nibble-compiler"),
        "nibble-run without features reaches {reach:?}"
    );
}

#[test]
fn file_readers_stand_alone() {
    // the readers of foreign formats (torch.save, ONNX) know nothing of nibble: the importers
    // in nibble-models turn what they read into qnn
    let deps = workspace_deps();
    for krate in ["nibble-pth", "nibble-onnx"] {
        let reach = closure(&deps, krate, true);
        assert!(
            !reach
                .iter()
                .any(|r| r.starts_with("nibble-") || r == "melior" || r == "cudarc"),
            "{krate} reaches {reach:?}"
        );
    }
}
