//! The fused conv epilogue every kernel family shares: [`epilogue`] (one accumulator: bias
//! already in, requantize or residual, clamp, relu, the output type's range) and
//! [`second_output`]; for the tensor-core families (`mma.rs`, `staged.rs`, `wgmma.rs`)
//! [`store_tile`] over a warp's accumulator fragments and, for packed 4-bit and 8-bit outputs
//! staged in shared memory, [`store_block_tile`] / [`write_out_tile`].

use super::builder::{Cmp, KernelBuilder, Param, Scalar, TableRange, Val};
use super::conv::{ConvBufs, ConvSpec};
use super::elementwise::{clamped_pair, scale_params, scale_params_pair, to_elem};
use super::layout::{
    act_slot, below, channel_inner, clamp_last, pixel, range, Axis, Buf, IndexMath,
};
use nibble_qnn::graph::{ChannelScales, Epilogue, EpilogueKind, RequantizeStep};
use nibble_qnn::semantics::{Dyadic, ElemType};
use nibble_tcconv::buffer::{ActBuffer, Storage};

/// The per-channel parameters of the fused epilogue at one output channel `cc`: the
/// requantize or residual scales and the second output's, read once (table loads) and applied
/// to every accumulator of the channel that a thread holds.
pub struct ChannelParams {
    scales: Option<(Param, Param)>,
    residual: Option<(Param, Param)>,
    second: Option<(Param, Param)>,
    then: Option<(Param, Param)>,
}

impl ChannelParams {
    pub fn load(
        kb: &mut KernelBuilder,
        e: &Epilogue,
        cc: Val,
        channels: i64,
    ) -> Result<Self, String> {
        let (scales, residual) = match &e.kind {
            EpilogueKind::None => (None, None),
            EpilogueKind::Requantize { scales, .. } => {
                (Some(scale_params(kb, scales, "", cc, channels)?), None)
            }
            EpilogueKind::Residual { scales, residual } => (
                Some(scale_params(kb, scales, "", cc, channels)?),
                Some(scale_params(kb, residual, "res_", cc, channels)?),
            ),
        };
        let mut step = |o: &Option<RequantizeStep>, prefix: &str| match o {
            Some(o) => scale_params(kb, &o.scales, prefix, cc, channels).map(Some),
            None => Ok(None),
        };
        Ok(ChannelParams {
            scales,
            residual,
            second: step(&e.second, "sec_")?,
            then: step(&e.then, "then_")?,
        })
    }

    /// [`load`](Self::load) at channels `oc` and `oc + 1` (`oc` even), each table read as
    /// pairs ([`scale_params_pair`]): half the table loads of an accumulator fragment's
    /// channels.
    pub fn load_pair(
        kb: &mut KernelBuilder,
        e: &Epilogue,
        oc: Val,
        channels: i64,
    ) -> Result<[Self; 2], String> {
        let mut pair = |s: &nibble_qnn::graph::ChannelScales, prefix: &str| {
            scale_params_pair(kb, s, prefix, oc, channels).map(|[a, b]| [Some(a), Some(b)])
        };
        let (scales, residual) = match &e.kind {
            EpilogueKind::None => ([None; 2], [None; 2]),
            EpilogueKind::Requantize { scales, .. } => (pair(scales, "")?, [None; 2]),
            EpilogueKind::Residual { scales, residual } => {
                (pair(scales, "")?, pair(residual, "res_")?)
            }
        };
        let mut step = |o: &Option<RequantizeStep>, prefix: &str| match o {
            Some(o) => pair(&o.scales, prefix),
            None => Ok([None; 2]),
        };
        let second = step(&e.second, "sec_")?;
        let then = step(&e.then, "then_")?;
        Ok([0, 1].map(|i| ChannelParams {
            scales: scales[i],
            residual: residual[i],
            second: second[i],
            then: then[i],
        }))
    }
}

/// Whether a dyadic shift is known to be at least 1 (then `|round(x * b / 2^c)| <= 2^61 + 1`
/// for i32 `x` and `b`).
fn shifts(c: Param) -> bool {
    match c {
        Param::Const(k) => k >= 1,
        Param::Table(_, r) => r != TableRange::Any,
    }
}

/// The epilogue of one accumulator (`acc` i32 already holding the bias) of channel `cc`:
/// `Epilogue::apply` (requantize `round(acc*b/2^s) + zp` or residual
/// `round(acc*b/2^s) + round(r*rb/2^rs)` (sum saturated in i64, the `qnn.add` rule), or the
/// accumulator itself; then `clamp`, then `max(y, 0)` if relu), then the output type's range;
/// with a `then` step, its requantize of that value as i32.
pub fn epilogue(
    kb: &mut KernelBuilder,
    e: &Epilogue,
    acc: Val,
    r: Option<Val>,
    cc: Val,
    channels: i64,
    out: ElemType,
) -> Result<Val, String> {
    let p = ChannelParams::load(kb, e, cc, channels)?;
    epilogue_at(kb, e, &p, acc, r, out, false, false)
}

/// [`epilogue`] with the channel's parameters `p` read before. `packed_store`: the result goes
/// only to a packed 4-bit store, whose packing saturates to the type ([`nibble_pair`]), so a
/// final clamp to exactly the type's range is left to it. `sum_fits_i32`: the caller knows the
/// residual sum's exact value lies in i32 ([`ResidualSumBound`]), so it is the i32 sum of the
/// two terms' low words (no 64-bit sum, no saturation).
#[allow(clippy::too_many_arguments)]
pub fn epilogue_at(
    kb: &mut KernelBuilder,
    e: &Epilogue,
    p: &ChannelParams,
    acc: Val,
    r: Option<Val>,
    out: ElemType,
    packed_store: bool,
    sum_fits_i32: bool,
) -> Result<Val, String> {
    let missing = || "epilogue parameters not loaded".to_string();
    let y = match &e.kind {
        EpilogueKind::None => kb.sext(acc, Scalar::I64),
        EpilogueKind::Requantize { zero_point, .. } => {
            let (b, c) = p.scales.ok_or_else(missing)?;
            let y = kb.dyadic(acc, b, c, e.rounding);
            let zp = kb.i64c(*zero_point);
            kb.add(y, zp)
        }
        EpilogueKind::Residual { .. } => {
            let (b, c) = p.scales.ok_or_else(missing)?;
            let (rb, rc) = p.residual.ok_or_else(missing)?;
            let r = r.ok_or("residual epilogue without a residual value")?;
            let y = kb.dyadic(acc, b, c, e.rounding);
            let ry = kb.dyadic(r, rb, rc, e.rounding);
            // two exact roundings of i32 products by a shift >= 1 are each within 2^61 + 1:
            // their sum cannot leave i64
            let narrow = !e.rounding.is_f32()
                && kb.t(acc) == Scalar::I32
                && kb.t(r) == Scalar::I32
                && shifts(c)
                && shifts(rc);
            if sum_fits_i32 {
                // the exact sum is an i32: the i32 sum of the terms' low words (mod 2^32) is it
                // (a plain add: lanes that store nothing may hold other sums)
                let y = kb.trunc(y, Scalar::I32);
                let ry = kb.trunc(ry, Scalar::I32);
                kb.add(y, ry)
            } else if narrow {
                kb.add(y, ry)
            } else {
                kb.add_sat64(y, ry)
            }
        }
    };
    let elem = if e.then.is_some() { ElemType::I32 } else { out };
    let relu = e.relu.then_some([0, i64::MAX]);
    let y = clamps_to_elem(kb, y, &[Some(e.clamp), relu], elem, packed_store);
    match &e.then {
        Some(t) => second_output_at(kb, t, p.then.ok_or_else(missing)?, y, out, packed_store),
        None => Ok(y),
    }
}

/// `to_elem` of `y` clamped to each of `clamps` in turn: one clamp to their intersection with
/// the type's range, in 32-bit compares ([`KernelBuilder::clamp_to_i32`]), where the
/// intersection is not empty (consecutive clamps whose ranges meet are the clamp to their
/// intersection).
/// With `packed_store` (the value goes only to a packed 4-bit store, which saturates), a clamp
/// to exactly a 4-bit type's range is left to the store.
fn clamps_to_elem(
    kb: &mut KernelBuilder,
    y: Val,
    clamps: &[Option<[i64; 2]>],
    e: ElemType,
    packed_store: bool,
) -> Val {
    let (mut lo, mut hi) = range(e);
    for c in clamps.iter().flatten() {
        (lo, hi) = (lo.max(c[0]), hi.min(c[1]));
    }
    if packed_store && e.bits() == 4 && (lo, hi) == range(e) {
        return kb.clamp_to_i32(y, i32::MIN as i64, i32::MAX as i64);
    }
    if lo <= hi && lo >= i32::MIN as i64 && hi <= i32::MAX as i64 {
        return kb.clamp_to_i32(y, lo, hi);
    }
    let mut y = y;
    for c in clamps.iter().flatten() {
        y = kb.clamp(y, c[0], c[1]);
    }
    to_elem(kb, y, e)
}

