//! The one definition of nibble's integer semantics: element types, layouts, rounding,
//! dyadic requantize and INT4 nibble order. Every stage (reference interpreter, tcconv
//! interpreter, weight packer, GPU kernels) calls into or mirrors exactly this file.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Element types of qnn tensors (MLIR's own `i4`, `ui4`, `i8`, `ui8`, `i16`, `i32`, `f32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElemType {
    I4,
    U4,
    I8,
    U8,
    I16,
    I32,
    F32,
}

impl ElemType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "i4" => Self::I4,
            "ui4" => Self::U4,
            "i8" => Self::I8,
            "ui8" => Self::U8,
            "i16" => Self::I16,
            "i32" => Self::I32,
            "f32" => Self::F32,
            _ => return None,
        })
    }
    pub fn mlir_name(self) -> &'static str {
        match self {
            Self::I4 => "i4",
            Self::U4 => "ui4",
            Self::I8 => "i8",
            Self::U8 => "ui8",
            Self::I16 => "i16",
            Self::I32 => "i32",
            Self::F32 => "f32",
        }
    }
    /// Inclusive value range of an integer type.
    pub fn range(self) -> (i64, i64) {
        match self {
            Self::I4 => (-8, 7),
            Self::U4 => (0, 15),
            Self::I8 => (-128, 127),
            Self::U8 => (0, 255),
            Self::I16 => (i16::MIN as i64, i16::MAX as i64),
            Self::I32 | Self::F32 => (i32::MIN as i64, i32::MAX as i64),
        }
    }
    pub fn is_int(self) -> bool {
        self != Self::F32
    }
    pub fn is_signed(self) -> bool {
        !matches!(self, Self::U4 | Self::U8)
    }
    pub fn bits(self) -> u32 {
        match self {
            Self::I4 | Self::U4 => 4,
            Self::I8 | Self::U8 => 8,
            Self::I16 => 16,
            Self::I32 | Self::F32 => 32,
        }
    }
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mlir_name())
    }
}

/// Activation layouts. 4-D activations name their axis order; `NC` is the 2-D layout of dense.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Layout {
    NCHW,
    NHWC,
    HWNC,
    NC,
}

impl Layout {
    pub const ALL_4D: [Layout; 3] = [Layout::NCHW, Layout::NHWC, Layout::HWNC];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "NCHW" => Self::NCHW,
            "NHWC" => Self::NHWC,
            "HWNC" => Self::HWNC,
            "NC" => Self::NC,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::NCHW => "NCHW",
            Self::NHWC => "NHWC",
            Self::HWNC => "HWNC",
            Self::NC => "NC",
        }
    }
    pub fn rank(self) -> usize {
        if self == Self::NC {
            2
        } else {
            4
        }
    }
    /// Position of N, C, H, W in a shape of this layout (H and W are unused for `NC`).
    pub fn axes(self) -> [usize; 4] {
        match self {
            Self::NCHW => [0, 1, 2, 3],
            Self::NHWC => [0, 3, 1, 2],
            Self::HWNC => [2, 3, 0, 1],
            Self::NC => [0, 1, 0, 0],
        }
    }
    pub fn channel_axis(self) -> usize {
        self.axes()[1]
    }
    /// Logical (n, c, h, w) of a shape in this layout.
    pub fn nchw(self, shape: &[i64]) -> [i64; 4] {
        if self == Self::NC {
            return [shape[0], shape[1], 1, 1];
        }
        let a = self.axes();
        [shape[a[0]], shape[a[1]], shape[a[2]], shape[a[3]]]
    }
    /// Physical shape of logical (n, c, h, w) in this layout.
    pub fn shape(self, nchw: [i64; 4]) -> Vec<i64> {
        if self == Self::NC {
            return vec![nchw[0], nchw[1]];
        }
        let mut s = vec![0; 4];
        for (logical, &axis) in self.axes().iter().enumerate() {
            s[axis] = nchw[logical];
        }
        s
    }
    /// Row-major strides of logical axes (n, c, h, w) for a tensor of logical dims `nchw`.
    pub fn strides(self, nchw: [i64; 4]) -> [usize; 4] {
        let phys = self.shape(nchw);
        let mut pstride = vec![1usize; phys.len()];
        for i in (0..phys.len().saturating_sub(1)).rev() {
            pstride[i] = pstride[i + 1] * phys[i + 1] as usize;
        }
        if self == Self::NC {
            return [pstride[0], pstride[1], 0, 0];
        }
        let a = self.axes();
        [pstride[a[0]], pstride[a[1]], pstride[a[2]], pstride[a[3]]]
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Weight layouts of conv2d kernels (O = out channels, I = in channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KernelLayout {
    OIHW,
    OHWI,
    HWOI,
    HWIO,
}

impl KernelLayout {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OIHW" => Self::OIHW,
            "OHWI" => Self::OHWI,
            "HWOI" => Self::HWOI,
            "HWIO" => Self::HWIO,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::OIHW => "OIHW",
            Self::OHWI => "OHWI",
            Self::HWOI => "HWOI",
            Self::HWIO => "HWIO",
        }
    }
    /// Position of O, I, H, W in a shape of this layout.
    pub fn axes(self) -> [usize; 4] {
        match self {
            Self::OIHW => [0, 1, 2, 3],
            Self::OHWI => [0, 3, 1, 2],
            Self::HWOI => [2, 3, 0, 1],
            Self::HWIO => [3, 2, 0, 1],
        }
    }
    /// Logical (o, i, kh, kw) of a shape in this layout.
    pub fn oihw(self, shape: &[i64]) -> [i64; 4] {
        let a = self.axes();
        [shape[a[0]], shape[a[1]], shape[a[2]], shape[a[3]]]
    }
    pub fn shape(self, oihw: [i64; 4]) -> Vec<i64> {
        let mut s = vec![0; 4];
        for (logical, &axis) in self.axes().iter().enumerate() {
            s[axis] = oihw[logical];
        }
        s
    }
    /// Row-major strides of logical axes (o, i, kh, kw).
    pub fn strides(self, oihw: [i64; 4]) -> [usize; 4] {
        let phys = self.shape(oihw);
        let mut pstride = [1usize; 4];
        for i in (0..3).rev() {
            pstride[i] = pstride[i + 1] * phys[i + 1] as usize;
        }
        let a = self.axes();
        [pstride[a[0]], pstride[a[1]], pstride[a[2]], pstride[a[3]]]
    }
}

