//! The kernel-builder layer: a small imperative builder over melior's `OperationBuilder` that
//! appends `arith` / `memref` / `scf` / `gpu` / `nvvm` ops to the block being built, plus the
//! helpers every kernel family shares. This module holds the builder, constants, integer
//! arithmetic with constant folding, casts and f32 ops, and `build_kernel`; by topic:
//! `intrinsics` (thread ids, barriers, shuffles, dp4a, mma.sync / wgmma, async copies,
//! ldmatrix, shared-memory vectors), `memory` (views, loads, stores, constant tables), `control`
//! (loops, conditionals) and `quant` (packed nibbles and bytes, clamps, the dyadic requantize).
//!
//! Values are carried as raw `MlirValue` handles ([`Val`], `Copy`) so that values defined in an
//! outer block can be used freely in nested regions without fighting melior's block lifetimes;
//! every handle refers to an op that is owned by the kernel under construction.
//!
//! Constants are created once per kernel, at the top of the kernel's entry block (they dominate
//! every nested region), and integer constants are remembered so that `add(x, 0)`, `mul(x, 1)`
//! and constant-only arithmetic fold while the IR is built (the printed IR stays readable).

mod control;
mod intrinsics;
mod memory;
pub use memory::STATE_TABLE;
mod quant;

use melior::ir::attribute::{
    DenseI32ArrayAttribute, DenseI64ArrayAttribute, FloatAttribute, IntegerAttribute,
    StringAttribute, TypeAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike};
use melior::ir::r#type::FunctionType;
use melior::ir::r#type::TypeLike;
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
pub enum Scalar {
    I1,
    I8,
    I16,
    I32,
    I64,
    Idx,
    F32,
}

impl Scalar {
    pub fn bits(self) -> u32 {
        match self {
            Scalar::I1 => 1,
            Scalar::I8 => 8,
            Scalar::I16 => 16,
            Scalar::I32 | Scalar::F32 => 32,
            Scalar::I64 | Scalar::Idx => 64,
        }
    }
}

/// A value of the kernel under construction (a raw handle, see the module comment).
#[derive(Clone, Copy, Debug)]
pub struct Val(MlirValue);

impl Val {
    pub fn value<'c, 'a>(self) -> Value<'c, 'a> {
        unsafe { Value::from_raw(self.0) }
    }
    fn key(self) -> usize {
        self.0.ptr as usize
    }
    pub fn from_value(v: Value) -> Val {
        Val(v.to_raw())
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

/// A per-channel or per-tensor integer parameter: a constant, or a table read at a channel
/// with what the build knows of the table's values ([`TableRange`]).
#[derive(Clone, Copy, Debug)]
pub enum Param {
    Const(i64),
    Table(Val, TableRange),
}

/// What a table's values are known to lie in: what the kernel knew when tables were baked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableRange {
    /// Anything (a shift table may hold 0: the dyadic rounding keeps its shift-by-zero case).
    Any,
    /// No value is 0.
    NonZero,
    /// Every value lies in [33, 62] (HAWQ's usual shifts): the rounding works on the product's
    /// high word.
    High,
    /// Every value lies in [1, 31] (a residual branch's shifts, whose scale is above 1): the
    /// rounding works on 32-bit words of the product.
    Low,
}

/// A `griddepcontrol.wait` the kernel has still to emit, and whether the trigger for the
/// dependent grid follows it at once (the kernels that trigger at their start).
#[derive(Clone, Copy, Debug)]
pub struct ProducerWait {
    pub trigger: bool,
}

/// The kernel builder. One per `gpu.func`.
pub struct KernelBuilder<'c> {
    pub ctx: &'c Context,
    pub loc: Location<'c>,
    /// Name of the kernel.
    pub name: String,
    /// How many parameters the op's operands take (tables follow them).
    operands: usize,
    /// Programmatic dependent launch: [`KernelBuilder::trigger_dependents`] emits the trigger.
    pub programmatic_launch: bool,
    /// The target has halfword SIMD min / max (`max.s16x2`: sm_90+ and PTX 8.0, so sm_90a):
    /// narrow16 escape tests take one instruction a word ([`KernelBuilder::minmax_s16x2`]).
    pub simd16: bool,
    /// Programmatic dependent launch, `griddepcontrol.wait` not yet emitted: the kernel (one
    /// that knows where it first reads a predecessor's output) emits it through
    /// [`KernelBuilder::wait_for_producer`], after work that reads only constants.
    pub producer_wait: Option<ProducerWait>,
    /// The threads [`KernelBuilder::barrier`] synchronizes: None = the block; Some(n) = the
    /// first n threads, on named barrier 1 (the consumers of a warp-specialized kernel).
    pub barrier_threads: Option<i64>,
    /// What [`KernelBuilder::block_id`] returns in place of `gpu.block_id`: the tile a chain
    /// kernel's block works on in a phase's loop (`chain.rs`).
    pub block_override: Option<Val>,
    /// What [`KernelBuilder::thread_id`] returns in place of `gpu.thread_id`: a chain kernel's
    /// later phase reads the index afresh ([`KernelBuilder::opaque_thread_id`]).
    pub thread_override: Option<Val>,
    /// Prepended to the name of every table asked for: `c1.` for the second conv of a chain,
    /// whose tables would otherwise meet the first conv's under one name.
    pub table_prefix: String,
    stack: Vec<MlirBlock>,
    entry: MlirBlock,
    nconst: usize,
    consts: HashMap<(Scalar, u64), Val>,
    known: HashMap<usize, i64>,
    /// The i32 source of each value sign-extended to i64 (a truncation back is the source).
    extended: HashMap<usize, Val>,
    /// Values known to fit fewer signed bits than their type ([`KernelBuilder::fits_bits`]).
    narrow: HashMap<usize, u32>,
    types: HashMap<Scalar, Type<'c>>,
    /// Constant tables this kernel reads, in parameter order: (what, values, parameter).
    tables: Vec<(String, Vec<i32>, Val)>,
}