/// Step 4 of `Epilogue` on one result `y` (i32, from [`epilogue`]) of channel `cc`: the second
/// output's requantize, in the second output's type `out` (its per-channel tables `sec_*`).
/// The `then` step is the same sequence on the epilogue's i32 value (tables `then_*`).
pub fn second_output(
    kb: &mut KernelBuilder,
    o: &RequantizeStep,
    y: Val,
    cc: Val,
    channels: i64,
    out: ElemType,
) -> Result<Val, String> {
    let (b, c) = scale_params(kb, &o.scales, "sec_", cc, channels)?;
    second_output_at(kb, o, (b, c), y, out, false)
}

/// [`second_output`] with the channel's `sec_*` scales read before (`packed_store` as for
/// [`epilogue_at`]).
fn second_output_at(
    kb: &mut KernelBuilder,
    o: &RequantizeStep,
    (b, c): (Param, Param),
    y: Val,
    out: ElemType,
    packed_store: bool,
) -> Result<Val, String> {
    let z = kb.dyadic(y, b, c, o.rounding);
    let zp = kb.i64c(o.zero_point);
    let z = kb.add(z, zp);
    Ok(clamps_to_elem(kb, z, &[Some(o.clamp)], out, packed_store))
}

/// Whether channels o and o + 1 (o even) of a pixel are adjacent in `ab`: channel-innermost, an
/// even channel count stored and logical.
fn channel_pairs(ab: &ActBuffer) -> bool {
    channel_inner(ab.layout) && ab.stored_channels() % 2 == 0 && ab.dims[1] % 2 == 0
}

/// The operand buffers of the fused epilogue: output, bias, residual and second output (with
/// their buffer types); or, in place of a residual buffer, a shortcut GEMM's accumulators.
pub struct TileBufs<'a> {
    pub out: &'a Buf,
    pub bias: Option<&'a Buf>,
    pub residual: Option<(&'a Buf, &'a ActBuffer)>,
    pub second: Option<(&'a Buf, &'a ActBuffer)>,
    /// The residual as values in the accumulators' fragment layout, plus a bias per channel:
    /// a shortcut GEMM's accumulators and its bias, or the residual buffer's values loaded
    /// before the main loop ([`prefetch_residual`]).
    pub residual_regs: Option<(&'a [Val], Option<&'a Buf>)>,
}

impl<'a> TileBufs<'a> {
    /// The epilogue's buffers among a conv kernel's arguments (`residual_regs`: the shortcut
    /// GEMM's accumulators, where the conv has one, or the prefetched residual).
    pub fn of(b: &'a ConvBufs, residual_regs: Option<&'a [Val]>) -> Self {
        TileBufs {
            out: &b.out,
            bias: b.bias.as_ref(),
            residual: b.residual.as_ref().map(|(buf, a)| (buf, *a)),
            second: b.second.as_ref().map(|(buf, a)| (buf, *a)),
            residual_regs: residual_regs
                .map(|a| (a, b.shortcut.as_ref().and_then(|s| s.bias.as_ref()))),
        }
    }
}

/// One warp's accumulator tile: `mt` x `nt` tiles of `mm` x 8, rows `rows[mt * mm/8 + half]`
/// = (m, in range, n, oh, ow) of this lane's group row, output channels from `nbase`; `t` the
/// lane's thread-in-group, `ok` whether this warp stores at all.
pub struct WarpTile<'a> {
    pub mt: i64,
    pub nt: i64,
    pub mm: i64,
    pub rows: &'a [(Val, Val, Val, Val, Val)],
    pub nbase: Val,
    pub t: Val,
    pub ok: Val,
    /// The block tiles cover O exactly (O a multiple of BN): no channel of the tile passes the
    /// last, so none is tested or clamped.
    pub exact_o: bool,
    /// One output staged through shared memory instead of stored: packed 4-bit, the word of
    /// row `m` and channels `o0..o0+8` goes to `smem[(m - m0) * wpr + (o0 - n0) / 8]`, byte t
    /// from lane t; 8-bit, the bytes of row `m` and channels `o0 + 2t`, `o0 + 2t + 1` to bytes
    /// `(m - m0) * 4 * wpr + o0 - n0 + 2t ..` from lane t.
    pub stage: Option<StageOut>,
    /// A narrow16 stream tile in shared memory (the wgmma kernel's [`StreamStage`]): the
    /// residual's words are read from it, the output's words written to it.
    pub stream: Option<StreamStage>,
}

/// Where a block's narrow16 stream tile is in shared memory (`nibble_tcconv::select::StreamTile`):
/// the word of row `m` and channels `o, o + 1` (`o` even) at `smem[base + (m - m0) * row_words +
/// (o - n0) / 2]`; `read`: it holds the residual's tile, `write`: the output's goes there.
#[derive(Clone, Copy)]
pub struct StreamStage {
    pub smem: Val,
    pub base: i64,
    pub m0: Val,
    pub n0: Val,
    pub row_words: i64,
    pub read: bool,
    pub write: bool,
}

/// `x + k` (`x` itself for 0).
fn plus(kb: &mut KernelBuilder, x: Val, k: i64) -> Val {
    if k == 0 {
        return x;
    }
    let kk = kb.idx(k);
    kb.add(x, kk)
}

impl StreamStage {
    /// The stream tile `st` of the block tile at (`m0`, `n0`), from word `base` of `smem`.
    pub fn new(
        st: nibble_tcconv::select::StreamTile,
        (smem, base): (Val, i64),
        (m0, n0): (Val, Val),
        row_words: i64,
    ) -> Self {
        StreamStage {
            smem,
            base,
            m0,
            n0,
            row_words,
            read: st.read,
            write: st.write,
        }
    }
    /// The word index of row `m`, channels `o`, `o + 1`.
    fn word(&self, kb: &mut KernelBuilder, m: Val, o: Val) -> Val {
        let r = kb.sub(m, self.m0);
        let c = kb.sub(o, self.n0);
        let two = kb.idx(2);
        let cw = kb.divu(c, two);
        let cw = plus(kb, cw, self.base);
        kb.madd(r, self.row_words, cw)
    }
}

/// Where [`store_tile`] stages packed output words (see [`WarpTile::stage`]).
pub struct StageOut {
    /// Shared-memory address (i64) of the tile's word 0, taken once for all the byte stores.
    pub base: Val,
    pub m0: Val,
    pub n0: Val,
    /// Words a block-tile row (BN / 8 packed 4-bit, BN / 4 bytes).
    pub wpr: i64,
    /// The output staged: the second output (else the first).
    pub second: bool,
}

