//! Buffers as the kernels read them: the one place that says where element (n, c, h, w) of an
//! activation lives, and how 4-bit values are packed (nibble order from `nibble_qnn::semantics`).
//!
//! Storage rules:
//! - 4-bit (`i4`/`ui4`): 8 channels per 32-bit word, channels padded to a multiple of 8 with zeros.
//! - 8-bit (`i8`/`ui8`): one byte per value, channels padded to a multiple of 4 (32-bit loads).
//! - `i16`/`i32`: one i32 per value; `f32`: one f32 per value; no padding.
//! - `i32` or `i16` in `narrow16` storage (a residual stream, or an i16 map, see
//!   [`Storage::Narrow16`]): two planes in one byte buffer, the values as i16 (2 bytes a slot),
//!   then the exact i32 of the values that do not fit (4 bytes a slot, written and read only for
//!   those; an i16 value escapes only at the two ends of its range).
//!
//! Layouts put channels innermost (NHWC, HWNC, NC) except NCHW, used only for f32 edges.

use nibble_qnn::semantics::{pack_int4, unpack_int4, ElemType, Layout};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActBuffer {
    pub layout: Layout,
    pub elem: ElemType,
    /// Logical (n, c, h, w); h = w = 1 for `NC`.
    pub dims: [i64; 4],
    /// An i32 or i16 buffer stored in [`Storage::Narrow16`].
    #[serde(default)]
    pub narrow: bool,
}

/// How one element is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Packed4,
    Byte,
    Word32,
    /// An i32 value as an i16 (a plane of `2 * slots` bytes) where it lies in
    /// [-32767, 32766]; otherwise the i16 holds the value saturated to i16, one of the two
    /// markers [`ESCAPE_LO`] / [`ESCAPE_HI`], and the value is the i32 at the same slot of a
    /// second plane (`4 * slots` bytes after the first). Exact for every value, half the bytes
    /// of `Word32` when values rarely leave i16 (HAWQ's residual sums, calibrated to about the
    /// i16 range, leave it on a few elements an image); the second plane is touched only for
    /// the escapes. The markers are the saturation bounds so that a saturating pack
    /// (`cvt.pack.sat.s16.s32`) writes the narrow plane of two values in one instruction.
    Narrow16,
}

/// The i16 values that mark a [`Storage::Narrow16`] value held in the wide plane: an escape
/// below the narrow range is stored as `ESCAPE_LO`, one above it as `ESCAPE_HI`.
pub const ESCAPE_LO: i32 = i16::MIN as i32;
pub const ESCAPE_HI: i32 = i16::MAX as i32;

/// Whether `v` is stored in the narrow plane of a [`Storage::Narrow16`] buffer.
pub fn fits_narrow(v: i32) -> bool {
    v > ESCAPE_LO && v < ESCAPE_HI
}

/// The i16 a [`Storage::Narrow16`] buffer's narrow plane holds for `v`: `v` saturated to i16.
pub fn narrow_half(v: i32) -> i16 {
    v.clamp(ESCAPE_LO, ESCAPE_HI) as i16
}

/// Whether narrow-plane value `h` marks an escape (the value is in the wide plane).
pub fn is_escape(h: i16) -> bool {
    !fits_narrow(h as i32)
}

