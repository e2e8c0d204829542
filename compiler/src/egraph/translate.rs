//! `Graph` -> e-graph (one e-class per input value) and extraction -> `Graph`.
//!
//! Every op's attribute leaf records its *site* (the input node's index), so a rebuilt node
//! takes the location of the op it came from (a fused conv: the conv's; a layout transform the
//! rules introduced: its operand's producer, or its first user for a function argument).

use super::analysis::{attr, is_absent, kernel_layout_leaf, layout_leaf, value, Data, EGraph};
use super::language::{ActLayout, ArgLeaf, Attr, Qnn, Scales, WeightLayout, WeightLeaf};
use egg::Id;
use nibble_qnn::graph::{EpilogueKind, Graph, Node, Op, ValueId};
use nibble_qnn::semantics::{ElemType, Layout};
use std::collections::{HashMap, HashSet};

/// The e-graph of a function and the class of each of its values.
pub struct Translation {
    pub egraph: EGraph,
    /// Class of each value (arguments first, then nodes).
    pub values: Vec<Id>,
    /// Classes of the function's results.
    pub roots: Vec<Id>,
}

/// Uses of every node's value (as operands and as results).
pub fn use_counts(g: &Graph) -> Vec<u32> {
    let nargs = g.args.len();
    let mut uses = vec![0u32; g.nodes.len()];
    for v in g.nodes.iter().flat_map(|n| &n.operands).chain(&g.results) {
        if let Some(i) = v.checked_sub(nargs) {
            uses[i] += 1;
        }
    }
    uses
}

fn lay(eg: &mut EGraph, l: Layout) -> Id {
    eg.add(Qnn::Layout(ActLayout(l)))
}

