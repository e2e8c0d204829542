//! Buffer layouts inside a kernel: slot formulas (the ones `nibble_tcconv::buffer::ActBuffer::slot`
//! and `nibble_tcconv::pack::slot` define), the thread -> output-element map, and loads / stores
//! of slots in each storage (packed 4-bit words, bytes, 32-bit words).
//!
//! Index formulas are written once, generically over [`IndexMath`], and instantiated twice: on
//! the kernel builder (emitting `arith` ops on `index`) and on plain `i64` (unit tests check them
//! against `ActBuffer::slot` and `pack::slot` for every element of small buffers).
//!
//! Kernel arguments keep the buffer's own memref type (`memref<NxHxWxCsxi32>` ...; with
//! `use-bare-ptr-memref-call-conv=1` each is one pointer parameter); inside the kernel each is
//! viewed as a 1-D memref of its stored elements with `memref.reinterpret_cast`, so the linear
//! slot index addresses it directly: word `slot / 8`, nibble `slot % 8` for 4-bit storage (a
//! channel-innermost row holds a multiple of 8 channels, so 8 consecutive channels share a word),
//! byte `slot` for 8-bit storage (also read as i32 words through `memref.view` when 4 consecutive
//! channels are needed), element `slot` otherwise.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use nibble_qnn::semantics::{ElemType, Layout};
use nibble_tcconv::buffer::{storage_of, ActBuffer, Storage, ESCAPE_HI, ESCAPE_LO};
use nibble_tcconv::program::{PackedWeight, Packing};
use nibble_tcconv::select::ConvSpec;

/// Index arithmetic the slot formulas are written in.
pub trait IndexMath {
    type X: Copy;
    fn k(&mut self, v: i64) -> Self::X;
    fn add(&mut self, a: Self::X, b: Self::X) -> Self::X;
    fn mul(&mut self, a: Self::X, b: Self::X) -> Self::X;
    fn div(&mut self, a: Self::X, b: Self::X) -> Self::X;
    fn rem(&mut self, a: Self::X, b: Self::X) -> Self::X;
    fn xor(&mut self, a: Self::X, b: Self::X) -> Self::X;
    fn madd(&mut self, a: Self::X, b: i64, c: Self::X) -> Self::X {
        let b = self.k(b);
        let ab = self.mul(a, b);
        self.add(ab, c)
    }
}

impl IndexMath for KernelBuilder<'_> {
    type X = Val;
    fn k(&mut self, v: i64) -> Val {
        self.idx(v)
    }
    fn add(&mut self, a: Val, b: Val) -> Val {
        KernelBuilder::add(self, a, b)
    }
    fn mul(&mut self, a: Val, b: Val) -> Val {
        KernelBuilder::mul(self, a, b)
    }
    fn div(&mut self, a: Val, b: Val) -> Val {
        self.divu(a, b)
    }
    fn rem(&mut self, a: Val, b: Val) -> Val {
        self.remu(a, b)
    }
    fn xor(&mut self, a: Val, b: Val) -> Val {
        KernelBuilder::xor(self, a, b)
    }
}

/// Plain evaluation (tests, and host-side arithmetic).
pub struct Eval;
impl IndexMath for Eval {
    type X = i64;
    fn k(&mut self, v: i64) -> i64 {
        v
    }
    fn add(&mut self, a: i64, b: i64) -> i64 {
        a + b
    }
    fn mul(&mut self, a: i64, b: i64) -> i64 {
        a * b
    }
    fn div(&mut self, a: i64, b: i64) -> i64 {
        a / b
    }
    fn rem(&mut self, a: i64, b: i64) -> i64 {
        a % b
    }
    fn xor(&mut self, a: i64, b: i64) -> i64 {
        a ^ b
    }
}

/// `ActBuffer::slot(n, c, h, w)`, term for term:
/// NHWC `((n*H + h)*W + w)*Cs + c`, HWNC `((h*W + w)*N + n)*Cs + c`, NC `n*Cs + c`,
/// NCHW `((n*Cs + c)*H + h)*W + w` (Cs = stored, padded channels).
pub fn act_slot<M: IndexMath>(
    m: &mut M,
    b: &ActBuffer,
    n: M::X,
    c: M::X,
    h: M::X,
    w: M::X,
) -> M::X {
    let [nn, _, hh, ww] = b.dims;
    let cs = b.stored_channels();
    match b.layout {
        Layout::NHWC => {
            let t = m.madd(n, hh, h);
            let t = m.madd(t, ww, w);
            m.madd(t, cs, c)
        }
        Layout::HWNC => {
            let t = m.madd(h, ww, w);
            let t = m.madd(t, nn, n);
            m.madd(t, cs, c)
        }
        Layout::NC => m.madd(n, cs, c),
        Layout::NCHW => {
            let t = m.madd(n, cs, c);
            let t = m.madd(t, hh, h);
            m.madd(t, ww, w)
        }
    }
}

/// Storage of a packed weight (biases are i32 words).
pub fn weight_storage(pw: &PackedWeight) -> (Storage, ElemType) {
    let e = nibble_tcconv::pack::stored_elem(pw);
    (storage_of(e), e)
}

