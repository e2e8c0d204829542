//! qnn operations in MLIR (melior) <-> [`Graph`]: [`op_of`] reads an op's typed [`Op`] through
//! the op table (`graph::qnn_ops!`), [`graph_of_func`] a function, [`build_func`] builds one.
//! The attribute readers here are shared with tcconv's reader. Every failure is a message; the
//! caller attaches the op's location.

use crate::graph::{ChannelScales, Graph, Node, Op, TensorType, ValueId};
use crate::semantics::{ElemType, Rounding};
use melior::ir::attribute::{
    AttributeLike, DenseI32ArrayAttribute, DenseI64ArrayAttribute, FloatAttribute,
    IntegerAttribute, StringAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationLike, OperationRef};
use melior::ir::r#type::{RankedTensorType, ShapedTypeLike};
use melior::ir::{Location, RegionLike, Type, Value, ValueLike};
use std::collections::HashMap;

/// `file:line:col` of a location (looking through names, call sites and fusions), or "" if unknown.
pub fn location_string(loc: Location) -> String {
    use mlir_sys::*;
    unsafe {
        let raw = loc.to_raw();
        if mlirLocationIsAFileLineColRange(raw) {
            let file = mlirIdentifierStr(mlirLocationFileLineColRangeGetFilename(raw));
            let file = std::str::from_utf8(std::slice::from_raw_parts(
                file.data as *const u8,
                file.length,
            ))
            .unwrap_or("?");
            let line = mlirLocationFileLineColRangeGetStartLine(raw);
            let col = mlirLocationFileLineColRangeGetStartColumn(raw);
            return format!("{file}:{line}:{col}");
        }
        if mlirLocationIsAName(raw) {
            return location_string(Location::from_raw(mlirLocationNameGetChildLoc(raw)));
        }
        if mlirLocationIsACallSite(raw) {
            return location_string(Location::from_raw(mlirLocationCallSiteGetCaller(raw)));
        }
        if mlirLocationIsAFused(raw) {
            let n = mlirLocationFusedGetNumLocations(raw) as usize;
            let mut locs = vec![raw; n];
            mlirLocationFusedGetLocations(raw, locs.as_mut_ptr());
            for l in locs {
                let s = location_string(Location::from_raw(l));
                if !s.is_empty() {
                    return s;
                }
            }
        }
    }
    String::new()
}

/// The nibble tensor type of an MLIR type (`tensor<...x{i4,ui4,i8,ui8,i16,i32,f32}>`, static shape).
pub fn tensor_type(t: Type) -> Result<TensorType, String> {
    let rt = RankedTensorType::try_from(t)
        .map_err(|_| format!("expected a ranked tensor, found {t}"))?;
    let mut shape = vec![];
    for i in 0..rt.rank() {
        match rt.dim_size(i).map_err(|e| e.to_string())? {
            melior::ir::r#type::DimSize::Static(d) => shape.push(d as i64),
            melior::ir::r#type::DimSize::Dynamic => {
                return Err(format!("dynamic dimensions are not supported: {t}"))
            }
        }
    }
    let e = rt.element().to_string();
    let elem = ElemType::parse(&e).ok_or_else(|| format!("unsupported element type {e} in {t}"))?;
    Ok(TensorType { shape, elem })
}

// Attribute readers shared by every dialect reader (qnn here, tcconv in nibble-tcconv): each
// failure is a message naming the attribute.

/// Attribute `name` of `op`.
pub fn attr<'c>(
    op: &OperationRef<'c, '_>,
    name: &str,
) -> Result<melior::ir::Attribute<'c>, String> {
    op.attribute(name)
        .map_err(|_| format!("missing attribute '{name}'"))
}

/// An optional integer attribute (None when absent).
pub fn opt_int(op: &OperationRef, name: &str) -> Result<Option<i64>, String> {
    if op.attribute(name).is_err() {
        return Ok(None);
    }
    int(op, name).map(Some)
}

