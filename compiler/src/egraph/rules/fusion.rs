//! Fusion of requantize / relu / residual add into the producing conv's epilogue
//! (`qnn.conv2d_fused`, whose meaning is `Epilogue::apply` in `nibble_qnn::graph`: per output
//! channel c, `y = round(acc * s[c]) + zp` (requantize) or `round(acc * s[c]) + round(r * rs[c])`
//! (residual: each branch rounded on its own, as `qnn.add` does), then `clamp`, then `relu`,
//! then the result type's range).
//!
//! A fused conv replaces the conv's i32 value, so each rule requires that value (and every
//! intermediate the rule swallows) to have had a single user in the input graph
//! ([`single_use`]); duplicating a conv to fuse it is never a candidate.
//!
//! A requantize of a fused conv's result with other users too (HAWQ's wide residual stream: the
//! next block's identity and, requantized to 4 bits, the next conv's input) becomes the conv's
//! *second output* (`conv2d-fused-second-requantize`): `(conv2d-fused2 .. SECOND ..)` computes
//! the pair, `(first P)` is the conv's value and `(second SECOND P)` the requantize's, which is
//! `Epilogue` step 4 by definition (the same requantize of the same value), so both unions are
//! exact. The conv must compute a value of the input graph (not a copy moved before a max pool,
//! see `FuseSecond`); whether the pair is cheaper (one kernel, the wide value is not read back)
//! is the extractor's choice.
//!
//! A requantize of a fused conv's result that has no other user becomes the epilogue's `then`
//! step (`conv2d-fused-then-requantize`): `(conv2d-fused-then .. THEN ..)` is by definition
//! (`Epilogue` step 3) the requantize `THEN` of the conv2d-fused's value, which needs no
//! conversion to its type first (`value_in_type`), so the union is exact. It only saves the
//! wide value's store and re-read, and one launch: HAWQ's stem, after the pooling rules,
//! `conv2d_fused(requantize i16, relu) -> requantize ui4 -> max pool` becomes one conv that
//! writes 4 bits and a max pool over them.
//!
//! A downsampling unit's identity conv stays a plain `conv2d`: its result is the residual add's
//! rhs, whose per-branch rescale runs in the fused residual conv's epilogue (in 64 bits).
//! Moving that rescale into the identity conv (an i32 `round(acc * rs)`) is not exact in
//! general: HAWQ's identity scales are 2.8-86x in ResNet-50, and without the weight values the
//! accumulator has no bound, so the rescaled value may not fit i32.
//!
//! Why `requantize(relu(x)) == relu(requantize(x))` when `zero_point == 0`, every multiplier
//! `b >= 0` and the clamp's upper bound `hi >= 0` (the condition of `conv2d-relu-requantize`):
//! let `g(x) = round(x * b / 2^c)` (any rounding mode) and `f(x) = clamp(g(x), lo, hi)` (with
//! `[lo, hi]` the clamp met with the result type's range, so `hi >= 0` still). `b >= 0` makes `g`
//! non-decreasing and `g(0) = 0`, so `f` is non-decreasing and `f(0) = clamp(0, lo, hi)`.
//! - `lo <= 0 <= hi`: `f(0) = 0`. For `x >= 0`, `f(relu(x)) = f(x) >= f(0) = 0`, so
//!   `relu(f(x)) = f(x)`. For `x < 0`, `f(relu(x)) = f(0) = 0` and `f(x) <= f(0) = 0`, so
//!   `relu(f(x)) = 0`. Equal.
//! - `lo > 0`: `f(x) >= lo > 0` for every x, so `relu(f(x)) = f(x)`; for `x < 0`,
//!   `g(x) <= 0 < lo` gives `f(x) = lo = f(0) = f(relu(x))`; for `x >= 0` `relu(x) = x`. Equal.
//!
//! It fails with a zero point: `zp = 3`, `[lo, hi] = [0, 15]`, `x = -1000` gives
//! `f(relu(x)) = f(0) = 3` but `relu(f(x)) = 0`; and with `hi < 0`: `f(relu(x)) >= f(0) = hi`
//! is negative while `relu(f(x)) = 0`. Those chains are not fused (the relu stays a separate op
//! between the conv and its requantize); `fusion` tests check both.

