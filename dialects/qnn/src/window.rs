//! Window geometry and integer dot kernels shared by the CPU reference (`reference.rs`) and
//! tcconv's interpreter over packed buffers: one definition of how a conv or pooling window
//! meets its input, and of the exact dot products both evaluate.

use crate::semantics::MAX_GEOM;
use rayon::prelude::*;

/// Output extent of one spatial axis, `(in + p0 + p1 - k) / s + 1`, with the window checked
/// (stride and padding in `[1, MAX_GEOM]` / `[0, MAX_GEOM]`, kernel within the padded input).
pub fn out_extent(
    axis: &str,
    input: usize,
    k: usize,
    s: i64,
    p0: i64,
    p1: i64,
) -> Result<usize, String> {
    if !(1..=MAX_GEOM).contains(&s) {
        return Err(format!("{axis} stride {s} must be in [1, {MAX_GEOM}]"));
    }
    if !(0..=MAX_GEOM).contains(&p0) || !(0..=MAX_GEOM).contains(&p1) {
        return Err(format!(
            "{axis} padding ({p0}, {p1}) must be in [0, {MAX_GEOM}]"
        ));
    }
    if k == 0 {
        return Err(format!("{axis} kernel size is 0"));
    }
    let padded = input as i64 + p0 + p1;
    if padded < k as i64 {
        return Err(format!(
            "{axis} kernel {k} is larger than the padded input {padded}"
        ));
    }
    Ok(((padded - k as i64) / s + 1) as usize)
}

/// Window of output position `o` along one axis: first input index (may be negative) and the
/// in-bounds kernel taps `[lo, hi)`.
#[inline(always)]
pub fn taps(o: usize, s: usize, pad: usize, k: usize, input: usize) -> (isize, usize, usize) {
    let start = (o * s) as isize - pad as isize;
    let lo = (-start).max(0) as usize;
    let hi = (input as isize - start).clamp(0, k as isize) as usize;
    (start, lo.min(hi), hi)
}

/// A conv's or pool's window over an `h` x `w` input: kernel `kh` x `kw`, strides, top / left
/// padding (the reference's and tcconv's interpreter's conv geometry both hold one).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: usize,
    pub pl: usize,
}

impl Window {
    /// The window of a conv or pool with kernel `[kh, kw]`, `strides` and `padding` (top, left,
    /// bottom, right) over an `h` x `w` input, all checked by [`out_extent`] before.
    pub fn new(
        h: usize,
        w: usize,
        [kh, kw]: [usize; 2],
        strides: [i64; 2],
        padding: [i64; 4],
    ) -> Self {
        Window {
            h,
            w,
            kh,
            kw,
            sh: strides[0] as usize,
            sw: strides[1] as usize,
            pt: padding[0] as usize,
            pl: padding[1] as usize,
        }
    }
    /// [`taps`] of output row `y`: first input row and the in-bounds kernel rows.
    #[inline(always)]
    pub fn rows(&self, y: usize) -> (isize, usize, usize) {
        taps(y, self.sh, self.pt, self.kh, self.h)
    }
    /// [`taps`] of output column `x`: first input column and the in-bounds kernel columns.
    #[inline(always)]
    pub fn cols(&self, x: usize) -> (isize, usize, usize) {
        taps(x, self.sw, self.pl, self.kw, self.w)
    }
    /// `f` folded over the in-bounds taps at output (`y`, `x`), row by row (the order every
    /// pool reduces in), as `f(acc, iy, ix)`.
    pub fn fold_taps<T>(
        &self,
        y: usize,
        x: usize,
        init: T,
        mut f: impl FnMut(T, usize, usize) -> T,
    ) -> T {
        let (iy0, ky_lo, ky_hi) = self.rows(y);
        let (ix0, kx_lo, kx_hi) = self.cols(x);
        let mut acc = init;
        for ky in ky_lo..ky_hi {
            let iy = (iy0 + ky as isize) as usize;
            for kx in kx_lo..kx_hi {
                acc = f(acc, iy, (ix0 + kx as isize) as usize);
            }
        }
        acc
    }

    /// What max and average pooling reduce at output (`y`, `x`): the largest value (None when
    /// every tap lies in the padding) and the sum of the in-bounds taps, `read(iy, ix)` giving
    /// the input value (padded taps count as nothing).
    pub fn pool(
        &self,
        y: usize,
        x: usize,
        read: impl Fn(usize, usize) -> i64,
    ) -> (Option<i64>, i64) {
        self.fold_taps(
            y,
            x,
            (None, 0i64),
            |(best, sum): (Option<i64>, i64), iy, ix| {
                let v = read(iy, ix);
                (Some(best.map_or(v, |b| b.max(v))), sum + v)
            },
        )
    }