/// `array<i64: ...>` with exactly N elements.
pub fn i64_array<const N: usize>(op: &OperationRef, name: &str) -> Result<[i64; N], String> {
    let a = DenseI64ArrayAttribute::try_from(attr(op, name)?)
        .map_err(|_| format!("attribute '{name}' must be array<i64: ...>"))?;
    if a.len() != N {
        return Err(format!(
            "attribute '{name}' must have {N} elements, found {}",
            a.len()
        ));
    }
    Ok(std::array::from_fn(|i| a.element(i).unwrap()))
}

/// `array<i64: ...>` of any length.
pub fn i64_vec(op: &OperationRef, name: &str) -> Result<Vec<i64>, String> {
    let a = DenseI64ArrayAttribute::try_from(attr(op, name)?)
        .map_err(|_| format!("attribute '{name}' must be array<i64: ...>"))?;
    Ok((0..a.len()).map(|i| a.element(i).unwrap()).collect())
}

/// `array<i32: ...>`.
pub fn i32_vec(op: &OperationRef, name: &str) -> Result<Vec<i32>, String> {
    let a = DenseI32ArrayAttribute::try_from(attr(op, name)?)
        .map_err(|_| format!("attribute '{name}' must be array<i32: ...>"))?;
    Ok((0..a.len()).map(|i| a.element(i).unwrap()).collect())
}

/// A string attribute.
pub fn string<'c>(op: &OperationRef<'c, '_>, name: &str) -> Result<&'c str, String> {
    StringAttribute::try_from(attr(op, name)?)
        .map_err(|_| format!("attribute '{name}' must be a string"))
        .and_then(|s| string_text(s).map_err(|e| format!("attribute '{name}': {e}")))
}

/// The text of a string attribute. melior's `StringAttribute::value` panics on an empty string
/// and on bytes that are not UTF-8 (`"\FF"` is a valid MLIR string); this returns "" and an
/// error instead.
pub fn string_text<'c>(a: StringAttribute<'c>) -> Result<&'c str, String> {
    let r = unsafe { mlir_sys::mlirStringAttrGetValue(a.to_raw()) };
    if r.length == 0 || r.data.is_null() {
        return Ok("");
    }
    let bytes = unsafe { std::slice::from_raw_parts(r.data as *const u8, r.length) };
    std::str::from_utf8(bytes).map_err(|_| "the string is not valid UTF-8".to_string())
}

/// The `sym_name` of `op` (a function, a gpu.module), "" where it has none or it is not text.
pub fn symbol_name(op: &OperationRef) -> String {
    string(op, "sym_name").unwrap_or_default().to_owned()
}

/// An integer attribute (bools are i1 integers).
pub fn int(op: &OperationRef, name: &str) -> Result<i64, String> {
    IntegerAttribute::try_from(attr(op, name)?)
        .map(|a| a.value())
        .map_err(|_| format!("attribute '{name}' must be an integer"))
}

/// A `true` / `false` attribute (an `i1`, as MLIR prints booleans).
pub fn bool_attr(op: &OperationRef, name: &str) -> Result<bool, String> {
    let a = attr(op, name)?;
    unsafe {
        if !mlir_sys::mlirAttributeIsABool(a.to_raw()) {
            return Err(format!("attribute '{name}' must be true or false"));
        }
        Ok(mlir_sys::mlirBoolAttrGetValue(a.to_raw()))
    }
}

/// A float attribute, as f32.
pub fn f32_attr(op: &OperationRef, name: &str) -> Result<f32, String> {
    FloatAttribute::try_from(attr(op, name)?)
        .map(|a| a.value() as f32)
        .map_err(|_| format!("attribute '{name}' must be a float"))
}

/// An `array<f32: ...>` attribute.
pub fn f32_vec(op: &OperationRef, name: &str) -> Result<Vec<f32>, String> {
    dense_f32s(attr(op, name)?).ok_or_else(|| format!("attribute '{name}' must be array<f32: ...>"))
}