impl fmt::Display for KernelLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How `acc * b / 2^c` is rounded to an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rounding {
    /// Nearest, ties to even (`torch.round`, HAWQ).
    HalfToEven,
    /// Nearest, ties toward +infinity (TVM `UPWARD`).
    HalfUp,
    /// Toward zero (drop the fraction).
    Truncate,
    /// In float32, as ONNX Runtime's integer kernels requantize: `x` converted to f32, times
    /// the scale (which must be an f32: `|b| < 2^24`), the product rounded to f32, then to the
    /// nearest integer, ties to even; every step rounds to nearest even. Not the exact product's
    /// rounding: `f32(x)` drops bits of `|x| >= 2^24`, and the product is rounded before the
    /// integer is. [`Dyadic::apply`] defines it.
    F32HalfToEven,
    /// ONNX Runtime's QLinearAdd: one float sum with fused multiply-adds. `qnn.add`:
    /// `round_half_even(fma(f32(a), sa, fma(f32(b), sb, bias)))` ([`add_f32_fma`]);
    /// `qnn.requantize` (the add of a constant, its term folded into `offset`):
    /// `round_half_even(fma(f32(x), s, offset))` ([`requantize_f32_fma`]). Conv epilogues do
    /// not take it; a lone branch without its sum rounds as `F32HalfToEven`.
    F32Fma,
}

impl Rounding {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "half_to_even" => Self::HalfToEven,
            "half_up" => Self::HalfUp,
            "truncate" => Self::Truncate,
            "f32_half_to_even" => Self::F32HalfToEven,
            "f32_fma" => Self::F32Fma,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::HalfToEven => "half_to_even",
            Self::HalfUp => "half_up",
            Self::Truncate => "truncate",
            Self::F32HalfToEven => "f32_half_to_even",
            Self::F32Fma => "f32_fma",
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Largest shift a dyadic scale may carry (the product `acc * b` lives in i64).
pub const MAX_SHIFT: i32 = 62;

/// Largest stride, padding or window size accepted anywhere (verifier, reference, tcconv):
/// keeps every index computation far from overflow.
pub const MAX_GEOM: i64 = 1 << 30;

/// Most elements a tensor may have (2^32): sizes in elements, bytes and packed words of every
/// buffer then fit an i64 with room to spare, and nothing is allocated for an absurd shape.
pub const MAX_ELEMENTS: i64 = 1 << 32;

/// The element count of `shape`, checked: every dim non-negative and the product at most
/// [`MAX_ELEMENTS`].
pub fn checked_elements(shape: &[i64]) -> Result<i64, String> {
    shape.iter().try_fold(1i64, |n, &d| {
        if d < 0 {
            return Err(format!("dimension {d} is negative"));
        }
        n.checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| format!("shape {shape:?} has more than {MAX_ELEMENTS} elements"))
    })
}

/// Largest multiplier magnitude of a `f32_half_to_even` scale (the scale is then exactly an
/// f32: a 24-bit significand times `2^-shift`).
pub const F32_MAX_MULTIPLIER: i64 = (1 << 24) - 1;

impl Rounding {
    /// Whether the mode rounds in float32 (its scales must then be f32: [`f32_significand`]).
    pub fn is_f32(self) -> bool {
        matches!(self, Rounding::F32HalfToEven | Rounding::F32Fma)
    }
}

/// Under an f32 mode, the first multiplier that is not an f32 significand (an error message);
/// the scale `b / 2^c` is then not exactly an f32.
pub fn f32_significand(multipliers: &[i32], mode: Rounding, what: &str) -> Result<(), String> {
    if !mode.is_f32() {
        return Ok(());
    }
    match multipliers.iter().find(|&&m| m < 0 || m as i64 > F32_MAX_MULTIPLIER) {
        Some(m) => Err(format!(
            "{what} multiplier {m} is not an f32 significand (at most {F32_MAX_MULTIPLIER}), which rounding \"{mode}\" needs"
        )),
        None => Ok(()),
    }
}

