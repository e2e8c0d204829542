//! tcconv in MLIR: [`Program`] -> `func.func` of tcconv ops on memrefs (built with melior op
//! builders), and the way back (`program_of_func`), so every later stage reads IR files.

use crate::buffer::ActBuffer;
use crate::program::*;
use crate::select::Family;
use crate::target::{MmaShape, Target};
use melior::ir::attribute::{
    ArrayAttribute, DenseI32ArrayAttribute, DenseI64ArrayAttribute, DictionaryAttribute,
    IntegerAttribute, StringAttribute, TypeAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike, OperationRef};
use melior::ir::r#type::FunctionType;
use melior::ir::{
    Attribute, Block, Identifier, Location, Operation, Region, RegionLike, Type, Value, ValueLike,
};
use melior::Context;
use nibble_qnn::graph::{
    arr32, arr64, dict_text, epilogue_attrs, f32_array, f32_attr, ChannelScales, RequantizeStep,
};
use nibble_qnn::ir::{
    attr, epilogue_of, f32_attr as read_f32, f32_vec, i32_vec, i64_array, int, location_string,
    opt_int, rounding_attr, scales, string, string_text, LocatedError,
};
use nibble_qnn::semantics::{AvgPoolF32, ElemType, KernelLayout, Layout, QuantizeMode, Rounding};
use std::collections::HashMap;

/// The MLIR spelling of an MMA operand type (`s4`, `u4`, `s8`, `u8`, as PTX names them).
pub fn mma_type_name(e: ElemType) -> &'static str {
    match e {
        ElemType::I4 => "s4",
        ElemType::U4 => "u4",
        ElemType::I8 => "s8",
        ElemType::U8 => "u8",
        _ => "s32",
    }
}
fn mma_type_parse(s: &str) -> Result<ElemType, String> {
    Ok(match s {
        "s4" => ElemType::I4,
        "u4" => ElemType::U4,
        "s8" => ElemType::I8,
        "u8" => ElemType::U8,
        _ => return Err(format!("unknown MMA operand type '{s}'")),
    })
}

fn packing_name(p: &Packing) -> &'static str {
    match p {
        Packing::ConvOhwi => "ohwi",
        Packing::ConvHwoi => "hwoi",
        Packing::DenseOk => "ok",
        Packing::Bias => "bias",
    }
}

fn buffer_attrs(b: &ActBuffer) -> String {
    format!(
        "dims = {}, elem = \"{}\", layout = \"{}\"{}",
        arr64(&b.dims),
        b.elem,
        b.layout,
        if b.narrow {
            ", storage = \"narrow16\""
        } else {
            ""
        }
    )
}

/// A conv's fused input quantize: the `tcconv.quantize` attributes with an `input_` prefix, and
/// the element type and layout of the quantized tensor the kernel reads as if stored (its dims
/// are the f32 input's). Ends with ", ".
fn input_quantize_attrs(q: &InputQuantize) -> String {
    let mut s = format!(
        "input_elem = \"{}\", input_layout = \"{}\", ",
        q.quantized.elem, q.quantized.layout
    );
    if q.mode != QuantizeMode::default() {
        s += &format!("input_mode = \"{}\", ", q.mode.name());
    }
    s += &format!("input_scale = {}, ", f32_attr(q.scale));
    if q.zero_point != 0 {
        s += &format!("input_zero_point = {} : i64, ", q.zero_point);
    }
    s
}

/// The mode attribute `name` (the default where absent).
fn quantize_mode(op: &OperationRef, name: &str) -> Result<QuantizeMode, String> {
    match op.attribute(name) {
        Err(_) => Ok(QuantizeMode::default()),
        Ok(_) => {
            let m = s(op, name)?;
            QuantizeMode::parse(&m)
                .ok_or_else(|| format!("mode \"{m}\" is not one of multiply_reciprocal, divide"))
        }
    }
}

fn weight_memref(w: &PackedWeight) -> String {
    if let Some(g) = crate::pack::tile_grid(w) {
        let dims: Vec<String> = g.iter().map(|d| d.to_string()).collect();
        return format!("memref<{}xi8>", dims.join("x"));
    }
    let [o, i, kh, kw] = w.dims;
    // a widened weight: one byte a value, its groups of 32 channels whole
    let i = if w.widened {
        crate::pack::stored_channels(w) as i64
    } else {
        i
    };
    let elem = crate::pack::stored_elem(w);
    let buf = |c: i64| ActBuffer::new(Layout::NC, elem, [1, c, 1, 1]);
    let (shape, elem) = match w.packing {
        Packing::ConvOhwi => (vec![o, kh, kw, buf(i).inner_dim()], buf(i).memref_elem()),
        Packing::ConvHwoi => (vec![kh, kw, o, buf(i).inner_dim()], buf(i).memref_elem()),
        Packing::DenseOk => (vec![o, buf(i).inner_dim()], buf(i).memref_elem()),
        Packing::Bias => (vec![o], "i32"),
    };
    format!(
        "memref<{}x{elem}>",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x")
    )
}

fn tiling_attrs(t: &Tiling) -> String {
    format!(
        "a_type = \"{}\", b_type = \"{}\", block_tile = {}, {}{}{}mma = {}, stages = {} : i64, {}warp_tile = {}, widen = {}",
        mma_type_name(t.a_type),
        mma_type_name(t.b_type),
        arr64(&t.block_tile),
        t.blocks_per_sm
            .map(|n| format!("blocks_per_sm = {n} : i64, "))
            .unwrap_or_default(),
        if t.bounded_sum {
            "bounded_sum = true, "
        } else {
            ""
        },
        if t.k_cluster > 1 {
            format!("k_cluster = {} : i64, ", t.k_cluster)
        } else {
            String::new()
        },
        arr64(&[t.mma.m, t.mma.n, t.mma.k]),
        t.stages,
        if t.tiles_per_block > 1 {
            format!("tiles_per_block = {} : i64, ", t.tiles_per_block)
        } else {
            String::new()
        },
        arr64(&t.warp_tile),
        t.widen
    )
}