/// The fused epilogue on a warp's accumulator fragments (C/D layout: register i of an m-tile x
/// n-tile holds row g + 8*(i/2), column 2t + i%2): bias, requantize / residual / clamp / relu,
/// then the store, and with a second output its requantize of each result and its store; 4-bit
/// outputs staged in the block's shared-memory output tile ([`WarpTile::stage`]) store each
/// lane's byte of the word (its two channels; H200, ResNet-50 W4A4 sm_90a: 4% faster at batch
/// 1-256 than gathering the word with two `shuffle xor`), staged 8-bit outputs each lane's two
/// bytes; 4-bit outputs stored to global memory
/// pack the 8 channels of a word across the 4 lanes of a group (two `shuffle xor`) and lane
/// t = 0 stores the word; 8- and 32-bit outputs in a channel-innermost layout store a
/// lane's two values of a row (channels o, o + 1) as one 2-element vector (half the store
/// instructions: H200, ResNet-50 W8A8 b8 0.936 -> 0.772 ms).
pub fn store_tile(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    bufs: &TileBufs,
    tile: &WarpTile,
    accs: &[Val],
) -> Result<(), String> {
    // the main loop is done: the next kernel's blocks may take the SMs this one frees
    kb.trigger_dependents();
    let (bb, rb) = (bufs.bias, bufs.residual);
    let (rows, nbase, t, mm) = (tile.rows, tile.nbase, tile.t, tile.mm);
    let rhalves = mm / 8;
    let o_total = s.output.dims[1];
    let per = (mm / 4) as usize;
    let two = kb.idx(2);
    let t2 = kb.mul(t, two);
    let channels = o_total;
    let second = match (bufs.second, &s.epilogue.second) {
        (Some(b), Some(o)) => Some((b, o)),
        (None, _) => None,
        (Some(_), None) => return Err("a second output without second_* attributes".into()),
    };
    // a residual whose channel pairs are adjacent: a lane's two channels of a row (o, o + 1,
    // o even) are one 8-byte load (i32) or one 4-byte load (narrow16)
    let pair_residual = rb.filter(|(buf, ab)| {
        matches!(buf.storage, Storage::Word32 | Storage::Narrow16) && channel_pairs(ab)
    });
    // with whole-row stores: the last 32-channel group's first channel (O is a multiple of 32
    // there)
    let whole_rows =
        (tile.stage.is_none() && whole_row_stores(tile, s.output)).then_some(o_total - 32);
    // the first output's values go only to its packed store (a second output reads them)
    let packed = s.output.storage() == Storage::Packed4 && second.is_none();
    // a narrow16 residual: the slots of each group of n-tiles (`NARROW_GROUP`), m-tile by
    // m-tile; a group's words are loaded while the group before it is stored (their latency
    // overlaps that work, not the escape branch), its values read at once behind one branch
    let narrow = pair_residual.filter(|(b, _)| b.storage == Storage::Narrow16);
    let groups: Vec<(usize, usize)> = (0..tile.mt as usize)
        .flat_map(|mt| {
            (0..tile.nt as usize)
                .step_by(NARROW_GROUP)
                .map(move |nt| (mt, nt))
        })
        .collect();
    // the residual's words from the stream tile where it holds them
    let smem_words = tile.stream.filter(|st| st.read);
    // the n-tiles of the group starting at n-tile `nt0`
    let group_of = |nt0: usize| nt0..(nt0 + NARROW_GROUP).min(tile.nt as usize);
    // `f` on this lane's first channel of each n-tile of the group starting at n-tile `nt0`
    let each_channel =
        |kb: &mut KernelBuilder, nt0: usize, f: &mut dyn FnMut(&mut KernelBuilder, Val)| {
            for g in group_of(nt0) {
                let off = kb.idx(g as i64 * 8);
                let o0 = kb.add(nbase, off);
                let oc = kb.add(o0, t2);
                f(kb, oc);
            }
        };
    // the residual's global slots of a group's channel pairs, row half inner
    let group_slots = |kb: &mut KernelBuilder, (mt, nt0): (usize, usize)| {
        let (_, ab) = narrow.expect("a narrow16 residual");
        let mut slots = vec![];
        each_channel(kb, nt0, &mut |kb, oc| {
            let oe = clamp_last(kb, tile.exact_o, oc, o_total - 2);
            for rh in 0..rhalves as usize {
                let (_, _, n, y, x) = rows[mt * rhalves as usize + rh];
                slots.push(act_slot(kb, ab, n, oe, y, x));
            }
        });
        slots
    };
    // a group's words in flight, and its slots where they were needed to load them (from the
    // stream tile only the rare escape branch needs them: computed there)
    let group_words = |kb: &mut KernelBuilder, (mt, nt0): (usize, usize)| {
        let (buf, _) = narrow.expect("a narrow16 residual");
        let Some(st) = smem_words else {
            let slots = group_slots(kb, (mt, nt0));
            let words = buf.load_pair_words(kb, &slots);
            return ((mt, nt0), Some(slots), words);
        };
        let mut words = vec![];
        each_channel(kb, nt0, &mut |kb, oc| {
            for rh in 0..rhalves as usize {
                let (m, ..) = rows[mt * rhalves as usize + rh];
                let wi = st.word(kb, m, oc);
                words.push(kb.load(st.smem, wi));
            }
        });
        ((mt, nt0), None, words)
    };
    // the groups whose words are in flight, oldest first: the first NARROW_AHEAD up front, then
    // one more each time a group is read
    let mut pending = std::collections::VecDeque::new();
    let mut issued = 0;
    if narrow.is_some() {
        while issued < groups.len().min(NARROW_AHEAD) {
            pending.push_back(group_words(kb, groups[issued]));
            issued += 1;
        }
    }
    // a narrow16 residual read as its i16 values: the residual sum in i32 where the epilogue's
    // scales bound it (the value of a tile whose residual has escapes, or whose biases pass the
    // bound's limit, takes the general sum)
    let sum_bound = narrow.and_then(|_| ResidualSumBound::of_conv(s));
    // this lane's two channels of n-tile `nt`: bias and scales read once for both row halves,
    // as pairs (8-byte loads) where the channel count allows
    let chans_of = |kb: &mut KernelBuilder, nt: usize| -> Result<Vec<Chan>, String> {
        let off = kb.idx(nt as i64 * 8);
        let o0 = kb.add(nbase, off);
        let oc = kb.add(o0, t2);
        let params = ChannelParams::load_pair(kb, s.epilogue, oc, channels)?;
        let biases = bias_pair(kb, bb, oc, channels);
        let sbiases = bias_pair(kb, bufs.residual_regs.and_then(|(_, b)| b), oc, channels);
        let mut chans = vec![];
        for (ci, params) in params.into_iter().enumerate() {
            let k = kb.idx(ci as i64);
            let o = kb.add(oc, k);
            let occ = clamp_last(kb, tile.exact_o, o, o_total - 1);
            chans.push(Chan {
                o,
                occ,
                bias: biases[ci],
                params,
                sbias: sbiases[ci],
            });
        }
        Ok(chans)
    };
    // the epilogue's values of n-tile `nt` of m-tile `mt` (`residual`: each row half's values of
    // the two channels), and the second output's: (row index in `rows`, channel, value)
    let values_of = |kb: &mut KernelBuilder,
                     (mt, nt): (usize, usize),
                     chans: &[Chan],
                     residual: &[Option<[Val; 2]>],
                     sum_fits_i32: bool|
     -> Result<Outs, String> {
        let tile_base = (mt * tile.nt as usize + nt) * per;
        let mut vals = vec![];
        let mut zvals = vec![];
        for i in 0..per {
            let (rh, ci) = (i / 2, i % 2);
            let row = mt * rhalves as usize + rh;
            let ch = &chans[ci];
            let mut acc = accs[tile_base + i];
            if let Some(bv) = ch.bias {
                acc = kb.add(acc, bv);
            }
            let r = residual[rh].map(|r| r[ci]);
            let (params, out) = (&ch.params, s.output.elem);
            let v = epilogue_at(kb, s.epilogue, params, acc, r, out, packed, sum_fits_i32)?;
            if let Some(((_, zb), so)) = second {
                let sp = params.second.ok_or("second output parameters not loaded")?;
                let zpacked = zb.storage() == Storage::Packed4;
                let z = second_output_at(kb, so, sp, v, zb.elem, zpacked)?;
                zvals.push((row, ch.o, z));
            }
            vals.push((row, ch.o, v));
        }
        Ok((vals, zvals))
    };
    // the residual's values in the accumulators' fragment slots of row half `rh` of n-tile
    // `nt` of m-tile `mt`, channels `chans` (a shortcut GEMM's plus its bias, or a prefetched
    // residual's)
    let shortcut_pair = |kb: &mut KernelBuilder,
                         sacc: &[Val],
                         (mt, nt): (usize, usize),
                         rh: usize,
                         chans: &[Chan]| {
        let tile_base = (mt * tile.nt as usize + nt) * per;
        [0, 1].map(|ci| {
            let a = sacc[tile_base + 2 * rh + ci];
            match chans[ci].sbias {
                Some(b) => kb.add(a, b),
                None => a,
            }
        })
    };
    // the epilogue's values of each n-tile `nts[j]` of m-tile `mt` (channels `chans[j]`), in
    // one branch: where `general` holds, the general sum over the residual values
    // `general_res` gives; else the i32 sum over `fast_res` (both flat: n-tile, row half,
    // channel pair)
    let branch_values = |kb: &mut KernelBuilder,
                         mt: usize,
                         nts: &[usize],
                         chans: &[Vec<Chan>],
                         general: Val,
                         general_res: &mut dyn FnMut(&mut KernelBuilder) -> Vec<Val>,
                         fast_res: &[Val]|
     -> Result<std::collections::VecDeque<Outs>, String> {
        let general = kb.unlikely(general);
        // each branch's n-tile lists (their rows and channels are the same: computed before
        // the branch), whose values it yields in order
        let outs = std::cell::RefCell::new(Ok(vec![]));
        let flat = |kb: &mut KernelBuilder, r: &[Val], fits: bool| -> Vec<Val> {
            if outs.borrow().is_err() {
                return vec![];
            }
            let mut pairs = r.chunks(2).map(|c| [c[0], c[1]]);
            let lists: Result<Vec<Outs>, String> = nts
                .iter()
                .enumerate()
                .map(|(j, &nt)| {
                    let residual: Vec<_> = (0..rhalves).map(|_| pairs.next()).collect();
                    values_of(kb, (mt, nt), &chans[j], &residual, fits)
                })
                .collect();
            let vals = lists.as_ref().map_or(vec![], |l| {
                l.iter()
                    .flat_map(|(v, z)| v.iter().chain(z).map(|x| x.2))
                    .collect()
            });
            *outs.borrow_mut() = lists;
            vals
        };
        let out = kb.if_else(
            general,
            |kb| {
                let r = general_res(kb);
                flat(kb, &r, false)
            },
            |kb| flat(kb, fast_res, true),
        );
        // the lists with the branch's results for their values
        let mut taken = out.into_iter();
        let mut with = |l: Vec<(usize, Val, Val)>| {
            l.into_iter()
                .map(|(row, o, _)| (row, o, taken.next().expect("a value a list entry")))
                .collect()
        };
        Ok(outs
            .into_inner()?
            .into_iter()
            .map(|(v, z)| (with(v), with(z)))
            .collect())
    };
    // whether a bias lies beyond the bound's limit
    let biases_beyond = |kb: &mut KernelBuilder, chans: &[Vec<Chan>], bound: ResidualSumBound| {
        let mut far = kb.c(Scalar::I1, 0);
        for c in chans.iter().flatten() {
            for b in [c.bias, c.sbias].into_iter().flatten() {
                let beyond = bound.bias_beyond(kb, b);
                far = kb.orb(far, beyond);
            }
        }
        far
    };
    // a narrow16 residual's group of n-tiles with its sum in i32 where `sum_bound` allows:
    // the epilogue's values of each n-tile, computed in one branch on whether every residual
    // value is an i16 (no escape) and every bias within the bound's limit (the i32 sum), or
    // not (the escapes read, the 64-bit sum saturated)
    let group_values = |kb: &mut KernelBuilder,
                        (mt, nt0): (usize, usize),
                        buf: &Buf,
                        words: &[Val],
                        slots: &mut dyn FnMut(&mut KernelBuilder) -> Vec<Val>,
                        bound: ResidualSumBound|
     -> Result<std::collections::VecDeque<Outs>, String> {
        let nts: Vec<usize> = group_of(nt0).collect();
        let chans = nts
            .iter()
            .map(|&nt| chans_of(kb, nt))
            .collect::<Result<Vec<_>, String>>()?;
        let halves = Buf::halves(kb, words);
        let any = Buf::any_escape(kb, words, &halves);
        let wide_bias = biases_beyond(kb, &chans, bound);
        let general = kb.orb(any, wide_bias);
        let mut resolve = |kb: &mut KernelBuilder| buf.resolve_escapes(kb, slots, &halves);
        branch_values(kb, mt, &nts, &chans, general, &mut resolve, &halves)
    };
    // a shortcut GEMM's group of n-tiles with the residual sum in i32 where `shortcut_bound`
    // allows: one branch on whether every bias and shortcut bias lies within the bound's
    // limit (the i32 sum) or not (the 64-bit sum saturated)
    // (`residual_regs` may instead hold a prefetched residual buffer's values, whose bound is
    // not this one)
    let shortcut_bound = s
        .shortcut
        .and(bufs.residual_regs)
        .and_then(|_| ResidualSumBound::of_conv(s));
    let shortcut_values = |kb: &mut KernelBuilder,
                           (mt, nt0): (usize, usize),
                           bound: ResidualSumBound|
     -> Result<std::collections::VecDeque<Outs>, String> {
        let (sacc, _) = bufs.residual_regs.expect("a shortcut GEMM's accumulators");
        let nts: Vec<usize> = (nt0..(nt0 + SHORTCUT_GROUP).min(tile.nt as usize)).collect();
        let chans = nts
            .iter()
            .map(|&nt| chans_of(kb, nt))
            .collect::<Result<Vec<_>, String>>()?;
        let mut res = vec![];
        for (j, &nt) in nts.iter().enumerate() {
            for rh in 0..rhalves as usize {
                res.extend(shortcut_pair(kb, sacc, (mt, nt), rh, &chans[j]));
            }
        }
        let general = biases_beyond(kb, &chans, bound);
        let mut same = |_: &mut KernelBuilder| res.clone();
        branch_values(kb, mt, &nts, &chans, general, &mut same, &res)
    };
    for mt in 0..tile.mt as usize {
        // with whole-row stores: the packed words of each row half, n-tile by n-tile
        let mut row_words: Vec<Vec<Val>> = vec![vec![]; rhalves as usize];
        let mut narrow_res = vec![].into_iter();
        // the values of a group's n-tiles, computed at its first (`group_values`)
        let mut group_outs = std::collections::VecDeque::new();
        // a narrow16 output's wide-plane stores behind one branch a group
        let mut escapes = vec![];
        for nt in 0..tile.nt as usize {
            if nt % NARROW_GROUP == 0 {
                if let Some((buf, _)) = narrow {
                    let (group, slots, words) = pending.pop_front().expect("the group's words");
                    if let Some(&g) = groups.get(issued) {
                        pending.push_back(group_words(kb, g));
                        issued += 1;
                    }
                    let mut slots = slots;
                    let mut slots_of = |kb: &mut KernelBuilder| {
                        slots.take().unwrap_or_else(|| group_slots(kb, group))
                    };
                    match sum_bound {
                        Some(bound) => {
                            group_outs =
                                group_values(kb, (mt, nt), buf, &words, &mut slots_of, bound)?;
                        }
                        None => {
                            narrow_res = buf.pair_values(kb, &mut slots_of, &words).into_iter();
                        }
                    }
                }
            }
            if nt % SHORTCUT_GROUP == 0 {
                if let Some(bound) = shortcut_bound {
                    group_outs = shortcut_values(kb, (mt, nt), bound)?;
                }
            }
            let off = kb.idx(nt as i64 * 8);
            let o0 = kb.add(nbase, off);
            let (vals, zvals) = match group_outs.pop_front() {
                Some(outs) => outs,
                None => {
                    let chans = chans_of(kb, nt)?;
                    // the residual values of each row half, channels o and o + 1
                    let residual: Vec<Option<[Val; 2]>> = (0..rhalves as usize)
                        .map(|rh| {
                            let (_, _, n, y, x) = rows[mt * rhalves as usize + rh];
                            if let Some((sacc, _)) = bufs.residual_regs {
                                return Some(shortcut_pair(kb, sacc, (mt, nt), rh, &chans));
                            }
                            match (pair_residual, rb) {
                                (Some((buf, _)), _) if buf.storage == Storage::Narrow16 => {
                                    narrow_res.next()
                                }
                                (Some((buf, ab)), _) => {
                                    let oc = chans[0].o;
                                    Some(residual_pair(kb, buf, ab, (n, y, x), oc, tile.exact_o))
                                }
                                (None, Some((buf, ab))) => Some([0, 1].map(|ci| {
                                    let sl = act_slot(kb, ab, n, chans[ci].occ, y, x);
                                    buf.load_slot(kb, sl)
                                })),
                                (None, None) => None,
                            }
                        })
                        .collect();
                    values_of(kb, (mt, nt), &chans, &residual, false)?
                }
            };
            let staged = |second: bool| tile.stage.as_ref().filter(|st| st.second == second);
            if whole_rows.is_some() {
                for (rh, words) in row_words.iter_mut().enumerate() {
                    words.push(pack_word(
                        kb,
                        vals[2 * rh].2,
                        vals[2 * rh + 1].2,
                        t,
                        s.output.elem,
                    ));
                }
            } else {
                let st = staged(false);
                store_vals(kb, tile, o0, bufs.out, s.output, &vals, st, &mut escapes);
            }
            if let Some(((zbuf, zb), _)) = second {
                store_vals(kb, tile, o0, zbuf, zb, &zvals, staged(true), &mut escapes);
            }
            // (the second output is never narrow16: a requantize's type is at most 16 bits)
            if (nt + 1) % NARROW_GROUP == 0 || nt + 1 == tile.nt as usize {
                bufs.out.store_escapes(kb, &std::mem::take(&mut escapes));
            }
        }
        if let Some(row_last) = whole_rows {
            // lane t of each group stores one (row half, 32-channel group) pair: 32 channels of
            // a pixel, 16 bytes at once
            for (rh, words) in row_words.into_iter().enumerate() {
                let (_, rok, n, y, x) = rows[mt * rhalves as usize + rh];
                let row_ok = kb.andb(rok, tile.ok);
                for (gi, group) in words.chunks(4).enumerate() {
                    let lane_t = kb.idx(gi as i64 * rhalves + rh as i64);
                    let mine = kb.cmp(Cmp::Eq, t, lane_t);
                    let ok = kb.andb(row_ok, mine);
                    let goff = kb.idx(gi as i64 * 32);
                    let g0 = kb.add(nbase, goff);
                    let gin = below(kb, tile.exact_o, g0, o_total);
                    let ok = kb.andb(ok, gin);
                    let oc = clamp_last(kb, tile.exact_o, g0, row_last);
                    let sl = act_slot(kb, s.output, n, oc, y, x);
                    let k8 = kb.idx(8);
                    let wi = kb.divu(sl, k8);
                    let v = kb.vec4([group[0], group[1], group[2], group[3]]);
                    let mem = bufs.out.mem;
                    kb.if_then(ok, |kb| kb.store4(v, mem, wi));
                }
            }
        }
    }
    Ok(())
}

