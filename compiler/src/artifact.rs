//! `nibble-opt --emit=artifact -o DIR [--weights W]`: turn a module at the gpu stage into an
//! artifact directory that `nibble-run` (no MLIR) executes.
//!
//! ```text
//! DIR/kernels.ptx                    every gpu.func of the module, one PTX module
//! DIR/plan.json                      nibble_artifact::plan::Plan: launches in order, buffers at
//!                                    arena offsets (memory_plan), weights, inputs/outputs
//! DIR/weights.safetensors            pre-packed weights by tcconv.weight name (U8 or I32 tensors
//!                                    of the raw packed bytes / little-endian words)
//! DIR/reference/model.json           the ORIGINAL qnn graph (captured before the pipeline ran)
//! DIR/reference/weights.safetensors  its qnn weights (bound to the graph)
//! ```
//! Each file is written through a temporary file and a rename; `plan.json` goes last, so a
//! directory with a plan is complete. Before anything is written, the artifact is checked the
//! way the runtime checks it (`nibble_artifact::Artifact::from_parts`: every launch names a PTX
//! entry whose parameters match its args).
//!
//! What the host function must look like (the output of `convert-tcconv-to-gpu`): arguments are
//! the network's inputs then outputs (`arg_attrs` `tcconv.layout/elem/dims`, func attr
//! `tcconv.num_inputs`, optional `tcconv.target`); its body holds only `tcconv.alloc`,
//! `tcconv.weight`, `memref.get_global` of a module-level `memref.global constant` i32 table
//! (a constant-table weight slot whose values go into the plan), `arith.constant`,
//! `memref.cast`, `gpu.launch_func` (constant grid, block and dynamic shared memory; no
//! clusters, no async) and `func.return`.

use crate::conversion::qnn_to_tcconv::is_qnn_func;
use crate::diagnostics::{Diag, DiagnosticLog};
use crate::memory_plan::{self, BufferReq};
use melior::ir::attribute::{
    AttributeLike, DenseI32ArrayAttribute, FloatAttribute, IntegerAttribute, StringAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationLike, OperationRef};
use melior::ir::r#type::MemRefType;
use melior::ir::{Module, RegionLike, Type, Value, ValueLike};
use melior::Context;
use nibble_artifact::plan::{Arg, BufferSlot, Io, Launch, Plan, WeightSlot, PLAN_VERSION};
use nibble_qnn::graph::{Graph, ValueId};
use nibble_qnn::ir::symbol_name;
use nibble_qnn::weights::Weights;
use nibble_tcconv::buffer::{ActBuffer, Stored};
use nibble_tcconv::program::PackedWeight;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where to write the artifact and which qnn weights to pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArtifactRequest {
    pub dir: PathBuf,
    pub weights: PathBuf,
}

/// The packed weights and the plan read off a gpu-stage module.
#[derive(Clone, Debug)]
pub struct Extracted {
    pub plan: Plan,
    /// Per `plan.weights` entry: how to pack it and the memref shape the kernels see (None for
    /// a constant table, whose values the plan holds).
    pub packed: Vec<Option<(PackedWeight, Vec<i64>)>>,
    /// Arena bytes without any sharing (for the summary).
    pub unshared_bytes: u64,
}

fn err<T>(m: impl Into<String>) -> Result<T, String> {
    Err(m.into())
}

fn top_funcs<'c, 'a>(module: &'a Module<'c>) -> Vec<OperationRef<'c, 'a>> {
    let mut out = vec![];
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op.name().as_string_ref().as_str() == Ok("func.func") {
            out.push(op);
        }
        cur = op.next_in_block();
    }
    out
}

fn op_name(op: &OperationRef) -> String {
    op.name().as_string_ref().as_str().unwrap_or("").to_owned()
}

/// The original qnn network of the input module (before any pass ran): the CPU reference.
pub fn reference_graph(module: &Module) -> Result<Graph, String> {
    let funcs: Vec<OperationRef> = top_funcs(module).into_iter().filter(is_qnn_func).collect();
    let func = match funcs.as_slice() {
        [f] => *f,
        [] => return err("--emit=artifact needs a qnn network as input (the artifact carries the original qnn graph as its CPU reference); the module has no function with qnn ops"),
        fs => return err(format!("--emit=artifact takes one network; the module has {} qnn functions", fs.len())),
    };
    let g = nibble_qnn::ir::graph_of_func(func).map_err(|e| e.to_string())?;
    nibble_qnn::verify::verify_graph(&g).map_err(|e| e.join("\n"))?;
    Ok(g)
}

