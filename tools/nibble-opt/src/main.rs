//! nibble-opt: mlir-opt for nibble's dialects.

use clap::Parser;
use nibble_compiler::opt_driver::{run_opt, OptOptions};
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "nibble-opt",
    version,
    about = "Run MLIR and nibble passes on qnn / tcconv IR files (an mlir-opt for nibble)"
)]
struct Cli {
    /// Input file ("-" for stdin).
    #[arg(default_value = "-")]
    input: String,
    /// Output file ("-" for stdout); written through a temp file and a rename.
    #[arg(short = 'o', default_value = "-")]
    output: String,
    /// A pipeline such as 'builtin.module(qnn-verify,canonicalize)'.
    #[arg(long = "pass-pipeline")]
    pass_pipeline: Option<String>,
    /// List nibble's passes and named pipelines.
    #[arg(long = "list-passes")]
    list_passes: bool,
    /// Split the input at '// -----' lines and process each chunk on its own.
    #[arg(long = "split-input-file")]
    split_input_file: bool,
    /// Check diagnostics against '// expected-error @+1 {{...}}' annotations.
    #[arg(long = "verify-diagnostics")]
    verify_diagnostics: bool,
    /// Accept ops of dialects nibble does not know.
    #[arg(long = "allow-unregistered-dialect")]
    allow_unregistered_dialect: bool,
    /// Print the IR after each pipeline element (to stderr).
    #[arg(long = "mlir-print-ir-after-all")]
    print_ir_after_all: bool,
    /// Print the IR after the named pass (repeatable).
    #[arg(long = "mlir-print-ir-after", value_name = "PASS")]
    print_ir_after: Vec<String>,
    /// Print locations in the output.
    #[arg(long = "mlir-print-debuginfo")]
    print_debuginfo: bool,
    /// What to write: the IR (mlir), or an artifact directory for nibble-run (artifact: -o DIR,
    /// the pipeline must end at the gpu stage, e.g. qnn-to-ptx{target=sm_90}).
    #[arg(long = "emit", value_enum, default_value = "mlir")]
    emit: Emit,
    /// qnn weights to pack into the artifact (default: weights.safetensors next to the input).
    #[arg(long = "weights", value_name = "W.safetensors")]
    weights: Option<std::path::PathBuf>,
    /// Print each qnn-egraph-optimize's e-graph statistics to stderr (its stats=true).
    #[arg(long = "nibble-egraph-stats")]
    egraph_stats: bool,
    /// Print an execution time report to stderr: parse, each pipeline element, the artifact
    /// writer's steps (LLVM over the kernels, weight packing, writing), printing.
    #[arg(long = "mlir-timing")]
    timing: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Emit {
    Mlir,
    Artifact,
}

fn main() -> ExitCode {
    nibble_qnn::tool::main("nibble-opt", real_main)
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
    if cli.list_passes {
        print!("{}", nibble_compiler::pipeline::list_passes());
        return ExitCode::SUCCESS;
    }
    let (source, filename) = if cli.input == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("nibble-opt: error: cannot read stdin: {e}");
            return ExitCode::FAILURE;
        }
        (s, "<stdin>".to_owned())
    } else {
        match std::fs::read_to_string(&cli.input) {
            Ok(s) => (s, cli.input.clone()),
            Err(e) => {
                eprintln!("nibble-opt: error: cannot read '{}': {e}", cli.input);
                return ExitCode::FAILURE;
            }
        }
    };
    let artifact = match cli.emit {
        Emit::Mlir => {
            if cli.weights.is_some() {
                eprintln!("nibble-opt: error: --weights goes with --emit=artifact");
                return ExitCode::FAILURE;
            }
            None
        }
        Emit::Artifact => {
            if cli.output == "-" {
                eprintln!(
                    "nibble-opt: error: --emit=artifact writes a directory: give it with -o DIR"
                );
                return ExitCode::FAILURE;
            }
            let input_dir = std::path::Path::new(&cli.input)
                .parent()
                .filter(|_| cli.input != "-");
            let weights = cli.weights.clone().unwrap_or_else(|| {
                input_dir
                    .unwrap_or(std::path::Path::new(""))
                    .join("weights.safetensors")
            });
            Some(nibble_compiler::artifact::ArtifactRequest {
                dir: cli.output.clone().into(),
                weights,
            })
        }
    };
    let opts = OptOptions {
        artifact: artifact.clone(),
        pass_pipeline: cli.pass_pipeline,
        split_input_file: cli.split_input_file,
        verify_diagnostics: cli.verify_diagnostics,
        allow_unregistered_dialect: cli.allow_unregistered_dialect,
        print_ir_after_all: cli.print_ir_after_all,
        print_ir_after: cli.print_ir_after,
        print_debuginfo: cli.print_debuginfo,
        egraph_stats: cli.egraph_stats,
        timing: cli.timing,
    };
    let out = run_opt(&source, &filename, &opts);
    eprint!("{}", out.stderr);
    if !out.success {
        return ExitCode::FAILURE;
    }
    if artifact.is_some() {
        print!("{}", out.output);
        return ExitCode::SUCCESS;
    }
    if cli.output == "-" {
        if nibble_qnn::tool::write_stdout("nibble-opt", &out.output).is_err() {
            return ExitCode::FAILURE;
        }
    } else if let Err(e) =
        nibble_qnn::write_atomically(std::path::Path::new(&cli.output), out.output.as_bytes())
    {
        eprintln!("nibble-opt: error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
