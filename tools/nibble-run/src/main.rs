//! nibble-run: run a nibble network on the CPU reference (and, from an artifact directory, on the GPU).

use clap::Parser;
use nibble_qnn::graph::Graph;
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "nibble-run", version, about = "Run a quantized network on the CPU reference interpreter")]
struct Cli {
    /// The model: a qnn IR file (with --cpu).
    model: PathBuf,
    /// Run the bit-exact CPU reference interpreter.
    #[arg(long)]
    cpu: bool,
    /// Weights file (safetensors); default: weights.safetensors next to the model.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Input tensor (.npy); its shape must match the function's argument.
    #[arg(long, conflicts_with = "seed")]
    input: Option<PathBuf>,
    /// Generate a deterministic random input from this seed (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the output tensor (.npy), atomically.
    #[arg(short = 'o')]
    output: Option<PathBuf>,
    /// Compare the output with this .npy bit for bit; exit 1 on the first difference.
    #[arg(long)]
    check: Option<PathBuf>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("nibble-run: error: {msg}");
    ExitCode::FAILURE
}

#[cfg(feature = "mlir")]
fn load_graph(path: &Path) -> Result<Graph, String> {
    use melior::ir::block::BlockLike;
    use melior::ir::operation::OperationLike;
    let src = std::fs::read_to_string(path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    let ctx = nibble_compiler::context::new_context();
    let log = nibble_compiler::diagnostics::DiagnosticLog::attach(ctx);
    let name = path.display().to_string();
    let module = nibble_compiler::context::parse_source(ctx, &src, &name);
    let diag_text = || log.take().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n");
    let module = module.ok_or_else(diag_text)?;
    if !module.as_operation().verify() {
        return Err(diag_text());
    }
    let mut func = None;
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("func.func") {
            func = Some(op);
            break;
        }
        cur = op.next_in_block();
    }
    let func = func.ok_or_else(|| format!("{name}: no func.func in the module"))?;
    let g = nibble_qnn::ir::graph_of_func(func).map_err(|e| e.to_string())?;
    nibble_qnn::verify::verify_graph(&g).map_err(|e| e.join("\n"))?;
    Ok(g)
}

#[cfg(not(feature = "mlir"))]
fn load_graph(path: &Path) -> Result<Graph, String> {
    Err(format!("{}: this nibble-run was built without MLIR and cannot read IR files", path.display()))
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
        idx.sort_by(|&a, &b2| row[b2].partial_cmp(&row[a]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b2)));
        let items: Vec<String> = idx.iter().take(5).map(|&i| format!("{i} ({:.4})", row[i])).collect();
        s.push_str(&format!("  image {b}: top-5 classes {}\n", items.join(", ")));
    }
    s
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("nibble-run: internal error: {info}");
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !cli.cpu {
        return fail("GPU runs take an artifact directory (nibble-opt --emit=artifact); use --cpu MODEL.mlir for the reference");
    }
    let g = match load_graph(&cli.model) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let wpath = cli.weights.clone().unwrap_or_else(|| cli.model.with_file_name("weights.safetensors"));
    let weights = match Weights::load(&wpath).and_then(|w| w.bind(&g)) {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    if g.args.len() != 1 {
        return fail(format!("the model takes {} inputs; nibble-run feeds exactly one", g.args.len()));
    }
    let input = match &cli.input {
        Some(p) => {
            let t = match std::fs::read(p).map_err(|e| e.to_string()).and_then(|b| Tensor::from_npy(&b).map_err(|e| e.0)) {
                Ok(t) => t,
                Err(e) => return fail(format!("{}: {e}", p.display())),
            };
            if t.ty.shape != g.args[0].shape {
                return fail(format!("{}: input shape {:?} does not match the model's {:?}", p.display(), t.ty.shape, g.args[0].shape));
            }
            Tensor { ty: g.args[0].clone(), data: t.data }
        }
        None => Rng(cli.seed.unwrap_or(0)).tensor(&g.args[0]),
    };
    let t0 = Instant::now();
    let out = match nibble_qnn::reference::run(&g, &weights, &[input]) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let dt = t0.elapsed();
    let y = &out[0];
    println!("{} on the CPU reference: {:.1} ms, output {}", g.name, dt.as_secs_f64() * 1e3, y.ty.mlir());
    print!("{}", top5(y));
    if let Some(o) = &cli.output {
        if let Err(e) = nibble_qnn::write_atomically(o, &y.to_npy()) {
            return fail(e);
        }
    }
    if let Some(c) = &cli.check {
        let want = match std::fs::read(c).map_err(|e| e.to_string()).and_then(|b| Tensor::from_npy(&b).map_err(|e| e.0)) {
            Ok(t) => t,
            Err(e) => return fail(format!("{}: {e}", c.display())),
        };
        if want.ty.shape != y.ty.shape {
            return fail(format!("check: shape {:?} in {}, {:?} computed", want.ty.shape, c.display(), y.ty.shape));
        }
        let want = Tensor { ty: y.ty.clone(), data: want.data };
        if let Some(i) = y.first_mismatch(&want) {
            return fail(format!("check: first mismatch at index {i} {:?}: computed {}, expected {}", y.unflatten(i), y.show(i), want.show(i)));
        }
        println!("check: {} elements identical to {}", y.len(), c.display());
    }
    ExitCode::SUCCESS
}