/// Build the e-graph of `g`. Fails (with the node's location) when the e-graph's type
/// inference disagrees with the IR, which the optimizer then leaves alone.
pub fn to_egraph(g: &Graph) -> Result<Translation, String> {
    let mut eg = EGraph::default();
    eg.analysis.uses = use_counts(g);
    let nargs = g.args.len();
    let mut values: Vec<Id> = Vec::with_capacity(nargs + g.nodes.len());
    for (i, t) in g.args.iter().enumerate() {
        // An argument is stored in the layout its consumers read it in.
        let layout = if t.shape.len() == 2 {
            Layout::NC
        } else {
            g.nodes
                .iter()
                .filter(|n| n.operands.contains(&i))
                .find_map(|n| n.op.layout())
                .unwrap_or(Layout::NCHW)
        };
        values.push(eg.add(Qnn::Arg(ArgLeaf {
            index: i as u32,
            ty: t.clone(),
            layout,
        })));
    }
    let none = eg.add(Qnn::Absent);
    let seconds = g.second_results();
    // the pair class of each two-result conv (by its value) and its `SECOND` leaf
    let mut pairs: HashMap<ValueId, (Id, Id)> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let site = i as u32;
        let x = |k: usize| values[n.operands[k]];
        let opt = |k: usize| n.operands.get(k).map(|&v| values[v]).unwrap_or(none);
        let id = match &n.op {
            Op::Weight { name } => eg.add(Qnn::Weight(WeightLeaf {
                site,
                name: name.clone(),
                ty: n.result.clone(),
            })),
            Op::Quantize {
                scale,
                layout,
                zero_point,
                mode,
                pre,
            } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Quantize {
                    site,
                    scale: *scale,
                    out: n.result.elem,
                    zero_point: *zero_point,
                    mode: *mode,
                    pre: pre.clone(),
                }));
                eg.add(Qnn::Quantize([a, l, x(0)]))
            }
            Op::Conv2d {
                strides,
                padding,
                layout,
                kernel_layout,
                padding_value,
                groups,
            } => {
                let l = lay(&mut eg, *layout);
                let kl = eg.add(Qnn::KernelLayout(WeightLayout(*kernel_layout)));
                let a = eg.add(Qnn::Attr(Attr::Conv {
                    site,
                    strides: *strides,
                    padding: *padding,
                    padding_value: *padding_value,
                    groups: *groups,
                }));
                eg.add(Qnn::Conv2d([a, l, kl, x(0), x(1), opt(2)]))
            }
            Op::Conv2dFused {
                strides,
                padding,
                layout,
                kernel_layout,
                epilogue,
                padding_value,
                groups,
            } => {
                let l = lay(&mut eg, *layout);
                let kl = eg.add(Qnn::KernelLayout(WeightLayout(*kernel_layout)));
                let a = eg.add(Qnn::Attr(Attr::Conv {
                    site,
                    strides: *strides,
                    padding: *padding,
                    padding_value: *padding_value,
                    groups: *groups,
                }));
                // with a `then` step the epilogue's value is an i32 that is never stored
                let value_elem = match epilogue.then {
                    Some(_) => ElemType::I32,
                    None => n.result.elem,
                };
                let e = eg.add(Qnn::Attr(Attr::of_epilogue(site, epilogue, value_elem)));
                let residual = matches!(epilogue.kind, EpilogueKind::Residual { .. });
                let nbias = n.operands.len().saturating_sub(2 + residual as usize);
                let b = if nbias == 1 { x(2) } else { none };
                let r = if residual {
                    x(n.operands.len() - 1)
                } else {
                    none
                };
                match (&epilogue.then, &epilogue.second, seconds.get(&(nargs + i))) {
                    (Some(t), ..) => {
                        let q = eg.add(Qnn::Attr(Attr::of_step(site, t, n.result.elem)));
                        eg.add(Qnn::Conv2dFusedThen([a, e, q, l, kl, x(0), x(1), b, r]))
                    }
                    (None, Some(o), Some(&p)) => {
                        let ty = g.value_type(p).elem;
                        let q = eg.add(Qnn::Attr(Attr::of_step((p - nargs) as u32, o, ty)));
                        let pair = eg.add(Qnn::Conv2dFused2([a, e, q, l, kl, x(0), x(1), b, r]));
                        pairs.insert(nargs + i, (pair, q));
                        eg.add(Qnn::First(pair))
                    }
                    (None, None, _) => eg.add(Qnn::Conv2dFused([a, e, l, kl, x(0), x(1), b, r])),
                    (None, Some(_), None) => {
                        return Err(format!(
                            "{}: 'qnn.conv2d_fused' has second_* attributes but no second result",
                            n.loc
                        ))
                    }
                }
            }
            Op::SecondResult => {
                let (pair, q) = *pairs
                    .get(&n.operands[0])
                    .ok_or("a second result of an op without a second output")?;
                eg.add(Qnn::Second([q, pair]))
            }
            Op::Dense => {
                let a = eg.add(Qnn::Attr(Attr::Dense { site }));
                eg.add(Qnn::Dense([a, x(0), x(1), opt(2)]))
            }
            Op::Requantize {
                scales,
                rounding,
                zero_point,
                clamp,
                layout,
                offset,
            } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Requantize {
                    site,
                    scales: Scales::of(scales),
                    rounding: *rounding,
                    zero_point: *zero_point,
                    clamp: *clamp,
                    out: n.result.elem,
                    offset: offset.iter().map(|o| o.to_bits()).collect(),
                }));
                eg.add(Qnn::Requantize([a, l, x(0)]))
            }
            Op::Add {
                lhs,
                rhs,
                rounding,
                clamp,
                layout,
                bias,
            } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Add {
                    site,
                    lhs: Scales::of(lhs),
                    rhs: Scales::of(rhs),
                    rounding: *rounding,
                    clamp: *clamp,
                    out: n.result.elem,
                    bias: *bias,
                }));
                eg.add(Qnn::Add([a, l, x(0), x(1)]))
            }
            Op::Relu { layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Plain { site }));
                eg.add(Qnn::Relu([a, l, x(0)]))
            }
            Op::Clamp { min, max, layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Clamp {
                    site,
                    min: *min,
                    max: *max,
                }));
                eg.add(Qnn::Clamp([a, l, x(0)]))
            }
            Op::MaxPool2d {
                kernel,
                strides,
                padding,
                layout,
            }
            | Op::AvgPool2d {
                kernel,
                strides,
                padding,
                layout,
                ..
            }
            | Op::AvgPool2dF32 {
                kernel,
                strides,
                padding,
                layout,
                ..
            } => {
                let l = lay(&mut eg, *layout);
                let is_max = matches!(n.op, Op::MaxPool2d { .. });
                let divisor = match n.op {
                    Op::AvgPool2d { divisor, .. } => divisor,
                    _ => None,
                };
                let f32 = n.op.avg_pool_f32();
                let a = eg.add(Qnn::Attr(Attr::Pool {
                    site,
                    kernel: *kernel,
                    strides: *strides,
                    padding: *padding,
                    out: (!is_max).then_some(n.result.elem),
                    divisor,
                    f32,
                }));
                if is_max {
                    eg.add(Qnn::MaxPool2d([a, l, x(0)]))
                } else {
                    eg.add(Qnn::AvgPool2d([a, l, x(0)]))
                }
            }
            Op::Flatten { layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Plain { site }));
                eg.add(Qnn::Flatten([a, l, x(0)]))
            }
            Op::Mul { layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Plain { site }));
                eg.add(Qnn::Mul([a, l, x(0), x(1)]))
            }
            Op::GatherChannels { indices, layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Gather {
                    site,
                    indices: indices.clone(),
                }));
                eg.add(Qnn::GatherChannels([a, l, x(0)]))
            }
            Op::Softmax {
                table,
                scale,
                zero_point,
                layout,
            } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Softmax {
                    site,
                    table: table.clone(),
                    scale: *scale,
                    zero_point: *zero_point,
                    out: n.result.elem,
                }));
                eg.add(Qnn::Softmax([a, l, x(0)]))
            }
            Op::Lookup { table, layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Lookup {
                    site,
                    table: table.clone(),
                    out: n.result.elem,
                }));
                eg.add(Qnn::Lookup([a, l, x(0)]))
            }
            Op::Concat { layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Plain { site }));
                eg.add(Qnn::Concat([a, l, x(0), x(1)]))
            }
            Op::Dequantize { scales, layout } => {
                let l = lay(&mut eg, *layout);
                let a = eg.add(Qnn::Attr(Attr::Dequantize {
                    site,
                    scales: scales.clone(),
                }));
                eg.add(Qnn::Dequantize([a, l, x(0)]))
            }
            Op::LayoutTransform { src, dst } => {
                let s = lay(&mut eg, *src);
                let d = lay(&mut eg, *dst);
                eg.add(Qnn::LayoutTransform([s, d, x(0)]))
            }
        };
        let here = || {
            if n.loc.is_empty() {
                format!("qnn.{} #{i}", n.op.mnemonic())
            } else {
                n.loc.clone()
            }
        };
        match &eg[id].data {
            Data::Value(v) if v.ty == n.result => {}
            Data::Value(v) => {
                return Err(format!(
                    "{}: the e-graph infers {} for this 'qnn.{}', the IR says {}",
                    here(),
                    v.ty.mlir(),
                    n.op.mnemonic(),
                    n.result.mlir()
                ))
            }
            Data::Invalid(e) => {
                return Err(format!(
                    "{}: 'qnn.{}' is not supported by the e-graph optimizer: {e}",
                    here(),
                    n.op.mnemonic()
                ))
            }
            Data::Meta => unreachable!("ops are values"),
        }
        values.push(id);
    }
    eg.analysis.node_classes = values[nargs..].to_vec();
    eg.rebuild();
    let roots = g.results.iter().map(|&v| values[v]).collect();
    Ok(Translation {
        egraph: eg,
        values,
        roots,
    })
}

