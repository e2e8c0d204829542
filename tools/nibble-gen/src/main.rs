use clap::{Parser, Subcommand};
use nibble_models::hawq::{Arch, BitConfig};
use nibble_models::{calibrate, make_example, write_calibration, write_example, ExampleConfig};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "nibble-gen",
    about = "Deterministic example models: HAWQ-style quantized ResNet-18/50 as qnn IR + safetensors"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a model with deterministic random weights and calibrated activation scales;
    /// writes DIR/model.mlir and DIR/weights.safetensors.
    Example {
        /// resnet18, resnet50 or resnet101 (HAWQ's q_resnet18 / q_resnet50 / q_resnet101 on
        /// pytorchcv resnet18 / resnet50b / resnet101b)
        #[arg(long, default_value = "resnet18")]
        arch: String,
        /// w4a4 (HAWQ uniform4: 8-bit input, stem and fc) or w8a8 (HAWQ uniform8)
        #[arg(long, default_value = "w4a4")]
        bits: String,
        /// JSON object {"layer name": bits} laid over --bits (HAWQ bit_config names)
        #[arg(long, value_name = "FILE")]
        bit_config: Option<PathBuf>,
        /// Batch size of the generated function (calibration always runs at batch 1)
        #[arg(long, default_value_t = 1)]
        batch: i64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Input height and width (multiple of 32)
        #[arg(long, default_value_t = 224)]
        image_size: i64,
        /// Percentile of |float input| mapped to the top of each 4/8-bit activation range, in
        /// (0, 100]
        #[arg(long, default_value_t = 99.9, value_parser = parse_percentile)]
        percentile: f64,
        /// Keep data-free heuristic activation scales instead of calibrating on the reference
        /// interpreter
        #[arg(long)]
        no_calibrate: bool,
        /// Also write DIR/hawq_params.json (every HAWQ parameter, by layer name),
        /// DIR/hawq_bit_config.json and, when
        /// calibrated, DIR/calibration_input.npy and DIR/calibration_logits.npy (batch 1: a
        /// reference input/output pair)
        #[arg(long)]
        save_calibration: bool,
        /// Also print the residual streams (i32 activations): each one's static bound from the
        /// weights, whether it proves i16 enough, and the range the reference produces on N
        /// random inputs (at most 1000, checked before anything is written)
        #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
        residual_streams: u64,
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        out: PathBuf,
    },
    /// A single-conv network (integer NCHW input -> conv2d + bias -> requantize to the
    /// activation type) with deterministic random weights: DIR/model.mlir + weights.safetensors.
    Conv {
        /// batch,in_channels,size,out_channels,kernel,stride,padding (the RFC's workload fields)
        #[arg(long)]
        shape: String,
        /// 4 (ui4 x i4) or 8 (ui8 x i8)
        #[arg(long, default_value_t = 4)]
        bits: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Channel groups (divides both channel counts; in_channels: depthwise)
        #[arg(long, default_value_t = 1)]
        groups: i64,
        /// channels,stride: add a shortcut, a 1x1 conv of a second input (out * stride pixels
        /// a side), to the conv's result before the relu and requantize (a residual unit's tail)
        #[arg(long)]
        shortcut: Option<String>,
        /// Output channels of a 1x1 conv of the requantized result, requantized too (a conv and
        /// the 1x1 conv after it: the pair `convert-qnn-to-tcconv{chains=cluster}` chains)
        #[arg(long)]
        then: Option<i64>,
        /// kernel,stride,padding: ResNet-18's stem tail: the conv's result requantized to i16,
        /// a max pool of it, and both the pooled map and its requantize to the activation type
        /// returned (the pooled map read twice: `convert-qnn-to-tcconv{pool-requantize=second}`)
        #[arg(long)]
        pool: Option<String>,
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        out: PathBuf,
    },
    /// Import a model, its format detected from the file: an ONNX QDQ model (QuantizeLinear /
    /// DequantizeLinear around float ops, as ONNX Runtime's quantize_static writes), or a HAWQ
    /// checkpoint (torch.save .pth of q_resnet18 / q_resnet50 / q_resnet101, read without Python, which needs
    /// --arch and --bits); writes DIR/model.mlir and DIR/weights.safetensors.
    Import {
        /// The model: model.onnx, or a checkpoint (a dict with 'state_dict', or a state dict;
        /// keys may carry 'module.')
        checkpoint: PathBuf,
        /// Checkpoints: the pytorchcv architecture HAWQ quantized (its --arch): resnet18,
        /// resnet50 / resnet101 (bottleneck stride on the 1x1 conv) or resnet50b / resnet101b
        /// (stride on the 3x3); a checkpoint's own 'arch' entry must agree
        #[arg(long)]
        arch: Option<String>,
        /// Checkpoints: uniform4 / w4a4, uniform8 / w8a8, or a JSON file with a complete HAWQ
        /// bit configuration {"layer name": bits}
        #[arg(long)]
        bits: Option<String>,
        /// JSON object {"layer name": bits} laid over --bits
        #[arg(long, value_name = "FILE")]
        bit_config: Option<PathBuf>,
        /// Batch size of the generated function (default: the ONNX model's, else 1)
        #[arg(long)]
        batch: Option<i64>,
        /// Input height and width, `S` or `HxW` (default: the ONNX model's, else 224;
        /// checkpoints: one size, a multiple of 32). An ONNX model's symbolic height or width
        /// takes it; a declared size is replaced, with a note
        #[arg(long, value_name = "S|HxW", value_parser = parse_image_size)]
        image_size: Option<[i64; 2]>,
        /// Also print the residual streams (i32 activations): each one's static bound from the
        /// weights, whether it proves i16 enough, and the range the reference produces on N
        /// random inputs (at most 1000, checked before anything is written)
        #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
        residual_streams: u64,
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        out: PathBuf,
    },
}

