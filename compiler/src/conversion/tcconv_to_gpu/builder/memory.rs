//! Memory in the kernel builder: 1-D views of kernel arguments, scalar loads and stores, and
//! constant tables (kernel parameters after the op's operands).

use super::*;

impl<'c> KernelBuilder<'c> {
    // ------------------------------------------------------------------ memref

    /// A 1-D view `memref<len x elem>` of a kernel argument of static shape (identity layout):
    /// `memref.reinterpret_cast` (lowered directly by convert-gpu-to-nvvm; with bare pointers the
    /// kernel parameter is one pointer either way).
    pub fn flat(&mut self, arg: Val, len: i64, elem: &str) -> Val {
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
    pub fn view_words(&mut self, bytes_mem: Val, bytes: i64) -> Val {
        self.view_as(bytes_mem, bytes / 4, "i32")
    }
    /// `memref.view` of a 1-D i8 memref as `len` elements of `elem`, from byte 0.
    pub fn view_as(&mut self, bytes_mem: Val, len: i64, elem: &str) -> Val {
        let to = Type::parse(self.ctx, &format!("memref<{len}x{elem}>")).expect("view type");
        let zero = self.idx(0);
        self.op("memref.view", &[bytes_mem, zero], &[to], &[])[0]
    }
    /// Element type of a memref value.
    fn elem_of(&self, m: Val) -> Type<'c> {
        unsafe {
            Type::from_raw(mlir_sys::mlirShapedTypeGetElementType(
                m.value().r#type().to_raw(),
            ))
        }
    }
    pub fn load(&mut self, m: Val, i: Val) -> Val {
        let ty = self.elem_of(m);
        self.op1("memref.load", &[m, i], ty)
    }
    pub fn store(&mut self, v: Val, m: Val, i: Val) {
        self.op("memref.store", &[v, m, i], &[], &[]);
    }
    /// A constant i32 table: a kernel parameter `memref<N x i32>` placed after the op's operands
    /// (the host passes a module-level constant, see [`KernelBuilder::tables`]). Tables are not
    /// baked into the kernel, so kernels that differ only in their per-channel values are one
    /// kernel. The same `what` twice is one parameter.
    pub fn table(&mut self, what: &str, values: &[i32]) -> Val {
        let what = &format!("{}{what}", self.table_prefix);
        if let Some((_, _, v)) = self.tables.iter().find(|(n, _, _)| n == what) {
            return *v;
        }
        let ty =
            Type::parse(self.ctx, &format!("memref<{}xi32>", values.len())).expect("table type");
        // after the operands and the tables before it, ahead of any workgroup attribution
        let pos = (self.operands + self.tables.len()) as isize;
        let v = unsafe {
            mlir_sys::mlirBlockInsertArgument(self.entry, pos, ty.to_raw(), self.loc.to_raw())
        };
        self.tables.push((what.to_owned(), values.to_vec(), Val(v)));
        Val(v)
    }

    /// The op's state: `words` i32 words, zero when the network is loaded and zero again when
    /// the kernel ends (the kernel restores it). A parameter after the operands like a table
    /// ([`STATE_TABLE`]); the host passes a zero-initialized `memref.global` of its own for
    /// every op (never shared by value as constant tables are).
    pub fn state(&mut self, words: i64) -> Val {
        self.table(STATE_TABLE, &vec![0; words as usize])
    }

    /// `memref.atomic_rmw addi`: add `v` (i32) to `m[i]`, returning the old value.
    pub fn atomic_add(&mut self, v: Val, m: Val, i: Val) -> Val {
        self.atomic_rmw(1, v, m, i)
    }
    /// `memref.atomic_rmw assign`: store `v` (i32) into `m[i]`, returning the old value.
    pub fn atomic_exchange(&mut self, v: Val, m: Val, i: Val) -> Val {
        self.atomic_rmw(3, v, m, i)
    }
    fn atomic_rmw(&mut self, kind: i64, v: Val, m: Val, i: Val) -> Val {
        let i64t = self.ty(Scalar::I64);
        let ty = self.ty(Scalar::I32);
        let kind = IntegerAttribute::new(i64t, kind).into();
        self.op("memref.atomic_rmw", &[v, m, i], &[ty], &[("kind", kind)])[0]
    }
}

/// The name of the state a kernel takes ([`KernelBuilder::state`]) among its tables.
pub const STATE_TABLE: &str = "state";