fn io_of(g: &Graph, v: ValueId, buffer: usize) -> Io {
    let t = g.value_type(v);
    Io {
        buffer,
        shape: t.shape.clone(),
        elem: t.elem.mlir_name().to_owned(),
        layout: nibble_tcconv::lower::qnn_layout(g, v).name().to_owned(),
    }
}

// ------------------------------------------------------------------ attribute readers

fn attr_str(op: &OperationRef, n: &str) -> Result<String, String> {
    let a = op
        .attribute(n)
        .map_err(|_| format!("'{}' lacks attribute '{n}'", op_name(op)))?;
    StringAttribute::try_from(a)
        .map(|s| s.value().to_owned())
        .map_err(|_| format!("'{}': '{n}' must be a string", op_name(op)))
}

/// Bytes of a static memref type (None if not a static memref of a known element type).
fn memref_bytes(t: Type) -> Option<(u64, Vec<i64>)> {
    use melior::ir::r#type::ShapedTypeLike;
    let m = MemRefType::try_from(t).ok()?;
    let mut shape = vec![];
    for i in 0..m.rank() {
        match m.dim_size(i).ok()? {
            melior::ir::r#type::DimSize::Static(d) => shape.push(d as i64),
            melior::ir::r#type::DimSize::Dynamic => return None,
        }
    }
    if shape.iter().any(|&d| d < 0) {
        return None;
    }
    let width = match m.element().to_string().as_str() {
        "i8" => 1,
        "i16" => 2,
        "i32" | "f32" => 4,
        "i64" | "f64" => 8,
        _ => return None,
    };
    let elems = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))?;
    Some((elems.checked_mul(width)?, shape))
}

/// The most values a constant table may hold (a per-channel table has one per channel).
const MAX_TABLE_VALUES: i64 = 1 << 20;

// ------------------------------------------------------------------ module -> plan

#[derive(Clone, Copy, Debug)]
enum Src {
    Buffer(usize),
    Weight(usize),
    Int(i64, u32),
    F32(f32),
}

/// Ops that mean the pipeline stopped before the gpu stage.
fn pre_gpu_op(name: &str) -> bool {
    (name.starts_with("tcconv.") && !matches!(name, "tcconv.alloc" | "tcconv.weight"))
        || name.starts_with("qnn.")
}

/// The host function: the one func.func that launches kernels.
fn host_func<'c, 'a>(module: &'a Module<'c>) -> Result<OperationRef<'c, 'a>, String> {
    let stage_hint = "--emit=artifact needs a pipeline that ends at the gpu stage, e.g. --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})'";
    let mut leftover = None;
    let mut has_gpu_module = false;
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        has_gpu_module |= op_name(&op) == "gpu.module";
        cur = op.next_in_block();
    }
    let mut hosts = vec![];
    for f in top_funcs(module) {
        let mut launches = 0;
        f.walk(melior::ir::operation::WalkOrder::PreOrder, |o| {
            let n = op_name(&o);
            if n == "gpu.launch_func" {
                launches += 1;
            } else if pre_gpu_op(&n) && leftover.is_none() {
                leftover = Some((n, symbol_name(&f)));
            }
            melior::ir::operation::WalkResult::Advance
        });
        if launches > 0 || f.attribute("tcconv.num_inputs").is_ok() {
            hosts.push(f);
        }
    }
    if let Some((n, f)) = leftover {
        return err(format!("{stage_hint}; '{n}' is still in @{f}"));
    }
    if !has_gpu_module {
        return err(format!("{stage_hint}; the module has no gpu.module"));
    }
    match hosts.as_slice() {
        [h] => Ok(*h),
        [] => err(format!("{stage_hint}; no host function launches kernels")),
        hs => err(format!(
            "--emit=artifact takes one network; {} host functions launch kernels",
            hs.len()
        )),
    }
}

