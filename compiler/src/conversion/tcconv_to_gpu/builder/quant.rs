//! Quantization helpers of the kernel builder: packed-nibble and byte extraction and packing,
//! INT4 widening, clamps, and the dyadic requantize rounding sequence in i64 (`round_shift`,
//! mirroring `nibble_qnn::semantics::round_shift`).

use super::*;

impl<'c> KernelBuilder<'c> {
    // ------------------------------------------------------------------ packed 4-bit and bytes

    /// Nibble `j` (bits [4j+3 : 4j]) of an i32 word, sign-extended when `signed`
    /// (`unpack_nibbles`: low nibble first).
    pub fn nibble(&mut self, word: Val, j: i64, signed: bool) -> Val {
        if signed {
            let l = self.i32c(28 - 4 * j);
            let r = self.i32c(28);
            let x = self.shl(word, l);
            self.shrs(x, r)
        } else {
            let s = self.i32c(4 * j);
            let m = self.i32c(15);
            let x = self.shru(word, s);
            if j == 7 {
                return x;
            }
            self.and(x, m)
        }
    }
    /// Nibble at a dynamic bit offset `sh` (i32, a multiple of 4).
    pub fn nibble_at(&mut self, word: Val, sh: Val, signed: bool) -> Val {
        if signed {
            let c28 = self.i32c(28);
            let l = self.sub(c28, sh);
            let x = self.shl(word, l);
            self.shrs(x, c28)
        } else {
            let m = self.i32c(15);
            let x = self.shru(word, sh);
            self.and(x, m)
        }
    }
    /// Byte `j` of an i32 word (little endian), sign-extended when `signed`.
    pub fn byte(&mut self, word: Val, j: i64, signed: bool) -> Val {
        if signed {
            let l = self.i32c(24 - 8 * j);
            let r = self.i32c(24);
            let x = self.shl(word, l);
            self.shrs(x, r)
        } else {
            let s = self.i32c(8 * j);
            let m = self.i32c(255);
            let x = self.shru(word, s);
            if j == 3 {
                return x;
            }
            self.and(x, m)
        }
    }
    /// Widen the four nibbles in bits [15:0] of `x` to four bytes (nibble j -> byte j), sign
    /// extending each when `signed`: the s4 -> s8 / u4 -> u8 widening of sm_90.
    /// `u = (x & 0xf) | (x & 0xf0) << 4 | (x & 0xf00) << 8 | (x & 0xf000) << 12`;
    /// signed: `u | (u & 0x08080808) * 30` (0x08 * 30 = 0xf0 sets the high nibble of the bytes
    /// whose value is >= 8, never carrying into the next byte).
    pub fn widen4(&mut self, x: Val, signed: bool) -> Val {
        let mut u = self.i32c(0);
        for j in 0..4 {
            let m = self.i32c(0xf << (4 * j));
            let part = self.and(x, m);
            let s = self.i32c(4 * j);
            let part = self.shl(part, s);
            u = self.or(u, part);
        }
        if !signed {
            return u;
        }
        let m = self.i32c(0x0808_0808);
        let k = self.i32c(30);
        let sign = self.and(u, m);
        let ext = self.mul(sign, k);
        self.or(u, ext)
    }

    /// Pack up to eight i32 values into one word, value `j` in bits [4j+3 : 4j]
    /// (`pack_nibbles`: only the low 4 bits of each value are kept).
    pub fn pack_nibbles(&mut self, vals: &[Val]) -> Val {
        let m = self.i32c(15);
        let mut w = self.i32c(0);
        for (j, v) in vals.iter().enumerate() {
            let x = if j == 7 { *v } else { self.and(*v, m) };
            let s = self.i32c(4 * j as i64);
            let x = self.shl(x, s);
            w = self.or(w, x);
        }
        w
    }

    // ------------------------------------------------------------------ clamps and requantize

    /// `clamp(v, lo, hi)` on a signed integer value (bounds outside the type are dropped).
    pub fn clamp(&mut self, v: Val, lo: i64, hi: i64) -> Val {
        let t = self.t(v);
        let (tmin, tmax) = match t.bits() {
            32 => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        };
        let mut v = v;
        if lo > tmin {
            let c = self.c(t, lo);
            v = self.maxs(v, c);
        }
        if hi < tmax {
            let c = self.c(t, hi);
            v = self.mins(v, c);
        }
        v
    }

