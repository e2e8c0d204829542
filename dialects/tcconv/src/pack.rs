//! Compile-time weight pre-packing: a qnn weight tensor -> the exact bytes a tcconv kernel reads.
//!
//! The packed form of a [`PackedWeight`] is a flat sequence of *slots* (one logical value each, in
//! the order below) stored with [`buffer::store`] for the weight's element type:
//!
//! | packing    | slot order (row-major)  | slot index of logical (o, i, kh, kw)     |
//! |------------|-------------------------|------------------------------------------|
//! | `ConvOhwi` | `[O][KH][KW][Cs]`       | `((o * KH + kh) * KW + kw) * Cs + i`     |
//! | `ConvHwoi` | `[KH][KW][O][Cs]`       | `((kh * KW + kw) * O + o) * Cs + i`      |
//! | `DenseOk`  | `[O][Ks]`               | `o * Ks + i` (`i` = the K index)         |
//! | `Bias`     | `[O]`                   | `o` (always stored as i32)               |
//!
//! `Cs` / `Ks` = [`buffer::padded_channels`]`(elem, I)`: a multiple of 8 for 4-bit weights, of 4
//! for 8-bit weights, `I` itself for wider types. Slots `i >= I` hold 0.
//!
//! Storage ([`buffer::store`], the one definition shared with activation buffers):
//! - 4-bit (`i4`, `ui4`): 8 consecutive slots per 32-bit word, slot `8k + j` in bits `[4j+3 : 4j]`
//!   of word `k` (first element in the LOW nibble, two's complement for `i4`). `Cs` is a multiple
//!   of 8, so a word never straddles two (o, kh, kw) rows.
//! - 8-bit (`i8`, `ui8`): one byte per slot (two's complement for `i8`).
//! - `i16`, `i32` and biases: one little-endian 32-bit word per slot.
//!
//! - A `widened` 4-bit conv weight (the wgmma kernel's, `convert-qnn-to-tcconv{weights=widened}`)
//!   is stored one byte a value (`i8` / `ui8`), `Cs` a multiple of 32, and each group of 32
//!   channels of a row permuted as the kernel widens a 4-bit operand's 16 stored bytes: channel
//!   `8w + 2j` at byte `4w + j`, channel `8w + 2j + 1` at byte `16 + 4w + j` of the group
//!   ([`widened_position`]). A K step of the kernel then reads the same permutation of K from
//!   both operands, and the weight's stage tiles are plain 16-byte copies.
//! - A widened weight with `tiles = [BN, SK]` is stored as the wgmma kernel's weight tiles: the
//!   K bytes `k = (kh * KW + kw) * Cs + position` of row `o` split into N tile `o / BN`, stage
//!   `k / SK`, and within the stage's `BN x SK` tile the kernel's shared-memory order (8 x 16-byte
//!   core matrices, the 8-row groups K-major: byte `((r / 8) * SK / 16 + j / 16) * 128 + (r % 8) *
//!   16 + j % 16` for row `r = o % BN`, byte `j = k % SK`); rows past O and bytes past K hold 0.
//!   The tile of (N tile, stage) starts at `(tile * stages + stage) * BN * SK`.
//!
//! [`to_le_bytes`] gives the bytes of a [`Stored`] as they go into the artifact's weights file
//! and into device memory (words little endian, so 4-bit slot `8k + j` is in byte `4k + j / 2`,
//! low nibble first).
//!
//! The source is read through the qnn weight's own layout: `source_layout` for convs (any
//! [`KernelLayout`], via [`KernelLayout::strides`]), `[O][K]` for dense, `[O]` for biases.

use crate::buffer::{self, padded_channels, Stored};
use crate::program::{PackedWeight, Packing, Program};
use nibble_qnn::graph::TensorType;
use nibble_qnn::semantics::ElemType;
use nibble_qnn::tensor::{Data, Tensor};
use nibble_qnn::weights::Weights;

/// Element type the packed slots are stored as (biases are always i32; a widened 4-bit weight
/// one byte a value).
pub fn stored_elem(pw: &PackedWeight) -> ElemType {
    match pw.packing {
        Packing::Bias => ElemType::I32,
        _ if pw.widened => crate::select::widened(pw.elem),
        _ => pw.elem,
    }
}

/// Channels (conv `I`, dense `K`) as stored, padded; 1 for biases.
pub fn stored_channels(pw: &PackedWeight) -> usize {
    match pw.packing {
        Packing::Bias => 1,
        _ if pw.widened => (pw.dims[1].max(0) as usize).div_ceil(WIDENED_GROUP) * WIDENED_GROUP,
        _ => padded_channels(pw.elem, pw.dims[1]) as usize,
    }
}

/// Channels of a widened weight's permuted groups: the 32 nibbles of one 16-byte stored chunk.
pub const WIDENED_GROUP: usize = 32;

