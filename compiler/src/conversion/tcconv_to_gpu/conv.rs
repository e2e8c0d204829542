//! The simple (CUDA-core) conv2d and dense kernels with the fused epilogue: the correctness
//! reference on the GPU and the fallback for every shape the tensor-core kernel does not take.
//!
//! One thread per output group of [`super::layout::out_plan`]: for channel-innermost outputs
//! that is one output pixel (n, oh, ow) and `g = 8` consecutive output channels (one packed
//! 32-bit word for 4-bit outputs; `g = gcd(Cs_out, 8)` otherwise), for NCHW outputs one output
//! element (8 consecutive elements for 4-bit). Per thread:
//!
//! ```text
//! acc[j] = 0                                         (i32, j < g)
//! for ky < KH, kx < KW:                              (scf.for)
//!   t_h = oh*sh + ky; tap valid iff pt <= t_h < H + pt; ih = valid ? t_h - pt : 0 (same for w)
//!   xb = act_slot(in, n, 0, ih, iw)                  (NHWC ((n*H+ih)*W+iw)*Cs, HWNC ((ih*W+iw)*N+n)*Cs)
//!   wb[j] = weight_slot(w, o_j, 0, ky, kx)          (OHWI ((o*KH+ky)*KW+kx)*Cs, HWOI ((ky*KW+kx)*O+o)*Cs)
//!   for ci in 0..Cpad step U:                        (U = 8 if both operands are 4-bit, 4 if both
//!                                                      <= 8-bit, else 1; Cpad = roundup(C, U))
//!     x[0..U] = chunk of in at xb + ci               (one word for 8 nibbles / 4 bytes)
//!     acc[j] += sum_u x[u] * w[j][u]  (w chunk at wb[j] + ci)
//!   acc[j] = valid ? acc[j] (after the tap) : acc[j] (before the tap)
//! y[j] = epilogue(acc[j] + bias[o_j])                (Epilogue::apply, then the output type's range)
//! store y[0..g] at out slots [base, base + g)        (one word store for 4-bit)
//! ```
//! The chunks never cross a row: `Cs` of both operands is a multiple of 8 (4-bit) or 4 (8-bit)
//! and weight padding slots hold 0, so the padded tail contributes nothing.
//! Output channels o_j >= O (padding of the output row) read weights at O-1 and store 0.
//!
//! Work per thread: KH*KW*Cpad*g MACs (i32 mul+add each, plus the nibble/byte extraction:
//! U shifts for x, g*U for w); bytes: KH*KW*(Cs_x + g*Cs_w) stored elements read, g written.
//! Whole conv: 2*N*OH*OW*O*KH*KW*C ops; minimum traffic = input + weights + output once.
//! This kernel re-reads the weights per output pixel (from L1/L2): it is compute bound on
//! CUDA cores, about 1/30 of the tensor-core rate; see `mma.rs` for the fast path.
//!
//! Dense (NC input, DenseOk weight `o*Ks + k`) is a 1x1 conv on a 1x1 image for `ConvSpec`,
//! but runs [`dense_warp`]: one warp per output group, K split across the lanes.

use super::builder::{KernelBuilder, Val};
use super::elementwise::{dequantize_value, each_group, subgroups};
use super::epilogue::{epilogue, second_output};
use super::layout::tap;
use super::layout::{act_slot, channel_inner, read_group, weight_cs, weight_slot, Buf, Group};
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::buffer::ActBuffer;
use nibble_tcconv::program::Packing;
pub use nibble_tcconv::select::{simple_writes_second, ConvSpec};

/// A conv / dense kernel's arguments in the tcconv op's operand order: input, weight, bias?,
/// residual?, output (the spec says which optional ones are present).
#[derive(Clone, Copy)]
pub struct ConvArgs {
    pub x: Val,
    pub w: Val,
    pub bias: Option<Val>,
    pub residual: Option<Val>,
    pub out: Val,
    pub second: Option<Val>,
}