impl ActBuffer {
    pub fn new(layout: Layout, elem: ElemType, dims: [i64; 4]) -> Self {
        Self {
            layout,
            elem,
            dims,
            narrow: false,
        }
    }
    pub fn storage(&self) -> Storage {
        if self.narrow {
            Storage::Narrow16
        } else {
            storage_of(self.elem)
        }
    }
    /// Whether the buffer may be stored in [`Storage::Narrow16`]: i32 or i16 (which the 32-bit
    /// words of [`Storage::Word32`] hold otherwise), channel-innermost (NHWC / HWNC), an even
    /// channel count (a channel pair is one 4-byte word of the narrow plane).
    pub fn can_be_narrow(&self) -> bool {
        matches!(self.elem, ElemType::I32 | ElemType::I16)
            && matches!(self.layout, Layout::NHWC | Layout::HWNC)
            && self.dims[1] % 2 == 0
    }
    /// Logical slots (padded channels included).
    pub fn slots(&self) -> usize {
        let [n, _, h, w] = self.dims;
        (n * h * w * self.stored_channels()) as usize
    }
    /// Channels as stored (padded).
    pub fn stored_channels(&self) -> i64 {
        padded_channels(self.elem, self.dims[1])
    }
    /// Elements per channel row in the memref's innermost dimension (words for 4-bit).
    pub fn inner_dim(&self) -> i64 {
        match self.storage() {
            Storage::Packed4 => self.stored_channels() / 8,
            _ => self.stored_channels(),
        }
    }
    /// The memref shape (physical order) and element type name.
    pub fn memref_shape(&self) -> Vec<i64> {
        if self.narrow {
            // the i16 plane (one row), then the i32 plane (two rows)
            return vec![3, 2 * self.slots() as i64];
        }
        let [n, _, h, w] = self.dims;
        let cs = self.inner_dim();
        match self.layout {
            Layout::NHWC => vec![n, h, w, cs],
            Layout::HWNC => vec![h, w, n, cs],
            Layout::NC => vec![n, cs],
            Layout::NCHW => vec![n, cs, h, w],
        }
    }
    pub fn memref_elem(&self) -> &'static str {
        match (self.storage(), self.elem) {
            (Storage::Packed4, _) => "i32",
            (Storage::Byte | Storage::Narrow16, _) => "i8",
            (Storage::Word32, ElemType::F32) => "f32",
            (Storage::Word32, _) => "i32",
        }
    }
    pub fn memref_type(&self) -> String {
        let dims: Vec<String> = self.memref_shape().iter().map(|d| d.to_string()).collect();
        format!("memref<{}x{}>", dims.join("x"), self.memref_elem())
    }
    /// Number of stored elements (words for 4-bit, bytes for 8-bit and narrow16, 32-bit values
    /// otherwise).
    pub fn stored_len(&self) -> usize {
        self.memref_shape().iter().product::<i64>() as usize
    }
    pub fn bytes(&self) -> usize {
        self.stored_len()
            * match self.storage() {
                Storage::Byte | Storage::Narrow16 => 1,
                _ => 4,
            }
    }
    /// Stored like an NC buffer: NC itself, or any layout of an N x C x 1 x 1 tensor (every
    /// layout puts (n, c) at slot `n * Cs + c` when H = W = 1, see [`ActBuffer::slot`]).
    pub fn stored_as_nc(&self) -> bool {
        self.layout == Layout::NC || (self.dims[2] == 1 && self.dims[3] == 1)
    }
    /// Logical element index of (n, c, h, w) in the unpacked, padded-channel order.
    pub fn slot(&self, n: i64, c: i64, h: i64, w: i64) -> usize {
        let [_, _, hh, ww] = self.dims;
        let nn = self.dims[0];
        let cs = self.stored_channels();
        (match self.layout {
            Layout::NHWC => ((n * hh + h) * ww + w) * cs + c,
            Layout::HWNC => ((h * ww + w) * nn + n) * cs + c,
            Layout::NC => n * cs + c,
            Layout::NCHW => ((n * cs + c) * hh + h) * ww + w,
        }) as usize
    }
}

pub fn storage_of(e: ElemType) -> Storage {
    match e.bits() {
        4 => Storage::Packed4,
        8 => Storage::Byte,
        _ => Storage::Word32,
    }
}

/// The logical dims `[n, c, h, w]` of a map with `padding` ([top, left, bottom, right]) added
/// around H x W (`tcconv.pad`, a padded `tcconv.quantize`); None for a negative padding.
pub fn padded_dims(dims: [i64; 4], padding: [i64; 4]) -> Option<[i64; 4]> {
    let [n, c, h, w] = dims;
    (padding.iter().all(|&p| p >= 0)).then(|| {
        [
            n,
            c,
            h + padding[0] + padding[2],
            w + padding[1] + padding[3],
        ]
    })
}

