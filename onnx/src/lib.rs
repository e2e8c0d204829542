//! Reading ONNX models without Python: `onnx.proto` messages decoded by prost ([`proto`]), with
//! limits checked before the decoder allocates anything.
//!
//! - [`read`]: file bytes -> [`proto::ModelProto`]. The file is at most [`MAX_FILE_BYTES`]
//!   (protobuf's own 2 GiB); before decoding, one pass over the wire format ([`decoded_bytes`])
//!   bounds what decoding will allocate (every message, string and repeated element it will
//!   build) by [`MAX_DECODED_BYTES`], so a small file of many empty messages is refused instead
//!   of expanding a hundredfold. Nesting is bounded by prost's recursion limit.
//! - [`tensor`]: an initializer or constant -> [`Tensor`] (dims and typed values), checked:
//!   dims non-negative, element count within [`MAX_TENSOR_ELEMENTS`], stored length equal to the
//!   dims' product. Data in external files is refused with a message saying how to embed it.
//! - [`Attrs`]: a node's attributes by name with their declared types checked.

pub mod proto;

use prost::encoding::{decode_key, decode_varint, WireType};
use prost::Message;
use proto::{data_type as dt, AttributeProto, ModelProto, NodeProto, TensorProto};

/// Largest model file read (protobuf messages are limited to 2 GiB).
pub const MAX_FILE_BYTES: u64 = 2 << 30;
/// Largest amount of memory decoding a model may allocate (structures, strings, arrays).
pub const MAX_DECODED_BYTES: u64 = 3 << 30;
/// Most elements of one repeated field (nodes, initializers, graph inputs, dims, ...): CNNs
/// have thousands of nodes.
pub const MAX_REPEATED: u64 = 1 << 20;
/// Largest tensor (elements) read from a model.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 31;

/// Decode a model from its file bytes.
pub fn read(bytes: &[u8]) -> Result<ModelProto, String> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {} bytes, more than the {} an ONNX model can have",
            bytes.len(),
            MAX_FILE_BYTES
        ));
    }
    let need = decoded_bytes(bytes)?;
    if need > MAX_DECODED_BYTES {
        return Err(format!(
            "decoding this model would allocate about {need} bytes (limit {MAX_DECODED_BYTES}): not a plausible ONNX model"
        ));
    }
    let model = ModelProto::decode(bytes).map_err(|e| format!("not a valid ONNX model: {e}"))?;
    if model.graph.is_none() {
        return Err(
            "not an ONNX model: it has no graph (a file of another kind, or a GraphProto saved without its ModelProto)"
                .into(),
        );
    }
    Ok(model)
}

/// The bytes of a model file (its size checked before it is read).
pub fn read_file_bytes(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{}: {len} bytes, more than the {MAX_FILE_BYTES} an ONNX model can have",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Whether the bytes look like an ONNX model: a protobuf message whose first field is
/// `ir_version` (what every ONNX writer puts first) or `graph`.
pub fn looks_like_onnx(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0x08) | Some(0x3a))
}

/// The message kinds [`decoded_bytes`] descends into (those [`proto`] declares).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Model,
    Opset,
    Graph,
    Node,
    Attribute,
    Tensor,
    StringEntry,
    ValueInfo,
    Type,
    TypeTensor,
    Shape,
    Dim,
}

