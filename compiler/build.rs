//! `NIBBLE_BUILD_HASH`: a hash of everything a generated kernel depends on besides its op (the
//! sources of this crate and of the dialect crates the kernel builders read, the locked
//! dependency versions, and the LLVM / MLIR that compiles the kernels). The kernel cache keys
//! a tcconv op's compiled kernel by its signature and this hash, so a rebuilt compiler whose
//! kernels may differ never reads an older build's entries.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = here.parent().expect("workspace root").to_path_buf();
    let dirs = [
        here.join("src"),
        root.join("dialects/qnn/src"),
        root.join("dialects/tcconv/src"),
    ];
    let mut all = vec![root.join("Cargo.lock"), here.join("build.rs")];
    for d in &dirs {
        println!("cargo:rerun-if-changed={}", d.display());
        files(d, &mut all);
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=MLIR_SYS_220_PREFIX");
    all.sort();

    // 128-bit FNV-1a over each file's path (relative to the workspace), length and bytes
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u128;
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    };
    for f in &all {
        let rel = f.strip_prefix(&root).unwrap_or(f);
        let body = std::fs::read(f).unwrap_or_default();
        eat(rel.to_string_lossy().as_bytes());
        eat(&(body.len() as u64).to_le_bytes());
        eat(&body);
    }
    // the LLVM that mlir-sys links (its llvm-config), when it can be asked
    let prefix = std::env::var("MLIR_SYS_220_PREFIX").unwrap_or_default();
    let llvm_config = if prefix.is_empty() {
        PathBuf::from("llvm-config")
    } else {
        Path::new(&prefix).join("bin/llvm-config")
    };
    let llvm = std::process::Command::new(llvm_config)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
        .unwrap_or_else(|| b"unknown".to_vec());
    eat(&llvm);
    eat(prefix.as_bytes());
    println!("cargo:rustc-env=NIBBLE_BUILD_HASH={h:032x}");
}