impl<'c> KernelBuilder<'c> {
    fn new(
        ctx: &'c Context,
        loc: Location<'c>,
        name: &str,
        entry: MlirBlock,
        operands: usize,
    ) -> Self {
        let mut types = HashMap::new();
        for (t, s) in [
            (Scalar::I1, "i1"),
            (Scalar::I8, "i8"),
            (Scalar::I16, "i16"),
            (Scalar::I32, "i32"),
            (Scalar::I64, "i64"),
            (Scalar::Idx, "index"),
            (Scalar::F32, "f32"),
        ] {
            types.insert(t, Type::parse(ctx, s).expect("builtin scalar type"));
        }
        KernelBuilder {
            ctx,
            loc,
            name: name.to_owned(),
            operands,
            programmatic_launch: false,
            simd16: false,
            producer_wait: None,
            barrier_threads: None,
            block_override: None,
            thread_override: None,
            table_prefix: String::new(),
            stack: vec![entry],
            entry,
            nconst: 0,
            consts: HashMap::new(),
            known: HashMap::new(),
            extended: HashMap::new(),
            narrow: HashMap::new(),
            types,
            tables: vec![],
        }
    }

    pub fn ty(&self, t: Scalar) -> Type<'c> {
        self.types[&t]
    }

    /// The scalar type of `v` (panics on non-scalar values: a builder bug).
    pub fn t(&self, v: Val) -> Scalar {
        let ty = v.value().r#type();
        for (t, x) in &self.types {
            if *x == ty {
                return *t;
            }
        }
        panic!("value of type {ty} is not a kernel scalar")
    }

    /// Whether code is being built in the kernel's entry block (not inside a loop or branch).
    pub fn at_top_level(&self) -> bool {
        self.stack.len() == 1
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
        operands: &[Val],
        results: &[Type<'c>],
        attrs: &[(&str, Attribute<'c>)],
    ) -> Vec<Val> {
        let operands: Vec<Value> = operands.iter().map(|v| v.value()).collect();
        let attrs: Vec<(Identifier, Attribute)> =
            attrs.iter().map(|(n, a)| self.attr(n, *a)).collect();
        let op = OperationBuilder::new(name, self.loc)
            .add_operands(&operands)
            .add_results(results)
            .add_attributes(&attrs)
            .build()
            .unwrap_or_else(|e| panic!("building {name}: {e}"));
        self.append(op)
    }

    /// Append a built operation to the current block; its results.
    fn append(&mut self, op: Operation<'c>) -> Vec<Val> {
        let r = self.block().append_operation(op);
        (0..r.result_count())
            .map(|i| Val(r.result(i).unwrap().to_raw()))
            .collect()
    }

    fn op1(&mut self, name: &str, operands: &[Val], result: Type<'c>) -> Val {
        self.op(name, operands, &[result], &[])[0]
    }

    // ------------------------------------------------------------------ constants

    /// Integer (or index) constant of type `t`.
    pub fn c(&mut self, t: Scalar, v: i64) -> Val {
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
        let x = Val(r.result(0).unwrap().to_raw());
        self.consts.insert((t, v as u64), x);
        self.known.insert(x.key(), v);
        x
    }
    pub fn idx(&mut self, v: i64) -> Val {
        self.c(Scalar::Idx, v)
    }
    pub fn i32c(&mut self, v: i64) -> Val {
        self.c(Scalar::I32, v)
    }
    pub fn i64c(&mut self, v: i64) -> Val {
        self.c(Scalar::I64, v)
    }
    pub fn f32c(&mut self, v: f32) -> Val {
        let key = (Scalar::F32, v.to_bits() as u64);
        if let Some(x) = self.consts.get(&key) {
            return *x;
        }
        let ty = self.ty(Scalar::F32);
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
        let x = Val(r.result(0).unwrap().to_raw());
        self.consts.insert(key, x);
        x
    }
    /// The constant value of `v`, if it is an integer constant made by this builder.
    pub fn known(&self, v: Val) -> Option<i64> {
        self.known.get(&v.key()).copied()
    }

    // ------------------------------------------------------------------ integer arithmetic

    fn bin(&mut self, name: &str, a: Val, b: Val, fold: impl Fn(i64, i64) -> Option<i64>) -> Val {
        let t = self.t(a);
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            if let Some(r) = fold(x, y) {
                return self.c(t, r);
            }
        }
        let ty = self.ty(t);
        self.op1(name, &[a, b], ty)
    }
    pub fn add(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        if self.known(a) == Some(0) {
            return b;
        }
        self.bin("arith.addi", a, b, |x, y| Some(x.wrapping_add(y)))
    }
    pub fn sub(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.subi", a, b, |x, y| Some(x.wrapping_sub(y)))
    }
    pub fn mul(&mut self, a: Val, b: Val) -> Val {
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
    pub fn divu(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(1) {
            return a;
        }
        self.bin("arith.divui", a, b, |x, y| (x >= 0 && y > 0).then(|| x / y))
    }
    /// Unsigned remainder (index math on non-negative values).
    pub fn remu(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(1) {
            let t = self.t(a);
            return self.c(t, 0);
        }
        self.bin("arith.remui", a, b, |x, y| (x >= 0 && y > 0).then(|| x % y))
    }
    /// Signed (truncating) division and remainder.
    pub fn divs(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.divsi", a, b, |x, y| {
            (y != 0).then(|| x.wrapping_div(y))
        })
    }
    pub fn rems(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.remsi", a, b, |x, y| {
            (y != 0).then(|| x.wrapping_rem(y))
        })
    }
    pub fn and(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.andi", a, b, |x, y| Some(x & y))
    }
    pub fn or(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        if self.known(a) == Some(0) {
            return b;
        }
        self.bin("arith.ori", a, b, |x, y| Some(x | y))
    }
    pub fn xor(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.xori", a, b, |x, y| Some(x ^ y))
    }
    pub fn shl(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.shli", a, b, |x, y| {
            (0..64).contains(&y).then(|| x << y)
        })
    }
    /// Arithmetic shift right.
    pub fn shrs(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        self.bin("arith.shrsi", a, b, |x, y| {
            (0..64).contains(&y).then(|| x >> y)
        })
    }
    /// Logical shift right (no folding: the width matters).
    pub fn shru(&mut self, a: Val, b: Val) -> Val {
        if self.known(b) == Some(0) {
            return a;
        }
        let t = self.t(a);
        let ty = self.ty(t);
        self.op1("arith.shrui", &[a, b], ty)
    }
    pub fn maxs(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.maxsi", a, b, |x, y| Some(x.max(y)))
    }
    pub fn mins(&mut self, a: Val, b: Val) -> Val {
        self.bin("arith.minsi", a, b, |x, y| Some(x.min(y)))
    }
    pub fn cmp(&mut self, p: Cmp, a: Val, b: Val) -> Val {
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
            return self.c(Scalar::I1, r as i64);
        }
        if p == Cmp::Uge && self.known(b) == Some(0) {
            return self.c(Scalar::I1, 1);
        }
        let i64t = self.ty(Scalar::I64);
        let ty = self.ty(Scalar::I1);
        self.op(
            "arith.cmpi",
            &[a, b],
            &[ty],
            &[("predicate", IntegerAttribute::new(i64t, p as i64).into())],
        )[0]
    }
    pub fn select(&mut self, c: Val, a: Val, b: Val) -> Val {
        if let Some(k) = self.known(c) {
            return if k != 0 { a } else { b };
        }
        let t = self.t(a);
        let ty = self.ty(t);
        self.op1("arith.select", &[c, a, b], ty)
    }
    pub fn andb(&mut self, a: Val, b: Val) -> Val {
        match (self.known(a), self.known(b)) {
            (Some(0), _) | (_, Some(0)) => return self.c(Scalar::I1, 0),
            (Some(_), _) => return b,
            (_, Some(_)) => return a,
            _ => {}
        }
        let ty = self.ty(Scalar::I1);
        self.op1("arith.andi", &[a, b], ty)
    }
    pub fn orb(&mut self, a: Val, b: Val) -> Val {
        match (self.known(a), self.known(b)) {
            (Some(0), _) => return b,
            (_, Some(0)) => return a,
            _ => {}
        }
        let ty = self.ty(Scalar::I1);
        self.op1("arith.ori", &[a, b], ty)
    }

    // ------------------------------------------------------------------ casts

    fn cast(&mut self, name: &str, v: Val, to: Scalar) -> Val {
        let ty = self.ty(to);
        self.op1(name, &[v], ty)
    }
    pub fn sext(&mut self, v: Val, to: Scalar) -> Val {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        let x = self.cast("arith.extsi", v, to);
        if self.t(v) == Scalar::I32 {
            self.extended.insert(x.key(), v);
        }
        x
    }
    /// Record that `v` fits `bits` signed bits (an i16 read into an i32: the rounding of its
    /// products may then know it never ties).
    pub fn fits_bits(&mut self, v: Val, bits: u32) {
        self.narrow.insert(v.key(), bits);
    }
    /// The signed bits `v` is known to fit: what [`fits_bits`](Self::fits_bits) recorded,
    /// else its type's width.
    pub fn signed_bits(&self, v: Val) -> u32 {
        match self.narrow.get(&v.key()) {
            Some(&b) => b,
            None => self.t(v).bits(),
        }
    }
    /// The i32 value an i64 `v` was sign-extended from, if the builder made it so.
    pub fn extended_from_i32(&self, v: Val) -> Option<Val> {
        self.extended.get(&v.key()).copied()
    }
    pub fn zext(&mut self, v: Val, to: Scalar) -> Val {
        if self.t(v) == to {
            return v;
        }
        self.cast("arith.extui", v, to)
    }
    pub fn trunc(&mut self, v: Val, to: Scalar) -> Val {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        if let Some(x) = self.extended_from_i32(v).filter(|_| to == Scalar::I32) {
            return x;
        }
        self.cast("arith.trunci", v, to)
    }
    /// index <-> integer.
    pub fn index_cast(&mut self, v: Val, to: Scalar) -> Val {
        if self.t(v) == to {
            return v;
        }
        if let Some(k) = self.known(v) {
            return self.c(to, k);
        }
        self.cast("arith.index_cast", v, to)
    }
    pub fn sitofp(&mut self, v: Val) -> Val {
        self.cast("arith.sitofp", v, Scalar::F32)
    }
    /// The i32 `v`'s bits as an f32.
    pub fn bitcast_f32(&mut self, v: Val) -> Val {
        self.cast("arith.bitcast", v, Scalar::F32)
    }
    /// The f32 `v`'s bits as an i32.
    pub fn bitcast_i32(&mut self, v: Val) -> Val {
        self.cast("arith.bitcast", v, Scalar::I32)
    }
    pub fn fptosi(&mut self, v: Val, to: Scalar) -> Val {
        self.cast("arith.fptosi", v, to)
    }

    // ------------------------------------------------------------------ f32

    pub fn mulf(&mut self, a: Val, b: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("arith.mulf", &[a, b], ty)
    }
    /// `a * b + c` rounded once (`fma.rn.f32`), as `f32::mul_add`.
    pub fn fma(&mut self, a: Val, b: Val, c: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("llvm.intr.fma", &[a, b, c], ty)
    }
    /// `a / b`, IEEE division rounded to nearest (`div.rn.f32`: no fast-math flags).
    pub fn divf(&mut self, a: Val, b: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("arith.divf", &[a, b], ty)
    }
    pub fn addf(&mut self, a: Val, b: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("arith.addf", &[a, b], ty)
    }
    pub fn subf(&mut self, a: Val, b: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("arith.subf", &[a, b], ty)
    }
    pub fn negf(&mut self, a: Val) -> Val {
        let ty = self.ty(Scalar::F32);
        self.op1("arith.negf", &[a], ty)
    }
    pub fn cmpf(&mut self, p: CmpF, a: Val, b: Val) -> Val {
        let i64t = self.ty(Scalar::I64);
        let ty = self.ty(Scalar::I1);
        self.op(
            "arith.cmpf",
            &[a, b],
            &[ty],
            &[("predicate", IntegerAttribute::new(i64t, p as i64).into())],
        )[0]
    }
}