/// The op of a chosen e-node, with its value operands (classes) and site.
fn op_of(eg: &EGraph, node: &Qnn) -> Result<(Op, Vec<Id>, Option<u32>), String> {
    let lay = |id: Id| layout_leaf(eg, id).ok_or("missing layout leaf".to_string());
    let at = |id: Id| attr(eg, id).ok_or("missing attribute leaf".to_string());
    let opt = |id: Id| (!is_absent(eg, id)).then_some(id);
    let bad = || format!("malformed e-node {node}");
    Ok(match node {
        Qnn::LayoutTransform([s, d, x]) => (
            Op::LayoutTransform {
                src: lay(*s)?,
                dst: lay(*d)?,
            },
            vec![*x],
            None,
        ),
        Qnn::Quantize([a, l, x]) => {
            let Attr::Quantize {
                site,
                scale,
                zero_point,
                mode,
                pre,
                ..
            } = at(*a)?
            else {
                return Err(bad());
            };
            (
                Op::Quantize {
                    scale: *scale,
                    layout: lay(*l)?,
                    zero_point: *zero_point,
                    mode: *mode,
                    pre: pre.clone(),
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::Conv2d([a, l, kl, x, w, b])
        | Qnn::Conv2dFused([a, _, l, kl, x, w, b, _])
        | Qnn::Conv2dFused2([a, _, _, l, kl, x, w, b, _])
        | Qnn::Conv2dFusedThen([a, _, _, l, kl, x, w, b, _]) => {
            let Attr::Conv {
                site,
                strides,
                padding,
                padding_value,
                groups,
            } = at(*a)?
            else {
                return Err(bad());
            };
            let layout = lay(*l)?;
            let kernel_layout = kernel_layout_leaf(eg, *kl).ok_or_else(bad)?;
            let mut operands = vec![*x, *w];
            operands.extend(opt(*b));
            let fused = match node {
                Qnn::Conv2dFused([_, e, .., r]) => Some((*e, None, *r)),
                Qnn::Conv2dFused2([_, e, q, .., r]) => Some((*e, Some(*q), *r)),
                Qnn::Conv2dFusedThen([_, e, q, .., r]) => Some((*e, Some(*q), *r)),
                _ => None,
            };
            let op = if let Some((e, q, r)) = fused {
                operands.extend(opt(r));
                let mut epilogue = at(e)?.epilogue().ok_or_else(bad)?;
                if let Some(q) = q {
                    let step = Some(at(q)?.requantize_step().ok_or_else(bad)?);
                    match node {
                        Qnn::Conv2dFusedThen(_) => epilogue.then = step,
                        _ => epilogue.second = step,
                    }
                }
                Op::Conv2dFused {
                    strides: *strides,
                    padding: *padding,
                    layout,
                    kernel_layout,
                    epilogue,
                    padding_value: *padding_value,
                    groups: *groups,
                }
            } else {
                Op::Conv2d {
                    strides: *strides,
                    padding: *padding,
                    layout,
                    kernel_layout,
                    padding_value: *padding_value,
                    groups: *groups,
                }
            };
            (op, operands, Some(*site))
        }
        Qnn::Dense([a, x, w, b]) => {
            let mut operands = vec![*x, *w];
            operands.extend(opt(*b));
            (Op::Dense, operands, Some(at(*a)?.site()))
        }
        Qnn::Requantize([a, l, x]) => {
            let Attr::Requantize {
                site,
                scales,
                rounding,
                zero_point,
                clamp,
                offset,
                ..
            } = at(*a)?
            else {
                return Err(bad());
            };
            (
                Op::Requantize {
                    offset: offset.iter().map(|&o| f32::from_bits(o)).collect(),
                    scales: scales.to_graph(),
                    rounding: *rounding,
                    zero_point: *zero_point,
                    clamp: *clamp,
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::Add([a, l, x, y]) => {
            let Attr::Add {
                site,
                lhs,
                rhs,
                rounding,
                clamp,
                bias,
                ..
            } = at(*a)?
            else {
                return Err(bad());
            };
            (
                Op::Add {
                    lhs: lhs.to_graph(),
                    rhs: rhs.to_graph(),
                    rounding: *rounding,
                    clamp: *clamp,
                    layout: lay(*l)?,
                    bias: *bias,
                },
                vec![*x, *y],
                Some(*site),
            )
        }
        Qnn::Relu([a, l, x]) => (
            Op::Relu { layout: lay(*l)? },
            vec![*x],
            Some(at(*a)?.site()),
        ),
        Qnn::Clamp([a, l, x]) => {
            let Attr::Clamp { site, min, max } = at(*a)? else {
                return Err(bad());
            };
            (
                Op::Clamp {
                    min: *min,
                    max: *max,
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::MaxPool2d([a, l, x]) | Qnn::AvgPool2d([a, l, x]) => {
            let Attr::Pool {
                site,
                kernel,
                strides,
                padding,
                divisor,
                f32,
                ..
            } = at(*a)?
            else {
                return Err(bad());
            };
            let (kernel, strides, padding, layout) = (*kernel, *strides, *padding, lay(*l)?);
            let op = if matches!(node, Qnn::MaxPool2d(_)) {
                Op::MaxPool2d {
                    kernel,
                    strides,
                    padding,
                    layout,
                }
            } else if let Some(p) = f32 {
                Op::AvgPool2dF32 {
                    kernel,
                    strides,
                    padding,
                    layout,
                    input_scale: p.input_scale,
                    input_zero_point: p.input_zero_point,
                    output_scale: p.output_scale,
                    output_zero_point: p.output_zero_point,
                    count_include_pad: p.count_include_pad,
                }
            } else {
                Op::AvgPool2d {
                    kernel,
                    strides,
                    padding,
                    layout,
                    divisor: *divisor,
                }
            };
            (op, vec![*x], Some(*site))
        }
        Qnn::Flatten([a, l, x]) => (
            Op::Flatten { layout: lay(*l)? },
            vec![*x],
            Some(at(*a)?.site()),
        ),
        Qnn::Concat([a, l, x, y]) => (
            Op::Concat { layout: lay(*l)? },
            vec![*x, *y],
            Some(at(*a)?.site()),
        ),
        Qnn::Mul([a, l, x, y]) => (
            Op::Mul { layout: lay(*l)? },
            vec![*x, *y],
            Some(at(*a)?.site()),
        ),
        Qnn::Lookup([a, l, x]) => {
            let Attr::Lookup { site, table, .. } = at(*a)? else {
                return Err(bad());
            };
            (
                Op::Lookup {
                    table: table.clone(),
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::GatherChannels([a, l, x]) => {
            let Attr::Gather { site, indices } = at(*a)? else {
                return Err(bad());
            };
            (
                Op::GatherChannels {
                    indices: indices.clone(),
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::Softmax([a, l, x]) => {
            let Attr::Softmax {
                site,
                table,
                scale,
                zero_point,
                ..
            } = at(*a)?
            else {
                return Err(bad());
            };
            (
                Op::Softmax {
                    table: table.clone(),
                    scale: *scale,
                    zero_point: *zero_point,
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::Dequantize([a, l, x]) => {
            let Attr::Dequantize { site, scales } = at(*a)? else {
                return Err(bad());
            };
            (
                Op::Dequantize {
                    scales: scales.clone(),
                    layout: lay(*l)?,
                },
                vec![*x],
                Some(*site),
            )
        }
        Qnn::Weight(w) => (
            Op::Weight {
                name: w.name.clone(),
            },
            vec![],
            Some(w.site),
        ),
        Qnn::Absent
        | Qnn::Layout(_)
        | Qnn::KernelLayout(_)
        | Qnn::Attr(_)
        | Qnn::Arg(_)
        | Qnn::First(_)
        | Qnn::Second(_) => return Err(bad()),
    })
}

/// Rebuild a function from the chosen node of every needed class. Nodes come out in a
/// depth-first post-order from the results (operands first, in operand order), like the input.
pub fn to_graph(
    input: &Graph,
    eg: &EGraph,
    choice: &HashMap<Id, Qnn>,
    roots: &[Id],
) -> Result<Graph, String> {
    let mut g = Graph::new(input.name.clone(), input.args.clone());
    let mut emitted: HashMap<Id, ValueId> = HashMap::new();
    // the second-result projection of each emitted two-result conv
    let mut seconds: HashMap<ValueId, ValueId> = HashMap::new();
    let mut visiting: HashSet<Id> = HashSet::new();
    let mut stack: Vec<(Id, bool)> = roots.iter().rev().map(|&r| (eg.find(r), false)).collect();
    while let Some((c, expanded)) = stack.pop() {
        if emitted.contains_key(&c) {
            continue;
        }
        let node = choice
            .get(&c)
            .ok_or_else(|| format!("no choice for e-class {c}"))?;
        if let Qnn::Arg(a) = node {
            emitted.insert(c, a.index as usize);
            continue;
        }
        // projections emit nothing: they name a result of their pair's node
        let (op, operands, site) = match node {
            Qnn::First(p) | Qnn::Second([_, p]) => (None, vec![*p], None),
            _ => {
                let (op, operands, site) = op_of(eg, node)?;
                (Some(op), operands, site)
            }
        };
        let operands: Vec<Id> = operands.iter().map(|&o| eg.find(o)).collect();
        if !expanded {
            if !visiting.insert(c) {
                return Err("the extracted program has a cycle".into());
            }
            stack.push((c, true));
            for &o in operands.iter().rev() {
                if !emitted.contains_key(&o) {
                    stack.push((o, false));
                }
            }
            continue;
        }
        visiting.remove(&c);
        let result = value(eg, c)
            .ok_or_else(|| format!("e-class {c} is not a value"))?
            .ty
            .clone();
        let operands = operands
            .iter()
            .map(|o| {
                emitted
                    .get(o)
                    .copied()
                    .ok_or("operand not emitted".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some(op) = op else {
            let p = operands[0];
            let v = match node {
                Qnn::First(_) => Some(p),
                _ => seconds.get(&p).copied(),
            };
            emitted.insert(c, v.ok_or("a projection of a one-result op")?);
            continue;
        };
        let loc = site
            .and_then(|s| input.nodes.get(s as usize))
            .map(|n| n.loc.clone())
            .unwrap_or_default();
        // a pair also emits its second result, typed by the analysis of `(second SECOND P)`
        let second = match node {
            Qnn::Conv2dFused2([_, _, q, ..]) => Some(
                super::analysis::infer(eg, &Qnn::Second([*q, c]))
                    .value()
                    .ok_or_else(|| format!("malformed e-node {node}"))?
                    .ty
                    .clone(),
            ),
            _ => None,
        };
        g.nodes.push(Node {
            op,
            operands,
            result,
            loc: loc.clone(),
        });
        let v = g.args.len() + g.nodes.len() - 1;
        emitted.insert(c, v);
        if let Some(ty) = second {
            g.nodes.push(Node {
                op: Op::SecondResult,
                operands: vec![v],
                result: ty,
                loc,
            });
            seconds.insert(v, v + 1);
        }
    }
    g.results = roots.iter().map(|r| emitted[&eg.find(*r)]).collect();
    // Transforms the rules introduced: the location of the operand's producer, else of the
    // first user.
    let nargs = g.args.len();
    for i in 0..g.nodes.len() {
        if !g.nodes[i].loc.is_empty() {
            continue;
        }
        let from_operand = g.nodes[i]
            .operands
            .first()
            .and_then(|&v| g.node_of(v))
            .map(|n| n.loc.clone())
            .filter(|l| !l.is_empty());
        let from_user = || {
            g.nodes
                .iter()
                .find(|n| n.operands.contains(&(nargs + i)))
                .map(|n| n.loc.clone())
        };
        if let Some(l) = from_operand.or_else(from_user) {
            g.nodes[i].loc = l;
        }
    }
    Ok(g)
}
