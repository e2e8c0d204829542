//! plan.json bytes -> serde_json Plan + validate(); the same bytes as the plan.json of an artifact
//! directory whose PTX and weights come from fuzz/seeds/base_artifact (override with
//! NIBBLE_FUZZ_BASE_ARTIFACT) -> Artifact::load, twice: with the packed weights.safetensors, and
//! without it (the weights are then packed at load time from reference/weights.safetensors by
//! each slot's recipe). A loaded artifact's inputs/outputs go through the host <-> stored
//! conversions the runtime uses, and its CPU reference is loaded. The bytes are also read as PTX
//! (ptx_entries).

use libfuzzer_sys::fuzz_target;
use nibble_artifact::artifact::{ptx_entries, weight_offsets, Artifact, PLAN_FILE, WEIGHTS_FILE};
use nibble_artifact::host;
use nibble_artifact::plan::{Io, Plan};
use nibble_qnn::tensor::{Data, Tensor};
use std::path::{Path, PathBuf};

struct Dirs {
    packed: PathBuf,
    from_qnn: PathBuf,
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

fn dirs() -> &'static Dirs {
    static D: std::sync::OnceLock<Dirs> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let base = std::env::var_os("NIBBLE_FUZZ_BASE_ARTIFACT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/base_artifact")
            });
        let root = std::env::temp_dir().join(format!("nibble-fuzz-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let packed = root.join("packed");
        let from_qnn = root.join("from_qnn");
        copy_dir(&base, &packed);
        copy_dir(&base, &from_qnn);
        let _ = std::fs::remove_file(from_qnn.join(WEIGHTS_FILE));
        Dirs { packed, from_qnn }
    })
}

/// A host tensor of `io`'s type (zeros), through to_stored and back.
fn host_round_trip(plan: &Plan, io: &Io) {
    let Ok(ty) = host::tensor_type(io) else { return };
    if ty.numel() > 1 << 20 {
        return;
    }
    let Some(buf) = plan.buffers.get(io.buffer) else { return };
    let data = match io.elem_type() {
        Ok(e) if e.is_int() => Data::Int(vec![0; ty.numel()]),
        Ok(_) => Data::Float(vec![0.0; ty.numel()]),
        Err(_) => return,
    };
    let t = Tensor { ty, data };
    if let Ok(bytes) = host::to_stored(io, buf, &t) {
        let back = host::from_stored(io, buf, &bytes).expect("to_stored bytes read back");
        assert_eq!(back.first_mismatch(&t), None, "host round trip changed a value");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = ptx_entries(text);
    if let Ok(p) = serde_json::from_str::<Plan>(text) {
        if p.validate().is_ok() {
            let _ = weight_offsets(&p);
            let _ = p.to_json();
        }
    }
    let _ = Plan::from_json(text);
    let d = dirs();
    for dir in [&d.packed, &d.from_qnn] {
        std::fs::write(dir.join(PLAN_FILE), data).unwrap();
        if let Ok(a) = Artifact::load(dir) {
            for io in a.plan.inputs.iter().chain(&a.plan.outputs) {
                host_round_trip(&a.plan, io);
            }
            let _ = a.reference();
        }
    }
});

// libFuzzer's driver (see nibble_fuzz::libfuzzer_main for why not #![no_main])
nibble_fuzz::libfuzzer_main!();