/// Bound of a `f32_half_to_even` result before it becomes an integer (`|f32(x) * scale|` can
/// pass i64; every later clamp lies inside it, so limiting here changes no result).
pub const F32_RESULT_LIMIT: f32 = (1u64 << 62) as f32;

/// `round(p / 2^c)` under an exact `mode` (not `F32HalfToEven`, which rounds `x * b` in f32 and
/// goes through [`Dyadic::apply`]), exact for every i64 `p` and `0 <= c <= 62`.
pub fn round_shift(p: i64, c: i32, mode: Rounding) -> i64 {
    debug_assert!((0..=MAX_SHIFT).contains(&c));
    if c == 0 {
        return p;
    }
    let q = p >> c; // floor
    let r = p - (q << c); // 0 <= r < 2^c
    let half = 1i64 << (c - 1);
    match mode {
        Rounding::HalfToEven => {
            if r > half || (r == half && (q & 1) == 1) {
                q + 1
            } else {
                q
            }
        }
        Rounding::HalfUp => {
            if r >= half {
                q + 1
            } else {
                q
            }
        }
        Rounding::Truncate => {
            if p < 0 && r != 0 {
                q + 1
            } else {
                q
            }
        }
        // the verifier never lets it here; the exact rounding is the nearest answer
        Rounding::F32HalfToEven | Rounding::F32Fma => round_shift(p, c, Rounding::HalfToEven),
    }
}

/// A dyadic scale `b / 2^c` (`b` is the i32 multiplier, `c` the shift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dyadic {
    pub multiplier: i32,
    pub shift: i32,
}

impl Dyadic {
    /// `round(x * b / 2^c)`: with the product in i64 for the exact modes; for
    /// `F32HalfToEven`, `round_half_even(f32(f32(x) * f32(b / 2^c)))` limited to
    /// +-[`F32_RESULT_LIMIT`].
    pub fn apply(self, x: i64, mode: Rounding) -> i64 {
        match mode {
            Rounding::F32HalfToEven | Rounding::F32Fma => f32_to_int((x as f32) * self.as_f32()),
            _ => round_shift(x * self.multiplier as i64, self.shift, mode),
        }
    }
    /// `b / 2^c` as an f32 (exact when `|b| <= F32_MAX_MULTIPLIER`).
    pub fn as_f32(self) -> f32 {
        (self.multiplier as f64 / (self.shift as f64).exp2()) as f32
    }
    /// The dyadic form of a positive f32 scale, exact: its 24-bit significand and the shift that
    /// places it (None when the scale is not finite and positive or needs a shift outside
    /// 0..=62, i.e. scales >= 2^24 or < 2^-39).
    pub fn from_f32(s: f32) -> Option<Self> {
        if !(s.is_finite() && s > 0.0) {
            return None;
        }
        let bits = s.to_bits();
        let exp = ((bits >> 23) & 0xff) as i32;
        let (mut mant, mut e) = if exp == 0 {
            (bits & 0x7f_ffff, -149)
        } else {
            ((bits & 0x7f_ffff) | 0x80_0000, exp - 150)
        };
        // s = mant * 2^e; drop trailing zero bits to keep the shift small
        while mant & 1 == 0 && e < 0 {
            mant >>= 1;
            e += 1;
        }
        let shift = -e;
        if !(0..=MAX_SHIFT).contains(&shift) {
            return None;
        }
        Some(Self {
            multiplier: mant as i32,
            shift,
        })
    }
}

/// `qnn.add` under `F32Fma` (ONNX Runtime's QLinearAdd on x86, its AVX2 kernel):
/// `round_half_even(fma(f32(a), sa, fma(f32(b), sb, bias)))`, every operation an IEEE f32 one
/// (`f32::mul_add` is the correctly rounded fused multiply-add), limited to
/// +-[`F32_RESULT_LIMIT`].
pub fn add_f32_fma(a: i64, b: i64, sa: Dyadic, sb: Dyadic, bias: f32) -> i64 {
    // the rhs branch and the bias are the requantize's offset
    requantize_f32_fma(a, sa, (b as f32).mul_add(sb.as_f32(), bias))
}

/// The f32 modes' last step: `round_half_even(y)` limited to +-[`F32_RESULT_LIMIT`] (every
/// later clamp lies inside it), NaN as 0.
pub fn f32_to_int(y: f32) -> i64 {
    let r = y.round_ties_even();
    if r.is_nan() {
        return 0;
    }
    r.clamp(-F32_RESULT_LIMIT, F32_RESULT_LIMIT) as i64
}

/// `qnn.requantize` under `F32Fma` (ONNX Runtime's QLinearAdd of a constant, whose term
/// `offset` holds): `round_half_even(fma(f32(x), s, offset))`, limited to +-2^62.
pub fn requantize_f32_fma(x: i64, s: Dyadic, offset: f32) -> i64 {
    f32_to_int((x as f32).mul_add(s.as_f32(), offset))
}

/// `clamp(round(acc * b / 2^c) + zp, lo, hi)`: qnn.requantize (dialects/qnn/README.md).
pub fn requantize(acc: i64, s: Dyadic, mode: Rounding, zero_point: i64, lo: i64, hi: i64) -> i64 {
    (s.apply(acc, mode) + zero_point).clamp(lo, hi)
}

