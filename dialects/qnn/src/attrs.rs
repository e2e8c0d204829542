//! How each attribute type of an op is spelled in MLIR: printed as attribute-dictionary
//! entries (the graph printer and the op builders) and, with the `mlir` feature, read back from
//! an operation with a located message on failure. `graph::qnn_ops!` derives every qnn op's
//! printer and reader from its fields' [`AttrValue`] impls; tcconv's ops reuse them.

use crate::graph::{arr32, arr64, epilogue_attrs, f32_array, f32_attr, ChannelScales, Epilogue};
use crate::semantics::{FloatStep, KernelLayout, Layout, QuantizeMode, Rounding};

#[cfg(feature = "mlir")]
use melior::ir::operation::OperationRef;

/// An attribute value of an op, under the attribute name(s) its field is declared with.
pub trait AttrValue: Sized {
    /// Its `name = value` entries (one, or several for a compound value such as the dyadic
    /// scales `<name>multiplier` / `<name>shift`).
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>);
    /// The attribute names it is stored under, and whether each is optional.
    fn names(name: &str) -> Vec<(String, bool)> {
        vec![(name.to_owned(), false)]
    }
    /// Read it from `op` (every failure names the attribute).
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String>;
}

fn entry(out: &mut Vec<(String, String)>, name: &str, value: String) {
    out.push((name.to_owned(), value));
}

/// A string attribute's MLIR literal: `"` and `\` escaped, bytes outside printable ASCII as
/// `\XX` (what MLIR's lexer reads back).
pub fn string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:02X}")),
        }
    }
    out.push('"');
    out
}

impl AttrValue for String {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, string_literal(self));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::string(op, name).map(str::to_owned)
    }
}

impl AttrValue for i64 {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, format!("{self} : i64"));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::int(op, name)
    }
}

/// Present with a value, absent without.
impl AttrValue for Option<i64> {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        if let Some(v) = self {
            v.entries(name, out);
        }
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::opt_int(op, name)
    }
}

impl AttrValue for bool {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, self.to_string());
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::bool_attr(op, name)
    }
}

/// Exact: printed as its bit pattern.
impl AttrValue for f32 {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, f32_attr(*self));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::f32_attr(op, name)
    }
}

impl<const N: usize> AttrValue for [i64; N] {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, arr64(self));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::i64_array(op, name)
    }
}

/// `array<f32: ...>`, exact.
impl AttrValue for Vec<f32> {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, f32_array(self));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::f32_vec(op, name)
    }
}

/// Float steps as `[{op = "sub", k = array<f32: ...>}, ...]`.
impl AttrValue for Vec<FloatStep> {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        let steps: Vec<String> = self
            .iter()
            .map(|s| format!("{{k = {}, op = \"{}\"}}", f32_array(&s.k), s.name()))
            .collect();
        entry(out, name, format!("[{}]", steps.join(", ")));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::float_steps(op, name)
    }
}

/// `array<i32: ...>`.
impl AttrValue for Vec<i32> {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, name, arr32(self));
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::i32_vec(op, name)
    }
}

/// `<name>multiplier` and `<name>shift` (`name` is a prefix: "" or `lhs_`).
impl AttrValue for ChannelScales {
    fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
        entry(out, &format!("{name}multiplier"), arr32(&self.multiplier));
        entry(out, &format!("{name}shift"), arr32(&self.shift));
    }
    fn names(name: &str) -> Vec<(String, bool)> {
        vec![
            (format!("{name}multiplier"), false),
            (format!("{name}shift"), false),
        ]
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
        crate::ir::scales(op, &format!("{name}multiplier"), &format!("{name}shift"))
    }
}

/// The epilogue's attributes (`epilogue`, `multiplier`, ..., see [`epilogue_attrs`]); the name
/// is unused.
impl AttrValue for Epilogue {
    fn entries(&self, _: &str, out: &mut Vec<(String, String)>) {
        out.extend(epilogue_attrs(self));
    }
    /// What [`epilogue_attrs`] prints for an epilogue with a second output and a `then` step;
    /// the `second_*` and `then_*` attributes are the optional ones.
    fn names(_: &str) -> Vec<(String, bool)> {
        let scales = ChannelScales {
            multiplier: vec![],
            shift: vec![],
        };
        let step = crate::graph::RequantizeStep {
            scales,
            rounding: Rounding::HalfToEven,
            zero_point: 0,
            clamp: [0, 0],
        };
        let e = Epilogue {
            kind: crate::graph::EpilogueKind::None,
            rounding: Rounding::HalfToEven,
            clamp: [0, 0],
            relu: false,
            second: Some(step.clone()),
            then: Some(step),
        };
        epilogue_attrs(&e)
            .into_iter()
            .map(|(n, _)| {
                let optional = n.starts_with("second_") || n.starts_with("then_");
                (n, optional)
            })
            .collect()
    }
    #[cfg(feature = "mlir")]
    fn read(op: &OperationRef, _: &str) -> Result<Self, String> {
        crate::ir::epilogue_of(op)
    }
}

/// A string attribute from a fixed set of keywords.
macro_rules! keyword_attr {
    ($t:ty, $choices:literal) => {
        impl AttrValue for $t {
            fn entries(&self, name: &str, out: &mut Vec<(String, String)>) {
                entry(out, name, format!("\"{}\"", self.name()));
            }
            #[cfg(feature = "mlir")]
            fn read(op: &OperationRef, name: &str) -> Result<Self, String> {
                let s = crate::ir::string(op, name)?;
                <$t>::parse(s).ok_or_else(|| {
                    format!("attribute '{name}' = \"{s}\" is not one of {}", $choices)
                })
            }
        }
    };
}
keyword_attr!(Layout, "NCHW, NHWC, HWNC, NC");
keyword_attr!(KernelLayout, "OIHW, OHWI, HWOI, HWIO");
keyword_attr!(
    Rounding,
    "half_to_even, half_up, truncate, f32_half_to_even, f32_fma"
);
keyword_attr!(QuantizeMode, "multiply_reciprocal, divide");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_mlir_reads_them() {
        assert_eq!(string_literal("conv1.w"), "\"conv1.w\"");
        assert_eq!(string_literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string_literal("é\n"), "\"\\C3\\A9\\0A\"");
    }
}