/// The elements of a dense f32 array attribute (None: not one).
fn dense_f32s(a: melior::ir::Attribute) -> Option<Vec<f32>> {
    unsafe {
        if !mlir_sys::mlirAttributeIsADenseF32Array(a.to_raw()) {
            return None;
        }
        let n = mlir_sys::mlirDenseArrayGetNumElements(a.to_raw());
        Some(
            (0..n)
                .map(|i| mlir_sys::mlirDenseF32ArrayGetElement(a.to_raw(), i))
                .collect(),
        )
    }
}

/// An array of float steps, `[{op = "sub", k = array<f32: ...>}, ...]`
/// ([`crate::semantics::FloatStep`]).
pub fn float_steps(
    op: &OperationRef,
    name: &str,
) -> Result<Vec<crate::semantics::FloatStep>, String> {
    let a = attr(op, name)?;
    let bad = || {
        format!("attribute '{name}' must be [{{op = \"add\" | \"sub\" | \"mul\" | \"div\" | \"rsub\" | \"rdiv\", k = array<f32: ...>}}, ...]")
    };
    unsafe {
        if !mlir_sys::mlirAttributeIsAArray(a.to_raw()) {
            return Err(bad());
        }
        let n = mlir_sys::mlirArrayAttrGetNumElements(a.to_raw());
        let mut steps = vec![];
        for i in 0..n {
            let d = mlir_sys::mlirArrayAttrGetElement(a.to_raw(), i);
            if !mlir_sys::mlirAttributeIsADictionary(d) {
                return Err(bad());
            }
            let get = |key: &str| {
                let r = mlir_sys::mlirDictionaryAttrGetElementByName(
                    d,
                    mlir_sys::MlirStringRef {
                        data: key.as_ptr() as *const std::ffi::c_char,
                        length: key.len(),
                    },
                );
                (!r.ptr.is_null()).then_some(r)
            };
            let (Some(o), Some(k)) = (get("op"), get("k")) else {
                return Err(bad());
            };
            if mlir_sys::mlirDictionaryAttrGetNumElements(d) != 2
                || !mlir_sys::mlirAttributeIsAString(o)
            {
                return Err(bad());
            }
            let s = mlir_sys::mlirStringAttrGetValue(o);
            let s = std::str::from_utf8(std::slice::from_raw_parts(s.data as *const u8, s.length))
                .map_err(|_| bad())?;
            let k = dense_f32s(melior::ir::Attribute::from_raw(k)).ok_or_else(bad)?;
            steps.push(crate::semantics::FloatStep::parse(s, k).ok_or_else(bad)?);
        }
        Ok(steps)
    }
}

/// The fused-conv epilogue attributes (`epilogue`, `multiplier`, `shift`, `residual_*`,
/// `zero_point`, `rounding`, `clamp`, `relu`, optional `second_*` and `then_*`) shared by qnn.conv2d_fused and tcconv kernels.
pub fn epilogue_of(op: &OperationRef) -> Result<crate::graph::Epilogue, String> {
    use crate::graph::{Epilogue, EpilogueKind};
    let kind = match string(op, "epilogue")? {
        "none" => EpilogueKind::None,
        "requantize" => EpilogueKind::Requantize {
            scales: scales(op, "multiplier", "shift")?,
            zero_point: int(op, "zero_point")?,
        },
        "residual" => EpilogueKind::Residual {
            scales: scales(op, "multiplier", "shift")?,
            residual: scales(op, "residual_multiplier", "residual_shift")?,
        },
        k => {
            return Err(format!(
                "epilogue \"{k}\" is not one of none, requantize, residual"
            ))
        }
    };
    let step = |name: &str| requantize_step(op, name);
    Ok(Epilogue {
        kind,
        rounding: rounding_attr(op)?,
        clamp: i64_array(op, "clamp")?,
        relu: int(op, "relu")? != 0,
        second: step("second")?,
        then: step("then")?,
    })
}

