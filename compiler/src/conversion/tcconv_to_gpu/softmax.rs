//! `tcconv.softmax`: ONNX Runtime's QLinearSoftmax over each row of an N x C buffer
//! (`semantics::softmax_row`), one warp a row. Lane `l` owns the row's values `32 k + l`:
//! - the row's largest value: each lane's maximum, then a butterfly of `shuffle xor` (a max is
//!   exact in any order);
//! - the f32 sum must run left to right (as the CPU kernel adds; a tree would round
//!   differently): for each chunk of 32 values every lane takes value `32 k + i` from lane `i`
//!   (`shuffle idx`, i = 0..31) and adds it, so every lane holds the same sum, in order, with no
//!   shared memory and no limit on C;
//! - each lane writes its values' results.
//! Work a row: 3 C loads (coalesced across the warp), C table loads, 32 shuffles and adds a
//! chunk of 32 values (the sequential part: about 4 cycles a value), C divides and stores.

use super::builder::{Cmp, KernelBuilder, Scalar, Val};
use super::layout::{act_slot, Buf};
use nibble_qnn::semantics::ElemType;
use nibble_tcconv::buffer::ActBuffer;

pub fn softmax(
    kb: &mut KernelBuilder,
    args: &[Val],
    inp: &ActBuffer,
    out: &ActBuffer,
    table: &[f32],
    scale: f32,
    zero_point: i64,
) -> Result<i64, String> {
    let [n, c, h, w] = inp.dims;
    if out.dims != inp.dims || h != 1 || w != 1 || !matches!(out.elem, ElemType::U8 | ElemType::I8)
    {
        return Err(format!(
            "softmax takes N x C to N x C ui8 / i8, not {:?} {} -> {:?} {}",
            inp.dims, inp.elem, out.dims, out.elem
        ));
    }
    if !inp.elem.is_int() || inp.elem.bits() > 8 || table.len() != 256 || c < 1 {
        return Err(format!(
            "softmax reads integers of at most 8 bits through a 256-entry table, not {} ({} entries)",
            inp.elem,
            table.len()
        ));
    }
    let bits: Vec<i32> = table.iter().map(|v| v.to_bits() as i32).collect();
    let chunks = (c + 31) / 32;
    let gid = kb.global_id();
    let k32 = kb.idx(32);
    let row = kb.divu(gid, k32);
    let lane = kb.remu(gid, k32);
    let lim = kb.idx(n);
    // uniform per warp: a warp's 32 threads share `row`
    let inb = kb.cmp(Cmp::Ult, row, lim);
    kb.if_then(inb, |kb| {
        let ib = Buf::act(kb, args[0], inp);
        let ob = Buf::act(kb, args[1], out);
        let exp = kb.table("softmax_exp", &bits);
        let (zero, last) = (kb.idx(0), kb.idx(c - 1));
        // this lane's value of chunk `k` (its column clamped into the row) and whether it is
        // one of the row's
        let value = |kb: &mut KernelBuilder, k: Val| {
            let base = kb.mul(k, k32);
            let j = kb.add(base, lane);
            let cols = kb.idx(c);
            let inside = kb.cmp(Cmp::Ult, j, cols);
            let jj = kb.mins(j, last);
            let s = act_slot(kb, inp, row, jj, zero, zero);
            (ib.load_slot(kb, s), inside, jj)
        };
        let lowest = kb.i32c(i32::MIN as i64);
        let m = kb.for_n(chunks, 1, &[lowest], |kb, k, acc| {
            let (x, inside, _) = value(kb, k);
            let mx = kb.maxs(acc[0], x);
            vec![kb.select(inside, mx, acc[0])]
        })[0];
        let mut m = m;
        for mask in [16, 8, 4, 2, 1] {
            let o = kb.shuffle_xor(m, mask);
            m = kb.maxs(m, o);
        }
        // e(x) = table[255 - (m - x)]
        let top = kb.i32c(255);
        let base = kb.sub(top, m);
        let e = |kb: &mut KernelBuilder, x: Val| {
            let i = kb.add(base, x);
            let i = kb.index_cast(i, Scalar::Idx);
            let v = kb.load(exp, i);
            kb.bitcast_f32(v)
        };
        let f0 = kb.f32c(0.0);
        let sum = kb.for_n(chunks, 1, &[f0], |kb, k, acc| {
            let (x, _, _) = value(kb, k);
            let v = e(kb, x);
            let vb = kb.bitcast_i32(v);
            let base = kb.mul(k, k32);
            let mut s = acc[0];
            for i in 0..32 {
                // value 32 k + i, from lane i, where the row has it
                let t = kb.shuffle_idx(vb, i);
                let t = kb.bitcast_f32(t);
                let ii = kb.idx(i);
                let j = kb.add(base, ii);
                let cols = kb.idx(c);
                let inside = kb.cmp(Cmp::Ult, j, cols);
                let added = kb.addf(s, t);
                s = kb.select(inside, added, s);
            }
            vec![s]
        })[0];
        let (k, zp) = (kb.f32c(scale), kb.i32c(zero_point));
        let hi = kb.i32c(out.elem.range().1);
        kb.for_n(chunks, 1, &[], |kb, kk, _| {
            let (x, inside, jj) = value(kb, kk);
            kb.if_then(inside, |kb| {
                let v = e(kb, x);
                let p = kb.mulf(v, k);
                let p = kb.divf(p, sum);
                let r = kb.round_half_even_f32(p);
                let q = kb.fptosi(r, Scalar::I32);
                let q = kb.add(q, zp);
                // never below the zero point: the type's largest value is the one bound
                let y = kb.mins(q, hi);
                let so = act_slot(kb, out, row, jj, zero, zero);
                ob.store_slot(kb, y, so);
            });
            vec![]
        });
    });
    Ok(n * 32)
}
