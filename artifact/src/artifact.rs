//! An artifact directory on the host: the plan, the PTX text and the packed weights, checked
//! against each other before anything touches a GPU (every launch names a PTX entry whose
//! parameter list matches its args; every weight is in the weights file with the planned size).

use crate::plan::{Plan, ALIGN};
use crate::Error;
use nibble_qnn::graph::Graph;
use nibble_qnn::weights::Weights;
use safetensors::tensor::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

pub const PLAN_FILE: &str = "plan.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const REFERENCE_DIR: &str = "reference";
pub const REFERENCE_MODEL: &str = "model.json";

#[derive(Clone, Debug)]
pub struct Artifact {
    pub dir: PathBuf,
    pub plan: Plan,
    pub ptx: String,
    /// Packed bytes per `plan.weights` entry (same order).
    pub weights: Vec<Vec<u8>>,
}

/// One `.entry` of a PTX module: its name and the byte size of each parameter (None: unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct PtxEntry {
    pub name: String,
    pub params: Vec<Option<usize>>,
}

fn param_size(decl: &str) -> Option<usize> {
    let toks: Vec<&str> = decl.split_whitespace().collect();
    let ty = toks.iter().find(|t| {
        matches!(
            **t,
            ".u8"
                | ".s8"
                | ".b8"
                | ".u16"
                | ".s16"
                | ".b16"
                | ".f16"
                | ".u32"
                | ".s32"
                | ".b32"
                | ".f32"
                | ".u64"
                | ".s64"
                | ".b64"
                | ".f64"
        )
    })?;
    let width: usize = ty[2..].parse().ok()?;
    let mut n = width / 8;
    // `.param .align 8 .b8 name[16]`: an array parameter.
    if let Some(last) = toks.last() {
        if let (Some(open), true) = (last.find('['), last.ends_with(']')) {
            n = n.saturating_mul(last[open + 1..last.len() - 1].parse::<usize>().ok()?);
        }
    }
    Some(n)
}

/// The chip a PTX module's `.target` directive names (`sm_90a`), if it has one.
fn ptx_target(ptx: &str) -> Option<&str> {
    ptx.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(".target"))
        .and_then(|t| t.split([',', ' ', '\t']).find(|s| !s.is_empty()))
}

/// The kernels of a PTX module and their parameter sizes.
pub fn ptx_entries(ptx: &str) -> Vec<PtxEntry> {
    let mut out = vec![];
    let mut rest = ptx;
    while let Some(at) = rest.find(".entry") {
        rest = &rest[at + ".entry".len()..];
        let Some(open) = rest.find('(') else { break };
        let name = rest[..open].trim().to_owned();
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let body = &rest[open + 1..open + close];
        let params = body
            .split(',')
            .map(str::trim)
            .filter(|p| p.starts_with(".param"))
            .map(param_size)
            .collect();
        out.push(PtxEntry { name, params });
        rest = &rest[open + close..];
    }
    out
}

/// `dir/plan.json`, read and validated: a syntax error as `DIR/plan.json:line:col: ...`, any
/// other as `DIR: plan.json: ...`.
fn read_plan(dir: &Path) -> Result<Plan, Error> {
    let plan_path = dir.join(PLAN_FILE);
    let text = String::from_utf8(read(&plan_path)?)
        .map_err(|_| Error::Artifact(format!("{}: not UTF-8", plan_path.display())))?;
    Plan::from_json(&text).map_err(|e| {
        Error::Artifact(match e.strip_prefix("plan.json:") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{}:{rest}", plan_path.display())
            }
            _ => format!("{}: {e}", dir.display()),
        })
    })
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::Artifact(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{}: missing (not an artifact directory? write one with nibble-opt --emit=artifact -o DIR)", path.display())
        } else {
            format!("{}: cannot read: {e}", path.display())
        })
    })
}