impl ConvArgs {
    pub fn of(args: &[Val], s: &ConvSpec) -> ConvArgs {
        let mut a = args.iter().copied();
        let x = a.next().expect("conv input argument");
        let w = a.next().expect("conv weight argument");
        let bias = s.bias.map(|_| a.next().expect("conv bias argument"));
        let residual = s
            .residual
            .map(|_| a.next().expect("conv residual argument"));
        let out = a.next().expect("conv output argument");
        let second = s
            .second
            .map(|_| a.next().expect("conv second output argument"));
        ConvArgs {
            x,
            w,
            bias,
            residual,
            out,
            second,
        }
    }
    /// The arguments viewed as stored buffers (built where they dominate their uses).
    pub fn bufs<'a>(&self, kb: &mut KernelBuilder, s: &ConvSpec<'a>) -> ConvBufs<'a> {
        ConvBufs {
            x: Buf::act(kb, self.x, s.input),
            w: Buf::weight(kb, self.w, s.weight),
            bias: self.bias.zip(s.bias).map(|(v, pw)| Buf::weight(kb, v, pw)),
            residual: self
                .residual
                .zip(s.residual)
                .map(|(v, r)| (Buf::act(kb, v, r), r)),
            out: Buf::act(kb, self.out, s.output),
            second: self
                .second
                .zip(s.second)
                .map(|(v, z)| (Buf::act(kb, v, z), z)),
        }
    }
}

