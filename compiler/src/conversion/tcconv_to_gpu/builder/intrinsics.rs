//! GPU intrinsics of the kernel builder: thread and block ids, barriers, shuffles, the 4-byte
//! dot product `dp4a`, the tensor-core MMAs (`mma.sync`, Hopper's `wgmma` with its fences and
//! matrix-descriptor operands), asynchronous copies, `ldmatrix`, 16-byte shared-memory vectors
//! and dynamic shared memory.

use super::*;

impl<'c> KernelBuilder<'c> {
    // ------------------------------------------------------------------ gpu

    fn gpu_dim(&mut self, name: &str) -> Val {
        let dim = Attribute::parse(self.ctx, "#gpu<dim x>").expect("#gpu<dim x>");
        let ty = self.ty(Scalar::Idx);
        self.op(name, &[], &[ty], &[("dimension", dim)])[0]
    }
    /// The thread's index, or the one [`KernelBuilder::thread_override`] gives.
    pub fn thread_id(&mut self) -> Val {
        match self.thread_override {
            Some(t) => t,
            None => self.gpu_dim("gpu.thread_id"),
        }
    }
    /// The thread's index read by an `asm volatile` `mov` of `%tid.x`: LLVM cannot tell it
    /// equals `gpu.thread_id`, so nothing computed from it is merged with (and kept live from)
    /// what code before it computed from the thread index.
    pub fn opaque_thread_id(&mut self) -> Val {
        let i32t = self.ty(Scalar::I32);
        let t = self.inline_asm("mov.u32 $0, %tid.x;", "=r", &[], &[i32t], true)[0];
        self.index_cast(t, Scalar::Idx)
    }
    /// `llvm.inline_asm` (AT&T dialect) of PTX `asm` with LLVM `constraints`: its results of
    /// types `results`; `side_effects`: `asm volatile` (never merged, moved or removed).
    pub fn inline_asm(
        &mut self,
        asm: &str,
        constraints: &str,
        operands: &[Val],
        results: &[Type<'c>],
        side_effects: bool,
    ) -> Vec<Val> {
        let i64t = self.ty(Scalar::I64);
        let mut attrs = vec![
            ("asm_string", StringAttribute::new(self.ctx, asm).into()),
            (
                "constraints",
                StringAttribute::new(self.ctx, constraints).into(),
            ),
            ("asm_dialect", IntegerAttribute::new(i64t, 0).into()), // AT&T
        ];
        if side_effects {
            attrs.push(("has_side_effects", Attribute::unit(self.ctx)));
        }
        self.op("llvm.inline_asm", operands, results, &attrs)
    }
    /// The block's index, or the tile a chain kernel's phase loop gives the block
    /// ([`KernelBuilder::block_override`]).
    pub fn block_id(&mut self) -> Val {
        match self.block_override {
            Some(b) => b,
            None => self.gpu_dim("gpu.block_id"),
        }
    }
    /// `gpu.block_id x`, whatever [`KernelBuilder::block_override`] says.
    pub fn hw_block_id(&mut self) -> Val {
        self.gpu_dim("gpu.block_id")
    }
    /// A barrier of the threads that take part in it: the whole block (`gpu.barrier`), or,
    /// where [`KernelBuilder::barrier_threads`] names them (the consumer warpgroups of a
    /// warp-specialized kernel), named barrier 1 of that many threads (`bar.sync 1, n`).
    pub fn barrier(&mut self) {
        match self.barrier_threads {
            None => {
                self.op("gpu.barrier", &[], &[], &[]);
            }
            Some(n) => {
                let (id, n) = (self.i32c(1), self.i32c(n));
                let seg = DenseI32ArrayAttribute::new(self.ctx, &[1, 1, 0]).into();
                self.op(
                    "nvvm.barrier",
                    &[id, n],
                    &[],
                    &[("operandSegmentSizes", seg)],
                );
            }
        }
    }
    /// `fence.acq_rel.gpu` (`membar.gl`): this thread's memory accesses before it are ordered
    /// before those after it for every thread of the GPU.
    pub fn fence_gpu(&mut self) {
        self.inline_asm("fence.acq_rel.gpu;", "~{memory}", &[], &[], true);
    }
    /// `griddepcontrol.wait` / `griddepcontrol.launch_dependents` (sm_90+): wait for the grids
    /// this one programmatically depends on to finish (their writes visible), or allow the
    /// dependent grid to be scheduled.
    pub fn griddepcontrol(&mut self, action: &str) {
        let kind = Attribute::parse(self.ctx, &format!("#nvvm<grid_dep_action {action}>"))
            .unwrap_or_else(|| panic!("grid_dep_action {action}"));
        self.op("nvvm.griddepcontrol", &[], &[], &[("kind", kind)]);
    }
    /// Emit the deferred `griddepcontrol.wait` (and the trigger that follows it) of
    /// [`KernelBuilder::producer_wait`], if not yet emitted. Everything before it may read
    /// only what no kernel writes (weights, tables) and write only shared memory. It must be
    /// reached by every thread: the kernel's top level, not a branch.
    pub fn wait_for_producer(&mut self) {
        if let Some(w) = self.producer_wait.take() {
            assert!(
                self.at_top_level(),
                "{}: the producer wait inside a branch",
                self.name
            );
            self.griddepcontrol("wait");
            if w.trigger {
                self.trigger_dependents();
                self.programmatic_launch = false;
            }
        }
    }
    /// `barrier.cluster.arrive` (release semantics) then `barrier.cluster.wait` (acquire):
    /// every thread of every block of the thread-block cluster (sm_90+) waits for all of them;
    /// shared-memory writes before it are visible to the cluster's blocks after it.
    pub fn cluster_barrier(&mut self) {
        self.op("nvvm.cluster.arrive", &[], &[], &[]);
        self.op("nvvm.cluster.wait", &[], &[], &[]);
    }
    /// The i32 words `is` of cluster block `rank`'s instance of the workgroup buffer `m`
    /// (distributed shared memory, sm_90+: one `mapa` of the buffer's base, then
    /// `ld.shared::cluster` of each word).
    pub fn load_peer(&mut self, m: Val, is: &[Val], rank: Val) -> Vec<Val> {
        let idx = self.ty(Scalar::Idx);
        let i32t = self.ty(Scalar::I32);
        let i64t = self.ty(Scalar::I64);
        let p3 = Type::parse(self.ctx, "!llvm.ptr<3>").expect("!llvm.ptr<3>");
        let p7 = Type::parse(self.ctx, "!llvm.ptr<7>").expect("!llvm.ptr<7>");
        let base = self.op1("memref.extract_aligned_pointer_as_index", &[m], idx);
        let base = self.index_cast(base, Scalar::I64);
        let local = self.op1("llvm.inttoptr", &[base], p3);
        let r = self.index_cast(rank, Scalar::I32);
        let remote = self.op1("nvvm.mapa", &[local, r], p7);
        let remote = self.op1("llvm.ptrtoint", &[remote], i64t);
        let four = self.i64c(4);
        is.iter()
            .map(|&i| {
                let i = self.index_cast(i, Scalar::I64);
                let off = self.mul(i, four);
                let a = self.add(remote, off);
                let ptr = self.op1("llvm.inttoptr", &[a], p7);
                self.op1("llvm.load", &[ptr], i32t)
            })
            .collect()
    }
    /// With programmatic dependent launch, let the dependent grid be scheduled (its blocks wait
    /// in `griddepcontrol.wait` until this grid has finished); a no-op otherwise. A block that
    /// never reaches it counts when it exits.
    pub fn trigger_dependents(&mut self) {
        if self.programmatic_launch {
            self.griddepcontrol("launch_dependents");
        }
    }
    /// `gpu.shuffle xor %v, %mask, 32` over the whole warp (every lane must execute it).
    pub fn shuffle_xor(&mut self, v: Val, mask: i64) -> Val {
        let m = self.i32c(mask);
        let w = self.i32c(32);
        let mode = Attribute::parse(self.ctx, "#gpu<shuffle_mode xor>").expect("shuffle mode");
        let (i32t, i1t) = (self.ty(Scalar::I32), self.ty(Scalar::I1));
        self.op("gpu.shuffle", &[v, m, w], &[i32t, i1t], &[("mode", mode)])[0]
    }
    /// `gpu.shuffle idx %v, %lane, 32`: lane `lane`'s `v` (an i32) in every lane (every lane must
    /// execute it).
    pub fn shuffle_idx(&mut self, v: Val, lane: i64) -> Val {
        let l = self.i32c(lane);
        let w = self.i32c(32);
        let mode = Attribute::parse(self.ctx, "#gpu<shuffle_mode idx>").expect("shuffle mode");
        let (i32t, i1t) = (self.ty(Scalar::I32), self.ty(Scalar::I1));
        self.op("gpu.shuffle", &[v, l, w], &[i32t, i1t], &[("mode", mode)])[0]
    }
    /// `nvvm.dot.accumulate.4way` (`dp4a.{s,u}32.{s,u}32`, sm_61+): `acc + sum_j a_j * b_j`
    /// over the 4 bytes of the i32 words `a` and `b` (byte j pairs with byte j; each sign- or
    /// zero-extended as `a_signed` / `b_signed` say), i32 with wrapping overflow like the i32
    /// adds of the per-element products. The words reach the op as `vector<4xi8>`
    /// (`llvm.bitcast`).
    pub fn dp4a(&mut self, a: Val, a_signed: bool, b: Val, b_signed: bool, acc: Val) -> Val {
        let v4 = Type::parse(self.ctx, "vector<4xi8>").expect("vector<4xi8>");
        let kind = |s: bool| {
            let k = if s { "signed" } else { "unsigned" };
            Attribute::parse(self.ctx, &format!("#nvvm.dot_accumulate_type<{k}>"))
                .unwrap_or_else(|| panic!("dot_accumulate_type {k}"))
        };
        let (at, bt) = (kind(a_signed), kind(b_signed));
        let av = self.op1("llvm.bitcast", &[a], v4);
        let bv = self.op1("llvm.bitcast", &[b], v4);
        let i32t = self.ty(Scalar::I32);
        self.op(
            "nvvm.dot.accumulate.4way",
            &[av, bv, acc],
            &[i32t],
            &[("a_type", at), ("b_type", bt)],
        )[0]
    }
    /// `nvvm.mma.sync` (row-major A, column-major B, i32 accumulators, wrapping overflow like
    /// the i32 adds of the simple kernel): returns the D registers.
    pub fn mma_sync(
        &mut self,
        shape: [i64; 3],
        a_type: &str,
        b_type: &str,
        a: &[Val],
        b: &[Val],
        c: &[Val],
    ) -> Vec<Val> {
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
            .map(|i| self.extract_value(d, i as i64, Scalar::I32))
            .collect()
    }

    /// `nvgpu.device_async_copy` of 16 bytes (4 i32 words, `cp.async.cg`, L1 bypassed) from
    /// `src[si]` (global) to `dst[di]` (workgroup); when `valid` is false no byte is read and the
    /// 16 destination bytes are zero-filled (`srcElements = 0`).
    pub fn async_copy16(&mut self, src: Val, si: Val, dst: Val, di: Val, valid: Val) {
        self.async_copy16_via(src, si, dst, di, valid, false)
    }
    /// [`Self::async_copy16`], through L1 where `l1` (`cp.async.ca`): for bytes the block reads
    /// again soon, as an im2col loader reads an input pixel once for each tap over it.
    pub fn async_copy16_via(&mut self, src: Val, si: Val, dst: Val, di: Val, valid: Val, l1: bool) {
        let four = self.idx(4);
        let zero = self.idx(0);
        let n = self.select(valid, four, zero);
        let tok = Type::parse(self.ctx, "!nvgpu.device.async.token").expect("async token type");
        let seg = DenseI32ArrayAttribute::new(self.ctx, &[1, 1, 1, 1, 1]).into();
        let idx = Type::index(self.ctx);
        let mut attrs = vec![
            ("dstElements", IntegerAttribute::new(idx, 4).into()),
            ("operandSegmentSizes", seg),
        ];
        if !l1 {
            attrs.push(("bypassL1", Attribute::unit(self.ctx)));
        }
        self.op(
            "nvgpu.device_async_copy",
            &[dst, di, src, si, n],
            &[tok],
            &attrs,
        );
    }
    /// `cp.async.commit_group`: close the group of the async copies issued since the last one.
    pub fn async_commit(&mut self) {
        self.op("nvvm.cp.async.commit.group", &[], &[], &[]);
    }
    /// `cp.async.wait_group n`: wait until at most `n` committed groups are still in flight.
    pub fn async_wait(&mut self, n: i64) {
        let i32t = self.ty(Scalar::I32);
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
    pub fn ldmatrix(&mut self, m: Val, i: Val, tiles: i64) -> Vec<Val> {
        let vt = Type::parse(self.ctx, &format!("vector<{tiles}x1xi32>")).expect("ldmatrix type");
        let i32t = self.ty(Scalar::I32);
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
    pub fn load4(&mut self, m: Val, i: Val) -> Val {
        let vt = Type::parse(self.ctx, "vector<4xi32>").expect("vector type");
        let i64t = self.ty(Scalar::I64);
        self.op(
            "vector.load",
            &[m, i],
            &[vt],
            &[("alignment", IntegerAttribute::new(i64t, 16).into())],
        )[0]
    }
    /// `vector.load` of the two i32 words at word `i` (even) of `m` (`ld.v2.b32`).
    pub fn load2(&mut self, m: Val, i: Val) -> [Val; 2] {
        let vt = Type::parse(self.ctx, "vector<2xi32>").expect("vector type");
        let i64t = self.ty(Scalar::I64);
        let v = self.op(
            "vector.load",
            &[m, i],
            &[vt],
            &[("alignment", IntegerAttribute::new(i64t, 8).into())],
        )[0];
        self.words(v)
    }
    /// `vector.store` of 4 i32 words `v` at word `i` of `m` (16-byte aligned: `st.v4.b32`).
    pub fn store4(&mut self, v: Val, m: Val, i: Val) {
        let i64t = self.ty(Scalar::I64);
        self.op(
            "vector.store",
            &[v, m, i],
            &[],
            &[("alignment", IntegerAttribute::new(i64t, 16).into())],
        );
    }

    /// `vector.store` of the two scalars `a`, `b` (i32 or i8) at element `i` of `m`, aligned to
    /// the pair's size (`st.v2.b32` / `st.v2.b8`).
    pub fn store2(&mut self, a: Val, b: Val, m: Val, i: Val) {
        let (elem, align) = match self.t(a) {
            Scalar::I8 => ("i8", 2),
            _ => ("i32", 8),
        };
        let vt = Type::parse(self.ctx, &format!("vector<2x{elem}>")).expect("vector type");
        let v = self.op("vector.from_elements", &[a, b], &[vt], &[])[0];
        let i64t = self.ty(Scalar::I64);
        self.op(
            "vector.store",
            &[v, m, i],
            &[],
            &[("alignment", IntegerAttribute::new(i64t, align).into())],
        );
    }

    /// `block_id.x * block_dim.x + thread_id.x` (index).
    pub fn global_id(&mut self) -> Val {
        let b = self.gpu_dim("gpu.block_id");
        let d = self.gpu_dim("gpu.block_dim");
        let t = self.gpu_dim("gpu.thread_id");
        let bd = self.mul(b, d);
        self.add(bd, t)
    }

    // ------------------------------------------------------------------ nvvm / llvm

    pub fn extract_value(&mut self, agg: Val, pos: i64, t: Scalar) -> Val {
        let ty = self.ty(t);
        let p = DenseI64ArrayAttribute::new(self.ctx, &[pos]).into();
        self.op("llvm.extractvalue", &[agg], &[ty], &[("position", p)])[0]
    }

    /// The 4 i32 words of a `vector<4xi32>` (from [`KernelBuilder::load4`]).
    pub fn words4(&mut self, v: Val) -> [Val; 4] {
        self.words(v)
    }
    /// The `N` i32 words of a `vector<N x i32>` (`vector.extract`).
    fn words<const N: usize>(&mut self, v: Val) -> [Val; N] {
        let i32t = self.ty(Scalar::I32);
        std::array::from_fn(|j| {
            let pos = DenseI64ArrayAttribute::new(self.ctx, &[j as i64]).into();
            self.op("vector.extract", &[v], &[i32t], &[("static_position", pos)])[0]
        })
    }
    /// `vector<4xi32>` of 4 i32 words (for [`KernelBuilder::store4`]).
    pub fn vec4(&mut self, w: [Val; 4]) -> Val {
        let vt = Type::parse(self.ctx, "vector<4xi32>").expect("vector type");
        self.op("vector.from_elements", &w, &[vt], &[])[0]
    }

    // ------------------------------------------------------------------ Hopper (sm_90a)

    /// The shared-memory address of a workgroup memref (i64; what a wgmma matrix descriptor
    /// encodes).
    pub fn smem_address(&mut self, m: Val) -> Val {
        let idx = Type::index(self.ctx);
        let p = self.op("memref.extract_aligned_pointer_as_index", &[m], &[idx], &[])[0];
        self.index_cast(p, Scalar::I64)
    }
    /// Byte `i` from shared-memory address `base` (i64, [`smem_address`](Self::smem_address))
    /// set to the low byte of the i32 `v` (`st.shared.u8`).
    pub fn store_smem_byte(&mut self, v: Val, base: Val, i: Val) {
        let i = self.index_cast(i, Scalar::I64);
        let a = self.add(base, i);
        let ptr = self.smem_ptr(a);
        let b = self.trunc(v, Scalar::I8);
        self.op("llvm.store", &[b, ptr], &[], &[]);
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
    /// The `!llvm.ptr<3>` of shared-memory byte address `addr` (i64, as [`Self::smem_address`]).
    pub fn smem_ptr(&mut self, addr: Val) -> Val {
        let p3 = Type::parse(self.ctx, "!llvm.ptr<3>").expect("!llvm.ptr<3>");
        self.op1("llvm.inttoptr", &[addr], p3)
    }
    /// `mbarrier.init.shared.b64 [bar], count`: an mbarrier whose phases complete after
    /// `count` arrivals.
    pub fn mbarrier_init(&mut self, bar: Val, count: i64) {
        let n = self.i32c(count);
        self.op("nvvm.mbarrier.init", &[bar, n], &[], &[]);
    }
    /// `mbarrier.arrive.shared.b64` (release, CTA scope): one arrival on the current phase.
    pub fn mbarrier_arrive(&mut self, bar: Val) {
        let i64t = self.ty(Scalar::I64);
        self.op("nvvm.mbarrier.arrive", &[bar], &[i64t], &[]);
    }
    /// `cp.async.mbarrier.arrive.noinc.shared.b64`: this thread's arrival on `bar` happens when
    /// every cp.async it issued before has landed (the arrival counts against the expected
    /// count: no increment).
    pub fn async_copy_arrive(&mut self, bar: Val) {
        let i1 = self.ty(Scalar::I1);
        let t = IntegerAttribute::new(i1, 1).into();
        self.op(
            "nvvm.cp.async.mbarrier.arrive",
            &[bar],
            &[],
            &[("noinc", t)],
        );
    }
    /// One thread's bulk copy of `bytes` (a multiple of 16) from global address `src` (i64) to
    /// shared memory at `dst` (`!llvm.ptr<3>`, 16-byte aligned), completing on mbarrier `bar`:
    /// `mbarrier.arrive.expect_tx` of the bytes (this thread's arrival on the current phase),
    /// then `cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes`, so the phase
    /// completes when they have landed.
    pub fn bulk_copy_to_smem(&mut self, dst: Val, src: Val, bytes: i64, bar: Val) {
        let asm = "mbarrier.arrive.expect_tx.shared::cta.b64 _, [$3], $2;\n\t\
                   cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes \
                   [$0], [$1], $2, [$3];";
        let n = self.i32c(bytes);
        self.inline_asm(asm, "r,l,r,r", &[dst, src, n, bar], &[], true);
    }
    /// `fence.mbarrier_init.release.cluster`: the mbarriers this thread initialized are visible
    /// to the async proxy (bulk copies complete on them) before the block barrier after it.
    pub fn fence_mbarrier_init(&mut self) {
        self.inline_asm("fence.mbarrier_init.release.cluster;", "", &[], &[], true);
    }
    /// Wait (acquire, CTA scope) until the phase of `bar` with parity `parity` (i32, 0 / 1) has
    /// completed: a `mbarrier.try_wait.parity` loop. (`nvvm.mbarrier.try_wait.parity` takes the
    /// parity only as a constant.)
    pub fn mbarrier_wait(&mut self, bar: Val, parity: Val) {
        let asm = "{\n\t.reg .pred p;\n\tWAIT:\n\t\
                   mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1;\n\t\
                   @!p bra WAIT;\n\t}";
        self.inline_asm(asm, "r,r", &[bar, parity], &[], true);
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
        let i64t = self.ty(Scalar::I64);
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
    pub fn acc_zeros(&mut self, len: usize) -> Val {
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
    pub fn acc_values(&mut self, acc: Val, len: usize) -> Vec<Val> {
        (0..len)
            .map(|i| self.extract_value(acc, i as i64, Scalar::I32))
            .collect()
    }
    /// `wgmma.mma_async.sync.aligned.m64n{n}k32.s32.{a}.{b}`: D = A x B + D with A (64 x 32,
    /// K-major) and B (n x 32, K-major) in shared memory behind the matrix descriptors `da`,
    /// `db`; `acc` is the struct of this thread's n / 2 accumulators (register 4j + i: row
    /// 16 * warp + g + 8 * (i / 2), column 8j + 2t + i % 2, as n / 8 m16n8 C fragments). The
    /// struct stays whole between wgmmas, so no instruction touches the accumulators while
    /// one is in flight.
    pub fn wgmma(&mut self, n: i64, a_type: &str, b_type: &str, da: Val, db: Val, acc: Val) -> Val {
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
    pub fn dynamic_smem(&mut self, words: i64) -> Val {
        self.dynamic_smem_at(0, words)
    }
    /// `words` i32 words of the kernel's dynamic shared memory from byte `offset`.
    pub fn dynamic_smem_at(&mut self, offset: i64, words: i64) -> Val {
        let bytes =
            Type::parse(self.ctx, "memref<?xi8, #gpu.address_space<workgroup>>").expect("type");
        let d = self.op("gpu.dynamic_shared_memory", &[], &[bytes], &[])[0];
        let to = Type::parse(
            self.ctx,
            &format!("memref<{words}xi32, #gpu.address_space<workgroup>>"),
        )
        .expect("view type");
        let off = self.idx(offset);
        self.op("memref.view", &[d, off], &[to], &[])[0]
    }
}