    /// The f32 sum of the in-bounds taps at output (`y`, `x`), row by row from 0 (the order of
    /// `qnn.avg_pool2d_f32`), and how many there are; `read(iy, ix)` the tap's f32 value.
    pub fn pool_f32(&self, y: usize, x: usize, read: impl Fn(usize, usize) -> f32) -> (f32, i64) {
        self.fold_taps(y, x, (0f32, 0i64), |(sum, taps), iy, ix| {
            (sum + read(iy, ix), taps + 1)
        })
    }
}

/// Where a grouped conv reads: its [`Window`] and the slot strides of logical (n, c, h, w) of
/// the input and (o, i, kh, kw) of the weight.
#[derive(Clone, Copy)]
pub struct GroupedWindow {
    pub win: Window,
    pub xs: [usize; 4],
    pub ws: [usize; 4],
    /// Input channels a group reads, output channels a group writes.
    pub cg: usize,
    pub og: usize,
}

impl GroupedWindow {
    /// One output of a grouped conv, exactly: output channel `oo` sums the `cg` input channels
    /// of its group `oo / og` at every tap of output position (`nn`, `y`, `xx`); taps in the
    /// padding read `pad_value`.
    pub fn sum(&self, x: &[i32], w: &[i32], [nn, y, xx, oo]: [usize; 4], pad_value: i64) -> i128 {
        let c0 = (oo / self.og) * self.cg;
        let g = &self.win;
        let mut acc = 0i128;
        for ky in 0..g.kh {
            let iy = (y * g.sh + ky) as isize - g.pt as isize;
            for kx in 0..g.kw {
                let ix = (xx * g.sw + kx) as isize - g.pl as isize;
                let inside = iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w;
                for ci in 0..self.cg {
                    let wgt =
                        w[oo * self.ws[0] + ci * self.ws[1] + ky * self.ws[2] + kx * self.ws[3]];
                    let xv = if inside {
                        x[nn * self.xs[0]
                            + (c0 + ci) * self.xs[1]
                            + iy as usize * self.xs[2]
                            + ix as usize * self.xs[3]] as i64
                    } else {
                        pad_value
                    };
                    acc += xv as i128 * wgt as i128;
                }
            }
        }
        acc
    }
}

/// The range of the values: (min, max); (0, 0) when empty.
pub fn min_max(v: &[i32]) -> (i32, i32) {
    if v.is_empty() {
        return (0, 0);
    }
    v.par_chunks(1 << 16)
        .map(|c| {
            let lo = c.iter().copied().min().unwrap_or(i32::MAX);
            let hi = c.iter().copied().max().unwrap_or(i32::MIN);
            (lo, hi)
        })
        .reduce(
            || (i32::MAX, i32::MIN),
            |(a, b), (c, d)| (a.min(c), b.max(d)),
        )
}

/// True when both operands fit i16 and every partial sum of a `k`-term dot product of `x` and
/// `w` values fits i32 (`k * max|x| * max|w| <= i32::MAX`): the i16 x i16 -> i32 kernels are
/// then exact.
pub fn fast_path_ok(x: &[i32], w: &[i32], k: usize) -> bool {
    let ((xlo, xhi), (wlo, whi)) = (min_max(x), min_max(w));
    let fits_i16 = |lo: i32, hi: i32| lo >= i16::MIN as i32 && hi <= i16::MAX as i32;
    let abs = |lo: i32, hi: i32| (lo as i64).unsigned_abs().max((hi as i64).unsigned_abs()) as u128;
    fits_i16(xlo, xhi)
        && fits_i16(wlo, whi)
        && (k as u128) * abs(xlo, xhi) * abs(wlo, whi) <= i32::MAX as u128
}

/// Operand type of the dot products: i16 with an i32 accumulator (exact where
/// [`fast_path_ok`] holds), or i32 with i64.
pub trait Mac: Copy + Default + Send + Sync {
    type Acc: Copy + Default + Send + Sync + std::ops::AddAssign + Into<i64>;
    fn mul(a: Self, b: Self) -> Self::Acc;
}

impl Mac for i16 {
    type Acc = i32;
    #[inline(always)]
    fn mul(a: i16, b: i16) -> i32 {
        a as i32 * b as i32
    }
}

impl Mac for i32 {
    type Acc = i64;
    #[inline(always)]
    fn mul(a: i32, b: i32) -> i64 {
        a as i64 * b as i64
    }
}

/// `x . w` over `x.len()` terms.
#[inline(always)]
pub fn dot1<T: Mac>(x: &[T], w: &[T]) -> T::Acc {
    let w = &w[..x.len()];
    let mut a = T::Acc::default();
    for i in 0..x.len() {
        a += T::mul(x[i], w[i]);
    }
    a
}