use super::super::analysis::{attr, EGraph, QnnAnalysis};
use super::super::language::{Attr, EpiKind, Qnn};
use super::{both, single_use, var, Cond, Rewrite};
use egg::{Applier, Id, PatternAst, Subst, Symbol, Var};
use nibble_qnn::semantics::{ElemType, Rounding};

/// `requantize(relu(x)) == relu(requantize(x))` holds (see the module docs).
pub fn requantize_commutes_with_relu(q: &str) -> impl Cond {
    let q = var(q);
    move |eg, _, s| match attr(eg, s[q]) {
        Some(Attr::Requantize {
            scales,
            zero_point,
            clamp,
            offset,
            ..
        }) => *zero_point == 0 && offset.is_empty() && scales.monotone() && clamp[1] >= 0,
        _ => false,
    }
}

/// The requantize `?q` can be an epilogue's second or `then` step (no `f32_fma` offset).
pub fn epilogue_step(q: &str) -> impl Cond {
    let q = var(q);
    move |eg, _, s| attr(eg, s[q]).and_then(Attr::requantize_step).is_some()
}

/// The epilogue `?e`'s value (its clamp, then relu) lies in its element type's range, so the
/// stored value is the value itself (true of every verified `qnn.conv2d_fused`, whose clamp
/// lies in its result type; `conv2d-fused-then-requantize` rests on it).
pub fn value_in_type(e: &str) -> impl Cond {
    let e = var(e);
    move |eg, _, s| match attr(eg, s[e]) {
        Some(Attr::Epilogue {
            clamp, relu, out, ..
        }) => {
            let (lo, hi) = out.range();
            let floor = if *relu { 0 } else { i64::MIN };
            lo <= clamp[0].max(floor) && clamp[1].max(floor) <= hi
        }
        _ => false,
    }
}

/// What a fusion rule folds into the conv.
#[derive(Clone, Copy, Debug)]
enum Fold {
    /// `requantize ?q` (after `relu` when `relu`).
    Requantize { relu: bool },
    /// `add ?p (conv, ?r)`: the conv accumulator is the add's lhs.
    Residual,
    /// `relu ?s` after a conv2d-fused `?e` (relu applies after the clamp: the same order).
    ReluAfterEpilogue,
    /// `relu ?s` straight after a conv: epilogue none (i32, full clamp) + relu.
    Relu,
}

/// Builds `(conv2d-fused ?c EPILOGUE ?l ?kl ?x ?w ?b RESIDUAL)` from a match.
struct Fuse {
    fold: Fold,
}

