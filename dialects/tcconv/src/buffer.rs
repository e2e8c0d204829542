//! Buffers as the kernels read them: the one place that says where element (n, c, h, w) of an
//! activation lives, and how 4-bit values are packed (nibble order from `nibble_qnn::semantics`).
//!
//! Storage rules:
//! - 4-bit (`i4`/`ui4`): 8 channels per 32-bit word, channels padded to a multiple of 8 with zeros.
//! - 8-bit (`i8`/`ui8`): one byte per value, channels padded to a multiple of 4 (32-bit loads).
//! - `i16`/`i32`: one i32 per value; `f32`: one f32 per value; no padding.
//! Layouts put channels innermost (NHWC, HWNC, NC) except NCHW, used only for f32 edges.

use nibble_qnn::semantics::{pack_int4, unpack_int4, ElemType, Layout};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActBuffer {
    pub layout: Layout,
    pub elem: ElemType,
    /// Logical (n, c, h, w); h = w = 1 for `NC`.
    pub dims: [i64; 4],
}

/// How one element is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Packed4,
    Byte,
    Word32,
}

impl ActBuffer {
    pub fn new(layout: Layout, elem: ElemType, dims: [i64; 4]) -> Self {
        Self { layout, elem, dims }
    }
    pub fn storage(&self) -> Storage {
        storage_of(self.elem)
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
            (Storage::Byte, _) => "i8",
            (Storage::Word32, ElemType::F32) => "f32",
            (Storage::Word32, _) => "i32",
        }
    }
    pub fn memref_type(&self) -> String {
        let dims: Vec<String> = self.memref_shape().iter().map(|d| d.to_string()).collect();
        format!("memref<{}x{}>", dims.join("x"), self.memref_elem())
    }
    /// Number of stored elements (words for 4-bit, bytes for 8-bit, 32-bit values otherwise).
    pub fn stored_len(&self) -> usize {
        self.memref_shape().iter().product::<i64>() as usize
    }
    pub fn bytes(&self) -> usize {
        self.stored_len()
            * if self.storage() == Storage::Byte {
                1
            } else {
                4
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

pub fn padded_channels(e: ElemType, c: i64) -> i64 {
    match storage_of(e) {
        Storage::Packed4 => (c + 7) / 8 * 8,
        Storage::Byte => (c + 3) / 4 * 4,
        Storage::Word32 => c,
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
        Storage::Word32 => Stored::Words(slots.iter().map(|&v| v as u32).collect()),
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
}
