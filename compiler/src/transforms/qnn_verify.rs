//! `qnn-verify`: the semantic verifier of qnn ops (shapes, element types, strides, padding,
//! per-channel lengths, layouts) on top of what IRDL checks at parse time.

use crate::diagnostics::emit_error;
use crate::pass::{NibblePass, PassOptions};
use melior::ir::block::BlockLike;
use melior::ir::operation::OperationResult;
use melior::ir::operation::{OperationLike, OperationRef, WalkOrder, WalkResult};
use melior::ir::{Module, ValueLike};
use melior::Context;
use nibble_qnn::graph::{Op, TensorType};
use nibble_qnn::ir::{is_qnn, op_of, tensor_type};
use nibble_qnn::verify::{read_layout, stored_layout, verify_op, verify_second, weight_operand};

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
    layouts_agree(op, &typed).map_err(prefix)?;
    match (op.result_count(), second) {
        (2, Some(e)) => verify_second(e, &result, &result_ty(1)?).map_err(prefix),
        (1, Some(e)) if e.second.is_some() => Err(prefix(
            "has second_* attributes but no second result".into(),
        )),
        _ => Ok(()),
    }
}

/// Each activation operand of `op` is stored in the layout `op` reads it in: as its producer
/// stores it, or, for a function argument, as the argument's first qnn reader reads it.
fn layouts_agree(op: OperationRef, typed: &Op) -> Result<(), String> {
    let n = op.operand_count();
    for (k, v) in op.operands().enumerate() {
        let Some(want) = read_layout(typed, n, k) else {
            continue;
        };
        let (have, by) = if let Ok(r) = OperationResult::try_from(v) {
            let owner = r.owner();
            let Ok(Some(p)) = op_of(owner) else {
                continue;
            };
            let Some(l) = stored_layout(&p) else { continue };
            (l, owner)
        } else {
            // a block argument: the layout its first qnn reader in the block reads it in
            let mut first = None;
            let mut cur = op.block().and_then(|b| b.first_operation());
            while let Some(o) = cur {
                if let Some(k2) = o.operands().position(|u| u == v) {
                    if let Ok(Some(t)) = op_of(o) {
                        if let Some(l) = read_layout(&t, o.operand_count(), k2) {
                            first = Some((l, o));
                            break;
                        }
                    }
                }
                cur = o.next_in_block();
            }
            match first {
                Some(f) => f,
                None => continue,
            }
        };
        if have != want {
            let at = nibble_qnn::ir::location_string(by.location());
            let name = by.name().as_string_ref().as_str().unwrap_or("?").to_owned();
            return Err(if OperationResult::try_from(v).is_ok() {
                format!(
                    "reads operand {k} in layout {want}, but '{name}' at {at} stores it in layout {have}: a qnn.layout_transform must come between"
                )
            } else {
                format!(
                    "reads operand {k} in layout {want}, but '{name}' at {at} reads that argument in layout {have} (an argument has one layout)"
                )
            });
        }
    }
    Ok(())
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