impl Fuse {
    fn epilogue(&self, eg: &EGraph, s: &Subst) -> Option<(Attr, Id)> {
        let none = || eg.lookup(Qnn::Absent);
        match self.fold {
            Fold::Requantize { relu } => {
                let q = attr(eg, s[var("?q")])?;
                // the requantizes an epilogue takes (no f32_fma add of a constant)
                q.requantize_step()?;
                let Attr::Requantize {
                    site,
                    scales,
                    rounding,
                    zero_point,
                    clamp,
                    out,
                    ..
                } = q
                else {
                    return None;
                };
                let e = Attr::Epilogue {
                    site: *site,
                    kind: EpiKind::Requantize {
                        scales: scales.clone(),
                        zero_point: *zero_point,
                    },
                    rounding: *rounding,
                    clamp: *clamp,
                    relu,
                    out: *out,
                };
                Some((e, none()?))
            }
            Fold::Residual => {
                let Attr::Add {
                    site,
                    lhs,
                    rhs,
                    rounding,
                    clamp,
                    out,
                    ..
                } = attr(eg, s[var("?p")])?
                else {
                    return None;
                };
                // one float sum (ONNX Runtime's QLinearAdd) is not two rounded branches: the
                // residual epilogue rounds each on its own
                if *rounding == Rounding::F32Fma {
                    return None;
                }
                let e = Attr::Epilogue {
                    site: *site,
                    kind: EpiKind::Residual {
                        scales: lhs.clone(),
                        residual: rhs.clone(),
                    },
                    rounding: *rounding,
                    clamp: *clamp,
                    relu: false,
                    out: *out,
                };
                Some((e, s[var("?r")]))
            }
            Fold::ReluAfterEpilogue => {
                let site = attr(eg, s[var("?s")])?.site();
                let Attr::Epilogue {
                    kind,
                    rounding,
                    clamp,
                    relu: false,
                    out,
                    ..
                } = attr(eg, s[var("?e")])?
                else {
                    return None;
                };
                let e = Attr::Epilogue {
                    site,
                    kind: kind.clone(),
                    rounding: *rounding,
                    clamp: *clamp,
                    relu: true,
                    out: *out,
                };
                Some((e, s[var("?r")]))
            }
            Fold::Relu => {
                let site = attr(eg, s[var("?s")])?.site();
                let e = Attr::Epilogue {
                    site,
                    kind: EpiKind::None,
                    rounding: Rounding::HalfToEven,
                    clamp: [i32::MIN as i64, i32::MAX as i64],
                    relu: true,
                    out: ElemType::I32,
                };
                Some((e, none()?))
            }
        }
    }
}

impl Applier<Qnn, QnnAnalysis> for Fuse {
    fn apply_one(
        &self,
        eg: &mut EGraph,
        eclass: Id,
        s: &Subst,
        _ast: Option<&PatternAst<Qnn>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        // `none` exists once an input has an absent operand; add it for the lookups above.
        eg.add(Qnn::Absent);
        let Some((e, residual)) = self.epilogue(eg, s) else {
            return vec![];
        };
        let e = eg.add(Qnn::Attr(e));
        let v = |n: &str| s[var(n)];
        let fused = eg.add(Qnn::Conv2dFused([
            v("?c"),
            e,
            v("?l"),
            v("?kl"),
            v("?x"),
            v("?w"),
            v("?b"),
            residual,
        ]));
        if eg.union(eclass, fused) {
            vec![eclass]
        } else {
            vec![]
        }
    }

    fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> = ["?c", "?l", "?kl", "?x", "?w", "?b"]
            .iter()
            .map(|n| var(n))
            .collect();
        match self.fold {
            Fold::Requantize { .. } => v.push(var("?q")),
            Fold::Residual => v.extend([var("?p"), var("?r")]),
            Fold::ReluAfterEpilogue => v.extend([var("?s"), var("?e"), var("?r")]),
            Fold::Relu => v.push(var("?s")),
        }
        v
    }
}

/// Builds the pair `(conv2d-fused2 ?c ?e ?q ?l ?kl ?x ?w ?b ?r)` of a matched
/// `(requantize ?q ?l (conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r))`: the conv's class gets
/// `(first P)`, the requantize's `(second ?q P)`.
struct FuseSecond;

/// The variables `FuseSecond` reads, in `conv2d-fused2` operand order.
const PAIR_VARS: [&str; 9] = ["?c", "?e", "?q", "?l", "?kl", "?x", "?w", "?b", "?r"];

