//! `tcconv.softmax`: ONNX Runtime's QLinearSoftmax over each row of an N x C buffer
//! (`semantics::softmax_row`), one thread a row. The f32 sum runs left to right as the CPU
//! kernel's does (a tree reduction would round differently), so a row is sequential work:
//! 3C loads (max, sum, output), C table loads and adds, C multiplies and divides, C stores.
//! A classifier's softmax (N rows of ~1000) is a few microseconds, memory and latency bound.

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
    if !inp.elem.is_int() || inp.elem.bits() > 8 || table.len() != 256 {
        return Err(format!(
            "softmax reads integers of at most 8 bits through a 256-entry table, not {} ({} entries)",
            inp.elem,
            table.len()
        ));
    }
    let bits: Vec<i32> = table.iter().map(|v| v.to_bits() as i32).collect();
    let t = kb.global_id();
    let lim = kb.idx(n);
    let inb = kb.cmp(Cmp::Ult, t, lim);
    kb.if_then(inb, |kb| {
        let ib = Buf::act(kb, args[0], inp);
        let ob = Buf::act(kb, args[1], out);
        let exp = kb.table("softmax_exp", &bits);
        let zero = kb.idx(0);
        let at =
            |kb: &mut KernelBuilder, b: &ActBuffer, cc: Val| act_slot(kb, b, t, cc, zero, zero);
        let lowest = kb.i32c(i32::MIN as i64);
        let m = kb.for_n(c, 1, &[lowest], |kb, cc, acc| {
            let s = at(kb, inp, cc);
            let x = ib.load_slot(kb, s);
            vec![kb.maxs(acc[0], x)]
        })[0];
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
        let sum = kb.for_n(c, 1, &[f0], |kb, cc, acc| {
            let s = at(kb, inp, cc);
            let x = ib.load_slot(kb, s);
            let v = e(kb, x);
            vec![kb.addf(acc[0], v)]
        })[0];
        let (k, zp) = (kb.f32c(scale), kb.i32c(zero_point));
        let hi = kb.i32c(out.elem.range().1);
        kb.for_n(c, 1, &[], |kb, cc, _| {
            let s = at(kb, inp, cc);
            let x = ib.load_slot(kb, s);
            let v = e(kb, x);
            let p = kb.mulf(v, k);
            let p = kb.divf(p, sum);
            let r = kb.round_half_even_f32(p);
            let q = kb.fptosi(r, Scalar::I32);
            let q = kb.add(q, zp);
            // never below the zero point: the type's largest value is the one bound
            let y = kb.mins(q, hi);
            let so = at(kb, out, cc);
            ob.store_slot(kb, y, so);
            vec![]
        });
    });
    Ok(n)
}
