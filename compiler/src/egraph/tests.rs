//! Rule tests in the style of egg's tests/math.rs (one per rule family, positive and negative:
//! saturate a small graph's e-graph with the family's rules and look for patterns in the result
//! class), plus end-to-end checks of [`optimize`]: the CPU reference gives identical results
//! before and after on random inputs, and the extracted program has the expected shape.

use super::analysis::EGraph;
use super::cost::CostModel;
use super::language::Qnn;
use super::rules::{self, Rewrite};
use super::translate::to_egraph;
use super::*;
use egg::{Id, Pattern, Runner, Searcher, SimpleScheduler};
use nibble_qnn::graph::{ChannelScales, Epilogue, EpilogueKind, Node, TensorType, ValueId};
use nibble_qnn::semantics::{ElemType, KernelLayout, Layout, Rounding};
use nibble_qnn::tensor::{Rng, Tensor};
use nibble_qnn::weights::Weights;
use ElemType::{F32, I16, I32, I4, I8, U4, U8};
use Layout::{HWNC, NC, NCHW, NHWC};

fn tt(shape: &[i64], e: ElemType) -> TensorType {
    TensorType::new(shape.to_vec(), e)
}

fn scales(m: &[i32], s: &[i32]) -> ChannelScales {
    ChannelScales {
        multiplier: m.to_vec(),
        shift: s.to_vec(),
    }
}

/// A graph under construction with random weights.
struct B {
    g: Graph,
    w: Weights,
    rng: Rng,
}

impl B {
    fn new(args: Vec<TensorType>) -> Self {
        B {
            g: Graph::new("t", args),
            w: Weights::default(),
            rng: Rng(42),
        }
    }
    fn op(&mut self, op: Op, operands: Vec<ValueId>, result: TensorType) -> ValueId {
        let line = self.g.nodes.len() + 2;
        self.g.nodes.push(Node {
            op,
            operands,
            result,
            loc: format!("t.mlir:{line}:5"),
        });
        self.g.args.len() + self.g.nodes.len() - 1
    }
    fn weight(&mut self, ty: TensorType) -> ValueId {
        let name = format!("w{}", self.g.nodes.len());
        let t = if ty.elem == I32 {
            let v = (0..ty.numel())
                .map(|_| self.rng.int(-2000, 2000) as i32)
                .collect();
            Tensor::int(ty.clone(), v)
        } else {
            self.rng.tensor(&ty)
        };
        self.w.insert(name.clone(), t);
        self.op(Op::Weight { name }, vec![], ty)
    }
    fn ty(&self, v: ValueId) -> TensorType {
        self.g.value_type(v).clone()
    }
    /// conv2d (k x k, stride, padding k/2) with bias: i32.
    fn conv(&mut self, x: ValueId, cout: i64, k: i64, stride: i64, layout: Layout) -> ValueId {
        let xt = self.ty(x);
        let [n, c, h, w] = layout.nchw(&xt.shape);
        let wt = self.weight(tt(&[cout, c, k, k], I4));
        let b = self.weight(tt(&[cout], I32));
        let p = k / 2;
        let oh = (h + 2 * p - k) / stride + 1;
        let ow = (w + 2 * p - k) / stride + 1;
        self.op(
            Op::Conv2d {
                strides: [stride, stride],
                padding: [p, p, p, p],
                layout,
                kernel_layout: KernelLayout::OIHW,
                padding_value: 0,
                groups: 1,
            },
            vec![x, wt, b],
            tt(&layout.shape([n, cout, oh, ow]), I32),
        )
    }
    /// Per-channel requantize with random multipliers and shifts in [lo_shift, lo_shift + 3].
    #[allow(clippy::too_many_arguments)]
    fn requantize(
        &mut self,
        x: ValueId,
        out: ElemType,
        clamp: [i64; 2],
        zero_point: i64,
        rounding: Rounding,
        lo_shift: i32,
        layout: Layout,
    ) -> ValueId {
        let t = self.ty(x);
        let c = t.shape[layout.channel_axis()] as usize;
        let m: Vec<i32> = (0..c)
            .map(|_| self.rng.int(1 << 30, i32::MAX as i64) as i32)
            .collect();
        let s: Vec<i32> = (0..c)
            .map(|_| lo_shift + self.rng.int(0, 3) as i32)
            .collect();
        self.op(
            Op::Requantize {
                offset: vec![],
                scales: scales(&m, &s),
                rounding,
                zero_point,
                clamp,
                layout,
            },
            vec![x],
            TensorType::new(t.shape, out),
        )
    }
    fn relu(&mut self, x: ValueId, layout: Layout) -> ValueId {
        let t = self.ty(x);
        self.op(Op::Relu { layout }, vec![x], t)
    }
    fn add(&mut self, a: ValueId, b: ValueId, rounding: Rounding, layout: Layout) -> ValueId {
        let t = self.ty(a);
        let c = t.shape[layout.channel_axis()] as usize;
        let sc = |rng: &mut Rng| {
            let m: Vec<i32> = (0..c)
                .map(|_| rng.int(1 << 30, i32::MAX as i64) as i32)
                .collect();
            let s: Vec<i32> = (0..c).map(|_| 30 + rng.int(0, 2) as i32).collect();
            scales(&m, &s)
        };
        let (lhs, rhs) = (sc(&mut self.rng), sc(&mut self.rng));
        self.op(
            Op::Add {
                lhs,
                rhs,
                rounding,
                clamp: [i32::MIN as i64, i32::MAX as i64],
                layout,
                bias: 0.0,
            },
            vec![a, b],
            TensorType::new(t.shape, I32),
        )
    }
    fn max_pool(&mut self, x: ValueId, layout: Layout) -> ValueId {
        let t = self.ty(x);
        let [n, c, h, w] = layout.nchw(&t.shape);
        self.op(
            Op::MaxPool2d {
                kernel: [3, 3],
                strides: [2, 2],
                padding: [1, 1, 1, 1],
                layout,
            },
            vec![x],
            TensorType::new(
                layout.shape([n, c, (h - 1) / 2 + 1, (w - 1) / 2 + 1]),
                t.elem,
            ),
        )
    }
    fn transform(&mut self, x: ValueId, src: Layout, dst: Layout) -> ValueId {
        let t = self.ty(x);
        self.op(
            Op::LayoutTransform { src, dst },
            vec![x],
            TensorType::new(dst.shape(src.nchw(&t.shape)), t.elem),
        )
    }
    fn finish(mut self, results: Vec<ValueId>) -> (Graph, Weights) {
        self.g.results = results;
        nibble_qnn::verify::verify_graph(&self.g).expect("a valid test graph");
        (self.g, self.w)
    }
}

