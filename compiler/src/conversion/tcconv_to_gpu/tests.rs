//! The pass on small qnn networks, down to PTX for every target; `ptxas`
//! (`scripts/find-ptxas.sh`; required unless NIBBLE_NO_PTXAS is set) must accept the PTX with
//! warnings as errors.

use super::*;
use crate::context::{new_context, parse_source};
use crate::diagnostics::DiagnosticLog;
use melior::ir::operation::WalkOrder;

/// A small network touching every kernel family: quantize, 8-bit stem conv with bias
/// (im2col), per-channel requantize to u4, max pool, 4-bit conv, residual add, relu,
/// requantize (u4 -> i32 identity), global average pool, flatten, dense with bias, dequantize.
pub fn mini_net(batch: i64, c: i64) -> String {
    let m = (0..c)
        .map(|i| (1 << 30) + i * 1000)
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let s = (0..c)
        .map(|i| 34 + i % 3)
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"func.func @mini(%x: tensor<{batch}x3x16x16xf32>) -> tensor<{batch}x10xf32> {{
  %q = "qnn.quantize"(%x) {{scale = 0x3C000000 : f32, layout = "NCHW"}} : (tensor<{batch}x3x16x16xf32>) -> tensor<{batch}x3x16x16xi8>
  %w0 = "qnn.weight"() {{name = "stem.w"}} : () -> tensor<{c}x3x3x3xi8>
  %b0 = "qnn.weight"() {{name = "stem.b"}} : () -> tensor<{c}xi32>
  %c0 = "qnn.conv2d"(%q, %w0, %b0) {{strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"}} : (tensor<{batch}x3x16x16xi8>, tensor<{c}x3x3x3xi8>, tensor<{c}xi32>) -> tensor<{batch}x{c}x16x16xi32>
  %r0 = "qnn.requantize"(%c0) {{multiplier = array<i32: {m}>, shift = array<i32: {s}>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"}} : (tensor<{batch}x{c}x16x16xi32>) -> tensor<{batch}x{c}x16x16xui4>
  %p0 = "qnn.max_pool2d"(%r0) {{kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"}} : (tensor<{batch}x{c}x16x16xui4>) -> tensor<{batch}x{c}x8x8xui4>
  %w1 = "qnn.weight"() {{name = "c1.w"}} : () -> tensor<{c}x{c}x3x3xi4>
  %c1 = "qnn.conv2d"(%p0, %w1) {{strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"}} : (tensor<{batch}x{c}x8x8xui4>, tensor<{c}x{c}x3x3xi4>) -> tensor<{batch}x{c}x8x8xi32>
  %id = "qnn.requantize"(%p0) {{multiplier = array<i32: 1073741824>, shift = array<i32: 26>, clamp = array<i64: -2147483648, 2147483647>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"}} : (tensor<{batch}x{c}x8x8xui4>) -> tensor<{batch}x{c}x8x8xi32>
  %s = "qnn.add"(%c1, %id) {{lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 33>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "NCHW"}} : (tensor<{batch}x{c}x8x8xi32>, tensor<{batch}x{c}x8x8xi32>) -> tensor<{batch}x{c}x8x8xi32>
  %a = "qnn.relu"(%s) {{layout = "NCHW"}} : (tensor<{batch}x{c}x8x8xi32>) -> tensor<{batch}x{c}x8x8xi32>
  %u = "qnn.requantize"(%a) {{multiplier = array<i32: 1518500250>, shift = array<i32: 31>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"}} : (tensor<{batch}x{c}x8x8xi32>) -> tensor<{batch}x{c}x8x8xui4>
  %g = "qnn.avg_pool2d"(%u) {{kernel = array<i64: 8, 8>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"}} : (tensor<{batch}x{c}x8x8xui4>) -> tensor<{batch}x{c}x1x1xui4>
  %f = "qnn.flatten"(%g) {{layout = "NCHW"}} : (tensor<{batch}x{c}x1x1xui4>) -> tensor<{batch}x{c}xui4>
  %wf = "qnn.weight"() {{name = "fc.w"}} : () -> tensor<10x{c}xi4>
  %bf = "qnn.weight"() {{name = "fc.b"}} : () -> tensor<10xi32>
  %d = "qnn.dense"(%f, %wf, %bf) : (tensor<{batch}x{c}xui4>, tensor<10x{c}xi4>, tensor<10xi32>) -> tensor<{batch}x10xi32>
  %y = "qnn.dequantize"(%d) {{scale = array<f32: 1.250000e-01>, layout = "NC"}} : (tensor<{batch}x10xi32>) -> tensor<{batch}x10xf32>
  return %y : tensor<{batch}x10xf32>
}}
"#
    )
}

/// Run `qnn-verify, convert-qnn-to-tcconv, convert-tcconv-to-gpu` for `target`; the module.
fn to_gpu<'c>(context: &'c Context, src: &str, target: &str) -> Module<'c> {
    let log = DiagnosticLog::attach(context);
    let mut m = parse_source(context, src, "mini.mlir").expect("parse");
    // sm_90a: the wgmma family wherever it applies (auto keeps the mini net's small grids on
    // the staged kernel, which sm_90 already covers)
    let kernel = if target == "sm_90a" {
        " kernel=wgmma"
    } else {
        ""
    };
    let p = format!(
        "builtin.module(qnn-verify,convert-qnn-to-tcconv{{target={target}{kernel}}},convert-tcconv-to-gpu{{target={target}}})"
    );
    let els = crate::pipeline::parse(&p).unwrap();
    let ok = crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {});
    assert!(ok.is_ok(), "pipeline failed: {:?}", log.take());
    assert!(m.as_operation().verify());
    m
}

fn count(m: &Module, name: &str) -> usize {
    let mut n = 0;
    m.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op.name().as_string_ref().as_str() == Ok(name) {
            n += 1;
        }
        melior::ir::operation::WalkResult::Advance
    });
    n
}

fn ptxas_check(ptx: &str, target: &str, tag: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // ptxas is part of the test setup (scripts/setup.sh installs it from PyPI); a machine
    // without it skips only when told to, and says so
    if std::env::var_os("NIBBLE_NO_PTXAS").is_some() {
        eprintln!("NIBBLE_NO_PTXAS is set: PTX for {target} ({tag}) not assembled");
        return;
    }
    let out = std::process::Command::new(root.join("scripts/find-ptxas.sh"))
        .output()
        .expect("scripts/find-ptxas.sh runs");
    let ptxas = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !ptxas.is_empty(),
        "ptxas not found: run scripts/setup.sh (pip nvidia-cuda-nvcc), or set NIBBLE_NO_PTXAS=1 to skip assembling"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(format!("{tag}.ptx"));
    std::fs::write(&f, ptx).unwrap();
    let o = std::process::Command::new(&ptxas)
        .args([&format!("-arch={target}"), "--warning-as-error", "-v"])
        .arg(&f)
        .arg("-o")
        .arg(dir.path().join(format!("{tag}.cubin")))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ptxas -arch={target} rejected {tag}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let info = String::from_utf8_lossy(&o.stderr);
    assert!(
        !info.contains("spill stores") || info.contains("0 bytes spill stores"),
        "{info}"
    );
}

#[test]
fn mini_net_lowers_to_kernels_and_ptx_for_every_target() {
    for t in Target::ALL {
        for batch in [1, 16] {
            let context = new_context();
            let c = if batch == 16 { 64 } else { 8 };
            let m = to_gpu(context, &mini_net(batch, c), t.name());
            let launches = count(&m, "gpu.launch_func");
            // launches of equal kernels share one
            let kernels = count(&m, "gpu.func");
            assert!(
                kernels >= 1 && kernels <= launches,
                "{kernels} kernels, {launches} launches"
            );
            // every op but the weights, the flatten of the pooled N x C x 1 x 1 value (the same
            // bytes) and the dequantize (fused into the dense), plus layout changes
            assert!(launches >= 11, "{launches} launches");
            assert_eq!(
                count(&m, "tcconv.conv2d") + count(&m, "tcconv.elementwise"),
                0
            );
            assert!(
                count(&m, "tcconv.alloc") > 0 && count(&m, "tcconv.weight") > 0,
                "buffers stay on the host"
            );
            let ptx = gpu_to_ptx(context, &m, t.name()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert!(ptx.contains(&format!(".target {}", t.name())), "{t}");
            assert_eq!(ptx.matches(".entry").count(), kernels);
            // the 64-channel 4-bit conv takes the tensor-core kernel: INT4 natively before
            // sm_90, widened to 8 bit on sm_90, and on sm_90a the warpgroup MMA
            if batch == 16 {
                let want = match t {
                    Target::Sm75 => "mma.sync.aligned.m8n8k32.row.col.s32.u4.s4.s32",
                    Target::Sm90 => "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32",
                    Target::Sm90a => "wgmma.mma_async.sync.aligned.m64n64k32.s32.u8.s8",
                    _ => "mma.sync.aligned.m16n8k64.row.col.s32.u4.s4.s32",
                };
                assert!(ptx.contains(want), "{t}: no {want}");
                // the wgmma kernel's dynamic shared memory is the launch's, not a demoted
                // one-byte variable
                if t == Target::Sm90a {
                    assert!(
                        ptx.contains(".extern .shared .align 16 .b8 __dynamic_shmem__0[];")
                            && !ptx.contains(".b8 __dynamic_shmem__0;"),
                        "{t}: dynamic shared memory is not extern"
                    );
                }
            }
            // programmatic dependent launch: on Hopper every kernel waits for its predecessor
            // before it touches memory other kernels write (the staged convs copy their first
            // weight chunks before it); elsewhere none carries the instruction
            let qnn = parse_source(context, &mini_net(batch, c), "mini.mlir").expect("parse");
            let g = crate::artifact::reference_graph(&qnn).unwrap();
            let plan = crate::artifact::extract(&m, &g).unwrap().plan;
            let read_only = |k: &str, i: usize| plan.read_only_param(k, i);
            assert_eq!(
                nibble_artifact::artifact::ptx_waits_for_predecessors(&ptx, &read_only),
                t.programmatic_launch(),
                "{t}"
            );
            // (the 64-channel convs at batch 16 take the staged kernel)
            if t == Target::Sm90 && batch == 16 {
                let early = ptx.split(".entry ").skip(1).any(|k| {
                    let wait = k.find("griddepcontrol.wait").unwrap_or(0);
                    k[..wait].contains("cp.async.cg.shared.global")
                });
                assert!(early, "{t}: no weight copy before the wait");
            }
            assert_eq!(
                ptx.contains("griddepcontrol"),
                t.programmatic_launch(),
                "{t}"
            );
            // every kernel lets its successor be scheduled once: right after its wait, or (a
            // tensor-core conv before a conv of a long main loop: `pdl-trigger=auto`) after
            // its last MMA
            if t.programmatic_launch() {
                for k in ptx.split(".entry ").skip(1) {
                    let trigger = k.find("griddepcontrol.launch_dependents");
                    assert!(
                        trigger.is_some()
                            && k.matches("griddepcontrol.launch_dependents").count() == 1,
                        "{t}: a kernel never triggers its successor, or more than once"
                    );
                    let wait = k.find("griddepcontrol.wait;").unwrap();
                    let at_start = k[wait..trigger.unwrap()].lines().count() <= 2;
                    if let Some(last_mma) = k.rfind("mma.sync").max(k.rfind("wgmma.mma_async")) {
                        assert!(
                            at_start || trigger > Some(last_mma),
                            "{t}: trigger inside the main loop"
                        );
                    }
                }
            }
            ptxas_check(&ptx, t.name(), &format!("mini_b{batch}"));
        }
    }
}

#[test]
fn unknown_targets_are_rejected_before_llvm() {
    let context = new_context();
    let m = to_gpu(context, &mini_net(1, 8), "sm_80");
    for bad in ["sm_61", "sm_100", "gfx90a", ""] {
        let e = gpu_to_ptx(context, &m, bad).unwrap_err();
        assert!(e.contains("unknown target"), "{e}");
    }
}

#[test]
fn target_must_match_the_lowered_functions() {
    let context = new_context();
    let log = DiagnosticLog::attach(context);
    let mut m = parse_source(context, &mini_net(1, 8), "mini.mlir").unwrap();
    let els = crate::pipeline::parse(
        "builtin.module(convert-qnn-to-tcconv{target=sm_80},convert-tcconv-to-gpu{target=sm_90})",
    )
    .unwrap();
    assert!(crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {}).is_err());
    let d = log.take();
    assert!(
        d.iter().any(|d| d
            .message
            .contains("lowered for sm_80 but the target is sm_90")),
        "{d:?}"
    );
}

/// Kernels compiled one module each and joined give one PTX module; a warm cache gives the same
/// text without compiling, and a changed kernel misses.
#[test]
fn kernel_cache_gives_the_same_ptx_and_misses_on_change() {
    let context = new_context();
    let m = to_gpu(context, &mini_net(16, 64), "sm_90");
    let dir = tempfile::tempdir().unwrap();
    let cold = gpu_to_ptx_cached(context, &m, "sm_90", Some(dir.path())).unwrap();
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, count(&m, "gpu.func"), "one cache entry per kernel");
    assert_eq!(cold.matches(".version").count(), 1, "one header");
    assert_eq!(cold, gpu_to_ptx_cached(context, &m, "sm_90", None).unwrap());
    // a cached entry is what is read: poison one and see it come back
    let first = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&first).unwrap();
    let (_, body) = text.split_at(text.find('\n').unwrap() + 1);
    let poisoned = body.replace("ret;", "ret; // from the cache");
    // edited behind the cache's back (its hash line unchanged): a miss, compiled again
    std::fs::write(&first, text.replace("ret;", "ret; // from the cache")).unwrap();
    let warm = gpu_to_ptx_cached(context, &m, "sm_90", Some(dir.path())).unwrap();
    assert_eq!(warm, cold);
    // an entry whose hash line matches is what is read
    let name = first.file_name().unwrap().to_str().unwrap();
    let content = &name["kernel-".len()..name.len() - ".ptx".len()];
    let header = super::kernel_cache::ptx_header(content, &poisoned);
    std::fs::write(&first, header + &poisoned).unwrap();
    let warm = gpu_to_ptx_cached(context, &m, "sm_90", Some(dir.path())).unwrap();
    assert!(warm.contains("// from the cache"));
    // another target is another key
    let m80 = to_gpu(context, &mini_net(16, 64), "sm_80");
    gpu_to_ptx_cached(context, &m80, "sm_80", Some(dir.path())).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2 * files);
}

/// The cache key's printer, which skips the verifier, prints a verified module as the default
/// printer does.
#[test]
fn printing_a_verified_module_without_verifying_gives_the_same_text() {
    let context = new_context();
    let m = to_gpu(context, &mini_net(16, 64), "sm_90");
    assert!(m.as_operation().verify());
    assert_eq!(
        super::print_verified(&m.as_operation()),
        m.as_operation().to_string()
    );
}

#[test]
fn joined_ptx_keeps_one_header_and_refuses_clashing_symbols() {
    let a = ".version 8.0\n.target sm_90\n.address_size 64\n\n.global .align 4 .b8 k0_t[8];\n.visible .entry k0(\n)\n{ ret; }\n";
    let b = ".version 8.0\n.target sm_90\n.address_size 64\n\n.visible .entry k1(\n)\n{ ret; }\n";
    let j = join_ptx(&[a.into(), b.into()]).unwrap();
    assert_eq!(j.matches(".version").count(), 1);
    assert!(j.contains(".entry k0(") && j.contains(".entry k1("));
    let e = join_ptx(&[a.into(), a.into()]).unwrap_err();
    assert!(e.contains("'k0_t'"), "{e}");
}

/// Count the gpu.funcs of `m` carrying the string attribute `attr`.
fn with_attr(m: &Module, attr: &str) -> usize {
    let mut n = 0;
    m.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op.name().as_string_ref().as_str() == Ok("gpu.func") && op.has_attribute(attr) {
            n += 1;
        }
        melior::ir::operation::WalkResult::Advance
    });
    n
}

/// `src` through qnn-verify and convert-qnn-to-tcconv, then convert-tcconv-to-gpu with the
/// kernel cache in `dir`.
fn to_gpu_cached<'c>(
    context: &'c Context,
    src: &str,
    target: &str,
    dir: &std::path::Path,
) -> Module<'c> {
    let log = DiagnosticLog::attach(context);
    let mut m = parse_source(context, src, "mini.mlir").expect("parse");
    let els = crate::pipeline::parse(&format!(
        "builtin.module(qnn-verify,convert-qnn-to-tcconv{{target={target}}})"
    ))
    .unwrap();
    assert!(crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {}).is_ok());
    let opts = GpuOptions {
        target: Target::parse(target).unwrap(),
        kernel_cache: true,
    };
    assert!(
        convert(context, &mut m, &opts, Some(dir)).is_ok(),
        "{:?}",
        log.take()
    );
    assert!(m.as_operation().verify());
    m
}