/// `pack::slot(o, i, kh, kw)`: ConvOhwi `((o*KH + kh)*KW + kw)*Cs + i`,
/// ConvHwoi `((kh*KW + kw)*O + o)*Cs + i`, DenseOk `o*Ks + i`, Bias `o`.
pub fn weight_slot<M: IndexMath>(
    m: &mut M,
    pw: &PackedWeight,
    o: M::X,
    i: M::X,
    kh: M::X,
    kw: M::X,
) -> M::X {
    let [oo, _, kkh, kkw] = pw.dims;
    let cs = weight_cs(pw);
    match pw.packing {
        Packing::ConvOhwi => {
            let t = m.madd(o, kkh, kh);
            let t = m.madd(t, kkw, kw);
            m.madd(t, cs, i)
        }
        Packing::ConvHwoi => {
            let t = m.madd(kh, kkw, kw);
            let t = m.madd(t, oo, o);
            m.madd(t, cs, i)
        }
        Packing::DenseOk => m.madd(o, cs, i),
        Packing::Bias => o,
    }
}

/// Buffer geometry shared with tcconv's kernel selection.
pub use nibble_tcconv::select::{channel_inner, out_plan, weight_cs, OutPlan};

/// Logical coordinates of one output element.
#[derive(Clone, Copy, Debug)]
pub struct Coords<X> {
    pub n: X,
    pub c: X,
    pub h: X,
    pub w: X,
}

/// The slots thread `t` writes: `(base, coords of base + j for j in 0..g)`. For channel-inner
/// plans all coords share (n, h, w) and `c = c0 + j`; the inverse of [`act_slot`]:
/// NHWC `pos = t / (Cs/g)`, `c0 = (t % (Cs/g)) * g`, `w = pos % W`, `h = pos / W % H`,
/// `n = pos / (W*H)`; HWNC `n = pos % N`, `w = pos / N % W`, `h = pos / (N*W)`; NC `n = pos`;
/// base = `pos * Cs + c0`. NCHW: slot `s = t*g + j`, `w = s % W`, `h = s / W % H`,
/// `c = s / (W*H) % Cs`, `n = s / (W*H*Cs)`.
pub fn group_coords<M: IndexMath>(
    m: &mut M,
    b: &ActBuffer,
    plan: OutPlan,
    t: M::X,
) -> (M::X, Vec<Coords<M::X>>) {
    let [nn, _, hh, ww] = b.dims;
    let cs = b.stored_channels();
    let g = plan.g;
    if plan.inner {
        let groups = m.k(cs / g);
        let pos = m.div(t, groups);
        let grp = m.rem(t, groups);
        let gk = m.k(g);
        let c0 = m.mul(grp, gk);
        let zero = m.k(0);
        let (n, h, w) = match b.layout {
            Layout::NHWC => {
                let kw = m.k(ww);
                let w = m.rem(pos, kw);
                let t1 = m.div(pos, kw);
                let kh = m.k(hh);
                let h = m.rem(t1, kh);
                let n = m.div(t1, kh);
                (n, h, w)
            }
            Layout::HWNC => {
                let kn = m.k(nn);
                let n = m.rem(pos, kn);
                let t1 = m.div(pos, kn);
                let kw = m.k(ww);
                let w = m.rem(t1, kw);
                let h = m.div(t1, kw);
                (n, h, w)
            }
            _ => (pos, zero, zero),
        };
        let base = m.madd(pos, cs, c0);
        let items = (0..g)
            .map(|j| {
                let jj = m.k(j);
                let c = m.add(c0, jj);
                Coords { n, c, h, w }
            })
            .collect();
        (base, items)
    } else {
        let gk = m.k(g);
        let base = m.mul(t, gk);
        let items = (0..g)
            .map(|j| {
                let jj = m.k(j);
                let s = m.add(base, jj);
                let kw = m.k(ww);
                let w = m.rem(s, kw);
                let t1 = m.div(s, kw);
                let kh = m.k(hh);
                let h = m.rem(t1, kh);
                let t2 = m.div(t1, kh);
                let kc = m.k(cs);
                let c = m.rem(t2, kc);
                let n = m.div(t2, kc);
                Coords { n, c, h, w }
            })
            .collect();
        (base, items)
    }
}

/// One output element of a thread's group, in the kernel.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    pub n: Val,
    pub c: Val,
    pub h: Val,
    pub w: Val,
    /// `min(c, C - 1)`: the channel to read parameters / inputs at (never out of bounds).
    pub cc: Val,
    /// `c < C` (None: always true): padding channels are written as 0.
    pub valid: Option<Val>,
}

/// A thread's output group in the kernel.
pub struct Group {
    pub base: Val,
    pub items: Vec<Item>,
    /// All items share (n, h, w) and have consecutive channels starting at `items[0].c`.
    pub shared: bool,
}

/// Build the group of thread `t` (index) for output buffer `b`.
pub fn group(kb: &mut KernelBuilder, b: &ActBuffer, plan: OutPlan, t: Val) -> Group {
    let (base, coords) = group_coords(kb, b, plan, t);
    let c_logical = b.dims[1];
    let cs = b.stored_channels();
    let items = coords
        .into_iter()
        .map(|x| {
            if cs == c_logical {
                Item {
                    n: x.n,
                    c: x.c,
                    h: x.h,
                    w: x.w,
                    cc: x.c,
                    valid: None,
                }
            } else {
                let lim = kb.idx(c_logical);
                let last = kb.idx(c_logical - 1);
                let valid = kb.cmp(super::builder::Cmp::Ult, x.c, lim);
                let cc = kb.mins(x.c, last);
                Item {
                    n: x.n,
                    c: x.c,
                    h: x.h,
                    w: x.w,
                    cc,
                    valid: Some(valid),
                }
            }
        })
        .collect();
    Group {
        base,
        items,
        shared: plan.inner,
    }
}

