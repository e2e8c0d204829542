//! Loading artifacts (and failing clearly) with no GPU; the "no driver" path returns an error.

use nibble_runtime::plan::*;
use nibble_runtime::{Artifact, Error, Runtime};
use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;

const PTX: &str = "//\n.version 7.8\n.target sm_90\n.address_size 64\n\n.visible .entry relayout(\n\t.param .u64 .ptr .align 1 relayout_param_0,\n\t.param .u64 .ptr .align 1 relayout_param_1,\n\t.param .u64 .ptr .align 1 relayout_param_2,\n\t.param .u32 relayout_param_3\n)\n{\n\tret;\n}\n";

fn plan() -> Plan {
    Plan {
        version: PLAN_VERSION,
        network: "tiny".into(),
        target: "sm_90".into(),
        ptx: "kernels.ptx".into(),
        arena_bytes: 512,
        buffers: vec![
            BufferSlot {
                offset: 0,
                bytes: 64,
                layout: "NCHW".into(),
                elem: "f32".into(),
                dims: [1, 4, 2, 2],
            },
            BufferSlot {
                offset: 256,
                bytes: 16,
                layout: "NHWC".into(),
                elem: "i8".into(),
                dims: [1, 4, 2, 2],
            },
        ],
        weights: vec![WeightSlot {
            name: "w.ok".into(),
            bytes: 12,
            packing: None,
            constant: None,
        }],
        inputs: vec![Io {
            buffer: 0,
            shape: vec![1, 4, 2, 2],
            elem: "f32".into(),
            layout: "NCHW".into(),
        }],
        outputs: vec![Io {
            buffer: 1,
            shape: vec![1, 4, 2, 2],
            elem: "i8".into(),
            layout: "NCHW".into(),
        }],
        launches: vec![Launch {
            kernel: "relayout".into(),
            grid: [1, 1, 1],
            block: [32, 1, 1],
            shared_bytes: 0,
            args: vec![Arg::Buffer(0), Arg::Weight(0), Arg::Buffer(1), Arg::I32(16)],
        }],
    }
}

fn write(dir: &Path, p: &Plan, weights: &[(&str, Dtype, Vec<u8>)]) {
    std::fs::write(dir.join("plan.json"), p.to_json()).unwrap();
    std::fs::write(dir.join("kernels.ptx"), PTX).unwrap();
    let views: Vec<(String, TensorView)> = weights
        .iter()
        .map(|(n, d, b)| {
            (
                n.to_string(),
                TensorView::new(*d, vec![b.len() / if *d == Dtype::U8 { 1 } else { 4 }], b)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(
        dir.join("weights.safetensors"),
        safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
}

fn good(dir: &Path) {
    write(dir, &plan(), &[("w.ok", Dtype::U8, (0..12).collect())]);
}

fn load_err(dir: &Path) -> String {
    match Artifact::load(dir) {
        Err(Error::Artifact(m)) => m,
        Err(e) => panic!("expected an artifact error, got {e:?}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn loads_a_consistent_artifact() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    let a = Artifact::load(d.path()).unwrap();
    assert_eq!(a.plan, plan());
    assert_eq!(a.weights, vec![(0..12).collect::<Vec<u8>>()]);
}

#[test]
fn missing_and_corrupt_files_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    assert!(load_err(&d.path().join("nope")).contains("not a directory"));
    assert!(load_err(d.path()).contains("plan.json: missing"));
    good(d.path());
    std::fs::write(d.path().join("plan.json"), "{\"version\": 1, ").unwrap();
    assert!(load_err(d.path()).contains("plan.json"));
    good(d.path());
    std::fs::remove_file(d.path().join("kernels.ptx")).unwrap();
    assert!(load_err(d.path()).contains("kernels.ptx: missing"));
    good(d.path());
    std::fs::write(d.path().join("weights.safetensors"), b"garbage").unwrap();
    assert!(load_err(d.path()).contains("not a safetensors file"));
    // Weights: missing, wrong size, wrong dtype.
    write(d.path(), &plan(), &[("other", Dtype::U8, vec![0; 12])]);
    assert!(load_err(d.path()).contains("'w.ok' is missing"));
    write(d.path(), &plan(), &[("w.ok", Dtype::I32, vec![0; 16])]);
    assert!(load_err(d.path()).contains("has 16 bytes, the plan says 12"));
    write(d.path(), &plan(), &[("w.ok", Dtype::F32, vec![0; 12])]);
    assert!(load_err(d.path()).contains("U8 or I32"));
    // The plan against the PTX: unknown kernel, wrong arity, wrong parameter size.
    let mut p = plan();
    p.launches[0].kernel = "conv".into();
    write(d.path(), &p, &[("w.ok", Dtype::U8, vec![0; 12])]);
    assert!(
        load_err(d.path()).contains("'conv', which is not an entry of the PTX (entries: relayout)")
    );
    let mut p = plan();
    p.launches[0].args.pop();
    write(d.path(), &p, &[("w.ok", Dtype::U8, vec![0; 12])]);
    assert!(load_err(d.path()).contains("takes 4 parameters, launch 0 passes 3"));
    let mut p = plan();
    p.launches[0].args[3] = Arg::I64(16);
    write(d.path(), &p, &[("w.ok", Dtype::U8, vec![0; 12])]);
    assert!(load_err(d.path()).contains("parameter 3 of 'relayout' has 4 bytes"));
}

/// Without a driver, starting a runtime is a NoDriver error (not a panic); with one, it is
/// never that error.
#[test]
fn no_driver_is_an_error_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    let a = Artifact::load(d.path()).unwrap();
    let r = Runtime::new(&a);
    if nibble_runtime::gpu::driver_present() {
        assert!(
            !matches!(r, Err(Error::NoDriver(_))),
            "a driver is present but the runtime reports none"
        );
        return;
    }
    match r {
        Err(Error::NoDriver(m)) => assert!(m.contains("no CUDA driver found"), "{m}"),
        Err(e) => panic!("expected NoDriver, got {e:?}"),
        Ok(_) => panic!("a runtime without a driver"),
    }
}