/// With the kernel cache on, a network's kernels are built and stored once; compiled again (under
/// another function name too) every kernel is a stub from the cache, and the PTX is the same
/// text as without any cache.
#[test]
fn kernel_cache_by_signature_stubs_compiled_kernels_and_keeps_the_ptx() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["sm_80", "sm_90"] {
        let context = new_context();
        let src = mini_net(16, 64);
        let plain = to_gpu(context, &src, target);
        let want = gpu_to_ptx_cached(context, &plain, target, None).unwrap();
        let kernels = count(&plain, "gpu.func");

        let cold = to_gpu_cached(context, &src, target, dir.path());
        assert_eq!(with_attr(&cold, kernel_cache::CACHED_ATTR), 0);
        assert_eq!(with_attr(&cold, kernel_cache::CONTENT_ATTR), kernels);
        assert_eq!(
            gpu_to_ptx_cached(context, &cold, target, Some(dir.path())).unwrap(),
            want
        );

        let warm = to_gpu_cached(context, &src, target, dir.path());
        assert_eq!(with_attr(&warm, kernel_cache::CACHED_ATTR), kernels);
        assert_eq!(
            count(&warm, "gpu.launch_func"),
            count(&plain, "gpu.launch_func")
        );
        assert_eq!(
            gpu_to_ptx_cached(context, &warm, target, Some(dir.path())).unwrap(),
            want
        );

        // the same kernels under other names
        let renamed = src.replace("@mini(", "@other_net(");
        let plain2 = to_gpu(context, &renamed, target);
        let want2 = gpu_to_ptx_cached(context, &plain2, target, None).unwrap();
        assert_ne!(want, want2);
        let warm2 = to_gpu_cached(context, &renamed, target, dir.path());
        assert_eq!(with_attr(&warm2, kernel_cache::CACHED_ATTR), kernels);
        assert_eq!(
            gpu_to_ptx_cached(context, &warm2, target, Some(dir.path())).unwrap(),
            want2
        );

        // a stub whose PTX went missing is an error, not a crash or a stale kernel
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ptx") {
                std::fs::remove_file(p).unwrap();
            }
        }
        let err = gpu_to_ptx_cached(context, &warm2, target, Some(dir.path())).unwrap_err();
        assert!(err.contains("went missing"), "{err}");
        // and the signature entries alone are misses: everything is built again
        let again = to_gpu_cached(context, &src, target, dir.path());
        assert_eq!(with_attr(&again, kernel_cache::CACHED_ATTR), 0);
        assert_eq!(
            gpu_to_ptx_cached(context, &again, target, Some(dir.path())).unwrap(),
            want
        );
    }
}