/// A kernel argument viewed as its stored elements.
#[derive(Clone, Copy, Debug)]
pub struct Buf {
    /// 1-D memref of the stored elements (i32 words, i8 bytes, i32 or f32 values).
    pub mem: Val,
    /// For 8-bit storage: the same bytes as i32 words (`memref.view`). For narrow16: the
    /// whole buffer as i32 words (the wide plane from word [`Buf::wide`]).
    pub words: Option<Val>,
    /// For narrow16: the narrow plane as i16 values (`memref.view`).
    pub halves: Option<Val>,
    /// For narrow16: the first word of the wide plane (the slot count / 2).
    pub wide: i64,
    pub storage: Storage,
    pub elem: ElemType,
}

impl Buf {
    /// View kernel argument `arg` (`len` stored elements) in `storage`.
    pub fn new(
        kb: &mut KernelBuilder,
        arg: Val,
        storage: Storage,
        elem: ElemType,
        len: i64,
    ) -> Buf {
        let el = match storage {
            Storage::Packed4 => "i32",
            Storage::Byte | Storage::Narrow16 => "i8",
            Storage::Word32 if elem == ElemType::F32 => "f32",
            Storage::Word32 => "i32",
        };
        let mem = kb.flat(arg, len, el);
        if storage == Storage::Narrow16 {
            // `len` bytes: 2 a slot narrow, then 4 a slot wide
            let slots = len / 6;
            let words = kb.view_words(mem, len);
            let halves = kb.view_as(mem, slots, "i16");
            return Buf {
                mem,
                words: Some(words),
                halves: Some(halves),
                wide: slots / 2,
                storage,
                elem,
            };
        }
        let words = (storage == Storage::Byte && len % 4 == 0).then(|| kb.view_words(mem, len));
        Buf {
            mem,
            words,
            halves: None,
            wide: 0,
            storage,
            elem,
        }
    }
    pub fn act(kb: &mut KernelBuilder, arg: Val, b: &ActBuffer) -> Buf {
        Buf::new(kb, arg, b.storage(), b.elem, b.stored_len() as i64)
    }
    pub fn weight(kb: &mut KernelBuilder, arg: Val, pw: &PackedWeight) -> Buf {
        let (st, el) = weight_storage(pw);
        let slots = match pw.packing {
            Packing::ConvOhwi | Packing::ConvHwoi => {
                pw.dims[0] * pw.dims[2] * pw.dims[3] * weight_cs(pw)
            }
            Packing::DenseOk => pw.dims[0] * weight_cs(pw),
            Packing::Bias => pw.dims[0],
        };
        let len = if st == Storage::Packed4 {
            slots / 8
        } else {
            slots
        };
        Buf::new(kb, arg, st, el, len)
    }
    fn signed(&self) -> bool {
        self.elem.is_signed()
    }

    /// The value in slot `s` (index): i32 for integers, f32 for f32 buffers.
    pub fn load_slot(&self, kb: &mut KernelBuilder, s: Val) -> Val {
        match self.storage {
            Storage::Packed4 => {
                let k8 = kb.idx(8);
                let wi = kb.divu(s, k8);
                let word = kb.load(self.mem, wi);
                let j = kb.remu(s, k8);
                if let Some(j) = kb.known(j) {
                    return kb.nibble(word, j, self.signed());
                }
                let j32 = kb.index_cast(j, Scalar::I32);
                let four = kb.i32c(4);
                let sh = kb.mul(j32, four);
                kb.nibble_at(word, sh, self.signed())
            }
            Storage::Byte => {
                let b = kb.load(self.mem, s);
                if self.signed() {
                    kb.sext(b, Scalar::I32)
                } else {
                    kb.zext(b, Scalar::I32)
                }
            }
            Storage::Word32 => kb.load(self.mem, s),
            Storage::Narrow16 => {
                let h = kb.load(self.halves.unwrap(), s);
                let h = kb.sext(h, Scalar::I32);
                let escaped = Self::escaped(kb, h);
                let escaped = kb.unlikely(escaped);
                let (words, wide) = (self.words.unwrap(), kb.idx(self.wide));
                kb.if_then_else(escaped, &[h], |kb| {
                    let i = kb.add(wide, s);
                    vec![kb.load(words, i)]
                })[0]
            }
        }
    }

    /// Narrow16: the values of the slot pairs `(s, s + 1)` for each `s` of `slots` (even): one
    /// 4-byte load of the narrow plane a pair, all issued before the one branch that reads the
    /// wide plane where any of them is an escape (a branch after each load would wait for it).
    pub fn load_pairs(&self, kb: &mut KernelBuilder, slots: &[Val]) -> Vec<[Val; 2]> {
        let words = self.load_pair_words(kb, slots);
        self.pair_values(kb, &mut |_| slots.to_vec(), &words)
    }

    /// Narrow16: the narrow-plane words of the slot pairs `(s, s + 1)` for each `s` of
    /// `slots` (even), one 4-byte load a pair: the first half of [`Buf::load_pairs`], issued
    /// early so that their latency overlaps other work.
    pub fn load_pair_words(&self, kb: &mut KernelBuilder, slots: &[Val]) -> Vec<Val> {
        assert_eq!(
            self.storage,
            Storage::Narrow16,
            "load_pair_words reads narrow16 buffers"
        );
        let words = self.words.unwrap();
        let two = kb.idx(2);
        slots
            .iter()
            .map(|&s| {
                let wi = kb.divu(s, two);
                kb.load(words, wi)
            })
            .collect()
    }

