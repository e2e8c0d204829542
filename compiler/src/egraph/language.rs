//! The qnn dataflow as an egg language.
//!
//! Every qnn op is one e-node whose first children are *leaves* holding its typed attributes;
//! value operands follow. Spelled as patterns:
//!
//! ```text
//! (layout-transform SRC DST x)
//! (quantize ATTR LAYOUT x)
//! (conv2d ATTR LAYOUT KERNEL-LAYOUT x w bias)                  bias: a weight or `none`
//! (conv2d-fused ATTR EPILOGUE LAYOUT KERNEL-LAYOUT x w bias residual)   residual or `none`
//! (conv2d-fused2 ATTR EPILOGUE SECOND LAYOUT KERNEL-LAYOUT x w bias residual)
//! (first p)                       (second SECOND p)
//! (conv2d-fused-then ATTR EPILOGUE THEN LAYOUT KERNEL-LAYOUT x w bias residual)
//! (dense ATTR x w bias)
//! (requantize ATTR LAYOUT x)      (add ATTR LAYOUT lhs rhs)     (relu ATTR LAYOUT x)
//! (clamp ATTR LAYOUT x)           (max-pool2d ATTR LAYOUT x)    (avg-pool2d ATTR LAYOUT x)
//! (flatten ATTR LAYOUT x)         (dequantize ATTR LAYOUT x)
//! (concat ATTR LAYOUT lhs rhs)    lhs's channels, then rhs's
//! (mul ATTR LAYOUT lhs rhs)       exact product, rhs possibly N x C x 1 x 1
//! (lookup ATTR LAYOUT x)          table of x's values
//! ```
//!
//! `conv2d-fused2` is a conv2d-fused with a second output: the requantize `SECOND` (an
//! `Attr::Requantize` leaf) of its result, written by the same kernel. Its class is the *pair*;
//! `first` and `second` project its two results (the class of `conv2d-fused2` holds only such
//! nodes, so a projection always names a two-result op).
//!
//! `conv2d-fused-then` is the requantize `THEN` (an `Attr::Requantize` leaf) of a conv2d-fused's
//! result inside the same epilogue: the conv2d-fused's value is never stored, its result is the
//! requantize's (`qnn.conv2d_fused` with `then_*` attributes).
//!
//! `LAYOUT` leaves are spelled `NCHW`, `NHWC`, `HWNC`, `NC`; `KERNEL-LAYOUT` leaves `OIHW`, `OHWI`,
//! `HWOI`, `HWIO`. `ATTR` leaves carry the op's parameters as typed data ([`Attr`]) and the
//! *site*: the index of the input-graph node the op came from. Rules that rebuild an op (in
//! another layout, fused, moved through a pool) reuse its `ATTR` leaf, so every rebuilt node
//! knows where it came from: its location, and how many users the original value had (the
//! fusion rules' single-user condition). Function arguments and weights are leaves too
//! ([`ArgLeaf`], [`WeightLeaf`]). Attribute leaves never appear spelled out in patterns: they
//! are matched by variables (`?attr`), so their `FromStr` always fails.

use egg::{define_language, Id};
use nibble_qnn::graph::{ChannelScales, Epilogue, EpilogueKind, RequantizeStep, TensorType};
use nibble_qnn::semantics::{
    AvgPoolF32, ElemType, FloatStep, KernelLayout, Layout, QuantizeMode, Rounding,
};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