fn dict<'c>(ctx: &'c Context, body: &str) -> Result<Vec<(Identifier<'c>, Attribute<'c>)>, String> {
    let src = format!("{{{body}}}");
    let d = Attribute::parse(ctx, &src)
        .and_then(|a| DictionaryAttribute::try_from(a).ok())
        .ok_or_else(|| format!("cannot build attributes {src}"))?;
    Ok((0..d.len()).map(|i| d.element(i).unwrap()).collect())
}

/// Build the `func.func` of a program: inputs, then outputs, as memref arguments.
pub fn build_func<'c>(
    ctx: &'c Context,
    p: &Program,
    loc: Location<'c>,
) -> Result<Operation<'c>, String> {
    let memref = |s: &str| Type::parse(ctx, s).ok_or_else(|| format!("cannot build type {s}"));
    let args: Vec<usize> = p.inputs.iter().chain(&p.outputs).copied().collect();
    let arg_types: Vec<Type> = args
        .iter()
        .map(|&b| memref(&p.buffers[b].memref_type()))
        .collect::<Result<_, _>>()?;
    let block = Block::new(&arg_types.iter().map(|&t| (t, loc)).collect::<Vec<_>>());
    let mut bufs: HashMap<BufId, Value> = HashMap::new();
    for (i, &b) in args.iter().enumerate() {
        bufs.entry(b)
            .or_insert_with(|| block.argument(i).unwrap().into());
    }
    for (id, b) in p.buffers.iter().enumerate() {
        if bufs.contains_key(&id) {
            continue;
        }
        let op = OperationBuilder::new("tcconv.alloc", loc)
            .add_results(&[memref(&b.memref_type())?])
            .add_attributes(&dict(ctx, &buffer_attrs(b))?)
            .build()
            .map_err(|e| e.to_string())?;
        let op = block.append_operation(op);
        bufs.insert(id, op.result(0).unwrap().into());
    }
    let mut weights = vec![];
    for w in &p.weights {
        let mut attrs = format!(
            "dims = {}, elem = \"{}\", name = \"{}\", packing = \"{}\", source = \"{}\", source_layout = \"{}\"",
            arr64(&w.dims),
            w.elem,
            w.name,
            packing_name(&w.packing),
            w.source,
            w.source_layout.name()
        );
        if let Some(t) = w.tiles {
            attrs += &format!(", tiles = {}", arr64(&t));
        }
        if w.widened {
            attrs += ", widened = true";
        }
        if let Some(s) = w.space_to_depth {
            attrs += &format!(
                ", source_dims = {}, space_to_depth = {} : i64",
                arr64(&s.source_dims),
                s.block
            );
        }
        let op = OperationBuilder::new("tcconv.weight", loc)
            .add_results(&[memref(&weight_memref(w))?])
            .add_attributes(&dict(ctx, &attrs)?)
            .build()
            .map_err(|e| e.to_string())?;
        let op = block.append_operation(op);
        weights.push(Value::from(op.result(0).unwrap()));
    }
    for op in &p.ops {
        let (operands, segments, attrs): (Vec<Value>, Option<Vec<i32>>, String) = match op {
            TcOp::Quantize {
                input,
                output,
                scale,
                zero_point,
                mode,
                padding,
                padding_value,
                space_to_depth,
                pre,
            } => (vec![bufs[input], bufs[output]], None, {
                let mut s = String::new();
                if *mode != QuantizeMode::default() {
                    s += &format!("mode = \"{}\", ", mode.name());
                }
                if !pre.is_empty() {
                    let mut e = vec![];
                    nibble_qnn::attrs::AttrValue::entries(pre, "pre", &mut e);
                    s += &format!("pre = {}, ", e[0].1);
                }
                if *padding != [0; 4] || *space_to_depth != 0 {
                    s += &format!(
                        "padding = {}, padding_value = {padding_value} : i64, ",
                        arr64(padding)
                    );
                }
                if *space_to_depth != 0 {
                    s += &format!("space_to_depth = {space_to_depth} : i64, ");
                }
                s += &format!("scale = {}", f32_attr(*scale));
                if *zero_point != 0 {
                    s += &format!(", zero_point = {zero_point} : i64");
                }
                s
            }),
            TcOp::Pad {
                input,
                output,
                padding,
                value,
            } => (
                vec![bufs[input], bufs[output]],
                None,
                format!("padding = {}, value = {value} : i64", arr64(padding)),
            ),
            TcOp::Dequantize {
                input,
                output,
                scales,
            } => (
                vec![bufs[input], bufs[output]],
                None,
                format!("scale = {}", f32_array(scales)),
            ),
            TcOp::Gather {
                input,
                output,
                indices,
            } => (
                vec![bufs[input], bufs[output]],
                None,
                format!("indices = {}", arr32(indices)),
            ),
            TcOp::Softmax {
                input,
                output,
                table,
                scale,
                zero_point,
            } => (
                vec![bufs[input], bufs[output]],
                None,
                format!(
                    "scale = {}, table = {}, zero_point = {zero_point} : i64",
                    f32_attr(*scale),
                    f32_array(table)
                ),
            ),
            TcOp::Relayout { input, output } => {
                (vec![bufs[input], bufs[output]], None, String::new())
            }
            TcOp::Concat { inputs, output } => {
                let mut v: Vec<Value> = inputs.iter().map(|b| bufs[b]).collect();
                v.push(bufs[output]);
                (v, None, String::new())
            }
            TcOp::Conv2d(c) => {
                let mut v = vec![bufs[&c.input], weights[c.weight]];
                v.extend(c.bias.map(|b| weights[b]));
                v.extend(c.residual.map(|r| bufs[&r]));
                v.push(bufs[&c.output]);
                v.extend(c.second.map(|b| bufs[&b]));
                let sc = c.shortcut.as_ref();
                v.extend(sc.map(|sc| bufs[&sc.input]));
                v.extend(sc.map(|sc| weights[sc.weight]));
                v.extend(sc.and_then(|sc| sc.bias).map(|b| weights[b]));
                let seg = vec![
                    1,
                    1,
                    c.bias.is_some() as i32,
                    c.residual.is_some() as i32,
                    1,
                    c.second.is_some() as i32,
                    sc.is_some() as i32,
                    sc.is_some() as i32,
                    sc.is_some_and(|sc| sc.bias.is_some()) as i32,
                ];
                let a = format!(
                    "{}{}, family = \"{}\", {}{}kernel = {}, padding = {}, {}strategy = \"{}\", strides = {}, {}",
                    c.chain.map_or(String::new(), |k| format!("chain = {k} : i64, ")),
                    dict_text(epilogue_attrs(&c.epilogue)),
                    c.family.name(),
                    if c.groups == 1 { String::new() } else { format!("groups = {} : i64, ", c.groups) },
                    c.quantize.as_ref().map_or(String::new(), input_quantize_attrs),
                    arr64(&c.kernel),
                    arr64(&c.padding),
                    match sc {
                        Some(sc) => format!("shortcut_strides = {}, ", arr64(&sc.strides)),
                        None => String::new(),
                    },
                    c.strategy.name(),
                    arr64(&c.strides),
                    tiling_attrs(&c.tiling)
                );
                let a = match &c.pool {
                    Some(pl) => format!(
                        "{a}, pool_kernel = {}, pool_padding = {}, pool_strides = {}",
                        arr64(&pl.kernel),
                        arr64(&pl.padding),
                        arr64(&pl.strides)
                    ),
                    None => a,
                };
                (v, Some(seg), a)
            }
            TcOp::Dense(d) => {
                let mut v = vec![bufs[&d.input], weights[d.weight]];
                v.extend(d.bias.map(|b| weights[b]));
                v.push(bufs[&d.output]);
                (
                    v,
                    None,
                    format!(
                        "{}{}{}, {}",
                        match &d.dequantize {
                            Some(s) => format!("dequantize = {}, ", f32_array(s)),
                            None => String::new(),
                        },
                        match &d.pool {
                            Some(pl) => format!("{}, ", dict_text(dense_pool_attrs(pl))),
                            None => String::new(),
                        },
                        dict_text(epilogue_attrs(&d.epilogue)),
                        tiling_attrs(&d.tiling)
                    ),
                )
            }
            TcOp::Pool {
                kind,
                input,
                output,
                kernel,
                strides,
                padding,
                divisor,
                requantize,
                second,
            } => {
                let name = match kind {
                    PoolKind::Max => "max",
                    PoolKind::Avg => "avg",
                    PoolKind::AvgF32(_) => "avg_f32",
                };
                let mut a: Vec<(String, String)> = vec![
                    ("kernel".into(), arr64(kernel)),
                    ("kind".into(), format!("\"{name}\"")),
                    ("padding".into(), arr64(padding)),
                    ("strides".into(), arr64(strides)),
                ];
                if let PoolKind::AvgF32(p) = kind {
                    a.push(("input_scale".into(), f32_attr(p.input_scale)));
                    a.push((
                        "input_zero_point".into(),
                        format!("{} : i64", p.input_zero_point),
                    ));
                    a.push(("output_scale".into(), f32_attr(p.output_scale)));
                    a.push((
                        "output_zero_point".into(),
                        format!("{} : i64", p.output_zero_point),
                    ));
                    if p.count_include_pad {
                        a.push(("count_include_pad".into(), "true".into()));
                    }
                    a.sort();
                }
                if let Some(d) = divisor {
                    a.push(("divisor".into(), format!("{d} : i64")));
                }
                // a fused requantize: the elementwise op's attribute names
                if let Some(q) = requantize {
                    q.entries("", &mut a);
                }
                let mut v = vec![bufs[input], bufs[output]];
                // a second output: its buffer the third operand, its requantize `second_*`
                if let Some(sec) = second {
                    sec.requantize.entries("second_", &mut a);
                    v.push(bufs[&sec.output]);
                }
                (v, None, dict_text(a))
            }
            TcOp::Elementwise {
                op: e,
                inputs,
                output,
            } => {
                let mut v: Vec<Value> = inputs.iter().map(|i| bufs[i]).collect();
                v.push(bufs[output]);
                let (kind, s, r, rounding, zp, clamp) = match e {
                    Elementwise::Requantize {
                        scales,
                        rounding,
                        zero_point,
                        clamp,
                        ..
                    } => (
                        "requantize",
                        scales.clone(),
                        None,
                        *rounding,
                        *zero_point,
                        *clamp,
                    ),
                    Elementwise::Add {
                        lhs,
                        rhs,
                        rounding,
                        clamp,
                        ..
                    } => ("add", lhs.clone(), Some(rhs.clone()), *rounding, 0, *clamp),
                    Elementwise::Relu => (
                        "relu",
                        ChannelScales {
                            multiplier: vec![],
                            shift: vec![],
                        },
                        None,
                        Rounding::HalfToEven,
                        0,
                        [0, i32::MAX as i64],
                    ),
                    Elementwise::Clamp { min, max } => (
                        "clamp",
                        ChannelScales {
                            multiplier: vec![],
                            shift: vec![],
                        },
                        None,
                        Rounding::HalfToEven,
                        0,
                        [*min, *max],
                    ),
                    Elementwise::Mul | Elementwise::Lookup { .. } => (
                        if matches!(e, Elementwise::Mul) {
                            "mul"
                        } else {
                            "lookup"
                        },
                        ChannelScales {
                            multiplier: vec![],
                            shift: vec![],
                        },
                        None,
                        Rounding::HalfToEven,
                        0,
                        [i32::MIN as i64, i32::MAX as i64],
                    ),
                };
                let r = r.unwrap_or(ChannelScales {
                    multiplier: vec![],
                    shift: vec![],
                });
                let bias = match e {
                    Elementwise::Add { bias, rounding, .. }
                        if *bias != 0.0 || *rounding == Rounding::F32Fma =>
                    {
                        format!("bias = {}, ", f32_attr(*bias))
                    }
                    _ => String::new(),
                };
                let offset = match e {
                    Elementwise::Requantize { offset, .. } if !offset.is_empty() => {
                        format!("offset = {}, ", f32_array(offset))
                    }
                    _ => String::new(),
                };
                let table = match e {
                    Elementwise::Lookup { table } => format!(", table = {}", arr32(table)),
                    _ => String::new(),
                };
                let a = format!(
                    "{bias}clamp = {}, kind = \"{kind}\", multiplier = {}, {offset}rhs_multiplier = {}, rhs_shift = {}, rounding = \"{rounding}\", shift = {}{table}, zero_point = {zp} : i64",
                    arr64(&clamp),
                    arr32(&s.multiplier),
                    arr32(&r.multiplier),
                    arr32(&r.shift),
                    arr32(&s.shift)
                );
                (v, None, a)
            }
        };
        let mut attrs = if attrs.is_empty() {
            vec![]
        } else {
            dict(ctx, &attrs)?
        };
        if let Some(seg) = segments {
            attrs.push((
                Identifier::new(ctx, "operandSegmentSizes"),
                DenseI32ArrayAttribute::new(ctx, &seg).into(),
            ));
        }
        let built = OperationBuilder::new(&format!("tcconv.{}", op.mnemonic()), loc)
            .add_operands(&operands)
            .add_attributes(&attrs)
            .build()
            .map_err(|e| e.to_string())?;
        block.append_operation(built);
    }
    block.append_operation(melior::dialect::func::r#return(&[], loc));
    let region = Region::new();
    region.append_block(block);
    let arg_attrs: Vec<String> = args
        .iter()
        .map(|&b| {
            format!(
                "{{{}}}",
                buffer_attrs(&p.buffers[b])
                    .replace("dims", "tcconv.dims")
                    .replace("elem", "tcconv.elem")
                    .replace("layout", "tcconv.layout")
            )
        })
        .collect();
    let arg_attrs = Attribute::parse(ctx, &format!("[{}]", arg_attrs.join(", ")))
        .ok_or("cannot build arg_attrs")?;
    let fty = FunctionType::new(ctx, &arg_types, &[]);
    Ok(melior::dialect::func::func(
        ctx,
        StringAttribute::new(ctx, &p.name),
        TypeAttribute::new(fty.into()),
        region,
        &[
            (Identifier::new(ctx, "arg_attrs"), arg_attrs),
            (
                Identifier::new(ctx, "tcconv.target"),
                StringAttribute::new(ctx, p.target.name()).into(),
            ),
            (
                Identifier::new(ctx, "tcconv.num_inputs"),
                IntegerAttribute::new(Type::parse(ctx, "i64").unwrap(), p.inputs.len() as i64)
                    .into(),
            ),
        ]
        .into_iter()
        .chain((p.pdl_trigger != PdlTrigger::default()).then(|| {
            (
                Identifier::new(ctx, "tcconv.pdl_trigger"),
                StringAttribute::new(ctx, p.pdl_trigger.name()).into(),
            )
        }))
        .collect::<Vec<_>>(),
        loc,
    ))
}