    /// Narrow16: the values of the slot pairs whose narrow-plane `words`
    /// [`Buf::load_pair_words`] loaded: each word's two i16, and one branch to the wide plane
    /// where any of them is a marker (`slots` gives the pairs' first slots, inside that
    /// branch).
    pub fn pair_values(
        &self,
        kb: &mut KernelBuilder,
        slots: &mut dyn FnMut(&mut KernelBuilder) -> Vec<Val>,
        loaded: &[Val],
    ) -> Vec<[Val; 2]> {
        let vals = Self::halves(kb, loaded);
        let any = Self::any_escape(kb, loaded, &vals);
        let out = kb.if_then_else(any, &vals, |kb| self.resolve_escapes(kb, slots, &vals));
        out.chunks(2).map(|c| [c[0], c[1]]).collect()
    }

    /// Narrow16: the two i16 of each narrow-plane word, sign-extended to i32 (low half first):
    /// the values themselves where none of them is a marker. Both halves are i32 shifts (the
    /// low one `(w << 16) >> 16`, not an i16 extended): LLVM folds an i16's extension to i64
    /// into the requantize's product, which then becomes a 64-bit multiply instead of one
    /// `mul.wide.s32` (5 SASS instructions a value instead of 1-2).
    pub fn halves(kb: &mut KernelBuilder, loaded: &[Val]) -> Vec<Val> {
        let k16 = kb.i32c(16);
        let mut vals = vec![];
        for &w in loaded {
            let lo = kb.shl(w, k16);
            let lo = kb.shrs(lo, k16);
            let hi = kb.shrs(w, k16);
            kb.fits_bits(lo, 16);
            kb.fits_bits(hi, 16);
            vals.extend([lo, hi]);
        }
        vals
    }

    /// Narrow16: the values [`Buf::halves`] gave, each marker replaced by the value of the
    /// wide plane (`slots`: the pairs' first slots, computed here, the rare branch that needs
    /// them).
    pub fn resolve_escapes(
        &self,
        kb: &mut KernelBuilder,
        slots: &mut dyn FnMut(&mut KernelBuilder) -> Vec<Val>,
        vals: &[Val],
    ) -> Vec<Val> {
        let words = self.words.unwrap();
        let wide = kb.idx(self.wide);
        let slots = slots(kb);
        let one = kb.idx(1);
        let mut out = vec![];
        for (j, &v) in vals.iter().enumerate() {
            let i = kb.add(wide, slots[j / 2]);
            let i = if j % 2 == 1 { kb.add(i, one) } else { i };
            // the wide plane holds only the escapes: read it only where this one is
            let e = Self::escaped(kb, v);
            out.push(kb.if_then_else(e, &[v], |kb| vec![kb.load(words, i)])[0]);
        }
        out
    }

    /// Narrow16: whether the i32 `v` (a value, or a narrow-plane i16 sign-extended) is not
    /// held in the narrow plane: outside [-32767, 32766], i.e. a marker as an i16.
    fn escaped(kb: &mut KernelBuilder, v: Val) -> Val {
        // v in [-32767, 32766] <=> (v + 32767) as u32 <= 65533
        let k = kb.i32c(-(ESCAPE_LO as i64) - 1);
        let biased = kb.add(v, k);
        let span = kb.i32c(ESCAPE_HI as i64 - ESCAPE_LO as i64 - 2);
        kb.cmp(Cmp::Ugt, biased, span)
    }

    /// Narrow16: whether any half of the narrow-plane `words` is a marker (`vals`: the same
    /// halves as i32, two a word). With halfword SIMD (sm_90a) one `max.s16x2` and one
    /// `min.s16x2` a word fold them into two words, each compared once: a marker is the
    /// greatest or least i16, so it shows as an extreme half of the fold.
    pub fn any_escape(kb: &mut KernelBuilder, words: &[Val], vals: &[Val]) -> Val {
        if !kb.simd16 {
            let mut any = kb.c(Scalar::I1, 0);
            for &v in vals {
                let e = Self::escaped(kb, v);
                any = kb.orb(any, e);
            }
            return kb.unlikely(any);
        }
        // the largest / least halves that are not markers, in both halves of a word
        let top = ((ESCAPE_HI - 1) as u16 as u32) * 0x1_0001;
        let bottom = ((ESCAPE_LO + 1) as u16 as u32) * 0x1_0001;
        let (top_k, bottom_k) = (kb.i32c(top as i32 as i64), kb.i32c(bottom as i32 as i64));
        let (mut hi, mut lo) = (top_k, bottom_k);
        for &w in words {
            hi = kb.minmax_s16x2(true, hi, w);
            lo = kb.minmax_s16x2(false, lo, w);
        }
        let above = kb.cmp(Cmp::Ne, hi, top_k);
        let below = kb.cmp(Cmp::Ne, lo, bottom_k);
        let any = kb.orb(above, below);
        kb.unlikely(any)
    }

    /// Narrow16: the i16 a value is stored as in the narrow plane (the value saturated to
    /// i16, a marker where it escapes) and whether it is an escape.
    fn narrow_of(kb: &mut KernelBuilder, v: Val) -> (Val, Val) {
        let (lo, hi) = (kb.i32c(ESCAPE_LO as i64), kb.i32c(ESCAPE_HI as i64));
        let n = kb.maxs(v, lo);
        let n = kb.mins(n, hi);
        (n, Self::escaped(kb, v))
    }

    /// Store the i32 `v` into slot `s` (any storage but 4-bit).
    pub fn store_slot(&self, kb: &mut KernelBuilder, v: Val, s: Val) {
        match self.storage {
            Storage::Packed4 => panic!("4-bit stores are whole words (store_slots)"),
            Storage::Byte => {
                let b = kb.trunc(v, Scalar::I8);
                kb.store(b, self.mem, s);
            }
            Storage::Word32 => kb.store(v, self.mem, s),
            Storage::Narrow16 => {
                let (n, escaped) = Self::narrow_of(kb, v);
                let h = kb.trunc(n, Scalar::I16);
                kb.store(h, self.halves.unwrap(), s);
                let (words, wide) = (self.words.unwrap(), kb.idx(self.wide));
                let escaped = kb.unlikely(escaped);
                kb.if_then(escaped, |kb| {
                    let i = kb.add(wide, s);
                    kb.store(v, words, i);
                });
            }
        }
    }