/// How `qnn.quantize` scales its float input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuantizeMode {
    /// `x * f32(1 / scale)` (HAWQ, PyTorch fake quantization).
    #[default]
    MultiplyReciprocal,
    /// `x / scale`, one correctly rounded f32 division (ONNX QuantizeLinear, ONNX Runtime).
    Divide,
}

impl QuantizeMode {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "multiply_reciprocal" => Self::MultiplyReciprocal,
            "divide" => Self::Divide,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::MultiplyReciprocal => "multiply_reciprocal",
            Self::Divide => "divide",
        }
    }
}

/// The f32 operation of a [`FloatStep`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// One f32 operation of a value and a constant, `x op k[c]` (with `first`, `k[c] op x`), `k`
/// one value or one a channel: the float preprocessing ONNX Runtime runs before a model's first
/// QuantizeLinear (a Sub of the mean, a Div by the deviation), which `qnn.quantize` applies in
/// order before it quantizes. Each step rounds once (IEEE f32, no fused multiply-add).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatStep {
    pub op: FloatOp,
    pub k: Vec<f32>,
    #[serde(default)]
    pub first: bool,
}

impl FloatStep {
    /// The step on `x` of channel `c`.
    pub fn apply(&self, x: f32, c: usize) -> f32 {
        let k = self.k[if self.k.len() == 1 { 0 } else { c }];
        let (a, b) = if self.first { (k, x) } else { (x, k) };
        match self.op {
            FloatOp::Add => a + b,
            FloatOp::Sub => a - b,
            FloatOp::Mul => a * b,
            FloatOp::Div => a / b,
        }
    }

    /// Its name in IR: `add`, `sub`, `mul`, `div`, and `rsub` / `rdiv` for `k - x` / `k / x`.
    pub fn name(&self) -> &'static str {
        match (
            self.op,
            self.first && matches!(self.op, FloatOp::Sub | FloatOp::Div),
        ) {
            (FloatOp::Add, _) => "add",
            (FloatOp::Mul, _) => "mul",
            (FloatOp::Sub, false) => "sub",
            (FloatOp::Div, false) => "div",
            (FloatOp::Sub, true) => "rsub",
            (FloatOp::Div, true) => "rdiv",
        }
    }

    /// The step of IR name `name` (see [`name`](Self::name)) and constant `k`.
    pub fn parse(name: &str, k: Vec<f32>) -> Option<FloatStep> {
        let (op, first) = match name {
            "add" => (FloatOp::Add, false),
            "sub" => (FloatOp::Sub, false),
            "mul" => (FloatOp::Mul, false),
            "div" => (FloatOp::Div, false),
            "rsub" => (FloatOp::Sub, true),
            "rdiv" => (FloatOp::Div, true),
            _ => return None,
        };
        Some(FloatStep { op, k, first })
    }
}

/// Whether each step's constant is one value or one for each of `channels` channels (what
/// qnn-verify, tcconv-verify and the kernels check).
pub fn float_steps_fit(steps: &[FloatStep], channels: i64) -> Result<(), String> {
    match steps
        .iter()
        .find(|s| s.k.len() != 1 && s.k.len() as i64 != channels)
    {
        Some(s) => Err(format!(
            "a '{}' step of pre has {} constants; the input has {channels} channels (one constant, or one a channel)",
            s.name(),
            s.k.len()
        )),
        None => Ok(()),
    }
}

/// `x` of channel `c` through `steps`, in order.
pub fn float_steps(steps: &[FloatStep], x: f32, c: usize) -> f32 {
    steps.iter().fold(x, |x, s| s.apply(x, c))
}

/// `qnn.quantize`: `clamp(round_half_even(x * float32(1/scale)) + zp, lo, hi)` (or `x / scale`
/// under `QuantizeMode::Divide`), all in f32; infinities saturate and NaN quantizes to `lo`, as
/// ONNX Runtime's x86 kernels do (they clamp `x / scale` to `[lo - zp, hi - zp]` with max / min
/// instructions that return the bound for NaN, then add `zp`).
pub fn quantize_f32(
    x: f32,
    scale: f32,
    zero_point: i64,
    mode: QuantizeMode,
    lo: i64,
    hi: i64,
) -> i64 {
    let v = match mode {
        QuantizeMode::MultiplyReciprocal => x * (1.0f32 / scale),
        QuantizeMode::Divide => x / scale,
    };
    if v.is_nan() {
        return lo;
    }
    // the rounded value is limited before the zero point is added
    (f32_to_int(v) + zero_point).clamp(lo, hi)
}

/// The f32 arithmetic of `qnn.avg_pool2d_f32`, ONNX Runtime's QLinearAveragePool: each tap
/// inside the input dequantized as `f32(input_scale * f32(x - input_zero_point))` ([`tap`]), the
/// taps summed in f32 row by row from 0, the sum divided by the count in f32, then
/// `nearbyint(f32(y / output_scale) + output_zero_point)` clamped to the result type
/// ([`finish`]). No fused multiply-add anywhere: each product, sum and quotient rounds once.
///
/// [`tap`]: AvgPoolF32::tap
/// [`finish`]: AvgPoolF32::finish
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AvgPoolF32 {
    pub input_scale: f32,
    pub input_zero_point: i64,
    pub output_scale: f32,
    pub output_zero_point: i64,
    /// Divide by `kh * kw`; else by the taps inside the input.
    pub count_include_pad: bool,
}

