//! The kernel-builder layer: a small imperative builder over melior's `OperationBuilder` that
//! appends `arith` / `memref` / `scf` / `gpu` / `nvvm` ops to the block being built, plus the
//! helpers every kernel family shares: index arithmetic with constant folding, loops and
//! conditionals, packed-nibble and byte extraction / packing, clamps and the dyadic requantize
//! rounding sequence in i64 (`round_shift`, mirroring `nibble_qnn::semantics::round_shift`).
//!
//! Values are carried as raw `MlirValue` handles ([`V`], `Copy`) so that values defined in an
//! outer block can be used freely in nested regions without fighting melior's block lifetimes;
//! every handle refers to an op that is owned by the kernel under construction.
//!
//! Constants are created once per kernel, at the top of the kernel's entry block (they dominate
//! every nested region), and integer constants are remembered so that `add(x, 0)`, `mul(x, 1)`
//! and constant-only arithmetic fold while the IR is built (the printed IR stays readable).

use melior::ir::attribute::{
    DenseElementsAttribute, DenseI32ArrayAttribute, DenseI64ArrayAttribute, FlatSymbolRefAttribute,
    FloatAttribute, IntegerAttribute, StringAttribute, TypeAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike};
use melior::ir::r#type::TypeLike;
use melior::ir::r#type::{FunctionType, RankedTensorType};
use melior::ir::ValueLike;
use melior::ir::{
    Attribute, Block, BlockRef, Identifier, Location, Operation, Region, RegionLike, Type, Value,
};
use melior::Context;
use mlir_sys::{MlirBlock, MlirValue};
use nibble_qnn::semantics::Rounding;
use std::collections::HashMap;

/// Scalar types the kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum T {
    I1,
    I8,
    I32,
    I64,
    Idx,
    F32,
}

impl T {
    pub fn bits(self) -> u32 {
        match self {
            T::I1 => 1,
            T::I8 => 8,
            T::I32 | T::F32 => 32,
            T::I64 | T::Idx => 64,
        }
    }
}

/// A value of the kernel under construction (a raw handle, see the module comment).
#[derive(Clone, Copy, Debug)]
pub struct V(MlirValue);

impl V {
    pub fn value<'c, 'a>(self) -> Value<'c, 'a> {
        unsafe { Value::from_raw(self.0) }
    }
    fn key(self) -> usize {
        self.0.ptr as usize
    }
    pub fn from_value(v: Value) -> V {
        V(v.to_raw())
    }
}

/// `arith.cmpi` predicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq = 0,
    Ne = 1,
    Slt = 2,
    Sle = 3,
    Sgt = 4,
    Sge = 5,
    Ult = 6,
    Ule = 7,
    Ugt = 8,
    Uge = 9,
}

/// `arith.cmpf` predicates used here (ordered comparisons and `uno` = "is NaN").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpF {
    Olt = 4,
    Uno = 14,
}

/// A per-channel or per-tensor integer parameter: a constant, or a table read at a channel.
#[derive(Clone, Copy, Debug)]
pub enum Param {
    Const(i64),
    Value(V),
}

/// The kernel builder. One per `gpu.func`.
pub struct Kb<'c> {
    pub ctx: &'c Context,
    pub loc: Location<'c>,
    /// Name of the kernel (prefix of its constant tables).
    pub name: String,
    stack: Vec<MlirBlock>,
    entry: MlirBlock,
    nconst: usize,
    consts: HashMap<(T, u64), V>,
    known: HashMap<usize, i64>,
    types: HashMap<T, Type<'c>>,
    /// Constant tables (`memref.global`s) this kernel reads: (symbol, values).
    pub tables: Vec<(String, Vec<i32>)>,
}

impl<'c> Kb<'c> {
    fn new(ctx: &'c Context, loc: Location<'c>, name: &str, entry: MlirBlock) -> Self {
        let mut types = HashMap::new();
        for (t, s) in [
            (T::I1, "i1"),
            (T::I8, "i8"),
            (T::I32, "i32"),
            (T::I64, "i64"),
            (T::Idx, "index"),
            (T::F32, "f32"),
        ] {
            types.insert(t, Type::parse(ctx, s).expect("builtin scalar type"));
        }
        Kb {
            ctx,
            loc,
            name: name.to_owned(),
            stack: vec![entry],
            entry,
            nconst: 0,
            consts: HashMap::new(),
            known: HashMap::new(),
            types,
            tables: vec![],
        }
    }