    /// Narrow16: the narrow-plane word of the values `v0`, `v1` of a slot pair: both saturated
    /// to i16 and packed, one `cvt.pack.sat.s16.s32` (an escape saturates to its marker).
    pub fn narrow_word(kb: &mut KernelBuilder, v0: Val, v1: Val) -> Val {
        kb.pack_sat16(v0, v1)
    }

    /// Narrow16: store the narrow-plane word `w` of the slot pair `(s, s + 1)` (`s` even).
    pub fn store_narrow_word(&self, kb: &mut KernelBuilder, w: Val, s: Val) {
        let two = kb.idx(2);
        let wi = kb.divu(s, two);
        kb.store(w, self.words.unwrap(), wi);
    }

    /// Narrow16: the wide-plane stores of a tile's slot pairs `(narrow word, in bounds, s, v0,
    /// v1)` behind one branch on whether any word holds a marker (taken for a few tiles an
    /// image; the bounds and which pair escaped are only looked at there).
    pub fn store_escapes(&self, kb: &mut KernelBuilder, pairs: &[(Val, Val, Val, Val, Val)]) {
        if pairs.is_empty() {
            return;
        }
        let words: Vec<Val> = pairs.iter().map(|p| p.0).collect();
        let vals: Vec<Val> = pairs.iter().flat_map(|p| [p.3, p.4]).collect();
        let any = Self::any_escape(kb, &words, &vals);
        let (words, wide) = (self.words.unwrap(), self.wide);
        kb.if_then(any, |kb| {
            let (wide, one) = (kb.idx(wide), kb.idx(1));
            for &(_, ok, s, v0, v1) in pairs {
                let e0 = Self::escaped(kb, v0);
                let e1 = Self::escaped(kb, v1);
                let e = kb.orb(e0, e1);
                let e = kb.andb(e, ok);
                kb.if_then(e, |kb| {
                    let i0 = kb.add(wide, s);
                    let i1 = kb.add(i0, one);
                    kb.store(v0, words, i0);
                    kb.store(v1, words, i1);
                });
            }
        });
    }

    /// The values of slots `[base, base + g)`, `base` a multiple of `min(g, 8)` (4-bit) or
    /// `min(g, 4)` (8-bit), even for narrow16: whole words are loaded once and split.
    pub fn load_chunk(&self, kb: &mut KernelBuilder, base: Val, g: i64) -> Vec<Val> {
        let signed = self.signed();
        match self.storage {
            Storage::Packed4 if g % 8 == 0 => {
                let k8 = kb.idx(8);
                let w0 = kb.divu(base, k8);
                let mut out = vec![];
                for k in 0..g / 8 {
                    let kk = kb.idx(k);
                    let wi = kb.add(w0, kk);
                    let word = kb.load(self.mem, wi);
                    for j in 0..8 {
                        out.push(kb.nibble(word, j, signed));
                    }
                }
                out
            }
            Storage::Packed4 if g == 4 => {
                // half a word: nibbles 0..3 or 4..7 of word base / 8
                let k8 = kb.idx(8);
                let wi = kb.divu(base, k8);
                let word = kb.load(self.mem, wi);
                let r = kb.remu(base, k8);
                let r32 = kb.index_cast(r, Scalar::I32);
                let four = kb.i32c(4);
                let sh = kb.mul(r32, four);
                let shifted = kb.shru(word, sh);
                (0..4).map(|j| kb.nibble(shifted, j, signed)).collect()
            }
            Storage::Byte if g % 4 == 0 && self.words.is_some() => {
                let k4 = kb.idx(4);
                let w0 = kb.divu(base, k4);
                let mut out = vec![];
                for k in 0..g / 4 {
                    let kk = kb.idx(k);
                    let wi = kb.add(w0, kk);
                    let word = kb.load(self.words.unwrap(), wi);
                    for j in 0..4 {
                        out.push(kb.byte(word, j, signed));
                    }
                }
                out
            }
            Storage::Narrow16 if g % 2 == 0 => {
                let slots: Vec<Val> = (0..g / 2)
                    .map(|k| {
                        let kk = kb.idx(2 * k);
                        kb.add(base, kk)
                    })
                    .collect();
                self.load_pairs(kb, &slots).concat()
            }
            _ => (0..g)
                .map(|j| {
                    let jj = kb.idx(j);
                    let s = kb.add(base, jj);
                    self.load_slot(kb, s)
                })
                .collect(),
        }
    }