impl AvgPoolF32 {
    /// One tap's dequantized value (`x - input_zero_point` fits 17 bits: exact in f32).
    pub fn tap(&self, x: i64) -> f32 {
        self.input_scale * (x - self.input_zero_point) as f32
    }

    /// The quantized average of a window whose `taps` taps inside the input summed to `sum` (in
    /// f32, row by row), `kernel` = `kh * kw`, clamped to `[lo, hi]`.
    pub fn finish(&self, sum: f32, taps: i64, kernel: i64, (lo, hi): (i64, i64)) -> i64 {
        let count = if self.count_include_pad { kernel } else { taps };
        let y = sum / count as f32;
        let q = (y / self.output_scale + self.output_zero_point as f32).round_ties_even();
        (q as i64).clamp(lo, hi)
    }

    /// The largest `|y / output_scale + output_zero_point|` any window can reach for inputs in
    /// `[lo, hi]` (an average of taps never exceeds the largest tap), with room for f32
    /// rounding: ONNX Runtime converts the rounded value to i32, so it must stay well inside.
    pub fn reach(&self, (lo, hi): (i64, i64)) -> f64 {
        let far = (hi - self.input_zero_point)
            .abs()
            .max((lo - self.input_zero_point).abs()) as f64;
        far * self.input_scale as f64 / self.output_scale as f64 * 1.001
            + self.output_zero_point.abs() as f64
    }
}

/// `qnn.softmax` of one row `xs` (integers of at most 8 bits), ONNX Runtime's QLinearSoftmax
/// (its kernel's f32 arithmetic, in its order): with `m` the row's largest value, each value's
/// `e(x) = table[255 - (m - x)]`; `s` the f32 sum of the row's `e(x)` from 0, left to right;
/// then `q = nearbyint(f32(e(x) * scale) / s) + zero_point` (ties to even; never below the zero
/// point) limited to the result type's largest value, 255 or 127 (onnxruntime 1.32; `e(x) *
/// scale` stays finite, checked by the verifier).
pub fn softmax_row(
    xs: &[i64],
    table: &[f32],
    scale: f32,
    zero_point: i64,
    signed: bool,
) -> Vec<i64> {
    let m = xs.iter().copied().max().unwrap_or(0);
    let e = |x: i64| table[(255 - (m - x)).clamp(0, 255) as usize];
    let mut s = 0f32;
    for &x in xs {
        s += e(x);
    }
    xs.iter()
        .map(|&x| {
            let q = ((e(x) * scale) / s).round_ties_even() as i64 + zero_point;
            q.min(if signed { 127 } else { 255 })
        })
        .collect()
}

/// `qnn.dequantize`: `float32(acc) * scale`.
/// How a `qnn.lookup` table of `len` entries is laid out for `channels` channels of `elem`
/// values (at most 8 bits): `Some((per, per_channel))`, `per = 2^bits` entries a table, one table
/// or one a channel (channel `c`'s at `c * per`); None when `len` fits neither.
pub fn lookup_tables(len: usize, elem: ElemType, channels: usize) -> Option<(usize, bool)> {
    if !elem.is_int() || elem.bits() > 8 {
        return None;
    }
    let per = 1usize << elem.bits();
    if len == per {
        Some((per, false))
    } else if len == channels * per {
        Some((per, true))
    } else {
        None
    }
}

/// `qnn.lookup` of value `x` in channel `c`: `table[c * per + x - lo]` (see [`lookup_tables`];
/// `x` a value of `elem`, the table's layout checked).
pub fn lookup(table: &[i32], elem: ElemType, channels: usize, c: usize, x: i64) -> i32 {
    let (per, per_channel) = lookup_tables(table.len(), elem, channels).expect("a checked table");
    let base = if per_channel { c * per } else { 0 };
    table[base + (x - elem.range().0) as usize]
}