    /// `clamp(v, lo, hi)` as i32 for `i32::MIN <= lo <= hi <= i32::MAX` (v: i32 or i64). An i64
    /// value is first saturated to i32 from its two words (the same clamp, and 32-bit
    /// compares where 64-bit ones take two instructions and two selects each).
    pub fn clamp_to_i32(&mut self, v: Val, lo: i64, hi: i64) -> Val {
        debug_assert!(i32::MIN as i64 <= lo && lo <= hi && hi <= i32::MAX as i64);
        let v = if let Some(x) = self.extended_from_i32(v) {
            x
        } else if self.t(v) == Scalar::I64 {
            let (vlo, vhi) = self.i64_words(v);
            // the high word is the low word's sign: hi + (lo >>> 31) == 0 (written so, LLVM
            // keeps the 32-bit compare instead of forming two 64-bit min / max)
            let k31 = self.i32c(31);
            let sign = self.shru(vlo, k31);
            let sum = self.add(vhi, sign);
            let z = self.i32c(0);
            let fits = self.cmp(Cmp::Eq, sum, z);
            // i32::MIN below, i32::MAX above
            let side = self.shrs(vhi, k31);
            let max = self.i32c(i32::MAX as i64);
            let sat = self.xor(side, max);
            self.select(fits, vlo, sat)
        } else {
            v
        };
        self.clamp(v, lo, hi)
    }

    /// `round(p / 2^c)` under `mode`, p and c i64 (0 <= c <= 62); mirrors
    /// `nibble_qnn::semantics::round_shift` step by step:
    /// ```text
    /// if c == 0 { p } else {
    ///   q = p >> c (arithmetic = floor); r = p - (q << c)  (0 <= r < 2^c); half = 2^(c-1)
    ///   half_to_even: q + (r > half || (r == half && q odd))
    ///   half_up:      q + (r >= half)
    ///   truncate:     q + (p < 0 && r != 0)
    /// }
    /// ```
    /// For a dynamic `c`, `half = (1 << c) >> 1` (0 when c == 0, no poison shift) and the
    /// `c == 0` case is selected at the end, unless the table is known to hold no 0.
    pub fn round_shift(&mut self, p: Val, c: Param, mode: Rounding) -> Val {
        let cv = match c {
            Param::Const(0) => return p,
            Param::Const(k) => self.i64c(k),
            Param::Table(v, _) => v,
        };
        let one = self.i64c(1);
        let q = self.shrs(p, cv);
        let qs = self.shl(q, cv);
        let r = self.sub(p, qs);
        let half = match c {
            Param::Const(k) => self.i64c(1i64 << (k - 1)),
            Param::Table(..) => {
                let pow = self.shl(one, cv);
                self.shrs(pow, one)
            }
        };
        let up = match mode {
            Rounding::HalfToEven => {
                let gt = self.cmp(Cmp::Sgt, r, half);
                let eq = self.cmp(Cmp::Eq, r, half);
                let odd64 = self.and(q, one);
                let z = self.i64c(0);
                let odd = self.cmp(Cmp::Ne, odd64, z);
                let tie = self.andb(eq, odd);
                self.orb(gt, tie)
            }
            Rounding::HalfUp => self.cmp(Cmp::Sge, r, half),
            // `dyadic` computes it in f32 and never gets here
            Rounding::F32HalfToEven | Rounding::F32Fma => {
                unreachable!("f32 rounding goes through dyadic_f32")
            }
            Rounding::Truncate => {
                let z = self.i64c(0);
                let neg = self.cmp(Cmp::Slt, p, z);
                let frac = self.cmp(Cmp::Ne, r, z);
                self.andb(neg, frac)
            }
        };
        let inc = self.zext(up, Scalar::I64);
        let y = self.add(q, inc);
        self.unless_shift_zero(p, c, y)
    }

    /// `y`, or `p` itself where a shift table that may hold 0 has it (`round(p / 2^0) = p`; the
    /// sequences computing `y` assume a shift >= 1).
    fn unless_shift_zero(&mut self, p: Val, c: Param, y: Val) -> Val {
        match c {
            Param::Table(v, TableRange::Any) => {
                let z = self.i64c(0);
                let is0 = self.cmp(Cmp::Eq, v, z);
                self.select(is0, p, y)
            }
            _ => y,
        }
    }