    /// Store `vals` (i32, or f32 for f32 buffers, already in the element's range) into the
    /// consecutive slots `[base, base + vals.len())`. 4-bit: exactly 8 values, `base % 8 == 0`,
    /// one word store (`pack_nibbles`). 8-bit: one i32 word store per 4 values when aligned.
    /// Narrow16: an even count of values from an even `base` as narrow-plane words, the
    /// escapes behind one branch.
    pub fn store_slots(&self, kb: &mut KernelBuilder, base: Val, vals: &[Val]) {
        match self.storage {
            Storage::Packed4 => {
                assert_eq!(vals.len(), 8, "4-bit stores are whole words");
                let w = kb.pack_nibbles(vals);
                let k8 = kb.idx(8);
                let wi = kb.divu(base, k8);
                kb.store(w, self.mem, wi);
            }
            Storage::Byte if vals.len() % 4 == 0 && self.words.is_some() => {
                let k4 = kb.idx(4);
                let w0 = kb.divu(base, k4);
                let m = kb.i32c(255);
                for (k, q) in vals.chunks(4).enumerate() {
                    let mut w = kb.i32c(0);
                    for (j, v) in q.iter().enumerate() {
                        let x = if j == 3 { *v } else { kb.and(*v, m) };
                        let s = kb.i32c(8 * j as i64);
                        let x = kb.shl(x, s);
                        w = kb.or(w, x);
                    }
                    let kk = kb.idx(k as i64);
                    let wi = kb.add(w0, kk);
                    kb.store(w, self.words.unwrap(), wi);
                }
            }
            Storage::Byte => {
                for (j, v) in vals.iter().enumerate() {
                    let jj = kb.idx(j as i64);
                    let s = kb.add(base, jj);
                    let b = kb.trunc(*v, Scalar::I8);
                    kb.store(b, self.mem, s);
                }
            }
            Storage::Narrow16 if vals.len() % 2 == 0 => {
                let mut escapes = vec![];
                for (k, p) in vals.chunks(2).enumerate() {
                    let kk = kb.idx(2 * k as i64);
                    let s = kb.add(base, kk);
                    let w = Self::narrow_word(kb, p[0], p[1]);
                    self.store_narrow_word(kb, w, s);
                    let ok = kb.c(Scalar::I1, 1);
                    escapes.push((w, ok, s, p[0], p[1]));
                }
                self.store_escapes(kb, &escapes);
            }
            Storage::Word32 | Storage::Narrow16 => {
                for (j, v) in vals.iter().enumerate() {
                    let jj = kb.idx(j as i64);
                    let s = kb.add(base, jj);
                    self.store_slot(kb, *v, s);
                }
            }
        }
    }
}

/// Read input buffer `ab` (viewed as `buf`) at every item of `grp`, with the spatial position
/// `(h, w)` replaced by `at(item)` (pooling / conv windows; identity for elementwise ops).
/// Shared groups whose channels lie inside the input's stored row (`ab` channel-innermost with
/// `Cs_in >= Cs_out`) are read as one chunk; otherwise each item reads slot
/// `act_slot(n, cc, h', w')` on its own (cc: the clamped channel, never out of bounds).
pub fn read_group(
    kb: &mut KernelBuilder,
    buf: &Buf,
    ab: &ActBuffer,
    grp: &Group,
    out_cs: i64,
    at: &mut dyn FnMut(&mut KernelBuilder, &Item) -> (Val, Val),
) -> Vec<Val> {
    let g = grp.items.len() as i64;
    if grp.shared && channel_inner(ab.layout) && ab.stored_channels() >= out_cs {
        let it = grp.items[0];
        let (h, w) = at(kb, &it);
        let base = act_slot(kb, ab, it.n, it.c, h, w);
        return buf.load_chunk(kb, base, g);
    }
    let mut out = vec![];
    for it in &grp.items {
        let (h, w) = at(kb, it);
        let s = act_slot(kb, ab, it.n, it.cc, h, w);
        out.push(buf.load_slot(kb, s));
    }
    out
}

/// The inclusive value range of an integer element type, as stored (i16 values live in i32
/// words but keep the i16 range).
pub fn range(e: ElemType) -> (i64, i64) {
    e.range()
}

// ------------------------------------------------------------------ conv index math

/// Pixel (n, oh, ow) of GEMM row `m` of the tensor-core conv families: rows ordered
/// (oh, ow, n) for an HWNC input (the direct strategy), (n, oh, ow) otherwise.
pub fn pixel(kb: &mut KernelBuilder, s: &ConvSpec, m: Val) -> (Val, Val, Val) {
    let [n, _, oh, ow] = s.output.dims;
    let (kn, koh, kow) = (kb.idx(n), kb.idx(oh), kb.idx(ow));
    if s.input.layout == Layout::HWNC {
        let nn = kb.remu(m, kn);
        let p = kb.divu(m, kn);
        let x = kb.remu(p, kow);
        let y = kb.divu(p, kow);
        (nn, y, x)
    } else {
        let x = kb.remu(m, kow);
        let p = kb.divu(m, kow);
        let y = kb.remu(p, koh);
        let nn = kb.divu(p, koh);
        (nn, y, x)
    }
}

/// One GEMM axis (M rows or O channels) as a kernel's tiles walk it: its `extent`, and whether
/// the tiles cover it `exact`ly (the extent a multiple of the tile, and no tile starting past
/// it: every plan's grid is `ceil(extent / tile)` tiles along it). An exact axis needs no test
/// and no clamp: where ResNet's shapes make M and O multiples of the tile, the loaders' zeroing
/// selects and the stores' bound tests fold away.
#[derive(Clone, Copy)]
pub struct Axis {
    pub extent: i64,
    pub exact: bool,
}

impl Axis {
    /// The axis of `extent` walked in tiles of `tile` (exact where `tile` divides it).
    pub fn tiled(extent: i64, tile: i64) -> Self {
        Axis {
            extent,
            exact: tile > 0 && extent % tile == 0,
        }
    }

    /// The axis of `extent`, every index tested (tiles that may run past it or repeat).
    pub fn loose(extent: i64) -> Self {
        Self::tiled(extent, 0)
    }

    /// Whether index `i` of a tile is inside, and `i` clamped to the last index (an index past
    /// the end stays in bounds; its validity guards the store).
    pub fn inside(&self, kb: &mut KernelBuilder, i: Val) -> (Val, Val) {
        (
            below(kb, self.exact, i, self.extent),
            clamp_last(kb, self.exact, i, self.extent - 1),
        )
    }
}

