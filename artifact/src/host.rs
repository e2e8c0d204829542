//! Host tensors <-> the bytes of a device buffer, with no GPU: a network input (f32 NCHW image
//! or integer tensor, indexed in its [`Io`] layout) becomes the buffer's stored form (layout,
//! channel padding with zeros, INT4 packing: `nibble_tcconv::buffer`), and an output buffer's
//! bytes become the logical qnn tensor again.

use crate::plan::{BufferSlot, Io};
use nibble_qnn::graph::TensorType;
use nibble_qnn::semantics::ElemType;
use nibble_qnn::tensor::{Data, Tensor};
use nibble_tcconv::buffer::{self, ActBuffer, Storage, Stored};

/// The host tensor type of an input or output.
pub fn tensor_type(io: &Io) -> Result<TensorType, String> {
    nibble_qnn::semantics::checked_elements(&io.shape)?;
    Ok(TensorType::new(io.shape.clone(), io.elem_type()?))
}

/// Number of logical slots (values, channel padding included) of a buffer.
fn slot_count(ab: &ActBuffer) -> usize {
    match ab.storage() {
        Storage::Packed4 => ab.stored_len() * 8,
        _ => ab.stored_len(),
    }
}

/// For every logical (n, c, h, w): (host flat index, buffer slot).
fn index_pairs(io: &Io, ab: &ActBuffer) -> Result<Vec<(usize, usize)>, String> {
    let layout = io.layout_of()?;
    let dims = ab.dims;
    if io.shape.len() != layout.rank() || layout.nchw(&io.shape) != dims {
        return Err(format!(
            "host shape {:?} ({}) does not match buffer dims {dims:?}",
            io.shape, io.layout
        ));
    }
    let s = layout.strides(dims);
    let [nn, cc, hh, ww] = dims;
    let mut v = Vec::with_capacity((nn * cc * hh * ww).max(0) as usize);
    for n in 0..nn {
        for c in 0..cc {
            for h in 0..hh {
                for w in 0..ww {
                    let host = n as usize * s[0]
                        + c as usize * s[1]
                        + h as usize * s[2]
                        + w as usize * s[3];
                    v.push((host, ab.slot(n, c, h, w)));
                }
            }
        }
    }
    Ok(v)
}