/// The byte of a widened weight's 32-channel group that holds channel `r` (< 32) of the group:
/// a 4-bit chunk is 4 words of 8 nibbles, and the kernel widens word `w` into bytes `4w ..
/// 4w + 4` (nibbles 0, 2, 4, 6) and `16 + 4w ..` (nibbles 1, 3, 5, 7).
pub fn widened_position(r: usize) -> usize {
    let (w, t) = (r / 8, r % 8);
    16 * (t % 2) + 4 * w + t / 2
}

/// A tiled weight's tile grid: N tiles, K stages, rows a tile, K bytes a stage
/// ([`PackedWeight::tiles`]).
pub fn tile_grid(pw: &PackedWeight) -> Option<[usize; 4]> {
    let [bn, sk] = pw.tiles?.map(|d| d.max(1) as usize);
    let [o, _, kh, kw] = pw.dims.map(|d| d.max(0) as usize);
    let k = kh * kw * stored_channels(pw);
    Some([o.div_ceil(bn), k.div_ceil(sk), bn, sk])
}

/// Number of slots (logical values including channel padding) of the packed weight.
pub fn slot_count(pw: &PackedWeight) -> usize {
    let [o, _, kh, kw] = pw.dims.map(|d| d.max(0) as usize);
    if let Some([tn, iters, bn, sk]) = tile_grid(pw) {
        return tn * iters * bn * sk;
    }
    match pw.packing {
        Packing::ConvOhwi | Packing::ConvHwoi => o * kh * kw * stored_channels(pw),
        Packing::DenseOk => o * stored_channels(pw),
        Packing::Bias => o,
    }
}

/// Slot index of logical (o, i, kh, kw) in the packed weight (see the module table). For dense
/// `i` is the K index and kh = kw = 0; for a bias i = kh = kw = 0.
pub fn slot(pw: &PackedWeight, o: usize, i: usize, kh: usize, kw: usize) -> usize {
    let [oo, _, kkh, kkw] = pw.dims.map(|d| d as usize);
    let cs = stored_channels(pw);
    let i = if pw.widened {
        i - i % WIDENED_GROUP + widened_position(i % WIDENED_GROUP)
    } else {
        i
    };
    if let Some([_, iters, bn, sk]) = tile_grid(pw) {
        // K byte k of row o: the stage's tile of o's N tile, its core matrix (8 rows x 16
        // bytes, rows of the tile's 8-row groups K-major) and the byte in it
        let k = (kh * kkw + kw) * cs + i;
        let (nt, r, it, j) = (o / bn, o % bn, k / sk, k % sk);
        let core = (r / 8) * (sk / 16) + j / 16;
        return (nt * iters + it) * bn * sk + core * 128 + (r % 8) * 16 + j % 16;
    }
    match pw.packing {
        Packing::ConvOhwi => ((o * kkh + kh) * kkw + kw) * cs + i,
        Packing::ConvHwoi => ((kh * kkw + kw) * oo + o) * cs + i,
        Packing::DenseOk => o * cs + i,
        Packing::Bias => o,
    }
}

/// The logical (o, i, kh, kw) of the qnn source: `dims`, or a space-to-depth weight's source.
fn source_dims(pw: &PackedWeight) -> [i64; 4] {
    pw.space_to_depth.map_or(pw.dims, |s| s.source_dims)
}

/// The shape the qnn weight must have.
pub fn source_shape(pw: &PackedWeight) -> Vec<i64> {
    match pw.packing {
        Packing::ConvOhwi | Packing::ConvHwoi => pw.source_layout.shape(source_dims(pw)),
        Packing::DenseOk => vec![pw.dims[0], pw.dims[1]],
        Packing::Bias => vec![pw.dims[0]],
    }
}

/// Logical (o, i, kh, kw) strides of the qnn source tensor.
fn source_strides(pw: &PackedWeight) -> [usize; 4] {
    match pw.packing {
        Packing::ConvOhwi | Packing::ConvHwoi => pw.source_layout.strides(source_dims(pw)),
        Packing::DenseOk => [pw.dims[1] as usize, 1, 0, 0],
        Packing::Bias => [1, 0, 0, 0],
    }
}