/// Index `i` clamped to `last`, unless the tiles never pass it (`exact`).
pub fn clamp_last(kb: &mut KernelBuilder, exact: bool, i: Val, last: i64) -> Val {
    if exact {
        i
    } else {
        let l = kb.idx(last);
        kb.mins(i, l)
    }
}

/// Whether index `i` is below `lim` (always, where the tiles never pass it: `exact`).
pub fn below(kb: &mut KernelBuilder, exact: bool, i: Val, lim: i64) -> Val {
    if exact {
        kb.c(Scalar::I1, 1)
    } else {
        let l = kb.idx(lim);
        kb.cmp(Cmp::Ult, i, l)
    }
}

/// GEMM row `m` of a conv as a tile reads or stores it: `(m, m < M, n, oh, ow)`, the pixel
/// of `min(m, M - 1)` (a row past M stays in bounds, its validity guards the store).
pub fn gemm_row(
    kb: &mut KernelBuilder,
    s: &ConvSpec,
    m: Val,
    rows: &Axis,
) -> (Val, Val, Val, Val, Val) {
    let (ok, mc) = rows.inside(kb, m);
    let (n, y, x) = pixel(kb, s, mc);
    (m, ok, n, y, x)
}

/// The slot strides of pixel (n, h, w) of `b`: `act_slot(n, 0, h, w)` is
/// `n * s[0] + h * s[1] + w * s[2]` in every layout.
pub fn pixel_strides(b: &ActBuffer) -> [i64; 3] {
    let a = |n, h, w| act_slot(&mut Eval, b, n, 0, h, w);
    let a0 = a(0, 0, 0);
    [a(1, 0, 0) - a0, a(0, 1, 0) - a0, a(0, 0, 1) - a0]
}

/// The input corner of output pixel (n, oh, ow)'s window: `y0 = oh * sh - pad_top`,
/// `x0 = ow * sw - pad_left` (wrapping below zero) and `at` = `n * st[0] + y0 * st[1] + x0 *
/// st[2]` (the corner's address in the unit of `st`: slots or words; wrapping too). A tap's
/// address is `at + ky * st[1] + kx * st[2]` ([`Corner::tap`]): affine, so nothing but the
/// tap's offset is computed per tap.
#[derive(Clone, Copy)]
pub struct Corner {
    pub y0: Val,
    pub x0: Val,
    pub at: Val,
}

impl Corner {
    pub fn new(
        kb: &mut KernelBuilder,
        s: &ConvSpec,
        st: [i64; 3],
        (n, y, x): (Val, Val, Val),
    ) -> Self {
        let edge = |kb: &mut KernelBuilder, o: Val, stride: i64, pad: i64| {
            let ks = kb.idx(stride);
            let os = kb.mul(o, ks);
            let kp = kb.idx(pad);
            kb.sub(os, kp)
        };
        let y0 = edge(kb, y, s.strides[0], s.padding[0]);
        let x0 = edge(kb, x, s.strides[1], s.padding[1]);
        let kn = kb.idx(st[0]);
        let b = kb.mul(n, kn);
        let b = kb.madd(y0, st[1], b);
        let at = kb.madd(x0, st[2], b);
        Corner { y0, x0, at }
    }

    /// Tap (ky, kx): whether it is inside the input (an unsigned compare an axis: below zero
    /// wraps high; none along an axis whose taps all stay inside, [`taps_inside`]) and its
    /// address, `at + ky * st[1] + kx * st[2]` (unclamped: use it only where valid).
    pub fn tap(
        &self,
        kb: &mut KernelBuilder,
        s: &ConvSpec,
        st: [i64; 3],
        (ky, kx): (Val, Val),
    ) -> (Val, Val) {
        let [_, _, h, w] = s.input.dims;
        let inside = taps_inside(s);
        let axis = |kb: &mut KernelBuilder, i: Val, extent: i64, always: bool| {
            if always {
                kb.c(Scalar::I1, 1)
            } else {
                let e = kb.idx(extent);
                kb.cmp(Cmp::Ult, i, e)
            }
        };
        let ih = kb.add(self.y0, ky);
        let iw = kb.add(self.x0, kx);
        let vh = axis(kb, ih, h, inside[0]);
        let vw = axis(kb, iw, w, inside[1]);
        let ok = kb.andb(vh, vw);
        let d = kb.madd(ky, st[1], self.at);
        (ok, kb.madd(kx, st[2], d))
    }
}

/// Per axis (h, w): whether every tap of every output coordinate of conv `s` lands inside the
/// input (no leading padding, and the last window ends inside).
pub fn taps_inside(s: &ConvSpec) -> [bool; 2] {
    let inside = |i: usize| {
        let (out, k, stride, pad, extent) = (
            s.output.dims[2 + i],
            s.kernel[i],
            s.strides[i],
            s.padding[i],
            s.input.dims[2 + i],
        );
        pad == 0 && (out - 1) * stride + k - 1 < extent
    };
    [inside(0), inside(1)]
}