/// `src` lowered for sm_90a with every conv the wgmma kernel takes on the forced `tile`.
fn to_gpu_wgmma_tile<'c>(context: &'c Context, src: &str, tile: &str) -> Module<'c> {
    let log = DiagnosticLog::attach(context);
    let mut m = parse_source(context, src, "mini.mlir").expect("parse");
    let p = format!(
        "builtin.module(qnn-verify,convert-qnn-to-tcconv{{target=sm_90a kernel=wgmma tile={tile}}},convert-tcconv-to-gpu{{target=sm_90a}})"
    );
    let els = crate::pipeline::parse(&p).unwrap();
    let ok = crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {});
    assert!(ok.is_ok(), "pipeline failed: {:?}", log.take());
    m
}

/// The wgmma kernel realizes the tile its op records: a forced N = 256 tile (128
/// accumulators a thread, one block an SM) and a 256-byte K stage build, assemble without
/// spills and launch with the shared memory they need; a tile wgmma cannot take leaves the
/// conv on the staged kernel.
#[test]
fn wgmma_kernel_takes_forced_tiles() {
    let context = new_context();
    for (tile, n, blocks) in [
        ("128x256x128", 256, 1),
        ("64x128x256", 128, 1),
        // 128 registers a thread would allow two blocks (`WgmmaPlan::registers`), but the
        // grid of 8 tiles gives an SM at most one
        ("128x64x128", 64, 1),
    ] {
        let m = to_gpu_wgmma_tile(context, &mini_net(16, 64), tile);
        let text = m.as_operation().to_string();
        assert!(
            text.contains(&format!("n = {n}, k = 32")),
            "{tile}: no m64n{n}k32"
        );
        assert!(
            text.contains(&format!("nvvm.minctasm = {blocks} : i32")),
            "{tile}"
        );
        let ptx = gpu_to_ptx(context, &m, "sm_90a").unwrap();
        ptxas_check(&ptx, "sm_90a", &format!("wgmma-{tile}"));
    }
    // BM = 32 is no warpgroup multiple: the staged kernel runs the 4-bit conv
    let m = to_gpu_wgmma_tile(context, &mini_net(16, 64), "32x32x128");
    assert!(!m
        .as_operation()
        .to_string()
        .contains("nvvm.wgmma.mma_async"));
}

