//! The cost model: estimated run time of each qnn op as its own kernel on a target.
//!
//! `time = bytes moved / bandwidth + launches * launch overhead + MACs / tensor-core rate`.
//!
//! - Bytes: every operand read once and the result written once, at the element type's width
//!   (4-bit values packed two per byte: INT4 packing is a storage decision of tcconv; a fused
//!   conv with a `ui4`/`i4` result is written packed by its kernel). Weights count (a kernel
//!   reads them) but cost nothing to re-layout: tcconv pre-packs them at compile time.
//! - Launches: one per op, plus one for the relayout tcconv inserts when a conv's input is not in
//!   the layout its kernel reads.
//! - Convs and dense: the strategy is `nibble_tcconv::select::choose_strategy` (direct reads HWNC
//!   and needs the tensor-core shape constraints at this batch size, im2col reads NHWC), the MMA
//!   and operand types are `mma_for` (on sm_90 INT4 is a storage format and the math is INT8:
//!   4-bit convs run at the INT8 rate there; sm_75..sm_89 have native INT4 MMAs at twice the INT8
//!   rate). Direct pads the input channels to the MMA's K. A conv whose `layout` differs from
//!   what its kernel reads pays a relayout of its input (read + write + one launch).
//! - Leaves (arguments, weights, attributes) are free.
//!
//! The numbers are vendor peak figures (dense tensor-core TOPS, DRAM bandwidth; sm_90: the
//! measured 1245 TOPS s8 `mma.sync` and ~4 TB/s of HBM) and a typical launch gap inside a
//! CUDA graph. They only have to rank alternatives: what a choice changes is bytes, launches and
//! relayouts; MACs are the same for every candidate except a duplicated conv.

use super::analysis::{attr, is_absent, layout_leaf, value, Data, EGraph, Value};
use super::language::Qnn;
use egg::Language;
use nibble_qnn::semantics::Layout;
use nibble_tcconv::program::Strategy;
use nibble_tcconv::select::{choose_strategy, mma_for};
use nibble_tcconv::target::Target;
use std::fmt;

/// What a set of kernels costs, by component.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    /// Bytes read and written.
    pub bytes: f64,
    /// Kernel launches (relayouts included).
    pub launches: f64,
    /// Multiply-accumulates of convs and dense layers.
    pub macs: f64,
    /// Time of the MACs at the target's rate for their operand types (µs).
    pub mac_us: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            bytes: self.bytes + o.bytes,
            launches: self.launches + o.launches,
            macs: self.macs + o.macs,
            mac_us: self.mac_us + o.mac_us,
        }
    }
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        *self = *self + o;
    }
}

/// Per-target rates.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// DRAM bandwidth, bytes per µs.
    pub bytes_per_us: f64,
    /// INT8 tensor-core MACs per µs (dense).
    pub int8_macs_per_us: f64,
    /// INT4 tensor-core MACs per µs (the INT8 rate where INT4 is only a storage format).
    pub int4_macs_per_us: f64,
    /// One kernel launch inside a CUDA graph, µs.
    pub launch_us: f64,
}