/// One of a lane's two channels of an n-tile in [`store_tile`]: the channel, the channel
/// clamped to the last, its bias, scales and shortcut bias.
struct Chan {
    o: Val,
    occ: Val,
    bias: Option<Val>,
    params: ChannelParams,
    sbias: Option<Val>,
}

/// An n-tile's epilogue values and second-output values: (row index, channel, value).
type Outs = (Vec<(usize, Val, Val)>, Vec<(usize, Val, Val)>);

/// Products a conv's accumulator sums (taps x input channels; padding counts as 0), -1 where
/// that overflows (no bound then).
fn conv_k(s: &ConvSpec) -> i64 {
    let c = s.input.dims[1].max(s.weight.dims[1]);
    s.kernel[0]
        .checked_mul(s.kernel[1])
        .and_then(|t| t.checked_mul(c))
        .unwrap_or(-1)
}

/// A bound on `|round(v * m / 2^c)|` for `|v| <= v` under every exact rounding mode:
/// `ceil(v |m| / 2^c) + 1`; None for a shift outside [0, 62].
fn rounded_bound(v: i128, d: Dyadic) -> Option<i128> {
    let (m, c) = ((d.multiplier as i128).abs(), d.shift);
    (0..=62)
        .contains(&c)
        .then(|| ((v * m + (1i128 << c) - 1) >> c) + 1)
}

/// The largest magnitude of an integer element type's values.
fn magnitude(e: ElemType) -> i128 {
    let (lo, hi) = e.range();
    (lo as i128).abs().max((hi as i128).abs())
}

