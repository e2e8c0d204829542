//! `--emit=artifact`: a small qnn network into an artifact directory the runtime loads (no GPU).

use nibble_artifact::plan::Arg;
use nibble_artifact::Artifact;
use nibble_compiler::artifact::{emit, load_weights, reference_graph, ArtifactRequest};
use nibble_compiler::context::{new_context, parse_source};
use nibble_compiler::opt_driver::{run_opt, OptOptions};
use nibble_qnn::graph::TensorType;
use nibble_qnn::semantics::{ElemType, KernelLayout};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use nibble_tcconv::program::{PackedWeight, Packing};
use std::path::Path;

/// quantize -> conv2d (im2col, i8) in qnn.
const TINY: &str = r#"func.func @tiny(%x: tensor<1x3x4x4xf32>) -> tensor<1x8x4x4xi32> {
  %q = "qnn.quantize"(%x) {scale = 0x3C000000 : f32, layout = "NCHW"} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x3x3x3xi8>
  %c = "qnn.conv2d"(%q, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x4x4xi8>, tensor<8x3x3x3xi8>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}
"#;

/// TINY at the gpu stage, written by hand the way convert-tcconv-to-gpu lays it out (kernels
/// are empty: this checks the packaging, not the kernels; the conv takes a constant table). Two temporaries (%0, %u) have
/// disjoint lifetimes, so the memory plan lets them share bytes.
const TINY_GPU: &str = r#"module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @quantize_0(%a: memref<1x3x4x4xf32>, %b: memref<1x4x4x4xi8>, %s: f32, %n: index) kernel {
      gpu.return
    }
    gpu.func @conv2d_1(%a: memref<1x4x4x4xi8>, %w: memref<8x3x3x4xi8>, %o: memref<1x4x4x8xi32>, %t: memref<8xi32>) kernel {
      gpu.return
    }
    gpu.func @relayout_2(%a: memref<1x4x4x8xi32>, %o: memref<1x4x4x8xi32>, %n: i32) kernel {
      gpu.return
    }
  }
  memref.global "private" constant @conv2d_1_mul : memref<8xi32> = dense<[1, -2, 3, -4, 5, -6, 7, 2147483647]>
  func.func @tiny(%arg0: memref<1x3x4x4xf32> {tcconv.dims = array<i64: 1, 3, 4, 4>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x4x4x8xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c48 = arith.constant 48 : index
    %c128 = arith.constant 128 : index
    %c128_i32 = arith.constant 128 : i32
    %smem = arith.constant 8192 : i32
    %scale = arith.constant 128.0 : f32
    %0 = "tcconv.alloc"() {dims = array<i64: 1, 3, 4, 4>, elem = "i8", layout = "NHWC"} : () -> memref<1x4x4x4xi8>
    %t = "tcconv.alloc"() {dims = array<i64: 1, 8, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<1x4x4x8xi32>
    %u = "tcconv.alloc"() {dims = array<i64: 1, 8, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<1x4x4x8xi32>
    %1 = "tcconv.weight"() {dims = array<i64: 8, 3, 3, 3>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<8x3x3x4xi8>
    gpu.launch_func @kernels::@quantize_0 blocks in (%c1, %c1, %c1) threads in (%c48, %c1, %c1) args(%arg0 : memref<1x3x4x4xf32>, %0 : memref<1x4x4x4xi8>, %scale : f32, %c48 : index)
    %mul = memref.get_global @conv2d_1_mul : memref<8xi32>
    gpu.launch_func @kernels::@conv2d_1 blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %smem args(%0 : memref<1x4x4x4xi8>, %1 : memref<8x3x3x4xi8>, %t : memref<1x4x4x8xi32>, %mul : memref<8xi32>)
    gpu.launch_func @kernels::@relayout_2 blocks in (%c1, %c1, %c1) threads in (%c128, %c1, %c1) args(%t : memref<1x4x4x8xi32>, %u : memref<1x4x4x8xi32>, %c128_i32 : i32)
    gpu.launch_func @kernels::@relayout_2 blocks in (%c1, %c1, %c1) threads in (%c128, %c1, %c1) args(%u : memref<1x4x4x8xi32>, %arg1 : memref<1x4x4x8xi32>, %c128_i32 : i32)
    return
  }
}
"#;

fn tiny_weights(dir: &Path) -> std::path::PathBuf {
    let mut r = Rng(5);
    let mut w = Weights::default();
    w.insert(
        "w",
        r.tensor(&TensorType::new(vec![8, 3, 3, 3], ElemType::I8)),
    );
    let p = dir.join("weights.safetensors");
    w.save(&p).unwrap();
    p
}

#[test]
fn emits_a_loadable_artifact_from_a_gpu_stage_module() {
    let ctx = new_context();
    let qnn = parse_source(ctx, TINY, "tiny.mlir").unwrap();
    let g = reference_graph(&qnn).unwrap();
    let gpu = parse_source(ctx, TINY_GPU, "tiny_gpu.mlir").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let req = ArtifactRequest {
        dir: tmp.path().join("art"),
        weights: tiny_weights(tmp.path()),
    };
    let s = emit(ctx, &gpu, &g, &req, load_weights(&g, &req)).unwrap();
    assert_eq!((s.launches, s.kernels, s.buffers, s.weights), (4, 3, 5, 2));
    assert!(s.arena_bytes < s.unshared_bytes, "{s}");

    let a = Artifact::load(&req.dir).unwrap();
    if let Ok(keep) = std::env::var("NIBBLE_KEEP_ARTIFACT") {
        let _ = std::process::Command::new("cp")
            .arg("-r")
            .arg(&req.dir)
            .arg(keep)
            .status();
    }
    let p = &a.plan;
    assert_eq!(
        (p.network.as_str(), p.target.as_str(), p.ptx.as_str()),
        ("tiny", "sm_90", "kernels.ptx")
    );
    let names: Vec<&str> = p.launches.iter().map(|l| l.kernel.as_str()).collect();
    assert_eq!(
        names,
        ["quantize_0", "conv2d_1", "relayout_2", "relayout_2"]
    );
    assert_eq!(
        p.launches[0].args,
        [
            Arg::Buffer(0),
            Arg::Buffer(2),
            Arg::F32(128.0),
            Arg::I64(48)
        ]
    );
    assert_eq!(
        p.launches[1].args,
        [
            Arg::Buffer(2),
            Arg::Weight(0),
            Arg::Buffer(3),
            Arg::Weight(1)
        ]
    );
    // the constant table: a weight slot whose values the plan holds, uploaded as LE words
    let table = vec![1, -2, 3, -4, 5, -6, 7, i32::MAX];
    assert_eq!(
        (
            p.weights[1].name.as_str(),
            &p.weights[1].constant,
            p.weights[1].bytes
        ),
        ("conv2d_1_mul", &Some(table.clone()), 32)
    );
    let le: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(a.weights[1], le);
    // ... also when the packed weights are made at load time from the qnn weights
    let repacked = Artifact::load_with(&req.dir, Some(&req.weights)).unwrap();
    assert_eq!(repacked.weights, a.weights);
    assert_eq!(
        (
            p.launches[1].grid,
            p.launches[1].block,
            p.launches[1].shared_bytes
        ),
        ([2, 1, 1], [128, 1, 1], 8192)
    );
    assert_eq!(
        p.launches[3].args,
        [Arg::Buffer(4), Arg::Buffer(1), Arg::I32(128)]
    );
    // Buffers: the two arguments, then the three allocs; %0 (2) and %u (4) share bytes.
    assert_eq!(p.buffers[2].offset, p.buffers[4].offset);
    assert_ne!(p.buffers[3].offset, p.buffers[2].offset);
    assert!(p.buffers.iter().all(|b| b.offset % 256 == 0));
    assert_eq!(
        (
            p.buffers[1].layout.as_str(),
            p.buffers[1].elem.as_str(),
            p.buffers[1].dims
        ),
        ("NHWC", "i32", [1, 8, 4, 4])
    );
    assert_eq!(
        (
            p.inputs[0].shape.clone(),
            p.inputs[0].layout.as_str(),
            p.inputs[0].elem.as_str()
        ),
        (vec![1, 3, 4, 4], "NCHW", "f32")
    );
    assert_eq!(
        (p.outputs[0].buffer, p.outputs[0].layout.as_str()),
        (1, "NCHW")
    );
    assert!(a.ptx.contains(".entry conv2d_1"));

    // The packed weight is nibble_tcconv::pack's OHWI packing of the qnn weight.
    let qw = Weights::load(&req.weights).unwrap().bind(&g).unwrap();
    let pw = PackedWeight {
        name: "w.ohwi".into(),
        source: "w".into(),
        packing: Packing::ConvOhwi,
        elem: ElemType::I8,
        dims: [8, 3, 3, 3],
        source_layout: KernelLayout::OIHW,
        space_to_depth: None,
        widened: false,
        tiles: None,
    };
    let want = nibble_tcconv::pack::to_le_bytes(
        &nibble_tcconv::pack::pack_weight(&pw, qw.get("w").unwrap()).unwrap(),
    );
    assert_eq!(a.weights[0], want);
    assert_eq!(p.weights[0].bytes, 8 * 3 * 3 * 4);

    // The reference travels with the artifact and runs without MLIR.
    let (rg, rw) = a.reference().unwrap();
    assert_eq!(rg, g);
    let x = Rng(1).tensor(&rg.args[0]);
    let y = nibble_qnn::reference::run(&rg, &rw, &[x]).unwrap();
    assert_eq!(y[0].ty, TensorType::new(vec![1, 8, 4, 4], ElemType::I32));
    // Input/output conversion of the runtime on this plan round-trips.
    let out: Tensor = y[0].clone();
    let b = &p.buffers[p.outputs[0].buffer];
    let bytes = nibble_artifact::host::to_stored(&p.outputs[0], b, &out).unwrap();
    assert_eq!(
        nibble_artifact::host::from_stored(&p.outputs[0], b, &bytes).unwrap(),
        out
    );
}

fn opt_artifact(
    pipeline: &str,
    source: &str,
    dir: &Path,
    weights: &Path,
) -> (bool, String, String) {
    let out = run_opt(
        source,
        "tiny.mlir",
        &OptOptions {
            pass_pipeline: Some(pipeline.into()),
            artifact: Some(ArtifactRequest {
                dir: dir.into(),
                weights: weights.into(),
            }),
            ..Default::default()
        },
    );
    (out.success, out.output, out.stderr)
}

#[test]
fn a_pipeline_that_stops_early_or_a_non_qnn_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let w = tiny_weights(tmp.path());
    let dir = tmp.path().join("art");
    let (ok, _, err) = opt_artifact(
        "builtin.module(convert-qnn-to-tcconv{target=sm_90})",
        TINY,
        &dir,
        &w,
    );
    assert!(!ok);
    assert!(
        err.contains("needs a pipeline that ends at the gpu stage")
            && err.contains("'tcconv.quantize' is still in @tiny"),
        "{err}"
    );
    assert!(!dir.join("plan.json").exists());
    let (ok, _, err) = opt_artifact("builtin.module(canonicalize)", TINY_GPU, &dir, &w);
    assert!(!ok);
    assert!(err.contains("needs a qnn network as input"), "{err}");
    let (ok, _, err) = opt_artifact("builtin.module(qnn-to-ptx{target=sm_61})", TINY, &dir, &w);
    assert!(!ok);
    assert!(err.contains("unknown target 'sm_61'"), "{err}");
}

#[test]
fn a_constant_table_that_is_no_constant_i32_table_is_a_clear_error() {
    let ctx = new_context();
    let qnn = parse_source(ctx, TINY, "tiny.mlir").unwrap();
    let g = reference_graph(&qnn).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let req = ArtifactRequest {
        dir: tmp.path().join("art"),
        weights: tiny_weights(tmp.path()),
    };
    let global = r#"memref.global "private" constant @conv2d_1_mul : memref<8xi32> = dense<[1, -2, 3, -4, 5, -6, 7, 2147483647]>"#;
    for (bad, want) in [
        (
            // not constant: a kernel's state, which starts at zero
            r#"memref.global "private" @conv2d_1_mul : memref<8xi32> = dense<1>"#,
            "is neither constant nor zero-initialized state",
        ),
        (
            r#"memref.global "private" constant @conv2d_1_mul : memref<8xi32>"#,
            "has no initial value",
        ),
        (
            r#"memref.global "private" constant @conv2d_1_mul : memref<8xf32> = dense<1.0>"#,
            "is not an i32 table",
        ),
    ] {
        let mut text = TINY_GPU.replace(global, bad);
        if bad.contains("xf32>") {
            text = text.replace(
                "@conv2d_1_mul : memref<8xi32>",
                "@conv2d_1_mul : memref<8xf32>",
            );
            text = text.replace("%mul : memref<8xi32>", "%mul : memref<8xf32>");
            text = text.replace("%t: memref<8xi32>", "%t: memref<8xf32>");
        }
        assert_ne!(text, TINY_GPU);
        let gpu = parse_source(ctx, &text, "tiny_gpu.mlir").unwrap();
        let e = emit(ctx, &gpu, &g, &req, load_weights(&g, &req)).unwrap_err();
        assert!(e.contains(want) && e.contains("tiny_gpu.mlir:"), "{e}");
        assert!(!req.dir.exists());
    }
    // a table that names no global is refused by MLIR's verifier when the module is read
    let text = TINY_GPU.replace("get_global @conv2d_1_mul", "get_global @other");
    assert!(parse_source(ctx, &text, "tiny_gpu.mlir").is_none());
}

#[test]
fn missing_weights_are_a_clear_error() {
    let ctx = new_context();
    let g = reference_graph(&parse_source(ctx, TINY, "tiny.mlir").unwrap()).unwrap();
    let gpu = parse_source(ctx, TINY_GPU, "tiny_gpu.mlir").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let req = ArtifactRequest {
        dir: tmp.path().join("art"),
        weights: tmp.path().join("none.safetensors"),
    };
    let e = emit(ctx, &gpu, &g, &req, load_weights(&g, &req)).unwrap_err();
    assert!(e.contains("none.safetensors"), "{e}");
    let mut w = Weights::default();
    w.insert(
        "other",
        Rng(0).tensor(&TensorType::new(vec![2], ElemType::I8)),
    );
    w.save(&req.weights).unwrap();
    let e = emit(ctx, &gpu, &g, &req, load_weights(&g, &req)).unwrap_err();
    assert!(e.contains("weight 'w' is missing"), "{e}");
}

/// The whole path through nibble-opt's driver: qnn -> tcconv -> gpu -> artifact, and the
/// artifact's plan/reference agree with the network.
#[test]
fn qnn_to_ptx_then_emit_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let w = tiny_weights(tmp.path());
    let dir = tmp.path().join("art");
    let (ok, summary, err) =
        opt_artifact("builtin.module(qnn-to-ptx{target=sm_90})", TINY, &dir, &w);
    assert!(ok, "{err}");
    assert!(summary.contains("wrote artifact"), "{summary}");
    let a = Artifact::load(&dir).unwrap();
    assert!(!a.plan.launches.is_empty());
    assert_eq!(a.plan.inputs.len(), 1);
    let (rg, rw) = a.reference().unwrap();
    assert_eq!(rg.name, "tiny");
    assert_eq!(a.plan.inputs[0].shape, vec![1, 3, 4, 4]);
    assert_eq!(a.plan.outputs[0].shape, vec![1, 8, 4, 4]);
    assert!(a
        .plan
        .launches
        .iter()
        .all(|l| a.ptx.contains(&format!(".entry {}(", l.kernel))));
    let x = Rng(2).tensor(&rg.args[0]);
    assert_eq!(
        nibble_qnn::reference::run(&rg, &rw, &[x]).unwrap()[0]
            .ty
            .shape,
        vec![1, 8, 4, 4]
    );
}

/// relu -> clamp on i8 with real (hand-written) kernels: an artifact whose GPU run must match
/// the CPU reference bit for bit. `NIBBLE_KEEP_ARTIFACT=DIR` keeps a copy (to carry to a GPU).
#[test]
fn relu_clamp_artifact_with_real_kernels() {
    let ctx = new_context();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/inputs");
    let src = std::fs::read_to_string(dir.join("relu2.mlir")).unwrap();
    let g = reference_graph(&parse_source(ctx, &src, "relu2.mlir").unwrap()).unwrap();
    let gpu_src = std::fs::read_to_string(dir.join("relu2_gpu.mlir")).unwrap();
    let gpu = parse_source(ctx, &gpu_src, "relu2_gpu.mlir").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // No qnn.weight: no weights file needed.
    let req = ArtifactRequest {
        dir: tmp.path().join("relu2"),
        weights: tmp.path().join("absent.safetensors"),
    };
    emit(ctx, &gpu, &g, &req, load_weights(&g, &req)).unwrap();
    let a = Artifact::load(&req.dir).unwrap();
    assert_eq!(a.plan.launches.len(), 2);
    assert_eq!(
        a.plan.launches[1].args,
        [Arg::Buffer(2), Arg::Buffer(1), Arg::I32(0), Arg::I32(100)]
    );
    assert!(
        a.ptx.contains("max.s16") || a.ptx.contains("max.s32"),
        "{}",
        a.ptx
    );
    if let Ok(keep) = std::env::var("NIBBLE_KEEP_ARTIFACT") {
        let _ = std::process::Command::new("cp")
            .arg("-r")
            .arg(&req.dir)
            .arg(keep)
            .status();
    }
}