/// Whether the weight's dims fit its packing (and a space-to-depth weight's its source's).
pub fn check_dims(pw: &PackedWeight) -> Result<(), String> {
    if pw.dims.iter().any(|&d| d < 0) {
        return Err(format!("negative dimension in {:?}", pw.dims));
    }
    let flat = match pw.packing {
        Packing::ConvOhwi | Packing::ConvHwoi => false,
        Packing::DenseOk => pw.dims[2] != 1 || pw.dims[3] != 1,
        Packing::Bias => pw.dims[1..] != [1, 1, 1],
    };
    if flat {
        return Err(format!(
            "{:?} packing needs dims (o, k, 1, 1) / (o, 1, 1, 1), got {:?}",
            pw.packing, pw.dims
        ));
    }
    if pw.widened
        && (pw.elem.bits() != 4
            || !matches!(pw.packing, Packing::ConvOhwi | Packing::ConvHwoi)
            || pw.space_to_depth.is_some())
    {
        return Err(format!(
            "a widened weight is a 4-bit conv weight (ohwi or hwoi, no space-to-depth), not {} {:?}",
            pw.elem, pw.packing
        ));
    }
    if let Some([bn, sk]) = pw.tiles {
        if !pw.widened || bn < 8 || bn % 8 != 0 || sk < 16 || sk % 16 != 0 {
            return Err(format!(
                "tiles [{bn}, {sk}]: a tiled weight is widened, its tiles whole 8-row groups of 16-byte chunks"
            ));
        }
    }
    if let Some(s) = pw.space_to_depth {
        let [o, c, kh, kw] = s.source_dims;
        let b = s.block.max(1);
        let want = [
            o,
            b * b * padded_channels(pw.elem, c),
            (kh + b - 1) / b,
            (kw + b - 1) / b,
        ];
        if pw.packing != Packing::ConvOhwi
            || s.block < 2
            || s.block > crate::program::MAX_SPACE_TO_DEPTH
            || s.source_dims.iter().any(|&d| d < 0)
            || pw.dims != want
        {
            return Err(format!(
                "a space-to-depth weight (block {b}) of source dims {:?} is an ohwi weight of dims {want:?}, not {:?} {:?}",
                s.source_dims, pw.packing, pw.dims
            ));
        }
    }
    Ok(())
}

/// Visit every logical (o, i, kh, kw) of the weight that has a source value with its packed
/// slot and source index (every one but a space-to-depth weight's zeros).
fn for_each(pw: &PackedWeight, mut f: impl FnMut(usize, usize)) {
    let [o, i, kh, kw] = pw.dims.map(|d| d as usize);
    let s = source_strides(pw);
    // (channel, row, column) of the source at packed (i, kh, kw)
    let at = |c: usize, y: usize, x: usize| -> Option<[usize; 3]> {
        let Some(sd) = pw.space_to_depth else {
            return Some([c, y, x]);
        };
        let [_, sc, skh, skw] = sd.source_dims.map(|d| d as usize);
        let b = sd.block as usize;
        let cs = padded_channels(pw.elem, sd.source_dims[1]) as usize;
        let (k, c) = (c / cs, c % cs);
        let (y, x) = (b * y + k / b, b * x + k % b);
        (c < sc && y < skh && x < skw).then_some([c, y, x])
    };
    for oo in 0..o {
        for y in 0..kh {
            for x in 0..kw {
                for c in 0..i {
                    if let Some([sc, sy, sx]) = at(c, y, x) {
                        f(
                            slot(pw, oo, c, y, x),
                            oo * s[0] + sc * s[1] + sy * s[2] + sx * s[3],
                        );
                    }
                }
            }
        }
    }
}

/// Pre-pack one qnn weight `src` (in its qnn layout) into the layout `pw.packing` documents.
pub fn pack_weight(pw: &PackedWeight, src: &Tensor) -> Result<Stored, String> {
    check_dims(pw)?;
    let want = source_shape(pw);
    if src.ty.shape != want {
        return Err(format!(
            "shape {:?}, the {:?} packing of {}{:?} needs {:?}",
            src.ty.shape,
            pw.packing,
            if matches!(pw.packing, Packing::ConvOhwi | Packing::ConvHwoi) {
                format!("{} ", pw.source_layout)
            } else {
                String::new()
            },
            pw.dims,
            want
        ));
    }
    let v = match &src.data {
        Data::Int(v) if v.len() == src.ty.numel() => v,
        Data::Int(v) => {
            return Err(format!(
                "holds {} values, shape {:?} needs {}",
                v.len(),
                src.ty.shape,
                src.ty.numel()
            ))
        }
        Data::Float(_) => return Err("is an f32 tensor, packed weights are integers".into()),
    };
    let e = stored_elem(pw);
    let (lo, hi) = (
        pw.elem.range().0.max(e.range().0),
        pw.elem.range().1.min(e.range().1),
    );
    if let Some(i) = v.iter().position(|&x| (x as i64) < lo || (x as i64) > hi) {
        return Err(format!(
            "element {i} = {} is outside the {} range [{lo}, {hi}]",
            v[i], pw.elem
        ));
    }
    let mut slots = vec![0i32; slot_count(pw)];
    for_each(pw, |s, q| slots[s] = v[q]);
    Ok(buffer::store(e, &slots))
}