/// Byte offset of each weight in the one device allocation that holds them all, and its size.
pub fn weight_offsets(plan: &Plan) -> (Vec<u64>, u64) {
    let mut off = 0u64;
    let mut v = vec![];
    for w in &plan.weights {
        v.push(off);
        off = (off + w.bytes).div_ceil(ALIGN) * ALIGN;
    }
    (v, off.max(ALIGN))
}

impl Artifact {
    /// Load and cross-check `dir/plan.json`, the PTX it names and `dir/weights.safetensors`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Artifact, Error> {
        Self::load_with(dir, None)
    }

    /// Like `load`; with `qnn_weights` (or when the artifact has no `weights.safetensors`), the
    /// packed weights are made at load time from the qnn weights file (default
    /// `reference/weights.safetensors`) by each slot's packing recipe: an artifact can then be
    /// shipped without weights and fed by `nibble-gen` output on the GPU machine.
    pub fn load_with(dir: impl AsRef<Path>, qnn_weights: Option<&Path>) -> Result<Artifact, Error> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(Error::Artifact(format!("{}: not a directory (an artifact is a directory written by nibble-opt --emit=artifact)", dir.display())));
        }
        let plan = read_plan(&dir)?;
        let ptx_path = dir.join(&plan.ptx);
        let ptx = String::from_utf8(read(&ptx_path)?)
            .map_err(|_| Error::Artifact(format!("{}: not UTF-8 PTX text", ptx_path.display())))?;
        let weights = if qnn_weights.is_some() || !dir.join(WEIGHTS_FILE).exists() {
            let qpath = qnn_weights
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.join(REFERENCE_DIR).join(WEIGHTS_FILE));
            pack_from_qnn(&dir, &plan, &qpath)?
        } else {
            read_packed(&dir, &plan)?
        };
        Artifact::from_parts(dir, plan, ptx, weights)
    }

    /// An artifact from its parts, cross-checked (what `load` and the compiler both run): the
    /// plan is valid, every launch names a PTX entry whose parameters match its args, every
    /// weight has the planned size.
    pub fn from_parts(
        dir: PathBuf,
        plan: Plan,
        ptx: String,
        weights: Vec<Vec<u8>>,
    ) -> Result<Artifact, Error> {
        plan.validate()
            .map_err(|e| Error::Artifact(format!("{}: {e}", dir.display())))?;
        let ptx_path = dir.join(&plan.ptx);
        if ptx.contains('\0') {
            return Err(Error::Artifact(format!(
                "{}: contains a NUL byte",
                ptx_path.display()
            )));
        }
        // the PTX was compiled for the plan's target
        if let Some(t) = ptx_target(&ptx) {
            if t != plan.target {
                return Err(Error::Artifact(format!(
                    "{}: PTX for {t}, but the plan is for {}",
                    ptx_path.display(),
                    plan.target
                )));
            }
        }
        // every output is written by a launch, or is an input
        for (k, o) in plan.outputs.iter().enumerate() {
            let written = plan
                .launches
                .iter()
                .any(|l| l.args.contains(&crate::plan::Arg::Buffer(o.buffer)));
            if !written && !plan.inputs.iter().any(|i| i.buffer == o.buffer) {
                return Err(Error::Artifact(format!(
                    "{}: output {k} (buffer {}) is written by no launch",
                    dir.display(),
                    o.buffer
                )));
            }
        }
        let entries = ptx_entries(&ptx);
        for (i, l) in plan.launches.iter().enumerate() {
            let e = entries.iter().find(|e| e.name == l.kernel).ok_or_else(|| {
                let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                Error::Artifact(format!(
                    "{}: launch {i} runs '{}', which is not an entry of the PTX (entries: {})",
                    ptx_path.display(),
                    l.kernel,
                    names.join(", ")
                ))
            })?;
            if e.params.len() != l.args.len() {
                return Err(Error::Artifact(format!(
                    "{}: kernel '{}' takes {} parameters, launch {i} passes {} (memrefs must be bare pointers: use-bare-ptr-memref-call-conv)",
                    ptx_path.display(),
                    l.kernel,
                    e.params.len(),
                    l.args.len()
                )));
            }
            for (j, (p, a)) in e.params.iter().zip(&l.args).enumerate() {
                if let Some(n) = p {
                    if *n != a.param_bytes() {
                        return Err(Error::Artifact(format!(
                            "{}: parameter {j} of '{}' has {n} bytes, launch {i} passes {a:?} ({} bytes)",
                            ptx_path.display(),
                            l.kernel,
                            a.param_bytes()
                        )));
                    }
                }
            }
        }

        if weights.len() != plan.weights.len() {
            return Err(Error::Artifact(format!(
                "{} weights for the {} of the plan",
                weights.len(),
                plan.weights.len()
            )));
        }
        for (w, b) in plan.weights.iter().zip(&weights) {
            if b.len() as u64 != w.bytes {
                return Err(Error::Artifact(format!(
                    "weight '{}' has {} bytes, the plan says {}",
                    w.name,
                    b.len(),
                    w.bytes
                )));
            }
        }
        Ok(Artifact {
            dir,
            plan,
            ptx,
            weights,
        })
    }

    /// The CPU reference of the network: the original qnn graph and its weights (bound to it).
    pub fn reference(&self) -> Result<(Graph, Weights), Error> {
        self.reference_with(None)
    }

    /// [`Artifact::reference`] with the qnn weights read from `qnn_weights`, if given (the plan
    /// loaded already is the one it is checked against).
    pub fn reference_with(&self, qnn_weights: Option<&Path>) -> Result<(Graph, Weights), Error> {
        reference_of(&self.dir, Some(&self.plan), qnn_weights)
    }
}