    pub fn ty(&self, t: T) -> Type<'c> {
        self.types[&t]
    }

    /// The scalar type of `v` (panics on non-scalar values: a builder bug).
    pub fn t(&self, v: V) -> T {
        let ty = v.value().r#type();
        for (t, x) in &self.types {
            if *x == ty {
                return *t;
            }
        }
        panic!("value of type {ty} is not a kernel scalar")
    }

    fn block(&self) -> BlockRef<'c, '_> {
        unsafe { BlockRef::from_raw(*self.stack.last().expect("insertion block")) }
    }

    fn attr(&self, name: &str, a: Attribute<'c>) -> (Identifier<'c>, Attribute<'c>) {
        (Identifier::new(self.ctx, name), a)
    }

    /// Build `name(operands) {attrs} : results` and append it to the current block.
    pub fn op(
        &mut self,
        name: &str,
        operands: &[V],
        results: &[Type<'c>],
        attrs: &[(&str, Attribute<'c>)],
    ) -> Vec<V> {
        let operands: Vec<Value> = operands.iter().map(|v| v.value()).collect();
        let attrs: Vec<(Identifier, Attribute)> =
            attrs.iter().map(|(n, a)| self.attr(n, *a)).collect();
        let op = OperationBuilder::new(name, self.loc)
            .add_operands(&operands)
            .add_results(results)
            .add_attributes(&attrs)
            .build()
            .unwrap_or_else(|e| panic!("building {name}: {e}"));
        let r = self.block().append_operation(op);
        (0..r.result_count())
            .map(|i| V(r.result(i).unwrap().to_raw()))
            .collect()
    }

    fn op1(&mut self, name: &str, operands: &[V], result: Type<'c>) -> V {
        self.op(name, operands, &[result], &[])[0]
    }

    // ------------------------------------------------------------------ constants

    /// Integer (or index) constant of type `t`.
    pub fn c(&mut self, t: T, v: i64) -> V {
        let v = wrap(t, v);
        if let Some(x) = self.consts.get(&(t, v as u64)) {
            return *x;
        }
        let ty = self.ty(t);
        let op = OperationBuilder::new("arith.constant", self.loc)
            .add_attributes(&[self.attr("value", IntegerAttribute::new(ty, v).into())])
            .add_results(&[ty])
            .build()
            .expect("arith.constant");
        let entry = unsafe { BlockRef::from_raw(self.entry) };
        let r = entry.insert_operation(self.nconst, op);
        self.nconst += 1;
        let x = V(r.result(0).unwrap().to_raw());
        self.consts.insert((t, v as u64), x);
        self.known.insert(x.key(), v);
        x
    }
    pub fn idx(&mut self, v: i64) -> V {
        self.c(T::Idx, v)
    }
    pub fn i32c(&mut self, v: i64) -> V {
        self.c(T::I32, v)
    }
    pub fn i64c(&mut self, v: i64) -> V {
        self.c(T::I64, v)
    }
    pub fn f32c(&mut self, v: f32) -> V {
        let key = (T::F32, v.to_bits() as u64);
        if let Some(x) = self.consts.get(&key) {
            return *x;
        }
        let ty = self.ty(T::F32);
        let op = OperationBuilder::new("arith.constant", self.loc)
            .add_attributes(&[
                self.attr("value", FloatAttribute::new(self.ctx, ty, v as f64).into())
            ])
            .add_results(&[ty])
            .build()
            .expect("arith.constant f32");
        let entry = unsafe { BlockRef::from_raw(self.entry) };
        let r = entry.insert_operation(self.nconst, op);
        self.nconst += 1;
        let x = V(r.result(0).unwrap().to_raw());
        self.consts.insert(key, x);
        x
    }
    /// The constant value of `v`, if it is an integer constant made by this builder.
    pub fn known(&self, v: V) -> Option<i64> {
        self.known.get(&v.key()).copied()
    }

    // ------------------------------------------------------------------ integer arithmetic

    fn bin(&mut self, name: &str, a: V, b: V, fold: impl Fn(i64, i64) -> Option<i64>) -> V {
        let t = self.t(a);
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            if let Some(r) = fold(x, y) {
                return self.c(t, r);
            }
        }
        let ty = self.ty(t);
        self.op1(name, &[a, b], ty)
    }
    pub fn add(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        if self.known(a) == Some(0) {
            return b;
        }
        self.bin("arith.addi", a, b, |x, y| Some(x.wrapping_add(y)))
    }
    pub fn sub(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.subi", a, b, |x, y| Some(x.wrapping_sub(y)))
    }
    pub fn mul(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(1) {
            return a;
        }
        if self.known(a) == Some(1) {
            return b;
        }
        if self.known(a) == Some(0) || self.known(b) == Some(0) {
            let t = self.t(a);
            return self.c(t, 0);
        }
        self.bin("arith.muli", a, b, |x, y| Some(x.wrapping_mul(y)))
    }
    /// Unsigned division (index math on non-negative values).
    pub fn divu(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(1) {
            return a;
        }
        self.bin("arith.divui", a, b, |x, y| (x >= 0 && y > 0).then(|| x / y))
    }
    /// Unsigned remainder (index math on non-negative values).
    pub fn remu(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(1) {
            let t = self.t(a);
            return self.c(t, 0);
        }
        self.bin("arith.remui", a, b, |x, y| (x >= 0 && y > 0).then(|| x % y))
    }
    /// Signed (truncating) division and remainder.
    pub fn divs(&mut self, a: V, b: V) -> V {
        self.bin("arith.divsi", a, b, |x, y| {
            (y != 0).then(|| x.wrapping_div(y))
        })
    }
    pub fn rems(&mut self, a: V, b: V) -> V {
        self.bin("arith.remsi", a, b, |x, y| {
            (y != 0).then(|| x.wrapping_rem(y))
        })
    }
    pub fn and(&mut self, a: V, b: V) -> V {
        self.bin("arith.andi", a, b, |x, y| Some(x & y))
    }
    pub fn or(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        if self.known(a) == Some(0) {
            return b;
        }
        self.bin("arith.ori", a, b, |x, y| Some(x | y))
    }
    pub fn xor(&mut self, a: V, b: V) -> V {
        self.bin("arith.xori", a, b, |x, y| Some(x ^ y))
    }
    pub fn shl(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.shli", a, b, |x, y| {
            (0..64).contains(&y).then(|| x << y)
        })
    }
    /// Arithmetic shift right.
    pub fn shrs(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.shrsi", a, b, |x, y| {
            (0..64).contains(&y).then(|| x >> y)
        })
    }
    /// Logical shift right (no folding: the width matters).
    pub fn shru(&mut self, a: V, b: V) -> V {
        if self.known(b) == Some(0) {
            return a;
        }
        let t = self.t(a);
        let ty = self.ty(t);
        self.op1("arith.shrui", &[a, b], ty)
    }
    pub fn maxs(&mut self, a: V, b: V) -> V {
        self.bin("arith.maxsi", a, b, |x, y| Some(x.max(y)))
    }
    pub fn mins(&mut self, a: V, b: V) -> V {
        self.bin("arith.minsi", a, b, |x, y| Some(x.min(y)))
    }
    pub fn cmp(&mut self, p: Cmp, a: V, b: V) -> V {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            let (ux, uy) = (x as u64, y as u64);
            let r = match p {
                Cmp::Eq => x == y,
                Cmp::Ne => x != y,
                Cmp::Slt => x < y,
                Cmp::Sle => x <= y,
                Cmp::Sgt => x > y,
                Cmp::Sge => x >= y,
                Cmp::Ult => ux < uy,
                Cmp::Ule => ux <= uy,
                Cmp::Ugt => ux > uy,
                Cmp::Uge => ux >= uy,
            };
            return self.c(T::I1, r as i64);
        }
        if p == Cmp::Uge && self.known(b) == Some(0) {
            return self.c(T::I1, 1);
        }
        let i64t = self.ty(T::I64);
        let ty = self.ty(T::I1);
        self.op(
            "arith.cmpi",
            &[a, b],
            &[ty],
            &[("predicate", IntegerAttribute::new(i64t, p as i64).into())],
        )[0]
    }
    pub fn select(&mut self, c: V, a: V, b: V) -> V {
        if let Some(k) = self.known(c) {
            return if k != 0 { a } else { b };
        }
        let t = self.t(a);
        let ty = self.ty(t);
        self.op1("arith.select", &[c, a, b], ty)
    }
    pub fn andb(&mut self, a: V, b: V) -> V {
        match (self.known(a), self.known(b)) {
            (Some(0), _) | (_, Some(0)) => return self.c(T::I1, 0),
            (Some(_), _) => return b,
            (_, Some(_)) => return a,
            _ => {}
        }
        let ty = self.ty(T::I1);
        self.op1("arith.andi", &[a, b], ty)
    }
    pub fn orb(&mut self, a: V, b: V) -> V {
        let ty = self.ty(T::I1);
        self.op1("arith.ori", &[a, b], ty)
    }

    // ------------------------------------------------------------------ casts

    fn cast(&mut self, name: &str, v: V, to: T) -> V {
        let ty = self.ty(to);
        self.op1(name, &[v], ty)
    }
    pub fn sext(&mut self, v: V, to: T) -> V {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        self.cast("arith.extsi", v, to)
    }
    pub fn zext(&mut self, v: V, to: T) -> V {
        if self.t(v) == to {
            return v;
        }
        self.cast("arith.extui", v, to)
    }
    pub fn trunc(&mut self, v: V, to: T) -> V {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        self.cast("arith.trunci", v, to)
    }
    /// index <-> integer.
    pub fn index_cast(&mut self, v: V, to: T) -> V {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        self.cast("arith.index_cast", v, to)
    }
    pub fn sitofp(&mut self, v: V) -> V {
        self.cast("arith.sitofp", v, T::F32)
    }
    /// The i32 `v`'s bits as an f32.
    pub fn bitcast_f32(&mut self, v: V) -> V {
        self.cast("arith.bitcast", v, T::F32)
    }
    pub fn fptosi(&mut self, v: V, to: T) -> V {
        self.cast("arith.fptosi", v, to)
    }

    // ------------------------------------------------------------------ f32

    pub fn mulf(&mut self, a: V, b: V) -> V {
        let ty = self.ty(T::F32);
        self.op1("arith.mulf", &[a, b], ty)
    }
    pub fn addf(&mut self, a: V, b: V) -> V {
        let ty = self.ty(T::F32);
        self.op1("arith.addf", &[a, b], ty)
    }
    pub fn subf(&mut self, a: V, b: V) -> V {
        let ty = self.ty(T::F32);
        self.op1("arith.subf", &[a, b], ty)
    }
    pub fn negf(&mut self, a: V) -> V {
        let ty = self.ty(T::F32);
        self.op1("arith.negf", &[a], ty)
    }
    pub fn cmpf(&mut self, p: CmpF, a: V, b: V) -> V {
        let i64t = self.ty(T::I64);
        let ty = self.ty(T::I1);
        self.op(
            "arith.cmpf",
            &[a, b],
            &[ty],
            &[("predicate", IntegerAttribute::new(i64t, p as i64).into())],
        )[0]
    }

    // ------------------------------------------------------------------ gpu

    fn gpu_dim(&mut self, name: &str) -> V {
        let dim = Attribute::parse(self.ctx, "#gpu<dim x>").expect("#gpu<dim x>");
        let ty = self.ty(T::Idx);
        self.op(name, &[], &[ty], &[("dimension", dim)])[0]
    }
    pub fn thread_id(&mut self) -> V {
        self.gpu_dim("gpu.thread_id")
    }
    pub fn block_id(&mut self) -> V {
        self.gpu_dim("gpu.block_id")
    }
    pub fn barrier(&mut self) {
        self.op("gpu.barrier", &[], &[], &[]);
    }
    /// `gpu.shuffle xor %v, %mask, 32` over the whole warp (every lane must execute it).
    pub fn shuffle_xor(&mut self, v: V, mask: i64) -> V {
        let m = self.i32c(mask);
        let w = self.i32c(32);
        let mode = Attribute::parse(self.ctx, "#gpu<shuffle_mode xor>").expect("shuffle mode");
        let (i32t, i1t) = (self.ty(T::I32), self.ty(T::I1));
        self.op("gpu.shuffle", &[v, m, w], &[i32t, i1t], &[("mode", mode)])[0]
    }
    /// `nvvm.mma.sync` (row-major A, column-major B, i32 accumulators, wrapping overflow like
    /// the i32 adds of the simple kernel): returns the D registers.
    pub fn mma_sync(
        &mut self,
        shape: [i64; 3],
        a_type: &str,
        b_type: &str,
        a: &[V],
        b: &[V],
        c: &[V],
    ) -> Vec<V> {
        let p = |s: &str| Attribute::parse(self.ctx, s).unwrap_or_else(|| panic!("attribute {s}"));
        let [m, n, k] = shape;
        let st = Type::parse(
            self.ctx,
            &format!("!llvm.struct<({})>", vec!["i32"; c.len()].join(", ")),
        )
        .expect("mma result struct");
        let seg = DenseI32ArrayAttribute::new(
            self.ctx,
            &[a.len() as i32, b.len() as i32, c.len() as i32],
        )
        .into();
        let mut operands = a.to_vec();
        operands.extend_from_slice(b);
        operands.extend_from_slice(c);
        let attrs = [
            (
                "shape",
                p(&format!("#nvvm.shape<m = {m}, n = {n}, k = {k}>")),
            ),
            ("layoutA", p("#nvvm.mma_layout<row>")),
            ("layoutB", p("#nvvm.mma_layout<col>")),
            (
                "multiplicandAPtxType",
                p(&format!("#nvvm.mma_type<{a_type}>")),
            ),
            (
                "multiplicandBPtxType",
                p(&format!("#nvvm.mma_type<{b_type}>")),
            ),
            ("intOverflowBehavior", p("#nvvm.mma_int_overflow<wrapped>")),
            ("operandSegmentSizes", seg),
        ];
        let d = self.op("nvvm.mma.sync", &operands, &[st], &attrs)[0];
        (0..c.len())
            .map(|i| self.extract_value(d, i as i64, T::I32))
            .collect()
    }

    /// `nvgpu.device_async_copy` of 16 bytes (4 i32 words, `cp.async.cg`, L1 bypassed) from
    /// `src[si]` (global) to `dst[di]` (workgroup); when `valid` is false no byte is read and the
    /// 16 destination bytes are zero-filled (`srcElements = 0`).
    pub fn async_copy16(&mut self, src: V, si: V, dst: V, di: V, valid: V) {
        let four = self.idx(4);
        let zero = self.idx(0);
        let n = self.select(valid, four, zero);
        let tok = Type::parse(self.ctx, "!nvgpu.device.async.token").expect("async token type");
        let seg = DenseI32ArrayAttribute::new(self.ctx, &[1, 1, 1, 1, 1]).into();
        let idx = Type::index(self.ctx);
        self.op(
            "nvgpu.device_async_copy",
            &[dst, di, src, si, n],
            &[tok],
            &[
                ("dstElements", IntegerAttribute::new(idx, 4).into()),
                ("bypassL1", Attribute::unit(self.ctx)),
                ("operandSegmentSizes", seg),
            ],
        );
    }
    /// `cp.async.commit_group`: close the group of the async copies issued since the last one.
    pub fn async_commit(&mut self) {
        self.op("nvvm.cp.async.commit.group", &[], &[], &[]);
    }
    /// `cp.async.wait_group n`: wait until at most `n` committed groups are still in flight.
    pub fn async_wait(&mut self, n: i64) {
        let i32t = self.ty(T::I32);
        self.op(
            "nvvm.cp.async.wait.group",
            &[],
            &[],
            &[("n", IntegerAttribute::new(i32t, n).into())],
        );
    }
    /// `nvgpu.ldmatrix` (`ldmatrix.sync.aligned.m8n8.xN.shared.b16`) of `tiles` 8x8 b16
    /// matrices from workgroup memref `m` (i32 words) at word `i` (this lane's row address):
    /// register `j` of lane (g, t) is word t of row g of matrix j.
    pub fn ldmatrix(&mut self, m: V, i: V, tiles: i64) -> Vec<V> {
        let vt = Type::parse(self.ctx, &format!("vector<{tiles}x1xi32>")).expect("ldmatrix type");
        let i32t = self.ty(T::I32);
        let v = self.op(
            "nvgpu.ldmatrix",
            &[m, i],
            &[vt],
            &[
                ("numTiles", IntegerAttribute::new(i32t, tiles).into()),
                ("transpose", Attribute::parse(self.ctx, "false").unwrap()),
            ],
        )[0];
        (0..tiles)
            .map(|j| {
                let pos = DenseI64ArrayAttribute::new(self.ctx, &[j, 0]).into();
                self.op("vector.extract", &[v], &[i32t], &[("static_position", pos)])[0]
            })
            .collect()
    }

    /// `vector.load` of 4 i32 words at word `i` of `m` (16-byte aligned: `ld.v4.b32`).
    pub fn load4(&mut self, m: V, i: V) -> V {
        let vt = Type::parse(self.ctx, "vector<4xi32>").expect("vector type");
        let i64t = self.ty(T::I64);
        self.op(
            "vector.load",
            &[m, i],
            &[vt],
            &[("alignment", IntegerAttribute::new(i64t, 16).into())],
        )[0]
    }
    /// `vector.store` of 4 i32 words `v` at word `i` of `m` (16-byte aligned: `st.v4.b32`).
    pub fn store4(&mut self, v: V, m: V, i: V) {
        let i64t = self.ty(T::I64);
        self.op(
            "vector.store",
            &[v, m, i],
            &[],
            &[("alignment", IntegerAttribute::new(i64t, 16).into())],
        );
    }

    /// `vector.store` of the two scalars `a`, `b` (i32 or i8) at element `i` of `m`, aligned to
    /// the pair's size (`st.v2.b32` / `st.v2.b8`).
    pub fn store2(&mut self, a: V, b: V, m: V, i: V) {
        let (elem, align) = match self.t(a) {
            T::I8 => ("i8", 2),
            _ => ("i32", 8),
        };
        let vt = Type::parse(self.ctx, &format!("vector<2x{elem}>")).expect("vector type");
        let v = self.op("vector.from_elements", &[a, b], &[vt], &[])[0];
        let i64t = self.ty(T::I64);
        self.op(
            "vector.store",
            &[v, m, i],
            &[],
            &[("alignment", IntegerAttribute::new(i64t, align).into())],
        );
    }

    /// `block_id.x * block_dim.x + thread_id.x` (index).
    pub fn global_id(&mut self) -> V {
        let b = self.gpu_dim("gpu.block_id");
        let d = self.gpu_dim("gpu.block_dim");
        let t = self.gpu_dim("gpu.thread_id");
        let bd = self.mul(b, d);
        self.add(bd, t)
    }

    // ------------------------------------------------------------------ memref

    /// A 1-D view `memref<len x elem>` of a kernel argument of static shape (identity layout):
    /// `memref.reinterpret_cast` (lowered directly by convert-gpu-to-nvvm; with bare pointers the
    /// kernel parameter is one pointer either way).
    pub fn flat(&mut self, arg: V, len: i64, elem: &str) -> V {
        let ty = arg.value().r#type();
        let rank = unsafe { mlir_sys::mlirShapedTypeGetRank(ty.to_raw()) };
        if rank == 1 {
            return arg;
        }
        let to = Type::parse(self.ctx, &format!("memref<{len}x{elem}>")).expect("1-D memref type");
        let seg = DenseI32ArrayAttribute::new(self.ctx, &[1, 0, 0, 0]).into();
        let a = |v: &[i64]| -> Attribute<'c> { DenseI64ArrayAttribute::new(self.ctx, v).into() };
        let (so, ss, st) = (a(&[0]), a(&[len]), a(&[1]));
        self.op(
            "memref.reinterpret_cast",
            &[arg],
            &[to],
            &[
                ("operandSegmentSizes", seg),
                ("static_offsets", so),
                ("static_sizes", ss),
                ("static_strides", st),
            ],
        )[0]
    }
    /// `memref.view` of a 1-D i8 memref of `bytes` bytes as `bytes / 4` i32 words.
    pub fn view_words(&mut self, bytes_mem: V, bytes: i64) -> V {
        let to = Type::parse(self.ctx, &format!("memref<{}xi32>", bytes / 4)).expect("view type");
        let zero = self.idx(0);
        self.op("memref.view", &[bytes_mem, zero], &[to], &[])[0]
    }
    /// Element type of a memref value.
    fn elem_of(&self, m: V) -> Type<'c> {
        unsafe {
            Type::from_raw(mlir_sys::mlirShapedTypeGetElementType(
                m.value().r#type().to_raw(),
            ))
        }
    }
    pub fn load(&mut self, m: V, i: V) -> V {
        let ty = self.elem_of(m);
        self.op1("memref.load", &[m, i], ty)
    }
    pub fn store(&mut self, v: V, m: V, i: V) {
        self.op("memref.store", &[v, m, i], &[], &[]);
    }
    /// A constant i32 table in the gpu.module (`memref.global ... constant`, emitted by the
    /// caller from [`Kb::tables`]) and a `memref.get_global` of it.
    pub fn table(&mut self, what: &str, values: &[i32]) -> V {
        let name = format!("{}_{what}", self.name);
        if !self.tables.iter().any(|(n, _)| *n == name) {
            self.tables.push((name.clone(), values.to_vec()));
        }
        let ty =
            Type::parse(self.ctx, &format!("memref<{}xi32>", values.len())).expect("table type");
        let sym = FlatSymbolRefAttribute::new(self.ctx, &name).into();
        self.op("memref.get_global", &[], &[ty], &[("name", sym)])[0]
    }

    // ------------------------------------------------------------------ scf

    /// `scf.for %iv = lo to hi step st iter_args(inits)`; `body` gets the induction variable and
    /// the iteration values and returns the values to yield. Returns the loop results.
    pub fn for_range(
        &mut self,
        lo: V,
        hi: V,
        step: V,
        inits: &[V],
        body: impl FnOnce(&mut Self, V, &[V]) -> Vec<V>,
    ) -> Vec<V> {
        let mut args = vec![(self.ty(T::Idx), self.loc)];
        let types: Vec<Type<'c>> = inits.iter().map(|v| v.value().r#type()).collect();
        args.extend(types.iter().map(|t| (*t, self.loc)));
        let block = Block::new(&args);
        let iv = V(block.argument(0).unwrap().to_raw());
        let iters: Vec<V> = (0..inits.len())
            .map(|i| V(block.argument(i + 1).unwrap().to_raw()))
            .collect();
        self.stack.push(block.to_raw());
        let out = body(self, iv, &iters);
        assert_eq!(
            out.len(),
            inits.len(),
            "scf.for yields one value per iter_arg"
        );
        self.op("scf.yield", &out, &[], &[]);
        self.stack.pop();
        let region = Region::new();
        region.append_block(block);
        let mut operands: Vec<Value> = vec![lo.value(), hi.value(), step.value()];
        operands.extend(inits.iter().map(|v| v.value()));
        let op = OperationBuilder::new("scf.for", self.loc)
            .add_operands(&operands)
            .add_results(&types)
            .add_regions([region])
            .build()
            .expect("scf.for");
        let r = self.block().append_operation(op);
        (0..r.result_count())
            .map(|i| V(r.result(i).unwrap().to_raw()))
            .collect()
    }

    /// `for iv in 0..n` with constant bounds: a plain Rust loop (unrolled) when `n <= unroll`,
    /// else an `scf.for`.
    pub fn for_n(
        &mut self,
        n: i64,
        unroll: i64,
        inits: &[V],
        mut body: impl FnMut(&mut Self, V, &[V]) -> Vec<V>,
    ) -> Vec<V> {
        if n <= unroll {
            let mut cur = inits.to_vec();
            for i in 0..n {
                let iv = self.idx(i);
                cur = body(self, iv, &cur);
            }
            return cur;
        }
        let (lo, hi, one) = (self.idx(0), self.idx(n), self.idx(1));
        self.for_range(lo, hi, one, inits, body)
    }

    /// `scf.if cond { then }` with no results.
    pub fn if_then(&mut self, cond: V, then: impl FnOnce(&mut Self)) {
        let block = Block::new(&[]);
        self.stack.push(block.to_raw());
        then(self);
        self.op("scf.yield", &[], &[], &[]);
        self.stack.pop();
        let region = Region::new();
        region.append_block(block);
        let op = OperationBuilder::new("scf.if", self.loc)
            .add_operands(&[cond.value()])
            .add_regions([region, Region::new()])
            .build()
            .expect("scf.if");
        self.block().append_operation(op);
    }

    // ------------------------------------------------------------------ nvvm / llvm

    pub fn extract_value(&mut self, agg: V, pos: i64, t: T) -> V {
        let ty = self.ty(t);
        let p = DenseI64ArrayAttribute::new(self.ctx, &[pos]).into();
        self.op("llvm.extractvalue", &[agg], &[ty], &[("position", p)])[0]
    }

    /// The 4 i32 words of a `vector<4xi32>` (from [`Kb::load4`]).
    pub fn words4(&mut self, v: V) -> [V; 4] {
        let i32t = self.ty(T::I32);
        [0, 1, 2, 3].map(|j| {
            let pos = DenseI64ArrayAttribute::new(self.ctx, &[j]).into();
            self.op("vector.extract", &[v], &[i32t], &[("static_position", pos)])[0]
        })
    }
    /// `vector<4xi32>` of 4 i32 words (for [`Kb::store4`]).
    pub fn vec4(&mut self, w: [V; 4]) -> V {
        let vt = Type::parse(self.ctx, "vector<4xi32>").expect("vector type");
        self.op("vector.from_elements", &w, &[vt], &[])[0]
    }

    // ------------------------------------------------------------------ Hopper (sm_90a)

    /// The shared-memory address of a workgroup memref (i64; what a wgmma matrix descriptor
    /// encodes).
    pub fn smem_address(&mut self, m: V) -> V {
        let idx = Type::index(self.ctx);
        let p = self.op("memref.extract_aligned_pointer_as_index", &[m], &[idx], &[])[0];
        self.index_cast(p, T::I64)
    }
    /// `fence.proxy.async.shared::cta`: this thread's generic-proxy writes to shared memory
    /// (stores, cp.async) become visible to the async proxy that `wgmma` reads through.
    pub fn fence_proxy_async(&mut self) {
        let p = |s: &str| Attribute::parse(self.ctx, s).unwrap_or_else(|| panic!("attribute {s}"));
        let attrs = [
            ("kind", p("#nvvm.proxy_kind<async.shared>")),
            ("space", p("#nvvm.shared_space<cta>")),
        ];
        self.op("nvvm.fence.proxy", &[], &[], &attrs);
    }
    /// `wgmma.fence.sync.aligned`: orders the accumulator registers before the next wgmma.
    pub fn wgmma_fence(&mut self) {
        self.op("nvvm.wgmma.fence.aligned", &[], &[], &[]);
    }
    /// `wgmma.commit_group.sync.aligned`.
    pub fn wgmma_commit(&mut self) {
        self.op("nvvm.wgmma.commit.group.sync.aligned", &[], &[], &[]);
    }
    /// `wgmma.wait_group.sync.aligned n`: at most `n` committed wgmma groups still pending.
    pub fn wgmma_wait(&mut self, n: i64) {
        let i64t = self.ty(T::I64);
        self.op(
            "nvvm.wgmma.wait.group.sync.aligned",
            &[],
            &[],
            &[("group", IntegerAttribute::new(i64t, n).into())],
        );
    }
    /// The `!llvm.struct` of `len` i32 accumulators that wgmma reads and writes.
    fn acc_struct(&self, len: usize) -> Type<'c> {
        Type::parse(
            self.ctx,
            &format!("!llvm.struct<({})>", vec!["i32"; len].join(", ")),
        )
        .expect("wgmma accumulator struct")
    }
    /// An accumulator struct of `len` zeros.
    pub fn acc_zeros(&mut self, len: usize) -> V {
        let st = self.acc_struct(len);
        let zero = self.i32c(0);
        let mut acc = self.op("llvm.mlir.undef", &[], &[st], &[])[0];
        for i in 0..len {
            let pos = DenseI64ArrayAttribute::new(self.ctx, &[i as i64]).into();
            acc = self.op(
                "llvm.insertvalue",
                &[acc, zero],
                &[st],
                &[("position", pos)],
            )[0];
        }
        acc
    }
    /// The `len` i32 values of an accumulator struct.
    pub fn acc_values(&mut self, acc: V, len: usize) -> Vec<V> {
        (0..len)
            .map(|i| self.extract_value(acc, i as i64, T::I32))
            .collect()
    }
    /// `wgmma.mma_async.sync.aligned.m64n{n}k32.s32.{a}.{b}`: D = A x B + D with A (64 x 32,
    /// K-major) and B (n x 32, K-major) in shared memory behind the matrix descriptors `da`,
    /// `db`; `acc` is the struct of this thread's n / 2 accumulators (register 4j + i: row
    /// 16 * warp + g + 8 * (i / 2), column 8j + 2t + i % 2, as n / 8 m16n8 C fragments). The
    /// struct stays whole between wgmmas, so no instruction touches the accumulators while
    /// one is in flight.
    pub fn wgmma(&mut self, n: i64, a_type: &str, b_type: &str, da: V, db: V, acc: V) -> V {
        let p = |s: &str| Attribute::parse(self.ctx, s).unwrap_or_else(|| panic!("attribute {s}"));
        let st = acc.value().r#type();
        let attrs = [
            ("shape", p(&format!("#nvvm.shape<m = 64, n = {n}, k = 32>"))),
            ("typeA", p(&format!("#nvvm.wgmma_type<{a_type}>"))),
            ("typeB", p(&format!("#nvvm.wgmma_type<{b_type}>"))),
            ("typeD", p("#nvvm.wgmma_type<s32>")),
            ("scaleA", p("#nvvm.wgmma_scale_in<one>")),
            ("scaleB", p("#nvvm.wgmma_scale_in<one>")),
            ("scaleD", p("#nvvm.wgmma_scale_out<one>")),
            ("layoutA", p("#nvvm.mma_layout<row>")),
            ("layoutB", p("#nvvm.mma_layout<col>")),
        ];
        self.op("nvvm.wgmma.mma_async", &[acc, da, db], &[st], &attrs)[0]
    }
    /// The kernel's dynamic shared memory (`gpu.dynamic_shared_memory`, sized by the launch)
    /// as `words` i32 words.
    pub fn dynamic_smem(&mut self, words: i64) -> V {
        let bytes =
            Type::parse(self.ctx, "memref<?xi8, #gpu.address_space<workgroup>>").expect("type");
        let d = self.op("gpu.dynamic_shared_memory", &[], &[bytes], &[])[0];
        let to = Type::parse(
            self.ctx,
            &format!("memref<{words}xi32, #gpu.address_space<workgroup>>"),
        )
        .expect("view type");
        let zero = self.idx(0);
        self.op("memref.view", &[d, zero], &[to], &[])[0]
    }

    // ------------------------------------------------------------------ packed 4-bit and bytes

    /// Nibble `j` (bits [4j+3 : 4j]) of an i32 word, sign-extended when `signed`
    /// (`unpack_nibbles`: low nibble first).
    pub fn nibble(&mut self, word: V, j: i64, signed: bool) -> V {
        if signed {
            let l = self.i32c(28 - 4 * j);
            let r = self.i32c(28);
            let x = self.shl(word, l);
            self.shrs(x, r)
        } else {
            let s = self.i32c(4 * j);
            let m = self.i32c(15);
            let x = self.shru(word, s);
            if j == 7 {
                return x;
            }
            self.and(x, m)
        }
    }
    /// Nibble at a dynamic bit offset `sh` (i32, a multiple of 4).
    pub fn nibble_at(&mut self, word: V, sh: V, signed: bool) -> V {
        if signed {
            let c28 = self.i32c(28);
            let l = self.sub(c28, sh);
            let x = self.shl(word, l);
            self.shrs(x, c28)
        } else {
            let m = self.i32c(15);
            let x = self.shru(word, sh);
            self.and(x, m)
        }
    }
    /// Byte `j` of an i32 word (little endian), sign-extended when `signed`.
    pub fn byte(&mut self, word: V, j: i64, signed: bool) -> V {
        if signed {
            let l = self.i32c(24 - 8 * j);
            let r = self.i32c(24);
            let x = self.shl(word, l);
            self.shrs(x, r)
        } else {
            let s = self.i32c(8 * j);
            let m = self.i32c(255);
            let x = self.shru(word, s);
            if j == 3 {
                return x;
            }
            self.and(x, m)
        }
    }
    /// Widen the four nibbles in bits [15:0] of `x` to four bytes (nibble j -> byte j), sign
    /// extending each when `signed`: the s4 -> s8 / u4 -> u8 widening of sm_90.
    /// `u = (x & 0xf) | (x & 0xf0) << 4 | (x & 0xf00) << 8 | (x & 0xf000) << 12`;
    /// signed: `u | (u & 0x08080808) * 30` (0x08 * 30 = 0xf0 sets the high nibble of the bytes
    /// whose value is >= 8, never carrying into the next byte).
    pub fn widen4(&mut self, x: V, signed: bool) -> V {
        let mut u = self.i32c(0);
        for j in 0..4 {
            let m = self.i32c(0xf << (4 * j));
            let part = self.and(x, m);
            let s = self.i32c(4 * j);
            let part = self.shl(part, s);
            u = self.or(u, part);
        }
        if !signed {
            return u;
        }
        let m = self.i32c(0x0808_0808);
        let k = self.i32c(30);
        let sign = self.and(u, m);
        let ext = self.mul(sign, k);
        self.or(u, ext)
    }

    /// Pack up to eight i32 values into one word, value `j` in bits [4j+3 : 4j]
    /// (`pack_nibbles`: only the low 4 bits of each value are kept).
    pub fn pack_nibbles(&mut self, vals: &[V]) -> V {
        let m = self.i32c(15);
        let mut w = self.i32c(0);
        for (j, v) in vals.iter().enumerate() {
            let x = if j == 7 { *v } else { self.and(*v, m) };
            let s = self.i32c(4 * j as i64);
            let x = self.shl(x, s);
            w = self.or(w, x);
        }
        w
    }

    // ------------------------------------------------------------------ clamps and requantize

    /// `clamp(v, lo, hi)` on a signed integer value (bounds outside the type are dropped).
    pub fn clamp(&mut self, v: V, lo: i64, hi: i64) -> V {
        let t = self.t(v);
        let (tmin, tmax) = match t.bits() {
            32 => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        };
        let mut v = v;
        if lo > tmin {
            let c = self.c(t, lo);
            v = self.maxs(v, c);
        }
        if hi < tmax {
            let c = self.c(t, hi);
            v = self.mins(v, c);
        }
        v
    }

    /// `round(p / 2^c)` under `mode`, p and c i64 (0 <= c <= 62); mirrors
    /// `nibble_qnn::semantics::round_shift` step by step:
    /// ```text
    /// if c == 0 { p } else {
    ///   q = p >> c (arithmetic = floor); r = p - (q << c)  (0 <= r < 2^c); half = 2^(c-1)
    ///   half_to_even: q + (r > half || (r == half && q odd))
    ///   half_up:      q + (r >= half)
    ///   truncate:     q + (p < 0 && r != 0)
    /// }
    /// ```
    /// For a dynamic `c`, `half = (1 << c) >> 1` (0 when c == 0, no poison shift) and the
    /// `c == 0` case is selected at the end.
    pub fn round_shift(&mut self, p: V, c: Param, mode: Rounding) -> V {
        let cv = match c {
            Param::Const(0) => return p,
            Param::Const(k) => self.i64c(k),
            Param::Value(v) => v,
        };
        let one = self.i64c(1);
        let q = self.shrs(p, cv);
        let qs = self.shl(q, cv);
        let r = self.sub(p, qs);
        let half = match c {
            Param::Const(k) => self.i64c(1i64 << (k - 1)),
            Param::Value(_) => {
                let pow = self.shl(one, cv);
                self.shrs(pow, one)
            }
        };
        let up = match mode {
            Rounding::HalfToEven => {
                let gt = self.cmp(Cmp::Sgt, r, half);
                let eq = self.cmp(Cmp::Eq, r, half);
                let odd64 = self.and(q, one);
                let z = self.i64c(0);
                let odd = self.cmp(Cmp::Ne, odd64, z);
                let tie = self.andb(eq, odd);
                self.orb(gt, tie)
            }
            Rounding::HalfUp => self.cmp(Cmp::Sge, r, half),
            Rounding::Truncate => {
                let z = self.i64c(0);
                let neg = self.cmp(Cmp::Slt, p, z);
                let frac = self.cmp(Cmp::Ne, r, z);
                self.andb(neg, frac)
            }
        };
        let inc = self.zext(up, T::I64);
        let y = self.add(q, inc);
        match c {
            Param::Const(_) => y,
            Param::Value(v) => {
                let z = self.i64c(0);
                let is0 = self.cmp(Cmp::Eq, v, z);
                self.select(is0, p, y)
            }
        }
    }

    /// `Dyadic::apply`: `round(x * b / 2^c)` with the product in i64 (x: i32 or i64 value).
    pub fn dyadic(&mut self, x: V, b: Param, c: Param, mode: Rounding) -> V {
        let x = self.sext(x, T::I64);
        let b = match b {
            Param::Const(k) => self.i64c(k),
            Param::Value(v) => self.sext(v, T::I64),
        };
        let p = self.mul(x, b);
        let c = match c {
            Param::Value(v) => Param::Value(self.sext(v, T::I64)),
            k => k,
        };
        self.round_shift(p, c, mode)
    }

    /// `a + b` in i64 saturated to [i64::MIN, i64::MAX]: the exact i128 sum of `qnn.add`
    /// followed by any clamp inside i64 gives the same result.
    pub fn add_sat64(&mut self, a: V, b: V) -> V {
        let s = self.add(a, b);
        let z = self.i64c(0);
        // overflow iff a and b have the same sign and s has the other one
        let sa = self.cmp(Cmp::Slt, a, z);
        let sb = self.cmp(Cmp::Slt, b, z);
        let ss = self.cmp(Cmp::Slt, s, z);
        let same = self.cmp(Cmp::Eq, sa, sb);
        let flip = self.cmp(Cmp::Ne, sa, ss);
        let ovf = self.andb(same, flip);
        let min = self.i64c(i64::MIN);
        let max = self.i64c(i64::MAX);
        let sat = self.select(sa, min, max);
        self.select(ovf, sat, s)
    }
}