    /// Half-to-even's last step: on a tie the rounded-up quotient `q` loses its lowest bit.
    fn even_on_tie(&mut self, tie: Val, q: Val) -> Val {
        let t = self.t(q);
        let not1 = self.c(t, -2);
        let even = self.and(q, not1);
        self.select(tie, even, q)
    }

    /// [`even_on_tie`](Self::even_on_tie) where the tie is `low == 0`.
    fn even_on_zero(&mut self, low: Val, q: Val) -> Val {
        let t = self.t(low);
        let z = self.c(t, 0);
        let tie = self.cmp(Cmp::Eq, low, z);
        self.even_on_tie(tie, q)
    }

    /// The low and high i32 words of an i64.
    fn i64_words(&mut self, v: Val) -> (Val, Val) {
        let lo = self.trunc(v, Scalar::I32);
        let k32 = self.i64c(32);
        let hi = self.shrs(v, k32);
        (lo, self.trunc(hi, Scalar::I32))
    }

    /// `round(p / 2^c)` for `|p| <= 2^62` (a product of two i32 values: `p + 2^(c-1)` cannot
    /// overflow), as one biased shift (mirrored by `biased_round_shift` in the tests, which
    /// checks it against `semantics::round_shift`):
    /// ```text
    /// half_up:      (p + half) >> c
    /// half_to_even: t = p + half; q = t >> c; a tie (t's low c bits all 0) -> q & !1, else q
    /// ```
    /// 7 operations for half-to-even against 13 of [`round_shift`](Self::round_shift); the
    /// residual convs of ResNet-50 spend most of their time in this rounding. Truncation and a
    /// shift that may be 0 take the general sequence (or its final select).
    pub fn round_shift_product(&mut self, p: Val, c: Param, mode: Rounding) -> Val {
        if !matches!(mode, Rounding::HalfToEven | Rounding::HalfUp) {
            return self.round_shift(p, c, mode);
        }
        let (cv, half, mask) = match c {
            Param::Const(0) => return p,
            Param::Const(k) => (
                self.i64c(k),
                self.i64c(1i64 << (k - 1)),
                self.i64c((1i64 << k) - 1),
            ),
            Param::Table(v, _) => {
                let one = self.i64c(1);
                let pow = self.shl(one, v);
                (v, self.shrs(pow, one), self.sub(pow, one))
            }
        };
        let t = self.add(p, half);
        let q = self.shrs(t, cv);
        let y = match mode {
            Rounding::HalfToEven => {
                let low = self.and(t, mask);
                self.even_on_zero(low, q)
            }
            _ => q,
        };
        self.unless_shift_zero(p, c, y)
    }

    /// [`round_shift_product`](Self::round_shift_product) for a shift `c` known to lie in
    /// [33, 62] (a constant, or an i32 table of range [`TableRange::High`]): no 64-bit shift
    /// (several instructions each, and a 64-bit tie test); with `p = hi * 2^32 + lo`
    /// (`|hi| <= 2^30`), `t = p + 2^(c-1)` is `(hi + 2^(c-33)) * 2^32 + lo` without a carry, so
    /// the rounding is 32-bit work on the high word (mirrored by `high_word_round_shift` in the
    /// tests):
    /// ```text
    /// th = hi + 2^(c-33); q = th >> (c - 32)
    /// half_to_even: a tie (lo == 0 and th's low c - 32 bits all 0) -> q & !1, else q
    /// ```
    fn round_shift_high(&mut self, p: Val, c: Param, mode: Rounding) -> Val {
        let (lo, hi) = self.i64_words(p);
        let one = self.i32c(1);
        let (d, bias) = match c {
            Param::Const(k) => (self.i32c(k - 32), self.i32c(1 << (k - 33))),
            Param::Table(v, _) => {
                let (c32, c33) = (self.i32c(32), self.i32c(33));
                let d = self.sub(v, c32);
                let e = self.sub(v, c33);
                (d, self.shl(one, e))
            }
        };
        let th = self.add(hi, bias);
        let q = self.shrs(th, d);
        let y = match mode {
            Rounding::HalfToEven => {
                let mask = match c {
                    Param::Const(k) => self.i32c((1 << (k - 32)) - 1),
                    Param::Table(..) => {
                        let pow = self.shl(one, d);
                        self.sub(pow, one)
                    }
                };
                let z = self.i32c(0);
                let lo0 = self.cmp(Cmp::Eq, lo, z);
                let low = self.and(th, mask);
                let hi0 = self.cmp(Cmp::Eq, low, z);
                let tie = self.andb(lo0, hi0);
                self.even_on_tie(tie, q)
            }
            _ => q,
        };
        self.sext(y, Scalar::I64)
    }