// ------------------------------------------------------------------ IR -> Program

fn s(op: &OperationRef, n: &str) -> Result<String, String> {
    string(op, n).map(str::to_owned)
}
fn boolean(op: &OperationRef, n: &str) -> Result<bool, String> {
    int(op, n).map(|v| v != 0)
}
/// A dense layer's fused pool as attributes: `pool` (`"max"` / `"avg"`), `pool_elem`,
/// `pool_split`, optional `pool_divisor`, and a requantize as `pool_multiplier`, `pool_shift`,
/// `pool_rounding`, `pool_zero_point`, `pool_clamp`.
fn dense_pool_attrs(pl: &DensePool) -> Vec<(String, String)> {
    let kind = match pl.kind {
        PoolKind::Max => "max",
        PoolKind::Avg => "avg",
        PoolKind::AvgF32(_) => "avg_f32",
    };
    let mut a = vec![
        ("pool".to_string(), format!("\"{kind}\"")),
        ("pool_elem".to_string(), format!("\"{}\"", pl.elem)),
        ("pool_split".to_string(), format!("{} : i64", pl.split)),
    ];
    if let Some(d) = pl.divisor {
        a.push(("pool_divisor".into(), format!("{d} : i64")));
    }
    if let Some(q) = &pl.requantize {
        q.entries("pool_", &mut a);
    }
    a
}

