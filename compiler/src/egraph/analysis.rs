//! The e-class analysis: what every e-class holds, as typed data.
//!
//! A value e-class knows its tensor type (shape and element type), its activation layout and
//! its quantization range (the integer interval its elements lie in: the element type's range
//! narrowed by requantize/add clamps, clamps and relus). Leaves (attributes, layout names,
//! `none`) are [`Data::Meta`]. Types are *inferred* from the operands and the attribute leaves
//! with the verifier's shape rules, so a rewrite that built an ill-typed node would be noticed:
//! it gets [`Data::Invalid`] and is never extracted, and a union of two classes of different
//! types is recorded in [`QnnAnalysis::conflicts`] (the pass then leaves the function alone).

use super::language::{Attr, EpiKind, Qnn};
use egg::{Analysis, DidMerge, Id};
use nibble_qnn::graph::TensorType;
use nibble_qnn::semantics::{lookup_range, lookup_tables, ElemType, KernelLayout, Layout};

pub type EGraph = egg::EGraph<Qnn, QnnAnalysis>;

/// The e-class analysis state: facts about the input graph the rules' conditions read.
#[derive(Clone, Debug, Default)]
pub struct QnnAnalysis {
    /// Per input-graph node (site): how many times its value is used (operands + results).
    pub uses: Vec<u32>,
    /// Unions of classes whose types disagree (a rule bug; the pass refuses the result).
    pub conflicts: Vec<String>,
    /// Per input-graph node (site): the class of its value (canonicalize with `find`).
    pub node_classes: Vec<Id>,
}

impl QnnAnalysis {
    /// Does the value of input-graph node `site` have at most one user?
    pub fn single_use(&self, site: u32) -> bool {
        self.uses.get(site as usize).is_some_and(|&u| u <= 1)
    }
}

/// A tensor value.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub ty: TensorType,
    /// The activation layout; `None` for weights (their layout is the consumer's kernel layout).
    pub layout: Option<Layout>,
    /// Inclusive range of the elements (the quantization range).
    pub range: (i64, i64),
}