/// Where a residual epilogue's exact sum `round(a * b / 2^c) + round(r * rb / 2^rc)` provably
/// lies in i32, so that the kernel adds the terms' low words in 32 bits instead of forming the
/// 64-bit sum and saturating it (ResNet-50's stream convs spend most of their instructions in
/// this epilogue): for residual values `r` of an i16 (a narrow16 stream without escapes) and
/// `a` = an accumulator of `k` products of the input's and the weight's types plus a bias of
/// magnitude at most [`bias_limit`](Self::bias_limit). The accumulator's bound is static; a
/// bias is a weight the kernel reads, so the kernel compares it with the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResidualSumBound {
    pub bias_limit: i64,
}

impl ResidualSumBound {
    /// The bound of a residual epilogue `e` with exact rounding; None for other epilogues, or
    /// where even a zero bias leaves the sum outside i32.
    pub fn of(e: &Epilogue, k: i64, x: ElemType, w: ElemType) -> Option<Self> {
        let EpilogueKind::Residual { scales, residual } = &e.kind else {
            return None;
        };
        let whole = |s: &ChannelScales| !s.is_empty() && s.multiplier.len() == s.shift.len();
        if e.rounding.is_f32() || k < 0 || !whole(scales) || !whole(residual) {
            return None;
        }
        let ry = (0..residual.len())
            .map(|i| rounded_bound(1 << 15, residual.get(i)))
            .try_fold(0i128, |a, t| t.map(|t| a.max(t)))?;
        let ymax = i32::MAX as i128 - ry;
        // the largest |a| each channel's term keeps within ymax: |a| |m| / 2^c + 1 <= ymax
        let a_cap = (0..scales.len())
            .map(|i| {
                let d = scales.get(i);
                let m = (d.multiplier as i128).abs();
                match (0..=62).contains(&d.shift) {
                    false => None,
                    true if m == 0 => Some(i32::MAX as i128),
                    true => Some((((ymax - 1).max(0)) << d.shift) / m),
                }
            })
            .try_fold(i32::MAX as i128, |a, t| t.map(|t| a.min(t)))?;
        let acc = k as i128 * magnitude(x) * magnitude(w);
        let limit = a_cap - acc;
        // rounded down to a power of two (or 0): convs of nearby scales share a kernel
        // (`signature.rs`), at the cost of a bias of no real network
        let limit = limit.min(i32::MAX as i128) as i64;
        let limit = if limit > 0 { 1 << limit.ilog2() } else { limit };
        (limit >= 0 && ymax > 0).then_some(ResidualSumBound { bias_limit: limit })
    }

    /// The bound of a residual epilogue `e` whose residual is a shortcut GEMM's accumulator:
    /// `conv` and `shortcut` are each GEMM's (products summed, input type, weight type), and
    /// both biases share the limit (the largest power of two, or 0, for which every channel's
    /// two terms together stay within i32). None where even zero biases leave i32, or the
    /// epilogue is not an exact residual sum.
    pub fn of_shortcut(
        e: &Epilogue,
        conv: (i64, ElemType, ElemType),
        shortcut: (i64, ElemType, ElemType),
    ) -> Option<Self> {
        let EpilogueKind::Residual { scales, residual } = &e.kind else {
            return None;
        };
        let n = scales.len().max(residual.len());
        let whole = |s: &ChannelScales| {
            !s.is_empty() && s.multiplier.len() == s.shift.len() && (s.len() == 1 || s.len() == n)
        };
        if e.rounding.is_f32() || conv.0 < 0 || shortcut.0 < 0 || !whole(scales) || !whole(residual)
        {
            return None;
        }
        let gemm = |(k, x, w): (i64, ElemType, ElemType)| k as i128 * magnitude(x) * magnitude(w);
        let (acc, sacc) = (gemm(conv), gemm(shortcut));
        let fits = |limit: i128| {
            (0..n).all(|i| {
                match (
                    rounded_bound(acc + limit, scales.get(i)),
                    rounded_bound(sacc + limit, residual.get(i)),
                ) {
                    (Some(y), Some(ry)) => y + ry <= i32::MAX as i128,
                    _ => false,
                }
            })
        };
        let limit = (0..=30)
            .rev()
            .map(|j| 1i128 << j)
            .chain([0])
            .find(|&l| fits(l))?;
        Some(ResidualSumBound {
            bias_limit: limit as i64,
        })
    }

    /// [`of`](Self::of) for a conv whose kernel reads its residual as [`store_tile`] adds it in
    /// 32 bits: from a narrow16 stream, a lane's channel pair one word; or
    /// [`of_shortcut`](Self::of_shortcut) for a conv with a shortcut GEMM whose op asks for it
    /// (`bounded_sum`). The limit depends on
    /// the values of the epilogue's scales, which an op's kernel signature does not hold
    /// (`signature.rs` adds it).
    pub fn of_conv(s: &ConvSpec) -> Option<Self> {
        if let Some(sc) = &s.shortcut {
            if !sc.bounded_sum {
                return None;
            }
            let taps = sc.weight.dims[2].max(1) * sc.weight.dims[3].max(1);
            let ks = sc.input.dims[1].max(sc.weight.dims[1]).checked_mul(taps)?;
            let conv = (conv_k(s), s.input.elem, s.weight.elem);
            return Self::of_shortcut(s.epilogue, conv, (ks, sc.input.elem, sc.weight.elem));
        }
        let narrow = s
            .residual
            .is_some_and(|ab| ab.storage() == Storage::Narrow16 && channel_pairs(ab));
        if !narrow || s.shortcut.is_some() {
            return None;
        }
        Self::of(s.epilogue, conv_k(s), s.input.elem, s.weight.elem)
    }

    /// Whether the i32 bias `b` lies outside [-limit, limit]: `(b + limit) as u32 > 2 limit`.
    fn bias_beyond(&self, kb: &mut KernelBuilder, b: Val) -> Val {
        let l = kb.i32c(self.bias_limit);
        let biased = kb.add(b, l);
        let span = kb.i32c((2 * self.bias_limit as u64) as u32 as i32 as i64);
        kb.cmp(Cmp::Ugt, biased, span)
    }
}

/// The i32 biases of channels `oc` and `oc + 1` (`oc` even) from `b`: one 8-byte load where
/// the channel count is even (bias buffers are 256-byte aligned; channels past the last read
/// the last pair), else each channel clamped to the last.
fn bias_pair(kb: &mut KernelBuilder, b: Option<&Buf>, oc: Val, channels: i64) -> [Option<Val>; 2] {
    let Some(b) = b else {
        return [None; 2];
    };
    if channels % 2 == 0 && b.storage == Storage::Word32 {
        let last = kb.idx(channels - 2);
        let oe = kb.mins(oc, last);
        return kb.load2(b.mem, oe).map(Some);
    }
    clamped_pair(kb, oc, channels).map(|c| Some(b.load_slot(kb, c)))
}

/// N-tiles whose narrow16 residual words [`store_tile`] loads together (in flight at once) before
/// one escape branch, and whose narrow16 output escapes it stores behind one branch: more keeps
/// more values live across the branch (the whole m-tile spilled the 128-register residual convs).
const NARROW_GROUP: usize = 2;

/// N-tiles whose residual sum [`store_tile`] computes behind one branch on their biases where a
/// shortcut GEMM gives the residual: one keeps the fewest values live across the branch.
const SHORTCUT_GROUP: usize = 1;

/// Groups of a narrow16 residual whose words [`store_tile`] has in flight while it stores a
/// group: a group's branch waits for its words, so the loads of later groups must already be
/// out for their latency to overlap the stores. More costs registers the 128-register wgmma
/// residual convs spill (H100, ResNet-50 W4A4 b256: 2, 4 and 8 groups 0.5%, 0.9% and 2.7%
/// slower than 1).
const NARROW_AHEAD: usize = 1;

/// Whether [`store_tile`] writes a packed 4-bit output a row at a time: a warp tile of 4 or 8
/// n-tiles (32-channel groups, starting at a multiple of 32) of a channel-innermost output
/// whose stored pixel is whole 32-channel groups, so each row's 4 words of a group are 16
/// aligned bytes (one vector store instead of four 4-byte ones into the same 32-byte sector),
/// stored by one of the 4 lanes that hold them (hence at most 4 row halves x groups).
fn whole_row_stores(tile: &WarpTile, out: &ActBuffer) -> bool {
    out.storage() == Storage::Packed4
        && tile.nt % 4 == 0
        && tile.mm / 8 * (tile.nt / 4) <= 4
        && channel_inner(out.layout)
        && out.dims[1] % 32 == 0
        && out.stored_channels() == out.dims[1]
}

/// The packed word of 8 channels of one row: lane t's two 4-bit values `v0`, `v1` (channels 2t,
/// 2t + 1) as byte t, OR-ed over the group's 4 lanes (every lane ends with the word).
fn pack_word(kb: &mut KernelBuilder, v0: Val, v1: Val, t: Val, e: ElemType) -> Val {
    let byte = nibble_pair(kb, v0, v1, e);
    let t32 = kb.index_cast(t, Scalar::I32);
    let eight = kb.i32c(8);
    let bs = kb.mul(t32, eight);
    let mut word = kb.shl(byte, bs);
    for mask in [1, 2] {
        let other = kb.shuffle_xor(word, mask);
        word = kb.or(word, other);
    }
    word
}

/// Two 4-bit values of type `e` as one byte, `v0` the low nibble, `v1` the high one, each
/// saturated to the type (one `cvt.pack.sat`: values the epilogue left unclamped for it, or
/// already in range).
fn nibble_pair(kb: &mut KernelBuilder, v0: Val, v1: Val, e: ElemType) -> Val {
    kb.pack_sat4(v0, v1, e.is_signed())
}