define_language! {
    /// qnn ops as e-nodes (see the module docs for the operand order).
    pub enum Qnn {
        "layout-transform" = LayoutTransform([Id; 3]),
        "quantize" = Quantize([Id; 3]),
        "conv2d" = Conv2d([Id; 6]),
        "conv2d-fused" = Conv2dFused([Id; 8]),
        "conv2d-fused2" = Conv2dFused2([Id; 9]),
        "conv2d-fused-then" = Conv2dFusedThen([Id; 9]),
        "first" = First(Id),
        "second" = Second([Id; 2]),
        "dense" = Dense([Id; 4]),
        "requantize" = Requantize([Id; 3]),
        "add" = Add([Id; 4]),
        "relu" = Relu([Id; 3]),
        "clamp" = Clamp([Id; 3]),
        "max-pool2d" = MaxPool2d([Id; 3]),
        "avg-pool2d" = AvgPool2d([Id; 3]),
        "flatten" = Flatten([Id; 3]),
        "dequantize" = Dequantize([Id; 3]),
        "concat" = Concat([Id; 4]),
        "mul" = Mul([Id; 4]),
        "lookup" = Lookup([Id; 3]),
        "softmax" = Softmax([Id; 3]),
        "gather-channels" = GatherChannels([Id; 3]),
        // `none`: an absent optional operand (no bias, no residual).
        "none" = Absent,
        Layout(ActLayout),
        KernelLayout(WeightLayout),
        Arg(ArgLeaf),
        Weight(WeightLeaf),
        Attr(Attr),
    }
}

/// Why a leaf cannot be parsed from a pattern string.
#[derive(Debug)]
pub struct NotSpelled;

/// An activation layout leaf (`NCHW`, `NHWC`, `HWNC`, `NC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActLayout(pub Layout);