/// Expected storage length (words, bytes) and kind of a packed weight.
fn stored_ok(pw: &PackedWeight, s: &Stored) -> Result<(), String> {
    let n = slot_count(pw);
    let e = stored_elem(pw);
    let (kind_ok, len, want) = match (s, buffer::storage_of(e)) {
        (Stored::Words(w), buffer::Storage::Packed4) => (true, w.len(), n.div_ceil(8)),
        (Stored::Words(w), buffer::Storage::Word32) => (true, w.len(), n),
        (Stored::Bytes(b), buffer::Storage::Byte) => (true, b.len(), n),
        _ => (false, 0, 0),
    };
    if !kind_ok {
        return Err(format!(
            "packed '{}' ({e}) is stored as {}",
            pw.name,
            match s {
                Stored::Words(_) => "32-bit words",
                Stored::Bytes(_) => "bytes",
                Stored::Floats(_) => "f32",
            }
        ));
    }
    if len != want {
        return Err(format!(
            "packed '{}' holds {len} stored elements, {:?} {:?} ({e}) needs {want}",
            pw.name, pw.packing, pw.dims
        ));
    }
    Ok(())
}

/// The slots of a packed weight (in packing order, padding included), as the interpreter and the
/// kernels read them. Checks the stored kind and length.
pub fn unpack_weight(pw: &PackedWeight, s: &Stored) -> Result<Vec<i32>, String> {
    check_dims(pw)?;
    stored_ok(pw, s)?;
    Ok(buffer::load(stored_elem(pw), s, slot_count(pw)))
}

/// A widened weight's slots (`slots`, as [`unpack_weight`] gives them) as the same weight
/// unwidened would hold them, and that weight (channels padded to its own rule: a multiple of
/// 8, which 32 is).
pub fn unwidened(pw: &PackedWeight, slots: &[i32]) -> Result<(PackedWeight, Vec<i32>), String> {
    let plain = PackedWeight {
        widened: false,
        tiles: None,
        ..pw.clone()
    };
    let [o, i, kh, kw] = pw.dims.map(|d| d.max(0) as usize);
    let mut v = vec![0i32; slot_count(&plain)];
    for oo in 0..o {
        for y in 0..kh {
            for x in 0..kw {
                for c in 0..i {
                    v[slot(&plain, oo, c, y, x)] = slots[slot(pw, oo, c, y, x)];
                }
            }
        }
    }
    Ok((plain, v))
}

/// The inverse of [`pack_weight`]: the qnn tensor (in `source_layout`, element type `pw.elem`).
/// Fails when a padding slot is not zero.
pub fn unpack_to_source(pw: &PackedWeight, s: &Stored) -> Result<Tensor, String> {
    let slots = unpack_weight(pw, s)?;
    let shape = source_shape(pw);
    let n = shape.iter().product::<i64>() as usize;
    let mut out = vec![0i32; n];
    let mut used = vec![false; slots.len()];
    for_each(pw, |sl, q| {
        out[q] = slots[sl];
        used[sl] = true;
    });
    if let Some(i) = (0..slots.len()).find(|&i| !used[i] && slots[i] != 0) {
        return Err(format!(
            "packed '{}': padding slot {i} holds {}, not 0",
            pw.name, slots[i]
        ));
    }
    Ok(Tensor::int(TensorType::new(shape, pw.elem), out))
}

/// Pack every weight of `p` (one [`Stored`] per `p.weights`, same order) from the qnn weights.
pub fn pack_all(p: &Program, w: &Weights) -> Result<Vec<Stored>, String> {
    p.weights
        .iter()
        .map(|pw| {
            let src = w.get(&pw.source).ok_or_else(|| {
                format!(
                    "weight '{}' (packed as '{}') is missing from the weights",
                    pw.source, pw.name
                )
            })?;
            pack_weight(pw, src)
                .map_err(|e| format!("weight '{}' (packed as '{}'): {e}", pw.source, pw.name))
        })
        .collect()
}

