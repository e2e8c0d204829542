//! Dense host tensors for the reference interpreter: every integer type is held unpacked as
//! i32 (one element per value), f32 as f32. Also the `.npy` reader/writer nibble-run uses.

use crate::graph::TensorType;
use crate::semantics::ElemType;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Int(Vec<i32>),
    Float(Vec<f32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub ty: TensorType,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorError(pub String);

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for TensorError {}

fn err<T>(msg: impl Into<String>) -> Result<T, TensorError> {
    Err(TensorError(msg.into()))
}

impl Tensor {
    pub fn int(ty: TensorType, v: Vec<i32>) -> Self {
        assert_eq!(ty.numel(), v.len(), "tensor data does not match its type");
        assert!(ty.elem.is_int());
        Self {
            ty,
            data: Data::Int(v),
        }
    }
    pub fn float(ty: TensorType, v: Vec<f32>) -> Self {
        assert_eq!(ty.numel(), v.len(), "tensor data does not match its type");
        assert_eq!(ty.elem, ElemType::F32);
        Self {
            ty,
            data: Data::Float(v),
        }
    }
    pub fn ints(&self) -> &[i32] {
        match &self.data {
            Data::Int(v) => v,
            Data::Float(_) => panic!("expected an integer tensor, found f32"),
        }
    }
    pub fn floats(&self) -> &[f32] {
        match &self.data {
            Data::Float(v) => v,
            Data::Int(_) => panic!("expected an f32 tensor, found integers"),
        }
    }
    pub fn len(&self) -> usize {
        self.ty.numel()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Index of the first element that differs from `other` (bitwise for f32), or None.
    pub fn first_mismatch(&self, other: &Tensor) -> Option<usize> {
        match (&self.data, &other.data) {
            (Data::Int(a), Data::Int(b)) => a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .or((a.len() != b.len()).then(|| a.len().min(b.len()))),
            (Data::Float(a), Data::Float(b)) => a
                .iter()
                .zip(b)
                .position(|(x, y)| x.to_bits() != y.to_bits())
                .or((a.len() != b.len()).then(|| a.len().min(b.len()))),
            _ => Some(0),
        }
    }
    /// The value at flat index `i` printed for messages.
    pub fn show(&self, i: usize) -> String {
        match &self.data {
            Data::Int(v) => v.get(i).map(|x| x.to_string()).unwrap_or_default(),
            Data::Float(v) => v.get(i).map(|x| format!("{x:e}")).unwrap_or_default(),
        }
    }
    /// Multi-index of flat index `i` in this tensor's shape.
    pub fn unflatten(&self, mut i: usize) -> Vec<usize> {
        let mut idx = vec![0; self.ty.shape.len()];
        for (d, &n) in self.ty.shape.iter().enumerate().rev() {
            idx[d] = i % n as usize;
            i /= n as usize;
        }
        idx
    }

    // ---- .npy (format version 1.0, little endian, C order) ----

    pub fn to_npy(&self) -> Vec<u8> {
        let (descr, body): (&str, Vec<u8>) = match &self.data {
            Data::Float(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Data::Int(v) => ("<i4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        let shape: Vec<String> = self.ty.shape.iter().map(|d| d.to_string()).collect();
        let shape = if shape.len() == 1 {
            format!("({},)", shape[0])
        } else {
            format!("({})", shape.join(", "))
        };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Read a `.npy` file holding f32, f64 (converted), i8/u8/i16/i32/i64 (converted to i32).
    pub fn from_npy(bytes: &[u8]) -> Result<Tensor, TensorError> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return err("not a .npy file (bad magic)");
        }
        let (hlen, hstart) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return err(format!("unsupported .npy version {v}")),
        };
        let header = bytes
            .get(hstart..hstart + hlen)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| TensorError("truncated .npy header".into()))?;
        let field = |key: &str| -> Result<&str, TensorError> {
            let at = header
                .find(key)
                .ok_or_else(|| TensorError(format!(".npy header lacks {key}")))?;
            Ok(header[at + key.len()..].trim_start_matches([' ', ':', '\'']))
        };
        if field("'fortran_order'")?.starts_with("True") {
            return err(".npy in Fortran order is not supported");
        }
        let descr: String = field("'descr'")?
            .chars()
            .take_while(|c| *c != '\'')
            .collect();
        let shape_s = field("'shape'")?;
        let shape_s = &shape_s[shape_s.find('(').map(|i| i + 1).unwrap_or(0)..];
        let shape_s = &shape_s[..shape_s
            .find(')')
            .ok_or_else(|| TensorError("bad .npy shape".into()))?];
        let shape: Vec<i64> = shape_s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| TensorError(format!("bad .npy dimension '{s}'")))
            })
            .collect::<Result<_, _>>()?;
        // checked before anything is allocated: negative dims and products past the element
        // limit are errors, not wrapped sizes
        let n = crate::semantics::checked_elements(&shape)
            .map_err(|e| TensorError(format!("bad .npy shape: {e}")))? as usize;
        let body = &bytes[hstart + hlen..];
        let need = |w: usize| -> Result<(), TensorError> {
            match n.checked_mul(w) {
                Some(b) if body.len() >= b => Ok(()),
                b => err(format!(
                    ".npy body holds {} bytes, shape {:?} needs {}",
                    body.len(),
                    shape,
                    b.map_or("more than usize".to_string(), |b| b.to_string())
                )),
            }
        };
        let le = descr.trim_start_matches(['<', '|', '=']);
        macro_rules! ints {
            ($t:ty, $w:expr) => {{
                need($w)?;
                // int64 values outside i32 are an error, not wrapped
                let v: Vec<i32> = body[..n * $w]
                    .chunks_exact($w)
                    .map(|c| {
                        let x = <$t>::from_le_bytes(c.try_into().unwrap());
                        i32::try_from(x)
                            .map_err(|_| TensorError(format!(".npy value {x} does not fit in i32")))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Tensor {
                    ty: TensorType::new(shape, ElemType::I32),
                    data: Data::Int(v),
                })
            }};
        }
        match le {
            "f4" => {
                need(4)?;
                let v = body[..n * 4]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                Ok(Tensor {
                    ty: TensorType::new(shape, ElemType::F32),
                    data: Data::Float(v),
                })
            }
            "f8" => {
                need(8)?;
                let v = body[..n * 8]
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                    .collect();
                Ok(Tensor {
                    ty: TensorType::new(shape, ElemType::F32),
                    data: Data::Float(v),
                })
            }
            "i1" => ints!(i8, 1),
            "u1" => ints!(u8, 1),
            "i2" => ints!(i16, 2),
            "i4" => ints!(i32, 4),
            "i8" => ints!(i64, 8),
            other => err(format!("unsupported .npy dtype '{other}'")),
        }
    }
}