    /// [`round_shift_product`](Self::round_shift_product) for a shift `c` known to lie in
    /// [1, 31] (a constant, or an i32 table of range [`TableRange::Low`]): the quotient's two
    /// words from 32-bit shifts (a funnel shift for the low word) and the tie test on the low
    /// word alone, where a 64-bit shift by a table value and a 64-bit tie test take several
    /// instructions each (mirrored by `low_word_round_shift` in the tests):
    /// ```text
    /// t = p + 2^(c-1) (i64); lo, hi = t's words
    /// q = (hi >> c) * 2^32 + funnel_shift_right(hi:lo, c)
    /// half_to_even: a tie (lo's low c bits all 0) -> q & !1, else q
    /// ```
    fn round_shift_low(&mut self, p: Val, c: Param, mode: Rounding) -> Val {
        let one = self.i32c(1);
        let (cv, half, mask) = match c {
            Param::Const(k) => (
                self.i32c(k),
                self.i64c(1i64 << (k - 1)),
                self.i32c(((1i64 << k) - 1) as i32 as i64),
            ),
            Param::Table(v, _) => {
                let pow = self.shl(one, v); // 2^31 wraps to i32::MIN: its half and mask hold
                let half = self.shru(pow, one);
                let half = self.zext(half, Scalar::I64);
                (v, half, self.sub(pow, one))
            }
        };
        let t = self.add(p, half);
        let (lo, hi) = self.i64_words(t);
        let i32t = self.ty(Scalar::I32);
        let qlo = self.op1("llvm.intr.fshr", &[hi, lo, cv], i32t);
        let qhi = self.shrs(hi, cv);
        let qlo = match mode {
            Rounding::HalfToEven => {
                let low = self.and(lo, mask);
                self.even_on_zero(low, qlo)
            }
            _ => qlo,
        };
        let k32 = self.i64c(32);
        let qhi = self.sext(qhi, Scalar::I64);
        let qhi = self.shl(qhi, k32);
        let qlo = self.zext(qlo, Scalar::I64);
        self.or(qhi, qlo)
    }

    /// `Dyadic::apply`: `round(x * b / 2^c)` with the product in i64 (x: i32 or i64 value; an
    /// i32 `x` times the i32 multiplier takes [`round_shift_product`](Self::round_shift_product),
    /// or [`round_shift_high`](Self::round_shift_high) for a table of shifts in [33, 62]).
    pub fn dyadic(&mut self, x: Val, b: Param, c: Param, mode: Rounding) -> Val {
        if mode.is_f32() {
            return self.dyadic_f32(x, b, c);
        }
        // tables hold i32 multipliers
        let bounded = self.t(x) == Scalar::I32
            && match b {
                Param::Const(k) => i32::try_from(k).is_ok(),
                Param::Table(..) => true,
            };
        let p = match b {
            // LLVM selects `mul.wide.s32` only where it sees both extensions in the product's
            // block; a table's value is extended where it is loaded, often in another block (a
            // staged kernel's epilogue, a shortcut GEMM's residual term: a 64-bit multiply,
            // three SASS instructions more a value)
            Param::Table(v, _) if self.t(x) == Scalar::I32 && self.t(v) == Scalar::I32 => {
                self.mul_wide_s32(x, v)
            }
            _ => {
                let x = self.sext(x, Scalar::I64);
                let b = match b {
                    Param::Const(k) => self.i64c(k),
                    Param::Table(v, _) => self.sext(v, Scalar::I64),
                };
                self.mul(x, b)
            }
        };
        // half-to-even differs from half-up only on a tie, which no i32 value can make with
        // some constant scales (the u4 requantize after a residual add: no tie test), nor a
        // value known narrower with more (an i16 residual)
        let bits = self.signed_bits(x);
        let mode = match (mode, b, c) {
            (Rounding::HalfToEven, Param::Const(bv), Param::Const(cv))
                if bounded && no_tie_for_bits(bv, cv, bits) =>
            {
                Rounding::HalfUp
            }
            _ => mode,
        };
        // a product of two i32 values rounds on one of its words where the shift's range is
        // known to keep the work there
        if bounded && matches!(mode, Rounding::HalfToEven | Rounding::HalfUp) {
            match c {
                Param::Table(_, TableRange::High) => return self.round_shift_high(p, c, mode),
                Param::Const(k) if (33..=62).contains(&k) => {
                    return self.round_shift_high(p, c, mode)
                }
                Param::Table(_, TableRange::Low) => return self.round_shift_low(p, c, mode),
                Param::Const(k) if (1..=31).contains(&k) => {
                    return self.round_shift_low(p, c, mode)
                }
                _ => {}
            }
        }
        let c = match c {
            Param::Table(v, r) => Param::Table(self.sext(v, Scalar::I64), r),
            k => k,
        };
        if bounded {
            self.round_shift_product(p, c, mode)
        } else {
            self.round_shift(p, c, mode)
        }
    }