/// `--image-size`: `S` (S x S) or `HxW` (the importers check the range, naming the input).
fn parse_image_size(s: &str) -> Result<[i64; 2], String> {
    let dim = |t: &str| -> Result<i64, String> {
        t.trim()
            .parse::<i64>()
            .map_err(|_| format!("'{t}' is not a size (S or HxW)"))
    };
    match s.split_once(['x', 'X']) {
        Some((h, w)) => Ok([dim(h)?, dim(w)?]),
        None => dim(s).map(|v| [v, v]),
    }
}

/// The first bytes of a file (format detection).
fn read_head(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut head = vec![0u8; 16];
    let n = f
        .read(&mut head)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    head.truncate(n);
    Ok(head)
}

/// `--residual-streams N`: the streams of the written model, observed on N random inputs.
fn print_streams(
    g: &nibble_qnn::graph::Graph,
    w: &nibble_qnn::weights::Weights,
    runs: u64,
) -> Result<(), String> {
    if runs == 0 {
        return Ok(());
    }
    if runs > 1000 {
        return Err(format!("--residual-streams {runs}: at most 1000 runs"));
    }
    // (before the inputs are made: they are part of what the reference holds)
    nibble_qnn::reference::fits_in_memory(g)?;
    let inputs: Vec<Vec<nibble_qnn::tensor::Tensor>> = (0..runs)
        .map(|i| {
            let mut rng = nibble_qnn::tensor::Rng(0x5712_ea35 + i);
            g.args.iter().map(|t| rng.tensor(t)).collect()
        })
        .collect();
    let streams = nibble_models::streams::residual_streams(g, &w.bind(g)?, &inputs)?;
    print!("{}", nibble_models::streams::format_streams(&streams));
    Ok(())
}