/// Wrap `v` to the width of `t` (sign-extended back to i64).
fn wrap(t: Scalar, v: i64) -> i64 {
    match t {
        Scalar::I1 => v & 1,
        Scalar::I8 => v as i8 as i64,
        Scalar::I16 => v as i16 as i64,
        Scalar::I32 => v as i32 as i64,
        _ => v,
    }
}

/// A constant table a kernel takes as a parameter after the op's operands: what it holds
/// (`mul`, `shift`, ...) and its values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub what: String,
    pub values: Vec<i32>,
}

impl Table {
    /// The op's state ([`KernelBuilder::state`]), not a constant.
    pub fn is_state(&self) -> bool {
        self.what == memory::STATE_TABLE
    }
}

/// A `gpu.func ... kernel` built by `body` (which gets the kernel arguments, then one memref per
/// `workgroup` type: shared-memory attributions, `#gpu.address_space<workgroup>`), with
/// `known_block_size = [block, 1, 1]` and `llvm.noalias` on every argument (outputs never alias
/// inputs; inputs are only read). The kernel's parameters are `arg_types`, then the constant
/// tables the body asked for ([`KernelBuilder::table`]); returns the op and those tables.
pub fn build_kernel<'c>(
    ctx: &'c Context,
    loc: Location<'c>,
    name: &str,
    arg_types: &[Type<'c>],
    workgroup: &[Type<'c>],
    block: i64,
    body: impl FnOnce(&mut KernelBuilder<'c>, &[Val]),
) -> (Operation<'c>, Vec<Table>) {
    let entry = Block::new(
        &arg_types
            .iter()
            .chain(workgroup)
            .map(|t| (*t, loc))
            .collect::<Vec<_>>(),
    );
    let args: Vec<Val> = (0..arg_types.len() + workgroup.len())
        .map(|i| Val(entry.argument(i).unwrap().to_raw()))
        .collect();
    let mut kb = KernelBuilder::new(ctx, loc, name, entry.to_raw(), arg_types.len());
    body(&mut kb, &args);
    kb.op("gpu.return", &[], &[], &[]);
    let tables: Vec<Table> = std::mem::take(&mut kb.tables)
        .into_iter()
        .map(|(what, values, _)| Table { what, values })
        .collect();
    let params: Vec<Type> = arg_types
        .iter()
        .copied()
        .chain(tables.iter().map(|t| {
            Type::parse(ctx, &format!("memref<{}xi32>", t.values.len())).expect("table type")
        }))
        .collect();
    let region = Region::new();
    region.append_block(entry);
    let fty = FunctionType::new(ctx, &params, &[]);
    let noalias = Attribute::parse(ctx, "{llvm.noalias}").expect("noalias dict");
    let align16 = Attribute::parse(ctx, "{llvm.align = 16 : i64}").expect("align dict");
    // 16-byte aligned shared memory: 16-byte cp.async and ldmatrix row addresses need it
    let wg_attrs = if workgroup.is_empty() {
        vec![]
    } else {
        let a = melior::ir::attribute::ArrayAttribute::new(ctx, &vec![align16; workgroup.len()]);
        vec![(Identifier::new(ctx, "workgroup_attrib_attrs"), a.into())]
    };
    let arg_attrs = melior::ir::attribute::ArrayAttribute::new(ctx, &vec![noalias; params.len()]);
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