impl Facts {
    pub fn of(t: Target) -> Facts {
        // (GB/s, INT8 dense TOPS); INT4 is twice INT8 where native.
        let (gbs, int8_tops) = match t {
            Target::Sm75 => (320.0, 130.0),  // T4
            Target::Sm80 => (2039.0, 624.0), // A100 SXM
            Target::Sm86 => (768.0, 250.0),  // A10 / RTX 3090 class
            Target::Sm89 => (864.0, 362.0),  // L40
            // H100/H200: measured mma.sync s8, ~4 TB/s (sm_90a: the same, so that both targets
            // choose the same layouts)
            Target::Sm90 | Target::Sm90a => (4000.0, 1245.0),
        };
        let int8 = int8_tops * 1e12 / 2.0 / 1e6;
        Facts {
            bytes_per_us: gbs * 1e9 / 1e6,
            int8_macs_per_us: int8,
            int4_macs_per_us: if t.native_int4() { 2.0 * int8 } else { int8 },
            launch_us: 2.0,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CostModel {
    pub target: Target,
    pub facts: Facts,
}

impl CostModel {
    pub fn new(target: Target) -> Self {
        CostModel {
            target,
            facts: Facts::of(target),
        }
    }

    /// Estimated time of `c`, µs.
    pub fn time_us(&self, c: &Cost) -> f64 {
        c.bytes / self.facts.bytes_per_us + c.launches * self.facts.launch_us + c.mac_us
    }

    /// The layout the conv kernel tcconv would pick reads, for input `x` and weight `w`.
    pub fn kernel_layout(
        &self,
        x: &Value,
        w: &Value,
        layout: Layout,
        o: i64,
    ) -> (Strategy, Layout) {
        let [n, c, ..] = layout.nchw(&x.ty.shape);
        let s = choose_strategy(self.target, n, c, o, x.ty.elem, w.ty.elem);
        let l = match s {
            Strategy::Direct => Layout::HWNC,
            Strategy::Im2col => Layout::NHWC,
        };
        (s, l)
    }

    fn macs(&self, n: f64, x: &Value, w: &Value) -> Cost {
        let (_, a, _, _) = mma_for(self.target, x.ty.elem, w.ty.elem);
        let rate = if a.bits() == 4 {
            self.facts.int4_macs_per_us
        } else {
            self.facts.int8_macs_per_us
        };
        Cost {
            macs: n,
            mac_us: n / rate,
            ..Cost::default()
        }
    }

    /// The cost of `node` as one kernel (None: the node is ill-typed and must not be chosen).
    pub fn node_cost(&self, eg: &EGraph, node: &Qnn) -> Option<Cost> {
        let out = match super::analysis::infer(eg, node) {
            Data::Value(v) => v,
            Data::Meta => return Some(Cost::default()),
            Data::Invalid(_) => return None,
        };
        if !node.is_op() {
            return Some(Cost::default());
        }
        match node {
            // projections of a two-result conv: its kernel writes them
            Qnn::First(_) | Qnn::Second(_) => return Some(Cost::default()),
            // a conv2d-fused that also writes the requantize of its result
            Qnn::Conv2dFused2([a, e, q, l, kl, x, w, b, r]) => {
                let mut c =
                    self.node_cost(eg, &Qnn::Conv2dFused([*a, *e, *l, *kl, *x, *w, *b, *r]))?;
                let Some(super::language::Attr::Requantize { out: e2, .. }) = attr(eg, *q) else {
                    return None;
                };
                c.bytes += out.ty.numel() as f64 * e2.bits() as f64 / 8.0;
                return Some(c);
            }
            // a conv2d-fused that writes the requantize of its value instead of the value
            Qnn::Conv2dFusedThen([a, e, _, l, kl, x, w, b, r]) => {
                let fused = Qnn::Conv2dFused([*a, *e, *l, *kl, *x, *w, *b, *r]);
                let mut c = self.node_cost(eg, &fused)?;
                let Data::Value(v) = super::analysis::infer(eg, &fused) else {
                    return None;
                };
                c.bytes += out.bytes() - v.bytes();
                return Some(c);
            }
            _ => {}
        }
        let bytes_of = |id: egg::Id| value(eg, id).map(|v| v.bytes()).unwrap_or(0.0);
        let mut c = Cost {
            launches: 1.0,
            bytes: out.bytes(),
            ..Cost::default()
        };
        match node {
            Qnn::Conv2d([_, l, kl, x, w, b]) | Qnn::Conv2dFused([_, _, l, kl, x, w, b, _]) => {
                let (xv, wv) = (value(eg, *x)?, value(eg, *w)?);
                let layout = layout_leaf(eg, *l)?;
                let kl = super::analysis::kernel_layout_leaf(eg, *kl)?;
                let [o, _, kh, kw] = kl.oihw(&wv.ty.shape);
                let [n, cin, ..] = layout.nchw(&xv.ty.shape);
                let [_, _, oh, ow] = out.nchw();
                let (strategy, want) = self.kernel_layout(xv, wv, layout, o);
                let (mma, ..) = mma_for(self.target, xv.ty.elem, wv.ty.elem);
                let k = match strategy {
                    Strategy::Direct => (cin + mma.k - 1) / mma.k * mma.k,
                    Strategy::Im2col => cin,
                };
                c += self.macs((n * oh * ow * o * kh * kw * k) as f64, xv, wv);
                c.bytes += xv.bytes() + wv.bytes() + bytes_of(*b);
                if let Qnn::Conv2dFused([.., r]) = node {
                    if !is_absent(eg, *r) {
                        c.bytes += bytes_of(*r);
                    }
                }
                if layout != want {
                    c.bytes += 2.0 * xv.bytes();
                    c.launches += 1.0;
                }
            }
            Qnn::Dense([_, x, w, b]) => {
                let (xv, wv) = (value(eg, *x)?, value(eg, *w)?);
                let n = xv.ty.shape[0] * xv.ty.shape[1] * wv.ty.shape[0];
                c += self.macs(n as f64, xv, wv);
                c.bytes += xv.bytes() + wv.bytes() + bytes_of(*b);
            }
            _ => {
                // Elementwise ops, pooling, layout transforms, quantize, flatten: read every
                // value operand once.
                for &ch in node.children() {
                    if attr(eg, ch).is_none() {
                        c.bytes += bytes_of(ch);
                    }
                }
            }
        }
        Some(c)
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2} MB moved, {} launches, {:.3} GMAC",
            self.bytes / 1e6,
            self.launches,
            self.macs / 1e9
        )
    }
}
