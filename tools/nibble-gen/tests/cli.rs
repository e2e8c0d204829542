//! The nibble-gen command line: an import that succeeds writes the model, one that fails
//! prints one error line and exits 1.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/fixtures")
        .join(name)
}

#[test]
fn cli_imports_and_reports_errors_without_a_panic() {
    let exe = env!("CARGO_BIN_EXE_nibble-gen");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("import_cli");
    let _ = std::fs::remove_dir_all(&out);
    let r = Command::new(exe)
        .args(["import"])
        .arg(fixture("hawq_resnet18_narrow.pth"))
        .args([
            "--arch",
            "resnet18",
            "--bits",
            "w4a4",
            "--batch",
            "2",
            "--image-size",
            "32",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = std::fs::read_to_string(out.join("model.mlir")).unwrap();
    assert!(text.contains("qnn.conv2d"), "{text}");
    let w = nibble_qnn::weights::Weights::load(&out.join("weights.safetensors")).unwrap();
    assert!(w.get("stage1.unit1.quant_convbn1.weight_integer").is_some());

    let r = Command::new(exe)
        .args(["import"])
        .arg(fixture("hawq_resnet18_narrow_missing_key.pth"))
        .args([
            "--arch",
            "resnet18",
            "--bits",
            "uniform4",
            "--image-size",
            "32",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("missing key 'module.stage3.unit2.quant_convbn1.bias_integer'")
            && !err.contains("panicked")
            && err.lines().count() == 1,
        "{err}"
    );
}