/// Window taps along one axis for output coordinate `o` (kernel offset `k`, the conv's or
/// pool's stride and leading padding, the input extent): `(valid, clamped input index)`.
pub fn tap(
    kb: &mut KernelBuilder,
    o: Val,
    k: Val,
    stride: i64,
    pad: i64,
    extent: i64,
) -> (Val, Val) {
    let s = kb.idx(stride);
    let os = kb.mul(o, s);
    let t = kb.add(os, k);
    let p = kb.idx(pad);
    let lim = kb.idx(extent + pad);
    let ge = kb.cmp(Cmp::Uge, t, p);
    let lt = kb.cmp(Cmp::Ult, t, lim);
    let ok = match (kb.known(ge), kb.known(lt)) {
        (Some(1), _) => lt,
        (_, Some(1)) => ge,
        _ => kb.andb(ge, lt),
    };
    let i = kb.sub(t, p);
    let zero = kb.idx(0);
    let ic = kb.select(ok, i, zero);
    (ok, ic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::semantics::KernelLayout;

    fn buffers() -> Vec<ActBuffer> {
        let mut v = vec![];
        for l in [Layout::NHWC, Layout::HWNC, Layout::NCHW] {
            for e in [
                ElemType::U4,
                ElemType::I4,
                ElemType::I8,
                ElemType::I32,
                ElemType::F32,
            ] {
                for dims in [[2, 3, 3, 5], [3, 12, 2, 2], [1, 16, 4, 3], [2, 1, 1, 1]] {
                    v.push(ActBuffer::new(l, e, dims));
                }
            }
        }
        for e in [ElemType::U4, ElemType::I8, ElemType::I16] {
            for dims in [[2, 10, 1, 1], [3, 8, 1, 1], [1, 1000, 1, 1]] {
                v.push(ActBuffer::new(Layout::NC, e, dims));
            }
        }
        v
    }

    #[test]
    fn act_slot_matches_buffer_slot() {
        for b in buffers() {
            let [n, _, h, w] = b.dims;
            let cs = b.stored_channels();
            for nn in 0..n {
                for c in 0..cs {
                    for y in 0..h {
                        for x in 0..w {
                            assert_eq!(
                                act_slot(&mut Eval, &b, nn, c, y, x) as usize,
                                b.slot(nn, c, y, x),
                                "{b:?} ({nn},{c},{y},{x})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn groups_cover_every_slot_once_and_agree_with_slot() {
        for b in buffers() {
            for gmax in [1, 8] {
                let plan = out_plan(&b, gmax);
                let slots = b.stored_len() as i64
                    * if b.storage() == Storage::Packed4 {
                        8
                    } else {
                        1
                    };
                assert_eq!(plan.threads * plan.g, slots, "{b:?}");
                if b.storage() == Storage::Packed4 {
                    assert_eq!(plan.g, 8);
                }
                let mut seen = vec![false; slots as usize];
                for t in 0..plan.threads {
                    let (base, items) = group_coords(&mut Eval, &b, plan, t);
                    assert_eq!(items.len() as i64, plan.g);
                    if b.storage() == Storage::Packed4 {
                        assert_eq!(base % 8, 0, "whole words");
                    }
                    for (j, it) in items.iter().enumerate() {
                        let s = base + j as i64;
                        assert_eq!(
                            b.slot(it.n, it.c, it.h, it.w) as i64,
                            s,
                            "{b:?} t={t} j={j}"
                        );
                        assert!(!seen[s as usize]);
                        seen[s as usize] = true;
                        if plan.inner {
                            assert_eq!(it.c, items[0].c + j as i64);
                            assert_eq!((it.n, it.h, it.w), (items[0].n, items[0].h, items[0].w));
                        }
                    }
                }
                assert!(seen.iter().all(|&x| x));
            }
        }
    }

    /// The packings of `pack.rs` are row-major `[O][KH][KW][Cs]`, `[KH][KW][O][Cs]`, `[O][Ks]`,
    /// `[O]`: enumerate them in that order and compare with the formula.
    #[test]
    fn weight_slot_is_the_row_major_packing_order() {
        for packing in [
            Packing::ConvOhwi,
            Packing::ConvHwoi,
            Packing::DenseOk,
            Packing::Bias,
        ] {
            for elem in [ElemType::I4, ElemType::I8, ElemType::U4] {
                let dims = match packing {
                    Packing::ConvOhwi | Packing::ConvHwoi => [5, 12, 3, 2],
                    Packing::DenseOk => [5, 13, 1, 1],
                    Packing::Bias => [5, 1, 1, 1],
                };
                let pw = PackedWeight {
                    name: "w".into(),
                    source: "w".into(),
                    packing: packing.clone(),
                    elem,
                    dims,
                    source_layout: KernelLayout::OIHW,
                    space_to_depth: None,
                    widened: false,
                    tiles: None,
                };
                let cs = weight_cs(&pw);
                let want_cs = match (packing.clone(), elem.bits()) {
                    (Packing::Bias, _) => 1,
                    (_, 4) => (dims[1] + 7) / 8 * 8,
                    _ => (dims[1] + 3) / 4 * 4,
                };
                assert_eq!(cs, want_cs);
                let [o, _, kh, kw] = dims;
                let mut next = 0;
                let mut check = |oo: i64, y: i64, x: i64, i: i64| {
                    assert_eq!(
                        weight_slot(&mut Eval, &pw, oo, i, y, x),
                        next,
                        "{packing:?} ({oo},{i},{y},{x})"
                    );
                    next += 1;
                };
                match packing {
                    Packing::ConvOhwi => (0..o).for_each(|oo| {
                        (0..kh).for_each(|y| {
                            (0..kw).for_each(|x| (0..cs).for_each(|i| check(oo, y, x, i)))
                        })
                    }),
                    Packing::ConvHwoi => (0..kh).for_each(|y| {
                        (0..kw).for_each(|x| {
                            (0..o).for_each(|oo| (0..cs).for_each(|i| check(oo, y, x, i)))
                        })
                    }),
                    Packing::DenseOk => {
                        (0..o).for_each(|oo| (0..cs).for_each(|i| check(oo, 0, 0, i)))
                    }
                    Packing::Bias => (0..o).for_each(|oo| check(oo, 0, 0, 0)),
                }
            }
        }
    }
}