/// nibble's LLVM backend: the default (`default<O2>`) and the short pipeline with codegen O0
/// both give PTX that ptxas takes; a pipeline LLVM cannot parse and a bad codegen level are
/// errors, not aborts.
#[test]
fn llvm_backend_runs_its_pipeline_and_reports_bad_ones() {
    use super::llvm_backend::{Backend, CODEGEN_LEVEL, PASSES, SHORT_PASSES};
    let context = new_context();
    let m = to_gpu(context, &mini_net(8, 64), "sm_90");
    let default = Backend::parse(None, Some(" ")).unwrap();
    assert_eq!(
        (default.passes.as_str(), default.codegen_level),
        (PASSES, CODEGEN_LEVEL)
    );
    let quick = Backend::parse(Some(SHORT_PASSES), Some("O0")).unwrap();
    assert_eq!(quick.codegen_level, 0);
    for (tag, b) in [("default", &default), ("quick", &quick)] {
        let ptx = gpu_to_ptx_with(context, &m, "sm_90", None, b).unwrap();
        assert_eq!(ptx.matches(".entry").count(), count(&m, "gpu.func"));
        ptxas_check(&ptx, "sm_90", tag);
    }
    let bogus = Backend::parse(Some("function(no-such-pass)"), None).unwrap();
    let e = gpu_to_ptx_with(context, &m, "sm_90", None, &bogus).unwrap_err();
    assert!(e.contains("LLVM pipeline 'function(no-such-pass)'"), "{e}");
    let e = Backend::parse(None, Some("O4")).unwrap_err();
    assert!(e.contains("expected O0, O1, O2 or O3"), "{e}");
}

