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
//! but runs [`dense_warp`]: one warp per (tile of up to [`DENSE_ROWS`] batch rows, output
//! group), K split across the lanes, each weight chunk loaded once for all the tile's rows, 8-bit
//! operands multiplied 4 bytes at a time (`dp4a`), the partial sums reduced across the warp.

use super::builder::{Cmp, KernelBuilder, Val};
use super::elementwise::{dequantize_value, each_group, subgroups};
use super::epilogue::{epilogue, second_output};
use super::layout::tap;
use super::layout::{
    act_slot, channel_inner, read_group, weight_cs, weight_slot, Buf, Group, OutPlan,
};
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::buffer::{ActBuffer, Storage};
use nibble_tcconv::program::Packing;
pub use nibble_tcconv::select::{simple_writes_second, ConvSpec};

/// A conv / dense kernel's arguments in the tcconv op's operand order: input, weight, bias?,
/// residual?, output, second?, then the shortcut's input, weight and bias? (the spec says
/// which optional ones are present).
#[derive(Clone, Copy)]
pub struct ConvArgs {
    pub x: Val,
    pub w: Val,
    pub bias: Option<Val>,
    pub residual: Option<Val>,
    pub out: Val,
    pub second: Option<Val>,
    /// The shortcut's (input, weight, bias?).
    pub shortcut: Option<(Val, Val, Option<Val>)>,
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
        let shortcut = s.shortcut.map(|sc| {
            let x = a.next().expect("shortcut input argument");
            let w = a.next().expect("shortcut weight argument");
            let b = sc.bias.map(|_| a.next().expect("shortcut bias argument"));
            (x, w, b)
        });
        ConvArgs {
            x,
            w,
            bias,
            residual,
            out,
            second,
            shortcut,
        }
    }
    /// The arguments viewed as stored buffers (built where they dominate their uses).
    pub fn bufs<'a>(&self, kb: &mut KernelBuilder, s: &ConvSpec<'a>) -> ConvBufs<'a> {
        ConvBufs {
            // a fused input quantize: the f32 tensor the loader quantizes
            x: Buf::act(kb, self.x, s.quantize.map_or(s.input, |q| q.source)),
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
            shortcut: self
                .shortcut
                .zip(s.shortcut)
                .map(|((x, w, b), sc)| ShortcutBufs {
                    x: Buf::act(kb, x, sc.input),
                    w: Buf::weight(kb, w, sc.weight),
                    bias: b.zip(sc.bias).map(|(v, pw)| Buf::weight(kb, v, pw)),
                }),
        }
    }
}

/// The shortcut's buffers ([`ConvArgs::bufs`]).
pub struct ShortcutBufs {
    pub x: Buf,
    pub w: Buf,
    pub bias: Option<Buf>,
}

