//! Checks of kernel IR that LLVM's NVPTX backend would otherwise answer with a crash (a
//! segfault or `LLVM ERROR`, which abort the process) instead of a diagnostic: run on every
//! `gpu.module` before it reaches LLVM, through nibble's PTX path (`gpu_to_ptx`) and before an
//! upstream `gpu-module-to-binary` (`pipeline::check_binary_targets`). Kernels nibble builds pass
//! them; they guard hand-written or edited kernel IR.
//!
//! - `llvm.inline_asm`: one constraint per result (`=`, a struct's fields each), one per
//!   operand, clobbers (`~`) after; no empty constraint; an `n` (immediate) operand a constant;
//!   every `$N` / `${N}` in the text below their count (no operand modifiers).
//! - `nvvm.mma.sync`: integer multiplicands of one width (4- or 8-bit both); on sm_75 only its
//!   shapes (m8n8k4 / m16n8k8 f16, m8n8k16 8-bit, m8n8k32 4-bit, m8n8k128 b1).
//! - LLVM math intrinsics NVPTX has no instruction for (`powi`, `tan`, `sinh`, ...: a library
//!   call LLVM cannot make there);
//! - `cp.async` and `mbarrier` (NVVM and nvgpu) from sm_80 on; `griddepcontrol`, the cluster
//!   ops and the mbarrier-init fence only for sm_90 / sm_90a chips; the other Hopper NVVM ops
//!   (`wgmma`, `setmaxregister`, bulk async copies, proxy fences, `elect.sync`, ...) only for
//!   sm_90a (nibble's sm_90 is the portable mma.sync target).

use melior::ir::operation::{OperationLike, OperationRef, WalkOrder, WalkResult};
use melior::ir::ValueLike;

/// The first problem of `module` (a `gpu.module` or any op holding them) for `chip`, as
/// `location: message`.
pub fn check(module: &OperationRef, chip: &str) -> Result<(), String> {
    // the chip's number (sm_75 -> 75)
    let arch: u32 = chip
        .trim_start_matches("sm_")
        .trim_end_matches('a')
        .parse()
        .unwrap_or(0);
    let hopper = arch >= 90;
    let mut err = None;
    module.walk(WalkOrder::PreOrder, |op| {
        let name = op.name().as_string_ref().as_str().unwrap_or("").to_owned();
        let r = match name.as_str() {
            "llvm.inline_asm" => inline_asm(&op),
            "nvvm.mma.sync" => mma(&op, arch),
            n if arch < 80
                && ["nvvm.cp.async", "nvvm.mbarrier", "nvgpu.device_async", "nvgpu.mbarrier"]
                    .iter()
                    .any(|p| n.starts_with(p)) =>
            {
                Err(format!("'{n}' needs sm_80 or later; the chip is {chip}"))
            }
            n if ["nvvm.griddepcontrol", "nvvm.cluster", "nvvm.mapa", "nvvm.fence.mbarrier"]
                .iter()
                .any(|p| n.starts_with(p))
                && !hopper =>
            {
                Err(format!(
                "'{n}' needs sm_90 or sm_90a; the chip is {chip}"
            ))
            }
            n if needs_libcall(n) => Err(format!(
                "'{n}' has no NVPTX instruction (LLVM would call a math library the PTX cannot link; use the math dialect, lowered to libdevice)"
            )),
            n if chip != "sm_90a" && hopper_only(n) => Err(format!(
                "'{n}' needs sm_90a (nibble's sm_90 is the portable mma.sync target); the chip is {chip}"
            )),
            _ => Ok(()),
        };
        match r {
            Ok(()) => WalkResult::Advance,
            Err(e) => {
                let loc = nibble_qnn::ir::location_string(op.location());
                err = Some(if loc.is_empty() { e } else { format!("{loc}: {e}") });
                WalkResult::Interrupt
            }
        }
    });
    err.map_or(Ok(()), Err)
}