/// Wrap `v` to the width of `t` (sign-extended back to i64).
fn wrap(t: T, v: i64) -> i64 {
    match t {
        T::I1 => v & 1,
        T::I8 => v as i8 as i64,
        T::I32 => v as i32 as i64,
        _ => v,
    }
}

/// A `gpu.func ... kernel` built by `body` (which gets the kernel arguments, then one memref per
/// `workgroup` type: shared-memory attributions, `#gpu.address_space<workgroup>`), with
/// `known_block_size = [block, 1, 1]` and `llvm.noalias` on every argument (outputs never alias
/// inputs; inputs are only read). Returns the op and the constant tables it reads.
pub fn build_kernel<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    arg_types: &[Type<'c>],
    workgroup: &[Type<'c>],
    block: i64,
    body: impl FnOnce(&mut Kb<'c>, &[V]),
) -> (Operation<'c>, Vec<(String, Vec<i32>)>) {
    let entry = Block::new(
        &arg_types
            .iter()
            .chain(workgroup)
            .map(|t| (*t, loc))
            .collect::<Vec<_>>(),
    );
    let args: Vec<V> = (0..arg_types.len() + workgroup.len())
        .map(|i| V(entry.argument(i).unwrap().to_raw()))
        .collect();
    let mut kb = Kb::new(ctx, loc, name, entry.to_raw());
    body(&mut kb, &args);
    kb.op("gpu.return", &[], &[], &[]);
    let tables = std::mem::take(&mut kb.tables);
    let region = Region::new();
    region.append_block(entry);
    let fty = FunctionType::new(ctx, arg_types, &[]);
    let noalias = Attribute::parse(ctx, "{llvm.noalias}").expect("noalias dict");
    let align16 = Attribute::parse(ctx, "{llvm.align = 16 : i64}").expect("align dict");
    // 16-byte aligned shared memory: 16-byte cp.async and ldmatrix row addresses need it
    let wg_attrs = if workgroup.is_empty() {
        vec![]
    } else {
        let a = melior::ir::attribute::ArrayAttribute::new(ctx, &vec![align16; workgroup.len()]);
        vec![(Identifier::new(ctx, "workgroup_attrib_attrs"), a.into())]
    };
    let arg_attrs =
        melior::ir::attribute::ArrayAttribute::new(ctx, &vec![noalias; arg_types.len()]);
    let i64t = Type::parse(ctx, "i64").unwrap();
    let op = OperationBuilder::new("gpu.func", loc)
        .add_attributes(&[
            (
                Identifier::new(ctx, "workgroup_attributions"),
                IntegerAttribute::new(i64t, workgroup.len() as i64).into(),
            ),
            (
                Identifier::new(ctx, "sym_name"),
                StringAttribute::new(ctx, name).into(),
            ),
            (
                Identifier::new(ctx, "function_type"),
                TypeAttribute::new(fty.into()).into(),
            ),
            (Identifier::new(ctx, "arg_attrs"), arg_attrs.into()),
            (Identifier::new(ctx, "gpu.kernel"), Attribute::unit(ctx)),
            (
                Identifier::new(ctx, "known_block_size"),
                DenseI32ArrayAttribute::new(ctx, &[block as i32, 1, 1]).into(),
            ),
        ])
        .add_attributes(&wg_attrs)
        .add_regions([region])
        .build()
        .unwrap_or_else(|e| panic!("building gpu.func {name}: {e}"));
    (op, tables)
}

/// The type of a shared-memory attribution of `words` i32 words
/// (`memref<N x i32, #gpu.address_space<workgroup>>`).
pub fn workgroup_i32<'c>(ctx: &'c Context, words: i64) -> Type<'c> {
    Type::parse(
        ctx,
        &format!("memref<{words}xi32, #gpu.address_space<workgroup>>"),
    )
    .expect("workgroup memref type")
}

/// `memref.global "private" constant @name : memref<Nxi32> = dense<...>`.
pub fn table_global<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    values: &[i32],
) -> Operation<'c> {
    let i32t = Type::parse(ctx, "i32").unwrap();
    let tensor = RankedTensorType::new(&[values.len() as u64], i32t, None);
    let dense = DenseElementsAttribute::i32_values(tensor.into(), values);
    let mty = Type::parse(ctx, &format!("memref<{}xi32>", values.len())).unwrap();
    melior::dialect::memref::global(
        ctx,
        name,
        Some("private"),
        melior::ir::r#type::MemRefType::try_from(mty).unwrap(),
        Some(dense.into()),
        true,
        Some(IntegerAttribute::new(Type::parse(ctx, "i64").unwrap(), 4)),
        loc,
    )
}
