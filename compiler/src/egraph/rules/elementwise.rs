//! relu and clamp that cannot change their input, by the analysis's quantization range: a
//! `relu` of a value whose range starts at 0 or above is the identity (e.g. after a requantize to
//! `ui4`), and so is a `clamp` whose bounds contain the input's range. Both keep the type (the
//! verifier requires it), so the rewrite is a plain equality.

use super::super::analysis::{attr, value};
use super::super::language::Attr;
use super::{var, Cond, Rewrite};

/// Every element of `?x` is >= 0.
pub fn non_negative(x: &str) -> impl Cond {
    let x = var(x);
    move |eg, _, s| value(eg, s[x]).is_some_and(|v| v.is_int() && v.range.0 >= 0)
}

/// The clamp `?a` contains the range of `?x`.
pub fn clamp_contains(a: &str, x: &str) -> impl Cond {
    let (a, x) = (var(a), var(x));
    move |eg, _, s| {
        let Some(&Attr::Clamp { min, max, .. }) = attr(eg, s[a]) else {
            return false;
        };
        value(eg, s[x]).is_some_and(|v| v.is_int() && min <= v.range.0 && v.range.1 <= max)
    }
}

#[rustfmt::skip]
pub fn rules() -> Vec<Rewrite> {
    vec![
        egg::rewrite!("relu-of-non-negative"; "(relu ?s ?l ?x)" => "?x" if non_negative("?x")),
        egg::rewrite!("clamp-of-contained"; "(clamp ?a ?l ?x)" => "?x" if clamp_contains("?a", "?x")),
    ]
}