/// [`ConvArgs::bufs`].
pub struct ConvBufs<'a> {
    pub x: Buf,
    pub w: Buf,
    pub bias: Option<Buf>,
    pub residual: Option<(Buf, &'a ActBuffer)>,
    pub out: Buf,
    pub second: Option<(Buf, &'a ActBuffer)>,
    pub shortcut: Option<ShortcutBufs>,
}

/// Build the simple conv / dense kernel body. `args` = (input, weight, bias?, residual?, output)
/// in the tcconv op's operand order. Returns the number of threads.
pub fn simple(kb: &mut KernelBuilder, args: &[Val], s: &ConvSpec) -> Result<i64, String> {
    s.check()?;
    if s.shortcut.is_some() {
        return Err("the simple conv kernel does not run a shortcut".into());
    }
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

/// Batch rows one dense warp takes at most ([`DensePlan::rows`]).
pub const DENSE_ROWS: i64 = 8;

/// Channels a dense group takes at most ([`DensePlan::out`]) where the grid keeps at least
/// [`DENSE_WIDE_WARPS`] warps: each input chunk a lane loads then serves that many channels.
const DENSE_CHANNELS: i64 = 4;
/// Warps below which a dense group keeps one channel (small batches: the weights spread over
/// as many warps as there are channels, at least a block an SM).
const DENSE_WIDE_WARPS: i64 = 1024;

/// i32 registers a lane's 8-bit K step holds at most: its `R x g` accumulators and the
/// `(R + g) x V` words it loads (`V` = 4 or 2 under this bound, else 1).
const DENSE_STEP_REGS: i64 = 64;

/// How [`dense_warp`] covers a dense op (N x K inputs, O outputs) with warps; every number
/// follows from the shapes and element types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DensePlan {
    /// The output groups (`layout::out_plan(out, g)`): `g` consecutive channels of one row,
    /// up to [`DENSE_CHANNELS`] where the grid stays large, else one channel; a word of 8
    /// channels for 4-bit outputs.
    pub out: OutPlan,
    /// Output groups of one row.
    pub groups: i64,
    /// Batch rows a warp takes: `R = min(N, DENSE_ROWS)`.
    pub rows: i64,
    /// Row tiles, `ceil(N / R)`; the last one's rows past N are read at row N - 1 and not
    /// stored.
    pub tiles: i64,
    /// Both operands 8-bit (stored as bytes, read as i32 words): the words `V` (4, 2 or 1) of
    /// each operand row a lane reads per step, multiplied 4 bytes at a time with `dp4a`. None:
    /// per-element products on chunks of [`ConvSpec::unit`] elements.
    pub dp4a_words: Option<i64>,
}

impl DensePlan {
    pub fn of(s: &ConvSpec) -> DensePlan {
        let out = s.output;
        let n = out.dims[0].max(1);
        let rows = n.min(DENSE_ROWS);
        let tiles = (n + rows - 1) / rows;
        let wide = super::layout::out_plan(out, DENSE_CHANNELS);
        let plan = if tiles * (wide.threads / n) >= DENSE_WIDE_WARPS {
            wide
        } else {
            super::layout::out_plan(out, 1)
        };
        let bytes_as_words = |st: Storage, len: i64| st == Storage::Byte && len % 4 == 0;
        let w_len = s.weight.dims[0] * weight_cs(s.weight);
        let words = bytes_as_words(s.input.storage(), s.input.stored_len() as i64)
            && bytes_as_words(super::layout::weight_storage(s.weight).0, w_len);
        let (csx, csw) = (s.input.stored_channels(), weight_cs(s.weight));
        let dp4a_words = words.then(|| {
            let fits = |v: i64| {
                csx % (4 * v) == 0
                    && csw % (4 * v) == 0
                    && rows * plan.g + (rows + plan.g) * v <= DENSE_STEP_REGS
            };
            [4, 2].into_iter().find(|&v| fits(v)).unwrap_or(1)
        });
        DensePlan {
            out: plan,
            groups: plan.threads / n,
            rows,
            tiles,
            dp4a_words,
        }
    }
    /// Elements of K one lane step covers.
    pub fn step(&self, s: &ConvSpec) -> i64 {
        match self.dp4a_words {
            Some(v) => 4 * v,
            None => s.unit(),
        }
    }
    /// Warps: one per (row tile, output group).
    pub fn warps(&self) -> i64 {
        self.tiles * self.groups
    }
    /// Threads the kernel needs (32 a warp).
    pub fn threads(&self) -> i64 {
        32 * self.warps()
    }
}

/// Dense (`qnn.dense`, N x K inputs): one warp per (tile of R batch rows, output group of g
/// channels), see [`DensePlan`]: warp `w` takes row tile `w / groups` and group `w % groups`
/// (the warps of a block share their rows). A K step is `S` elements (`4 V` on the 8-bit path,
/// else `U`); lane l takes the steps l, l + 32, ..., loads each weight chunk of the group once a
/// step and uses it for all R rows (and each input chunk for all g channels), R x g i32
/// accumulators:
///
/// ```text
/// acc[r][j] = 0                                      (r < R, j < g)
/// for step = lane; step < ceil(K / S); step += 32:   (scf.for)
///   w[j] = chunk of weight row o_j at step * S       (V words: ld.v4 / ld.v2 / ld)
///   for r < R:
///     x = chunk of input row min(tile*R + r, N - 1) at step * S
///     acc[r][j] = dp4a(x[v], w[j][v], acc[r][j])     (each word v; or += x[u] * w[j][u])
/// ```
/// The R x g partial sums are reduced across the warp with `shuffle xor` (i32 adds, associative
/// in two's complement, so the order does not change the result): with `R' = 2^k >= R` rows
/// (the padding rows 0), the steps over lane bits 16, 8, .. (k of them) each halve the rows a
/// lane holds (a lane keeps the half its bit selects and sends the other half to its partner),
/// the remaining steps add across the lanes that hold the same rows. Lane l ends with the sums
/// of row `l / 2^(5-k)`; the first lane of each row, when the row is one of the tile's and
/// below N, adds the bias, runs the epilogue (with a fused dequantize, the f32 scaling of its
/// i32) and stores the row's group.
/// Work: N*O*K MACs (`dp4a`: 4 an instruction); bytes: the weights once a row tile (from L2)
/// plus each tile's R*Ks inputs (cached for the block's warps) plus outputs. Threads: 32 per
/// (tile, group): a batch-1 ResNet-50 fc (1000 x 2048) runs 1000 warps of 64 K elements a
/// lane, batch 256 8000 warps of 8 rows x 4 channels (18 us on the H200).
pub fn dense_warp(kb: &mut KernelBuilder, args: &[Val], s: &ConvSpec) -> Result<i64, String> {
    s.check()?;
    if s.weight.packing != Packing::DenseOk {
        return Err("dense_warp takes ok-packed weights".into());
    }
    let ca = ConvArgs::of(args, s);
    let out = s.output;
    let dp = DensePlan::of(s);
    let plan = dp.out;
    let channels = out.dims[1];
    let n = out.dims[0];
    let c = s.input.dims[1];
    let step = dp.step(s);
    let steps = (c + step - 1) / step;
    let gid = kb.global_id();
    let k32 = kb.idx(32);
    let lane = kb.remu(gid, k32);
    let wi = kb.divu(gid, k32);
    let lim = kb.idx(dp.warps());
    // uniform per warp: the 32 lanes of a warp share `wi`
    let inb = kb.cmp(Cmp::Ult, wi, lim);
    let mut res = Ok(());
    kb.if_then(inb, |kb| {
        let ConvBufs {
            x: xb,
            w: wb,
            bias: bb,
            out: ob,
            ..
        } = ca.bufs(kb, s);
        let kg = kb.idx(dp.groups);
        let tile = kb.divu(wi, kg);
        let cg = kb.remu(wi, kg);
        let kr = kb.idx(dp.rows);
        let row0 = kb.mul(tile, kr);
        // the group's channels: those of its row-0 instance
        let chans = super::layout::group(kb, out, plan, cg);
        let izero = kb.idx(0);
        let wbase: Vec<Val> = chans
            .items
            .iter()
            .map(|it| weight_slot(kb, s.weight, it.cc, izero, izero, izero))
            .collect();
        let last = kb.idx(n - 1);
        let xbase: Vec<Val> = (0..dp.rows)
            .map(|r| {
                let rr = kb.idx(r);
                let nr = kb.add(row0, rr);
                let nr = if n % dp.rows == 0 {
                    nr
                } else {
                    kb.mins(nr, last)
                };
                act_slot(kb, s.input, nr, izero, izero, izero)
            })
            .collect();
        let zero = kb.i32c(0);
        let g = chans.items.len();
        let accs = vec![zero; dp.rows as usize * g];
        let hi = kb.idx(steps);
        let accs = match dp.dp4a_words {
            Some(v) => {
                let k4 = kb.idx(4);
                let xw: Vec<Val> = xbase.iter().map(|&b| kb.divu(b, k4)).collect();
                let ww: Vec<Val> = wbase.iter().map(|&b| kb.divu(b, k4)).collect();
                // 8-bit operands as i32 words, 4 bytes a dp4a
                let (xm, wm) = (
                    xb.words.expect("8-bit input read as words"),
                    wb.words.expect("8-bit weight read as words"),
                );
                let (xs, ws) = (xb.elem.is_signed(), wb.elem.is_signed());
                kb.for_range(lane, hi, k32, &accs, |kb, st, accs| {
                    dense_step(
                        kb,
                        v,
                        &xw,
                        &ww,
                        st,
                        accs,
                        &|kb, i| load_words(kb, xm, i, v),
                        &|kb, i| load_words(kb, wm, i, v),
                        &|kb, a, x, w| kb.dp4a(x, xs, w, ws, a),
                    )
                })
            }
            None => kb.for_range(lane, hi, k32, &accs, |kb, st, accs| {
                dense_step(
                    kb,
                    step,
                    &xbase,
                    &wbase,
                    st,
                    accs,
                    &|kb, i| xb.load_chunk(kb, i, step),
                    &|kb, i| wb.load_chunk(kb, i, step),
                    &|kb, a, x, w| {
                        let p = kb.mul(x, w);
                        kb.add(a, p)
                    },
                )
            }),
        };
        let (sums, row, lead) = warp_sums(kb, lane, &accs, dp.rows, g);
        let nrow = kb.add(row0, row);
        let mut ok = lead;
        if dp.rows.count_ones() != 1 {
            let kr = kb.idx(dp.rows);
            let real = kb.cmp(Cmp::Ult, row, kr);
            ok = kb.andb(ok, real);
        }
        if n % dp.rows != 0 {
            let kn = kb.idx(n);
            let below = kb.cmp(Cmp::Ult, nrow, kn);
            ok = kb.andb(ok, below);
        }
        kb.if_then(ok, |kb| {
            let t = kb.mul(nrow, kg);
            let t = kb.add(t, cg);
            let grp = super::layout::group(kb, out, plan, t);
            let mut vals = vec![];
            for (it, acc) in grp.items.iter().zip(&sums) {
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
    res.map(|_| dp.threads())
}

/// The `v` i32 words at word `i` of `m` (`i` a multiple of `v`: one `ld.v4` / `ld.v2` / `ld`).
fn load_words(kb: &mut KernelBuilder, m: Val, i: Val, v: i64) -> Vec<Val> {
    match v {
        4 => {
            let q = kb.load4(m, i);
            kb.words4(q).to_vec()
        }
        2 => kb.load2(m, i).to_vec(),
        _ => (0..v)
            .map(|k| {
                let kk = kb.idx(k);
                let ik = kb.add(i, kk);
                kb.load(m, ik)
            })
            .collect(),
    }
}

/// One dense K step: `acc[r][j] = mac(acc[r][j], x_r, w_j)` on the chunks at offset
/// `step * per` of input row r (first index `xbase[r]`) and weight row j (`wbase[j]`), element
/// by element of what `load_x` / `load_w` return; each weight chunk is loaded once for all rows;
/// `accs` row-major (`r * g + j`).
#[allow(clippy::too_many_arguments)]
fn dense_step(
    kb: &mut KernelBuilder,
    per: i64,
    xbase: &[Val],
    wbase: &[Val],
    step: Val,
    accs: &[Val],
    load_x: &dyn Fn(&mut KernelBuilder, Val) -> Vec<Val>,
    load_w: &dyn Fn(&mut KernelBuilder, Val) -> Vec<Val>,
    mac: &dyn Fn(&mut KernelBuilder, Val, Val, Val) -> Val,
) -> Vec<Val> {
    let kp = kb.idx(per);
    let off = kb.mul(step, kp);
    let w: Vec<Vec<Val>> = wbase
        .iter()
        .map(|&b| {
            let i = kb.add(b, off);
            load_w(kb, i)
        })
        .collect();
    let mut out = accs.to_vec();
    let g = wbase.len();
    for (r, &b) in xbase.iter().enumerate() {
        let i = kb.add(b, off);
        let x = load_x(kb, i);
        for (j, wj) in w.iter().enumerate() {
            let a = &mut out[r * g + j];
            for (xv, wv) in x.iter().zip(wj) {
                *a = mac(kb, *a, *xv, *wv);
            }
        }
    }
    out
}

/// Warp-wide sums of the per-lane partial sums `accs[r * g + j]` (r < `rows`, j < g), with
/// `shuffle xor` over the 5 lane bits from 16 down: while a lane holds more than one row (`R'`,
/// the next power of two of `rows`, padded with zeros), a step on bit b keeps the half of its
/// rows the lane's bit b selects (the upper half where it is set), sends the other half to lane
/// `l ^ b`, and adds what that lane sent; the later steps add the one row across lanes. Returns
/// lane l's sums (one per j), its row `l / 2^(5-k)` (`R' = 2^k`) and whether l is the first of
/// the lanes holding that row.
fn warp_sums(
    kb: &mut KernelBuilder,
    lane: Val,
    accs: &[Val],
    rows: i64,
    g: usize,
) -> (Vec<Val>, Val, Val) {
    let rp = (rows as u64).next_power_of_two() as usize;
    let zero = kb.i32c(0);
    let mut cur: Vec<Vec<Val>> = (0..rp)
        .map(|r| {
            if (r as i64) < rows {
                accs[r * g..(r + 1) * g].to_vec()
            } else {
                vec![zero; g]
            }
        })
        .collect();
    let izero = kb.idx(0);
    for mask in [16, 8, 4, 2, 1] {
        if cur.len() > 1 {
            let half = cur.len() / 2;
            let km = kb.idx(mask);
            let bit = kb.and(lane, km);
            let upper = kb.cmp(Cmp::Ne, bit, izero);
            cur = (0..half)
                .map(|i| {
                    (0..g)
                        .map(|j| {
                            let (lo, hi) = (cur[i][j], cur[i + half][j]);
                            let keep = kb.select(upper, hi, lo);
                            let send = kb.select(upper, lo, hi);
                            let got = kb.shuffle_xor(send, mask);
                            kb.add(keep, got)
                        })
                        .collect()
                })
                .collect();
        } else {
            for v in cur[0].iter_mut() {
                let other = kb.shuffle_xor(*v, mask);
                *v = kb.add(*v, other);
            }
        }
    }
    // lanes per row: 2^(5-k)
    let per = 32 / rp as i64;
    let kp = kb.idx(per);
    let row = if rp == 1 { izero } else { kb.divu(lane, kp) };
    let first = kb.remu(lane, kp);
    let lead = kb.cmp(Cmp::Eq, first, izero);
    (cur.swap_remove(0), row, lead)
}