/// Pack every plan weight from the qnn weights file by its packing recipe (constant tables come
/// from the plan).
fn pack_from_qnn(dir: &Path, plan: &Plan, qpath: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let qnn = Weights::load(qpath).map_err(Error::Artifact)?;
    let mut weights = vec![];
    for w in &plan.weights {
        if let Some(b) = w.constant_bytes() {
            weights.push(b);
            continue;
        }
        let recipe = w.packing.as_ref().ok_or_else(|| {
            Error::Artifact(format!(
                "{}: weight '{}' has no packing recipe in plan.json",
                dir.display(),
                w.name
            ))
        })?;
        let src = qnn.get(&recipe.source).ok_or_else(|| {
            Error::Artifact(format!(
                "{}: qnn weight '{}' (for '{}') is missing",
                qpath.display(),
                recipe.source,
                w.name
            ))
        })?;
        let src = nibble_qnn::tensor::Tensor {
            ty: nibble_qnn::graph::TensorType::new(src.ty.shape.clone(), recipe.elem),
            data: src.data.clone(),
        };
        let stored = nibble_tcconv::pack::pack_weight(recipe, &src).map_err(|e| {
            Error::Artifact(format!("{}: '{}': {e}", qpath.display(), recipe.source))
        })?;
        weights.push(nibble_tcconv::pack::to_le_bytes(&stored));
    }
    Ok(weights)
}

/// Read every plan weight from the artifact's packed weights file (constant tables come from
/// the plan).
fn read_packed(dir: &Path, plan: &Plan) -> Result<Vec<Vec<u8>>, Error> {
    let wpath = dir.join(WEIGHTS_FILE);
    let bytes = read(&wpath)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        Error::Artifact(format!("{}: not a safetensors file: {e}", wpath.display()))
    })?;
    let mut weights = vec![];
    for w in &plan.weights {
        if let Some(b) = w.constant_bytes() {
            weights.push(b);
            continue;
        }
        let t = st.tensor(&w.name).map_err(|_| {
            Error::Artifact(format!(
                "{}: weight '{}' is missing",
                wpath.display(),
                w.name
            ))
        })?;
        if !matches!(t.dtype(), Dtype::U8 | Dtype::I32) {
            return Err(Error::Artifact(format!(
                "{}: weight '{}' is {:?}, packed weights are U8 or I32",
                wpath.display(),
                w.name,
                t.dtype()
            )));
        }
        if t.data().len() as u64 != w.bytes {
            return Err(Error::Artifact(format!(
                "{}: weight '{}' has {} bytes, the plan says {}",
                wpath.display(),
                w.name,
                t.data().len(),
                w.bytes
            )));
        }
        weights.push(t.data().to_vec());
    }
    Ok(weights)
}