/// Whatever tile convert-qnn-to-tcconv records for a wgmma conv, convert-tcconv-to-gpu realizes
/// it: odd batches, channel counts that are no wgmma N, K shorter than a stage (32 4-bit
/// channels, 1x1), 3x3 and 5x5 windows, stride 2; the same for the warp-specialized form,
/// whose PTX ptxas assembles without spills.
#[test]
fn recorded_wgmma_tiles_realize_for_odd_shapes() {
    use nibble_models::conv::{conv_network, ConvConfig};
    let context = new_context();
    for (batch, c, size, o, k, stride, bits) in [
        (33, 32, 8, 40, 1, 1, 4),
        (3, 32, 9, 8, 3, 2, 4),
        (5, 64, 7, 136, 5, 1, 8),
        (1, 96, 11, 200, 3, 1, 4),
        (16, 160, 6, 24, 1, 2, 8),
    ] {
        let cfg = ConvConfig {
            batch,
            in_channels: c,
            size,
            out_channels: o,
            kernel: k,
            stride,
            padding: k / 2,
            bits,
            seed: 1,
            groups: 1,
            shortcut: None,
            then: None,
            pool: None,
        };
        let (g, _) = conv_network(&cfg).unwrap();
        for kernel in ["wgmma", "wgmma_ws"] {
            let log = DiagnosticLog::attach(context);
            let mut m = parse_source(context, &g.to_mlir(), "conv.mlir").expect("parse");
            let els = crate::pipeline::parse(&format!(
                "builtin.module(qnn-verify,convert-qnn-to-tcconv{{target=sm_90a kernel={kernel}}},tcconv-verify,convert-tcconv-to-gpu{{target=sm_90a}})",
            ))
            .unwrap();
            let ok = crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {});
            assert!(ok.is_ok(), "{cfg:?} {kernel}: {:?}", log.take());
            let text = m.as_operation().to_string();
            assert!(
                text.contains("nvvm.wgmma.mma_async"),
                "{cfg:?}: not on the wgmma kernel"
            );
            if kernel == "wgmma_ws" {
                assert!(text.contains("nvvm.mbarrier.init"), "{cfg:?}: no ring");
                let ptx = gpu_to_ptx(context, &m, "sm_90a").unwrap();
                ptxas_check(&ptx, "sm_90a", &format!("ws-b{batch}-c{c}-o{o}-k{k}"));
            }
        }
    }
}

