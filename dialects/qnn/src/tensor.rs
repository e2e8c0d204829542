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

    // ---- .npy through the npyz crate (C order; f32 / i32 written, common dtypes read) ----

    pub fn to_npy(&self) -> Vec<u8> {
        use npyz::WriterBuilder;
        let shape: Vec<u64> = self.ty.shape.iter().map(|&d| d as u64).collect();
        let mut out = vec![];
        let written = match &self.data {
            Data::Float(v) => npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .and_then(|mut w| w.extend(v.iter().copied()).and_then(|_| w.finish())),
            Data::Int(v) => npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .and_then(|mut w| w.extend(v.iter().copied()).and_then(|_| w.finish())),
        };
        written.expect("writing .npy to memory cannot fail");
        out
    }

    /// Read a `.npy` file holding f32, f64 (converted), i8/u8/i16/i32/i64 (converted to i32;
    /// values outside i32 are an error), in C order. The shape is checked against the element
    /// limit and the file's length before anything is allocated.
    pub fn from_npy(bytes: &[u8]) -> Result<Tensor, TensorError> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return err("not a .npy file (bad magic)");
        }
        // where the data starts: after the magic, the version, the header length and the header
        let data_at = match bytes[6] {
            1 => 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize,
            _ if bytes.len() >= 12 => {
                12 + u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
            }
            _ => return err("truncated .npy header"),
        };
        // npyz's header parser takes exponential time on nested brackets (found by fuzzing):
        // a plain dtype's header is one dict with one shape tuple, nothing else is read
        let head = bytes.get(10..data_at.min(bytes.len())).unwrap_or(&[]);
        let count = |c: u8| head.iter().filter(|&&b| b == c).count();
        if data_at > 10 + 65536 || count(b'[') > 0 || count(b'{') > 1 || count(b'(') > 1 {
            return err(
                ".npy header is not a plain one (structured dtypes and nested values are not read)",
            );
        }
        // npyz multiplies the dims without checking (a hostile header overflows it): the
        // shape's element count is checked here first
        let h = String::from_utf8_lossy(head);
        if let (Some(a), Some(b)) = (h.find('('), h.find(')')) {
            if a < b {
                let dims: Vec<i64> = h[a + 1..b]
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(|d| d.parse::<i64>().unwrap_or(i64::MAX))
                    .collect();
                crate::semantics::checked_elements(&dims)
                    .map_err(|e| TensorError(format!("bad .npy shape: {e}")))?;
            }
        }
        let f = npyz::NpyFile::new(bytes)
            .map_err(|e| TensorError(format!("not a valid .npy file: {e}")))?;
        let body = bytes.len().saturating_sub(data_at);
        if f.order() != npyz::Order::C {
            return err(".npy in Fortran order is not supported");
        }
        let shape: Vec<i64> = f
            .shape()
            .iter()
            .map(|&d| i64::try_from(d).map_err(|_| TensorError(format!("bad .npy dimension {d}"))))
            .collect::<Result<_, _>>()?;
        let n = crate::semantics::checked_elements(&shape)
            .map_err(|e| TensorError(format!("bad .npy shape: {e}")))? as usize;
        let npyz::DType::Plain(ts) = f.dtype() else {
            return err(format!("unsupported .npy dtype {}", f.dtype().descr()));
        };
        let width = ts.size_field() as usize;
        // the data must be there before a vector of its length is made, and nothing after it
        // (a file with trailing bytes is not what numpy writes: truncated or concatenated)
        match n.checked_mul(width) {
            Some(b) if b == body => {}
            b => {
                return err(format!(
                    ".npy body holds {} bytes, shape {:?} needs {}",
                    body,
                    shape,
                    b.map_or("more than usize".to_string(), |b| b.to_string())
                ))
            }
        }
        use npyz::TypeChar::{Float, Int, Uint};
        let ints = |v: Vec<i64>| -> Result<Tensor, TensorError> {
            let v = v
                .into_iter()
                .map(|x| {
                    i32::try_from(x)
                        .map_err(|_| TensorError(format!(".npy value {x} does not fit in i32")))
                })
                .collect::<Result<_, _>>()?;
            Ok(Tensor {
                ty: TensorType::new(shape.clone(), ElemType::I32),
                data: Data::Int(v),
            })
        };
        let floats = |v: Vec<f32>| Tensor {
            ty: TensorType::new(shape.clone(), ElemType::F32),
            data: Data::Float(v),
        };
        fn read<T: npyz::Deserialize>(f: npyz::NpyFile<&[u8]>) -> Result<Vec<T>, TensorError> {
            f.into_vec::<T>()
                .map_err(|e| TensorError(format!(".npy data: {e}")))
        }
        fn wide<T: npyz::Deserialize + Into<i64>>(
            f: npyz::NpyFile<&[u8]>,
        ) -> Result<Vec<i64>, TensorError> {
            Ok(read::<T>(f)?.into_iter().map(Into::into).collect())
        }
        match (ts.type_char(), width) {
            (Float, 4) => Ok(floats(read::<f32>(f)?)),
            (Float, 8) => Ok(floats(
                read::<f64>(f)?.into_iter().map(|x| x as f32).collect(),
            )),
            (Int, 1) => ints(wide::<i8>(f)?),
            (Uint, 1) => ints(wide::<u8>(f)?),
            (Int, 2) => ints(wide::<i16>(f)?),
            (Int, 4) => ints(wide::<i32>(f)?),
            (Int, 8) => ints(read::<i64>(f)?),
            _ => err(format!("unsupported .npy dtype {}", f.dtype().descr())),
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
        // trailing bytes: not a file numpy wrote
        let mut long = f.to_npy();
        long.extend_from_slice(b"junk");
        let e = Tensor::from_npy(&long).unwrap_err().to_string();
        assert!(e.contains("holds 24 bytes, shape [5] needs 20"), "{e}");
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
    fn npy_fuzz_regressions_are_errors_not_crashes() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/regressions/npy_safetensors"
        );
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            // each one once crashed or hung the reader, or was accepted with a wrapped size
            let _ = Tensor::from_npy(&bytes);
            n += 1;
        }
        assert!(n >= 3);
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
