//! nibble-run: run a nibble network on the GPU from an artifact directory (nibble-opt
//! --emit=artifact), or on the CPU reference (from an artifact, or from a qnn IR file).
//!
//! ```text
//! nibble-run DIR [--input x.npy | --seed N] [--check [FILE]] [--bench N] [--profile N] [-o out.npy]   GPU
//! nibble-run --cpu DIR [--input x.npy | --seed N] [--check FILE] [-o out.npy]           CPU reference of an artifact
//! nibble-run --cpu MODEL.mlir [--weights W] [...]                                        CPU reference of qnn IR (needs the mlir feature)
//! ```
//! The GPU-side build has no MLIR: `cargo build --release -p nibble-run --no-default-features`.

use clap::Parser;
use nibble_qnn::graph::{Graph, TensorType};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "nibble-run",
    version,
    about = "Run a quantized network: on the GPU from an artifact directory, or on the CPU reference (--cpu)"
)]
struct Cli {
    /// An artifact directory (nibble-opt --emit=artifact -o DIR), or with --cpu a qnn IR file.
    model: PathBuf,
    /// Run the bit-exact CPU reference interpreter (of the artifact's reference/, or of an IR file).
    #[arg(long)]
    cpu: bool,
    /// qnn weights file (safetensors); default: weights.safetensors next to the IR file, or the
    /// artifact's reference/weights.safetensors. For a GPU run, the artifact's packed weights are
    /// made from it at load time (an artifact may ship without weights).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Input tensor (.npy); its shape must match the network's input. A network of several
    /// inputs takes one `--input` each, in the order of its arguments.
    #[arg(long, conflicts_with = "seed")]
    input: Vec<PathBuf>,
    /// Generate deterministic random inputs from this seed (default 0), one after the other
    /// from one generator; the same inputs on the CPU and the GPU.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the output tensor (.npy), atomically; a network of several results writes result k
    /// (k >= 1) beside it, `.k` before the extension (out.npy, out.1.npy, ...)
    #[arg(short = 'o')]
    output: Option<PathBuf>,
    /// Compare the output bit for bit and exit 1 at the first difference: with FILE against that
    /// .npy; alone (GPU runs) against the CPU reference on the same input. A GPU run is then run
    /// once more (after --bench / --profile) and must give the same output. Put it after DIR.
    #[arg(long, num_args = 0..=1, value_name = "FILE")]
    check: Option<Option<PathBuf>>,
    /// GPU: time N replays of the network with CUDA events (after warm-up); print median and p90.
    #[arg(long, value_name = "N")]
    bench: Option<usize>,
    /// GPU: time every launch on its own (each between two CUDA events, one round captured
    /// into a CUDA graph and replayed N times); print each launch's kernel and median, then
    /// their sum.
    #[arg(long, value_name = "N")]
    profile: Option<usize>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("nibble-run: error: {msg}");
    ExitCode::FAILURE
}

#[cfg(feature = "mlir")]
fn load_graph(path: &Path) -> Result<Graph, String> {
    use melior::ir::block::BlockLike;
    use melior::ir::operation::OperationLike;
    let src = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    let ctx = nibble_compiler::context::new_context();
    let log = nibble_compiler::diagnostics::DiagnosticLog::attach(ctx);
    let name = path.display().to_string();
    let module = nibble_compiler::opt_driver::parse_source_wrapping(ctx, &log, &src, &name).ok();
    let diag_text = || {
        log.take()
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let module = module.ok_or_else(diag_text)?;
    if !module.as_operation().verify() {
        return Err(diag_text());
    }
    let mut funcs = vec![];
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("func.func") {
            funcs.push(op);
        }
        cur = op.next_in_block();
    }
    // one network: the one function, or the one with qnn ops (as --emit=artifact takes it)
    let qnn: Vec<_> = funcs
        .iter()
        .copied()
        .filter(nibble_compiler::conversion::qnn_to_tcconv::is_qnn_func)
        .collect();
    let func = match (funcs.as_slice(), qnn.as_slice()) {
        ([], _) => return Err(format!("{name}: no func.func in the module")),
        ([f], _) | (_, [f]) => *f,
        (fs, _) => {
            let names: Vec<String> = fs
                .iter()
                .map(|f| format!("@{}", nibble_qnn::ir::symbol_name(f)))
                .collect();
            return Err(format!(
                "{name}: the module has {} functions ({}); nibble-run --cpu runs one network",
                fs.len(),
                names.join(", ")
            ));
        }
    };
    let g = nibble_qnn::ir::graph_of_func(func).map_err(|e| e.to_string())?;
    nibble_qnn::verify::verify_graph(&g).map_err(|e| e.join("\n"))?;
    Ok(g)
}