/// [`ConvArgs::bufs`].
pub struct ConvBufs<'a> {
    pub x: Buf,
    pub w: Buf,
    pub bias: Option<Buf>,
    pub residual: Option<(Buf, &'a ActBuffer)>,
    pub out: Buf,
    pub second: Option<(Buf, &'a ActBuffer)>,
}

/// Build the simple conv / dense kernel body. `args` = (input, weight, bias?, residual?, output)
/// in the tcconv op's operand order. Returns the number of threads.
pub fn simple(kb: &mut KernelBuilder, args: &[Val], s: &ConvSpec) -> Result<i64, String> {
    s.check()?;
    if super::depthwise::applies(s) {
        return super::depthwise::conv(kb, args, s);
    }
    if !simple_writes_second(s) {
        return Err(
            "the simple conv kernel writes a second output only in the output's groups".into(),
        );
    }
    let ca = ConvArgs::of(args, s);
    let out = s.output;
    let ocs = out.stored_channels();
    let channels = out.dims[1];
    each_group(kb, ca.out, out, 8, &mut |kb, grp| {
        let ConvBufs {
            x: xb,
            w: wb,
            bias: bb,
            residual: rb,
            second: zb,
            ..
        } = ca.bufs(kb, s);
        let mut zvals = vec![];
        let mut vals = vec![];
        for sub in subgroups(grp) {
            let accs = accumulate(kb, s, &xb, &wb, &sub);
            let res = match &rb {
                Some((buf, ab)) => Some(read_group(kb, buf, ab, &sub, ocs, &mut |_, it| {
                    (it.h, it.w)
                })),
                None => None,
            };
            for (j, (it, acc)) in sub.items.iter().zip(accs).enumerate() {
                let acc = match &bb {
                    Some(b) => {
                        let bv = b.load_slot(kb, it.cc);
                        kb.add(acc, bv)
                    }
                    None => acc,
                };
                let r = res.as_ref().map(|v| v[j]);
                let v = epilogue(kb, s.epilogue, acc, r, it.cc, channels, out.elem)?;
                if let (Some((_, z)), Some(o)) = (&zb, &s.epilogue.second) {
                    zvals.push(second_output(kb, o, v, it.cc, channels, z.elem)?);
                }
                vals.push(v);
            }
        }
        if let Some((zbuf, z)) = &zb {
            // the same thread's group of the second output (same plan: `simple_writes_second`)
            let t = kb.global_id();
            let zgrp = super::layout::group(kb, z, super::layout::out_plan(z, 8), t);
            let zvals = super::elementwise::mask(kb, &zgrp.items, zvals, false);
            zbuf.store_slots(kb, zgrp.base, &zvals);
        }
        Ok(vals)
    })
}

/// The i32 accumulators of a sub-group (items share n, oh, ow).
fn accumulate(kb: &mut KernelBuilder, s: &ConvSpec, xb: &Buf, wb: &Buf, sub: &Group) -> Vec<Val> {
    if s.groups != 1 {
        return accumulate_grouped(kb, s, xb, wb, sub);
    }
    let [_, c, h, w] = s.input.dims;
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let u = s.unit();
    let cpad = (c + u - 1) / u * u;
    debug_assert!(u == 1 || (cpad <= s.input.stored_channels() && cpad <= weight_cs(s.weight)));
    let it0 = sub.items[0];
    let zero = kb.i32c(0);
    let accs = vec![zero; sub.items.len()];
    let izero = kb.idx(0);
    kb.for_n(kh, 1, &accs, |kb, ky, accs| {
        let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
        kb.for_n(kw, 1, accs, |kb, kx, accs| {
            let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
            let ok = kb.andb(vh, vw);
            let xbase = act_slot(kb, s.input, it0.n, izero, ih, iw);
            let wbase: Vec<Val> = sub
                .items
                .iter()
                .map(|it| weight_slot(kb, s.weight, it.cc, izero, ky, kx))
                .collect();
            let new = kb.for_n(cpad / u, 1, accs, |kb, step, accs| {
                mac_chunk(kb, xb, wb, u, xbase, &wbase, step, accs)
            });
            new.iter()
                .zip(accs)
                .map(|(n, o)| kb.select(ok, *n, *o))
                .collect()
        })
    })
}

/// [`accumulate`] of a grouped conv: item j (output channel `o_j`) sums the `Cg = C / groups`
/// input channels `[(o_j / Og) * Cg, ... + Cg)` of its group (`Og = O / groups`), one element
/// at a time (items of one thread may belong to different groups).
fn accumulate_grouped(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    xb: &Buf,
    wb: &Buf,
    sub: &Group,
) -> Vec<Val> {
    let [_, c, h, w] = s.input.dims;
    let o = s.output.dims[1];
    let (cg, og) = (c / s.groups, o / s.groups);
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.strides;
    let (pt, pl) = (s.padding[0], s.padding[1]);
    let it0 = sub.items[0];
    let zero = kb.i32c(0);
    let accs = vec![zero; sub.items.len()];
    let izero = kb.idx(0);
    let depthwise_chunk = cg == 1
        && og == 1
        && sub.shared
        && channel_inner(s.input.layout)
        && s.input.stored_channels() >= s.output.stored_channels();
    let ogv = kb.idx(og);
    let cgv = kb.idx(cg);
    // first input channel of each item's group
    let c0: Vec<Val> = sub
        .items
        .iter()
        .map(|it| {
            let g = kb.divu(it.cc, ogv);
            kb.mul(g, cgv)
        })
        .collect();
    kb.for_n(kh, 1, &accs, |kb, ky, accs| {
        let (vh, ih) = tap(kb, it0.h, ky, sh, pt, h);
        kb.for_n(kw, 1, accs, |kb, kx, accs| {
            let (vw, iw) = tap(kb, it0.w, kx, sw, pl, w);
            let ok = kb.andb(vh, vw);
            // depthwise over consecutive channels: the items' inputs are one chunk
            let chunk = depthwise_chunk.then(|| {
                let base = act_slot(kb, s.input, it0.n, it0.c, ih, iw);
                xb.load_chunk(kb, base, sub.items.len() as i64)
            });
            let xbase: Vec<Val> = match chunk {
                Some(_) => vec![],
                None => c0
                    .iter()
                    .map(|&c| act_slot(kb, s.input, it0.n, c, ih, iw))
                    .collect(),
            };
            let wbase: Vec<Val> = sub
                .items
                .iter()
                .map(|it| weight_slot(kb, s.weight, it.cc, izero, ky, kx))
                .collect();
            let new = kb.for_n(cg, 1, accs, |kb, ci, accs| {
                accs.iter()
                    .enumerate()
                    .map(|(j, acc)| {
                        let x = match &chunk {
                            Some(xs) => xs[j],
                            None => {
                                let xi = kb.add(xbase[j], ci);
                                xb.load_slot(kb, xi)
                            }
                        };
                        let wi = kb.add(wbase[j], ci);
                        let wv = wb.load_slot(kb, wi);
                        let p = kb.mul(x, wv);
                        kb.add(*acc, p)
                    })
                    .collect()
            });
            new.iter()
                .zip(accs)
                .map(|(n, o)| kb.select(ok, *n, *o))
                .collect()
        })
    })
}

/// One reduction chunk: `acc[j] += sum_u x[ci + u] * w[j][ci + u]` with `ci = step * U`, the x
/// chunk at `xbase + ci`, the w chunks at `wbase[j] + ci`.
#[allow(clippy::too_many_arguments)]
fn mac_chunk(
    kb: &mut KernelBuilder,
    xb: &Buf,
    wb: &Buf,
    u: i64,
    xbase: Val,
    wbase: &[Val],
    step: Val,
    accs: &[Val],
) -> Vec<Val> {
    let uk = kb.idx(u);
    let ci = kb.mul(step, uk);
    let xi = kb.add(xbase, ci);
    let xs = xb.load_chunk(kb, xi, u);
    accs.iter()
        .zip(wbase)
        .map(|(acc, wbj)| {
            let wi = kb.add(*wbj, ci);
            let ws = wb.load_chunk(kb, wi, u);
            let mut acc = *acc;
            for (x, w) in xs.iter().zip(ws) {
                let p = kb.mul(*x, w);
                acc = kb.add(acc, p);
            }
            acc
        })
        .collect()
}

/// Dense (`qnn.dense`, N x K inputs): one warp per output group of `layout::out_plan(out, 1)`
/// (one channel of one row n; 8 channels, a word, for 4-bit outputs). Lane l accumulates the K
/// chunks l, l + 32, ... (chunk = U elements, see [`ConvSpec::unit`]) for the group's channels,
/// the partial sums are reduced across the warp with 5 `shuffle xor` steps (16, 8, 4, 2, 1; i32
/// adds, associative in two's complement, so the order does not change the result), lane 0
/// adds the bias, runs the epilogue and stores the group.
/// Work: N*O*K MACs; bytes: the weights once (O*Ks stored elements) + N*Ks inputs per group
/// (cached) + outputs. Threads: 32 per group, so a batch-1 ResNet-50 fc (1000 x 2048) runs 1000
/// warps of 64 K elements a lane (with 8-channel groups it ran 125 warps, under one an SM:
/// 12.8 us on the H200 under ncu).
pub fn dense_warp(kb: &mut KernelBuilder, args: &[Val], s: &ConvSpec) -> Result<i64, String> {
    s.check()?;
    if s.weight.packing != Packing::DenseOk {
        return Err("dense_warp takes ok-packed weights".into());
    }
    let ca = ConvArgs::of(args, s);
    let out = s.output;
    let plan = super::layout::out_plan(out, 1);
    let channels = out.dims[1];
    let u = s.unit();
    let c = s.input.dims[1];
    let chunks = (c + u - 1) / u;
    let gid = kb.global_id();
    let k32 = kb.idx(32);
    let lane = kb.remu(gid, k32);
    let gi = kb.divu(gid, k32);
    let lim = kb.idx(plan.threads);
    // uniform per warp: the 32 lanes of a warp share `gi`
    let inb = kb.cmp(super::builder::Cmp::Ult, gi, lim);
    let mut res = Ok(());
    kb.if_then(inb, |kb| {
        let ConvBufs {
            x: xb,
            w: wb,
            bias: bb,
            out: ob,
            ..
        } = ca.bufs(kb, s);
        let grp = super::layout::group(kb, out, plan, gi);
        let izero = kb.idx(0);
        let it0 = grp.items[0];
        let xbase = act_slot(kb, s.input, it0.n, izero, izero, izero);
        let wbase: Vec<Val> = grp
            .items
            .iter()
            .map(|it| weight_slot(kb, s.weight, it.cc, izero, izero, izero))
            .collect();
        let zero = kb.i32c(0);
        let accs = vec![zero; grp.items.len()];
        let hi = kb.idx(chunks);
        let accs = kb.for_range(lane, hi, k32, &accs, |kb, step, accs| {
            mac_chunk(kb, &xb, &wb, u, xbase, &wbase, step, accs)
        });
        let accs: Vec<Val> = accs
            .into_iter()
            .map(|mut acc| {
                for mask in [16, 8, 4, 2, 1] {
                    let other = kb.shuffle_xor(acc, mask);
                    acc = kb.add(acc, other);
                }
                acc
            })
            .collect();
        let l0 = kb.cmp(super::builder::Cmp::Eq, lane, izero);
        kb.if_then(l0, |kb| {
            let mut vals = vec![];
            for (it, acc) in grp.items.iter().zip(&accs) {
                let acc = match &bb {
                    Some(b) => {
                        let bv = b.load_slot(kb, it.cc);
                        kb.add(*acc, bv)
                    }
                    None => *acc,
                };
                // with a fused dequantize the epilogue's value is the i32 it scales
                let elem = match s.dequantize {
                    Some(_) => ElemType::I32,
                    None => out.elem,
                };
                let v =
                    epilogue(kb, s.epilogue, acc, None, it.cc, channels, elem).and_then(
                        |v| match s.dequantize {
                            Some(sc) => dequantize_value(kb, v, sc, it.cc, channels),
                            None => Ok(v),
                        },
                    );
                match v {
                    Ok(v) => vals.push(v),
                    Err(e) => {
                        res = Err(e);
                        return;
                    }
                }
            }
            let vals = super::elementwise::mask(kb, &grp.items, vals, out.elem == ElemType::F32);
            ob.store_slots(kb, grp.base, &vals);
        });
    });
    res.map(|_| plan.threads * 32)
}
