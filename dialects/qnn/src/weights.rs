//! Named weights in safetensors files. Integer weights are stored one value per element:
//! `i4`/`i8` as I8, `ui4`/`ui8` as U8, `i16` as I16, `i32` as I32 (the IR type says which
//! range applies); `f32` as F32. Packing into kernel layouts happens later, in tcconv.

use crate::graph::{Graph, Op, TensorType};
use crate::semantics::ElemType;
use crate::tensor::{Data, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
}

impl Weights {
    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.tensors.insert(name.into(), t);
    }
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: cannot read weights: {e}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file: {e}"))?;
        let mut w = Weights::default();
        for (name, view) in st.tensors() {
            let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            let d = view.data();
            // one loop per dtype (no call per element: they vectorize)
            let (elem, data) = match view.dtype() {
                Dtype::I8 => (
                    ElemType::I8,
                    Data::Int(d.iter().map(|&b| b as i8 as i32).collect()),
                ),
                Dtype::U8 => (
                    ElemType::U8,
                    Data::Int(d.iter().map(|&b| b as i32).collect()),
                ),
                Dtype::I16 => (
                    ElemType::I16,
                    Data::Int(
                        d.chunks_exact(2)
                            .map(|c| i16::from_le_bytes([c[0], c[1]]) as i32)
                            .collect(),
                    ),
                ),
                Dtype::I32 => (
                    ElemType::I32,
                    Data::Int(
                        d.chunks_exact(4)
                            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect(),
                    ),
                ),
                Dtype::F32 => (
                    ElemType::F32,
                    Data::Float(
                        d.chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect(),
                    ),
                ),
                other => return Err(format!("weight '{name}' has unsupported dtype {other:?}")),
            };
            w.insert(
                name,
                Tensor {
                    ty: TensorType::new(shape, elem),
                    data,
                },
            );
        }
        Ok(w)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut bufs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![];
        for (name, t) in &self.tensors {
            let shape: Vec<usize> = t.ty.shape.iter().map(|&d| d as usize).collect();
            let dtype = stored_dtype(t);
            let bytes: Vec<u8> = match (&t.data, dtype) {
                (Data::Float(v), _) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                (Data::Int(v), Dtype::I8 | Dtype::U8) => v.iter().map(|&x| x as u8).collect(),
                (Data::Int(v), Dtype::I16) => {
                    v.iter().flat_map(|&x| (x as i16).to_le_bytes()).collect()
                }
                (Data::Int(v), _) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            };
            bufs.push((name.clone(), dtype, shape, bytes));
        }
        let views: Vec<_> = bufs
            .iter()
            .map(|(n, dt, s, b)| (n.clone(), *dt, s.clone(), b.as_slice()))
            .collect();
        serialize(&views)
    }

    /// Whether `file` (safetensors bytes that [`from_bytes`](Self::from_bytes) read and
    /// [`into_bound`](Self::into_bound) bound into `self`) holds exactly these tensors in the
    /// dtypes [`to_bytes`](Self::to_bytes) would write: then it can be copied instead.
    pub fn stored_as(&self, file: &[u8]) -> bool {
        let Ok(st) = SafeTensors::deserialize(file) else {
            return false;
        };
        st.len() == self.tensors.len()
            && st.tensors().iter().all(|(n, v)| {
                self.tensors.get(n).is_some_and(|t| {
                    stored_dtype(t) == v.dtype()
                        && v.shape()
                            .iter()
                            .map(|&d| d as i64)
                            .eq(t.ty.shape.iter().copied())
                })
            })
    }

    /// Write atomically: a temp file next to `path`, then rename.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let bytes = self.to_bytes()?;
        crate::write_atomically(path, &bytes)
    }

    /// Check that every `qnn.weight` of `g` exists with the declared shape and a value range that
    /// fits the declared element type; re-tag the stored tensors with the IR's element type.
    pub fn bind(&self, g: &Graph) -> Result<Weights, String> {
        self.clone().into_bound(g)
    }

    /// [`bind`](Self::bind) without copying the tensors: the bound weights take them over.
    pub fn into_bound(mut self, g: &Graph) -> Result<Weights, String> {
        let mut out = Weights::default();
        for n in &g.nodes {
            let Op::Weight { name } = &n.op else { continue };
            let loc = if n.loc.is_empty() {
                String::new()
            } else {
                format!("{}: ", n.loc)
            };
            let in_error = |e: String| format!("{loc}error: weight '{name}': {e}");
            // a weight read by several nodes is bound once, each node checked against it
            if let Some(t) = out.tensors.get(name) {
                check(t, &n.result).map_err(in_error)?;
                continue;
            }
            let t = self.tensors.remove(name).ok_or_else(|| {
                format!("{loc}error: weight '{name}' is missing from the weights file")
            })?;
            check(&t, &n.result).map_err(in_error)?;
            out.insert(
                name.clone(),
                Tensor {
                    ty: n.result.clone(),
                    data: t.data,
                },
            );
        }
        Ok(out)
    }
}

