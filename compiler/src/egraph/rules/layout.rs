//! Layout rules.
//!
//! Every qnn op is defined on *logical* (n, c, h, w) indices: its `layout` attribute only says
//! how its operands and result are stored, and per-channel parameters index the logical channel.
//! So for a layout-polymorphic op `f` and 4-D layouts A != B,
//! `f_A(x) == transform(B -> A, f_B(transform(A -> B, x)))` exactly (a transform is a
//! permutation of storage, the identity on logical values). Weights are not transformed: a conv
//! keeps its kernel layout (the weight file stores that layout; tcconv pre-packs weights from
//! any kernel layout at compile time, so changing it would buy nothing at run time).
//! `layout_transform` of f32 tensors is not defined (the reference takes integer tensors), so
//! quantize / dequantize keep their layout and a transform may sit on their integer side.

use super::{is_int, pat, Rewrite};
use nibble_qnn::semantics::Layout;

/// `[(A, B)]` for every ordered pair of distinct 4-D layouts.
fn pairs() -> Vec<(Layout, Layout)> {
    let mut v = vec![];
    for a in Layout::ALL_4D {
        for b in Layout::ALL_4D {
            if a != b {
                v.push((a, b));
            }
        }
    }
    v
}

/// One rule per layout pair: `lhs`/`rhs` templates with `{A}` and `{B}` for the layouts.
fn per_pair(op: &str, lhs: &str, rhs: &str, int_var: &str) -> Vec<Rewrite> {
    pairs()
        .into_iter()
        .map(|(a, b)| {
            let fill = |t: &str| t.replace("{A}", a.name()).replace("{B}", b.name());
            let name = format!(
                "{op}-{}-to-{}",
                a.name().to_lowercase(),
                b.name().to_lowercase()
            );
            egg::rewrite!(name; { pat(&fill(lhs)) } => { pat(&fill(rhs)) } if is_int(int_var))
        })
        .collect()
}

#[rustfmt::skip]
pub fn rules() -> Vec<Rewrite> {
    let mut r = vec![
        // A -> B -> A is the identity (a permutation followed by its inverse).
        egg::rewrite!("layout-transforms-cancel";
            "(layout-transform ?b ?a (layout-transform ?a ?b ?x))" => "?x"),
        // A -> B -> C is A -> C (composition of permutations; C == A is cancel).
        egg::rewrite!("layout-transforms-compose";
            "(layout-transform ?b ?c (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?c ?x)"),
        egg::rewrite!("layout-transform-identity";
            "(layout-transform ?a ?a ?x)" => "?x"),

        // Transforms move through elementwise ops and pooling (towards the consumer that wants
        // the layout, or into a cancelling pair): f_B(T(A->B, x)) == T(A->B, f_A(x)).
        egg::rewrite!("layout-transform-through-relu";
            "(relu ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (relu ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-clamp";
            "(clamp ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (clamp ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-requantize";
            "(requantize ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (requantize ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-add";
            "(add ?s ?b (layout-transform ?a ?b ?x) (layout-transform ?a ?b ?y))"
            => "(layout-transform ?a ?b (add ?s ?a ?x ?y))"),
        egg::rewrite!("layout-transform-through-mul";
            "(mul ?s ?b (layout-transform ?a ?b ?x) (layout-transform ?a ?b ?y))"
            => "(layout-transform ?a ?b (mul ?s ?a ?x ?y))"),
        egg::rewrite!("layout-transform-through-lookup";
            "(lookup ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (lookup ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-concat";
            "(concat ?s ?b (layout-transform ?a ?b ?x) (layout-transform ?a ?b ?y))"
            => "(layout-transform ?a ?b (concat ?s ?a ?x ?y))"),
        egg::rewrite!("layout-transform-through-max-pool2d";
            "(max-pool2d ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (max-pool2d ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-gather-channels";
            "(gather-channels ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (gather-channels ?s ?a ?x))"),
        egg::rewrite!("layout-transform-through-avg-pool2d";
            "(avg-pool2d ?s ?b (layout-transform ?a ?b ?x))" => "(layout-transform ?a ?b (avg-pool2d ?s ?a ?x))"),
        // flatten reads logical (n, c) of an N x C x 1 x 1 tensor in any layout.
        egg::rewrite!("flatten-absorbs-layout-transform";
            "(flatten ?s ?b (layout-transform ?a ?b ?x))" => "(flatten ?s ?a ?x)"),
    ];
    // Each layout-polymorphic op is valid in every 4-D layout.
    r.extend(per_pair("conv2d",
        "(conv2d ?c {A} ?kl ?x ?w ?b)",
        "(layout-transform {B} {A} (conv2d ?c {B} ?kl (layout-transform {A} {B} ?x) ?w ?b))", "?x"));
    // (the residual operand, when there is one, is transformed with the input and result)
    r.extend(per_pair("conv2d-fused",
        "(conv2d-fused ?c ?e {A} ?kl ?x ?w ?b none)",
        "(layout-transform {B} {A} (conv2d-fused ?c ?e {B} ?kl (layout-transform {A} {B} ?x) ?w ?b none))", "?x"));
    r.extend(per_pair("conv2d-fused-residual",
        "(conv2d-fused ?c ?e {A} ?kl ?x ?w ?b ?r)",
        "(layout-transform {B} {A} (conv2d-fused ?c ?e {B} ?kl (layout-transform {A} {B} ?x) ?w ?b
            (layout-transform {A} {B} ?r)))", "?r"));
    for op in ["requantize", "relu", "clamp", "max-pool2d", "avg-pool2d", "lookup", "gather-channels"] {
        r.extend(per_pair(op,
            &format!("({op} ?s {{A}} ?x)"),
            &format!("(layout-transform {{B}} {{A}} ({op} ?s {{B}} (layout-transform {{A}} {{B}} ?x)))"),
            "?x"));
    }
    r.extend(per_pair("add",
        "(add ?s {A} ?x ?y)",
        "(layout-transform {B} {A} (add ?s {B} (layout-transform {A} {B} ?x) (layout-transform {A} {B} ?y)))",
        "?x"));
    r.extend(per_pair("flatten",
        "(flatten ?s {A} ?x)",
        "(flatten ?s {B} (layout-transform {A} {B} ?x))", "?x"));
    // (an N x C x 1 x 1 rhs moves with the lhs: a transform of it is a relabelling)
    r.extend(per_pair("mul",
        "(mul ?s {A} ?x ?y)",
        "(layout-transform {B} {A} (mul ?s {B} (layout-transform {A} {B} ?x) (layout-transform {A} {B} ?y)))",
        "?x"));
    r.extend(per_pair("concat",
        "(concat ?s {A} ?x ?y)",
        "(layout-transform {B} {A} (concat ?s {B} (layout-transform {A} {B} ?x) (layout-transform {A} {B} ?y)))",
        "?x"));
    r
}
