//! Monotone elementwise ops commute with max pooling.
//!
//! A max pool takes, per (n, c) and output position, the maximum of the window's in-bounds
//! elements (padding never wins; the verifier's `padding < kernel` leaves at least one element in
//! every window). For a per-channel non-decreasing `f`, `max_i f(x_i) = f(max_i x_i)`: the
//! element that is largest before `f` is largest after it. Requantize with multipliers `b >= 0`
//! is non-decreasing (`x * b` is, every rounding mode is, `+ zero_point` and `clamp` are), and so
//! are relu and clamp. Moving them before the pool lets them reach the producing conv's epilogue
//! and makes the pool read the narrower type (HAWQ's stem: conv -> max pool on i32 -> 16-bit
//! requantize -> relu becomes conv2d_fused(requantize, relu) -> max pool on i16). Average
//! pooling (`floor(sum / count)`) does not commute with any of them and has no such rule.

use super::super::analysis::attr;
use super::super::language::Attr;
use super::{var, Cond, Rewrite};

/// `?q` is a requantize whose every multiplier is non-negative (a non-decreasing map).
pub fn monotone_requantize(q: &str) -> impl Cond {
    let q = var(q);
    move |eg, _, s| matches!(attr(eg, s[q]), Some(Attr::Requantize { scales, .. }) if scales.monotone())
}

#[rustfmt::skip]
pub fn rules() -> Vec<Rewrite> {
    vec![
        egg::rewrite!("requantize-before-max-pool2d";
            "(requantize ?q ?l (max-pool2d ?p ?l ?x))" => "(max-pool2d ?p ?l (requantize ?q ?l ?x))"
            if monotone_requantize("?q")),
        egg::rewrite!("relu-before-max-pool2d";
            "(relu ?s ?l (max-pool2d ?p ?l ?x))" => "(max-pool2d ?p ?l (relu ?s ?l ?x))"),
        egg::rewrite!("clamp-before-max-pool2d";
            "(clamp ?s ?l (max-pool2d ?p ?l ?x))" => "(max-pool2d ?p ?l (clamp ?s ?l ?x))"),
    ]
}
