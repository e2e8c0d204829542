//! Rewrite rules, one module per topic. Every rule is an equality that holds exactly under the
//! integer semantics of `nibble_qnn::semantics` and the op definitions of `nibble_qnn::graph`
//! (`Epilogue::apply` for fused convs); the proof of each conditional rule sits next to it.
//! No rule is applied because it is "better": the e-graph keeps both sides and the extractor's
//! cost model chooses, so the input is always among the candidates.
//!
//! - [`layout`]: layout transforms cancel and compose; every layout-polymorphic op (conv2d,
//!   conv2d_fused, requantize, add, relu, clamp, pooling, flatten) is valid in each 4-D layout;
//!   transforms move through elementwise ops and pooling.
//! - [`fusion`]: requantize / relu / residual add into the producing conv's epilogue.
//! - [`pooling`]: monotone elementwise ops (requantize with non-negative multipliers, relu,
//!   clamp) commute with max pooling, so they can reach the conv before the pool.
//! - [`elementwise`]: relu and clamp that cannot change their input (by the range analysis).
//! - [`channels`]: gathers of channels compose.

pub mod channels;
pub mod elementwise;
pub mod fusion;
pub mod layout;
pub mod pooling;

use super::analysis::{attr, value, EGraph, QnnAnalysis};
use super::language::Qnn;
use egg::{Id, Pattern, Subst, Var};

pub type Rewrite = egg::Rewrite<Qnn, QnnAnalysis>;

/// Every rule, grouped by topic.
pub fn rules() -> Vec<Rewrite> {
    let mut r = layout::rules();
    r.extend(fusion::rules());
    r.extend(pooling::rules());
    r.extend(elementwise::rules());
    r.extend(channels::rules());
    r
}

pub(crate) fn var(name: &str) -> Var {
    name.parse().expect("a pattern variable")
}

pub(crate) fn pat(s: &str) -> Pattern<Qnn> {
    s.parse()
        .unwrap_or_else(|e| panic!("bad pattern {s}: {e:?}"))
}

/// A rule condition.
pub trait Cond: Fn(&mut EGraph, Id, &Subst) -> bool + Send + Sync + 'static {}
impl<F: Fn(&mut EGraph, Id, &Subst) -> bool + Send + Sync + 'static> Cond for F {}

/// The op whose attribute leaf `?v` binds had at most one user in the input graph (for a fused
/// epilogue: the op whose value the fused conv computes).
pub fn single_use(v: &str) -> impl Cond {
    let v = var(v);
    move |eg, _, s| attr(eg, s[v]).is_some_and(|a| eg.analysis.single_use(a.site()))
}

/// `?v` is an integer tensor (layout transforms and the layout-polymorphic ops take those only).
pub fn is_int(v: &str) -> impl Cond {
    let v = var(v);
    move |eg, _, s| value(eg, s[v]).is_some_and(|x| x.is_int())
}

/// Both conditions.
pub fn both(a: impl Cond, b: impl Cond) -> impl Cond {
    move |eg: &mut EGraph, id: Id, s: &Subst| a(eg, id, s) && b(eg, id, s)
}