    /// `a + b` in i64 saturated to [i64::MIN, i64::MAX]: the exact i128 sum of `qnn.add`
    /// followed by any clamp inside i64 gives the same result.
    pub fn add_sat64(&mut self, a: Val, b: Val) -> Val {
        let s = self.add(a, b);
        let z = self.i64c(0);
        // overflow iff a and b have the same sign and s has the other one
        let sa = self.cmp(Cmp::Slt, a, z);
        let sb = self.cmp(Cmp::Slt, b, z);
        let ss = self.cmp(Cmp::Slt, s, z);
        let same = self.cmp(Cmp::Eq, sa, sb);
        let flip = self.cmp(Cmp::Ne, sa, ss);
        let ovf = self.andb(same, flip);
        let min = self.i64c(i64::MIN);
        let max = self.i64c(i64::MAX);
        let sat = self.select(sa, min, max);
        self.select(ovf, sat, s)
    }

    /// `Dyadic::apply` under `f32_half_to_even`: `round_half_even(f32(f32(x) * s))` with
    /// `s = b / 2^c` (exact in f32: `b < 2^24`), limited to +-2^62, as i64. `cvt.rn.f32.s64`,
    /// `mul.rn.f32`, then [`round_half_even_f32`](Self::round_half_even_f32).
    pub fn dyadic_f32(&mut self, x: Val, b: Param, c: Param) -> Val {
        let x = self.sext(x, Scalar::I64);
        let f = self.sitofp(x);
        let s = self.f32_scale(b, c);
        let p = self.mulf(f, s);
        self.round_f32_to_i64(p)
    }

    /// `semantics::add_f32_fma`: `round_half_even(fma(f32(a), sa, fma(f32(b), sb, bias)))`
    /// limited to +-2^62, as i64 (`fma.rn.f32`).
    pub fn add_f32_fma(
        &mut self,
        a: Val,
        b: Val,
        sa: (Param, Param),
        sb: (Param, Param),
        bias: f32,
    ) -> Val {
        let a = self.sext(a, Scalar::I64);
        let b = self.sext(b, Scalar::I64);
        let (fa, fb) = (self.sitofp(a), self.sitofp(b));
        let (ra, rb) = (self.f32_scale(sa.0, sa.1), self.f32_scale(sb.0, sb.1));
        let bias = self.f32c(bias);
        let inner = self.fma(fb, rb, bias);
        let y = self.fma(fa, ra, inner);
        self.round_f32_to_i64(y)
    }

    /// `semantics::requantize_f32_fma`: `round_half_even(fma(f32(x), s, offset))` limited to
    /// +-2^62, as i64 (`fma.rn.f32`; `offset` an f32 value).
    pub fn requantize_f32_fma(&mut self, x: Val, s: (Param, Param), offset: Val) -> Val {
        let x = self.sext(x, Scalar::I64);
        let f = self.sitofp(x);
        let r = self.f32_scale(s.0, s.1);
        let y = self.fma(f, r, offset);
        self.round_f32_to_i64(y)
    }