impl ActLayout {
    fn rank(self) -> u8 {
        self.0 as u8
    }
}
impl Ord for ActLayout {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank().cmp(&o.rank())
    }
}
impl PartialOrd for ActLayout {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl FromStr for ActLayout {
    type Err = NotSpelled;
    fn from_str(s: &str) -> Result<Self, NotSpelled> {
        Layout::parse(s).map(ActLayout).ok_or(NotSpelled)
    }
}
impl fmt::Display for ActLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A conv weight layout leaf (`OIHW`, `OHWI`, `HWOI`, `HWIO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WeightLayout(pub KernelLayout);

impl Ord for WeightLayout {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.0 as u8).cmp(&(o.0 as u8))
    }
}
impl PartialOrd for WeightLayout {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl FromStr for WeightLayout {
    type Err = NotSpelled;
    fn from_str(s: &str) -> Result<Self, NotSpelled> {
        KernelLayout::parse(s).map(WeightLayout).ok_or(NotSpelled)
    }
}
impl fmt::Display for WeightLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Index of the input-graph node an op or weight came from.
pub type Site = u32;

/// Leaves are ordered and hashed by a key; equal keys mean equal leaves.
macro_rules! keyed {
    ($t:ty, |$s:ident| $key:expr) => {
        impl PartialEq for $t {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }
        impl Eq for $t {}
        impl Ord for $t {
            fn cmp(&self, o: &Self) -> Ordering {
                fn k($s: &$t) -> impl Ord + '_ {
                    $key
                }
                k(self).cmp(&k(o))
            }
        }
        impl PartialOrd for $t {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Hash for $t {
            fn hash<H: Hasher>(&self, h: &mut H) {
                fn k($s: &$t) -> impl Hash + '_ {
                    $key
                }
                k(self).hash(h)
            }
        }
        impl FromStr for $t {
            type Err = NotSpelled;
            fn from_str(_: &str) -> Result<Self, NotSpelled> {
                Err(NotSpelled)
            }
        }
    };
}

/// Function argument `index` (a tensor value; `layout` is the layout its consumers read it in).
#[derive(Clone, Debug)]
pub struct ArgLeaf {
    pub index: u32,
    pub ty: TensorType,
    pub layout: Layout,
}
keyed!(ArgLeaf, |s| s.index);
impl fmt::Display for ArgLeaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arg{}", self.index)
    }
}

/// A named weight (`qnn.weight`): a compile-time constant.
#[derive(Clone, Debug)]
pub struct WeightLeaf {
    pub site: Site,
    pub name: String,
    pub ty: TensorType,
}
keyed!(WeightLeaf, |s| s.site);
impl fmt::Display for WeightLeaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weight@{}", self.site)
    }
}

/// Per-channel dyadic scales (an ordered copy of [`ChannelScales`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scales {
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
}

impl Scales {
    pub fn of(s: &ChannelScales) -> Self {
        Scales {
            multiplier: s.multiplier.clone(),
            shift: s.shift.clone(),
        }
    }
    pub fn to_graph(&self) -> ChannelScales {
        ChannelScales {
            multiplier: self.multiplier.clone(),
            shift: self.shift.clone(),
        }
    }
    /// Is `x -> round(x * b / 2^c)` non-decreasing for every channel (every `b >= 0`)?
    pub fn monotone(&self) -> bool {
        self.multiplier.iter().all(|&m| m >= 0)
    }
}

/// The epilogue of a fused conv (typed mirror of [`Epilogue`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EpiKind {
    None,
    Requantize { scales: Scales, zero_point: i64 },
    Residual { scales: Scales, residual: Scales },
}

/// Typed op attributes. `site` is the input-graph node the op came from (for a fused epilogue:
/// the node whose value the fused conv computes: the requantize, add or relu it absorbed last).
#[derive(Clone, Debug)]
pub enum Attr {
    Quantize {
        site: Site,
        scale: f32,
        out: ElemType,
        zero_point: i64,
        mode: QuantizeMode,
        /// The float preprocessing (no rule changes it: the site names it).
        pre: Vec<FloatStep>,
    },
    Conv {
        site: Site,
        strides: [i64; 2],
        padding: [i64; 4],
        padding_value: i64,
        groups: i64,
    },
    Dense {
        site: Site,
    },
    Requantize {
        site: Site,
        scales: Scales,
        rounding: Rounding,
        zero_point: i64,
        clamp: [i64; 2],
        out: ElemType,
        /// qnn.requantize's `offset` (under `f32_fma`), as f32 bits.
        offset: Vec<u32>,
    },
    Add {
        site: Site,
        lhs: Scales,
        rhs: Scales,
        rounding: Rounding,
        clamp: [i64; 2],
        out: ElemType,
        bias: f32,
    },
    /// relu, flatten: no parameters.
    Plain {
        site: Site,
    },
    Clamp {
        site: Site,
        min: i64,
        max: i64,
    },
    Pool {
        site: Site,
        kernel: [i64; 2],
        strides: [i64; 2],
        padding: [i64; 4],
        /// The result element type of an average pool (a max pool keeps its input's: `None`,
        /// so the max pool can move behind a requantize unchanged).
        out: Option<ElemType>,
        /// An average pool's divisor when not kh * kw.
        divisor: Option<i64>,
        /// `qnn.avg_pool2d_f32`'s arithmetic (an average pool in f32, quantized).
        f32: Option<AvgPoolF32>,
    },
    Dequantize {
        site: Site,
        scales: Vec<f32>,
    },
    /// qnn.lookup: the table and the result type.
    Lookup {
        site: Site,
        table: Vec<i32>,
        out: ElemType,
    },
    /// qnn.gather_channels: the input channel of each result channel.
    Gather {
        site: Site,
        indices: Vec<i32>,
    },
    /// qnn.softmax: the exponential table, scale, zero point and result type.
    Softmax {
        site: Site,
        table: Vec<f32>,
        scale: f32,
        zero_point: i64,
        out: ElemType,
    },
    Epilogue {
        site: Site,
        kind: EpiKind,
        rounding: Rounding,
        clamp: [i64; 2],
        relu: bool,
        out: ElemType,
    },
}

/// A totally ordered key of an [`Attr`] (floats by their bits, enums by their discriminant).
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum AttrKey<'a> {
    Quantize(Site, u32, u8, i64, u8),
    Conv(Site, [i64; 2], [i64; 4], i64, i64),
    Dense(Site),
    Requantize(Site, &'a Scales, u8, i64, [i64; 2], u8, &'a [u32]),
    Add(Site, &'a Scales, &'a Scales, u8, [i64; 2], u8, u32),
    Plain(Site),
    Clamp(Site, i64, i64),
    #[allow(clippy::type_complexity)]
    Pool(
        Site,
        [i64; 2],
        [i64; 2],
        [i64; 4],
        Option<u8>,
        Option<i64>,
        Option<(u32, i64, u32, i64, bool)>,
    ),
    Dequantize(Site, Vec<u32>),
    Lookup(Site, &'a [i32], u8),
    Softmax(Site, Vec<u32>, u32, i64, u8),
    Gather(Site, &'a [i32]),
    Epilogue(Site, &'a EpiKind, u8, [i64; 2], bool, u8),
}

impl Attr {
    fn key(&self) -> AttrKey<'_> {
        match self {
            Attr::Quantize {
                site,
                scale,
                out,
                zero_point,
                mode,
                ..
            } => AttrKey::Quantize(*site, scale.to_bits(), *out as u8, *zero_point, *mode as u8),
            Attr::Conv {
                site,
                strides,
                padding,
                padding_value,
                groups,
            } => AttrKey::Conv(*site, *strides, *padding, *padding_value, *groups),
            Attr::Dense { site } => AttrKey::Dense(*site),
            Attr::Requantize {
                site,
                scales,
                rounding,
                zero_point,
                clamp,
                out,
                offset,
            } => AttrKey::Requantize(
                *site,
                scales,
                *rounding as u8,
                *zero_point,
                *clamp,
                *out as u8,
                offset,
            ),
            Attr::Add {
                site,
                lhs,
                rhs,
                rounding,
                clamp,
                out,
                bias,
            } => AttrKey::Add(
                *site,
                lhs,
                rhs,
                *rounding as u8,
                *clamp,
                *out as u8,
                bias.to_bits(),
            ),
            Attr::Plain { site } => AttrKey::Plain(*site),
            Attr::Clamp { site, min, max } => AttrKey::Clamp(*site, *min, *max),
            Attr::Pool {
                site,
                kernel,
                strides,
                padding,
                out,
                divisor,
                f32,
            } => AttrKey::Pool(
                *site,
                *kernel,
                *strides,
                *padding,
                out.map(|e| e as u8),
                *divisor,
                f32.map(|p| {
                    (
                        p.input_scale.to_bits(),
                        p.input_zero_point,
                        p.output_scale.to_bits(),
                        p.output_zero_point,
                        p.count_include_pad,
                    )
                }),
            ),
            Attr::Dequantize { site, scales } => {
                AttrKey::Dequantize(*site, scales.iter().map(|s| s.to_bits()).collect())
            }
            Attr::Lookup { site, table, out } => AttrKey::Lookup(*site, table, *out as u8),
            Attr::Gather { site, indices } => AttrKey::Gather(*site, indices),
            Attr::Softmax {
                site,
                table,
                scale,
                zero_point,
                out,
            } => AttrKey::Softmax(
                *site,
                table.iter().map(|v| v.to_bits()).collect(),
                scale.to_bits(),
                *zero_point,
                *out as u8,
            ),
            Attr::Epilogue {
                site,
                kind,
                rounding,
                clamp,
                relu,
                out,
            } => AttrKey::Epilogue(*site, kind, *rounding as u8, *clamp, *relu, *out as u8),
        }
    }

    /// The input-graph node this attribute came from.
    pub fn site(&self) -> Site {
        match self {
            Attr::Quantize { site, .. }
            | Attr::Conv { site, .. }
            | Attr::Dense { site }
            | Attr::Requantize { site, .. }
            | Attr::Add { site, .. }
            | Attr::Plain { site }
            | Attr::Clamp { site, .. }
            | Attr::Pool { site, .. }
            | Attr::Dequantize { site, .. }
            | Attr::Lookup { site, .. }
            | Attr::Softmax { site, .. }
            | Attr::Gather { site, .. }
            | Attr::Epilogue { site, .. } => *site,
        }
    }

    /// The epilogue a fused conv applies (for `Attr::Epilogue`).
    pub fn epilogue(&self) -> Option<Epilogue> {
        let Attr::Epilogue {
            kind,
            rounding,
            clamp,
            relu,
            ..
        } = self
        else {
            return None;
        };
        Some(Epilogue {
            second: None,
            then: None,
            kind: match kind {
                EpiKind::None => EpilogueKind::None,
                EpiKind::Requantize { scales, zero_point } => EpilogueKind::Requantize {
                    scales: scales.to_graph(),
                    zero_point: *zero_point,
                },
                EpiKind::Residual { scales, residual } => EpilogueKind::Residual {
                    scales: scales.to_graph(),
                    residual: residual.to_graph(),
                },
            },
            rounding: *rounding,
            clamp: *clamp,
            relu: *relu,
        })
    }

    /// The epilogue step of a `conv2d-fused2` (second output) or `conv2d-fused-then` whose
    /// `SECOND` / `THEN` leaf is this (`Attr::Requantize`).
    pub fn requantize_step(&self) -> Option<RequantizeStep> {
        let Attr::Requantize {
            scales,
            rounding,
            zero_point,
            clamp,
            offset,
            ..
        } = self
        else {
            return None;
        };
        // epilogue steps take no f32_fma add of a constant
        if *rounding == Rounding::F32Fma || !offset.is_empty() {
            return None;
        }
        Some(RequantizeStep {
            scales: scales.to_graph(),
            rounding: *rounding,
            zero_point: *zero_point,
            clamp: *clamp,
        })
    }

    /// The `Attr::Requantize` leaf of a graph epilogue's second output or `then` step (node
    /// `site`'s value, of element type `out`).
    pub fn of_step(site: Site, o: &RequantizeStep, out: ElemType) -> Attr {
        Attr::Requantize {
            site,
            scales: Scales::of(&o.scales),
            rounding: o.rounding,
            zero_point: o.zero_point,
            clamp: o.clamp,
            out,
            offset: vec![],
        }
    }

    /// The `Attr::Epilogue` of a graph epilogue computing the value of node `site`.
    pub fn of_epilogue(site: Site, e: &Epilogue, out: ElemType) -> Attr {
        Attr::Epilogue {
            site,
            kind: match &e.kind {
                EpilogueKind::None => EpiKind::None,
                EpilogueKind::Requantize { scales, zero_point } => EpiKind::Requantize {
                    scales: Scales::of(scales),
                    zero_point: *zero_point,
                },
                EpilogueKind::Residual { scales, residual } => EpiKind::Residual {
                    scales: Scales::of(scales),
                    residual: Scales::of(residual),
                },
            },
            rounding: e.rounding,
            clamp: e.clamp,
            relu: e.relu,
            out,
        }
    }
}

keyed!(Attr, |s| s.key());

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Attr::Quantize { .. } => "quantize",
            Attr::Conv { .. } => "conv",
            Attr::Dense { .. } => "dense",
            Attr::Requantize { .. } => "requantize",
            Attr::Add { .. } => "add",
            Attr::Plain { .. } => "op",
            Attr::Clamp { .. } => "clamp",
            Attr::Pool { .. } => "pool",
            Attr::Dequantize { .. } => "dequantize",
            Attr::Lookup { .. } => "lookup",
            Attr::Softmax { .. } => "softmax",
            Attr::Gather { .. } => "gather",
            Attr::Epilogue { .. } => "epilogue",
        };
        write!(f, "{kind}@{}", self.site())
    }
}

impl Qnn {
    /// Is this e-node a qnn op (as opposed to a leaf: attribute, layout name, `none`, argument
    /// or weight)?
    pub fn is_op(&self) -> bool {
        !matches!(
            self,
            Qnn::Absent
                | Qnn::Layout(_)
                | Qnn::KernelLayout(_)
                | Qnn::Arg(_)
                | Qnn::Weight(_)
                | Qnn::Attr(_)
        )
    }
}