fn le_bytes(s: &Stored) -> Vec<u8> {
    match s {
        Stored::Words(w) => w.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Stored::Bytes(b) => b.clone(),
        Stored::Floats(f) => f.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The bytes to copy into `buf` for host tensor `t` (exactly the buffer's stored size).
pub fn to_stored(io: &Io, buf: &BufferSlot, t: &Tensor) -> Result<Vec<u8>, String> {
    let ab = buf.act_buffer()?;
    let elem = io.elem_type()?;
    if t.ty.shape != io.shape {
        return Err(format!(
            "shape {:?}, the network takes {:?}",
            t.ty.shape, io.shape
        ));
    }
    let pairs = index_pairs(io, &ab)?;
    let n = slot_count(&ab);
    let bytes = match (&t.data, elem) {
        (Data::Float(v), ElemType::F32) => {
            let mut slots = vec![0f32; n];
            for &(h, s) in &pairs {
                slots[s] = v[h];
            }
            le_bytes(&Stored::Floats(slots))
        }
        (Data::Int(v), e) if e.is_int() => {
            let (lo, hi) = e.range();
            if let Some(i) = v.iter().position(|&x| (x as i64) < lo || (x as i64) > hi) {
                return Err(format!(
                    "element {i} = {} is outside the {e} range [{lo}, {hi}]",
                    v[i]
                ));
            }
            let mut slots = vec![0i32; n];
            for &(h, s) in &pairs {
                slots[s] = v[h];
            }
            le_bytes(&buffer::store(e, &slots))
        }
        (Data::Float(_), e) => return Err(format!("an f32 tensor, the network takes {e}")),
        (Data::Int(_), _) => return Err("an integer tensor, the network takes f32".into()),
    };
    debug_assert_eq!(bytes.len(), ab.bytes());
    Ok(bytes)
}

/// The host tensor held by the stored bytes of `buf` (at least the buffer's stored size).
pub fn from_stored(io: &Io, buf: &BufferSlot, bytes: &[u8]) -> Result<Tensor, String> {
    let ab = buf.act_buffer()?;
    let elem = io.elem_type()?;
    let need = ab.bytes();
    if bytes.len() < need {
        return Err(format!(
            "{} bytes read back, the buffer stores {need}",
            bytes.len()
        ));
    }
    let bytes = &bytes[..need];
    let pairs = index_pairs(io, &ab)?;
    let ty = tensor_type(io)?;
    let words = || {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<u32>>()
    };
    if elem == ElemType::F32 {
        let f: Vec<f32> = words().into_iter().map(f32::from_bits).collect();
        let mut out = vec![0f32; ty.numel()];
        for &(h, s) in &pairs {
            out[h] = f[s];
        }
        return Ok(Tensor {
            ty,
            data: Data::Float(out),
        });
    }
    let stored = match ab.storage() {
        Storage::Byte => Stored::Bytes(bytes.to_vec()),
        _ => Stored::Words(words()),
    };
    let slots = buffer::load(elem, &stored, slot_count(&ab));
    let mut out = vec![0i32; ty.numel()];
    for &(h, s) in &pairs {
        out[h] = slots[s];
    }
    Ok(Tensor {
        ty,
        data: Data::Int(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nibble_qnn::tensor::Rng;

    fn slot(layout: &str, elem: &str, dims: [i64; 4]) -> BufferSlot {
        let mut b = BufferSlot {
            offset: 0,
            bytes: 0,
            layout: layout.into(),
            elem: elem.into(),
            dims,
        };
        b.bytes = b.act_buffer().unwrap().bytes() as u64;
        b
    }

    #[test]
    fn round_trips_every_storage_and_layout() {
        let cases = [
            ("NCHW", "f32", [2, 3, 4, 5], "NCHW"),
            ("NHWC", "ui4", [2, 3, 4, 5], "NCHW"),
            ("HWNC", "i4", [2, 12, 3, 3], "NHWC"),
            ("NHWC", "i8", [1, 5, 2, 2], "NCHW"),
            ("NC", "i32", [3, 10, 1, 1], "NC"),
            ("NC", "f32", [3, 10, 1, 1], "NC"),
            ("NHWC", "ui8", [1, 3, 2, 2], "HWNC"),
        ];
        for (bl, e, dims, hl) in cases {
            let b = slot(bl, e, dims);
            let layout = nibble_qnn::semantics::Layout::parse(hl).unwrap();
            let io = Io {
                buffer: 0,
                shape: layout.shape(dims),
                elem: e.into(),
                layout: hl.into(),
            };
            let t = Rng(3).tensor(&tensor_type(&io).unwrap());
            let bytes = to_stored(&io, &b, &t).unwrap();
            assert_eq!(bytes.len() as u64, b.bytes, "{bl} {e}");
            assert_eq!(
                from_stored(&io, &b, &bytes).unwrap(),
                t,
                "{bl} {e} from {hl}"
            );
        }
    }

    #[test]
    fn packs_low_nibble_first_with_zero_padding() {
        // 1x3x1x1 ui4 NHWC: channels padded to 8, one word; values 1, 2, 3 in nibbles 0..2.
        let b = slot("NHWC", "ui4", [1, 3, 1, 1]);
        let io = Io {
            buffer: 0,
            shape: vec![1, 3, 1, 1],
            elem: "ui4".into(),
            layout: "NCHW".into(),
        };
        let t = Tensor::int(tensor_type(&io).unwrap(), vec![1, 2, 3]);
        assert_eq!(to_stored(&io, &b, &t).unwrap(), 0x321u32.to_le_bytes());
    }

    #[test]
    fn rejects_wrong_inputs() {
        let b = slot("NHWC", "i4", [1, 3, 1, 1]);
        let io = Io {
            buffer: 0,
            shape: vec![1, 3, 1, 1],
            elem: "i4".into(),
            layout: "NCHW".into(),
        };
        let ty = tensor_type(&io).unwrap();
        assert!(to_stored(&io, &b, &Tensor::int(ty.clone(), vec![1, 9, 0]))
            .unwrap_err()
            .contains("outside the i4 range"));
        let f = Tensor::float(
            TensorType::new(vec![1, 3, 1, 1], ElemType::F32),
            vec![0.0; 3],
        );
        assert!(to_stored(&io, &b, &f).unwrap_err().contains("takes i4"));
        let wrong = Tensor::int(TensorType::new(vec![1, 3, 1], ElemType::I4), vec![0; 3]);
        assert!(to_stored(&io, &b, &wrong).unwrap_err().contains("shape"));
        assert!(from_stored(&io, &b, &[0u8; 2])
            .unwrap_err()
            .contains("bytes read back"));
    }
}