/// The safetensors dtype a tensor is written as: `i4`/`i8` as I8, `ui4`/`ui8` as U8, `i16` as
/// I16, other integers as I32, floats as F32.
fn stored_dtype(t: &Tensor) -> Dtype {
    match (&t.data, t.ty.elem) {
        (Data::Float(_), _) => Dtype::F32,
        (Data::Int(_), ElemType::I4 | ElemType::I8) => Dtype::I8,
        (Data::Int(_), ElemType::U4 | ElemType::U8) => Dtype::U8,
        (Data::Int(_), ElemType::I16) => Dtype::I16,
        (Data::Int(_), _) => Dtype::I32,
    }
}

/// A safetensors file of `(name, dtype, shape, little-endian bytes)` in the given order.
fn serialize(bufs: &[(String, Dtype, Vec<usize>, &[u8])]) -> Result<Vec<u8>, String> {
    let views = bufs
        .iter()
        .map(|(n, dt, s, b)| {
            TensorView::new(*dt, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| format!("tensor '{n}': {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, &None).map_err(|e| e.to_string())
}

/// Raw tensors as a safetensors file, written atomically: `(name, shape, bytes)` where `bytes`
/// are U8 values (`words == false`) or little-endian I32 words (the file orders them itself).
pub fn save_raw(path: &Path, tensors: &[(String, Vec<i64>, bool, &[u8])]) -> Result<(), String> {
    let bufs: Vec<(String, Dtype, Vec<usize>, &[u8])> = tensors
        .iter()
        .map(|(n, shape, words, b)| {
            let dt = if *words { Dtype::I32 } else { Dtype::U8 };
            (
                n.clone(),
                dt,
                shape.iter().map(|&d| d as usize).collect(),
                *b,
            )
        })
        .collect();
    crate::write_atomically(path, &serialize(&bufs)?)
}

/// Whether the stored tensor `t` can be the IR's `want`: the same shape, and values of the
/// IR's element type (floats for f32).
fn check(t: &Tensor, want: &TensorType) -> Result<(), String> {
    if t.ty.shape != want.shape {
        return Err(format!(
            "shape {:?} in the file, {:?} in the IR",
            t.ty.shape, want.shape
        ));
    }
    match (&t.data, want.elem) {
        (Data::Float(_), ElemType::F32) => Ok(()),
        (Data::Int(v), e) if e.is_int() => {
            let (lo, hi) = e.range();
            match v.iter().position(|&x| (x as i64) < lo || (x as i64) > hi) {
                Some(i) => Err(format!(
                    "element {i} = {} is outside {e} range [{lo}, {hi}]",
                    v[i]
                )),
                None => Ok(()),
            }
        }
        _ => Err(format!(
            "stored as {}, the IR wants {}",
            t.ty.elem, want.elem
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_keeps_values() {
        let mut w = Weights::default();
        w.insert(
            "a",
            Tensor::int(
                TensorType::new(vec![2, 2], ElemType::I4),
                vec![-8, 7, 0, -1],
            ),
        );
        w.insert(
            "b",
            Tensor::int(
                TensorType::new(vec![3], ElemType::I32),
                vec![1 << 30, -5, 0],
            ),
        );
        w.insert(
            "c",
            Tensor::float(TensorType::new(vec![1], ElemType::F32), vec![0.25]),
        );
        let back = Weights::from_bytes(&w.to_bytes().unwrap()).unwrap();
        assert_eq!(back.get("a").unwrap().ints(), &[-8, 7, 0, -1]);
        assert_eq!(back.get("b").unwrap().ints(), &[1 << 30, -5, 0]);
        assert_eq!(back.get("c").unwrap().floats(), &[0.25]);
    }

    #[test]
    fn bind_reports_missing_and_out_of_range_weights() {
        let mut g = Graph::new("f", vec![]);
        g.push(
            Op::Weight { name: "w".into() },
            vec![],
            TensorType::new(vec![2], ElemType::I4),
        );
        let empty = Weights::default();
        assert!(empty.bind(&g).unwrap_err().contains("'w' is missing"));
        let mut w = Weights::default();
        w.insert(
            "w",
            Tensor::int(TensorType::new(vec![2], ElemType::I8), vec![3, 9]),
        );
        assert!(w.bind(&g).unwrap_err().contains("outside i4 range"));
        let mut w = Weights::default();
        w.insert(
            "w",
            Tensor::int(TensorType::new(vec![3], ElemType::I8), vec![3, 1, 1]),
        );
        assert!(w.bind(&g).unwrap_err().contains("shape"));
    }
}
