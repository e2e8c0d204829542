//! `qnn-verify`: the semantic verifier of qnn ops (shapes, element types, strides, padding,
//! per-channel lengths, layouts) on top of what IRDL checks at parse time.

use crate::diagnostics::emit_error;
use crate::pass::{NibblePass, PassOptions};
use melior::ir::operation::OperationResult;
use melior::ir::operation::{OperationLike, OperationRef, WalkOrder, WalkResult};
use melior::ir::{Module, ValueLike};
use melior::Context;
use nibble_qnn::graph::{Op, TensorType};
use nibble_qnn::ir::{is_qnn, op_of, tensor_type};
use nibble_qnn::verify::{verify_op, verify_second, weight_operand};

pub struct QnnVerify;

/// Check one qnn op; the error message is ready to be emitted at the op.
pub fn check_op(op: OperationRef) -> Result<(), String> {
    let name = op.name().as_string_ref().as_str().unwrap_or("?").to_owned();
    let prefix = |e: String| format!("'{name}' {e}");
    let Some(typed) = op_of(op).map_err(prefix)? else {
        return Ok(());
    };
    let n = op.operand_count();
    for (i, v) in op.operands().enumerate() {
        let from_weight = OperationResult::try_from(v)
            .is_ok_and(|r| r.owner().name().as_string_ref().as_str() == Ok("qnn.weight"));
        if from_weight && !weight_operand(&typed, n, i) {
            return Err(prefix(format!(
                "operand {i} is a qnn.weight, which only conv and dense weights and biases may be"
            )));
        }
    }
    let mut operands: Vec<TensorType> = vec![];
    for (i, v) in op.operands().enumerate() {
        operands.push(tensor_type(v.r#type()).map_err(|e| prefix(format!("operand {i}: {e}")))?);
    }
    let second = match &typed {
        Op::Conv2dFused { epilogue, .. } => Some(epilogue),
        _ => None,
    };
    let result_ty = |i: usize| {
        tensor_type(op.result(i).unwrap().r#type()).map_err(|e| prefix(format!("result #{i}: {e}")))
    };
    match (op.result_count(), second) {
        (1, _) => {}
        (2, Some(_)) => {}
        _ => return Err(prefix("must have exactly one result".into())),
    }
    let result = result_ty(0)?;
    let refs: Vec<&TensorType> = operands.iter().collect();
    verify_op(&typed, &refs, &result).map_err(prefix)?;
    match (op.result_count(), second) {
        (2, Some(e)) => verify_second(e, &result, &result_ty(1)?).map_err(prefix),
        (1, Some(e)) if e.second.is_some() => Err(prefix(
            "has second_* attributes but no second result".into(),
        )),
        _ => Ok(()),
    }
}

/// Verify every qnn op under `root`; returns the number of failures (each one emitted).
pub fn verify_all(root: OperationRef) -> usize {
    let mut ops = vec![];
    root.walk(WalkOrder::PreOrder, |op| {
        if is_qnn(&op) {
            ops.push(op.to_raw());
        }
        WalkResult::Advance
    });
    let mut failures = 0;
    for raw in ops {
        let op = unsafe { OperationRef::from_raw(raw) };
        if let Err(e) = check_op(op) {
            emit_error(op.location(), &e);
            failures += 1;
        }
    }
    failures
}

impl NibblePass for QnnVerify {
    fn name(&self) -> &'static str {
        "qnn-verify"
    }
    fn summary(&self) -> &'static str {
        "Check qnn ops beyond IRDL: shapes, element types, strides, padding, per-channel scales"
    }
    fn run(
        &self,
        _context: &Context,
        module: &mut Module,
        _options: &PassOptions,
    ) -> Result<(), ()> {
        if verify_all(module.as_operation()) == 0 {
            Ok(())
        } else {
            Err(())
        }
    }
}
