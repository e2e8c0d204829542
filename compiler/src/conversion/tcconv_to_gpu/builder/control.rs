//! Control flow in the kernel builder: `scf.for` loops (unrolled when short) and `scf.if` (a
//! condition the build knows, as in an unrolled loop, takes its branch inline).

use super::*;

impl<'c> KernelBuilder<'c> {
    // ------------------------------------------------------------------ scf

    /// `scf.for %iv = lo to hi step st iter_args(inits)`; `body` gets the induction variable and
    /// the iteration values and returns the values to yield. Returns the loop results.
    pub fn for_range(
        &mut self,
        lo: Val,
        hi: Val,
        step: Val,
        inits: &[Val],
        body: impl FnOnce(&mut Self, Val, &[Val]) -> Vec<Val>,
    ) -> Vec<Val> {
        let mut args = vec![(self.ty(Scalar::Idx), self.loc)];
        let types: Vec<Type<'c>> = inits.iter().map(|v| v.value().r#type()).collect();
        args.extend(types.iter().map(|t| (*t, self.loc)));
        let block = Block::new(&args);
        let iv = Val(block.argument(0).unwrap().to_raw());
        let iters: Vec<Val> = (0..inits.len())
            .map(|i| Val(block.argument(i + 1).unwrap().to_raw()))
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
        self.append(op)
    }

    /// `for iv in 0..n` with constant bounds: a plain Rust loop (unrolled) when `n <= unroll`,
    /// else an `scf.for`.
    pub fn for_n(
        &mut self,
        n: i64,
        unroll: i64,
        inits: &[Val],
        mut body: impl FnMut(&mut Self, Val, &[Val]) -> Vec<Val>,
    ) -> Vec<Val> {
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

    /// `cond` marked as almost always false (`llvm.intr.expect`): LLVM weights the branch on
    /// it and lays its blocks out of the straight path (the rare escapes of a narrow16 stream).
    pub fn unlikely(&mut self, cond: Val) -> Val {
        if self.known(cond).is_some() {
            return cond;
        }
        let f = self.c(Scalar::I1, 0);
        let i1 = self.ty(Scalar::I1);
        self.op("llvm.intr.expect", &[cond, f], &[i1], &[])[0]
    }

    /// `scf.if cond { then }` with no results.
    pub fn if_then(&mut self, cond: Val, then: impl FnOnce(&mut Self)) {
        // a condition the build knows (an unrolled loop's guards): the branch inline, or nothing
        if let Some(k) = self.known(cond) {
            if k != 0 {
                then(self);
            }
            return;
        }
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

    /// `scf.if cond { then } else { otherwise }`: the values the branch taken returns (both
    /// the same number and types). Work that only one side needs stays on that side, so
    /// nothing either branch computes is live across the other.
    pub fn if_else(
        &mut self,
        cond: Val,
        then: impl FnOnce(&mut Self) -> Vec<Val>,
        otherwise: impl FnOnce(&mut Self) -> Vec<Val>,
    ) -> Vec<Val> {
        if let Some(k) = self.known(cond) {
            return if k != 0 { then(self) } else { otherwise(self) };
        }
        let tb = Block::new(&[]);
        self.stack.push(tb.to_raw());
        let out = then(self);
        self.op("scf.yield", &out, &[], &[]);
        self.stack.pop();
        let types: Vec<Type<'c>> = out.iter().map(|v| v.value().r#type()).collect();
        let eb = Block::new(&[]);
        self.stack.push(eb.to_raw());
        let other = otherwise(self);
        assert_eq!(
            other.iter().map(|v| v.value().r#type()).collect::<Vec<_>>(),
            types,
            "scf.if: both branches yield the same types"
        );
        self.op("scf.yield", &other, &[], &[]);
        self.stack.pop();
        let (tr, er) = (Region::new(), Region::new());
        tr.append_block(tb);
        er.append_block(eb);
        let op = OperationBuilder::new("scf.if", self.loc)
            .add_operands(&[cond.value()])
            .add_results(&types)
            .add_regions([tr, er])
            .build()
            .expect("scf.if");
        self.append(op)
    }

    /// `scf.if cond -> (types of vals) { then } else { yield vals }`: the values `then` returns
    /// where `cond` holds, `vals` elsewhere.
    pub fn if_then_else(
        &mut self,
        cond: Val,
        vals: &[Val],
        then: impl FnOnce(&mut Self) -> Vec<Val>,
    ) -> Vec<Val> {
        let n = vals.len();
        self.if_else(
            cond,
            |kb| {
                let out = then(kb);
                assert_eq!(out.len(), n, "scf.if yields one value per result");
                out
            },
            |_| vals.to_vec(),
        )
    }
}