/// The least and greatest entry a `qnn.lookup` table (one or one a channel) gives for inputs in
/// `[lo, hi]` (None: an empty table).
pub fn lookup_range(table: &[i32], elem: ElemType, (lo, hi): (i64, i64)) -> Option<(i64, i64)> {
    let per = 1usize << elem.bits().min(16);
    let i = |v: i64| (v - elem.range().0).clamp(0, per as i64 - 1) as usize;
    table
        .chunks(per)
        .filter_map(|t| t.get(i(lo)..=i(hi)))
        .flatten()
        .map(|&v| (v as i64, v as i64))
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

pub fn dequantize_f32(acc: i64, scale: f32) -> f32 {
    (acc as f32) * scale
}

/// Average pooling divides with floor (toward -infinity), as HAWQ's integer average pool does.
pub fn floor_div(sum: i64, count: i64) -> i64 {
    sum.div_euclid(count)
}

// ---------------------------------------------------------------------------------------------
// INT4 packing: the one nibble order.
// Eight 4-bit values per 32-bit word; element j of a group of eight occupies bits [4j+3 : 4j]
// (first element in the LOW nibble), two's complement for s4. This is the order the operands of
// PTX `mma.sync` s4/u4 fragments use (measured on an H200).
// ---------------------------------------------------------------------------------------------

/// Pack eight 4-bit values (each in [-8, 15]; only the low 4 bits are kept) into one word.
pub fn pack_nibbles(vals: [i32; 8]) -> u32 {
    let mut w = 0u32;
    for (j, v) in vals.iter().enumerate() {
        w |= ((*v as u32) & 0xf) << (4 * j);
    }
    w
}

/// Unpack one word into eight values, sign-extending when `signed`.
pub fn unpack_nibbles(w: u32, signed: bool) -> [i32; 8] {
    std::array::from_fn(|j| {
        let n = ((w >> (4 * j)) & 0xf) as i32;
        if signed && n >= 8 {
            n - 16
        } else {
            n
        }
    })
}

/// Pack a slice (length padded up to a multiple of 8 with zeros) into words.
pub fn pack_int4(vals: &[i32]) -> Vec<u32> {
    vals.chunks(8)
        .map(|c| {
            let mut a = [0i32; 8];
            a[..c.len()].copy_from_slice(c);
            pack_nibbles(a)
        })
        .collect()
}

/// Unpack `n` values from packed words.
pub fn unpack_int4(words: &[u32], n: usize, signed: bool) -> Vec<i32> {
    let mut out = Vec::with_capacity(words.len() * 8);
    for &w in words {
        out.extend_from_slice(&unpack_nibbles(w, signed));
    }
    out.truncate(n);
    out
}

/// HAWQ's TVM export packs the first element in the HIGH nibble; convert one such word to ours.
pub fn from_high_nibble_first(w: u32) -> u32 {
    let mut out = 0u32;
    for j in 0..8 {
        let n = (w >> (4 * (7 - j))) & 0xf;
        out |= n << (4 * j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_scales_are_exact_dyadics() {
        for s in [
            1.0f32,
            0.5,
            3.0,
            0.0123,
            1.0e-7,
            6.0 / 255.0,
            16777215.0,
            f32::MIN_POSITIVE * 4.0e26,
        ] {
            let d = Dyadic::from_f32(s).unwrap();
            assert_eq!(d.as_f32(), s, "{s}");
            assert!((d.multiplier as i64) <= F32_MAX_MULTIPLIER && d.multiplier > 0);
        }
        assert_eq!(
            Dyadic::from_f32(0.75),
            Some(Dyadic {
                multiplier: 3,
                shift: 2
            })
        );
        for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY, 16777216.0, 1.0e-30] {
            assert_eq!(Dyadic::from_f32(bad), None, "{bad}");
        }
    }

    #[test]
    fn fma_requantize_rounds_one_fused_multiply_add() {
        let h = Dyadic {
            multiplier: 1,
            shift: 1,
        };
        // 5 * 0.5 + 0 = 2.5: ties to even
        assert_eq!(requantize_f32_fma(5, h, 0.0), 2);
        assert_eq!(requantize_f32_fma(3, h, 0.25), 2);
        assert_eq!(requantize_f32_fma(-7, h, -0.5), -4);
        // the product is not rounded before the offset is added: 16777217 * 0.5 is not an f32
        // (8388608.5), but fma(f32(x) = 16777216, 0.5, 0.5) = 8388608.5 -> 8388608 (even)
        assert_eq!(requantize_f32_fma(16_777_217, h, 0.5), 8_388_608);
        // one rounding of the exact x * s + o (exact in f64 here: a 21-bit x, a 24-bit s, a few
        // bits of o), then to an integer
        let s = Dyadic {
            multiplier: 12_582_912,
            shift: 30,
        };
        for x in [-300i64, -1, 0, 1, 77, 255, 1 << 20] {
            for o in [-3.5f32, 0.0, 0.125, 9.75] {
                let exact = x as f64 * s.as_f32() as f64 + o as f64;
                assert_eq!(
                    requantize_f32_fma(x, s, o),
                    (exact as f32).round_ties_even() as i64,
                    "{x} {o}"
                );
            }
        }
    }

    #[test]
    fn fma_add_rounds_one_float_sum() {
        // 0.5 * 3 + 0.5 * 2 = 2.5 -> 2 (one sum, ties to even); per branch: 2 + 1 = 3
        let h = Dyadic {
            multiplier: 1,
            shift: 1,
        };
        assert_eq!(add_f32_fma(3, 2, h, h, 0.0), 2);
        assert_eq!(
            h.apply(3, Rounding::F32Fma) + h.apply(2, Rounding::F32Fma),
            3
        );
        // the bias enters before the rounding
        assert_eq!(add_f32_fma(3, 2, h, h, 0.25), 3);
        // fused: a * sa + (b * sb + bias) each rounded once, as f32::mul_add
        let (sa, sb) = (
            Dyadic::from_f32(0.0123).unwrap(),
            Dyadic::from_f32(0.731).unwrap(),
        );
        for (a, b) in [(255i64, 17i64), (-128, 127), (1 << 20, -3), (7, 0)] {
            let want = ((a as f32).mul_add(0.0123, (b as f32).mul_add(0.731, -3.5)))
                .round_ties_even() as i64;
            assert_eq!(add_f32_fma(a, b, sa, sb, -3.5), want, "{a} {b}");
        }
    }

    #[test]
    fn f32_rounding_rounds_in_float32() {
        let half = Dyadic {
            multiplier: 1,
            shift: 1,
        };
        // ties to even in float
        assert_eq!(half.apply(5, Rounding::F32HalfToEven), 2);
        assert_eq!(half.apply(7, Rounding::F32HalfToEven), 4);
        assert_eq!(half.apply(-5, Rounding::F32HalfToEven), -2);
        // f32(2^24 + 1) = 2^24: the exact modes keep the 1
        let one = Dyadic {
            multiplier: 1,
            shift: 0,
        };
        assert_eq!(one.apply((1 << 24) + 1, Rounding::F32HalfToEven), 1 << 24);
        assert_eq!(
            one.apply((1 << 24) + 1, Rounding::HalfToEven),
            (1 << 24) + 1
        );
        // the product is rounded to f32 before the integer: x * s just above a tie in exact
        // arithmetic lands on the tie in f32 and goes to even
        let s = Dyadic::from_f32(1.0 + f32::EPSILON).unwrap();
        let x = 4_194_306; // x * s = 4194306.50000024: a tie in f32 (to even: 4194306), 4194307 exactly
        assert_eq!(
            s.apply(x, Rounding::F32HalfToEven),
            ((x as f32) * s.as_f32()).round_ties_even() as i64
        );
        assert_ne!(
            s.apply(x, Rounding::F32HalfToEven),
            s.apply(x, Rounding::HalfToEven)
        );
        // huge values saturate instead of wrapping
        let big = Dyadic {
            multiplier: (1 << 24) - 1,
            shift: 0,
        };
        assert_eq!(big.apply(i64::MAX, Rounding::F32HalfToEven), 1 << 62);
        assert_eq!(big.apply(i64::MIN, Rounding::F32HalfToEven), -(1 << 62));
    }

    #[test]
    fn ties_follow_each_rounding_mode() {
        // 5/2 = 2.5, 7/2 = 3.5, -5/2 = -2.5, -7/2 = -3.5
        let cases = [
            (5, 2, 3, 2),
            (7, 4, 4, 3),
            (-5, -2, -2, -2),
            (-7, -4, -3, -3),
        ];
        for (p, even, up, trunc) in cases {
            assert_eq!(
                round_shift(p, 1, Rounding::HalfToEven),
                even,
                "{p}/2 half_to_even"
            );
            assert_eq!(round_shift(p, 1, Rounding::HalfUp), up, "{p}/2 half_up");
            assert_eq!(
                round_shift(p, 1, Rounding::Truncate),
                trunc,
                "{p}/2 truncate"
            );
        }
    }

    #[test]
    fn non_ties_round_to_nearest_and_truncate_goes_toward_zero() {
        // 11/4 = 2.75, -11/4 = -2.75, 9/4 = 2.25, -9/4 = -2.25
        assert_eq!(round_shift(11, 2, Rounding::HalfToEven), 3);
        assert_eq!(round_shift(-11, 2, Rounding::HalfUp), -3);
        assert_eq!(round_shift(9, 2, Rounding::HalfUp), 2);
        assert_eq!(round_shift(-9, 2, Rounding::HalfToEven), -2);
        assert_eq!(round_shift(-11, 2, Rounding::Truncate), -2);
        assert_eq!(round_shift(11, 2, Rounding::Truncate), 2);
    }

    #[test]
    fn requantize_saturates_at_both_ends() {
        let s = Dyadic {
            multiplier: 1 << 30,
            shift: 30,
        }; // scale 1.0
        assert_eq!(requantize(300, s, Rounding::HalfToEven, 0, 0, 15), 15);
        assert_eq!(requantize(-300, s, Rounding::HalfToEven, 0, -8, 7), -8);
        assert_eq!(requantize(-3, s, Rounding::HalfToEven, 0, 0, 255), 0);
        assert_eq!(requantize(3, s, Rounding::HalfToEven, 2, 0, 255), 5);
    }

    #[test]
    fn large_products_stay_exact() {
        // acc * b close to 2^62 must not overflow.
        let s = Dyadic {
            multiplier: i32::MAX,
            shift: 31,
        };
        assert_eq!(s.apply(i32::MAX as i64, Rounding::HalfUp), 2147483646);
        assert_eq!(s.apply(i32::MIN as i64, Rounding::HalfUp), -2147483647);
    }

    #[test]
    fn nibble_order_is_low_first_and_round_trips() {
        let vals = [1, -2, 3, -4, 5, -6, 7, -8];
        let w = pack_nibbles(vals);
        assert_eq!(w & 0xf, 1, "first element in the low nibble");
        assert_eq!(w >> 28, 0x8, "last element in the high nibble");
        assert_eq!(unpack_nibbles(w, true), vals);
        let u = [0, 15, 1, 14, 2, 13, 3, 12];
        assert_eq!(unpack_nibbles(pack_nibbles(u), false), u);
        assert_eq!(from_high_nibble_first(0x1234_5678), 0x8765_4321);
    }

    #[test]
    fn quantize_rounds_half_to_even_in_f32() {
        let q = |x, s| quantize_f32(x, s, 0, QuantizeMode::MultiplyReciprocal, -128, 127);
        assert_eq!(q(0.5, 1.0), 0);
        assert_eq!(q(1.5, 1.0), 2);
        assert_eq!(q(-2.5, 1.0), -2);
        assert_eq!(q(1000.0, 1.0), 127);
    }

    #[test]
    fn quantize_divide_mode_divides_and_adds_the_zero_point_before_saturating() {
        let q = |x, s, zp, mode| quantize_f32(x, s, zp, mode, -128, 127);
        use QuantizeMode::*;
        // near ties (x = (k + 0.5) * s) the division and the inexact reciprocal round apart
        let mut diff = 0;
        for s in [0.07f32, 0.0123, 0.3, 0.0079, 0.011, 0.0173] {
            for k in -128..127 {
                let x = (k as f32 + 0.5) * s;
                let d = q(x, s, 0, Divide);
                assert_eq!(d, ((x / s).round_ties_even() as i64).clamp(-128, 127));
                diff += (d != q(x, s, 0, MultiplyReciprocal)) as usize;
            }
        }
        assert!(diff > 0, "division and reciprocal never differ near ties");
        // the zero point shifts before the saturation: 100 + 50 saturates at 127
        assert_eq!(q(100.0, 1.0, 50, Divide), 127);
        assert_eq!(q(-100.0, 1.0, 50, Divide), -50);
        // NaN to the lowest value whatever the zero point, infinities saturate (ONNX Runtime
        // on x86: max(NaN, lo - zp) is lo - zp)
        assert_eq!(q(f32::NAN, 1.0, 7, Divide), -128);
        assert_eq!(q(f32::NAN, 0.5, -3, MultiplyReciprocal), -128);
        assert_eq!(q(f32::INFINITY, 1.0, 7, Divide), 127);
        assert_eq!(q(f32::NEG_INFINITY, 1.0, 7, Divide), -128);
    }

    #[test]
    fn layouts_permute_axes_consistently() {
        for l in Layout::ALL_4D {
            let s = l.shape([2, 3, 5, 7]);
            assert_eq!(l.nchw(&s), [2, 3, 5, 7], "{l}");
        }
        assert_eq!(Layout::HWNC.shape([2, 3, 5, 7]), vec![5, 7, 2, 3]);
        assert_eq!(Layout::NHWC.strides([2, 3, 5, 7]), [105, 1, 21, 3]);
        assert_eq!(KernelLayout::HWIO.shape([8, 4, 3, 3]), vec![3, 3, 4, 8]);
    }

    /// QLinearAveragePool adds the output zero point before it rounds: an average 1.4999986
    /// steps below a zero point of 156 is 154.500 in f32 and rounds to even, 154, where
    /// rounding first gives 155 (ONNX Runtime's int8 pairs run as uint8, zero point + 128:
    /// 26 there). The count is kh * kw with count_include_pad, else the taps inside.
    #[test]
    fn f32_average_adds_the_zero_point_before_rounding() {
        let p = |zp, cip| AvgPoolF32 {
            input_scale: 1.0,
            input_zero_point: 0,
            output_scale: 1.0,
            output_zero_point: zp,
            count_include_pad: cip,
        };
        let sum = -1.4999986f32 * 3.0;
        assert_eq!(p(156, false).finish(sum, 3, 9, (0, 255)), 154);
        assert_eq!(p(28, false).finish(sum, 3, 9, (-128, 127)), 27);
        // 1.5 + 128 is exact: ties to even either way
        assert_eq!(p(128, false).finish(4.5, 3, 9, (0, 255)), 130);
        assert_eq!(p(0, true).finish(9.0, 3, 9, (0, 255)), 1);
        assert_eq!(p(0, false).finish(9.0, 3, 9, (0, 255)), 3);
        assert_eq!(p(0, false).tap(-5), -5.0);
    }

    /// QLinearSoftmax's row: the largest value reads entry 255, the rest entry 255 - (m - x),
    /// whatever the row's position or the values' offset; each result is the rounded share of
    /// the scale plus the zero point, saturated at the type's largest value.
    #[test]
    fn softmax_rows_read_the_table_from_the_row_maximum() {
        let mut table = vec![0.0f32; 256];
        table[255] = 1.0;
        table[254] = f32::powi(2.0, -24);
        table[253] = 0.5;
        // rows [7, 6, 6]: e = [1, 2^-24, 2^-24], 256 saturates
        assert_eq!(
            softmax_row(&[7, 6, 6], &table, 256.0, 0, false),
            vec![255, 0, 0]
        );
        assert_eq!(
            softmax_row(&[7, 6, 6], &table, 256.0, -128, true),
            vec![127, -128, -128]
        );
        // [5, 3]: e = [1, 0.5], sum 1.5: 256 / 1.5 = 170.67 -> 171, 128 / 1.5 = 85.33 -> 85
        assert_eq!(softmax_row(&[5, 3], &table, 256.0, 0, false), vec![171, 85]);
        assert_eq!(
            softmax_row(&[3, 5], &table, 256.0, 10, false),
            vec![95, 181]
        );
    }
}