/// A small deterministic generator (SplitMix64) so inputs from `--seed N` are the same everywhere.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi] inclusive.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() * 1.732_050_8 - 3.464_101_6
    }
    /// A tensor of `ty` with values spread over the element type's range (f32: standard normal).
    pub fn tensor(&mut self, ty: &TensorType) -> Tensor {
        if ty.elem == ElemType::F32 {
            Tensor::float(ty.clone(), (0..ty.numel()).map(|_| self.normal()).collect())
        } else {
            let (lo, hi) = ty.elem.range();
            Tensor::int(
                ty.clone(),
                (0..ty.numel()).map(|_| self.int(lo, hi) as i32).collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_ints_and_floats() {
        let t = Tensor::int(
            TensorType::new(vec![2, 3], ElemType::I32),
            vec![1, -2, 3, 4, 5, -600000],
        );
        assert_eq!(Tensor::from_npy(&t.to_npy()).unwrap(), t);
        let f = Tensor::float(
            TensorType::new(vec![5], ElemType::F32),
            vec![0.5, -1.0, 3.25, 1e-7, f32::MAX],
        );
        assert_eq!(Tensor::from_npy(&f.to_npy()).unwrap(), f);
    }

    #[test]
    fn npy_int64_values_outside_i32_are_errors() {
        let body: Vec<u8> = [5i64, -(1 << 40)]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let e = Tensor::from_npy(&npy("<i8", "(2,)", &body)).unwrap_err().0;
        assert!(e.contains("-1099511627776 does not fit in i32"), "{e}");
        let body: Vec<u8> = [5i64, -7].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            Tensor::from_npy(&npy("<i8", "(2,)", &body)).unwrap().ints(),
            &[5, -7]
        );
    }

    #[test]
    fn npy_rejects_garbage_with_a_message() {
        assert!(Tensor::from_npy(b"hello").unwrap_err().0.contains("magic"));
        let mut t = Tensor::int(TensorType::new(vec![4], ElemType::I32), vec![1, 2, 3, 4]).to_npy();
        t.truncate(t.len() - 3);
        assert!(Tensor::from_npy(&t).unwrap_err().0.contains("needs 16"));
    }

    /// A hand-written header with `shape` and `descr` over `body`.
    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(body);
        v
    }

    /// Shapes found by fuzzing: negative dims and products that overflow are errors (they
    /// panicked, or wrapped to a size of 0 and were accepted without data).
    #[test]
    fn npy_shapes_are_checked_before_sizes_are_computed() {
        for (shape, want) in [
            ("(-2, 1)", "negative"),
            ("(4611686018427387904,)", "more than"),
            ("(4294967296, 4294967296)", "more than"),
            ("(9223372036854775807, 2)", "more than"),
        ] {
            let e = Tensor::from_npy(&npy("<f4", shape, &[0; 16]))
                .unwrap_err()
                .0;
            assert!(
                e.contains("bad .npy shape") && e.contains(want),
                "{shape}: {e}"
            );
        }
        // within the element limit but past the body: the byte count is reported, not wrapped
        let e = Tensor::from_npy(&npy("<i2", "(1000000,)", &[0; 16]))
            .unwrap_err()
            .0;
        assert!(e.contains("needs 2000000"), "{e}");
        let t = Tensor::from_npy(&npy("<i2", "(2, 1)", &[1, 0, 255, 255])).unwrap();
        assert_eq!(t.ty.shape, vec![2, 1]);
    }

    #[test]
    fn first_mismatch_finds_the_index() {
        let ty = TensorType::new(vec![4], ElemType::I32);
        let a = Tensor::int(ty.clone(), vec![1, 2, 3, 4]);
        let b = Tensor::int(ty, vec![1, 2, 9, 4]);
        assert_eq!(a.first_mismatch(&a), None);
        assert_eq!(a.first_mismatch(&b), Some(2));
    }
}