/// A dense layer on its own: `batch` x `k` inputs of type `x` (i8, ui8, ui4, ...), `o` x `k`
/// weights of type `w` with a bias, the i32 result dequantized to f32 (fused into the dense).
fn dense_net(batch: i64, k: i64, o: i64, x: &str, w: &str) -> String {
    format!(
        r#"func.func @fc(%x: tensor<{batch}x{k}x{x}>) -> tensor<{batch}x{o}xf32> {{
  %w = "qnn.weight"() {{name = "fc.w"}} : () -> tensor<{o}x{k}x{w}>
  %b = "qnn.weight"() {{name = "fc.b"}} : () -> tensor<{o}xi32>
  %d = "qnn.dense"(%x, %w, %b) : (tensor<{batch}x{k}x{x}>, tensor<{o}x{k}x{w}>, tensor<{o}xi32>) -> tensor<{batch}x{o}xi32>
  %y = "qnn.dequantize"(%d) {{scale = array<f32: 1.250000e-01>, layout = "NC"}} : (tensor<{batch}x{o}xi32>) -> tensor<{batch}x{o}xf32>
  return %y : tensor<{batch}x{o}xf32>
}}
"#
    )
}

/// The grid (blocks) of the launch of the kernel whose name ends in `suffix`, read from the
/// printed host function (`blocks in (%cN, ...)`).
fn grid_of(m: &Module, suffix: &str) -> i64 {
    let text = m.as_operation().to_string();
    let at = text
        .find(&format!("{suffix} blocks in (%c"))
        .unwrap_or_else(|| panic!("no launch of a kernel ending in {suffix}"));
    let rest = &text[at + suffix.len() + " blocks in (%c".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().expect("a constant grid")
}

/// 8-bit dense operands are multiplied 4 bytes at a time (`dp4a`, signed or unsigned as the
/// operands are) and a warp takes up to 8 batch rows: the launch covers ceil(N / 8) row tiles of
/// one warp a channel, not N rows (19 rows: 3 tiles, the last one masked), and of one warp per 4
/// channels once that still makes 1024 warps (256 rows of 200 channels: 32 x 50).
#[test]
fn dense_on_bytes_uses_dp4a_on_row_tiles() {
    let k = 96;
    for (batch, o, groups, x, want) in [
        (1, 64, 64, "i8", "dp4a.s32.s32"),
        (3, 64, 64, "ui8", "dp4a.u32.s32"),
        (19, 64, 64, "i8", "dp4a.s32.s32"),
        (256, 64, 64, "i8", "dp4a.s32.s32"),
        (256, 200, 50, "i8", "dp4a.s32.s32"),
    ] {
        for t in [Target::Sm75, Target::Sm90a] {
            let context = new_context();
            let m = to_gpu(context, &dense_net(batch, k, o, x, "i8"), t.name());
            assert!(count(&m, "nvvm.dot.accumulate.4way") > 0, "{t} b{batch}");
            let tiles = (batch + 7) / 8;
            let threads = 32 * groups * tiles;
            assert_eq!(
                grid_of(&m, "_dense"),
                (threads + 255) / 256,
                "{t} b{batch}: {tiles} row tiles of {groups} warps"
            );
            let ptx = gpu_to_ptx(context, &m, t.name()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert!(ptx.contains(want), "{t} b{batch}: no {want}");
            ptxas_check(&ptx, t.name(), &format!("dense_b{batch}_o{o}"));
        }
    }
}

/// A `tcconv.dense` of `batch` x 64 packed u4 inputs and 24 x 64 s4 weights requantized to packed
/// u4 outputs (an epilogue the qnn lowering leaves to its own kernel): groups of 8 channels.
fn dense_u4_out(batch: i64) -> String {
    format!(
        r#"func.func @fcq(%x: memref<{batch}x8xi32> {{tcconv.dims = array<i64: {batch}, 64, 1, 1>, tcconv.elem = "ui4", tcconv.layout = "NC"}}, %y: memref<{batch}x3xi32> {{tcconv.dims = array<i64: {batch}, 24, 1, 1>, tcconv.elem = "ui4", tcconv.layout = "NC"}}) attributes {{tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"}} {{
  %w = "tcconv.weight"() {{dims = array<i64: 24, 64, 1, 1>, elem = "i4", name = "fc.w.ok", packing = "ok", source = "fc.w", source_layout = "OIHW"}} : () -> memref<24x8xi32>
  "tcconv.dense"(%x, %w, %y) {{a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64}} : (memref<{batch}x8xi32>, memref<24x8xi32>, memref<{batch}x3xi32>) -> ()
  return
}}
"#
    )
}