/// `dir/reference/model.json` and `dir/reference/weights.safetensors` (needs no plan or PTX).
pub fn load_reference(dir: &Path) -> Result<(Graph, Weights), Error> {
    load_reference_with(dir, None)
}

/// `load_reference` with the qnn weights read from `qnn_weights` instead, if given.
pub fn load_reference_with(
    dir: &Path,
    qnn_weights: Option<&Path>,
) -> Result<(Graph, Weights), Error> {
    let plan = match dir.join(PLAN_FILE).exists() {
        true => Some(read_plan(dir)?),
        false => None,
    };
    reference_of(dir, plan.as_ref(), qnn_weights)
}

/// The reference of the artifact in `dir`, checked against its `plan` where there is one.
fn reference_of(
    dir: &Path,
    plan: Option<&Plan>,
    qnn_weights: Option<&Path>,
) -> Result<(Graph, Weights), Error> {
    let rdir = dir.join(REFERENCE_DIR);
    let mpath = rdir.join(REFERENCE_MODEL);
    let wpath = qnn_weights
        .map(Path::to_path_buf)
        .unwrap_or_else(|| rdir.join(WEIGHTS_FILE));
    let text = read(&mpath)?;
    let g: Graph = serde_json::from_slice(&text)
        .map_err(|e| Error::Artifact(crate::plan::json_error(&mpath.display().to_string(), &e)))?;
    // a reference model is checked like IR before the interpreter allocates anything for it
    nibble_qnn::verify::verify_graph(&g)
        .map_err(|e| Error::Artifact(format!("{}: {}", mpath.display(), e.join("; "))))?;
    // and is the network the plan runs: its inputs and results are the plan's
    if let Some(plan) = plan {
        let shapes = |v: &[crate::plan::Io]| -> Vec<Vec<i64>> {
            v.iter().map(|io| io.shape.clone()).collect()
        };
        let args: Vec<Vec<i64>> = g.args.iter().map(|t| t.shape.clone()).collect();
        let results: Vec<Vec<i64>> = g
            .results
            .iter()
            .map(|&r| g.value_type(r).shape.clone())
            .collect();
        if args != shapes(&plan.inputs) || results != shapes(&plan.outputs) {
            return Err(Error::Artifact(format!(
                "{}: a network of inputs {args:?} and results {results:?}, the plan's has inputs {:?} and outputs {:?}",
                mpath.display(),
                shapes(&plan.inputs),
                shapes(&plan.outputs)
            )));
        }
    }
    let w = Weights::load(&wpath).map_err(Error::Artifact)?;
    let w = w
        .into_bound(&g)
        .map_err(|e| Error::Artifact(format!("{}: {e}", wpath.display())))?;
    Ok((g, w))
}

#[cfg(test)]
mod tests {