impl Value {
    pub fn is_int(&self) -> bool {
        self.ty.elem.is_int()
    }
    /// Bytes the tensor occupies in memory (4-bit values packed, two per byte).
    pub fn bytes(&self) -> f64 {
        self.ty.numel() as f64 * self.ty.elem.bits() as f64 / 8.0
    }
    /// Logical (n, c, h, w) dims.
    pub fn nchw(&self) -> [i64; 4] {
        match self.layout {
            Some(l) => l.nchw(&self.ty.shape),
            None => [0; 4],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Attribute, layout-name and `none` leaves.
    Meta,
    Value(Value),
    /// An ill-typed node (never extracted).
    Invalid(String),
}

impl Data {
    pub fn value(&self) -> Option<&Value> {
        match self {
            Data::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// The attribute leaf of class `id`.
pub fn attr(eg: &EGraph, id: Id) -> Option<&Attr> {
    eg[id].nodes.iter().find_map(|n| match n {
        Qnn::Attr(a) => Some(a),
        _ => None,
    })
}

/// The activation layout named by leaf class `id`.
pub fn layout_leaf(eg: &EGraph, id: Id) -> Option<Layout> {
    eg[id].nodes.iter().find_map(|n| match n {
        Qnn::Layout(l) => Some(l.0),
        _ => None,
    })
}

/// The kernel layout named by leaf class `id`.
pub fn kernel_layout_leaf(eg: &EGraph, id: Id) -> Option<KernelLayout> {
    eg[id].nodes.iter().find_map(|n| match n {
        Qnn::KernelLayout(l) => Some(l.0),
        _ => None,
    })
}

/// Is class `id` the `none` leaf?
pub fn is_absent(eg: &EGraph, id: Id) -> bool {
    eg[id].nodes.iter().any(|n| matches!(n, Qnn::Absent))
}

pub fn value(eg: &EGraph, id: Id) -> Option<&Value> {
    eg[id].data.value()
}

fn full(e: ElemType) -> (i64, i64) {
    e.range()
}

fn meet(a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    if lo > hi {
        // Disjoint facts about one value: keep the weaker (first) one.
        a
    } else {
        (lo, hi)
    }
}

fn window(in_hw: [i64; 2], k: [i64; 2], s: [i64; 2], p: [i64; 4]) -> Result<[i64; 2], String> {
    if s[0] <= 0 || s[1] <= 0 || k[0] <= 0 || k[1] <= 0 {
        return Err("non-positive kernel or stride".into());
    }
    let oh = (in_hw[0] + p[0] + p[2] - k[0]).div_euclid(s[0]) + 1;
    let ow = (in_hw[1] + p[1] + p[3] - k[1]).div_euclid(s[1]) + 1;
    if oh <= 0 || ow <= 0 {
        return Err(format!("window {k:?} does not fit {in_hw:?}"));
    }
    Ok([oh, ow])
}

/// An activation operand in `layout` (rank and layout checked).
fn act<'a>(eg: &'a EGraph, id: Id, layout: Layout, what: &str) -> Result<&'a Value, String> {
    let v = value(eg, id).ok_or_else(|| format!("{what} is not a valid value"))?;
    if v.layout != Some(layout) || v.ty.shape.len() != layout.rank() {
        let stored = v
            .layout
            .map_or("no layout (a weight)".into(), |l| format!("layout {l}"));
        return Err(format!(
            "{what} is in {stored} {}, the op reads {layout}",
            v.ty.mlir()
        ));
    }
    Ok(v)
}

fn int_act<'a>(eg: &'a EGraph, id: Id, layout: Layout, what: &str) -> Result<&'a Value, String> {
    let v = act(eg, id, layout, what)?;
    if !v.is_int() {
        return Err(format!("{what} is not an integer tensor"));
    }
    Ok(v)
}

/// Shape of a conv's result (checks the weight against the input).
fn conv_result(eg: &EGraph, [a, l, kl, x, w, b]: [Id; 6], out: ElemType) -> Result<Value, String> {
    let Some(Attr::Conv {
        strides,
        padding,
        groups,
        ..
    }) = attr(eg, a)
    else {
        return Err("conv without conv attributes".into());
    };
    let layout = layout_leaf(eg, l).ok_or("conv without a layout")?;
    let kl = kernel_layout_leaf(eg, kl).ok_or("conv without a kernel layout")?;
    if layout == Layout::NC {
        return Err("conv2d in layout NC".into());
    }
    let xv = int_act(eg, x, layout, "conv input")?;
    let wv = value(eg, w).ok_or("conv weight is not a value")?;
    if wv.ty.shape.len() != 4 {
        return Err("conv weight is not 4-D".into());
    }
    let [n, c, h, wd] = layout.nchw(&xv.ty.shape);
    let [o, i, kh, kw] = kl.oihw(&wv.ty.shape);
    if *groups < 1 || c % groups != 0 || o % groups != 0 || i * groups != c {
        return Err(format!(
            "weight has {i} input channels, input {c} in {groups} groups"
        ));
    }
    if !is_absent(eg, b) {
        let bv = value(eg, b).ok_or("bias is not a value")?;
        if bv.ty.shape != vec![o] {
            return Err("bias does not match the out channels".into());
        }
    }
    let [oh, ow] = window([h, wd], [kh, kw], *strides, *padding)?;
    Ok(Value {
        ty: TensorType::new(layout.shape([n, o, oh, ow]), out),
        layout: Some(layout),
        range: full(out),
    })
}

/// Infer the data of `node` from its children's data.
pub fn infer(eg: &EGraph, node: &Qnn) -> Data {
    match infer_value(eg, node) {
        Ok(Some(v)) => Data::Value(v),
        Ok(None) => Data::Meta,
        Err(e) => Data::Invalid(e),
    }
}

fn infer_value(eg: &EGraph, node: &Qnn) -> Result<Option<Value>, String> {
    let lay = |id: Id| layout_leaf(eg, id).ok_or_else(|| "missing layout leaf".to_string());
    let attr = |id: Id| attr(eg, id).ok_or_else(|| "missing attribute leaf".to_string());
    Ok(Some(match node {
        Qnn::Absent | Qnn::Layout(_) | Qnn::KernelLayout(_) | Qnn::Attr(_) => return Ok(None),
        Qnn::Arg(a) => Value {
            ty: a.ty.clone(),
            layout: Some(a.layout),
            range: full(a.ty.elem),
        },
        Qnn::Weight(w) => Value {
            ty: w.ty.clone(),
            layout: None,
            range: full(w.ty.elem),
        },
        Qnn::LayoutTransform([s, d, x]) => {
            let (src, dst) = (lay(*s)?, lay(*d)?);
            if src == Layout::NC || dst == Layout::NC {
                return Err("layout-transform of a 2-D layout".into());
            }
            let xv = int_act(eg, *x, src, "layout-transform input")?;
            Value {
                ty: TensorType::new(dst.shape(src.nchw(&xv.ty.shape)), xv.ty.elem),
                layout: Some(dst),
                range: xv.range,
            }
        }
        Qnn::Quantize([a, l, x]) => {
            let Attr::Quantize { out, .. } = attr(*a)? else {
                return Err("quantize attributes".into());
            };
            let layout = lay(*l)?;
            let xv = act(eg, *x, layout, "quantize input")?;
            if xv.is_int() {
                return Err("quantize of an integer tensor".into());
            }
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), *out),
                layout: Some(layout),
                range: full(*out),
            }
        }
        Qnn::Conv2d(ids) => conv_result(eg, *ids, ElemType::I32)?,
        Qnn::Conv2dFused2([a, e, q, l, kl, x, w, b, r]) => {
            if !matches!(attr(*q)?, Attr::Requantize { .. }) {
                return Err("conv2d-fused2 without a second requantize".into());
            }
            return infer_value(eg, &Qnn::Conv2dFused([*a, *e, *l, *kl, *x, *w, *b, *r]));
        }
        Qnn::Conv2dFusedThen([a, e, q, l, kl, x, w, b, r]) => {
            let Attr::Requantize { clamp, out, .. } = attr(*q)? else {
                return Err("conv2d-fused-then without a requantize".into());
            };
            let v = infer_value(eg, &Qnn::Conv2dFused([*a, *e, *l, *kl, *x, *w, *b, *r]))?
                .ok_or("conv2d-fused-then of a non-value")?;
            Value {
                ty: TensorType::new(v.ty.shape.clone(), *out),
                layout: v.layout,
                range: meet(full(*out), (clamp[0], clamp[1])),
            }
        }
        Qnn::First(p) => value(eg, *p).ok_or("first of a non-value")?.clone(),
        Qnn::Second([q, p]) => {
            let Attr::Requantize { clamp, out, .. } = attr(*q)? else {
                return Err("second without requantize attributes".into());
            };
            let pv = value(eg, *p).ok_or("second of a non-value")?;
            Value {
                ty: TensorType::new(pv.ty.shape.clone(), *out),
                layout: pv.layout,
                range: meet(full(*out), (clamp[0], clamp[1])),
            }
        }
        Qnn::Conv2dFused([a, e, l, kl, x, w, b, r]) => {
            let Attr::Epilogue {
                kind,
                clamp,
                relu,
                out,
                ..
            } = attr(*e)?
            else {
                return Err("conv2d-fused without an epilogue".into());
            };
            let mut v = conv_result(eg, [*a, *l, *kl, *x, *w, *b], *out)?;
            let residual = matches!(kind, EpiKind::Residual { .. });
            if residual == is_absent(eg, *r) {
                return Err("residual operand and epilogue disagree".into());
            }
            if residual {
                let rv = int_act(eg, *r, v.layout.unwrap(), "residual")?;
                if rv.ty.shape != v.ty.shape {
                    return Err("residual shape differs from the result".into());
                }
            }
            v.range = meet(v.range, (clamp[0], clamp[1]));
            if *relu {
                v.range = (v.range.0.max(0), v.range.1.max(0));
            }
            v
        }
        Qnn::Dense([_, x, w, _]) => {
            let xv = value(eg, *x).ok_or("dense input")?;
            let wv = value(eg, *w).ok_or("dense weight")?;
            if xv.ty.shape.len() != 2 || wv.ty.shape.len() != 2 || xv.ty.shape[1] != wv.ty.shape[1]
            {
                return Err("dense shapes".into());
            }
            Value {
                ty: TensorType::new(vec![xv.ty.shape[0], wv.ty.shape[0]], ElemType::I32),
                layout: Some(Layout::NC),
                range: full(ElemType::I32),
            }
        }
        Qnn::Requantize([a, l, x]) => {
            let Attr::Requantize { clamp, out, .. } = attr(*a)? else {
                return Err("requantize attributes".into());
            };
            let xv = int_act(eg, *x, lay(*l)?, "requantize input")?;
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), *out),
                layout: xv.layout,
                range: meet(full(*out), (clamp[0], clamp[1])),
            }
        }
        Qnn::Add([a, l, x, y]) => {
            let Attr::Add { clamp, out, .. } = attr(*a)? else {
                return Err("add attributes".into());
            };
            let layout = lay(*l)?;
            let xv = int_act(eg, *x, layout, "add lhs")?;
            let yv = int_act(eg, *y, layout, "add rhs")?;
            if xv.ty.shape != yv.ty.shape {
                return Err("add operands differ in shape".into());
            }
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), *out),
                layout: Some(layout),
                range: meet(full(*out), (clamp[0], clamp[1])),
            }
        }
        Qnn::Relu([_, l, x]) => {
            let xv = int_act(eg, *x, lay(*l)?, "relu input")?;
            Value {
                range: (xv.range.0.max(0), xv.range.1.max(0)),
                ..xv.clone()
            }
        }
        Qnn::Clamp([a, l, x]) => {
            let Attr::Clamp { min, max, .. } = attr(*a)? else {
                return Err("clamp attributes".into());
            };
            let xv = int_act(eg, *x, lay(*l)?, "clamp input")?;
            Value {
                range: (xv.range.0.clamp(*min, *max), xv.range.1.clamp(*min, *max)),
                ..xv.clone()
            }
        }
        Qnn::MaxPool2d([a, l, x]) | Qnn::AvgPool2d([a, l, x]) => {
            let Attr::Pool {
                kernel,
                strides,
                padding,
                out,
                f32,
                ..
            } = attr(*a)?
            else {
                return Err("pool attributes".into());
            };
            let layout = lay(*l)?;
            if layout == Layout::NC {
                return Err("pooling in layout NC".into());
            }
            let xv = int_act(eg, *x, layout, "pool input")?;
            let [n, c, h, w] = layout.nchw(&xv.ty.shape);
            let [oh, ow] = window([h, w], *kernel, *strides, *padding)?;
            let is_max = matches!(node, Qnn::MaxPool2d(_));
            // Average pooling counts padding as zeros; an f32 one quantizes anew.
            let range = if f32.is_some() {
                (i64::MIN, i64::MAX)
            } else if is_max || padding.iter().all(|&p| p == 0) {
                xv.range
            } else {
                (xv.range.0.min(0), xv.range.1.max(0))
            };
            let out = if is_max {
                xv.ty.elem
            } else {
                out.ok_or("avg-pool2d without a result type")?
            };
            Value {
                ty: TensorType::new(layout.shape([n, c, oh, ow]), out),
                layout: Some(layout),
                range: meet(full(out), range),
            }
        }
        Qnn::Flatten([_, l, x]) => {
            let layout = lay(*l)?;
            if layout == Layout::NC {
                return Err("flatten in layout NC".into());
            }
            let xv = int_act(eg, *x, layout, "flatten input")?;
            let [n, c, h, w] = layout.nchw(&xv.ty.shape);
            if h != 1 || w != 1 {
                return Err("flatten of a non-1x1 tensor".into());
            }
            Value {
                ty: TensorType::new(vec![n, c], xv.ty.elem),
                layout: Some(Layout::NC),
                range: xv.range,
            }
        }
        Qnn::Concat([_, l, x, y]) => {
            let xs = [*x, *y];
            let layout = lay(*l)?;
            if layout == Layout::NC {
                return Err("concat in layout NC".into());
            }
            let first = int_act(eg, xs[0], layout, "concat operand")?;
            let [n, _, h, w] = layout.nchw(&first.ty.shape);
            let (mut c, mut range) = (0, first.range);
            for x in xs {
                let xv = int_act(eg, x, layout, "concat operand")?;
                let [xn, xc, xh, xw] = layout.nchw(&xv.ty.shape);
                if xv.ty.elem != first.ty.elem || (xn, xh, xw) != (n, h, w) {
                    return Err("concat operands differ in type, N, H or W".into());
                }
                c += xc;
                range = (range.0.min(xv.range.0), range.1.max(xv.range.1));
            }
            Value {
                ty: TensorType::new(layout.shape([n, c, h, w]), first.ty.elem),
                layout: Some(layout),
                range,
            }
        }
        Qnn::Mul([_, l, x, y]) => {
            let layout = lay(*l)?;
            let xv = int_act(eg, *x, layout, "mul lhs")?;
            let yv = int_act(eg, *y, layout, "mul rhs")?;
            let [n, c, ..] = layout.nchw(&xv.ty.shape);
            if yv.ty.shape != xv.ty.shape && yv.ty.shape != layout.shape([n, c, 1, 1]) {
                return Err("mul rhs is neither lhs's shape nor N x C x 1 x 1".into());
            }
            if xv.ty.elem.bits() > 16 || yv.ty.elem.bits() > 16 {
                return Err("mul of more than 16-bit operands".into());
            }
            let p = [
                xv.range.0 * yv.range.0,
                xv.range.0 * yv.range.1,
                xv.range.1 * yv.range.0,
                xv.range.1 * yv.range.1,
            ];
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), ElemType::I32),
                layout: Some(layout),
                range: (*p.iter().min().unwrap(), *p.iter().max().unwrap()),
            }
        }
        Qnn::Lookup([a, l, x]) => {
            let Attr::Lookup { table, out, .. } = attr(*a)? else {
                return Err("lookup attributes".into());
            };
            let layout = lay(*l)?;
            let xv = int_act(eg, *x, layout, "lookup input")?;
            let c = xv.ty.shape[layout.channel_axis()] as usize;
            if lookup_tables(table.len(), xv.ty.elem, c).is_none() {
                return Err("lookup table of another size than the input's values".into());
            }
            let range = lookup_range(table, xv.ty.elem, xv.range).ok_or("an empty lookup table")?;
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), *out),
                layout: xv.layout,
                range: meet(full(*out), range),
            }
        }
        Qnn::GatherChannels([a, l, x]) => {
            let Attr::Gather { indices, .. } = attr(*a)? else {
                return Err("gather attributes".into());
            };
            let layout = lay(*l)?;
            let xv = int_act(eg, *x, layout, "gather input")?;
            let ca = layout.channel_axis();
            let c = xv.ty.shape[ca];
            if indices.is_empty() || indices.iter().any(|&i| i < 0 || i as i64 >= c) {
                return Err("gathered channels outside the input".into());
            }
            let mut shape = xv.ty.shape.clone();
            shape[ca] = indices.len() as i64;
            Value {
                ty: TensorType::new(shape, xv.ty.elem),
                layout: xv.layout,
                range: xv.range,
            }
        }
        Qnn::Softmax([a, l, x]) => {
            let Attr::Softmax { out, .. } = attr(*a)? else {
                return Err("softmax attributes".into());
            };
            let layout = lay(*l)?;
            if layout != Layout::NC {
                return Err("softmax outside layout NC".into());
            }
            let xv = int_act(eg, *x, layout, "softmax input")?;
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), *out),
                layout: xv.layout,
                range: full(*out),
            }
        }
        Qnn::Dequantize([_, l, x]) => {
            let xv = int_act(eg, *x, lay(*l)?, "dequantize input")?;
            Value {
                ty: TensorType::new(xv.ty.shape.clone(), ElemType::F32),
                layout: xv.layout,
                range: full(ElemType::F32),
            }
        }
    }))
}

impl Analysis<Qnn> for QnnAnalysis {
    type Data = Data;

    fn make(egraph: &mut EGraph, enode: &Qnn) -> Data {
        infer(egraph, enode)
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        match (&mut *a, b) {
            (Data::Value(x), Data::Value(y)) => {
                if x.ty != y.ty || x.layout != y.layout {
                    self.conflicts.push(format!(
                        "merged {} ({:?}) with {} ({:?})",
                        x.ty.mlir(),
                        x.layout,
                        y.ty.mlir(),
                        y.layout
                    ));
                    return DidMerge(false, true);
                }
                let r = meet(x.range, y.range);
                let changed = r != x.range;
                let differs_from_b = r != y.range;
                x.range = r;
                DidMerge(changed, differs_from_b)
            }
            (Data::Invalid(_), b @ Data::Value(_)) => {
                *a = b;
                DidMerge(true, false)
            }
            (Data::Value(_), Data::Invalid(_)) => DidMerge(false, true),
            (Data::Meta, Data::Meta) => DidMerge(false, false),
            (x, y) => {
                let changed = *x != y;
                DidMerge(false, changed)
            }
        }
    }
}