    /// `round_half_even(v)` limited to +-2^62, as i64.
    fn round_f32_to_i64(&mut self, v: Val) -> Val {
        let r = self.round_half_even_f32(v);
        let lim = nibble_qnn::semantics::F32_RESULT_LIMIT;
        let (lo, hi) = (self.f32c(-lim), self.f32c(lim));
        let below = self.cmpf(CmpF::Olt, r, lo);
        let r = self.select(below, lo, r);
        let above = self.cmpf(CmpF::Olt, hi, r);
        let r = self.select(above, hi, r);
        self.fptosi(r, Scalar::I64)
    }

    /// The f32 `b / 2^c` (exact: `b < 2^24`, `0 <= c <= 62`): a constant, or built from i32
    /// table values as `f32(b) * 2^-c` with `2^-c` the f32 of exponent field `127 - c`.
    fn f32_scale(&mut self, b: Param, c: Param) -> Val {
        match (b, c) {
            (Param::Const(b), Param::Const(c)) => self.f32c((b as f64 / (c as f64).exp2()) as f32),
            _ => {
                let bv = match b {
                    Param::Const(k) => self.f32c(k as f32),
                    Param::Table(v, _) => self.sitofp(v),
                };
                // 2^-c as the f32 with exponent field 127 - c (c in [0, 62])
                let cv = match c {
                    Param::Const(k) => self.i32c(k),
                    Param::Table(v, _) => v,
                };
                let e = self.i32c(127);
                let e = self.sub(e, cv);
                let k23 = self.i32c(23);
                let bits = self.shl(e, k23);
                let pow = self.bitcast_f32(bits);
                self.mulf(bv, pow)
            }
        }
    }

    /// Two i32 values saturated to 4 bits and packed as one byte, `lo` the low nibble:
    /// `cvt.pack.sat.{u4,s4}.s32.b32` (sm_72+), one instruction for the two clamps, masks,
    /// the shift and the or.
    pub fn pack_sat4(&mut self, lo: Val, hi: Val, signed: bool) -> Val {
        let t = if signed { "s4" } else { "u4" };
        let zero = self.i32c(0);
        self.asm_i32(
            &format!("cvt.pack.sat.{t}.s32.b32 $0, $1, $2, $3;"),
            &[hi, lo, zero],
        )
    }

    /// Two i32 values saturated to i16 and packed as one word, `lo` the low half:
    /// `cvt.pack.sat.s16.s32` (sm_72+), one instruction for both clamps and the packing.
    pub fn pack_sat16(&mut self, lo: Val, hi: Val) -> Val {
        self.asm_i32("cvt.pack.sat.s16.s32 $0, $1, $2;", &[hi, lo])
    }

    /// The halfword-wise maximum (`max`) or minimum of two words of two i16 each:
    /// `max.s16x2` / `min.s16x2`, one instruction on sm_90+.
    pub fn minmax_s16x2(&mut self, max: bool, a: Val, b: Val) -> Val {
        let op = if max { "max" } else { "min" };
        self.asm_i32(&format!("{op}.s16x2 $0, $1, $2;"), &[a, b])
    }

    /// The exact i64 product of two i32 values: `mul.wide.s32`, one instruction.
    pub fn mul_wide_s32(&mut self, a: Val, b: Val) -> Val {
        let i64t = self.ty(Scalar::I64);
        self.inline_asm(
            "mul.wide.s32 $0, $1, $2;",
            "=l,r,r",
            &[a, b],
            &[i64t],
            false,
        )[0]
    }

    /// One PTX instruction of i32 register operands and one i32 result.
    fn asm_i32(&mut self, asm: &str, operands: &[Val]) -> Val {
        let i32t = self.ty(Scalar::I32);
        let constraints = std::iter::once("=r")
            .chain(operands.iter().map(|_| "r"))
            .collect::<Vec<_>>()
            .join(",");
        self.inline_asm(asm, &constraints, operands, &[i32t], false)[0]
    }