#[cfg(not(feature = "mlir"))]
fn load_graph(path: &Path) -> Result<Graph, String> {
    Err(format!(
        "{}: this nibble-run was built without MLIR and cannot read IR files (give it an artifact directory)",
        path.display()
    ))
}

fn top5(t: &Tensor) -> String {
    let mut s = String::new();
    if t.ty.shape.len() != 2 {
        return s;
    }
    let (n, c) = (t.ty.shape[0] as usize, t.ty.shape[1] as usize);
    for b in 0..n.min(4) {
        let row: Vec<f64> = (0..c)
            .map(|i| match &t.data {
                nibble_qnn::tensor::Data::Float(v) => v[b * c + i] as f64,
                nibble_qnn::tensor::Data::Int(v) => v[b * c + i] as f64,
            })
            .collect();
        let mut idx: Vec<usize> = (0..c).collect();
        idx.sort_by(|&a, &b2| {
            row[b2]
                .partial_cmp(&row[a])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b2))
        });
        let items: Vec<String> = idx
            .iter()
            .take(5)
            .map(|&i| format!("{i} ({:.4})", row[i]))
            .collect();
        s.push_str(&format!(
            "  image {b}: top-5 classes {}\n",
            items.join(", ")
        ));
    }
    s
}

fn read_npy(p: &Path) -> Result<Tensor, String> {
    std::fs::read(p)
        .map_err(|e| e.to_string())
        .and_then(|b| Tensor::from_npy(&b).map_err(|e| e.0))
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// The network inputs: from --input (one each, shapes checked) or generated from --seed.
fn make_inputs(cli: &Cli, tys: &[TensorType]) -> Result<Vec<Tensor>, String> {
    if cli.input.is_empty() {
        let mut rng = Rng(cli.seed.unwrap_or(0));
        return Ok(tys.iter().map(|ty| rng.tensor(ty)).collect());
    }
    if cli.input.len() != tys.len() {
        return Err(format!(
            "{} --input files given; the network takes {} inputs",
            cli.input.len(),
            tys.len()
        ));
    }
    cli.input
        .iter()
        .zip(tys)
        .map(|(p, ty)| {
            let t = read_npy(p)?;
            if t.ty.shape != ty.shape {
                return Err(format!(
                    "{}: input shape {:?} does not match the model's {:?}",
                    p.display(),
                    t.ty.shape,
                    ty.shape
                ));
            }
            Ok(Tensor {
                ty: ty.clone(),
                data: t.data,
            })
        })
        .collect()
}

/// Compare `y` with `want` bit for bit; Err names the first differing element.
fn compare(y: &Tensor, want: &Tensor, what: &str) -> Result<(), String> {
    if want.ty.shape != y.ty.shape {
        return Err(format!(
            "check: shape {:?} in {what}, {:?} computed",
            want.ty.shape, y.ty.shape
        ));
    }
    let want = Tensor {
        ty: y.ty.clone(),
        data: want.data.clone(),
    };
    if let Some(i) = y.first_mismatch(&want) {
        return Err(format!(
            "check: first mismatch at index {i} {:?}: computed {}, {what} has {}",
            y.unflatten(i),
            y.show(i),
            want.show(i)
        ));
    }
    println!("check: {} elements identical to {what}", y.len());
    Ok(())
}

/// `-o FILE`: result 0 to FILE, result k >= 1 of a network of several to FILE's name with `.k`
/// before its extension (`out.npy`, `out.1.npy`, ...).
fn write_output(cli: &Cli, out: &[Tensor]) -> Result<(), String> {
    let Some(o) = &cli.output else {
        return Ok(());
    };
    for (k, y) in out.iter().enumerate() {
        let path = match k {
            0 => o.clone(),
            _ => {
                let stem = o.file_stem().unwrap_or_default().to_string_lossy();
                let name = match o.extension() {
                    Some(e) => format!("{stem}.{k}.{}", e.to_string_lossy()),
                    None => format!("{stem}.{k}"),
                };
                o.with_file_name(name)
            }
        };
        nibble_qnn::write_atomically(&path, &y.to_npy())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    nibble_qnn::tool::main("nibble-run", real_main)
}

fn real_main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !cli.model.exists() {
        return fail(format!(
            "{}: no such file or directory",
            cli.model.display()
        ));
    }
    let is_artifact = cli.model.is_dir();
    let r = match (cli.cpu, is_artifact) {
        (true, _) => run_cpu(&cli, is_artifact),
        (false, true) => run_gpu(&cli),
        (false, false) => Err(format!(
            "{}: GPU runs take an artifact directory (nibble-opt MODEL.mlir --pass-pipeline='builtin.module(qnn-to-ptx{{target=sm_90}})' --emit=artifact -o DIR); use --cpu MODEL.mlir for the reference",
            cli.model.display()
        )),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The CPU reference: of an artifact's reference/ (no MLIR needed), or of a qnn IR file.
/// Multiply-adds above which `--cpu` says, before it starts, that the run will be long.
const LONG_CPU_MACS: u128 = 1_000_000_000_000;

fn run_cpu(cli: &Cli, is_artifact: bool) -> Result<(), String> {
    if cli.bench.is_some() || cli.profile.is_some() {
        return Err("--bench and --profile time GPU runs; drop --cpu".into());
    }
    let (g, weights) = if is_artifact {
        nibble_runtime::artifact::load_reference_with(&cli.model, cli.weights.as_deref())
            .map_err(|e| e.to_string())?
    } else {
        let g = load_graph(&cli.model)?;
        let wpath = cli
            .weights
            .clone()
            .unwrap_or_else(|| cli.model.with_file_name("weights.safetensors"));
        let named = g
            .nodes
            .iter()
            .any(|n| matches!(n.op, nibble_qnn::graph::Op::Weight { .. }));
        // a model without qnn.weight ops needs no weights file
        let w = if !named && cli.weights.is_none() && !wpath.exists() {
            Weights::default()
        } else {
            Weights::load(&wpath)?
        };
        let w = w.into_bound(&g)?;
        (g, w)
    };
    if g.results.is_empty() {
        return Err(format!("{}: the model returns no result", g.name));
    }
    // (before the inputs are made: they are part of what the reference holds)
    nibble_qnn::reference::fits_in_memory(&g)?;
    // a valid network can still be far too large for the CPU: say so before a silent hour
    let macs = nibble_qnn::reference::macs(&g);
    if macs > LONG_CPU_MACS {
        eprintln!(
            "nibble-run: note: the CPU reference computes {:.1e} multiply-adds for @{}; expect a long run (ResNet-50 at batch 1 is 4.1e9)",
            macs as f64, g.name
        );
    }
    let inputs = make_inputs(cli, &g.args)?;
    let t0 = Instant::now();
    let out = nibble_qnn::reference::run(&g, &weights, &inputs)?;
    let dt = t0.elapsed();
    let y = &out[0];
    println!(
        "{} on the CPU reference: {:.1} ms, output {}",
        g.name,
        dt.as_secs_f64() * 1e3,
        y.ty.mlir()
    );
    print!("{}", top5(y));
    write_output(cli, &out)?;
    match &cli.check {
        Some(Some(c)) => compare(y, &read_npy(c)?, &c.display().to_string()),
        Some(None) => Err("--check without a FILE compares a GPU run with the CPU reference; with --cpu give the .npy to compare with".into()),
        None => Ok(()),
    }
}

/// A GPU run of an artifact.
fn run_gpu(cli: &Cli) -> Result<(), String> {
    use nibble_runtime::{Artifact, Error, Runtime};
    // --weights: the qnn weights to pack at load time (artifacts shipped without weights).
    let t0 = Instant::now();
    let a = Artifact::load_with(&cli.model, cli.weights.as_deref()).map_err(|e| e.to_string())?;
    let p = &a.plan;
    let wbytes: u64 = p.weights.iter().map(|w| w.bytes).sum();
    eprintln!(
        "nibble-run: artifact {}: network {} for {}, {} launches, {} buffers in a {}-byte arena, {} weights ({} bytes)",
        cli.model.display(),
        p.network,
        p.target,
        p.launches.len(),
        p.buffers.len(),
        p.arena_bytes,
        p.weights.len(),
        wbytes
    );
    let tys = p
        .inputs
        .iter()
        .map(nibble_runtime::host::tensor_type)
        .collect::<Result<Vec<_>, _>>()?;
    // the inputs and the outputs live on the host too (4 bytes an element)
    let host: u64 = p
        .inputs
        .iter()
        .chain(&p.outputs)
        .map(|io| {
            io.shape
                .iter()
                .fold(4u64, |a, &d| a.saturating_mul(d.max(0) as u64))
        })
        .fold(0, u64::saturating_add);
    nibble_qnn::reference::fits_bytes(
        host,
        &format!(
            "the inputs and outputs of {} take {{}} on the host",
            p.network
        ),
    )?;
    let inputs = make_inputs(cli, &tys)?;
    let mut rt = match Runtime::new(&a) {
        Ok(rt) => rt,
        Err(Error::NoDriver(m)) => {
            return Err(format!(
                "{m}\n  (nibble-run --cpu {} runs the artifact's CPU reference instead)",
                cli.model.display()
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    eprintln!(
        "nibble-run: {} ready in {:.1} ms ({})",
        rt.device,
        t0.elapsed().as_secs_f64() * 1e3,
        if rt.uses_graph {
            "CUDA graph"
        } else {
            "direct launches"
        }
    );
    let t1 = Instant::now();
    let out = rt.run(&inputs).map_err(|e| e.to_string())?;
    let dt = t1.elapsed();
    let y = &out[0];
    println!(
        "{} on {}: {:.3} ms (first run, copies included), output {}",
        p.network,
        rt.device,
        dt.as_secs_f64() * 1e3,
        y.ty.mlir()
    );
    print!("{}", top5(y));
    write_output(cli, &out)?;
    match &cli.check {
        Some(Some(c)) => compare(y, &read_npy(c)?, &c.display().to_string())?,
        Some(None) => {
            let (g, w) = a
                .reference_with(cli.weights.as_deref())
                .map_err(|e| e.to_string())?;
            let want = nibble_qnn::reference::run(&g, &w, &inputs)?;
            if want.len() != out.len() {
                return Err(format!(
                    "check: the reference has {} outputs, the GPU {}",
                    want.len(),
                    out.len()
                ));
            }
            for (k, (y, w)) in out.iter().zip(&want).enumerate() {
                compare(y, w, &format!("the CPU reference (output {k})"))?;
            }
        }
        None => {}
    }
    if let Some(n) = cli.bench {
        let (median, p90) = rt.bench(n).map_err(|e| e.to_string())?;
        println!(
            "bench: {n} runs on {} ({}{}): median {median:.4} ms, p90 {p90:.4} ms",
            rt.device,
            if rt.uses_graph {
                "CUDA graph replay"
            } else {
                "direct launches"
            },
            if rt.l2_window() > 0 {
                format!(
                    ", weights in a {}-byte persisting L2 window",
                    rt.l2_window()
                )
            } else {
                String::new()
            },
        );
        let early = rt.programmatic.iter().filter(|&&p| p).count();
        if early > 0 {
            println!(
                "bench: {early} of {} launches programmatic (start while their predecessor finishes)",
                rt.programmatic.len()
            );
        }
    }
    if let Some(n) = cli.profile {
        let times = rt.profile(n).map_err(|e| e.to_string())?;
        for (i, (kernel, ms)) in times.iter().enumerate() {
            println!("profile: launch {i} {kernel} median {:.2} us", ms * 1e3);
        }
        let sum: f64 = times.iter().map(|(_, ms)| ms).sum();
        println!(
            "profile: {} launches, {n} rounds: sum of medians {sum:.4} ms",
            times.len()
        );
    }
    if cli.check.is_some() {
        // once more, after any timed replays: the same output bit for bit (a kernel's state,
        // such as a chain's barrier counter, is left as the kernel found it)
        let again = rt.run(&inputs).map_err(|e| e.to_string())?;
        compare(&again[0], y, "the first run")?;
    }
    rt.check().map_err(|e| e.to_string())
}