    #[test]
    fn programmatic_launch_needs_every_kernel_to_wait_before_memory() {
        let waits = ".entry a(\n.param .u64 p\n)\n{\n.reg .b64 %rd<3>;\nld.param.b64 %rd1, [p];\ncvta.to.global.u64 %rd2, %rd1;\ngriddepcontrol.wait;\nld.global.u32 %r1, [%rd2];\nret;\n}\n";
        let late = ".entry b(\n.param .u64 p\n)\n{\nld.param.b64 %rd1, [p];\nld.global.u32 %r1, [%rd1];\ngriddepcontrol.wait;\nret;\n}\n";
        let branch = ".entry c(\n)\n{\n@%p1 bra $L__BB0_2;\ngriddepcontrol.wait;\nret;\n}\n";
        let none = ".entry d(\n)\n{\nret;\n}\n";
        let nothing = |_: &str, _: usize| false;
        assert!(ptx_waits_for_predecessors(waits, &nothing));
        assert!(!ptx_waits_for_predecessors(late, &nothing));
        assert!(!ptx_waits_for_predecessors(branch, &nothing));
        assert!(!ptx_waits_for_predecessors(none, &nothing));
        assert!(!ptx_waits_for_predecessors(
            &format!("{waits}{none}"),
            &nothing
        ));
        assert!(!ptx_waits_for_predecessors("", &nothing));
    }

    /// Copies into shared memory may come before the wait only from parameters no kernel
    /// writes, followed through the address arithmetic.
    #[test]
    fn copies_before_the_wait_read_only_read_only_parameters() {
        let kernel = |src: &str| {
            format!(
                ".entry k(\n.param .u64 k_param_0,\n.param .u64 k_param_1\n)\n{{\n\
                 ld.param.b64 %rd1, [k_param_0];\nld.param.b64 %rd2, [k_param_1];\n\
                 cvta.to.global.u64 %rd3, %rd1;\ncvta.to.global.u64 %rd4, %rd2;\n\
                 mov.u32 %r1, %tid.x;\nmul.wide.u32 %rd5, %r1, 16;\n\
                 add.s64 %rd6, %rd3, %rd5;\nadd.s64 %rd7, %rd4, %rd5;\n\
                 setp.lt.u32 %p1, %r1, 7;\nselp.b32 %r2, 16, 0, %p1;\n\
                 @%p1 cp.async.cg.shared.global [%rd8+2048], [{src}], 16, %r2;\n\
                 griddepcontrol.wait;\ncp.async.cg.shared.global [%rd8], [%rd6], 16;\nret;\n}}\n"
            )
        };
        // parameter 1 is the weight
        let weight = |k: &str, i: usize| k == "k" && i == 1;
        assert!(ptx_waits_for_predecessors(&kernel("%rd7"), &weight));
        // the copy reads the activation (parameter 0), or a sum of both
        assert!(!ptx_waits_for_predecessors(&kernel("%rd6"), &weight));
        let mixed = kernel("%rd7").replace("add.s64 %rd7, %rd4, %rd5", "add.s64 %rd7, %rd4, %rd3");
        assert!(!ptx_waits_for_predecessors(&mixed, &weight));
        // nothing read-only: no copy may come first
        assert!(!ptx_waits_for_predecessors(&kernel("%rd7"), &|_, _| false));
        // an address of no parameter at all
        let loose = kernel("%rd7").replace("add.s64 %rd7, %rd4, %rd5", "mov.u64 %rd7, 4096");
        assert!(!ptx_waits_for_predecessors(&loose, &weight));
    }
    use super::*;

    #[test]
    fn ptx_entries_and_parameter_sizes() {
        let ptx = ".version 7.8\n.target sm_90\n.visible .entry quant(\n\t.param .u64 .ptr .align 1 quant_param_0,\n\t.param .u64 .ptr .align 1 quant_param_1,\n\t.param .f32 quant_param_2\n)\n{\n ret;\n}\n.visible .entry empty()\n{\n ret;\n}\n.entry s(.param .align 8 .b8 s_param_0[16], .param .u32 s_param_1) { ret; }";
        let e = ptx_entries(ptx);
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[0],
            PtxEntry {
                name: "quant".into(),
                params: vec![Some(8), Some(8), Some(4)]
            }
        );
        assert_eq!(
            e[1],
            PtxEntry {
                name: "empty".into(),
                params: vec![]
            }
        );
        assert_eq!(e[2].params, vec![Some(16), Some(4)]);
    }
}