/// The requantize step spelled `{name}_multiplier`, `{name}_shift`, `{name}_rounding`,
/// `{name}_zero_point`, `{name}_clamp` (None without `{name}_multiplier`).
pub fn requantize_step(
    op: &OperationRef,
    name: &str,
) -> Result<Option<crate::graph::RequantizeStep>, String> {
    if !op.has_attribute(&format!("{name}_multiplier")) {
        return Ok(None);
    }
    Ok(Some(crate::graph::RequantizeStep {
        scales: scales(op, &format!("{name}_multiplier"), &format!("{name}_shift"))?,
        rounding: rounding_named(op, &format!("{name}_rounding"))?,
        zero_point: int(op, &format!("{name}_zero_point"))?,
        clamp: i64_array(op, &format!("{name}_clamp"))?,
    }))
}

/// The `rounding` attribute.
pub fn rounding_attr(op: &OperationRef) -> Result<Rounding, String> {
    rounding_named(op, "rounding")
}

/// A rounding-mode attribute `name`.
fn rounding_named(op: &OperationRef, name: &str) -> Result<Rounding, String> {
    <Rounding as crate::attrs::AttrValue>::read(op, name)
}

/// Per-channel dyadic scales from a multiplier and a shift attribute.
pub fn scales(op: &OperationRef, mult: &str, shift: &str) -> Result<ChannelScales, String> {
    Ok(ChannelScales {
        multiplier: i32_vec(op, mult)?,
        shift: i32_vec(op, shift)?,
    })
}

/// Is `op` in the qnn dialect?
pub fn is_qnn(op: &OperationRef) -> bool {
    op.name()
        .as_string_ref()
        .as_str()
        .map(|n| n.starts_with("qnn."))
        .unwrap_or(false)
}

/// The typed [`Op`] of a qnn operation (None for an op of another dialect), read by the op
/// table (`graph::qnn_ops!`).
pub fn op_of(op: OperationRef) -> Result<Option<Op>, String> {
    let name = op.name();
    let name = name.as_string_ref().as_str().unwrap_or("").to_owned();
    let Some(mnemonic) = name.strip_prefix("qnn.") else {
        return Ok(None);
    };
    match crate::graph::read_op(mnemonic, &op) {
        Some(r) => {
            let op_ = r?;
            unknown_attribute(mnemonic, &op)?;
            Ok(Some(op_))
        }
        None => Err(format!("unknown qnn operation '{name}'")),
    }
}

/// An error for an attribute the op does not declare. An unprefixed name the op table does not
/// know (a `dilations` from another framework, a misspelled `padding_value`) would otherwise be
/// carried along and ignored, and the op computed without it; discardable attributes keep a
/// dialect prefix (`tcconv.pdl_trigger`), as MLIR asks of them.
fn unknown_attribute(mnemonic: &str, op: &OperationRef) -> Result<(), String> {
    static DECLARED: std::sync::OnceLock<HashMap<&'static str, Vec<String>>> =
        std::sync::OnceLock::new();
    let declared = DECLARED.get_or_init(|| {
        crate::graph::op_attributes()
            .into_iter()
            .map(|(m, attrs)| (m, attrs.into_iter().map(|(n, _)| n).collect()))
            .collect()
    });
    let names = declared.get(mnemonic).map(Vec::as_slice).unwrap_or(&[]);
    for (id, _) in op.attributes() {
        let attr = id.as_string_ref().as_str().unwrap_or("");
        if attr.contains('.') || attr == "operandSegmentSizes" || names.iter().any(|n| n == attr) {
            continue;
        }
        let takes = if names.is_empty() {
            "no attributes".to_owned()
        } else {
            names.join(", ")
        };
        return Err(format!(
            "does not take an attribute '{attr}' (it takes {takes}; a discardable attribute needs a dialect prefix)"
        ));
    }
    Ok(())
}