fn dense_pool_of(op: &OperationRef) -> Result<DensePool, String> {
    Ok(DensePool {
        kind: match s(op, "pool")?.as_str() {
            "max" => PoolKind::Max,
            "avg" => PoolKind::Avg,
            k => {
                return Err(format!(
                    "a dense layer's pool is \"max\" or \"avg\", not \"{k}\""
                ))
            }
        },
        divisor: opt_int(op, "pool_divisor")?,
        requantize: nibble_qnn::ir::requantize_step(op, "pool")?,
        elem: elem(&s(op, "pool_elem")?)?,
        split: int(op, "pool_split")?,
    })
}

fn elem(s: &str) -> Result<ElemType, String> {
    ElemType::parse(s).ok_or_else(|| format!("unknown element type '{s}'"))
}
fn layout(s: &str) -> Result<Layout, String> {
    Layout::parse(s).ok_or_else(|| format!("unknown layout '{s}'"))
}

fn tiling(op: &OperationRef) -> Result<Tiling, String> {
    let [m, n, k] = i64_array::<3>(op, "mma")?;
    let t = Tiling {
        mma: MmaShape { m, n, k },
        a_type: mma_type_parse(&s(op, "a_type")?)?,
        b_type: mma_type_parse(&s(op, "b_type")?)?,
        widen: boolean(op, "widen")?,
        block_tile: i64_array(op, "block_tile")?,
        warp_tile: i64_array(op, "warp_tile")?,
        stages: int(op, "stages")?,
        k_cluster: opt_int(op, "k_cluster")?.unwrap_or(1),
        tiles_per_block: opt_int(op, "tiles_per_block")?.unwrap_or(1),
        blocks_per_sm: opt_int(op, "blocks_per_sm")?,
        bounded_sum: opt_int(op, "bounded_sum")?.is_some_and(|v| v != 0),
    };
    // sizes the selection divides by and multiplies: positive and bounded (a kernel's tile is
    // at most a few hundred rows; the checks of the verifier come after)
    let sized = |what: &str, v: &[i64], max: i64| {
        if v.iter().all(|&x| (1..=max).contains(&x)) {
            Ok(())
        } else {
            Err(format!("{what} {v:?} must hold values in [1, {max}]"))
        }
    };
    sized("mma", &[m, n, k], 256)?;
    sized("block_tile", &t.block_tile, crate::select::MAX_TILE)?;
    sized("warp_tile", &t.warp_tile, crate::select::MAX_TILE)?;
    sized("stages", &[t.stages], 64)?;
    sized("k_cluster", &[t.k_cluster], 16)?;
    sized(
        "tiles_per_block",
        &[t.tiles_per_block],
        crate::select::MAX_BLOCK_TILES,
    )?;
    if let Some(n) = t.blocks_per_sm {
        sized("blocks_per_sm", &[n], crate::select::MAX_BLOCKS_PER_SM)?;
    }
    Ok(t)
}