/// `x . w0` ... `x . w3`: the segment of `x` is read once for four output channels.
#[inline(always)]
pub fn dot4<T: Mac>(x: &[T], w0: &[T], w1: &[T], w2: &[T], w3: &[T]) -> [T::Acc; 4] {
    let n = x.len();
    let (w0, w1, w2, w3) = (&w0[..n], &w1[..n], &w2[..n], &w3[..n]);
    let (mut a0, mut a1, mut a2, mut a3) = Default::default();
    for i in 0..n {
        let v = x[i];
        a0 += T::mul(v, w0[i]);
        a1 += T::mul(v, w1[i]);
        a2 += T::mul(v, w2[i]);
        a3 += T::mul(v, w3[i]);
    }
    [a0, a1, a2, a3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_clip_the_window_to_the_input() {
        // 3-wide kernel, stride 2, padding 1 over 5 inputs: outputs 0, 1, 2
        assert_eq!(taps(0, 2, 1, 3, 5), (-1, 1, 3));
        assert_eq!(taps(1, 2, 1, 3, 5), (1, 0, 3));
        assert_eq!(taps(2, 2, 1, 3, 5), (3, 0, 2));
        // a window entirely in the padding has no taps
        assert_eq!(taps(3, 1, 0, 2, 2), (3, 0, 0));
        assert_eq!(out_extent("H", 5, 3, 2, 1, 1), Ok(3));
        assert!(out_extent("H", 1, 4, 1, 1, 1)
            .unwrap_err()
            .contains("larger"));
        assert!(out_extent("W", 8, 3, 0, 0, 0)
            .unwrap_err()
            .contains("stride"));
    }

    #[test]
    fn a_pool_window_reduces_exactly_the_taps_inside_the_input() {
        // every (kernel, stride, padding) up to 4 over odd extents, against the definition:
        // input position (y * s + k - pad) for each tap, kept when it lies inside
        let (h, w) = (5usize, 7usize);
        let read = |iy: usize, ix: usize| ((iy * 31 + ix * 17) % 23) as i64 - 11;
        for k in 1..=4usize {
            for s in 1..=3i64 {
                for p in 0..k as i64 {
                    let win = Window::new(h, w, [k, k], [s, s], [p, p, p, p]);
                    let oh = out_extent("H", h, k, s, p, p).unwrap();
                    let ow = out_extent("W", w, k, s, p, p).unwrap();
                    for y in 0..oh {
                        for x in 0..ow {
                            let mut want: (Option<i64>, i64) = (None, 0);
                            for ky in 0..k as i64 {
                                for kx in 0..k as i64 {
                                    let iy = y as i64 * s + ky - p;
                                    let ix = x as i64 * s + kx - p;
                                    if (0..h as i64).contains(&iy) && (0..w as i64).contains(&ix) {
                                        let v = read(iy as usize, ix as usize);
                                        want.0 = Some(want.0.map_or(v, |b: i64| b.max(v)));
                                        want.1 += v;
                                    }
                                }
                            }
                            assert_eq!(
                                win.pool(y, x, read),
                                want,
                                "k {k} s {s} p {p} at ({y}, {x})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_fast_path_needs_i16_operands_and_i32_sums() {
        assert!(fast_path_ok(&[15, 0], &[-8, 7], 4608));
        assert!(!fast_path_ok(&[1 << 15], &[1], 1));
        assert!(!fast_path_ok(&[255], &[127], 70_000));
        assert!(fast_path_ok(&[], &[], 1 << 40));
    }

    #[test]
    fn i16_and_i32_dots_agree_where_the_fast_path_holds() {
        let x: Vec<i32> = (0..37).map(|i| (i * 7919 % 31) - 15).collect();
        let w: Vec<Vec<i32>> = (0..4)
            .map(|j| (0..37).map(|i| ((i + j) * 104_729 % 17) - 8).collect())
            .collect();
        let h = |v: &[i32]| v.iter().map(|&a| a as i16).collect::<Vec<i16>>();
        let wide = dot4(&x, &w[0], &w[1], &w[2], &w[3]);
        let narrow = dot4(&h(&x), &h(&w[0]), &h(&w[1]), &h(&w[2]), &h(&w[3]));
        for j in 0..4 {
            let naive: i64 = x
                .iter()
                .zip(&w[j])
                .map(|(a, b)| *a as i64 * *b as i64)
                .sum();
            assert_eq!(wide[j], naive);
            assert_eq!(narrow[j] as i64, naive);
            assert_eq!(dot1(&x, &w[j]), naive);
        }
    }
}