/// 4-bit dense operands keep the per-element products on row tiles: an odd batch (3 rows in one
/// tile) builds and assembles for every target, as do denses requantized to packed 4-bit
/// outputs (groups of 8 channels: 3 x 8 and, 11 rows in 2 tiles, 8 x 8 accumulators a lane)
/// without spills.
#[test]
fn dense_on_nibbles_builds_for_an_odd_batch() {
    for t in [Target::Sm75, Target::Sm80, Target::Sm90] {
        let context = new_context();
        let m = to_gpu(context, &dense_net(3, 40, 10, "ui4", "i4"), t.name());
        assert_eq!(count(&m, "nvvm.dot.accumulate.4way"), 0, "{t}");
        assert!(count(&m, "gpu.shuffle") > 0, "{t}");
        let ptx = gpu_to_ptx(context, &m, t.name()).unwrap_or_else(|e| panic!("{t}: {e}"));
        ptxas_check(&ptx, t.name(), "dense4_b3");
        for batch in [3, 11] {
            let log = DiagnosticLog::attach(context);
            let src = dense_u4_out(batch).replace("sm_80", t.name());
            let mut m = parse_source(context, &src, "fcq.mlir").expect("parse");
            let p = format!(
                "builtin.module(tcconv-verify,convert-tcconv-to-gpu{{target={}}})",
                t.name()
            );
            let els = crate::pipeline::parse(&p).unwrap();
            let ok = crate::pipeline::run(context, &mut m, &els, &log, &mut |_, _| {});
            assert!(ok.is_ok(), "{t} b{batch}: {:?}", log.take());
            // 3 groups a row, ceil(batch / 8) tiles of up to 8 rows
            let tiles = (batch + 7) / 8;
            assert_eq!(grid_of(&m, "_dense"), (32 * 3 * tiles + 255) / 256);
            let ptx = gpu_to_ptx(context, &m, t.name()).unwrap_or_else(|e| panic!("{t}: {e}"));
            ptxas_check(&ptx, t.name(), &format!("dense4q_b{batch}"));
        }
    }
}

