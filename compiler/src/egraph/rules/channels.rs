//! Gathers of channels compose: `gather(a, gather(b, x))` takes result channel `j` from
//! channel `a[j]` of the inner result, which is channel `b[a[j]]` of `x`, so it equals
//! `gather(b[a], x)` exactly (values move, none is computed). A channel shuffle followed by a
//! Split (ShuffleNet) then reads the shuffle's input directly, and the extractor may drop the
//! shuffle's kernel where nothing else reads it.

use super::super::analysis::{attr, EGraph, QnnAnalysis};
use super::super::language::{Attr, Qnn};
use super::{var, Rewrite};
use egg::{Applier, Id, PatternAst, Subst, Symbol, Var};

struct Compose;

impl Applier<Qnn, QnnAnalysis> for Compose {
    fn apply_one(
        &self,
        eg: &mut EGraph,
        eclass: Id,
        s: &Subst,
        _ast: Option<&PatternAst<Qnn>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let (Some(Attr::Gather { site, indices: a }), Some(Attr::Gather { indices: b, .. })) = (
            attr(eg, s[var("?a")]).cloned(),
            attr(eg, s[var("?b")]).cloned(),
        ) else {
            return vec![];
        };
        let Some(indices) = a
            .iter()
            .map(|&j| usize::try_from(j).ok().and_then(|j| b.get(j).copied()))
            .collect::<Option<Vec<i32>>>()
        else {
            return vec![];
        };
        let at = eg.add(Qnn::Attr(Attr::Gather { site, indices }));
        let g = eg.add(Qnn::GatherChannels([at, s[var("?l")], s[var("?x")]]));
        if eg.union(eclass, g) {
            vec![eclass]
        } else {
            vec![]
        }
    }

    fn vars(&self) -> Vec<Var> {
        ["?a", "?b", "?l", "?x"].map(var).to_vec()
    }
}

pub fn rules() -> Vec<Rewrite> {
    vec![egg::rewrite!("gather-of-gather";
        "(gather-channels ?a ?l (gather-channels ?b ?l ?x))" => { Compose })]
}