/// The e-graph of `g` after running `rules` to saturation; the class of each value.
fn saturate(g: &Graph, rules: &[Rewrite]) -> (EGraph, Vec<Id>) {
    let t = to_egraph(g).unwrap();
    let r = Runner::default()
        .with_egraph(t.egraph)
        .with_iter_limit(30)
        .with_scheduler(SimpleScheduler)
        .run(rules);
    assert!(r.egraph.analysis.conflicts.is_empty());
    let values = t.values.iter().map(|&v| r.egraph.find(v)).collect();
    (r.egraph, values)
}

fn family(name: &str) -> Vec<Rewrite> {
    match name {
        "layout" => rules::layout::rules(),
        "fusion" => rules::fusion::rules(),
        "pooling" => rules::pooling::rules(),
        "elementwise" => rules::elementwise::rules(),
        "channels" => rules::channels::rules(),
        _ => unreachable!(),
    }
}

/// Substitutions of `pattern` in class `id`, as `(var -> class)` lookups.
fn matches(eg: &EGraph, id: Id, pattern: &str) -> Vec<egg::Subst> {
    let p: Pattern<Qnn> = pattern.parse().unwrap();
    p.search_eclass(eg, id)
        .map(|m| m.substs)
        .unwrap_or_default()
}

fn has(eg: &EGraph, id: Id, pattern: &str) -> bool {
    !matches(eg, id, pattern).is_empty()
}

/// Does class `id` hold `pattern` with `?x` bound to class `x`?
fn has_on(eg: &EGraph, id: Id, pattern: &str, x: Id) -> bool {
    let v: egg::Var = "?x".parse().unwrap();
    matches(eg, id, pattern)
        .iter()
        .any(|s| eg.find(s[v]) == eg.find(x))
}

fn anywhere(eg: &EGraph, pattern: &str) -> bool {
    let p: Pattern<Qnn> = pattern.parse().unwrap();
    !p.search(eg).is_empty()
}

/// Optimize for `target` and check the reference gives identical results on random inputs.
fn optimize_exactly(g: &Graph, w: &Weights, target: Target) -> (Graph, Stats) {
    let (out, st) = optimize(
        g,
        &Options {
            target,
            ..Options::default()
        },
    )
    .unwrap();
    let (wb, wo) = (w.bind(g).unwrap(), w.bind(&out).unwrap());
    for seed in 0..3 {
        let mut rng = Rng(100 + seed);
        let inputs: Vec<Tensor> = g.args.iter().map(|t| rng.tensor(t)).collect();
        let before = nibble_qnn::reference::run(g, &wb, &inputs).unwrap();
        let after = nibble_qnn::reference::run(&out, &wo, &inputs).unwrap();
        // the static bounds of the fused graph hold every value it computes
        let bounds = nibble_qnn::bounds::value_bounds(&out, &wo).unwrap();
        let all = nibble_qnn::reference::run_all(&out, &wo, &inputs).unwrap();
        for (v, b) in bounds.iter().enumerate() {
            if let (Some(b), true) = (b, all[v].ty.elem.is_int()) {
                if let Some(x) = all[v]
                    .ints()
                    .iter()
                    .find(|&&x| !(b.lo..=b.hi).contains(&(x as i64)))
                {
                    panic!(
                        "seed {seed}: %{v} = {x} outside its bound [{}, {}]\n{}",
                        b.lo,
                        b.hi,
                        out.to_mlir()
                    );
                }
            }
        }
        for (a, b) in after.iter().zip(&before) {
            assert_eq!(a.ty, b.ty);
            if let Some(i) = a.first_mismatch(b) {
                panic!(
                    "seed {seed}: mismatch at {:?}: {} after, {} before\n{}\n{}",
                    a.unflatten(i),
                    a.show(i),
                    b.show(i),
                    g.to_mlir(),
                    out.to_mlir()
                );
            }
        }
    }
    (out, st)
}

fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| f(&n.op)).count()
}

/// The element type of the (first) max pool's result.
fn max_pool_elem(g: &Graph) -> ElemType {
    g.nodes
        .iter()
        .find(|n| matches!(n.op, Op::MaxPool2d { .. }))
        .expect("a max pool")
        .result
        .elem
}

fn fused_epilogues(g: &Graph) -> Vec<Epilogue> {
    g.nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Conv2dFused { epilogue, .. } => Some(epilogue.clone()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

#[test]
fn layout_transforms_cancel() {
    let mut b = B::new(vec![tt(&[2, 8, 4, 6], I8)]);
    let t = b.transform(0, NCHW, NHWC);
    let back = b.transform(t, NHWC, NCHW);
    let r = b.relu(back, NCHW);
    let (g, w) = b.finish(vec![r]);
    let (eg, v) = saturate(&g, &family("layout"));
    assert_eq!(v[back], v[0], "NCHW -> NHWC -> NCHW is the argument");
    assert!(has_on(&eg, v[r], "(relu ?s NCHW ?x)", v[0]));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::LayoutTransform { .. })), 0);
}

#[test]
fn layout_transforms_compose_but_do_not_cancel() {
    let mut b = B::new(vec![tt(&[2, 8, 4, 6], I8)]);
    let t = b.transform(0, NCHW, NHWC);
    let u = b.transform(t, NHWC, HWNC);
    let (g, w) = b.finish(vec![u]);
    let (eg, v) = saturate(&g, &family("layout"));
    assert!(has_on(&eg, v[u], "(layout-transform NCHW HWNC ?x)", v[0]));
    assert_ne!(v[u], v[0]);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::LayoutTransform { .. })), 1);
}