/// Store one n-tile's values `(row, o, v)` of [`store_tile`] to `buf` (of type `ab`), or to
/// the shared-memory tile `stage` (packed outputs only). A narrow16 output stores the narrow
/// plane and adds each pair's wide-plane store to `escapes` (`Buf::store_escapes`).
#[allow(clippy::too_many_arguments)]
fn store_vals(
    kb: &mut KernelBuilder,
    tile: &WarpTile,
    o0: Val,
    buf: &Buf,
    ab: &ActBuffer,
    vals: &[(usize, Val, Val)],
    stage: Option<&StageOut>,
    escapes: &mut Vec<(Val, Val, Val, Val, Val)>,
) {
    let (rows, t, warp_ok) = (tile.rows, tile.t, tile.ok);
    let o_total = ab.dims[1];
    let izero = kb.idx(0);
    if ab.storage() == Storage::Packed4 {
        // per row half: 2 nibbles per lane -> byte at 8t -> OR over the 4 lanes
        for rh in 0..vals.len() / 2 {
            let (row, _, v0) = vals[2 * rh];
            let (_, _, v1) = vals[2 * rh + 1];
            if let Some(st) = stage {
                // lane t's byte (channels 2t, 2t + 1) goes straight to byte t of the staged
                // word: no exchange between the group's lanes
                let (m, ..) = rows[row];
                let r = kb.sub(m, st.m0);
                let kw = kb.idx(st.wpr);
                let ro = kb.mul(r, kw);
                let c = kb.sub(o0, st.n0);
                let k8 = kb.idx(8);
                let cw = kb.divu(c, k8);
                let i = kb.add(ro, cw);
                let k4 = kb.idx(4);
                let bi = kb.mul(i, k4);
                let bi = kb.add(bi, t);
                let byte = nibble_pair(kb, v0, v1, ab.elem);
                kb.if_then(warp_ok, |kb| kb.store_smem_byte(byte, st.base, bi));
                continue;
            }
            let word = pack_word(kb, v0, v1, t, ab.elem);
            let (_, rok, n, y, x) = rows[row];
            let t0 = kb.cmp(Cmp::Eq, t, izero);
            let oin = below(kb, tile.exact_o, o0, o_total);
            let ok = kb.andb(rok, warp_ok);
            let ok = kb.andb(ok, t0);
            let ok = kb.andb(ok, oin);
            let o0c = clamp_last(kb, tile.exact_o, o0, o_total - 1);
            let sl = act_slot(kb, ab, n, o0c, y, x);
            kb.if_then(ok, |kb| {
                let k8 = kb.idx(8);
                let wi = kb.divu(sl, k8);
                kb.store(word, buf.mem, wi);
            });
        }
    } else if let Some(st) = stage.filter(|_| ab.storage() == Storage::Byte) {
        // 8-bit values staged: lane t's two bytes (channels 2t, 2t + 1 of the n-tile) go to
        // bytes 2t, 2t + 1 of the row's n-tile in the shared-memory tile
        let kb4 = kb.idx(4 * st.wpr);
        let c = kb.sub(o0, st.n0);
        let two = kb.idx(2);
        let t2 = kb.mul(t, two);
        let c = kb.add(c, t2);
        for rh in 0..vals.len() / 2 {
            let (row, _, v0) = vals[2 * rh];
            let (_, _, v1) = vals[2 * rh + 1];
            let (m, ..) = rows[row];
            let r = kb.sub(m, st.m0);
            let ro = kb.mul(r, kb4);
            let bi = kb.add(ro, c);
            let one = kb.idx(1);
            let bi1 = kb.add(bi, one);
            kb.if_then(warp_ok, |kb| {
                kb.store_smem_byte(v0, st.base, bi);
                kb.store_smem_byte(v1, st.base, bi1);
            });
        }
    } else {
        // a lane's two values of a row are channels o, o + 1 (o even): one 2-element store
        // where they are adjacent, otherwise one store a value
        let pair = channel_pairs(ab);
        let w = if pair { 2 } else { 1 };
        for group in vals.chunks(w) {
            let (row, o, _) = group[0];
            let (_, rok, n, y, x) = rows[row];
            let oin = below(kb, tile.exact_o, o, o_total);
            let ok = kb.andb(rok, warp_ok);
            let ok = kb.andb(ok, oin);
            let occ = clamp_last(kb, tile.exact_o, o, o_total - w as i64);
            let sl = act_slot(kb, ab, n, occ, y, x);
            let vs: Vec<Val> = group.iter().map(|&(_, _, v)| v).collect();
            if let (Storage::Narrow16, &[a, b]) = (buf.storage, &vs[..]) {
                let w = Buf::narrow_word(kb, a, b);
                match tile.stream.filter(|st| st.write) {
                    // rows and channels past the end are not copied out of the tile (only
                    // the warps that hold the sums write it)
                    Some(st) => {
                        let (m, ..) = rows[row];
                        let wi = st.word(kb, m, o);
                        kb.if_then(warp_ok, |kb| kb.store(w, st.smem, wi));
                    }
                    None => kb.if_then(ok, |kb| buf.store_narrow_word(kb, w, sl)),
                }
                escapes.push((w, ok, sl, a, b));
                continue;
            }
            kb.if_then(ok, |kb| match (buf.storage, &vs[..]) {
                (Storage::Byte, &[a, b]) => {
                    let (a, b) = (kb.trunc(a, Scalar::I8), kb.trunc(b, Scalar::I8));
                    kb.store2(a, b, buf.mem, sl)
                }
                (_, &[a, b]) => kb.store2(a, b, buf.mem, sl),
                _ => buf.store_slot(kb, vs[0], sl),
            });
        }
    }
}

/// The residual of a warp tile in the accumulators' fragment layout (slot `(mt * nt + n) * mm/4
/// + 2 * rh + ci`: row half `rh`, channel `nbase + 8n + 2t + ci`), loaded where the main loop is
/// short: issued before it, the loads overlap the GEMM instead of following it (a latency the
/// short-K convs of batch 1-8 pay in full). Only i32 residuals whose channel pairs are adjacent
/// (one 8-byte load a pair, as [`store_tile`] reads them); else `None` and the epilogue loads.
pub(super) fn prefetch_residual(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    cb: &ConvBufs,
    tile: &WarpTile,
) -> Option<Vec<Val>> {
    let (buf, ab) = cb.residual.as_ref()?;
    if buf.storage != Storage::Word32 || !channel_pairs(ab) || s.shortcut.is_some() {
        return None;
    }
    let rhalves = (tile.mm / 8) as usize;
    let two = kb.idx(2);
    let t2 = kb.mul(tile.t, two);
    let mut vals = vec![];
    for mt in 0..tile.mt as usize {
        for nt in 0..tile.nt {
            let off = kb.idx(nt * 8);
            let o0 = kb.add(tile.nbase, off);
            let oc = kb.add(o0, t2);
            for rh in 0..rhalves {
                let (_, _, n, y, x) = tile.rows[mt * rhalves + rh];
                vals.extend(residual_pair(kb, buf, ab, (n, y, x), oc, tile.exact_o));
            }
        }
    }
    Some(vals)
}

/// The i32 residual of channels `oc`, `oc + 1` (`oc` even, clamped to the last pair) at pixel
/// `(n, y, x)`: one 8-byte load (the buffer's channel pairs are adjacent).
fn residual_pair(
    kb: &mut KernelBuilder,
    buf: &Buf,
    ab: &ActBuffer,
    (n, y, x): (Val, Val, Val),
    oc: Val,
    exact: bool,
) -> [Val; 2] {
    let oe = clamp_last(kb, exact, oc, ab.dims[1] - 2);
    let sl = act_slot(kb, ab, n, oe, y, x);
    kb.load2(buf.mem, sl)
}

/// The fused epilogue of a block tile whose pipeline memory is free: each warp's accumulators
/// through [`store_tile`]; the output `staged_out` names (see [`StagedPlan::staged_out`]) is
/// staged through shared memory (`[BM][BN/8]` words packed 4-bit, `[BM][BN]` bytes 8-bit) and
/// then written 16 bytes a thread, row after row ([`write_out_tile`]): a lane's 8-bit pair
/// otherwise leaves as one 2-byte store, 8 bytes a 32-byte sector per store instruction
/// (H200: ResNet-50 W8A8 b256 10.82 -> 9.57 ms, MobileNetV2 int8 b64 1.39 -> 1.23 ms).
#[allow(clippy::too_many_arguments)]
pub(super) fn store_block_tile(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    cb: &ConvBufs,
    block: &OutTile,
    staged_out: Option<bool>,
    mut tile: WarpTile,
    accs: &[Val],
    residual_regs: Option<&[Val]>,
    threads: i64,
) -> Result<(), String> {
    let bufs = TileBufs::of(cb, residual_regs);
    let base = staged_out.map(|_| kb.smem_address(block.smem));
    // the staged output's buffer and type
    let (sbuf, sact) = match (staged_out, &cb.second) {
        (Some(true), Some((b, a))) => (b, *a),
        _ => (&cb.out, s.output),
    };
    let per_word = 32 / sact.elem.bits() as i64; // channels a staged word holds
    tile.stage = staged_out.zip(base).map(|(second, base)| StageOut {
        base,
        m0: block.m0,
        n0: block.n0,
        wpr: block.bn / per_word,
        second,
    });
    // every warp is done with the pipeline (or reduction) memory, and the copies into a stream
    // tile that each thread waited for (`cp.async.wait_group 0`) are visible to all
    if staged_out.is_some() || tile.stream.is_some_and(|st| st.read) {
        kb.barrier();
    }
    let stream = tile.stream.filter(|st| st.write);
    store_tile(kb, s, &bufs, &tile, accs)?;
    if staged_out.is_some() || stream.is_some() {
        kb.barrier();
    }
    if staged_out.is_some() {
        write_out_tile(kb, s, block, sbuf, sact, threads);
    }
    if let Some(st) = stream {
        let words = cb.out.words.expect("a narrow16 buffer's words");
        stream_tile_vectors(
            kb,
            s,
            s.output,
            block,
            &st,
            threads,
            false,
            &mut |kb, gw, si, _| {
                let w4 = kb.load4(st.smem, si);
                kb.store4(w4, words, gw);
            },
        );
    }
    Ok(())
}