/// `N` comma-separated integers.
fn integers<const N: usize>(t: &str) -> Option<[i64; N]> {
    let v: Vec<i64> = t
        .split(',')
        .map(|p| p.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .ok()?;
    v.try_into().ok()
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Conv {
            shape,
            bits,
            seed,
            groups,
            shortcut,
            then,
            pool,
            out,
        } => {
            let shortcut = shortcut
                .as_deref()
                .map(|t| {
                    integers::<2>(t)
                        .map(|[c, s]| (c, s))
                        .ok_or_else(|| format!("--shortcut '{t}' is not channels,stride"))
                })
                .transpose()?;
            let pool = pool
                .as_deref()
                .map(|t| {
                    integers::<3>(t)
                        .ok_or_else(|| format!("--pool '{t}' is not kernel,stride,padding"))
                })
                .transpose()?;
            let v: Vec<i64> = shape
                .split(',')
                .map(|p| p.trim().parse::<i64>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("--shape '{shape}' is not 7 comma-separated integers"))?;
            let [batch, in_channels, size, out_channels, kernel, stride, padding] = v[..] else {
                return Err(format!("--shape '{shape}' needs 7 values: batch,in_channels,size,out_channels,kernel,stride,padding"));
            };
            let cfg = nibble_models::conv::ConvConfig {
                batch,
                in_channels,
                size,
                out_channels,
                kernel,
                stride,
                padding,
                bits,
                seed,
                groups,
                shortcut,
                then,
                pool,
            };
            let (g, w) = nibble_models::conv::conv_network(&cfg)?;
            nibble_models::write_graph(&out, &g, &w)?;
            println!("wrote {} (conv {shape}, {bits}-bit)", out.display());
            Ok(())
        }
        Cmd::Import {
            checkpoint,
            arch,
            bits,
            bit_config,
            batch,
            image_size,
            residual_streams,
            out,
        } => {
            let head = read_head(&checkpoint)?;
            let onnx_name = checkpoint
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
            // torch.save writes a zip archive, or a pickle (protocol 2+ starts with 0x80)
            let pytorch = head.starts_with(b"PK\x03\x04") || head.first() == Some(&0x80);
            if head.is_empty() {
                return Err(format!("{}: the file is empty", checkpoint.display()));
            }
            if !pytorch && !onnx_name && !nibble_onnx::looks_like_onnx(&head) {
                return Err(format!(
                    "{}: neither an ONNX model (a protobuf ModelProto) nor a PyTorch checkpoint (a zip archive or a pickle)",
                    checkpoint.display()
                ));
            }
            if !pytorch && (onnx_name || nibble_onnx::looks_like_onnx(&head)) {
                if arch.is_some() || bits.is_some() || bit_config.is_some() {
                    return Err(format!(
                        "{}: an ONNX model carries its own quantization; --arch, --bits and --bit-config are for HAWQ checkpoints",
                        checkpoint.display()
                    ));
                }
                let bytes = nibble_onnx::read_file_bytes(&checkpoint)?;
                let opts = nibble_models::onnx::OnnxOptions { batch, image_size };
                let m = nibble_models::onnx::import_onnx(&bytes, &opts)
                    .map_err(|e| format!("{}: {e}", checkpoint.display()))?;
                nibble_models::write_graph(&out, &m.graph, &m.weights)?;
                println!(
                    "imported {} ({} qnn ops, {} weights); wrote {}/model.mlir and {}/weights.safetensors",
                    checkpoint.display(),
                    m.graph.nodes.len(),
                    m.weights.tensors.len(),
                    out.display(),
                    out.display()
                );
                for n in &m.notes {
                    println!("note: {n}");
                }
                return print_streams(&m.graph, &m.weights, residual_streams);
            }
            let (Some(arch), Some(bits)) = (arch, bits) else {
                return Err(format!(
                    "{}: a HAWQ checkpoint needs --arch and --bits",
                    checkpoint.display()
                ));
            };
            let image_size = match image_size.unwrap_or([224, 224]) {
                [h, w] if h == w => h,
                [h, w] => {
                    return Err(format!(
                        "{}: a HAWQ checkpoint is imported at a square size; --image-size {h}x{w} is not",
                        checkpoint.display()
                    ))
                }
            };
            let batch = batch.unwrap_or(1);
            let (arch, conv1_stride) =
                nibble_models::import::parse_arch(&arch).ok_or_else(|| {
                    format!("unknown --arch '{arch}' (resnet18, resnet50, resnet50b, resnet101 or resnet101b)")
                })?;
            let mut bc = nibble_models::import::parse_bits(arch, &bits)?;
            if let Some(f) = bit_config {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| format!("{}: cannot read: {e}", f.display()))?;
                // a checkpoint's own configuration may name layers nibble does not model
                let unknown = bc
                    .unknown_layers(&text)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                if !unknown.is_empty() {
                    eprintln!(
                        "nibble-gen: warning: {}: not layers of the network, ignored: {}",
                        f.display(),
                        unknown.join(", ")
                    );
                }
                bc = bc
                    .overlay_json(&text)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
            }
            let opts = nibble_models::import::ImportOptions {
                arch,
                conv1_stride,
                bits: bc,
                build: nibble_models::hawq::BuildOptions { batch, image_size },
            };
            let m = nibble_models::import::import_file(&checkpoint, &opts)?;
            nibble_models::import::write_model(&m, &out)?;
            let p = &m.params;
            let widths: Vec<String> = p
                .units()
                .iter()
                .map(|u| u.out_channels.to_string())
                .collect();
            println!(
                "imported {} ({} convs, {} activations, stem {} channels, units {}, {} classes) \
                 from {}; wrote {}/model.mlir ({} ops) and {}/weights.safetensors ({} tensors)",
                nibble_models::import::arch_name(&opts),
                p.convs.len(),
                p.acts.len(),
                p.convs[arch.stem_conv()].shape[0],
                widths.join("/"),
                p.linears[nibble_models::hawq::FC].shape[0],
                checkpoint.display(),
                out.display(),
                m.graph.graph.nodes.len(),
                out.display(),
                m.weights.tensors.len()
            );
            print_streams(&m.graph.graph, &m.weights, residual_streams)
        }
        Cmd::Example {
            arch,
            bits,
            bit_config,
            batch,
            seed,
            image_size,
            percentile,
            no_calibrate,
            save_calibration,
            residual_streams,
            out,
        } => {
            let t0 = Instant::now();
            let arch = Arch::parse(&arch).ok_or_else(|| {
                format!("unknown --arch '{arch}' (resnet18, resnet50 or resnet101)")
            })?;
            let mut bc = BitConfig::preset(arch, &bits)
                .ok_or_else(|| format!("unknown --bits '{bits}' (w4a4 or w8a8)"))?;
            if let Some(f) = bit_config {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| format!("{}: cannot read: {e}", f.display()))?;
                let unknown = bc
                    .unknown_layers(&text)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                if !unknown.is_empty() {
                    return Err(format!(
                        "{}: not layers of the {arch:?} network: {}",
                        f.display(),
                        unknown.join(", ")
                    ));
                }
                bc = bc
                    .overlay_json(&text)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
            }
            let cfg = ExampleConfig {
                arch,
                bits: bc,
                batch,
                seed,
                image_size,
                calibrate: !no_calibrate,
                percentile,
            };
            let ex = make_example(&cfg)?;
            let t_gen = t0.elapsed();
            write_example(&ex, &out)?;
            if save_calibration {
                write_calibration(&ex, &out)?;
            }
            if let Some(r) = &ex.report {
                println!(
                    "calibration of {} ({bits}, seed {seed}) at batch 1, {image_size}x{image_size}:",
                    arch.name()
                );
                print!("{}", calibrate::format_report(&r.layers));
                let l = r.logits.floats();
                let (mn, mx) = l
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                let distinct = {
                    let mut v: Vec<u32> = l.iter().map(|x| x.to_bits()).collect();
                    v.sort_unstable();
                    v.dedup();
                    v.len()
                };
                println!(
                    "logits: min {mn:.4}, max {mx:.4}, {distinct} distinct values of {}",
                    l.len()
                );
            } else {
                println!("activation scales: heuristic (not calibrated)");
            }
            let g = &ex.graph.graph;
            println!(
                "wrote {}/model.mlir ({} ops) and {}/weights.safetensors ({} tensors); \
                 generation {:.2} s, total {:.2} s",
                out.display(),
                g.nodes.len(),
                out.display(),
                ex.weights.tensors.len(),
                t_gen.as_secs_f64(),
                t0.elapsed().as_secs_f64()
            );
            print_streams(g, &ex.weights, residual_streams)
        }
    }
}

fn main() -> std::process::ExitCode {
    nibble_qnn::tool::main("nibble-gen", || {
        // usage errors exit 1 (as in mlir-opt), --help and --version 0
        let cli = match Cli::try_parse() {
            Ok(c) => c,
            Err(e) => {
                let code = if e.use_stderr() { 1 } else { 0 };
                let _ = e.print();
                return std::process::ExitCode::from(code);
            }
        };
        match run(cli) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nibble-gen: error: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}

/// A percentile in (0, 100] (NaN, infinities and 0 give degenerate activation scales).
fn parse_percentile(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if p > 0.0 && p <= 100.0 {
        Ok(p)
    } else {
        Err(format!("{s} is not in (0, 100]"))
    }
}