/// The dims a `tcconv.quantize` of `input` into `elem` writes: the input's padded by `padding`,
/// or with `space_to_depth` b >= 2 that padded map's space-to-depth map (b b cs channels, cs the
/// input's channels as `elem` stores them; each padded extent a multiple of b). None where the
/// padding is negative or an extent not a multiple of b.
pub fn quantize_output_dims(
    input: &ActBuffer,
    elem: ElemType,
    padding: [i64; 4],
    space_to_depth: i64,
) -> Option<[i64; 4]> {
    let [n, c, h, w] = padded_dims(input.dims, padding)?;
    match space_to_depth {
        0 => Some([n, c, h, w]),
        b if (2..=crate::program::MAX_SPACE_TO_DEPTH).contains(&b) && h % b == 0 && w % b == 0 => {
            Some([n, b * b * padded_channels(elem, c), h / b, w / b])
        }
        _ => None,
    }
}

pub fn padded_channels(e: ElemType, c: i64) -> i64 {
    match storage_of(e) {
        Storage::Packed4 => (c + 7) / 8 * 8,
        Storage::Byte => (c + 3) / 4 * 4,
        Storage::Word32 | Storage::Narrow16 => c,
    }
}

/// Values of a buffer in its padded slot order, stored as the kernels store them.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Packed 4-bit words, bytes (as i8 bit patterns) and 32-bit integers all as u32 words/bytes.
    Words(Vec<u32>),
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

/// Store unpacked values (padded slot order, `slot()`) the way `elem` is stored.
pub fn store(elem: ElemType, slots: &[i32]) -> Stored {
    match storage_of(elem) {
        Storage::Packed4 => Stored::Words(pack_int4(slots)),
        Storage::Byte => Stored::Bytes(slots.iter().map(|&v| v as u8).collect()),
        Storage::Word32 | Storage::Narrow16 => {
            Stored::Words(slots.iter().map(|&v| v as u32).collect())
        }
    }
}