impl Applier<Qnn, QnnAnalysis> for FuseSecond {
    fn apply_one(
        &self,
        eg: &mut EGraph,
        eclass: Id,
        s: &Subst,
        _ast: Option<&PatternAst<Qnn>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let v = |n: &str| s[var(n)];
        let [c, e, q, l, kl, x, w, b, r] = PAIR_VARS.map(v);
        if attr(eg, q).and_then(Attr::requantize_step).is_none() {
            return vec![];
        }
        let Some(conv) = eg.lookup(Qnn::Conv2dFused([c, e, l, kl, x, w, b, r])) else {
            return vec![];
        };
        // Only for a value of the input graph: the conv must compute the value of the node its
        // epilogue came from (in any layout), not a copy the pooling rules moved before a max
        // pool. There the pair would write both results and pool both (ResNet-18 b64's stem
        // on the H200: +100 us against conv -> pool -> requantize, which bytes and launches do
        // not show).
        let site = attr(eg, e).map(|a| a.site());
        let Some(input) = site.and_then(|s| eg.analysis.node_classes.get(s as usize).copied())
        else {
            return vec![];
        };
        let (input, conv_c) = (eg.find(input), eg.find(conv));
        let same_value = input == conv_c
            || eg[input]
                .nodes
                .iter()
                .any(|n| matches!(n, Qnn::LayoutTransform([_, _, v]) if eg.find(*v) == conv_c));
        if !same_value {
            return vec![];
        }
        let pair = eg.add(Qnn::Conv2dFused2([c, e, q, l, kl, x, w, b, r]));
        let first = eg.add(Qnn::First(pair));
        let second = eg.add(Qnn::Second([q, pair]));
        let a = eg.union(conv, first);
        let b = eg.union(eclass, second);
        match (a, b) {
            (false, false) => vec![],
            _ => vec![conv, eclass],
        }
    }

    fn vars(&self) -> Vec<Var> {
        PAIR_VARS.iter().map(|n| var(n)).collect()
    }
}

#[rustfmt::skip]
pub fn rules() -> Vec<Rewrite> {
    vec![
        // conv -> requantize: Epilogue{Requantize} is requantize applied to the accumulator.
        egg::rewrite!("conv2d-requantize";
            "(requantize ?q ?l (conv2d ?c ?l ?kl ?x ?w ?b))"
            => { Fuse { fold: Fold::Requantize { relu: false } } }
            if single_use("?c")),
        // conv -> relu -> requantize == conv -> requantize -> relu (module docs) == the epilogue
        // with relu.
        egg::rewrite!("conv2d-relu-requantize";
            "(requantize ?q ?l (relu ?s ?l (conv2d ?c ?l ?kl ?x ?w ?b)))"
            => { Fuse { fold: Fold::Requantize { relu: true } } }
            if both(both(single_use("?c"), single_use("?s")), requantize_commutes_with_relu("?q"))),
        // conv -> add(lhs = the conv's accumulator, rhs = residual): Epilogue{Residual} with the
        // add's per-branch scales, rounding and clamp. Only the lhs: Residual rounds
        // `acc * scales` and `r * residual` separately, exactly the add's two branches.
        egg::rewrite!("conv2d-residual-add";
            "(add ?p ?l (conv2d ?c ?l ?kl ?x ?w ?b) ?r)"
            => { Fuse { fold: Fold::Residual } }
            if single_use("?c")),
        // conv2d_fused -> relu: the epilogue's relu runs after its clamp, as relu after the op.
        egg::rewrite!("conv2d-fused-relu";
            "(relu ?s ?l (conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r))"
            => { Fuse { fold: Fold::ReluAfterEpilogue } }
            if single_use("?e")),
        // conv2d_fused -> requantize, the conv's value used elsewhere too: a second output
        // (module docs).
        egg::rewrite!("conv2d-fused-second-requantize";
            "(requantize ?q ?l (conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r))"
            => { FuseSecond }),
        // conv2d_fused -> requantize, the conv's value used only there: the requantize becomes
        // the epilogue's `then` step (module docs), the value itself is never stored.
        egg::rewrite!("conv2d-fused-then-requantize";
            "(requantize ?q ?l (conv2d-fused ?c ?e ?l ?kl ?x ?w ?b ?r))"
            => "(conv2d-fused-then ?c ?e ?q ?l ?kl ?x ?w ?b ?r)"
            if both(single_use("?e"), both(value_in_type("?e"), epilogue_step("?q")))),
        // conv -> relu (i32 result): epilogue none, full i32 clamp, relu.
        egg::rewrite!("conv2d-relu";
            "(relu ?s ?l (conv2d ?c ?l ?kl ?x ?w ?b))"
            => { Fuse { fold: Fold::Relu } }
            if single_use("?c")),
    ]
}