/// The dims of a conv's map (`ConvPool::map`): `o` channels over the conv window of an input of
/// dims `x` (`nibble_qnn::verify::conv_window`).
fn conv_map_dims(
    x: [i64; 4],
    o: i64,
    kernel: [i64; 2],
    strides: [i64; 2],
    padding: [i64; 4],
) -> Result<[i64; 4], String> {
    let [oh, ow] = nibble_qnn::verify::conv_window([x[2], x[3]], kernel, strides, padding)
        .map_err(|e| format!("the conv's {e}"))?;
    Ok([x[0], o, oh, ow])
}

/// Activation or weight dims read from the IR: positive, at most 2^32 elements in all.
fn checked_dims(what: &str, d: &[i64]) -> Result<(), String> {
    let n = d
        .iter()
        .try_fold(1i64, |a, &x| if x >= 1 { a.checked_mul(x) } else { None });
    match n {
        Some(n) if n <= 1 << 32 => Ok(()),
        _ => Err(format!(
            "{what} {d:?} must be positive with at most 2^32 elements"
        )),
    }
}

/// The buffer a `tcconv.alloc` op declares (`layout`, `elem`, `dims`, and `storage =
/// "narrow16"` for an i32 buffer in [`Storage::Narrow16`](crate::buffer::Storage::Narrow16)).
pub fn alloc_buffer_of(op: &OperationRef) -> Result<ActBuffer, String> {
    let dims = i64_array::<4>(op, "dims")?;
    checked_dims("dims", &dims)?;
    let mut b = ActBuffer::new(layout(&s(op, "layout")?)?, elem(&s(op, "elem")?)?, dims);
    if op.attribute("storage").is_ok() {
        match s(op, "storage")?.as_str() {
            "narrow16" if b.can_be_narrow() => b.narrow = true,
            "narrow16" => {
                return Err(format!(
                    "storage \"narrow16\" needs an i32 or i16 NHWC or HWNC buffer with an even channel count, not {} {} {:?}",
                    b.elem, b.layout, b.dims
                ))
            }
            other => return Err(format!("unknown storage '{other}' (known: narrow16)")),
        }
    }
    Ok(b)
}

/// The buffer argument `i` of a tcconv function declares (`tcconv.layout/elem/dims`).
pub fn arg_buffer_of(func: &OperationRef, i: usize) -> Result<ActBuffer, String> {
    let d = ArrayAttribute::try_from(attr(func, "arg_attrs")?)
        .ok()
        .and_then(|a| a.element(i).ok())
        .and_then(|x| DictionaryAttribute::try_from(x).ok())
        .ok_or_else(|| format!("argument {i} lacks tcconv.* attributes"))?;
    let get = |n: &str| -> Result<String, String> {
        d.element_by_name(n)
            .and_then(|x| StringAttribute::try_from(x).ok())
            .ok_or_else(|| format!("argument {i} lacks '{n}'"))
            .and_then(|x| string_text(x).map(str::to_owned))
    };
    let dims: [i64; 4] = d
        .element_by_name("tcconv.dims")
        .and_then(|x| DenseI64ArrayAttribute::try_from(x).ok())
        .map(|x| {
            (0..x.len())
                .map(|j| x.element(j).unwrap())
                .collect::<Vec<i64>>()
        })
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| format!("argument {i} lacks 'tcconv.dims' (array<i64> of 4)"))?;
    checked_dims(&format!("argument {i}: tcconv.dims"), &dims)?;
    Ok(ActBuffer::new(
        layout(&get("tcconv.layout")?)?,
        elem(&get("tcconv.elem")?)?,
        dims,
    ))
}