/// Copy the residual's tile (`residual` of type `act`) into the stream tile `st` (16-byte
/// `cp.async` copies, zero past the last row or channel) as one group, for
/// [`KernelBuilder::async_wait`].
pub(super) fn load_stream_tile(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    (residual, act): (&Buf, &ActBuffer),
    tile: &OutTile,
    st: &StreamStage,
    threads: i64,
) {
    let words = residual.words.expect("a narrow16 buffer's words");
    stream_tile_vectors(
        kb,
        s,
        act,
        tile,
        st,
        threads,
        true,
        &mut |kb, gw, si, ok| {
            kb.async_copy16(words, gw, st.smem, si, ok);
        },
    );
    kb.async_commit();
}

/// `f(global word, stream-tile word, in range)` for this thread's 16-byte vectors (8 channels)
/// of a block's stream tile, row after row over every thread of the block, in buffer `act`:
/// with `all`, every vector of the tile (global word 0 where out of range), else only those
/// in range.
#[allow(clippy::too_many_arguments)]
fn stream_tile_vectors(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    act: &ActBuffer,
    tile: &OutTile,
    st: &StreamStage,
    threads: i64,
    all: bool,
    f: &mut dyn FnMut(&mut KernelBuilder, Val, Val, Val),
) {
    let (k4, two) = (kb.idx(4), kb.idx(2));
    tile_vectors(kb, tile, act.dims[1], 8, threads, &mut |kb, tv| {
        let qw = kb.mul(tv.q, k4);
        let qw = plus(kb, qw, st.base);
        let si = kb.madd(tv.row, st.row_words, qw);
        let global = |kb: &mut KernelBuilder| {
            let (n, y, x) = pixel(kb, s, tv.m);
            let sl = act_slot(kb, act, n, tv.o, y, x);
            kb.divu(sl, two)
        };
        if all {
            let mut each = |kb: &mut KernelBuilder| {
                let gw = global(kb);
                let zero = kb.idx(0);
                let gw = kb.select(tv.ok, gw, zero);
                f(kb, gw, si, tv.ok)
            };
            match tv.inside {
                Some(i) => kb.if_then(i, each),
                None => each(kb),
            }
        } else {
            let ok = tv.in_tile(kb);
            kb.if_then(ok, |kb| {
                let gw = global(kb);
                f(kb, gw, si, ok)
            });
        }
    });
}

/// A block's output tile staged in shared memory by [`store_tile`] ([`StageOut`]): `[bm][bn /
/// 8]` words packed 4-bit or `[bm][bn]` bytes from word 0 of `smem`, rows `m0..`, channels
/// `n0..`.
pub(super) struct OutTile {
    pub smem: Val,
    pub m0: Val,
    pub n0: Val,
    pub bm: i64,
    pub bn: i64,
    /// GEMM M (rows past it are not written).
    pub m: i64,
}

impl OutTile {
    /// Whether the block tiles cover M and O exactly (no row or channel of a tile past the end).
    fn exact(&self, o: i64) -> (bool, bool) {
        (
            Axis::tiled(self.m, self.bm).exact,
            Axis::tiled(o, self.bn).exact,
        )
    }
}

/// Write a staged output tile to `buf` (of type `act`, channel-innermost; packed 4-bit with O %
/// 32 == 0, or 8-bit with O % 16 == 0): every thread of the block copies 16-byte vectors
/// (`st.global.v4`), row after row.
pub(super) fn write_out_tile(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    tile: &OutTile,
    buf: &Buf,
    act: &ActBuffer,
    threads: i64,
) {
    // channels a 16-byte vector holds, and a stored word
    let (per_vec, per_word) = if act.storage() == Storage::Byte {
        (16, 4)
    } else {
        (32, 8)
    };
    let words = buf.words.unwrap_or(buf.mem);
    let (k4, kpw) = (kb.idx(4), kb.idx(per_word));
    tile_vectors(
        kb,
        tile,
        s.output.dims[1],
        per_vec,
        threads,
        &mut |kb, tv| {
            let ok = tv.in_tile(kb);
            kb.if_then(ok, |kb| {
                let (n, y, x) = pixel(kb, s, tv.m);
                let sl = act_slot(kb, act, n, tv.o, y, x);
                let gw = kb.divu(sl, kpw);
                let si = kb.mul(tv.v, k4);
                let w4 = kb.load4(tile.smem, si);
                kb.store4(w4, words, gw);
            });
        },
    );
}

/// One of a thread's 16-byte vectors of a block tile ([`tile_vectors`]).
struct TileVector {
    /// The vector's index in the tile, its row, and its place in the row.
    v: Val,
    row: Val,
    q: Val,
    /// The GEMM row and first channel, and whether both are in range.
    m: Val,
    o: Val,
    ok: Val,
    /// Where the thread's last round runs past the tile: whether `v` is inside it.
    inside: Option<Val>,
}

impl TileVector {
    /// Whether the vector is one of the tile's and its row and channels are in range.
    fn in_tile(&self, kb: &mut KernelBuilder) -> Val {
        match self.inside {
            Some(i) => kb.andb(self.ok, i),
            None => self.ok,
        }
    }
}