/// The bytes of a stored buffer as they lie in device memory and in the artifact's weights file:
/// 32-bit words little endian (packed 4-bit included), bytes as is, f32 little endian.
pub fn to_le_bytes(s: &Stored) -> Vec<u8> {
    match s {
        Stored::Words(w) => w.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Stored::Bytes(b) => b.clone(),
        Stored::Floats(f) => f.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The inverse of [`to_le_bytes`] for a buffer or weight stored as `elem`.
pub fn from_le_bytes(elem: ElemType, bytes: &[u8]) -> Result<Stored, String> {
    let words = |what: &str| {
        if !bytes.len().is_multiple_of(4) {
            return Err(format!(
                "{} bytes of {what} are not whole 32-bit words",
                bytes.len()
            ));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
    };
    Ok(match (buffer::storage_of(elem), elem) {
        (buffer::Storage::Byte, _) => Stored::Bytes(bytes.to_vec()),
        (_, ElemType::F32) => Stored::Floats(words("f32")?.map(f32::from_bits).collect()),
        _ => Stored::Words(words(elem.mlir_name())?.collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::SpaceToDepth;
    use crate::target::Target;
    use nibble_qnn::semantics::KernelLayout;
    use nibble_qnn::tensor::Rng;

    fn pw(packing: Packing, elem: ElemType, dims: [i64; 4], kl: KernelLayout) -> PackedWeight {
        PackedWeight {
            name: format!("w.{packing:?}"),
            source: "w".into(),
            packing,
            elem,
            dims,
            source_layout: kl,
            space_to_depth: None,
            widened: false,
            tiles: None,
        }
    }

    fn random_source(rng: &mut Rng, p: &PackedWeight) -> Tensor {
        rng.tensor(&TensorType::new(source_shape(p), p.elem))
    }

    fn all_cases() -> Vec<PackedWeight> {
        let mut v = vec![];
        let elems = [
            ElemType::I4,
            ElemType::U4,
            ElemType::I8,
            ElemType::U8,
            ElemType::I16,
            ElemType::I32,
        ];
        for e in elems {
            for dims in [[5, 3, 3, 2], [3, 13, 1, 1], [2, 37, 2, 3], [8, 8, 7, 7]] {
                for kl in [
                    KernelLayout::OIHW,
                    KernelLayout::OHWI,
                    KernelLayout::HWOI,
                    KernelLayout::HWIO,
                ] {
                    v.push(pw(Packing::ConvOhwi, e, dims, kl));
                    v.push(pw(Packing::ConvHwoi, e, dims, kl));
                }
            }
            for (o, k) in [(7, 13), (1, 5), (10, 64)] {
                v.push(pw(Packing::DenseOk, e, [o, k, 1, 1], KernelLayout::OIHW));
            }
        }
        for e in [ElemType::I32, ElemType::I16, ElemType::I8] {
            v.push(pw(Packing::Bias, e, [9, 1, 1, 1], KernelLayout::OIHW));
        }
        v
    }

    #[test]
    fn space_to_depth_weights_hold_each_source_tap_once_and_zeros_elsewhere() {
        let mut rng = Rng(9);
        // (source dims, block, type, source layout): ResNet's stem, a 3 x 3 / 2 of 5 channels,
        // a 4 x 4 / 4 patchify, a 4-bit weight (8 channels a stored row)
        #[rustfmt::skip]
        let cases = [
            ([6i64, 3i64, 7i64, 7i64], 2i64, ElemType::I8, KernelLayout::OIHW),
            ([4, 5, 3, 3], 2, ElemType::U8, KernelLayout::HWIO),
            ([3, 4, 4, 4], 4, ElemType::I8, KernelLayout::OHWI),
            ([2, 3, 5, 5], 2, ElemType::I4, KernelLayout::OIHW),
        ];
        for (src, b, e, kl) in cases {
            let [o, c, kh, kw] = src;
            let cs = padded_channels(e, c);
            let mut p = pw(
                Packing::ConvOhwi,
                e,
                [o, b * b * cs, (kh + b - 1) / b, (kw + b - 1) / b],
                kl,
            );
            p.space_to_depth = Some(SpaceToDepth {
                block: b,
                source_dims: src,
            });
            let t = rng.tensor(&TensorType::new(kl.shape(src), e));
            let packed = pack_weight(&p, &t).unwrap();
            let slots = unpack_weight(&p, &packed).unwrap();
            let st = kl.strides(src);
            let v = match &t.data {
                Data::Int(v) => v.clone(),
                _ => unreachable!(),
            };
            let mut expect = vec![0i32; slots.len()];
            for oo in 0..o as usize {
                for ci in 0..c as usize {
                    for y in 0..kh as usize {
                        for x in 0..kw as usize {
                            let (bu, csu) = (b as usize, cs as usize);
                            let i = ((y % bu) * bu + x % bu) * csu + ci;
                            let q = oo * st[0] + ci * st[1] + y * st[2] + x * st[3];
                            expect[slot(&p, oo, i, y / bu, x / bu)] = v[q];
                        }
                    }
                }
            }
            assert_eq!(slots, expect, "{src:?} / {b} {e}");
            assert_eq!(
                unpack_to_source(&p, &packed).unwrap(),
                t,
                "{src:?} / {b} {e}"
            );
            // dims that are not the source's space-to-depth form are an error, not a packing
            let mut bad = p.clone();
            bad.dims[3] += 1;
            assert!(pack_weight(&bad, &t)
                .unwrap_err()
                .contains("space-to-depth"));
            let mut bad = p.clone();
            bad.space_to_depth = Some(SpaceToDepth {
                block: 1,
                source_dims: src,
            });
            assert!(pack_weight(&bad, &t).is_err());
        }
    }

    #[test]
    fn pack_unpack_round_trips_every_packing_and_type() {
        let mut rng = Rng(7);
        for p in all_cases() {
            let ctx = format!(
                "{:?} {} {:?} {}",
                p.packing, p.elem, p.dims, p.source_layout
            );
            let src = random_source(&mut rng, &p);
            let s = pack_weight(&p, &src).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            // Stored kind and length.
            let n = slot_count(&p);
            match (&s, buffer::storage_of(stored_elem(&p))) {
                (Stored::Words(w), buffer::Storage::Packed4) => assert_eq!(w.len() * 8, n, "{ctx}"),
                (Stored::Words(w), buffer::Storage::Word32) => assert_eq!(w.len(), n, "{ctx}"),
                (Stored::Bytes(b), buffer::Storage::Byte) => assert_eq!(b.len(), n, "{ctx}"),
                _ => panic!("{ctx}: stored as {s:?}"),
            }
            // Every logical element sits at its documented slot; padding is zero.
            let slots = unpack_weight(&p, &s).unwrap();
            let [o, i, kh, kw] = p.dims.map(|d| d as usize);
            let st = source_strides(&p);
            let mut seen = 0;
            for oo in 0..o {
                for c in 0..stored_channels(&p) {
                    for y in 0..kh {
                        for x in 0..kw {
                            let v = slots[slot(&p, oo, c, y, x)];
                            if c < i {
                                let q = oo * st[0] + c * st[1] + y * st[2] + x * st[3];
                                assert_eq!(v, src.ints()[q], "{ctx}: ({oo}, {c}, {y}, {x})");
                            } else {
                                assert_eq!(v, 0, "{ctx}: padding ({oo}, {c}, {y}, {x})");
                            }
                            seen += 1;
                        }
                    }
                }
            }
            assert_eq!(seen, n, "{ctx}: slots are a bijection");
            assert_eq!(unpack_to_source(&p, &s).unwrap(), src, "{ctx}");
            // Bytes of the weights file round-trip.
            let b = from_le_bytes(stored_elem(&p), &to_le_bytes(&s)).unwrap();
            assert_eq!(b, s, "{ctx}");
        }
    }

    #[test]
    fn packed_bytes_are_exactly_the_documented_layout() {
        // i4 OIHW weight, O = 2, I = 3, 1 x 2: Cs = 8, one word per (o, kh, kw).
        // w[o][i][0][kw] = values below.
        let p = pw(
            Packing::ConvOhwi,
            ElemType::I4,
            [2, 3, 1, 2],
            KernelLayout::OIHW,
        );
        let v = vec![
            1, -2, // o0 i0 kw0, kw1
            3, -4, // o0 i1
            5, -6, // o0 i2
            7, -8, // o1 i0
            0, 1, // o1 i1
            -1, 2, // o1 i2
        ];
        let src = Tensor::int(TensorType::new(vec![2, 3, 1, 2], ElemType::I4), v.clone());
        // ConvOhwi: [o][kh][kw][c]: (o0,kw0) = 1,3,5 ; (o0,kw1) = -2,-4,-6 ; (o1,kw0) = 7,0,-1 ; (o1,kw1) = -8,1,2
        let s = pack_weight(&p, &src).unwrap();
        assert_eq!(
            s,
            Stored::Words(vec![0x0000_0531, 0x0000_0ACE, 0x0000_0F07, 0x0000_0218])
        );
        assert_eq!(
            to_le_bytes(&s),
            vec![0x31, 0x05, 0, 0, 0xCE, 0x0A, 0, 0, 0x07, 0x0F, 0, 0, 0x18, 0x02, 0, 0]
        );
        // ConvHwoi: [kh][kw][o][c]: (kw0,o0), (kw0,o1), (kw1,o0), (kw1,o1).
        let p = pw(
            Packing::ConvHwoi,
            ElemType::I4,
            [2, 3, 1, 2],
            KernelLayout::OIHW,
        );
        assert_eq!(
            pack_weight(&p, &src).unwrap(),
            Stored::Words(vec![0x0000_0531, 0x0000_0F07, 0x0000_0ACE, 0x0000_0218])
        );
        // i8: one byte per slot, Cs = 4.
        let p = pw(
            Packing::ConvOhwi,
            ElemType::I8,
            [2, 3, 1, 2],
            KernelLayout::OIHW,
        );
        let src8 = Tensor::int(TensorType::new(vec![2, 3, 1, 2], ElemType::I8), v);
        assert_eq!(
            pack_weight(&p, &src8).unwrap(),
            Stored::Bytes(vec![
                1, 3, 5, 0, 0xFE, 0xFC, 0xFA, 0, 7, 0, 0xFF, 0, 0xF8, 1, 2, 0
            ])
        );
        // Dense [O][Ks], u4 with K = 9 -> Ks = 16 (two words per row).
        let p = pw(
            Packing::DenseOk,
            ElemType::U4,
            [1, 9, 1, 1],
            KernelLayout::OIHW,
        );
        let src = Tensor::int(
            TensorType::new(vec![1, 9], ElemType::U4),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 15],
        );
        assert_eq!(
            pack_weight(&p, &src).unwrap(),
            Stored::Words(vec![0x8765_4321, 0x0000_000F])
        );
        // Bias: i32 words.
        let p = pw(
            Packing::Bias,
            ElemType::I32,
            [2, 1, 1, 1],
            KernelLayout::OIHW,
        );
        let src = Tensor::int(TensorType::new(vec![2], ElemType::I32), vec![-1, 70000]);
        assert_eq!(
            pack_weight(&p, &src).unwrap(),
            Stored::Words(vec![0xFFFF_FFFF, 70000])
        );
    }

    #[test]
    fn bad_sources_and_storage_are_errors() {
        let p = pw(
            Packing::ConvOhwi,
            ElemType::I4,
            [2, 3, 1, 2],
            KernelLayout::OHWI,
        );
        let wrong = Tensor::int(TensorType::new(vec![2, 3, 1, 2], ElemType::I4), vec![0; 12]);
        let e = pack_weight(&p, &wrong).unwrap_err();
        assert!(e.contains("[2, 1, 2, 3]"), "{e}");
        let big = Tensor::int(TensorType::new(vec![2, 1, 2, 3], ElemType::I8), vec![9; 12]);
        let e = pack_weight(&p, &big).unwrap_err();
        assert!(e.contains("outside the i4 range"), "{e}");
        let ok = Tensor::int(
            TensorType::new(vec![2, 1, 2, 3], ElemType::I8),
            vec![-8; 12],
        );
        let s = pack_weight(&p, &ok).unwrap();
        let e = unpack_weight(&p, &Stored::Words(vec![0; 3])).unwrap_err();
        assert!(e.contains("needs 4"), "{e}");
        assert!(unpack_weight(&p, &Stored::Bytes(vec![0; 4])).is_err());
        let Stored::Words(mut w) = s else { panic!() };
        w[0] |= 0xF000_0000; // a nonzero padding nibble
        let e = unpack_to_source(&p, &Stored::Words(w)).unwrap_err();
        assert!(e.contains("padding slot 7"), "{e}");
    }

    #[test]
    fn pack_all_names_missing_and_misshaped_weights() {
        let mut prog = Program {
            name: "f".into(),
            target: Target::Sm80,
            buffers: vec![],
            weights: vec![
                pw(
                    Packing::ConvHwoi,
                    ElemType::I4,
                    [8, 5, 3, 3],
                    KernelLayout::OIHW,
                ),
                pw(
                    Packing::Bias,
                    ElemType::I32,
                    [8, 1, 1, 1],
                    KernelLayout::OIHW,
                ),
            ],
            inputs: vec![],
            outputs: vec![],
            ops: vec![],
            pdl_trigger: Default::default(),
        };
        prog.weights[1].source = "b".into();
        let mut rng = Rng(3);
        let mut w = Weights::default();
        w.insert("w", random_source(&mut rng, &prog.weights[0]));
        let e = pack_all(&prog, &w).unwrap_err();
        assert!(e.contains("'b'") && e.contains("missing"), "{e}");
        w.insert(
            "b",
            Tensor::int(TensorType::new(vec![7], ElemType::I32), vec![0; 7]),
        );
        let e = pack_all(&prog, &w).unwrap_err();
        assert!(e.contains("'b'") && e.contains("[7]"), "{e}");
        w.insert("b", random_source(&mut rng, &prog.weights[1]));
        let packed = pack_all(&prog, &w).unwrap();
        assert_eq!(packed.len(), 2);
        assert_eq!(
            unpack_to_source(&prog.weights[0], &packed[0]).unwrap(),
            *w.get("w").unwrap()
        );
    }

    /// The widened order is the one the wgmma kernel's loader leaves a 4-bit chunk in: four
    /// words of eight nibbles, each word split into its even nibbles (`x & 0x0f0f0f0f`, bytes
    /// 0-15 of the widened chunk) and its odd ones (`(x >> 4) & 0x0f0f0f0f`, bytes 16-31).
    #[test]
    fn widened_position_is_the_kernels_widening_order() {
        // channel c of the 32 holds nibble c % 16, plus 16 in a second byte plane to tell
        // channels c and c + 16 apart
        for plane in 0..2u32 {
            let nib = |c: usize| ((c as u32 + 16 * plane) / 2) % 16 ^ (c as u32 % 2) * 8;
            let words: Vec<u32> = (0..4)
                .map(|w| (0..8).map(|t| nib(8 * w + t) << (4 * t)).sum())
                .collect();
            let mut widened = vec![];
            for mask_shift in [0, 4] {
                for &x in &words {
                    widened.extend(((x >> mask_shift) & 0x0f0f_0f0f).to_le_bytes());
                }
            }
            for c in 0..32 {
                assert_eq!(widened[widened_position(c)] as u32, nib(c), "channel {c}");
            }
        }
        let mut seen = [false; 32];
        (0..32).for_each(|c| seen[widened_position(c)] = true);
        assert!(seen.iter().all(|&s| s), "a permutation of the group");
    }

    /// A widened weight holds one byte a value, channels padded to 32, and packs and unpacks
    /// to its source; its slots, unwidened, are those of the same weight packed plainly.
    #[test]
    fn widened_weights_round_trip() {
        let mut rng = Rng(11);
        for elem in [ElemType::I4, ElemType::U4] {
            for packing in [Packing::ConvOhwi, Packing::ConvHwoi] {
                for dims in [[8, 64, 3, 3], [40, 32, 1, 1], [3, 40, 2, 1]] {
                    let plain = pw(packing.clone(), elem, dims, KernelLayout::OIHW);
                    let wide = PackedWeight {
                        widened: true,
                        ..plain.clone()
                    };
                    check_dims(&wide).unwrap();
                    let src = random_source(&mut rng, &plain);
                    let s = pack_weight(&wide, &src).unwrap();
                    let [o, c, kh, kw] = dims.map(|d| d as usize);
                    assert_eq!(stored_elem(&wide).bits(), 8);
                    assert_eq!(to_le_bytes(&s).len(), o * kh * kw * c.div_ceil(32) * 32);
                    assert_eq!(unpack_to_source(&wide, &s).unwrap(), src);
                    let slots = unpack_weight(&wide, &s).unwrap();
                    let (back, v) = unwidened(&wide, &slots).unwrap();
                    assert_eq!(back, plain);
                    let want = unpack_weight(&plain, &pack_weight(&plain, &src).unwrap());
                    assert_eq!(v, want.unwrap(), "{elem} {packing:?} {dims:?}");
                }
            }
        }
    }

    #[test]
    fn only_4bit_conv_weights_are_widened() {
        for (packing, elem, dims) in [
            (Packing::ConvOhwi, ElemType::I8, [8, 32, 1, 1]),
            (Packing::DenseOk, ElemType::I4, [8, 32, 1, 1]),
            (Packing::Bias, ElemType::I32, [8, 1, 1, 1]),
        ] {
            let w = PackedWeight {
                widened: true,
                ..pw(packing, elem, dims, KernelLayout::OIHW)
            };
            let e = check_dims(&w).unwrap_err();
            assert!(e.contains("a widened weight is a 4-bit conv weight"), "{e}");
        }
    }

    /// A tiled weight: slots of two hand-placed values, the padding rows and bytes zero, and
    /// the round trip through its source and its unwidened slots.
    #[test]
    fn tiled_weights_place_values_in_the_kernels_tiles() {
        // o = 10 (two 8-row N tiles, rows 10..16 zeros), 32 channels, 1 x 2 taps: K = 64 bytes
        // a row in two 32-byte stages
        let plain = pw(
            Packing::ConvOhwi,
            ElemType::I4,
            [10, 32, 1, 2],
            KernelLayout::OIHW,
        );
        let tiled = PackedWeight {
            widened: true,
            tiles: Some([8, 32]),
            ..plain.clone()
        };
        check_dims(&tiled).unwrap();
        assert_eq!(tile_grid(&tiled), Some([2, 2, 8, 32]));
        assert_eq!(slot_count(&tiled), 2 * 2 * 8 * 32);
        // (o 9, channel 1, tap 1): K byte 32 + 16 (odd channels after the even ones): N tile 1,
        // stage 1, row 1, byte 16 of the stage: its second core matrix
        assert_eq!(slot(&tiled, 9, 1, 0, 1), (2 + 1) * 256 + 128 + 16);
        // (o 7, channel 2, tap 0): K byte 1, row 7 of the first core matrix
        assert_eq!(slot(&tiled, 7, 2, 0, 0), 7 * 16 + 1);
        let mut rng = Rng(5);
        let src = random_source(&mut rng, &plain);
        let s = pack_weight(&tiled, &src).unwrap();
        assert_eq!(unpack_to_source(&tiled, &s).unwrap(), src);
        let slots = unpack_weight(&tiled, &s).unwrap();
        // rows 10..16 of the second N tile are zeros in both stages
        for st in 0..2 {
            let t = &slots[(2 + st) * 256..(3 + st) * 256];
            for r in 10 - 8..8 {
                for j in 0..32 {
                    assert_eq!(t[(r / 8 * 2 + j / 16) * 128 + r % 8 * 16 + j % 16], 0);
                }
            }
        }
        let (back, v) = unwidened(&tiled, &slots).unwrap();
        assert_eq!(back, plain);
        assert_eq!(
            v,
            unpack_weight(&plain, &pack_weight(&plain, &src).unwrap()).unwrap()
        );
        for bad in [[12, 32], [8, 24], [0, 32]] {
            let w = PackedWeight {
                tiles: Some(bad),
                ..tiled.clone()
            };
            assert!(check_dims(&w).is_err(), "{bad:?}");
        }
        let unwidened_tiles = PackedWeight {
            widened: false,
            ..tiled
        };
        assert!(check_dims(&unwidened_tiles).is_err());
    }
}