/// The pre-packed weight a `tcconv.weight` op declares.
pub fn packed_weight_of(op: &OperationRef) -> Result<PackedWeight, String> {
    let packing = match s(op, "packing")?.as_str() {
        "ohwi" => Packing::ConvOhwi,
        "hwoi" => Packing::ConvHwoi,
        "ok" => Packing::DenseOk,
        "bias" => Packing::Bias,
        p => return Err(format!("unknown packing '{p}'")),
    };
    let sl = s(op, "source_layout")?;
    let dims = i64_array::<4>(op, "dims")?;
    checked_dims("dims", &dims)?;
    let (name, source) = (s(op, "name")?, s(op, "source")?);
    if name.is_empty() || source.is_empty() {
        return Err("a weight needs a name and a source (the qnn weight it packs)".into());
    }
    let elem = elem(&s(op, "elem")?)?;
    if !elem.is_int() {
        return Err(format!("a packed weight holds integers, not {elem}"));
    }
    let w = PackedWeight {
        name,
        source,
        packing,
        elem,
        dims,
        source_layout: KernelLayout::parse(&sl)
            .ok_or_else(|| format!("unknown source_layout '{sl}'"))?,
        space_to_depth: match opt_int(op, "space_to_depth")? {
            None => None,
            Some(block) => {
                let source_dims = i64_array::<4>(op, "source_dims")?;
                checked_dims("source_dims", &source_dims)?;
                Some(SpaceToDepth { block, source_dims })
            }
        },
        widened: match op.attribute("widened") {
            Ok(_) => nibble_qnn::ir::bool_attr(op, "widened")?,
            Err(_) => false,
        },
        tiles: match op.attribute("tiles") {
            Ok(_) => Some(i64_array::<2>(op, "tiles")?),
            Err(_) => None,
        },
    };
    if w.widened || w.tiles.is_some() {
        crate::pack::check_dims(&w)?;
    }
    Ok(w)
}