/// Store unpacked values (padded slot order) the way buffer `b` stores them (its element type,
/// or [`Storage::Narrow16`]).
pub fn store_act(b: &ActBuffer, slots: &[i32]) -> Stored {
    if b.storage() != Storage::Narrow16 {
        return store(b.elem, slots);
    }
    let n = slots.len();
    let mut bytes = vec![0u8; 6 * n];
    let (narrow, wide) = bytes.split_at_mut(2 * n);
    for (i, &v) in slots.iter().enumerate() {
        let h = narrow_half(v);
        narrow[2 * i..2 * i + 2].copy_from_slice(&h.to_le_bytes());
        if !fits_narrow(v) {
            wide[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    Stored::Bytes(bytes)
}

/// Read back the `n` values of buffer `b` (padded slot order) from stored form.
pub fn load_act(b: &ActBuffer, s: &Stored, n: usize) -> Vec<i32> {
    match s {
        Stored::Bytes(bytes) if b.storage() == Storage::Narrow16 => {
            let (narrow, wide) = bytes.split_at(2 * n);
            (0..n)
                .map(|i| {
                    let h = i16::from_le_bytes([narrow[2 * i], narrow[2 * i + 1]]);
                    if is_escape(h) {
                        i32::from_le_bytes(wide[4 * i..4 * i + 4].try_into().unwrap())
                    } else {
                        h as i32
                    }
                })
                .collect()
        }
        _ => load(b.elem, s, n),
    }
}

/// Read back `n` values (padded slot order) from stored form.
pub fn load(elem: ElemType, s: &Stored, n: usize) -> Vec<i32> {
    match s {
        Stored::Words(w) if storage_of(elem) == Storage::Packed4 => {
            unpack_int4(w, n, elem.is_signed())
        }
        Stored::Words(w) => w.iter().take(n).map(|&v| v as i32).collect(),
        Stored::Bytes(b) => b
            .iter()
            .take(n)
            .map(|&v| {
                if elem.is_signed() {
                    v as i8 as i32
                } else {
                    v as i32
                }
            })
            .collect(),
        Stored::Floats(f) => f.iter().take(n).map(|&v| v as i32).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_u4_nhwc_pads_channels_to_eight() {
        let b = ActBuffer::new(Layout::NHWC, ElemType::U4, [2, 40, 3, 5]);
        assert_eq!(b.memref_type(), "memref<2x3x5x5xi32>");
        assert_eq!(b.stored_channels(), 40);
        let b = ActBuffer::new(Layout::HWNC, ElemType::I4, [8, 3, 4, 4]);
        assert_eq!(b.memref_type(), "memref<4x4x8x1xi32>");
        assert_eq!(b.slot(1, 2, 0, 0), 8 + 2);
    }

    #[test]
    fn store_load_round_trips_every_storage() {
        let vals = vec![-8, 7, 0, -1, 3, 2, 1, -5, 6];
        for (e, v) in [
            (ElemType::I4, vals.clone()),
            (ElemType::I8, vec![-128, 127, 5]),
            (ElemType::I32, vec![1 << 30, -7]),
        ] {
            assert_eq!(load(e, &store(e, &v), v.len()), v, "{e}");
        }
        let u: Vec<i32> = (0..16).collect();
        assert_eq!(load(ElemType::U4, &store(ElemType::U4, &u), 16), u);
    }

    #[test]
    fn narrow16_marks_exactly_the_escapes_by_saturating() {
        // the kernels write the narrow plane with a saturating pack and test it for markers:
        // that finds the escapes only if a value saturates to a marker exactly when it escapes
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -65536,
            -32769,
            i32::MAX - 1,
            i32::MAX,
            65536,
        ];
        for v in (-40000..=40000).chain(edges) {
            let h = narrow_half(v);
            assert_eq!(is_escape(h), !fits_narrow(v), "{v}");
            if fits_narrow(v) {
                assert_eq!(h as i32, v, "{v}");
            }
        }
        assert!(fits_narrow(-32767) && fits_narrow(32766));
        assert!(!fits_narrow(-32768) && !fits_narrow(32767));
    }

    #[test]
    fn narrow16_escapes_exactly_the_values_outside_i16() {
        let mut b = ActBuffer::new(Layout::NHWC, ElemType::I32, [1, 6, 1, 1]);
        b.narrow = true;
        assert!(b.can_be_narrow());
        assert_eq!(b.storage(), Storage::Narrow16);
        assert_eq!(b.memref_type(), "memref<3x12xi8>");
        assert_eq!(b.bytes(), 36);
        let v = vec![-32768, -32767, 32766, 32767, i32::MIN, i32::MAX];
        let s = store_act(&b, &v);
        let Stored::Bytes(bytes) = &s else {
            panic!("narrow16 is stored as bytes")
        };
        // the narrow plane: the in-range values as they are, the rest saturated (a marker)
        let narrow: Vec<i16> = bytes[..12]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(
            narrow,
            [i16::MIN, -32767, 32766, i16::MAX, i16::MIN, i16::MAX]
        );
        assert_eq!(load_act(&b, &s, 6), v);
        // i16 maps may be narrow too, their two end values escapes; odd channel counts and
        // 4-bit / f32 buffers never are
        let mut m = ActBuffer::new(Layout::HWNC, ElemType::I16, [1, 4, 1, 1]);
        assert!(m.can_be_narrow());
        m.narrow = true;
        let v = vec![-32768, -1, 0, 32767];
        let s = store_act(&m, &v);
        let Stored::Bytes(bytes) = &s else {
            panic!("narrow16 is stored as bytes")
        };
        assert_eq!(bytes.len(), 24);
        // the escapes' exact values in the wide plane, the others' slots untouched
        assert_eq!(&bytes[8..12], &(-32768i32).to_le_bytes());
        assert_eq!(&bytes[12..20], &[0; 8]);
        assert_eq!(&bytes[20..24], &32767i32.to_le_bytes());
        assert_eq!(load_act(&m, &s, 4), v);
        assert!(!ActBuffer::new(Layout::NHWC, ElemType::I32, [1, 5, 1, 1]).can_be_narrow());
        assert!(!ActBuffer::new(Layout::NCHW, ElemType::I32, [1, 6, 1, 1]).can_be_narrow());
        assert!(!ActBuffer::new(Layout::NHWC, ElemType::U4, [1, 8, 1, 1]).can_be_narrow());
    }
}