fn target_of(module: &Module, host: &OperationRef) -> Result<String, String> {
    if let Ok(t) = attr_str(host, "tcconv.target") {
        return Ok(t);
    }
    // `#nvvm.target<chip = "sm_90">` on the gpu.module.
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op_name(&op) == "gpu.module" {
            if let Ok(t) = op.attribute("targets") {
                let s = t.to_string();
                if let Some(at) = s.find("chip = \"") {
                    let rest = &s[at + 8..];
                    if let Some(end) = rest.find('"') {
                        return Ok(rest[..end].to_owned());
                    }
                }
            }
        }
        cur = op.next_in_block();
    }
    err("cannot tell the target: the host function has no tcconv.target and the gpu.module no nvvm target")
}

/// Read the plan (launches, buffers with a memory plan, weights, I/O) off the gpu-stage module.
pub fn extract(module: &Module, g: &Graph) -> Result<Extracted, String> {
    let host = host_func(module)?;
    let fname = symbol_name(&host);
    let here = |m: String| format!("@{fname}: {m}");
    let target = target_of(module, &host)?;
    nibble_tcconv::target::Target::parse(&target).map_err(here)?;
    let num_inputs = host
        .attribute("tcconv.num_inputs")
        .ok()
        .and_then(|a| IntegerAttribute::try_from(a).ok())
        .map(|a| a.value() as usize)
        .ok_or_else(|| {
            here("the host function lacks the integer attribute tcconv.num_inputs".into())
        })?;
    let block = host
        .region(0)
        .ok()
        .and_then(|r| r.first_block())
        .ok_or_else(|| here("no body".into()))?;
    let nargs = block.argument_count();
    if num_inputs > nargs {
        return Err(here(format!(
            "tcconv.num_inputs = {num_inputs} but {nargs} arguments"
        )));
    }
    if num_inputs != g.args.len() || nargs - num_inputs != g.results.len() {
        return Err(here(format!(
            "{} inputs and {} outputs, the qnn network @{} has {} and {}",
            num_inputs,
            nargs - num_inputs,
            g.name,
            g.args.len(),
            g.results.len()
        )));
    }

    let key = |v: Value| v.to_raw().ptr as usize;
    let mut vals: HashMap<usize, Src> = HashMap::new();
    let mut buffers: Vec<(ActBuffer, u64)> = vec![];
    let mut packed: Vec<Option<(PackedWeight, Vec<i64>)>> = vec![];
    let mut weights: Vec<WeightSlot> = vec![];
    let globals = module_globals(module);

    for i in 0..nargs {
        let ab = nibble_tcconv::ir::arg_buffer_of(&host, i).map_err(here)?;
        let arg: Value = block.argument(i).unwrap().into();
        let mb = memref_bytes(arg.r#type()).map(|x| x.0).unwrap_or(0);
        buffers.push((ab.clone(), mb.max(ab.bytes() as u64)));
        vals.insert(key(arg), Src::Buffer(buffers.len() - 1));
    }

    let mut launches: Vec<Launch> = vec![];
    let mut cur = block.first_operation();
    while let Some(op) = cur {
        cur = op.next_in_block();
        let name = op_name(&op);
        let at = |m: String| format!("{}: {m}", nibble_qnn::ir::location_string(op.location()));
        match name.as_str() {
            "func.return" => break,
            "gpu.wait" => {}
            "tcconv.alloc" => {
                let ab = nibble_tcconv::ir::alloc_buffer_of(&op).map_err(at)?;
                let r: Value = op.result(0).map_err(|_| at("tcconv.alloc without a result".into()))?.into();
                let mb = memref_bytes(r.r#type()).map(|x| x.0).unwrap_or(0);
                buffers.push((ab.clone(), mb.max(ab.bytes() as u64)));
                vals.insert(key(r), Src::Buffer(buffers.len() - 1));
            }
            "tcconv.weight" => {
                let pw = nibble_tcconv::ir::packed_weight_of(&op).map_err(at)?;
                let r: Value = op.result(0).map_err(|_| at("tcconv.weight without a result".into()))?.into();
                let (bytes, shape) = memref_bytes(r.r#type()).ok_or_else(|| at(format!("weight '{}' is not a static memref", pw.name)))?;
                if weights.iter().any(|w| w.name == pw.name) {
                    return Err(at(format!("weight '{}' is defined twice", pw.name)));
                }
                weights.push(WeightSlot {
                    name: pw.name.clone(),
                    bytes,
                    packing: Some(pw.clone()),
                    constant: None,
                });
                packed.push(Some((pw, shape)));
                vals.insert(key(r), Src::Weight(packed.len() - 1));
            }
            "memref.get_global" => {
                let r: Value = op.result(0).map_err(|_| at("memref.get_global without a result".into()))?.into();
                let name = symbol_ref(&op, "name").ok_or_else(|| at("memref.get_global without a symbol".into()))?;
                let k = match weights.iter().position(|w| w.name == name) {
                    Some(k) if weights[k].constant.is_some() => k,
                    Some(_) => return Err(at(format!("'{name}' names both a weight and a constant"))),
                    None => {
                        let values = constant_table(&globals, &name, r.r#type()).map_err(at)?;
                        weights.push(WeightSlot {
                            name: name.clone(),
                            bytes: 4 * values.len() as u64,
                            packing: None,
                            constant: Some(values),
                        });
                        packed.push(None);
                        packed.len() - 1
                    }
                };
                vals.insert(key(r), Src::Weight(k));
            }
            "arith.constant" => {
                let r: Value = op.result(0).map_err(|_| at("arith.constant without a result".into()))?.into();
                let ty = r.r#type().to_string();
                let a = op.attribute("value").map_err(|_| at("arith.constant without a value".into()))?;
                let src = match ty.as_str() {
                    "index" | "i64" => IntegerAttribute::try_from(a).ok().map(|x| Src::Int(x.value(), 64)),
                    "i32" | "i16" | "i8" | "i1" => IntegerAttribute::try_from(a).ok().map(|x| Src::Int(x.value(), 32)),
                    "f32" => FloatAttribute::try_from(a).ok().map(|x| Src::F32(x.value() as f32)),
                    _ => None,
                };
                // Constants of other types may feed ops we do not replay; only launches read them.
                if let Some(s) = src {
                    vals.insert(key(r), s);
                }
            }
            "memref.cast" => {
                let s = op.operand(0).ok().and_then(|v| vals.get(&key(v)).copied()).ok_or_else(|| at("memref.cast of an unknown buffer".into()))?;
                vals.insert(key(op.result(0).unwrap().into()), s);
            }
            "gpu.launch_func" => launches.push(launch_of(&op, &vals, launches.len()).map_err(at)?),
            other => {
                return Err(at(format!(
                    "'{other}' in the host function @{fname}: the artifact's plan replays kernel launches only (allowed: tcconv.alloc, tcconv.weight, memref.get_global of a constant i32 table, arith.constant, memref.cast, gpu.launch_func)"
                )))
            }
        }
    }

    // Memory plan over the launches' buffers; inputs and outputs are pinned.
    let reqs: Vec<BufferReq> = buffers
        .iter()
        .enumerate()
        .map(|(i, (_, b))| BufferReq {
            bytes: *b,
            pinned: i < nargs,
        })
        .collect();
    let uses: Vec<Vec<usize>> = launches
        .iter()
        .map(|l| {
            l.args
                .iter()
                .filter_map(|a| {
                    if let Arg::Buffer(b) = a {
                        Some(*b)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect();
    let mp = memory_plan::plan(&reqs, &uses)?;
    let unshared_bytes = reqs
        .iter()
        .map(|r| r.bytes.div_ceil(memory_plan::ALIGN) * memory_plan::ALIGN)
        .sum();
    let plan = Plan {
        version: PLAN_VERSION,
        network: g.name.clone(),
        target,
        ptx: "kernels.ptx".into(),
        arena_bytes: mp.arena_bytes,
        buffers: buffers
            .iter()
            .enumerate()
            .map(|(i, (ab, bytes))| BufferSlot {
                offset: mp.offsets[i],
                bytes: *bytes,
                layout: ab.layout.name().into(),
                elem: ab.elem.mlir_name().into(),
                dims: ab.dims,
            })
            .collect(),
        weights,
        inputs: (0..num_inputs).map(|k| io_of(g, k, k)).collect(),
        outputs: g
            .results
            .iter()
            .enumerate()
            .map(|(k, &v)| io_of(g, v, num_inputs + k))
            .collect(),
        launches,
    };
    plan.validate()
        .map_err(|e| format!("internal error: the plan read off @{fname} is invalid: {e}"))?;
    Ok(Extracted {
        plan,
        packed,
        unshared_bytes,
    })
}

/// The module-level `memref.global`s by name.
fn module_globals<'c, 'a>(module: &'a Module<'c>) -> HashMap<String, OperationRef<'c, 'a>> {
    let mut m = HashMap::new();
    let mut cur = module.body().first_operation();
    while let Some(op) = cur {
        if op_name(&op) == "memref.global" {
            if let Some(n) = op
                .attribute("sym_name")
                .ok()
                .and_then(|a| StringAttribute::try_from(a).ok())
                .and_then(|s| nibble_qnn::ir::string_text(s).ok())
            {
                m.insert(n.to_owned(), op);
            }
        }
        cur = op.next_in_block();
    }
    m
}

/// The symbol a flat symbol reference attribute `attr` of `op` names.
fn symbol_ref(op: &OperationRef, attr: &str) -> Option<String> {
    let a = op.attribute(attr).ok()?;
    if !unsafe { mlir_sys::mlirAttributeIsAFlatSymbolRef(a.to_raw()) } {
        return None;
    }
    let r = unsafe { mlir_sys::mlirFlatSymbolRefAttrGetValue(a.to_raw()) };
    let bytes = unsafe { std::slice::from_raw_parts(r.data as *const u8, r.length) };
    String::from_utf8(bytes.to_vec()).ok()
}

/// The values of the constant i32 table `@name` (`memref.global ... constant` with a dense
/// initial value of the type `ty` that `memref.get_global` returns).
fn constant_table(
    globals: &HashMap<String, OperationRef>,
    name: &str,
    ty: Type,
) -> Result<Vec<i32>, String> {
    let g = globals.get(name).ok_or_else(|| {
        format!("memref.get_global of '{name}', which is no module-level memref.global")
    })?;
    let (_, shape) = memref_bytes(ty)
        .filter(|(_, s)| s.len() == 1 && s[0] <= MAX_TABLE_VALUES)
        .ok_or_else(|| {
            format!(
                "constant '{name}' is not a static 1-D memref of at most {MAX_TABLE_VALUES} values"
            )
        })?;
    if ty.to_string() != format!("memref<{}xi32>", shape[0]) {
        return Err(format!(
            "'{name}' is not an i32 table (memref.global \"private\" constant @{name} : memref<Nxi32> = dense<...>)"
        ));
    }
    // a global without `constant` is a kernel's state: uploaded with the weights like a table,
    // it starts at zero and the kernel leaves it zero
    let state = g.attribute("constant").is_err();
    let init = g
        .attribute("initial_value")
        .map_err(|_| format!("constant '{name}' has no initial value"))?;
    let raw = init.to_raw();
    unsafe {
        if !mlir_sys::mlirAttributeIsADenseElements(raw)
            || mlir_sys::mlirElementsAttrGetNumElements(raw) != shape[0]
        {
            return Err(format!(
                "constant '{name}': its initial value is not {} dense i32 values",
                shape[0]
            ));
        }
        let values: Vec<i32> = (0..shape[0] as isize)
            .map(|i| mlir_sys::mlirDenseElementsAttrGetInt32Value(raw, i))
            .collect();
        if state && values.iter().any(|&v| v != 0) {
            return Err(format!(
                "'{name}' is neither constant nor zero-initialized state (memref.global \"private\" @{name} : memref<Nxi32> = dense<0>)"
            ));
        }
        Ok(values)
    }
}

fn launch_of(
    op: &OperationRef,
    vals: &HashMap<usize, Src>,
    index: usize,
) -> Result<Launch, String> {
    let key = |v: Value| v.to_raw().ptr as usize;
    let kernel_ref = op
        .attribute("kernel")
        .map_err(|_| "gpu.launch_func without a kernel".to_string())?
        .to_string();
    let kernel = kernel_ref
        .rsplit("::")
        .next()
        .unwrap_or("")
        .trim_start_matches('@')
        .trim_matches('"')
        .to_owned();
    let seg = op
        .attribute("operandSegmentSizes")
        .ok()
        .and_then(|a| DenseI32ArrayAttribute::try_from(a).ok())
        .map(|d| {
            (0..d.len())
                .map(|i| d.element(i).unwrap() as usize)
                .collect::<Vec<usize>>()
        })
        .ok_or_else(|| format!("launch {index} ({kernel}): no operandSegmentSizes"))?;
    // asyncDependencies, grid x/y/z, block x/y/z, cluster x/y/z, dynamicSharedMemorySize,
    // kernelOperands, asyncObject (MLIR 22).
    if seg.len() != 13 {
        return err(format!("launch {index} ({kernel}): {} operand segments, this reader knows gpu.launch_func with 13", seg.len()));
    }
    if seg[7..10].iter().any(|&n| n > 0) || seg[12] > 0 {
        return err(format!(
            "launch {index} ({kernel}): cluster launches and async objects are not supported"
        ));
    }
    let start = |k: usize| seg[..k].iter().sum::<usize>();
    let int = |pos: usize, what: &str| -> Result<i64, String> {
        match op
            .operand(pos)
            .ok()
            .and_then(|v| vals.get(&key(v)).copied())
        {
            Some(Src::Int(x, _)) => Ok(x),
            _ => err(format!(
                "launch {index} ({kernel}): the {what} is not an arith.constant"
            )),
        }
    };
    let dim = |k: usize, what: &str| -> Result<u32, String> {
        let x = int(start(k), what)?;
        u32::try_from(x)
            .ok()
            .filter(|&x| x > 0)
            .ok_or_else(|| format!("launch {index} ({kernel}): {what} = {x}"))
    };
    let grid = [
        dim(1, "grid size x")?,
        dim(2, "grid size y")?,
        dim(3, "grid size z")?,
    ];
    let block = [
        dim(4, "block size x")?,
        dim(5, "block size y")?,
        dim(6, "block size z")?,
    ];
    let shared_bytes = if seg[10] == 1 {
        let x = int(start(10), "dynamic shared memory size")?;
        u32::try_from(x)
            .map_err(|_| format!("launch {index} ({kernel}): dynamic shared memory size {x}"))?
    } else {
        0
    };
    let mut args = vec![];
    for j in 0..seg[11] {
        let v = op
            .operand(start(11) + j)
            .map_err(|_| format!("launch {index} ({kernel}): missing operand"))?;
        args.push(match vals.get(&key(v)) {
            Some(Src::Buffer(b)) => Arg::Buffer(*b),
            Some(Src::Weight(w)) => Arg::Weight(*w),
            Some(Src::Int(x, 64)) => Arg::I64(*x),
            Some(Src::Int(x, _)) => Arg::I32(*x as i32),
            Some(Src::F32(x)) => Arg::F32(*x),
            None => {
                return err(format!(
                    "launch {index} ({kernel}): argument {j} ({}) is neither a buffer, a weight nor an index/i32/i64/f32 constant",
                    v.r#type()
                ))
            }
        });
    }
    Ok(Launch {
        kernel,
        grid,
        block,
        shared_bytes,
        args,
    })
}

// ------------------------------------------------------------------ writing

/// The shape a packed weight is saved with: its memref's where that counts its stored elements
/// (bytes, or 32-bit words), else one dimension.
fn packed_shape(s: &Stored, shape: &[i64]) -> Vec<i64> {
    let n = match s {
        Stored::Bytes(b) => b.len(),
        Stored::Words(w) => w.len(),
        Stored::Floats(f) => f.len(),
    };
    if shape.iter().product::<i64>() as usize == n {
        shape.to_vec()
    } else {
        vec![n as i64]
    }
}

fn stored_bytes(s: &Stored) -> usize {
    match s {
        Stored::Bytes(b) => b.len(),
        Stored::Words(w) => w.len() * 4,
        Stored::Floats(f) => f.len() * 4,
    }
}

/// What [`emit`] wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    pub dir: PathBuf,
    pub launches: usize,
    pub kernels: usize,
    pub buffers: usize,
    pub arena_bytes: u64,
    pub unshared_bytes: u64,
    pub weights: usize,
    pub weight_bytes: u64,
    pub target: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "nibble-opt: wrote artifact {} for {}: {} launches of {} kernels, {} buffers in a {}-byte arena ({} bytes unshared), {} packed weights ({} bytes)",
            self.dir.display(),
            self.target,
            self.launches,
            self.kernels,
            self.buffers,
            self.arena_bytes,
            self.unshared_bytes,
            self.weights,
            self.weight_bytes
        )
    }
}

/// The qnn weights of an artifact, bound to its network, and the bytes of the file they came
/// from.
pub struct BoundWeights {
    qnn: Weights,
    file: Option<Vec<u8>>,
}

/// Read `req.weights` and bind them to `g` (a network without weights needs no file).
pub fn load_weights(g: &Graph, req: &ArtifactRequest) -> Result<BoundWeights, String> {
    if g.weight_names().is_empty() && !req.weights.exists() {
        return Ok(BoundWeights {
            qnn: Weights::default(),
            file: None,
        });
    }
    let file = std::fs::read(&req.weights)
        .map_err(|e| format!("{}: cannot read weights: {e}", req.weights.display()))?;
    let qnn = Weights::from_bytes(&file)
        .and_then(|w| w.into_bound(g))
        .map_err(|e| format!("{}: {e}", req.weights.display()))?;
    Ok(BoundWeights {
        qnn,
        file: Some(file),
    })
}

/// [`load_weights`] on a thread of its own, started before the pipeline runs (which needs one
/// core; reading and checking ResNet-50's 25 MB of weights takes about as long).
pub struct WeightsLoader(std::thread::JoinHandle<Result<BoundWeights, String>>);

impl WeightsLoader {
    pub fn start(g: &Graph, req: &ArtifactRequest) -> Self {
        let (g, req) = (g.clone(), req.clone());
        WeightsLoader(std::thread::spawn(move || load_weights(&g, &req)))
    }
    pub fn finish(self) -> Result<BoundWeights, String> {
        self.0
            .join()
            .unwrap_or_else(|_| Err("internal error: reading the weights panicked".into()))
    }
}

/// Write the artifact of a gpu-stage `module` whose original qnn network is `g` and whose
/// weights are `weights` (from [`load_weights`]).
pub fn emit(
    context: &Context,
    module: &Module,
    g: &Graph,
    req: &ArtifactRequest,
    weights: Result<BoundWeights, String>,
) -> Result<Summary, String> {
    let ex = crate::timing::time("artifact: launch plan", || extract(module, g))?;
    let BoundWeights { qnn, file } = weights?;
    // the reference weights: the file itself where it holds exactly the bound tensors as the
    // artifact stores them, else written again
    let reference_file = file.filter(|f| qnn.stored_as(f));
    let dir = &req.dir;
    let model = serde_json::to_string_pretty(g).map_err(|e| e.to_string())?;
    let mut checked = None;
    // built beside `dir` and renamed into place: a failure leaves an old artifact whole
    nibble_qnn::write_dir_atomically(dir, nibble_artifact::artifact::PLAN_FILE, |stage| {
        // the weights are packed and written into the staging directory while LLVM compiles
        // the kernels (nothing reaches `dir` before the whole artifact is checked)
        let (weights_bytes, ptx) = std::thread::scope(|scope| {
            let weights = scope
                .spawn(|| write_weights(&ex, &qnn, req, stage, &model, reference_file.as_deref()));
            let ptx =
                crate::conversion::tcconv_to_gpu::gpu_to_ptx(context, module, &ex.plan.target);
            let weights = weights
                .join()
                .unwrap_or_else(|_| Err("internal error: packing the weights panicked".into()));
            (weights, ptx)
        });
        let (weights_bytes, packed) = weights_bytes?;
        crate::timing::record("artifact: pack and write weights (beside LLVM)", packed);
        let ptx = ptx?;
        let writing = std::time::Instant::now();
        // Check it all the way the runtime will, before the artifact is moved into place.
        let art = nibble_artifact::Artifact::from_parts(
            req.dir.clone(),
            ex.plan.clone(),
            ptx,
            weights_bytes,
        )
        .map_err(|e| format!("internal error: {e}"))?;
        let write = |p: &Path, b: &[u8]| nibble_qnn::write_atomically(p, b);
        write(&stage.join(&art.plan.ptx), art.ptx.as_bytes())?;
        write(
            &stage.join(nibble_artifact::artifact::PLAN_FILE),
            art.plan.to_json().as_bytes(),
        )?;
        crate::timing::record("artifact: check and write", writing.elapsed());
        checked = Some(art);
        Ok(())
    })?;
    let art = checked.ok_or("internal error: the artifact was not written")?;
    let mut kernels: Vec<&str> = art
        .plan
        .launches
        .iter()
        .map(|l| l.kernel.as_str())
        .collect();
    kernels.sort_unstable();
    kernels.dedup();
    Ok(Summary {
        dir: dir.clone(),
        launches: art.plan.launches.len(),
        kernels: kernels.len(),
        buffers: art.plan.buffers.len(),
        arena_bytes: art.plan.arena_bytes,
        unshared_bytes: ex.unshared_bytes,
        weights: art.plan.weights.len(),
        weight_bytes: art.plan.weights.iter().map(|w| w.bytes).sum(),
        target: art.plan.target.clone(),
    })
}

/// Pack the weights of `ex` from `qnn` (the bytes of each plan weight slot, constant slots
/// included) and write the packed weights, the reference model `model` and its weights into
/// the staging directory `stage`; the slots' bytes and the time it took.
fn write_weights(
    ex: &Extracted,
    qnn: &nibble_qnn::weights::Weights,
    req: &ArtifactRequest,
    stage: &Path,
    model: &str,
    reference_file: Option<&[u8]>,
) -> Result<(Vec<Vec<u8>>, std::time::Duration), String> {
    let started = std::time::Instant::now();
    // (name, shape, 32-bit words?, weight slot) of each packed weight, its bytes in
    // `weights_bytes[slot]`
    let mut packed = vec![];
    let mut weights_bytes = vec![];
    for (pk, slot) in ex.packed.iter().zip(&ex.plan.weights) {
        let Some((pw, shape)) = pk else {
            weights_bytes.push(slot.constant_bytes().unwrap_or_default());
            continue;
        };
        let src = qnn.get(&pw.source).ok_or_else(|| {
            format!(
                "weight '{}' (packed as '{}') is not in {}",
                pw.source,
                pw.name,
                req.weights.display()
            )
        })?;
        let s = nibble_tcconv::pack::pack_weight(pw, src)
            .map_err(|e| format!("weight '{}' (packed as '{}'): {e}", pw.source, pw.name))?;
        if stored_bytes(&s) as u64 != slot.bytes {
            return err(format!(
                "weight '{}': packed to {} bytes, its memref holds {}",
                pw.name,
                stored_bytes(&s),
                slot.bytes
            ));
        }
        packed.push((
            pw.name.clone(),
            packed_shape(&s, shape),
            !matches!(s, Stored::Bytes(_)),
            weights_bytes.len(),
        ));
        let mut le = vec![];
        match &s {
            Stored::Bytes(b) => le.extend_from_slice(b),
            Stored::Words(w) => w
                .iter()
                .for_each(|x| le.extend_from_slice(&x.to_le_bytes())),
            Stored::Floats(f) => f
                .iter()
                .for_each(|x| le.extend_from_slice(&x.to_le_bytes())),
        }
        weights_bytes.push(le);
    }
    let rdir = stage.join(nibble_artifact::artifact::REFERENCE_DIR);
    std::fs::create_dir_all(&rdir)
        .map_err(|e| format!("{}: cannot create: {e}", rdir.display()))?;
    let write = |p: &Path, b: &[u8]| nibble_qnn::write_atomically(p, b);
    // constant slots are not in the file
    let raw: Vec<(String, Vec<i64>, bool, &[u8])> = packed
        .iter()
        .map(|(n, shape, words, slot)| {
            (
                n.clone(),
                shape.clone(),
                *words,
                weights_bytes[*slot].as_slice(),
            )
        })
        .collect();
    nibble_qnn::weights::save_raw(&stage.join(nibble_artifact::artifact::WEIGHTS_FILE), &raw)?;
    write(
        &rdir.join(nibble_artifact::artifact::REFERENCE_MODEL),
        model.as_bytes(),
    )?;
    let rweights = rdir.join(nibble_artifact::artifact::WEIGHTS_FILE);
    match reference_file {
        Some(bytes) => write(&rweights, bytes)?,
        None => qnn.save(&rweights)?,
    }
    Ok((weights_bytes, started.elapsed()))
}

// ------------------------------------------------------------------ nibble-opt hooks

fn report(log: &DiagnosticLog, message: String) {
    log.push(Diag::error(message));
}

/// nibble-opt, before the pipeline: capture the reference graph (errors go to `log`) and start
/// reading its weights.
pub fn capture(
    module: &Module,
    req: &ArtifactRequest,
    log: &DiagnosticLog,
) -> Result<(Graph, WeightsLoader), ()> {
    let g = reference_graph(module).map_err(|m| report(log, m))?;
    let loader = WeightsLoader::start(&g, req);
    Ok((g, loader))
}

/// nibble-opt, after the pipeline: write the artifact; the summary is the tool's output.
pub fn write(
    context: &Context,
    module: &Module,
    g: &Graph,
    req: &ArtifactRequest,
    weights: WeightsLoader,
    log: &DiagnosticLog,
) -> Result<String, ()> {
    emit(context, module, g, req, weights.finish())
        .map(|s| s.to_string())
        .map_err(|m| report(log, m))
}