/// Read a tcconv `func.func` back into a [`Program`].
pub fn program_of_func(func: OperationRef) -> Result<Program, LocatedError> {
    let here = |op: &OperationRef, m: String| LocatedError {
        loc: location_string(op.location()),
        message: m,
    };
    let name = s(&func, "sym_name").map_err(|m| here(&func, m))?;
    let target = Target::parse(&s(&func, "tcconv.target").map_err(|m| here(&func, m))?)
        .map_err(|m| here(&func, m))?;
    let num_inputs = int(&func, "tcconv.num_inputs").map_err(|m| here(&func, m))? as usize;
    let pdl_trigger = match func.attribute("tcconv.pdl_trigger") {
        Err(_) => PdlTrigger::default(),
        Ok(_) => {
            let t = s(&func, "tcconv.pdl_trigger").map_err(|m| here(&func, m))?;
            PdlTrigger::parse(&t).ok_or_else(|| {
                here(
                    &func,
                    format!(
                        "tcconv.pdl_trigger \"{t}\" is not \"mainloop\", \"start\" or \"auto\""
                    ),
                )
            })?
        }
    };
    let region = func
        .region(0)
        .map_err(|_| here(&func, "func without a body".into()))?;
    let block = region
        .first_block()
        .ok_or_else(|| here(&func, "func without a body".into()))?;
    let mut p = Program {
        name,
        target,
        buffers: vec![],
        weights: vec![],
        inputs: vec![],
        outputs: vec![],
        ops: vec![],
        pdl_trigger,
    };
    let mut ids: HashMap<usize, usize> = HashMap::new(); // value -> buffer or weight index
    let key = |v: Value| v.to_raw().ptr as usize;
    for i in 0..block.argument_count() {
        let b = arg_buffer_of(&func, i).map_err(|m| here(&func, m))?;
        // the kernels index the memref by the buffer's storage rules
        let ty = block.argument(i).unwrap().r#type().to_string();
        if ty != b.memref_type() {
            return Err(here(
                &func,
                format!(
                    "argument {i} of type {ty} is not its buffer's stored form {} (tcconv.dims {:?}, {}, {})",
                    b.memref_type(),
                    b.dims,
                    b.elem,
                    b.layout
                ),
            ));
        }
        p.buffers.push(b);
        ids.insert(key(block.argument(i).unwrap().into()), p.buffers.len() - 1);
        if i < num_inputs {
            p.inputs.push(p.buffers.len() - 1);
        } else {
            p.outputs.push(p.buffers.len() - 1);
        }
    }
    let mut cur = block.first_operation();
    while let Some(op) = cur {
        cur = op.next_in_block();
        let opname = op.name().as_string_ref().as_str().unwrap_or("").to_owned();
        let err = |m: String| here(&op, m);
        let operand = |i: usize| -> Result<usize, LocatedError> {
            op.operand(i)
                .ok()
                .and_then(|v| ids.get(&key(v)).copied())
                .ok_or_else(|| here(&op, format!("operand {i} is not a tcconv buffer")))
        };
        match opname.as_str() {
            "func.return" => break,
            "tcconv.alloc" => {
                let b = alloc_buffer_of(&op).map_err(err)?;
                // the kernels index the memref by the buffer's storage rules
                let ty = op.result(0).unwrap().r#type().to_string();
                if ty != b.memref_type() {
                    return Err(here(
                        &op,
                        format!(
                            "result type {ty} is not the buffer's stored form {}",
                            b.memref_type()
                        ),
                    ));
                }
                p.buffers.push(b);
                ids.insert(key(op.result(0).unwrap().into()), p.buffers.len() - 1);
            }
            "tcconv.weight" => {
                let w = packed_weight_of(&op).map_err(err)?;
                let ty = op.result(0).unwrap().r#type().to_string();
                if ty != weight_memref(&w) {
                    return Err(here(
                        &op,
                        format!(
                            "result type {ty} is not the packed weight's form {}",
                            weight_memref(&w)
                        ),
                    ));
                }
                p.weights.push(w);
                ids.insert(key(op.result(0).unwrap().into()), p.weights.len() - 1);
            }
            "tcconv.quantize" => p.ops.push(TcOp::Quantize {
                input: operand(0)?,
                output: operand(1)?,
                scale: read_f32(&op, "scale").map_err(err)?,
                zero_point: opt_int(&op, "zero_point").map_err(err)?.unwrap_or(0),
                mode: quantize_mode(&op, "mode").map_err(err)?,
                padding: match op.attribute("padding") {
                    Err(_) => [0; 4],
                    Ok(_) => i64_array(&op, "padding").map_err(err)?,
                },
                padding_value: opt_int(&op, "padding_value").map_err(err)?.unwrap_or(0),
                space_to_depth: opt_int(&op, "space_to_depth").map_err(err)?.unwrap_or(0),
                pre: match op.attribute("pre") {
                    Err(_) => vec![],
                    Ok(_) => nibble_qnn::ir::float_steps(&op, "pre").map_err(err)?,
                },
            }),
            "tcconv.pad" => p.ops.push(TcOp::Pad {
                input: operand(0)?,
                output: operand(1)?,
                padding: i64_array(&op, "padding").map_err(err)?,
                value: int(&op, "value").map_err(err)?,
            }),
            "tcconv.dequantize" => p.ops.push(TcOp::Dequantize {
                input: operand(0)?,
                output: operand(1)?,
                scales: f32_vec(&op, "scale").map_err(err)?,
            }),
            "tcconv.gather_channels" => p.ops.push(TcOp::Gather {
                input: operand(0)?,
                output: operand(1)?,
                indices: i32_vec(&op, "indices").map_err(err)?,
            }),
            "tcconv.softmax" => p.ops.push(TcOp::Softmax {
                input: operand(0)?,
                output: operand(1)?,
                table: f32_vec(&op, "table").map_err(err)?,
                scale: read_f32(&op, "scale").map_err(err)?,
                zero_point: int(&op, "zero_point").map_err(err)?,
            }),
            "tcconv.relayout" => p.ops.push(TcOp::Relayout {
                input: operand(0)?,
                output: operand(1)?,
            }),
            "tcconv.concat" => p.ops.push(TcOp::Concat {
                inputs: vec![operand(0)?, operand(1)?],
                output: operand(2)?,
            }),
            "tcconv.conv2d" => {
                let seg = i32_vec(&op, "operandSegmentSizes").map_err(err)?;
                if seg.len() != 9 || seg[6] != seg[7] || seg[8] > seg[6] {
                    return Err(err(
                        "operandSegmentSizes must have 9 entries (a shortcut input and weight together, its bias only with them)"
                            .into(),
                    ));
                }
                let mut i = 2;
                let bias = if seg[2] == 1 {
                    i += 1;
                    Some(operand(i - 1)?)
                } else {
                    None
                };
                let residual = if seg[3] == 1 {
                    i += 1;
                    Some(operand(i - 1)?)
                } else {
                    None
                };
                let strategy = match s(&op, "strategy").map_err(err)?.as_str() {
                    "direct" => Strategy::Direct,
                    _ => Strategy::Im2col,
                };
                let second = if seg[5] == 1 {
                    Some(operand(i + 1)?)
                } else {
                    None
                };
                let j = i + 1 + seg[5] as usize;
                let shortcut = if seg[6] == 1 {
                    Some(Shortcut {
                        input: operand(j)?,
                        weight: operand(j + 1)?,
                        bias: if seg[8] == 1 {
                            Some(operand(j + 2)?)
                        } else {
                            None
                        },
                        strides: i64_array(&op, "shortcut_strides").map_err(err)?,
                    })
                } else {
                    None
                };
                p.ops.push(TcOp::Conv2d(Conv {
                    input: operand(0)?,
                    weight: operand(1)?,
                    bias,
                    residual,
                    output: operand(i)?,
                    second,
                    shortcut,
                    strides: i64_array(&op, "strides").map_err(err)?,
                    padding: i64_array(&op, "padding").map_err(err)?,
                    kernel: i64_array(&op, "kernel").map_err(err)?,
                    strategy,
                    tiling: tiling(&op).map_err(err)?,
                    epilogue: epilogue_of(&op).map_err(err)?,
                    family: {
                        let f = s(&op, "family").map_err(err)?;
                        Family::parse(&f).ok_or_else(|| {
                            err(format!("family '{f}' is not simple, mma, staged or wgmma"))
                        })?
                    },
                    groups: opt_int(&op, "groups").map_err(err)?.unwrap_or(1),
                    pool: match op.attribute("pool_kernel") {
                        Err(_) => None,
                        Ok(_) => {
                            let out = p.buffers.get(operand(i)?).ok_or_else(|| {
                                err("the output of a conv with pool_kernel is no buffer".into())
                            })?;
                            let x = operand(0)?;
                            let xd = p.buffers.get(x).map(|b| b.dims).ok_or_else(|| {
                                err("the input of a conv with pool_kernel is no buffer".into())
                            })?;
                            let kernel = i64_array(&op, "kernel").map_err(err)?;
                            let strides = i64_array(&op, "strides").map_err(err)?;
                            let padding = i64_array(&op, "padding").map_err(err)?;
                            let dims = conv_map_dims(xd, out.dims[1], kernel, strides, padding)
                                .map_err(err)?;
                            Some(ConvPool {
                                kernel: i64_array(&op, "pool_kernel").map_err(err)?,
                                strides: i64_array(&op, "pool_strides").map_err(err)?,
                                padding: i64_array(&op, "pool_padding").map_err(err)?,
                                map: ActBuffer::new(out.layout, out.elem, dims),
                            })
                        }
                    },
                    chain: opt_int(&op, "chain").map_err(err)?,
                    quantize: match op.attribute("input_scale") {
                        Err(_) => None,
                        Ok(_) => {
                            let x = operand(0)?;
                            let dims = p.buffers.get(x).map(|b| b.dims).ok_or_else(|| {
                                err("the input of a conv with input_scale is no buffer".into())
                            })?;
                            let e = elem(&s(&op, "input_elem").map_err(err)?).map_err(err)?;
                            let l = layout(&s(&op, "input_layout").map_err(err)?).map_err(err)?;
                            Some(InputQuantize {
                                scale: read_f32(&op, "input_scale").map_err(err)?,
                                zero_point: opt_int(&op, "input_zero_point")
                                    .map_err(err)?
                                    .unwrap_or(0),
                                mode: quantize_mode(&op, "input_mode").map_err(err)?,
                                quantized: ActBuffer::new(l, e, dims),
                            })
                        }
                    },
                }));
            }
            "tcconv.dense" => {
                let n = op.operand_count();
                p.ops.push(TcOp::Dense(Dense {
                    input: operand(0)?,
                    weight: operand(1)?,
                    bias: if n == 4 { Some(operand(2)?) } else { None },
                    output: operand(n - 1)?,
                    tiling: tiling(&op).map_err(err)?,
                    epilogue: epilogue_of(&op).map_err(err)?,
                    dequantize: match op.attribute("dequantize") {
                        Ok(_) => Some(f32_vec(&op, "dequantize").map_err(err)?),
                        Err(_) => None,
                    },
                    pool: match op.attribute("pool") {
                        Ok(_) => Some(dense_pool_of(&op).map_err(err)?),
                        Err(_) => None,
                    },
                }));
            }
            "tcconv.pool2d" => p.ops.push(TcOp::Pool {
                kind: match s(&op, "kind").map_err(err)?.as_str() {
                    "max" => PoolKind::Max,
                    "avg" => PoolKind::Avg,
                    "avg_f32" => PoolKind::AvgF32(AvgPoolF32 {
                        input_scale: read_f32(&op, "input_scale").map_err(err)?,
                        input_zero_point: int(&op, "input_zero_point").map_err(err)?,
                        output_scale: read_f32(&op, "output_scale").map_err(err)?,
                        output_zero_point: int(&op, "output_zero_point").map_err(err)?,
                        count_include_pad: op.attribute("count_include_pad").is_ok()
                            && nibble_qnn::ir::bool_attr(&op, "count_include_pad").map_err(err)?,
                    }),
                    k => return Err(err(format!("unknown pool kind \"{k}\""))),
                },
                input: operand(0)?,
                output: operand(1)?,
                kernel: i64_array(&op, "kernel").map_err(err)?,
                strides: i64_array(&op, "strides").map_err(err)?,
                padding: i64_array(&op, "padding").map_err(err)?,
                divisor: opt_int(&op, "divisor").map_err(err)?,
                requantize: match op.attribute("multiplier") {
                    Err(_) => None,
                    Ok(_) => Some(RequantizeStep {
                        scales: scales(&op, "multiplier", "shift").map_err(err)?,
                        rounding: rounding_attr(&op).map_err(err)?,
                        zero_point: int(&op, "zero_point").map_err(err)?,
                        clamp: i64_array::<2>(&op, "clamp").map_err(err)?,
                    }),
                },
                second: {
                    let step = nibble_qnn::ir::requantize_step(&op, "second").map_err(err)?;
                    match (op.operand_count(), step) {
                        (2, None) => None,
                        (3, Some(requantize)) => Some(PoolSecond {
                            output: operand(2)?,
                            requantize,
                        }),
                        (3, None) => {
                            return Err(err(
                                "a second output operand needs the second_* requantize attributes"
                                    .into(),
                            ))
                        }
                        (2, Some(_)) => {
                            return Err(err(
                                "second_* requantize attributes need a second output operand"
                                    .into(),
                            ))
                        }
                        (n, _) => return Err(err(format!("expects 2 or 3 operands, got {n}"))),
                    }
                },
            }),
            "tcconv.elementwise" => {
                let n = op.operand_count();
                let inputs = (0..n - 1).map(operand).collect::<Result<Vec<_>, _>>()?;
                let clamp = i64_array::<2>(&op, "clamp").map_err(err)?;
                let e = match s(&op, "kind").map_err(err)?.as_str() {
                    "requantize" => Elementwise::Requantize {
                        scales: scales(&op, "multiplier", "shift").map_err(err)?,
                        rounding: rounding_attr(&op).map_err(err)?,
                        zero_point: int(&op, "zero_point").map_err(err)?,
                        clamp,
                        offset: match op.attribute("offset") {
                            Err(_) => vec![],
                            Ok(_) => nibble_qnn::ir::f32_vec(&op, "offset").map_err(err)?,
                        },
                    },
                    "add" => Elementwise::Add {
                        lhs: scales(&op, "multiplier", "shift").map_err(err)?,
                        rhs: scales(&op, "rhs_multiplier", "rhs_shift").map_err(err)?,
                        rounding: rounding_attr(&op).map_err(err)?,
                        clamp,
                        bias: match op.attribute("bias") {
                            Err(_) => 0.0,
                            Ok(_) => read_f32(&op, "bias").map_err(err)?,
                        },
                    },
                    "relu" => Elementwise::Relu,
                    "mul" => Elementwise::Mul,
                    "lookup" => Elementwise::Lookup {
                        table: nibble_qnn::ir::i32_vec(&op, "table").map_err(err)?,
                    },
                    _ => Elementwise::Clamp {
                        min: clamp[0],
                        max: clamp[1],
                    },
                };
                p.ops.push(TcOp::Elementwise {
                    op: e,
                    inputs,
                    output: operand(n - 1)?,
                });
            }
            other => return Err(err(format!("'{other}' is not a tcconv operation"))),
        }
    }
    Ok(p)
}