#[test]
fn ops_are_valid_in_every_layout() {
    let mut b = B::new(vec![tt(&[2, 3, 8, 8], F32)]);
    let q = b.op(
        Op::Quantize {
            scale: 0.05,
            layout: NCHW,
            zero_point: 0,
            mode: Default::default(),
            pre: vec![],
        },
        vec![0],
        tt(&[2, 3, 8, 8], I8),
    );
    let c = b.conv(q, 8, 3, 1, NCHW);
    let p = b.max_pool(c, NCHW);
    let (g, _) = b.finish(vec![p]);
    let (eg, v) = saturate(&g, &family("layout"));
    for l in ["NHWC", "HWNC"] {
        assert!(has(
            &eg,
            v[c],
            &format!("(layout-transform {l} NCHW (conv2d ?a {l} OIHW (layout-transform NCHW {l} ?q) ?w ?b))")
        ));
        assert!(has(
            &eg,
            v[p],
            &format!("(layout-transform {l} NCHW (max-pool2d ?a {l} ?x))")
        ));
    }
    // Negative: quantize reads f32, which has no layout transform: it keeps its layout.
    assert!(anywhere(&eg, "(quantize ?a NCHW ?x)"));
    assert!(!anywhere(&eg, "(quantize ?a NHWC ?x)"));
    // No transform of the f32 input exists.
    for cls in eg.classes() {
        for n in &cls.nodes {
            if let Qnn::LayoutTransform([_, _, x]) = n {
                assert_ne!(eg.find(*x), v[0], "a layout transform of the f32 input");
            }
        }
    }
}

#[test]
fn layout_transforms_move_through_elementwise_and_pooling() {
    let mut b = B::new(vec![tt(&[2, 8, 8, 8], I16)]);
    let t = b.transform(0, NCHW, NHWC);
    let p = b.max_pool(t, NHWC);
    let r = b.relu(p, NHWC);
    let (g, _) = b.finish(vec![r]);
    let through: Vec<Rewrite> = family("layout")
        .into_iter()
        .filter(|r| r.name.as_str().starts_with("layout-transform-through"))
        .collect();
    let (eg, v) = saturate(&g, &through);
    assert!(has_on(
        &eg,
        v[r],
        "(layout-transform NCHW NHWC (relu ?s NCHW (max-pool2d ?p NCHW ?x)))",
        v[0]
    ));
    // Negative: dequantize produces f32; no transform moves through it.
    let mut b = B::new(vec![tt(&[2, 8, 8, 8], I16)]);
    let t = b.transform(0, NCHW, NHWC);
    let d = b.op(
        Op::Dequantize {
            scales: vec![0.5],
            layout: NHWC,
        },
        vec![t],
        tt(&[2, 8, 8, 8], F32),
    );
    let (g, _) = b.finish(vec![d]);
    let (eg, v) = saturate(&g, &family("layout"));
    assert!(!has(&eg, v[d], "(layout-transform ?a ?b ?x)"));
    assert!(!has(&eg, v[d], "(dequantize ?s NCHW ?x)"));
}

/// A concat of two transformed values becomes the transform of the concat in the source layout,
/// and a concat exists in every layout; optimizing a conv pair feeding a concat keeps the
/// reference's results and leaves no layout transform around the concat (it follows the convs).
#[test]
fn concat_moves_between_layouts() {
    let mut b = B::new(vec![tt(&[2, 8, 6, 6], I8), tt(&[2, 3, 6, 6], I8)]);
    let ta = b.transform(0, NCHW, HWNC);
    let tb = b.transform(1, NCHW, HWNC);
    let c = b.op(
        Op::Concat { layout: HWNC },
        vec![ta, tb],
        tt(&[6, 6, 2, 11], I8),
    );
    let (g, _) = b.finish(vec![c]);
    let (eg, v) = saturate(&g, &family("layout"));
    assert!(has(
        &eg,
        v[c],
        "(layout-transform NCHW HWNC (concat ?s NCHW ?x ?y))"
    ));
    assert!(has(
        &eg,
        v[c],
        "(layout-transform NHWC HWNC (concat ?s NHWC ?x ?y))"
    ));
    // Negative: operands in two different layouts are not one concat's.
    let mut b = B::new(vec![tt(&[2, 8, 6, 6], I8), tt(&[2, 3, 6, 6], I8)]);
    let ta = b.transform(0, NCHW, HWNC);
    let tb = b.transform(1, NCHW, NHWC);
    let tb = b.transform(tb, NHWC, HWNC);
    let c = b.op(
        Op::Concat { layout: HWNC },
        vec![ta, tb],
        tt(&[6, 6, 2, 11], I8),
    );
    let (g, _) = b.finish(vec![c]);
    let through: Vec<Rewrite> = family("layout")
        .into_iter()
        .filter(|r| r.name.as_str() == "layout-transform-through-concat")
        .collect();
    let (eg, v) = saturate(&g, &through);
    assert!(!has(
        &eg,
        v[c],
        "(layout-transform ?a HWNC (concat ?s ?a ?x ?y))"
    ));

    let mut b = B::new(vec![tt(&[2, 8, 6, 6], I8)]);
    let c1 = b.conv(0, 16, 1, 1, NCHW);
    let r1 = b.requantize(c1, I8, [-128, 127], 0, Rounding::HalfToEven, 12, NCHW);
    let c2 = b.conv(0, 8, 3, 1, NCHW);
    let r2 = b.requantize(c2, I8, [-128, 127], 0, Rounding::HalfToEven, 12, NCHW);
    let cat = b.op(
        Op::Concat { layout: NCHW },
        vec![r1, r2],
        tt(&[2, 24, 6, 6], I8),
    );
    let c3 = b.conv(cat, 16, 1, 1, NCHW);
    let (g, w) = b.finish(vec![c3]);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::Concat { .. })), 1);
    let layouts: Vec<_> = out
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Concat { .. }))
        .map(|n| n.op.layout())
        .collect();
    assert_ne!(layouts, vec![Some(NCHW)], "{}", out.to_mlir());
}