/// LLVM intrinsics the NVPTX backend lowers to a library call it does not have (PTX has no
/// instruction for them): instruction selection aborts (`llc-22 -mcpu=sm_80` on each).
fn needs_libcall(name: &str) -> bool {
    let Some(intr) = name.strip_prefix("llvm.intr.") else {
        return false;
    };
    matches!(
        intr,
        "powi"
            | "tan"
            | "asin"
            | "acos"
            | "atan"
            | "atan2"
            | "sinh"
            | "cosh"
            | "exp10"
            | "lround"
            | "llround"
            | "lrint"
            | "llrint"
    )
}

fn hopper_only(name: &str) -> bool {
    [
        "nvvm.wgmma",
        "nvvm.setmaxregister",
        "nvvm.cp.async.bulk",
        "nvvm.fence.proxy",
        "nvvm.elect",
        "nvvm.stmatrix",
        "nvvm.mbarrier.try_wait",
        "nvvm.mbarrier.arrive.expect_tx",
        "nvgpu.tma",
        "nvgpu.warpgroup",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn string_attr(op: &OperationRef, name: &str) -> Option<String> {
    let a = op.attribute(name).ok()?;
    let s = melior::ir::attribute::StringAttribute::try_from(a).ok()?;
    nibble_qnn::ir::string_text(s).ok().map(str::to_string)
}

/// Fields of a result type: a `!llvm.struct<(...)>`'s top-level members, else one.
fn fields(ty: &str) -> usize {
    let Some(body) = ty
        .strip_prefix("!llvm.struct<(")
        .and_then(|b| b.strip_suffix(")>"))
    else {
        return 1;
    };
    if body.trim().is_empty() {
        return 0;
    }
    let mut depth = 0i32;
    let mut n = 1;
    for c in body.chars() {
        match c {
            '(' | '<' | '[' | '{' => depth += 1,
            ')' | '>' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => n += 1,
            _ => {}
        }
    }
    n
}

fn inline_asm(op: &OperationRef) -> Result<(), String> {
    let text = string_attr(op, "asm_string").unwrap_or_default();
    let constraints = string_attr(op, "constraints").unwrap_or_default();
    let outputs: usize = (0..op.result_count())
        .map(|i| op.result(i).map_or(1, |r| fields(&r.r#type().to_string())))
        .sum();
    let inputs = op.operand_count();
    let list: Vec<&str> = if constraints.is_empty() {
        vec![]
    } else {
        constraints.split(',').map(str::trim).collect()
    };
    if list.iter().any(|c| c.is_empty()) {
        return Err(format!(
            "inline asm constraints '{constraints}' hold an empty entry"
        ));
    }
    let outs = list.iter().filter(|c| c.starts_with('=')).count();
    let input_list: Vec<&str> = list
        .iter()
        .filter(|c| !c.starts_with('=') && !c.starts_with('~'))
        .copied()
        .collect();
    let ins = input_list.len();
    // the constraint letters PTX inline asm uses (registers of 16 / 32 / 64 bits, immediates,
    // memory clobbers); tied operands and physical registers make LLVM abort on mismatches
    for c in &list {
        let body = c.trim_start_matches('=').trim_start_matches('&');
        // an input tied to an output (read-write operands, as the NVVM PTX builder writes them)
        let tied = !c.starts_with('=') && body.parse::<usize>().is_ok_and(|k| k < outs);
        let ok = tied
            || matches!(body, "r" | "l" | "h" | "f" | "d" | "n" | "c")
            || (c.starts_with('~') && body.starts_with("~{") && body.ends_with('}'));
        if !ok {
            return Err(format!(
                "inline asm constraint '{c}' is not one nibble passes to LLVM (r, l, h, f, d, n, c, an output's index, =..., ~{{...}})"
            ));
        }
    }
    // results of at most 64 bits a field
    for i in 0..op.result_count() {
        if let Ok(r) = op.result(i) {
            let t = r.r#type().to_string();
            if t.contains("i128") || t.contains("f128") || t.contains("vector") {
                return Err(format!(
                    "inline asm result of type {t}: at most 64 bits a field"
                ));
            }
        }
    }
    if outs != outputs || ins != inputs {
        return Err(format!(
            "inline asm constraints '{constraints}' name {outs} outputs and {ins} inputs; the op has {outputs} and {inputs}"
        ));
    }
    // an immediate (`n`) operand is a constant
    for (k, c) in input_list.iter().enumerate() {
        if *c != "n" {
            continue;
        }
        let constant = op.operand(k).ok().is_some_and(|v| {
            melior::ir::operation::OperationResult::try_from(v).is_ok_and(|r| {
                matches!(
                    r.owner().name().as_string_ref().as_str(),
                    Ok("llvm.mlir.constant" | "arith.constant")
                )
            })
        });
        if !constant {
            return Err(format!(
                "inline asm operand {k} has constraint 'n' (an immediate) but is not a constant"
            ));
        }
    }
    // `$N` (and `${N}`) refer to constraints in order
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            if b.get(i + 1) == Some(&b'$') {
                i += 2;
                continue;
            }
            let braced = b.get(i + 1) == Some(&b'{');
            let j = i + 1 + usize::from(braced);
            let digits: String = b[j.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .map(|&c| c as char)
                .collect();
            if digits.is_empty() {
                return Err(format!(
                    "inline asm '{text}' has a '$' that names no operand (write '$$' for a dollar)"
                ));
            }
            let end = j + digits.len();
            if braced && b.get(end) != Some(&b'}') {
                return Err(format!(
                    "inline asm '{text}': '${{' takes an operand number and '}}' (no operand modifiers)"
                ));
            }
            // more digits than any operand count has: the number need not fit a word
            match digits.parse::<usize>() {
                Ok(n) if n < outs + ins => {}
                _ => {
                    return Err(format!(
                        "inline asm '{text}' refers to ${digits}, but it has {} operands",
                        outs + ins
                    ))
                }
            }
            i = end + usize::from(braced);
            continue;
        }
        i += 1;
    }
    Ok(())
}

fn mma(op: &OperationRef, arch: u32) -> Result<(), String> {
    let ty = |n: &str| op.attribute(n).map(|a| a.to_string()).unwrap_or_default();
    let (a, b) = (ty("multiplicandAPtxType"), ty("multiplicandBPtxType"));
    if arch < 80 {
        // sm_75's mma.sync shapes and their multiplicand types (the others need sm_80)
        let shape = ty("shape");
        let dim = |k: &str| {
            shape
                .split(&format!("{k} = "))
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|d| d.parse::<u32>().ok())
        };
        let types = |t: &[&str]| t.iter().any(|x| a.contains(x)) && t.iter().any(|x| b.contains(x));
        let ok = match (dim("m"), dim("n"), dim("k")) {
            (Some(8), Some(8), Some(4)) | (Some(16), Some(8), Some(8)) => {
                a.is_empty() && b.is_empty() || types(&["f16"])
            }
            (Some(8), Some(8), Some(16)) => types(&["s8", "u8"]),
            (Some(8), Some(8), Some(32)) => types(&["s4", "u4"]),
            (Some(8), Some(8), Some(128)) => types(&["b1"]),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "nvvm.mma.sync {shape} of {a} x {b} needs sm_80 or later; sm_75 has m8n8k4 / m16n8k8 f16, m8n8k16 8-bit, m8n8k32 4-bit and m8n8k128 b1"
            ));
        }
    }
    let width = |t: &str| {
        if t.contains("u4") || t.contains("s4") {
            Some(4)
        } else if t.contains("u8") || t.contains("s8") {
            Some(8)
        } else {
            None
        }
    };
    match (width(&a), width(&b)) {
        (Some(x), Some(y)) if x != y => Err(format!(
            "nvvm.mma.sync multiplies {a} by {b}: integer multiplicands have one width"
        )),
        _ => Ok(()),
    }
}