impl Kind {
    /// The message kind of field `tag`, if it is a declared message field.
    fn field(self, tag: u32) -> Option<Kind> {
        use Kind::*;
        Some(match (self, tag) {
            (Model, 7) => Graph,
            (Model, 8) => Opset,
            (Graph, 1) => Node,
            (Graph, 5) => Tensor,
            (Graph, 11 | 12 | 13) => ValueInfo,
            (Node, 5) => Attribute,
            (Attribute, 5) => Tensor,
            (Tensor, 13) => StringEntry,
            (ValueInfo, 2) => Type,
            (Type, 1) => TypeTensor,
            (TypeTensor, 2) => Shape,
            (Shape, 1) => Dim,
            _ => return None,
        })
    }
    /// Whether field `tag` of this message is repeated (a `Vec` that grows by doubling).
    fn repeated(self, tag: u32) -> bool {
        use Kind::*;
        matches!(
            (self, tag),
            (Model, 8)
                | (Graph, 1 | 2 | 5 | 11 | 12 | 13)
                | (Node, 1 | 2 | 5)
                | (Tensor, 1 | 4 | 5 | 6 | 7 | 10 | 11 | 13)
                | (Attribute, 7 | 8 | 9)
                | (Shape, 1)
        )
    }
    /// Bytes a decoded element takes per encoded byte of a packed field `tag` (varints of
    /// one byte decoded into 4- or 8-byte integers), else None.
    fn packed_varints(self, tag: u32) -> Option<u64> {
        use Kind::*;
        match (self, tag) {
            (Tensor, 5) => Some(4),
            (Tensor, 1 | 7 | 11) | (Attribute, 8) => Some(8),
            _ => None,
        }
    }
    /// Bytes of the decoded struct.
    fn size(self) -> u64 {
        use std::mem::size_of;
        use Kind::*;
        (match self {
            Model => size_of::<ModelProto>(),
            Opset => size_of::<proto::OperatorSetIdProto>(),
            Graph => size_of::<proto::GraphProto>(),
            Node => size_of::<NodeProto>(),
            Attribute => size_of::<AttributeProto>(),
            Tensor => size_of::<TensorProto>(),
            StringEntry => size_of::<proto::StringStringEntryProto>(),
            ValueInfo => size_of::<proto::ValueInfoProto>(),
            Type => size_of::<proto::TypeProto>(),
            TypeTensor => size_of::<proto::TypeProtoTensor>(),
            Shape => size_of::<proto::TensorShapeProto>(),
            Dim => size_of::<proto::Dimension>(),
        }) as u64
    }
}

/// An upper bound of what decoding `bytes` as a model allocates, found by walking the wire
/// format (no allocation): each message costs its struct, each string or byte field its bytes
/// plus a `Vec` header, a packed array its decoded elements (up to 8 bytes per encoded byte),
/// each scalar an 8-byte element; elements of repeated fields count twice (a `Vec` doubles as
/// it grows). A repeated field of more than [`MAX_REPEATED`] elements is an error of its own.
pub fn decoded_bytes(bytes: &[u8]) -> Result<u64, String> {
    fn walk(mut buf: &[u8], kind: Kind, depth: u32) -> Result<u64, String> {
        if depth > 64 {
            return Err("messages nested too deeply".into());
        }
        let bad = |e: prost::DecodeError| format!("not a valid ONNX model: {e}");
        let mut total = kind.size();
        // elements of each repeated field so far (tags are small in onnx.proto)
        let mut counts = [0u64; 32];
        while !buf.is_empty() {
            let (tag, wire) = decode_key(&mut buf).map_err(bad)?;
            let grows = if kind.repeated(tag) { 2 } else { 1 };
            if grows == 2 {
                let c = &mut counts[tag as usize % 32];
                *c += 1;
                if *c > MAX_REPEATED {
                    let what = match (kind, tag) {
                        (Kind::Graph, 1) => "the graph's nodes".to_string(),
                        (Kind::Graph, 5) => "the graph's initializers".to_string(),
                        (Kind::Graph, 11) => "the graph's inputs".to_string(),
                        (Kind::Graph, 12) => "the graph's outputs".to_string(),
                        (Kind::Node, 1 | 2) => "a node's inputs or outputs".to_string(),
                        _ => format!("field {tag} of a {kind:?} message"),
                    };
                    return Err(format!(
                        "not a plausible ONNX model: {what} number more than {MAX_REPEATED}"
                    ));
                }
            }
            match wire {
                WireType::Varint => {
                    decode_varint(&mut buf).map_err(bad)?;
                    total += 8 * grows;
                }
                WireType::SixtyFourBit | WireType::ThirtyTwoBit => {
                    let n = if wire == WireType::SixtyFourBit { 8 } else { 4 };
                    if buf.len() < n {
                        return Err("not a valid ONNX model: truncated field".into());
                    }
                    buf = &buf[n..];
                    total += 8 * grows;
                }
                WireType::LengthDelimited => {
                    let len = decode_varint(&mut buf).map_err(bad)?;
                    if len > buf.len() as u64 {
                        return Err("not a valid ONNX model: a field runs past the end".into());
                    }
                    let (body, rest) = buf.split_at(len as usize);
                    buf = rest;
                    total += match (kind.field(tag), kind.packed_varints(tag)) {
                        // the doubling is of the element array, not of what elements own
                        (Some(k), _) => walk(body, k, depth + 1)? + (grows - 1) * k.size(),
                        (None, Some(per_byte)) => 24 + per_byte * len,
                        (None, None) => grows * 24 + len,
                    };
                }
                WireType::StartGroup | WireType::EndGroup => {
                    return Err(
                        "not a valid ONNX model: protobuf groups are not used by ONNX".into(),
                    )
                }
            }
        }
        Ok(total)
    }
    walk(bytes, Kind::Model, 0)
}

