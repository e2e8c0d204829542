//! Memory in the kernel builder: 1-D views of kernel arguments, scalar loads and stores, and
//! constant tables (`memref.global`).

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
        let to = Type::parse(self.ctx, &format!("memref<{}xi32>", bytes / 4)).expect("view type");
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
    /// A constant i32 table in the gpu.module (`memref.global ... constant`, emitted by the
    /// caller from [`KernelBuilder::tables`]) and a `memref.get_global` of it.
    pub fn table(&mut self, what: &str, values: &[i32]) -> Val {
        let name = format!("{}_{what}", self.name);
        if !self.tables.iter().any(|(n, _)| *n == name) {
            self.tables.push((name.clone(), values.to_vec()));
        }
        let ty =
            Type::parse(self.ctx, &format!("memref<{}xi32>", values.len())).expect("table type");
        let sym = FlatSymbolRefAttribute::new(self.ctx, &name).into();
        self.op("memref.get_global", &[], &[ty], &[("name", sym)])[0]
    }
}