/// A mul (its rhs a channel scale) and a lookup exist in every layout and let transforms through;
/// optimizing conv -> lookup -> mul by a channel scale keeps the reference's results.
#[test]
fn mul_and_lookup_move_between_layouts() {
    let mut b = B::new(vec![tt(&[2, 8, 6, 6], I8), tt(&[2, 8, 1, 1], U8)]);
    let table: Vec<i32> = (0..256).map(|i| (i % 100) as i32).collect();
    let l = b.op(
        Op::Lookup {
            table: table.clone(),
            layout: NCHW,
        },
        vec![0],
        tt(&[2, 8, 6, 6], U8),
    );
    let m = b.op(Op::Mul { layout: NCHW }, vec![l, 1], tt(&[2, 8, 6, 6], I32));
    let (g, _) = b.finish(vec![m]);
    let (eg, v) = saturate(&g, &family("layout"));
    for lay in ["NHWC", "HWNC"] {
        assert!(has(
            &eg,
            v[l],
            &format!("(layout-transform {lay} NCHW (lookup ?s {lay} ?x))")
        ));
        assert!(has(
            &eg,
            v[m],
            &format!("(layout-transform {lay} NCHW (mul ?s {lay} ?x ?y))")
        ));
    }
    let mut b = B::new(vec![tt(&[2, 8, 6, 6], I8), tt(&[2, 16, 1, 1], U8)]);
    let c = b.conv(0, 16, 3, 1, NCHW);
    let r = b.requantize(c, I8, [-128, 127], 0, Rounding::HalfToEven, 12, NCHW);
    let l = b.op(
        Op::Lookup {
            table,
            layout: NCHW,
        },
        vec![r],
        tt(&[2, 16, 6, 6], U8),
    );
    let m = b.op(
        Op::Mul { layout: NCHW },
        vec![l, 1],
        tt(&[2, 16, 6, 6], I32),
    );
    let (g, w) = b.finish(vec![m]);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::Mul { .. })), 1);
    assert_eq!(count(&out, |o| matches!(o, Op::Lookup { .. })), 1);
}

#[test]
fn flatten_absorbs_a_layout_transform() {
    let mut b = B::new(vec![tt(&[2, 8, 1, 1], I8)]);
    let t = b.transform(0, NCHW, HWNC);
    let f = b.op(Op::Flatten { layout: HWNC }, vec![t], tt(&[2, 8], I8));
    let (g, w) = b.finish(vec![f]);
    let (eg, v) = saturate(&g, &family("layout"));
    assert!(has_on(&eg, v[f], "(flatten ?s NCHW ?x)", v[0]));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::LayoutTransform { .. })), 0);
}

// ---------------------------------------------------------------------------------------------
// Fusion
// ---------------------------------------------------------------------------------------------

/// conv -> [relu ->] requantize(ui4 [0, 15], zero point `zp`), random per-channel scales.
fn conv_chain(
    relu_first: bool,
    zp: i64,
    clamp: [i64; 2],
    rounding: Rounding,
) -> (Graph, Weights, ValueId, ValueId) {
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let x = if relu_first { b.relu(c, NCHW) } else { c };
    let (out, c2) = if clamp[0] < 0 {
        (I8, clamp)
    } else {
        (U4, clamp)
    };
    let q = b.requantize(x, out, c2, zp, rounding, 10, NCHW);
    let (g, w) = b.finish(vec![q]);
    (g, w, c, q)
}

/// `conv_chain(relu, zp, [0, 15], rounding)` for every rounding mode: the requantize's class
/// holds a fused conv, and the extracted graph is one fused conv with that requantize (zero
/// point `zp`, the rounding kept) and no stand-alone requantize / relu / plain conv left.
fn assert_chain_fully_fused(relu: bool, zp: i64) {
    for rounding in [Rounding::HalfToEven, Rounding::HalfUp, Rounding::Truncate] {
        let (g, w, _, q) = conv_chain(relu, zp, [0, 15], rounding);
        let (eg, v) = saturate(&g, &family("fusion"));
        assert!(has(
            &eg,
            v[q],
            "(conv2d-fused ?c ?e NCHW OIHW ?x ?w ?b none)"
        ));
        let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
        let e = fused_epilogues(&out);
        assert_eq!(e.len(), 1, "{}", out.to_mlir());
        assert!(matches!(
            e[0].kind,
            EpilogueKind::Requantize { zero_point, .. } if zero_point == zp
        ));
        assert_eq!(e[0].rounding, rounding);
        assert_eq!(
            count(&out, |o| matches!(
                o,
                Op::Requantize { .. } | Op::Conv2d { .. } | Op::Relu { .. }
            )),
            0
        );
    }
}

#[test]
fn conv_requantize_fused() {
    assert_chain_fully_fused(false, 3);
}