/// Typed tensor values (4-bit values unpacked one per element).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I4(Vec<i8>),
    U4(Vec<u8>),
}

impl Data {
    /// Integer values (None for float data).
    pub fn ints(&self) -> Option<Vec<i64>> {
        Some(match self {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I8(v) | Data::I4(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) | Data::U4(v) => v.iter().map(|&x| x as i64).collect(),
            Data::F32(_) | Data::F64(_) => return None,
        })
    }
    /// Float values (None for integer data; f64 narrowed to f32).
    pub fn floats(&self) -> Option<Vec<f32>> {
        match self {
            Data::F32(v) => Some(v.clone()),
            Data::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            _ => None,
        }
    }
}

/// A tensor read from a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub dims: Vec<usize>,
    /// The ONNX data type (`proto::data_type`).
    pub data_type: i32,
    pub data: Data,
}

/// The values of a `TensorProto`, checked against its dims.
pub fn tensor(t: &TensorProto) -> Result<Tensor, String> {
    let name = &t.name;
    if t.data_location == 1 || !t.external_data.is_empty() {
        let loc = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map(|e| e.value.as_str())
            .unwrap_or("?");
        return Err(format!(
            "tensor '{name}' keeps its data in the external file '{loc}': external data is not read; \
             save the model with its data inside (onnx.save_model(model, path, save_as_external_data=False))"
        ));
    }
    let mut numel: u64 = 1;
    let mut dims = Vec::with_capacity(t.dims.len().min(16));
    for &d in &t.dims {
        if d < 0 {
            return Err(format!("tensor '{name}' has a negative dimension {d}"));
        }
        numel = numel
            .checked_mul(d as u64)
            .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| {
                format!(
                    "tensor '{name}' has dims {:?}: more than {MAX_TENSOR_ELEMENTS} elements",
                    t.dims
                )
            })?;
        dims.push(d as usize);
    }
    let n = numel as usize;
    let raw = &t.raw_data;
    let mismatch = |have: usize, what: &str| {
        format!(
            "tensor '{name}' ({} {:?}) holds {have} {what}, its dims need {n}",
            dt::name(t.data_type),
            t.dims
        )
    };
    // raw_data is little-endian, element after element (4-bit: two per byte, low nibble
    // first); without it the typed field holds the values
    fn le<T, const W: usize>(
        raw: &[u8],
        field: &[T],
        n: usize,
        from: fn([u8; W]) -> T,
        mismatch: &dyn Fn(usize, &str) -> String,
    ) -> Result<Vec<T>, String>
    where
        T: Clone,
    {
        if raw.is_empty() {
            return checked_len(field.to_vec(), n, mismatch);
        }
        if raw.len() != n * W {
            return Err(mismatch(raw.len() / W, "values in raw_data"));
        }
        Ok(raw
            .chunks_exact(W)
            .map(|c| from(c.try_into().unwrap()))
            .collect())
    }
    let data = match t.data_type {
        dt::FLOAT => Data::F32(le(raw, &t.float_data, n, f32::from_le_bytes, &mismatch)?),
        dt::DOUBLE => Data::F64(le(raw, &t.double_data, n, f64::from_le_bytes, &mismatch)?),
        dt::INT64 => Data::I64(le(raw, &t.int64_data, n, i64::from_le_bytes, &mismatch)?),
        dt::INT32 => Data::I32(le(raw, &t.int32_data, n, i32::from_le_bytes, &mismatch)?),
        dt::INT8 | dt::UINT8 | dt::BOOL => {
            // int32_data holds one value per entry for the 8-bit types and bool, each in the
            // type's range; bools read as 0 / 1 bytes
            let range = match t.data_type {
                dt::INT8 => -128..=127,
                dt::BOOL => 0..=1,
                _ => 0..=255,
            };
            if raw.is_empty() {
                if let Some(v) = t.int32_data.iter().find(|v| !range.contains(*v)) {
                    return Err(format!(
                        "tensor '{name}' ({}) holds {v} in int32_data, outside [{}, {}]",
                        dt::name(t.data_type),
                        range.start(),
                        range.end()
                    ));
                }
            }
            let field: Vec<u8> = t.int32_data.iter().map(|&v| v as u8).collect();
            let bytes = le(raw, &field, n, u8::from_le_bytes, &mismatch)?;
            if t.data_type == dt::BOOL && bytes.iter().any(|&b| b > 1) {
                return Err(format!(
                    "tensor '{name}' (BOOL) holds a byte other than 0 and 1"
                ));
            }
            if t.data_type == dt::INT8 {
                Data::I8(bytes.into_iter().map(|b| b as i8).collect())
            } else {
                Data::U8(bytes)
            }
        }
        dt::INT4 | dt::UINT4 => {
            // two values a byte, the first in the low nibble; int32_data holds one packed byte
            // per entry
            let packed = n.div_ceil(2);
            let bytes: Vec<u8> = if !raw.is_empty() {
                if raw.len() != packed {
                    return Err(mismatch(raw.len() * 2, "4-bit values in raw_data"));
                }
                raw.clone()
            } else {
                if t.int32_data.len() != packed {
                    return Err(mismatch(
                        t.int32_data.len() * 2,
                        "4-bit values in int32_data",
                    ));
                }
                if let Some(v) = t.int32_data.iter().find(|v| !(0..=255).contains(*v)) {
                    return Err(format!(
                        "tensor '{name}' ({}) holds {v} in int32_data, not a byte of two packed 4-bit values",
                        dt::name(t.data_type)
                    ));
                }
                t.int32_data.iter().map(|&v| v as u8).collect()
            };
            let nib = |i: usize| (bytes[i / 2] >> (4 * (i % 2))) & 0xf;
            if t.data_type == dt::INT4 {
                Data::I4((0..n).map(|i| ((nib(i) << 4) as i8) >> 4).collect())
            } else {
                Data::U4((0..n).map(nib).collect())
            }
        }
        other => {
            return Err(format!(
                "tensor '{name}' has element type {}, which nibble does not read",
                dt::name(other)
            ))
        }
    };
    Ok(Tensor {
        dims,
        data_type: t.data_type,
        data,
    })
}