/// A conversion failure located at an op (`loc` is `file:line:col` or "").
#[derive(Debug, Clone)]
pub struct LocatedError {
    pub loc: String,
    pub message: String,
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.loc.is_empty() {
            write!(f, "error: {}", self.message)
        } else {
            write!(f, "{}: error: {}", self.loc, self.message)
        }
    }
}

/// Convert a `func.func` whose body is qnn ops and a `func.return` into a [`Graph`].
pub fn graph_of_func(func: OperationRef) -> Result<Graph, LocatedError> {
    let here = |op: &OperationRef, message: String| LocatedError {
        loc: location_string(op.location()),
        message,
    };
    let name = StringAttribute::try_from(
        func.attribute("sym_name")
            .map_err(|_| here(&func, "func without a name".into()))?,
    )
    .map_err(|_| "func name is not a string".to_string())
    .and_then(|s| string_text(s).map(str::to_owned))
    .map_err(|e| here(&func, e))?;
    let region = func
        .region(0)
        .map_err(|_| here(&func, "func without a body".into()))?;
    let block = region
        .first_block()
        .ok_or_else(|| here(&func, "func without a body".into()))?;
    let mut ids: HashMap<usize, ValueId> = HashMap::new();
    let key = |v: Value| v.to_raw().ptr as usize;
    let mut args = vec![];
    for i in 0..block.argument_count() {
        let a = block.argument(i).unwrap();
        args.push(tensor_type(a.r#type()).map_err(|m| here(&func, format!("argument {i}: {m}")))?);
        ids.insert(key(a.into()), i);
    }
    let mut g = Graph::new(name, args);
    let mut op = block.first_operation();
    while let Some(o) = op {
        let opname = o.name().as_string_ref().as_str().unwrap_or("").to_owned();
        if opname == "func.return" {
            for v in o.operands() {
                let id = *ids.get(&key(v)).ok_or_else(|| {
                    here(&o, "returns a value defined outside the function".into())
                })?;
                g.results.push(id);
            }
            break;
        }
        let typed = op_of(o).map_err(|m| here(&o, m))?;
        let typed = typed.ok_or_else(|| here(&o, format!("'{opname}' is not a qnn operation")))?;
        let two = match &typed {
            Op::Conv2dFused { epilogue, .. } => epilogue.second.is_some(),
            _ => false,
        };
        if o.result_count() != 1 + two as usize {
            return Err(here(
                &o,
                match (o.result_count(), two) {
                    (2, false) => "a second result needs the second_* epilogue attributes".into(),
                    (_, true) => "an epilogue with a second output has two results".into(),
                    _ => "qnn ops have exactly one result".into(),
                },
            ));
        }
        let mut operands = vec![];
        for v in o.operands() {
            operands.push(
                *ids.get(&key(v))
                    .ok_or_else(|| here(&o, "operand defined outside the function".into()))?,
            );
        }
        let result = tensor_type(o.result(0).unwrap().r#type()).map_err(|m| here(&o, m))?;
        g.nodes.push(Node {
            op: typed,
            operands,
            result,
            loc: location_string(o.location()),
        });
        let first = g.args.len() + g.nodes.len() - 1;
        ids.insert(key(o.result(0).unwrap().into()), first);
        if two {
            let second = tensor_type(o.result(1).unwrap().r#type()).map_err(|m| here(&o, m))?;
            g.nodes.push(Node {
                op: Op::SecondResult,
                operands: vec![first],
                result: second,
                loc: location_string(o.location()),
            });
            ids.insert(key(o.result(1).unwrap().into()), first + 1);
        }
        op = o.next_in_block();
    }
    Ok(g)
}

/// A location from `file:line:col` (unknown when it does not parse).
pub fn location_from_string<'c>(context: &'c melior::Context, loc: &str) -> Location<'c> {
    let mut parts = loc.rsplitn(3, ':');
    match (
        parts.next().and_then(|c| c.parse().ok()),
        parts.next().and_then(|l| l.parse().ok()),
        parts.next(),
    ) {
        (Some(col), Some(line), Some(file)) => Location::new(context, file, line, col),
        _ => Location::unknown(context),
    }
}

/// Build a `func.func` computing `g` with melior op builders; each op gets its node's location.
pub fn build_func<'c>(
    context: &'c melior::Context,
    g: &Graph,
) -> Result<melior::ir::Operation<'c>, String> {
    use melior::ir::attribute::TypeAttribute;
    use melior::ir::operation::OperationBuilder;
    use melior::ir::r#type::FunctionType;
    use melior::ir::{Attribute, Block, Identifier, Region};

    let ty = |t: &TensorType| {
        Type::parse(context, &t.mlir()).ok_or_else(|| format!("cannot build type {}", t.mlir()))
    };
    let unknown = Location::unknown(context);
    let arg_types: Vec<Type> = g.args.iter().map(ty).collect::<Result<_, _>>()?;
    let res_types: Vec<Type> = g
        .results
        .iter()
        .map(|&v| ty(g.value_type(v)))
        .collect::<Result<_, _>>()?;
    let block = Block::new(&arg_types.iter().map(|&t| (t, unknown)).collect::<Vec<_>>());
    let mut values: Vec<Value> = (0..g.args.len())
        .map(|i| block.argument(i).unwrap().into())
        .collect();
    let second = g.second_results();
    // second results of two-result ops, by the op's value
    let mut seconds: HashMap<ValueId, Value> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if matches!(n.op, Op::SecondResult) {
            let v = seconds
                .get(&n.operands[0])
                .copied()
                .ok_or("a second_result of an op without a second output")?;
            values.push(v);
            continue;
        }
        let dict_src = format!("{{{}}}", crate::graph::attr_dict(&n.op));
        let dict = Attribute::parse(context, &dict_src)
            .and_then(|a| melior::ir::attribute::DictionaryAttribute::try_from(a).ok())
            .ok_or_else(|| format!("cannot build attributes {dict_src}"))?;
        let mut attrs: Vec<(Identifier, Attribute)> =
            (0..dict.len()).map(|i| dict.element(i).unwrap()).collect();
        if let Some(seg) = n.op.segment_sizes(n.operands.len()) {
            attrs.push((
                Identifier::new(context, "operandSegmentSizes"),
                DenseI32ArrayAttribute::new(context, &seg).into(),
            ));
        }
        let operands: Vec<Value> = n.operands.iter().map(|&v| values[v]).collect();
        let op = OperationBuilder::new(
            &format!("qnn.{}", n.op.mnemonic()),
            location_from_string(context, &n.loc),
        )
        .add_operands(&operands)
        .add_results(&match second.get(&(g.args.len() + i)) {
            Some(&p) => vec![ty(&n.result)?, ty(g.value_type(p))?],
            None => vec![ty(&n.result)?],
        })
        .add_attributes(&attrs)
        .build()
        .map_err(|e| format!("cannot build qnn.{}: {e}", n.op.mnemonic()))?;
        let op = block.append_operation(op);
        values.push(op.result(0).unwrap().into());
        if let Ok(r) = op.result(1) {
            seconds.insert(g.args.len() + i, r.into());
        }
    }
    let results: Vec<Value> = g.results.iter().map(|&v| values[v]).collect();
    block.append_operation(melior::dialect::func::r#return(&results, unknown));
    let region = Region::new();
    region.append_block(block);
    let fty = FunctionType::new(context, &arg_types, &res_types);
    Ok(melior::dialect::func::func(
        context,
        StringAttribute::new(context, &g.name),
        TypeAttribute::new(fty.into()),
        region,
        &[],
        unknown,
    ))
}