/// The residual sum's bias limit is baked into a kernel and follows from the values of the
/// epilogue's scales, which the signature otherwise reduces to their tables' shape: two residual
/// convs share a kernel only where their limits agree.
#[test]
fn residual_convs_share_a_kernel_only_with_an_equal_bias_limit() {
    use nibble_qnn::graph::{ChannelScales, EpilogueKind};
    use nibble_tcconv::program::TcOp;
    let context = new_context();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../lit_tests/Conversion/TcconvToGpu/Inputs/narrow16.sm_90a-wgmma.mlir"
    );
    let src = std::fs::read_to_string(path).expect("the lit input");
    let m = parse_source(&context, &src, "narrow16.mlir").expect("parse");
    let mut funcs = vec![];
    m.as_operation().walk(WalkOrder::PreOrder, |op| {
        if is_tcconv_func(&op) {
            funcs.push(nibble_tcconv::ir::program_of_func(op).expect("a tcconv program"));
        }
        melior::ir::operation::WalkResult::Advance
    });
    let p = &funcs[0];
    // the conv that reads the stream as its residual: its scales per channel
    let reader = p
        .ops
        .iter()
        .filter_map(|op| match op {
            TcOp::Conv2d(c) if c.residual.is_some() => Some(c.clone()),
            _ => None,
        })
        .last()
        .expect("a residual conv");
    let o = p.buffers[reader.output].dims[1] as usize;
    let with = |multiplier: Vec<i32>| {
        let mut c = reader.clone();
        if let EpilogueKind::Residual { scales, .. } = &mut c.epilogue.kind {
            *scales = ChannelScales {
                multiplier,
                shift: vec![24; o],
            };
        }
        TcOp::Conv2d(c)
    };
    let sig = |op: &TcOp| signature::signature(p, op, &[], false).unwrap();
    let a: Vec<i32> = (0..o as i32).map(|i| (1 << 29) + 1000 * i).collect();
    let reversed: Vec<i32> = a.iter().rev().copied().collect();
    let doubled: Vec<i32> = a.iter().map(|x| 2 * x).collect();
    assert!(sig(&with(a.clone())).contains("residual bias limit"));
    // the same largest scale: the same limit, one kernel
    assert_eq!(sig(&with(a.clone())), sig(&with(reversed)));
    // twice the scales: half the limit, another kernel
    assert_ne!(sig(&with(a)), sig(&with(doubled)));
}