#[test]
fn conv_requantize_not_fused_when_the_conv_has_other_users() {
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let q = b.requantize(c, U4, [0, 15], 0, Rounding::HalfToEven, 10, NCHW);
    let r = b.relu(c, NCHW);
    let (g, w) = b.finish(vec![q, r]);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[q], "(conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r)"));
    assert!(!has(&eg, v[r], "(conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    // One conv, computed once.
    assert_eq!(
        count(&out, |o| matches!(
            o,
            Op::Conv2d { .. } | Op::Conv2dFused { .. }
        )),
        1
    );
}

#[test]
fn relu_requantize_fused_without_zero_point() {
    assert_chain_fully_fused(true, 0);
    // A signed result: relu must stay in the epilogue.
    let (g, w, _, _) = conv_chain(true, 0, [-128, 127], Rounding::HalfToEven);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let e = fused_epilogues(&out);
    assert_eq!(e.len(), 1);
    assert!(e[0].relu);
}

#[test]
fn relu_requantize_not_fused_with_zero_point() {
    // requantize(relu(x)) with zero point 3 is clamp(round(relu(x) * s) + 3) >= 3 for x < 0,
    // but relu-after-requantize would give 0 there: the relu must stay between conv and
    // requantize.
    let (g, w, c, q) = conv_chain(true, 3, [0, 15], Rounding::HalfToEven);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[q], "(conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    // The conv may absorb the relu (epilogue none + relu), never the requantize before it: the
    // requantize stays an op or becomes the epilogue's then step or second output (after the
    // relu).
    assert_eq!(requantizes_after_the_epilogue(&out), 1);
    for e in fused_epilogues(&out) {
        assert!(matches!(e.kind, EpilogueKind::None) && e.relu);
    }
    let _ = c;
}

/// `qnn.requantize` ops plus second outputs and `then` steps (a requantize of a fused conv's
/// result).
fn requantizes_after_the_epilogue(g: &Graph) -> usize {
    count(g, |o| matches!(o, Op::Requantize { .. }))
        + fused_epilogues(g)
            .iter()
            .filter(|e| e.second.is_some() || e.then.is_some())
            .count()
}

/// ONNX Runtime's add of a constant (`f32_fma` with a per-channel offset) after a conv, then a
/// plain requantize of it.
fn conv_add_constant(relu: bool) -> (Graph, Weights, ValueId) {
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let x = if relu { b.relu(c, NCHW) } else { c };
    let t = b.ty(x);
    let a = b.op(
        Op::Requantize {
            scales: scales(&[12_582_912], &[33]),
            rounding: Rounding::F32Fma,
            zero_point: 0,
            clamp: [0, 255],
            layout: NCHW,
            offset: (0..32).map(|c| c as f32 * 0.75 - 9.5).collect(),
        },
        vec![x],
        tt(&t.shape, ElemType::U8),
    );
    let q = b.requantize(a, U4, [0, 15], 0, Rounding::HalfToEven, 10, NCHW);
    let (g, w) = b.finish(vec![q]);
    (g, w, a)
}

#[test]
fn add_of_a_constant_is_not_fused_into_an_epilogue() {
    // an epilogue requantizes exactly or as f32_half_to_even, never with an f32 offset: the
    // add stays an op, neither the conv's epilogue, nor its second output or then step
    for relu in [false, true] {
        let (g, w, a) = conv_add_constant(relu);
        let (eg, v) = saturate(&g, &family("fusion"));
        assert!(!has(&eg, v[a], "(conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r)"));
        assert!(!has(
            &eg,
            v[a],
            "(conv2d-fused-then ?c ?e ?q ?l ?kl ?x ?w ?b ?r)"
        ));
        assert!(!anywhere(
            &eg,
            "(conv2d-fused2 ?c ?e ?q ?l ?kl ?x ?w ?b ?r)"
        ));
        let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
        let adds: Vec<&Op> = out
            .nodes
            .iter()
            .map(|n| &n.op)
            .filter(|o| {
                matches!(
                    o,
                    Op::Requantize {
                        rounding: Rounding::F32Fma,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(adds.len(), 1, "{}", out.to_mlir());
        assert!(matches!(adds[0], Op::Requantize { offset, .. } if offset.len() == 32));
        assert!(fused_epilogues(&out)
            .iter()
            .all(|e| e.rounding != Rounding::F32Fma
                && e.second.is_none()
                && e.then
                    .as_ref()
                    .is_none_or(|t| t.rounding != Rounding::F32Fma)));
    }
}

#[test]
fn relu_requantize_not_fused_with_a_negative_clamp() {
    // clamp [-128, -1]: relu first gives f(0) = -1, relu last gives 0.
    let (g, w, _, q) = conv_chain(true, 0, [-128, -1], Rounding::HalfToEven);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[q], "(conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(requantizes_after_the_epilogue(&out), 1);
    for e in fused_epilogues(&out) {
        assert!(!matches!(e.kind, EpilogueKind::Requantize { .. }));
    }
}

/// conv -> add(lhs, rhs) -> relu with a residual `r` (an argument).
fn residual_chain(conv_is_lhs: bool) -> (Graph, Weights, ValueId, ValueId) {
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4), tt(&[2, 32, 6, 6], I32)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let s = if conv_is_lhs {
        b.add(c, 1, Rounding::HalfToEven, NCHW)
    } else {
        b.add(1, c, Rounding::HalfToEven, NCHW)
    };
    let r = b.relu(s, NCHW);
    let (g, w) = b.finish(vec![r]);
    (g, w, s, r)
}

#[test]
fn residual_add_fused_with_per_branch_scales() {
    let (g, w, s, r) = residual_chain(true);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(has_on(
        &eg,
        v[s],
        "(conv2d-fused ?c ?e NCHW OIHW ?i ?w ?b ?x)",
        v[1]
    ));
    assert!(has_on(
        &eg,
        v[r],
        "(conv2d-fused ?c ?e NCHW OIHW ?i ?w ?b ?x)",
        v[1]
    ));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let e = fused_epilogues(&out);
    assert_eq!(e.len(), 1);
    let Op::Add { lhs, rhs, .. } = &g.nodes[s - 2].op else {
        panic!()
    };
    match &e[0].kind {
        EpilogueKind::Residual { scales, residual } => {
            assert_eq!((scales, residual), (lhs, rhs));
        }
        k => panic!("{k:?}"),
    }
    assert!(e[0].relu);
    assert_eq!(
        count(&out, |o| matches!(o, Op::Add { .. } | Op::Relu { .. })),
        0
    );
}

#[test]
fn residual_add_not_fused_when_the_conv_is_not_the_lhs() {
    let (g, w, s, _) = residual_chain(false);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[s], "(conv2d-fused ?c ?e ?l ?kl ?i ?w ?b ?x)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::Add { .. })), 1);
    // Negative: a requantize between conv and add (the add's lhs is not the accumulator).
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4), tt(&[2, 32, 6, 6], I32)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let q = b.requantize(c, I16, [-32768, 32767], 0, Rounding::HalfToEven, 4, NCHW);
    let s = b.add(q, 1, Rounding::HalfToEven, NCHW);
    let (g, w) = b.finish(vec![s]);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[s], "(conv2d-fused ?c ?e ?l ?kl ?i ?w ?b ?x)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::Add { .. })), 1);
}

/// HAWQ's residual stream: `s = conv + rescale(r)` (i32: the next block's identity) and its
/// requantize to 4 bits (the next conv's input), both used.
fn residual_stream() -> (B, ValueId) {
    let mut b = B::new(vec![tt(&[2, 32, 6, 6], U4), tt(&[2, 32, 6, 6], I32)]);
    let c = b.conv(0, 32, 3, 1, NCHW);
    let s = b.add(c, 1, Rounding::HalfToEven, NCHW);
    (b, s)
}

#[test]
fn requantize_of_a_shared_fused_conv_becomes_its_second_output() {
    let (mut b, s) = residual_stream();
    let q = b.requantize(s, U4, [0, 15], 0, Rounding::HalfUp, 40, NCHW);
    let (g, w) = b.finish(vec![s, q]);
    let (eg, v) = saturate(&g, &family("fusion"));
    let pair = "(conv2d-fused2 ?c ?e ?q NCHW OIHW ?x ?w ?b ?r)";
    assert!(has(&eg, v[s], &format!("(first {pair})")));
    assert!(has(&eg, v[q], &format!("(second ?q {pair})")));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    // one kernel writes both: no add, no requantize, and the printed IR has a two-result op
    let ops = |o: &Op| !matches!(o, Op::Weight { .. } | Op::SecondResult);
    assert_eq!(count(&out, ops), 1);
    let e = fused_epilogues(&out);
    assert_eq!(e.len(), 1);
    let second = e[0].second.as_ref().expect("a second output");
    assert_eq!(second.rounding, Rounding::HalfUp);
    assert_eq!(second.clamp, [0, 15]);
    assert!(out.to_mlir().contains(":2 = \"qnn.conv2d_fused\""));
}

#[test]
fn requantize_of_a_relu_of_a_shared_conv_is_not_a_second_output() {
    // the relu cannot join the epilogue (the sum has another user), so the requantize does not
    // read the conv's value and must not become its second output
    let (mut b, s) = residual_stream();
    let r = b.relu(s, NCHW);
    let q = b.requantize(r, U4, [0, 15], 0, Rounding::HalfToEven, 40, NCHW);
    let (g, w) = b.finish(vec![s, q]);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(&eg, v[q], "(second ?q ?p)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert!(fused_epilogues(&out).iter().all(|e| e.second.is_none()));
}

#[test]
fn requantize_moved_before_a_max_pool_is_not_a_second_output() {
    // HAWQ's stem, then the requantize to the first conv's 4-bit input: the pooling rules move
    // both requantizes before the pool, but the fused conv there computes a pre-pool copy, not
    // a value of the input graph; a second output would write and pool both results
    let (g, w, q4, eg, v) = stem_to_4_bits_saturated();
    assert!(has(
        &eg,
        v[q4],
        "(max-pool2d ?p NCHW (requantize ?q NCHW ?x))"
    ));
    assert!(!anywhere(&eg, "(second ?q ?p)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert!(fused_epilogues(&out).iter().all(|e| e.second.is_none()));
}

/// HAWQ's stem and the requantize to the first conv's 4-bit input, and its e-graph saturated
/// with the fusion and pooling rules.
fn stem_to_4_bits_saturated() -> (Graph, Weights, ValueId, EGraph, Vec<Id>) {
    let (g, w, _, r) = stem(true);
    let mut b = B::new(g.args.clone());
    b.g = g;
    b.w = w;
    let q4 = b.requantize(r, U4, [0, 15], 0, Rounding::HalfUp, 4, NCHW);
    b.g.results.clear();
    let (g, w) = b.finish(vec![q4]);
    let mut rules = family("fusion");
    rules.extend(family("pooling"));
    let (eg, v) = saturate(&g, &rules);
    (g, w, q4, eg, v)
}

#[test]
fn requantize_of_a_single_use_fused_conv_becomes_its_then_step() {
    // the stem: both requantizes and the relu move before the pool, where the 4-bit
    // requantize of the fused conv's value is the epilogue's then step
    let (g, w, q4, eg, v) = stem_to_4_bits_saturated();
    assert!(has(
        &eg,
        v[q4],
        "(max-pool2d ?p NCHW (conv2d-fused-then ?c ?e ?q NCHW OIHW ?x ?w ?b ?r))"
    ));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    // one conv writing 4 bits and a max pool over them: no requantize, no relu
    let ops = |o: &Op| !matches!(o, Op::Weight { .. });
    assert_eq!(count(&out, ops), 2, "{}", out.to_mlir());
    let e = fused_epilogues(&out);
    let then = e[0].then.as_ref().expect("a then step");
    assert!(e[0].relu && e[0].clamp == [-32768, 32767] && e[0].second.is_none());
    assert_eq!((then.rounding, then.clamp), (Rounding::HalfUp, [0, 15]));
    assert_eq!(max_pool_elem(&out), U4, "the pool reads 4 bits");
}

#[test]
fn requantize_of_a_shared_fused_conv_is_not_a_then_step() {
    // the residual sum is also a result: its requantize cannot replace it
    let (mut b, s) = residual_stream();
    let q = b.requantize(s, U4, [0, 15], 0, Rounding::HalfUp, 40, NCHW);
    let (g, w) = b.finish(vec![s, q]);
    let (eg, v) = saturate(&g, &family("fusion"));
    assert!(!has(
        &eg,
        v[q],
        "(conv2d-fused-then ?c ?e ?q ?l ?kl ?x ?w ?b ?r)"
    ));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert!(fused_epilogues(&out).iter().all(|e| e.then.is_none()));
}

// ---------------------------------------------------------------------------------------------
// Pooling and elementwise
// ---------------------------------------------------------------------------------------------

/// HAWQ's stem: conv -> max pool (i32) -> requantize (i16) -> relu.
fn stem(pool_max: bool) -> (Graph, Weights, ValueId, ValueId) {
    let mut b = B::new(vec![tt(&[2, 8, 8, 8], I8)]);
    let c = b.conv(0, 16, 3, 1, NCHW);
    let p = if pool_max {
        b.max_pool(c, NCHW)
    } else {
        let t = b.ty(c);
        b.op(
            Op::AvgPool2d {
                kernel: [2, 2],
                strides: [2, 2],
                padding: [0, 0, 0, 0],
                layout: NCHW,
                divisor: None,
            },
            vec![c],
            tt(&[t.shape[0], t.shape[1], 4, 4], I32),
        )
    };
    let q = b.requantize(p, I16, [-32768, 32767], 0, Rounding::HalfToEven, 24, NCHW);
    let r = b.relu(q, NCHW);
    let (g, w) = b.finish(vec![r]);
    (g, w, q, r)
}

#[test]
fn requantize_and_relu_move_before_max_pool() {
    let (g, w, q, r) = stem(true);
    let (eg, v) = saturate(&g, &family("pooling"));
    assert!(has(
        &eg,
        v[q],
        "(max-pool2d ?p NCHW (requantize ?q NCHW ?x))"
    ));
    assert!(has(
        &eg,
        v[r],
        "(max-pool2d ?p NCHW (relu ?s NCHW (requantize ?q NCHW ?x)))"
    ));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let e = fused_epilogues(&out);
    assert_eq!(e.len(), 1, "{}", out.to_mlir());
    assert!(e[0].relu && matches!(e[0].kind, EpilogueKind::Requantize { .. }));
    assert_eq!(max_pool_elem(&out), I16, "the pool reads the narrow type");
}

#[test]
fn requantize_not_moved_before_avg_pool_or_with_a_negative_multiplier() {
    let (g, w, q, _) = stem(false);
    let (eg, v) = saturate(&g, &family("pooling"));
    assert!(!has(&eg, v[q], "(avg-pool2d ?p ?l (requantize ?q ?l ?x))"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::AvgPool2d { .. })), 1);
    // A negative multiplier reverses the order (the verifier rejects it; the rule must not rely
    // on that).
    let (mut g, _, q, _) = stem(true);
    if let Op::Requantize { scales, .. } = &mut g.nodes[q - 1].op {
        scales.multiplier[0] = -scales.multiplier[0];
    }
    let (eg, v) = saturate(&g, &family("pooling"));
    assert!(!has(&eg, v[q], "(max-pool2d ?p ?l (requantize ?q ?l ?x))"));
}

#[test]
fn relu_of_non_negative_is_removed() {
    let mut b = B::new(vec![tt(&[2, 8, 4, 4], I32)]);
    let q = b.requantize(0, U4, [0, 15], 0, Rounding::HalfUp, 8, NCHW);
    let r = b.relu(q, NCHW);
    let s = b.requantize(0, I8, [-128, 127], 0, Rounding::HalfUp, 8, NCHW);
    let t = b.relu(s, NCHW);
    let (g, w) = b.finish(vec![r, t]);
    let (eg, v) = saturate(&g, &family("elementwise"));
    assert_eq!(v[r], v[q], "relu of ui4 is the identity");
    assert_ne!(v[t], v[s], "relu of i8 is not");
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert_eq!(count(&out, |o| matches!(o, Op::Relu { .. })), 1);
    let _ = eg;
}

// ---------------------------------------------------------------------------------------------
// Cost model, extraction, end to end
// ---------------------------------------------------------------------------------------------

#[test]
fn cost_model_uses_tcconv_strategy_and_target_facts() {
    // batch 16, 64 channels: direct (HWNC) on sm_90; batch 1: im2col (NHWC).
    for (batch, want) in [(16, HWNC), (1, NHWC)] {
        let mut b = B::new(vec![tt(&[batch, 64, 8, 8], U4)]);
        let c = b.conv(0, 64, 3, 1, NCHW);
        let (g, _) = b.finish(vec![c]);
        let t = to_egraph(&g).unwrap();
        let m = CostModel::new(Target::Sm90);
        let x = super::analysis::value(&t.egraph, t.values[0])
            .unwrap()
            .clone();
        let wv = super::analysis::value(&t.egraph, t.values[1])
            .unwrap()
            .clone();
        assert_eq!(m.kernel_layout(&x, &wv, NCHW, 64).1, want);
    }
    // INT4 is a storage format on sm_90 (INT8 rate) and native on sm_80 (twice the INT8 rate).
    let s90 = super::cost::Facts::of(Target::Sm90);
    let s80 = super::cost::Facts::of(Target::Sm80);
    assert_eq!(s90.int4_macs_per_us, s90.int8_macs_per_us);
    assert_eq!(s80.int4_macs_per_us, 2.0 * s80.int8_macs_per_us);
}

/// A small HAWQ-like network: stem (conv, max pool on i32, 16-bit requantize, relu), a basic
/// block and a downsampling block, average pool, dense, dequantize.
fn mini_resnet(batch: i64, rounding: Rounding) -> (Graph, Weights) {
    let mut b = B::new(vec![tt(&[batch, 3, 16, 16], F32)]);
    let q = b.op(
        Op::Quantize {
            scale: 0.03,
            layout: NCHW,
            zero_point: 0,
            mode: Default::default(),
            pre: vec![],
        },
        vec![0],
        tt(&[batch, 3, 16, 16], I8),
    );
    let c = b.conv(q, 32, 3, 1, NCHW);
    let p = b.max_pool(c, NCHW);
    let r0 = b.requantize(p, I16, [-32768, 32767], 0, rounding, 22, NCHW);
    let mut r = b.relu(r0, NCHW);
    for (cout, stride) in [(32, 1), (64, 2)] {
        let a = b.requantize(r, U4, [0, 15], 0, rounding, 36, NCHW);
        let identity = if stride == 1 {
            r
        } else {
            b.conv(a, cout, 1, stride, NCHW)
        };
        let c1 = b.conv(a, cout, 3, stride, NCHW);
        let z1 = b.relu(c1, NCHW);
        let a1 = b.requantize(z1, U4, [0, 15], 0, rounding, 12, NCHW);
        let c2 = b.conv(a1, cout, 3, 1, NCHW);
        let s = b.add(c2, identity, rounding, NCHW);
        r = b.relu(s, NCHW);
    }
    let t = b.ty(r);
    let [n, c, h, w] = NCHW.nchw(&t.shape);
    let ap = b.op(
        Op::AvgPool2d {
            kernel: [h, w],
            strides: [1, 1],
            padding: [0, 0, 0, 0],
            layout: NCHW,
            divisor: None,
        },
        vec![r],
        tt(&[n, c, 1, 1], I32),
    );
    let a = b.requantize(ap, I8, [-128, 127], 0, rounding, 34, NCHW);
    let f = b.op(Op::Flatten { layout: NCHW }, vec![a], tt(&[n, c], I8));
    let fw = b.weight(tt(&[10, c], I8));
    let fb = b.weight(tt(&[10], I32));
    let d = b.op(Op::Dense, vec![f, fw, fb], tt(&[n, 10], I32));
    let o = b.op(
        Op::Dequantize {
            scales: vec![0.01],
            layout: NC,
        },
        vec![d],
        tt(&[n, 10], F32),
    );
    b.finish(vec![o])
}

#[test]
fn mini_resnet_is_bit_exact_fused_and_in_the_kernel_layout() {
    for rounding in [Rounding::HalfToEven, Rounding::HalfUp, Rounding::Truncate] {
        for (batch, target, body) in [
            (1, Target::Sm90, NHWC),
            (16, Target::Sm90, HWNC),
            (16, Target::Sm75, HWNC),
        ] {
            let (g, w) = mini_resnet(batch, rounding);
            let (out, st) = optimize_exactly(&g, &w, target);
            assert!(!st.kept_input);
            assert!(st.time_after_us < st.time_before_us);
            // Every conv but the downsampling identity conv carries its epilogue.
            assert_eq!(count(&out, |o| matches!(o, Op::Conv2d { .. })), 1);
            assert_eq!(count(&out, |o| matches!(o, Op::Conv2dFused { .. })), 5);
            assert_eq!(
                count(&out, |o| matches!(o, Op::Add { .. } | Op::Relu { .. })),
                0
            );
            // One transform, after the input quantize; the body in the kernels' layout.
            let lt: Vec<&Node> = out
                .nodes
                .iter()
                .filter(|n| matches!(n.op, Op::LayoutTransform { .. }))
                .collect();
            assert_eq!(lt.len(), 1, "{}", out.to_mlir());
            for n in &out.nodes {
                if let Op::Conv2dFused { layout, .. } | Op::Conv2d { layout, .. } = n.op {
                    assert_eq!(layout, body, "batch {batch} {target}");
                }
            }
            // Locations: every op keeps one from the input.
            let locs: std::collections::HashSet<&str> =
                g.nodes.iter().map(|n| n.loc.as_str()).collect();
            assert!(out.nodes.iter().all(|n| locs.contains(n.loc.as_str())));
        }
    }
}

#[test]
fn fused_convs_keep_the_conv_location() {
    let (g, w, _, _) = conv_chain(true, 0, [0, 15], Rounding::HalfToEven);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let conv_loc = &g
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Conv2d { .. }))
        .unwrap()
        .loc;
    let fused = out
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Conv2dFused { .. }))
        .unwrap();
    assert_eq!(&fused.loc, conv_loc);
}

#[test]
fn nothing_to_improve_keeps_the_input() {
    let mut b = B::new(vec![tt(&[2, 8, 4, 4], I8)]);
    let r = b.relu(0, NCHW);
    let (g, w) = b.finish(vec![r]);
    let (out, st) = optimize_exactly(&g, &w, Target::Sm90);
    assert!(st.kept_input);
    assert_eq!(out, g);
}

#[test]
fn unsupported_inputs_are_reported_not_miscompiled() {
    // The e-graph's type inference disagrees with a (hand-broken) result type.
    let mut b = B::new(vec![tt(&[2, 8, 4, 4], I8)]);
    let r = b.relu(0, NCHW);
    let (mut g, _) = b.finish(vec![r]);
    g.nodes[0].result = tt(&[2, 8, 4, 4], I16);
    let e = optimize(&g, &Options::default()).unwrap_err();
    assert!(e.contains("t.mlir:2:5"), "{e}");
}

/// An f32 average pool (`qnn.avg_pool2d_f32`) between two convs keeps its arithmetic through
/// the e-graph, whatever layout the extraction gives it, and is never taken for an integer
/// average pool (no requantize moves across it).
#[test]
fn f32_average_pool_keeps_its_arithmetic() {
    let mut b = B::new(vec![tt(&[2, 8, 8, 8], I8)]);
    let c = b.conv(0, 16, 3, 1, NCHW);
    let q = b.requantize(c, U8, [0, 255], 0, Rounding::HalfToEven, 24, NCHW);
    let pool = Op::AvgPool2dF32 {
        kernel: [3, 3],
        strides: [1, 1],
        padding: [1, 1, 1, 1],
        layout: NCHW,
        input_scale: 0.03125,
        input_zero_point: 3,
        output_scale: 0.0625,
        output_zero_point: 5,
        count_include_pad: true,
    };
    let t = b.ty(q);
    let p = b.op(pool.clone(), vec![q], tt(&t.shape, U8));
    let c2 = b.conv(p, 16, 1, 1, NCHW);
    let (g, w) = b.finish(vec![c2]);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let pools: Vec<&Op> = out
        .nodes
        .iter()
        .map(|n| &n.op)
        .filter(|o| matches!(o, Op::AvgPool2dF32 { .. } | Op::AvgPool2d { .. }))
        .collect();
    assert_eq!(pools.len(), 1, "{}", out.to_mlir());
    let Op::AvgPool2dF32 { layout, .. } = pools[0] else {
        panic!("became {:?}", pools[0]);
    };
    let mut want = pool;
    if let Op::AvgPool2dF32 { layout: l, .. } = &mut want {
        *l = *layout;
    }
    assert_eq!(pools[0], &want);
}

/// A shuffle of 6 channels followed by a slice of it (ShuffleNet's shuffle, then Split): the
/// slice composes into one gather of the input (`gather-of-gather`), and the optimized graph
/// keeps one gather, with the composed indices; a second reader of the shuffle keeps it.
#[test]
fn gathers_compose() {
    let gather = |b: &mut B, x: ValueId, indices: Vec<i32>| {
        let t = b.ty(x);
        let k = indices.len() as i64;
        b.op(
            Op::GatherChannels {
                indices,
                layout: NCHW,
            },
            vec![x],
            tt(&[t.shape[0], k, t.shape[2], t.shape[3]], t.elem),
        )
    };
    let mut b = B::new(vec![tt(&[2, 6, 3, 3], U8)]);
    let s = gather(&mut b, 0, vec![0, 3, 1, 4, 2, 5]);
    let h = gather(&mut b, s, vec![4, 5]);
    let (g, w) = b.finish(vec![h]);
    let (eg, v) = saturate(&g, &family("channels"));
    assert!(has(&eg, v[h], "(gather-channels ?a NCHW ?x)"));
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    let gathers: Vec<&Op> = out
        .nodes
        .iter()
        .map(|n| &n.op)
        .filter(|o| matches!(o, Op::GatherChannels { .. }))
        .collect();
    assert_eq!(gathers.len(), 1, "{}", out.to_mlir());
    assert!(matches!(gathers[0], Op::GatherChannels { indices, .. } if indices == &vec![2, 5]));
    // the shuffle read twice stays (each slice may compose; the shuffle is a result)
    let mut b = B::new(vec![tt(&[2, 6, 3, 3], U8)]);
    let s = gather(&mut b, 0, vec![0, 3, 1, 4, 2, 5]);
    let h = gather(&mut b, s, vec![4, 5]);
    let (g, w) = b.finish(vec![h, s]);
    let (out, _) = optimize_exactly(&g, &w, Target::Sm90);
    assert!(out
        .nodes
        .iter()
        .any(|n| matches!(&n.op, Op::GatherChannels { indices, .. } if indices.len() == 6)));
}