    /// Round an f32 to the nearest integer, ties to even, staying f32: `cvt.rni.f32.f32`, one
    /// instruction (inline PTX: convert-gpu-to-nvvm takes `llvm.roundeven` for a libdevice
    /// call). NaN stays NaN.
    pub fn round_half_even_f32(&mut self, v: Val) -> Val {
        let f32t = self.ty(Scalar::F32);
        self.inline_asm("cvt.rni.f32.f32 $0, $1;", "=f,f", &[v], &[f32t], false)[0]
    }
}

/// Whether `x * b / 2^c` is never exactly halfway between two integers for any `x` of `bits`
/// signed bits (then half-to-even and half-up round it alike). `x * b` is a tie iff its
/// trailing zeros number `c - 1` exactly; such an `x != 0` has at most `bits - 1`, so ties need
/// `0 <= c - 1 - tz(b) <= bits - 1` (`tz(b) >= c`: the quotient is exact; `b == 0` or `x == 0`:
/// the product is 0).
pub fn no_tie_for_bits(b: i64, c: i64, bits: u32) -> bool {
    if b == 0 || c <= 0 {
        return true;
    }
    let k = c - 1 - b.trailing_zeros() as i64;
    !(0..bits as i64).contains(&k)
}

#[cfg(test)]
mod tests {
    use super::no_tie_for_bits;
    use nibble_qnn::semantics::{round_shift, Rounding};