/// `f` on each of this thread's 16-byte vectors (`per_vec` channels each) of a block tile, row
/// after row over the block's `threads`.
fn tile_vectors(
    kb: &mut KernelBuilder,
    tile: &OutTile,
    channels: i64,
    per_vec: i64,
    threads: i64,
    f: &mut dyn FnMut(&mut KernelBuilder, &TileVector),
) {
    let tid = kb.thread_id();
    let (exact_m, exact_o) = tile.exact(channels);
    let vpr = tile.bn / per_vec; // vectors a row
    let (kvpr, kpv) = (kb.idx(vpr), kb.idx(per_vec));
    let total = tile.bm * vpr;
    for j in 0..(total + threads - 1) / threads {
        let off = kb.idx(j * threads);
        let v = kb.add(tid, off);
        let row = kb.divu(v, kvpr);
        let q = kb.remu(v, kvpr);
        let m = kb.add(tile.m0, row);
        let qo = kb.mul(q, kpv);
        let o = kb.add(tile.n0, qo);
        let mok = below(kb, exact_m, m, tile.m);
        let oin = below(kb, exact_o, o, channels);
        let ok = kb.andb(mok, oin);
        let inside = ((j + 1) * threads > total).then(|| {
            let kt = kb.idx(total);
            kb.cmp(Cmp::Ult, v, kt)
        });
        let tv = TileVector {
            v,
            row,
            q,
            m,
            o,
            ok,
            inside,
        };
        f(kb, &tv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::semantics::{round_shift, Rounding};

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }
    }

    fn residual(scales: ChannelScales, residual: ChannelScales, rounding: Rounding) -> Epilogue {
        Epilogue {
            kind: EpilogueKind::Residual { scales, residual },
            rounding,
            clamp: [i32::MIN as i64, i32::MAX as i64],
            relu: false,
            second: None,
            then: None,
        }
    }

    /// A residual epilogue of `n` conv scales and `rn` residual scales (shifts in `rshifts`):
    /// by `case`, stream-like (a large conv scale, a residual scale near 1) or wide, rounding
    /// half up or half to even.
    fn random_residual(
        rng: &mut Rng,
        case: usize,
        n: usize,
        rn: usize,
        rshifts: (i64, i64),
    ) -> Epilogue {
        let conv = if case % 2 == 0 { (20, 40) } else { (0, 62) };
        let conv = scales(rng, n, conv);
        let rounding = if case % 3 == 0 {
            Rounding::HalfUp
        } else {
            Rounding::HalfToEven
        };
        residual(conv, scales(rng, rn, rshifts), rounding)
    }

    fn scales(rng: &mut Rng, n: usize, shifts: (i64, i64)) -> ChannelScales {
        ChannelScales {
            multiplier: (0..n)
                .map(|_| rng.range(i32::MIN as i64, i32::MAX as i64) as i32)
                .collect(),
            shift: (0..n)
                .map(|_| rng.range(shifts.0, shifts.1) as i32)
                .collect(),
        }
    }

    /// Every accumulator the bound admits (the extremes and random values between) and every
    /// i16 residual value give a sum inside i32, computed exactly as the reference does.
    #[test]
    fn residual_sums_the_bound_admits_fit_i32() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let types = [ElemType::U4, ElemType::I4, ElemType::U8, ElemType::I8];
        let mut bounded = 0;
        for case in 0..400 {
            let n = rng.range(1, 6) as usize;
            let e = random_residual(&mut rng, case, n, n, (28, 40));
            let (x, w) = (types[case % 4], types[(case / 4) % 4]);
            let k = rng.range(1, 4608);
            let Some(b) = ResidualSumBound::of(&e, k, x, w) else {
                continue;
            };
            bounded += 1;
            assert!((0..=i32::MAX as i64).contains(&b.bias_limit));
            assert!(b.bias_limit == 0 || (b.bias_limit as u64).is_power_of_two());
            let acc = k * magnitude(x) as i64 * magnitude(w) as i64;
            let amax = (acc + b.bias_limit).min(i32::MAX as i64);
            let EpilogueKind::Residual { scales, residual } = &e.kind else {
                unreachable!()
            };
            for c in 0..n {
                let (d, rd) = (scales.get(c), residual.get(c));
                let mut avals = vec![amax, -amax, 0];
                avals.extend((0..8).map(|_| rng.range(-amax, amax)));
                for a in avals {
                    for r in [-32768i64, 32767, 0, rng.range(-32768, 32767)] {
                        let y = round_shift(a * d.multiplier as i64, d.shift, e.rounding);
                        let ry = round_shift(r * rd.multiplier as i64, rd.shift, e.rounding);
                        let sum = y as i128 + ry as i128;
                        assert!(
                            i32::try_from(sum).is_ok(),
                            "case {case} channel {c}: a {a} r {r} -> {sum} ({b:?})"
                        );
                    }
                }
            }
        }
        assert!(bounded > 100, "only {bounded} of 400 epilogues bounded");
    }

    /// Every conv and shortcut accumulator the shortcut bound admits (the extremes and random
    /// values between, each with a bias up to the shared limit) gives a sum inside i32,
    /// computed exactly as the reference does; and the next power of two would not hold.
    #[test]
    fn shortcut_sums_the_bound_admits_fit_i32() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let types = [ElemType::U4, ElemType::I4, ElemType::U8, ElemType::I8];
        let mut bounded = 0;
        for case in 0..400 {
            let n = rng.range(1, 6) as usize;
            // per-tensor or per-channel shortcut scales
            let sn = if case % 5 == 0 { 1 } else { n };
            let e = random_residual(&mut rng, case, n, sn, (20, 40));
            let (x, w) = (types[case % 4], types[(case / 4) % 4]);
            let (xs, ws) = (types[(case / 2) % 4], types[(case / 8) % 4]);
            let (k, ks) = (rng.range(1, 4608), rng.range(1, 2048));
            let Some(b) = ResidualSumBound::of_shortcut(&e, (k, x, w), (ks, xs, ws)) else {
                continue;
            };
            bounded += 1;
            assert!((0..=1 << 30).contains(&b.bias_limit));
            assert!(b.bias_limit == 0 || (b.bias_limit as u64).is_power_of_two());
            let gemm =
                |k: i64, x: ElemType, w: ElemType| k * magnitude(x) as i64 * magnitude(w) as i64;
            let amax = (gemm(k, x, w) + b.bias_limit).min(i32::MAX as i64);
            let samax = (gemm(ks, xs, ws) + b.bias_limit).min(i32::MAX as i64);
            let EpilogueKind::Residual {
                scales,
                residual: rs,
            } = &e.kind
            else {
                unreachable!()
            };
            let mut widest = 0i128;
            for c in 0..n {
                let (d, rd) = (scales.get(c), rs.get(c));
                let mut avals = vec![amax, -amax, 0];
                avals.extend((0..6).map(|_| rng.range(-amax, amax)));
                let mut svals = vec![samax, -samax, 0];
                svals.extend((0..6).map(|_| rng.range(-samax, samax)));
                for &a in &avals {
                    for &sa in &svals {
                        let y = round_shift(a * d.multiplier as i64, d.shift, e.rounding);
                        let ry = round_shift(sa * rd.multiplier as i64, rd.shift, e.rounding);
                        let sum = y as i128 + ry as i128;
                        assert!(
                            i32::try_from(sum).is_ok(),
                            "case {case} channel {c}: a {a} sa {sa} -> {sum} ({b:?})"
                        );
                    }
                }
                // the sum's magnitude at twice the limit (or 1 for a limit of 0), both
                // accumulators at their extremes with the scales' signs
                let l2 = (2 * b.bias_limit).max(1);
                let y = (gemm(k, x, w) + l2) as i128 * (d.multiplier as i128).abs() >> d.shift;
                let ry =
                    (gemm(ks, xs, ws) + l2) as i128 * (rd.multiplier as i128).abs() >> rd.shift;
                widest = widest.max(y + ry);
            }
            if b.bias_limit < 1 << 30 {
                // within the bound's slack (+1 a term, the rounding up) of leaving i32
                assert!(
                    widest + 4 > i32::MAX as i128,
                    "case {case}: a limit of {} would hold too ({widest})",
                    (2 * b.bias_limit).max(1)
                );
            }
        }
        assert!(bounded > 100, "only {bounded} of 400 epilogues bounded");
    }

    /// The bound of a ResNet first unit (a 1x1 conv of 64 channels, its shortcut GEMM of 64):
    /// the largest power of two below the exact limit of both biases.
    #[test]
    fn shortcut_bound_of_a_first_unit() {
        let one = |m: i32, s: i32| {
            ChannelScales::per_tensor(Dyadic {
                multiplier: m,
                shift: s,
            })
        };
        let e = residual(
            one(1_359_000_000, 24),
            one(1_500_000_000, 26),
            Rounding::HalfToEven,
        );
        let gemm = (64, ElemType::U4, ElemType::I4);
        let b = ResidualSumBound::of_shortcut(&e, gemm, gemm).unwrap();
        let (ys, rs) = (
            1_359_000_000f64 / 2f64.powi(24),
            1_500_000_000f64 / 2f64.powi(26),
        );
        // (7680 + l) (ys + rs) + 4 <= 2^31 - 1
        let exact = (i32::MAX as f64 - 4.0) / (ys + rs) - 7680.0;
        assert!(
            b.bias_limit as f64 <= exact && 2.0 * b.bias_limit as f64 > exact,
            "{b:?} against {exact}"
        );
        // no bound where a scale leaves no room, nor without per-channel scales that agree
        let wide = residual(one(1 << 30, 0), one(1, 0), Rounding::HalfToEven);
        assert_eq!(ResidualSumBound::of_shortcut(&wide, gemm, gemm), None);
        let mut two = one(1, 10);
        two.multiplier.push(1);
        two.shift.push(10);
        let mut three = two.clone();
        three.multiplier.push(1);
        three.shift.push(10);
        let uneven = residual(two, three, Rounding::HalfToEven);
        assert_eq!(ResidualSumBound::of_shortcut(&uneven, gemm, gemm), None);
    }

    /// The bound where ResNet's stream convs have it: a conv scale of 81 leaves biases up to
    /// about 2^31 / 81 minus the accumulator's 64 x 15 x 8, rounded down to a power of two.
    #[test]
    fn residual_sum_bound_of_a_stream_conv() {
        let e = residual(
            ChannelScales::per_tensor(Dyadic {
                multiplier: 1_359_000_000,
                shift: 24,
            }),
            ChannelScales::per_tensor(Dyadic {
                multiplier: 1_887_396_881,
                shift: 31,
            }),
            Rounding::HalfToEven,
        );
        let b = ResidualSumBound::of(&e, 64, ElemType::U4, ElemType::I4).unwrap();
        let y_scale = 1_359_000_000f64 / (1u64 << 24) as f64;
        let exact = (i32::MAX as f64 - 32768.0 * 0.879) / y_scale - 7680.0;
        // the power of two below it
        assert_eq!(b.bias_limit, 1 << 24, "against {exact}");
        assert!(b.bias_limit as f64 <= exact && 2.0 * b.bias_limit as f64 > exact);
    }

    /// No bound where none can hold or the epilogue is not an exact residual sum.
    #[test]
    fn residual_sum_bound_needs_an_exact_residual_epilogue_that_fits() {
        let one = |m: i32, s: i32| {
            ChannelScales::per_tensor(Dyadic {
                multiplier: m,
                shift: s,
            })
        };
        // a conv scale of 2^31: even a zero accumulator's neighbours leave i32
        let wide = residual(one(1 << 30, 0), one(1, 0), Rounding::HalfToEven);
        assert_eq!(
            ResidualSumBound::of(&wide, 64, ElemType::U4, ElemType::I4),
            None
        );
        let f32 = residual(one(1, 10), one(1, 10), Rounding::F32HalfToEven);
        assert_eq!(
            ResidualSumBound::of(&f32, 64, ElemType::U4, ElemType::I4),
            None
        );
        let mut req = residual(one(1, 10), one(1, 10), Rounding::HalfToEven);
        req.kind = EpilogueKind::Requantize {
            scales: one(1, 10),
            zero_point: 0,
        };
        assert_eq!(
            ResidualSumBound::of(&req, 64, ElemType::U4, ElemType::I4),
            None
        );
    }
}