fn checked_len<T>(
    v: Vec<T>,
    n: usize,
    mismatch: &dyn Fn(usize, &str) -> String,
) -> Result<Vec<T>, String> {
    if v.len() != n {
        return Err(mismatch(v.len(), "values"));
    }
    Ok(v)
}

/// A node's attributes by name, with their types checked on access.
pub struct Attrs<'a> {
    node: &'a NodeProto,
}

impl<'a> Attrs<'a> {
    pub fn new(node: &'a NodeProto) -> Self {
        Self { node }
    }
    fn get(&self, name: &str, ty: i32, what: &str) -> Result<Option<&'a AttributeProto>, String> {
        match self.node.attribute.iter().find(|a| a.name == name) {
            None => Ok(None),
            Some(a) if !a.ref_attr_name.is_empty() => Err(format!(
                "attribute '{name}' refers to a function attribute, which is not supported"
            )),
            // writers that leave `type` unset (0) are accepted when the payload matches
            Some(a) if a.r#type == ty || a.r#type == 0 => Ok(Some(a)),
            Some(_) => Err(format!("attribute '{name}' is not {what}")),
        }
    }
    pub fn int(&self, name: &str) -> Result<Option<i64>, String> {
        Ok(self
            .get(name, proto::attribute_type::INT, "an integer")?
            .map(|a| a.i))
    }
    pub fn float(&self, name: &str) -> Result<Option<f32>, String> {
        Ok(self
            .get(name, proto::attribute_type::FLOAT, "a float")?
            .map(|a| a.f))
    }
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, String> {
        Ok(self
            .get(name, proto::attribute_type::INTS, "a list of integers")?
            .map(|a| a.ints.clone()))
    }
    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self
            .get(name, proto::attribute_type::STRING, "a string")?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, String> {
        Ok(self
            .get(name, proto::attribute_type::TENSOR, "a tensor")?
            .and_then(|a| a.t.as_ref()))
    }
    /// Names of attributes not in `known` (an importer refuses what it would silently ignore).
    pub fn unknown(&self, known: &[&str]) -> Vec<String> {
        self.node
            .attribute
            .iter()
            .filter(|a| !known.contains(&a.name.as_str()))
            .map(|a| a.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests;