    /// A xorshift64 stream from `seed`: the tests' random values.
    fn xorshift(mut rng: u64) -> impl FnMut() -> u64 {
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        }
    }

    /// `KernelBuilder::round_shift_product` step by step, on i64.
    fn biased_round_shift(p: i64, c: i32, mode: Rounding) -> i64 {
        let pow = 1i64 << c;
        let (half, mask) = (pow >> 1, pow - 1);
        let t = p + half;
        let q = t >> c;
        let y = match mode {
            Rounding::HalfToEven if t & mask == 0 => q & -2,
            _ => q,
        };
        if c == 0 {
            p
        } else {
            y
        }
    }

    /// `KernelBuilder::round_shift_high` step by step, on i32 words (33 <= c <= 62).
    fn high_word_round_shift(p: i64, c: i32, mode: Rounding) -> i64 {
        let lo = p as i32;
        let hi = (p >> 32) as i32;
        let th = hi + (1i32 << (c - 33));
        let q = th >> (c - 32);
        let tie = lo == 0 && th & ((1i32 << (c - 32)) - 1) == 0;
        (match mode {
            Rounding::HalfToEven if tie => q & -2,
            _ => q,
        }) as i64
    }

    /// `KernelBuilder::round_shift_low` step by step, on i32 words (1 <= c <= 31).
    fn low_word_round_shift(p: i64, c: i32, mode: Rounding) -> i64 {
        let pow = 1i32.wrapping_shl(c as u32);
        let half = ((pow as u32) >> 1) as i64;
        let mask = pow.wrapping_sub(1);
        let t = p + half;
        let (lo, hi) = (t as u32, (t >> 32) as i32);
        // PTX shf.r.wrap.b32: the low word of hi:lo >> (c mod 32)
        let qlo = ((((hi as u32 as u64) << 32) | lo as u64) >> (c & 31)) as u32;
        let qhi = hi >> c;
        let qlo = match mode {
            Rounding::HalfToEven if (lo as i32) & mask == 0 => qlo & !1,
            _ => qlo,
        };
        ((qhi as i64) << 32) | qlo as i64
    }

    /// `KernelBuilder::clamp_to_i32`'s saturation of an i64 step by step, on i32 words.
    fn saturate_words(v: i64) -> i32 {
        let (lo, hi) = (v as i32, (v >> 32) as i32);
        let fits = hi.wrapping_add(((lo as u32) >> 31) as i32) == 0;
        if fits {
            lo
        } else {
            (hi >> 31) ^ i32::MAX
        }
    }

    #[test]
    fn an_i64_saturates_to_i32_through_its_words() {
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -(1 << 32),
            -(1 << 31) - 1,
            -(1 << 31),
            -1,
            0,
            1,
        ];
        let edges = edges
            .into_iter()
            .chain([(1 << 31) - 1, 1 << 31, 1 << 32, i64::MAX]);
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        // every magnitude: shifted right by 0..63
        let randoms = (0..100_000).map(|i| (next() as i64) >> (i % 64));
        for v in edges.chain(randoms) {
            let want = v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            assert_eq!(saturate_words(v), want, "v = {v}");
        }
    }

    #[test]
    fn the_kernel_roundings_of_i32_products_match_the_semantics() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let edges = [i32::MIN, i32::MIN + 1, -3, -2, -1, 0, 1, 2, 3, i32::MAX];
        for mode in [Rounding::HalfToEven, Rounding::HalfUp] {
            for c in 0..=62 {
                let check = |p: i64| {
                    let want = round_shift(p, c, mode);
                    assert_eq!(
                        biased_round_shift(p, c, mode),
                        want,
                        "p = {p}, c = {c}, {mode:?}"
                    );
                    if c >= 33 {
                        let got = high_word_round_shift(p, c, mode);
                        assert_eq!(got, want, "high word: p = {p}, c = {c}, {mode:?}");
                    }
                    if (1..=31).contains(&c) {
                        let got = low_word_round_shift(p, c, mode);
                        assert_eq!(got, want, "low word: p = {p}, c = {c}, {mode:?}");
                    }
                };
                for &x in &edges {
                    for &b in &edges {
                        check(x as i64 * b as i64);
                    }
                }
                for _ in 0..2000 {
                    let (x, b) = (next() as i32, next() as i32);
                    check(x as i64 * b as i64);
                    // exact ties and their neighbours, odd and even quotients
                    if c > 0 {
                        // |tie| < 2^62
                        let q = next().checked_shr(c as u32 + 3).unwrap_or(0) as i64;
                        let tie = (q << c) + (1i64 << (c - 1));
                        for p in [tie - 1, tie, tie + 1, -tie - 1, -tie, -tie + 1] {
                            check(p);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn scales_without_ties_round_alike_either_way() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        // i32 and i16 inputs (a narrow16 residual read as i16)
        for bits in [32u32, 16] {
            let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
            // values of every trailing-zero count, both signs, and the edges
            let mut xs: Vec<i64> = vec![0, 1, -1, lo, hi, lo + 1];
            for k in 0..bits as i64 - 1 {
                let odd = (next() as i64 | 1) & hi;
                for x in [odd << k, -(odd << k), 1 << k, -(1 << k)] {
                    xs.push(x.clamp(lo, hi));
                }
            }
            let (mut tie_free, mut with_ties) = (0, 0);
            for _ in 0..3000 {
                // multipliers with up to 31 trailing zeros, shifts over the whole range
                let b = (((next() as i32 | 1) as i64) << (next() % 32)) as i32 as i64;
                let c = (next() % 63) as i64;
                let no_tie = no_tie_for_bits(b, c, bits);
                let mut tied = false;
                for &x in &xs {
                    let even = round_shift(x * b, c as i32, Rounding::HalfToEven);
                    let up = round_shift(x * b, c as i32, Rounding::HalfUp);
                    tied |= even != up;
                    if no_tie {
                        assert_eq!(even, up, "{bits} bits: x = {x}, b = {b}, c = {c}");
                    }
                }
                // the rule is exact both ways: a scale it does not clear has an input that ties
                if !no_tie {
                    let k = c - 1 - b.trailing_zeros() as i64;
                    let x = if k == bits as i64 - 1 { lo } else { 1i64 << k };
                    let p = x * b;
                    assert_eq!(p & ((1i64 << c) - 1), 1i64 << (c - 1), "b = {b}, c = {c}");
                }
                if no_tie {
                    tie_free += 1;
                } else if tied {
                    with_ties += 1;
                }
            }
            assert!(
                tie_free > 100 && with_ties > 100,
                "{bits} bits: {tie_free} / {with_ties}"
            );
        }
        // HAWQ's residual branch (b odd, c = 31): no i16 ties, an i32 (2^30) does
        assert!(no_tie_for_bits(1_073_741_823, 31, 16) && !no_tie_for_bits(1_073_741_823, 31, 32));
        // HAWQ's u4 requantize after a residual add: no tie; a shift of 2^-1: x = 1 ties
        assert!(no_tie_for_bits(1_297_154_756, 41, 32));
        assert!(!no_tie_for_bits(1, 1, 32));
        assert!(no_tie_for_bits(4, 2, 32));
    }
}