/// Whether every `.entry` of the PTX executes `griddepcontrol.wait` before it reads or writes
/// memory another kernel may write, or branches: the condition for launching it with
/// programmatic stream serialization. Before the wait come only parameter loads, register
/// arithmetic and `cp.async` copies into shared memory whose global address derives from
/// parameters `read_only(kernel, i)` says no kernel writes (weights, constant tables: a conv
/// issues its first weight copies while its producer finishes).
pub fn ptx_waits_for_predecessors(ptx: &str, read_only: &dyn Fn(&str, usize) -> bool) -> bool {
    let mut entries = ptx.split(".entry ").skip(1).peekable();
    if entries.peek().is_none() {
        return false;
    }
    entries.all(|body| {
        let name = body
            .split(|c: char| c == '(' || c.is_whitespace())
            .next()
            .unwrap_or("");
        let Some(open) = body.find('{') else {
            return false;
        };
        // the parameters each register's value derives from
        let mut taint: std::collections::HashMap<&str, Vec<usize>> = Default::default();
        for l in body[open + 1..].lines().map(str::trim) {
            // a guarded instruction (`@%p1 bra ...`): look past the guard
            let l = match l.strip_prefix('@') {
                Some(g) => g
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, rest)| rest.trim_start()),
                None => l,
            };
            if l.starts_with("griddepcontrol.wait") {
                return true;
            }
            let l = l.trim_end_matches(';');
            let (op, operands) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let (dst, srcs) = split_destination(operands);
            let sources = |text: &str| -> Vec<usize> {
                let mut v: Vec<usize> = ptx_registers(text)
                    .flat_map(|r| taint.get(r).cloned().unwrap_or_default())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            if op.starts_with("cp.async.c") && op.contains(".shared.global") {
                // cp.async [shared], [global], bytes(, src bytes)
                let global = srcs.split(',').next().unwrap_or("");
                let from = sources(global);
                if from.is_empty() || !from.iter().all(|&i| read_only(name, i)) {
                    return false;
                }
                continue;
            }
            if op.starts_with("ld.param") {
                let param = srcs
                    .rsplit_once("_param_")
                    .and_then(|(_, i)| i.trim_end_matches(']').parse::<usize>().ok());
                for r in ptx_registers(dst) {
                    taint.insert(r, param.into_iter().collect());
                }
                continue;
            }
            let touches = [
                "ld.", "st.", "cp.", "atom.", "red.", "ldmatrix", "stmatrix", "wgmma", "mbarrier",
                "bra", "ret", "call", "tex.", "prefetch", "bar.", "barrier", "}",
            ];
            if touches.iter().any(|t| op.starts_with(t)) {
                return false;
            }
            let from = sources(srcs);
            for r in ptx_registers(dst) {
                taint.insert(r, from.clone());
            }
        }
        false
    })
}

/// An instruction's operands split into its destination (the first operand, a `{..}` vector
/// included) and the rest.
fn split_destination(operands: &str) -> (&str, &str) {
    let operands = operands.trim();
    if operands.starts_with('{') {
        if let Some(end) = operands.find('}') {
            let rest = operands[end + 1..].trim_start().trim_start_matches(',');
            return (&operands[..=end], rest);
        }
    }
    match operands.split_once(',') {
        Some((d, rest)) => (d, rest),
        None => (operands, ""),
    }
}

/// The registers (`%r12`, `%rd3`, `%p1`, ...) named in a piece of an instruction; special
/// registers (`%tid.x`) carry no parameter.
fn ptx_registers(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('%').filter_map(move |(i, _)| {
        let rest = &text[i + 1..];
        let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        let digits = rest[letters..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        (letters > 0 && digits > 0).then(|| &text[i..i + 1 + letters + digits])
    })
}
