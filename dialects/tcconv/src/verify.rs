//! Semantic checks of a tcconv program beyond IRDL: every op's buffers agree with the kernel it
//! stands for (strategy <-> layout <-> weight packing, the target's MMA shape and operand
//! types, logical shapes, epilogue parameters). Errors are `(op index, message)`.

use crate::buffer::{padded_dims, ActBuffer};
use crate::program::*;
use crate::select::mma_for;
use nibble_qnn::graph::{ChannelScales, Epilogue, EpilogueKind};
use nibble_qnn::semantics::{f32_significand, ElemType, Layout, Rounding, MAX_SHIFT};

type R = Result<(), String>;

fn scales(s: &ChannelScales, c: i64, mode: Rounding, what: &str) -> R {
    if s.multiplier.len() != s.shift.len() || (s.len() != 1 && s.len() as i64 != c) {
        return Err(format!(
            "{what} has {} multipliers and {} shifts, expected 1 or {c}",
            s.multiplier.len(),
            s.shift.len()
        ));
    }
    if let Some(m) = s.multiplier.iter().find(|&&m| m < 0) {
        return Err(format!("{what} multiplier {m} is negative"));
    }
    if let Some(x) = s.shift.iter().find(|&&x| !(0..=MAX_SHIFT).contains(&x)) {
        return Err(format!("{what} shift {x} is outside [0, {MAX_SHIFT}]"));
    }
    f32_significand(&s.multiplier, mode, what)
}

/// Dequantize scales: one (per tensor) or one per channel, finite.
fn float_scales(s: &[f32], c: i64) -> R {
    if s.len() != 1 && s.len() as i64 != c {
        return Err(format!(
            "dequantize has {} scales, expected 1 or {c} (channels)",
            s.len()
        ));
    }
    if let Some(x) = s.iter().find(|x| !x.is_finite()) {
        return Err(format!("dequantize scale {x} is not finite"));
    }
    Ok(())
}

/// An output `y` that is input `x` with `padding` around H x W holding `value` (`tcconv.pad`, a
/// padded `tcconv.quantize`): padding in [0, MAX_GEOM], the padded dims, a value of `y`'s type.
fn padded_output(x: &ActBuffer, y: &ActBuffer, padding: [i64; 4], value: i64) -> R {
    let max = nibble_qnn::semantics::MAX_GEOM;
    let (lo, hi) = y.elem.range();
    if padding.iter().any(|&v| !(0..=max).contains(&v)) {
        Err(format!("padding {padding:?} must lie in [0, {max}]"))
    } else if padded_dims(x.dims, padding) != Some(y.dims) {
        Err(format!(
            "output dims {:?} are not the input dims {:?} padded by {padding:?}",
            y.dims, x.dims
        ))
    } else if !(lo..=hi).contains(&value) {
        Err(format!("padding value {value} is not a {} value", y.elem))
    } else {
        Ok(())
    }
}

/// `shortcut`: the residual is the conv's shortcut GEMM (checked by [`shortcut`]).
fn epilogue(e: &Epilogue, out: &ActBuffer, residual: Option<&ActBuffer>, shortcut: bool) -> R {
    let c = out.dims[1];
    if e.rounding == Rounding::F32Fma
        || [&e.second, &e.then]
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s.rounding == Rounding::F32Fma))
    {
        return Err(
            "rounding f32_fma is an elementwise add's or requantize's, not an epilogue's".into(),
        );
    }
    match &e.kind {
        EpilogueKind::None => {
            if out.elem != ElemType::I32
                && !e.relu
                && e.then.is_none()
                && e.clamp == [i32::MIN as i64, i32::MAX as i64]
            {
                return Err(format!(
                    "epilogue none writes i32, the output is {}",
                    out.elem
                ));
            }
        }
        EpilogueKind::Requantize {
            scales: s,
            zero_point,
        } => {
            scales(s, c, e.rounding, "epilogue")?;
            nibble_qnn::verify::zero_point_in(*zero_point, "zero_point")?;
        }
        EpilogueKind::Residual {
            scales: s,
            residual: r,
        } => {
            scales(s, c, e.rounding, "epilogue")?;
            scales(r, c, e.rounding, "residual")?;
        }
    }
    let is_res = matches!(e.kind, EpilogueKind::Residual { .. });
    if shortcut && residual.is_some() {
        return Err("a conv adds a residual buffer or a shortcut, not both".into());
    }
    if shortcut && !is_res {
        return Err("a shortcut needs a residual epilogue".into());
    }
    match (is_res, residual) {
        (true, None) if shortcut => {}
        (true, None) => return Err("a residual epilogue needs a residual buffer".into()),
        (false, Some(_)) => return Err("a residual buffer needs a residual epilogue".into()),
        (true, Some(r)) if r.dims != out.dims => {
            return Err(format!(
                "residual dims {:?} differ from the output's {:?}",
                r.dims, out.dims
            ))
        }
        _ => {}
    }
    match &e.then {
        // the epilogue's i32 value is requantized again: only the `then` result is stored
        Some(t) => {
            if e.second.is_some() {
                return Err("then_* and second_* epilogue attributes exclude each other".into());
            }
            clamp_fits(e.clamp, ElemType::I32, "clamp", "epilogue value")?;
            scales(&t.scales, c, t.rounding, "then")?;
            nibble_qnn::verify::zero_point_in(t.zero_point, "then_zero_point")?;
            clamp_fits(t.clamp, out.elem, "then_clamp", "output")
        }
        None => clamp_fits(e.clamp, out.elem, "clamp", "output"),
    }
}

/// A pool's second output: the requantize of its output `y` into a buffer of the same dims,
/// layout and stored channels, channels innermost (the kernel's thread writes a pixel's
/// channels to both at the same slots).
fn pool_second(p: &Program, output: BufId, sec: &PoolSecond) -> R {
    if sec.output == output {
        return Err("the second output must be another buffer than the output".into());
    }
    let (y, z) = (&p.buffers[output], &p.buffers[sec.output]);
    if !PoolSecond::fits(y, z) {
        return Err(format!(
            "the second output must be an integer buffer of the output's dims {:?}, layout {} (channels innermost) and stored channels {}, found {} {:?} {} of {} stored channels",
            y.dims,
            y.layout,
            y.stored_channels(),
            z.elem,
            z.dims,
            z.layout,
            z.stored_channels()
        ));
    }
    let q = &sec.requantize;
    if q.rounding == Rounding::F32Fma {
        return Err("rounding f32_fma is an elementwise add's, not a pool's requantize".into());
    }
    scales(&q.scales, y.dims[1], q.rounding, "second")?;
    nibble_qnn::verify::zero_point_in(q.zero_point, "second_zero_point")?;
    clamp_fits(q.clamp, z.elem, "second_clamp", "second output")
}

/// `clamp` (attribute `name`) is non-empty and inside the range of `elem` (of buffer `what`).
fn clamp_fits(clamp: [i64; 2], elem: ElemType, name: &str, what: &str) -> R {
    let (lo, hi) = elem.range();
    if clamp[0] > clamp[1] || clamp[0] < lo || clamp[1] > hi {
        return Err(format!(
            "{name} {clamp:?} is empty or exceeds the {what}'s {elem} range [{lo}, {hi}]"
        ));
    }
    Ok(())
}

fn conv(p: &Program, c: &Conv) -> R {
    // with a fused input quantize the kernel reads the quantized tensor, never stored
    let x = c
        .quantize
        .as_ref()
        .map_or(&p.buffers[c.input], |q| &q.quantized);
    // with a max pool, the conv's own map (never stored); the pool's output is checked last
    let y = c.pool.as_ref().map_or(&p.buffers[c.output], |pl| &pl.map);
    input_quantize_operands(c, &p.buffers)?;
    let w = p.weights.get(c.weight).ok_or("weight out of range")?;
    let (want_layout, want_packing) = match c.strategy {
        Strategy::Direct => (Layout::HWNC, Packing::ConvHwoi),
        Strategy::Im2col => (Layout::NHWC, Packing::ConvOhwi),
    };
    if x.layout != want_layout {
        return Err(format!(
            "strategy {} reads {want_layout} input, the input buffer is {}",
            c.strategy.name(),
            x.layout
        ));
    }
    if w.packing != want_packing {
        return Err(format!(
            "strategy {} reads {want_packing:?} weights, found {:?}",
            c.strategy.name(),
            w.packing
        ));
    }
    crate::pack::check_dims(w).map_err(|e| format!("weight '{}': {e}", w.name))?;
    let [n, ci, h, wd] = x.dims;
    let [o, wi, kh, kw] = w.dims;
    let g = c.groups;
    if g < 1 || ci % g != 0 || o % g != 0 {
        return Err(format!(
            "groups {g} must be positive and divide the input channels {ci} and the output channels {o}"
        ));
    }
    if g != 1 && c.family != crate::select::Family::Simple {
        return Err(format!(
            "family '{}' does not run grouped convs; 'simple' does",
            c.family.name()
        ));
    }
    if wi * g != ci || [kh, kw] != c.kernel {
        return Err(format!(
            "weight dims {:?} do not fit input channels {ci} in {g} groups and kernel {:?}",
            w.dims, c.kernel
        ));
    }
    let oh = (h + c.padding[0] + c.padding[2] - kh).div_euclid(c.strides[0].max(1)) + 1;
    let ow = (wd + c.padding[1] + c.padding[3] - kw).div_euclid(c.strides[1].max(1)) + 1;
    if y.dims != [n, o, oh, ow] {
        return Err(format!(
            "output dims {:?}, the conv computes {:?}",
            y.dims,
            [n, o, oh, ow]
        ));
    }
    let (mma, a, b, widen) = mma_for(p.target, x.elem, w.elem);
    let t = &c.tiling;
    if [t.mma.m, t.mma.n, t.mma.k] != [mma.m, mma.n, mma.k]
        || t.a_type != a
        || t.b_type != b
        || t.widen != widen
    {
        return Err(format!(
            "{} runs {}x{}x{} {}/{} MMA (widen {widen}) for {} x {}, found {}x{}x{} {}/{} (widen {})",
            p.target, mma.m, mma.n, mma.k, a, b, x.elem, w.elem, t.mma.m, t.mma.n, t.mma.k, t.a_type, t.b_type, t.widen
        ));
    }
    if c.strategy == Strategy::Direct && (n % mma.m != 0 || o % mma.n != 0 || ci % mma.k != 0) {
        return Err(format!("direct needs batch % {} == 0, out channels % {} == 0 and in channels % {} == 0 (n={n}, o={o}, c={ci})", mma.m, mma.n, mma.k));
    }
    if let Some(bias) = c.bias {
        let b = p.weights.get(bias).ok_or("bias out of range")?;
        if b.packing != Packing::Bias || b.dims != [o, 1, 1, 1] {
            return Err(format!(
                "bias must be an i32 bias of {o} channels, found {:?} {:?}",
                b.packing, b.dims
            ));
        }
    }
    if let Some(sc) = &c.shortcut {
        shortcut(p, c, sc)?;
    }
    epilogue(
        &c.epilogue,
        y,
        c.residual.map(|r| &p.buffers[r]),
        c.shortcut.is_some(),
    )?;
    match (c.second.map(|b| &p.buffers[b]), &c.epilogue.second) {
        (None, None) => Ok(()),
        (Some(_), None) => Err("a second output buffer needs second_* epilogue attributes".into()),
        (None, Some(_)) => Err("second_* epilogue attributes need a second output buffer".into()),
        (Some(z), Some(sec)) => {
            if z.dims != y.dims || z.layout != y.layout || !z.elem.is_int() {
                return Err(format!(
                    "the second output must be an integer buffer of the output's dims {:?} and layout {}, found {} {:?} {}",
                    y.dims, y.layout, z.elem, z.dims, z.layout
                ));
            }
            scales(&sec.scales, o, sec.rounding, "second")?;
            nibble_qnn::verify::zero_point_in(sec.zero_point, "second_zero_point")?;
            clamp_fits(sec.clamp, z.elem, "second_clamp", "second output")
        }
    }?;
    // the recorded kernel family takes the op (what convert-tcconv-to-gpu will build)
    let spec = crate::select::ConvSpec::conv(c, &p.buffers, &p.weights);
    let k = crate::select::realize(c.family, &spec, &c.tiling, p.target)?;
    input_quantize_kernel(c, &k)?;
    if let Some(pl) = &c.pool {
        conv_pool(pl, &p.buffers[c.output], &spec, &k)?;
    }
    conv_chain(c, &k)
}

/// A conv's max pool (`Conv::pool`): the output is the pool window over the conv's map, of the
/// map's type and layout, and the register-MMA kernel takes it (`select::pool_plan`).
fn conv_pool(
    pl: &crate::program::ConvPool,
    y: &ActBuffer,
    spec: &crate::select::ConvSpec,
    k: &crate::select::Kernel,
) -> R {
    let m = &pl.map;
    let hw =
        nibble_qnn::verify::pool_window([m.dims[2], m.dims[3]], pl.kernel, pl.strides, pl.padding)
            .map_err(|e| format!("the max pool's {e}"))?;
    if y.dims[..2] != m.dims[..2] || y.dims[2..] != hw[..] {
        return Err(format!(
            "the output {:?} is not the max pool (kernel {:?}, strides {:?}, padding {:?}) of the conv's {:?} map, {:?}",
            y.dims,
            pl.kernel,
            pl.strides,
            pl.padding,
            m.dims,
            [m.dims[0], m.dims[1], hw[0], hw[1]]
        ));
    }
    match k {
        crate::select::Kernel::Mma(mp) if crate::select::pool_plan(spec, mp).is_some() => Ok(()),
        _ => Err(
            "a conv's max pool runs in the register-MMA kernel with taps along K (a 3-channel stem), a packed 4-bit channel-innermost output of at most 64 channels and a window whose pooled tile's patch fits 128 rows"
                .into(),
        ),
    }
}

/// A chained conv (`Conv::chain`) runs on the staged kernel (its plan takes no cluster of its
/// own: `ConvSpec::chained`).
fn conv_chain(c: &Conv, k: &crate::select::Kernel) -> R {
    match (k, c.chain) {
        (_, None) => Ok(()),
        (_, Some(id)) if id < 0 => Err(format!("chain {id} must be at least 0")),
        (crate::select::Kernel::Staged(_), Some(_)) => Ok(()),
        (_, Some(_)) => Err(format!(
            "family '{}' does not run in a chain; 'staged' does",
            c.family.name()
        )),
    }
}

/// The ops of a chain (`Conv::chain`) are two or more consecutive convs, each after the first
/// reading what the one before writes and nothing else a conv of the chain writes, that the
/// chain kernel runs (`select::chain_plan`). Errors at the op that breaks a chain.
fn chains(p: &Program) -> Vec<(usize, String)> {
    fn conv_of(op: &TcOp) -> Option<&Conv> {
        match op {
            TcOp::Conv2d(c) if c.chain.is_some() => Some(c),
            _ => None,
        }
    }
    let mut errs = vec![];
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < p.ops.len() {
        let Some(id) = conv_of(&p.ops[i]).and_then(|c| c.chain) else {
            i += 1;
            continue;
        };
        let at = |j: usize, m: String| {
            (
                j,
                format!("'tcconv.{}' chain {id}: {m}", p.ops[j].mnemonic()),
            )
        };
        let convs: Vec<&Conv> = p.ops[i..]
            .iter()
            .map_while(|op| conv_of(op).filter(|c| c.chain == Some(id)))
            .collect();
        let n = convs.len();
        if !seen.insert(id) {
            errs.push(at(i, "a chain's convs follow one another".into()));
        } else if n < 2 {
            errs.push(at(i, format!("a chain is two or more convs, not {n}")));
        } else if let Some(e) = chain_reads(&convs) {
            errs.push(at(i + e.0, e.1));
        } else {
            if let Err(e) = crate::select::chain_plan_of(&convs, &p.buffers, &p.weights, p.target) {
                errs.push(at(i, e));
            }
        }
        i += n;
    }
    errs
}

/// Where a chain's convs read otherwise than the chain kernel allows: (the conv's index in the
/// chain, why). Each conv after the first reads the output or second output of the one before;
/// no conv reads another buffer a conv of the chain writes (its residual or its shortcut's
/// input would be rows other blocks of the cluster are still writing).
fn chain_reads(convs: &[&Conv]) -> Option<(usize, String)> {
    let writes: Vec<BufId> = convs
        .iter()
        .flat_map(|c| [Some(c.output), c.second])
        .flatten()
        .collect();
    for (k, c) in convs.iter().enumerate() {
        if k > 0 {
            let prev = convs[k - 1];
            if c.input != prev.output && Some(c.input) != prev.second {
                return Some((
                    k,
                    "a chain's conv reads the output or second output of the conv before it".into(),
                ));
            }
        } else if writes.contains(&c.input) {
            return Some((
                k,
                "the first conv of a chain reads what the chain writes".into(),
            ));
        }
        let other = c
            .residual
            .into_iter()
            .chain(c.shortcut.as_ref().map(|sc| sc.input));
        if other.into_iter().any(|b| writes.contains(&b)) {
            return Some((
                k,
                "a chain's conv reads a residual or shortcut input that the chain writes".into(),
            ));
        }
    }
    None
}

/// A conv's fused input quantize (`Conv::quantize`), if any, has an f32 input of the quantized
/// tensor's dims, an 8-bit integer result and a positive finite scale. (convert-tcconv-to-gpu
/// checks it too: it may run without tcconv-verify before it.)
pub fn input_quantize_operands(c: &Conv, bufs: &[ActBuffer]) -> Result<(), String> {
    let Some(q) = &c.quantize else {
        return Ok(());
    };
    let (src, x) = (&bufs[c.input], &q.quantized);
    if src.elem != ElemType::F32 || src.dims != x.dims {
        return Err(format!(
            "a fused input quantize reads an f32 input of the quantized tensor's dims {:?}, found {} {:?}",
            x.dims, src.elem, src.dims
        ));
    }
    if !x.elem.is_int() || x.elem.bits() != 8 || x.narrow {
        return Err(format!(
            "a fused input quantize writes an 8-bit integer tensor, not {}",
            x.elem
        ));
    }
    if !(q.scale.is_finite() && q.scale > 0.0) {
        return Err(format!(
            "input_scale {} is not a positive finite f32",
            q.scale
        ));
    }
    Ok(())
}

/// A conv with a fused input quantize runs on kernel `k` only where that is the register-MMA
/// kernel with taps along K (one 32-bit word a pixel), whose loader computes it.
pub fn input_quantize_kernel(c: &Conv, k: &crate::select::Kernel) -> Result<(), String> {
    if c.quantize.is_some() && !matches!(k, crate::select::Kernel::Mma(m) if m.tapk) {
        return Err(format!(
            "family '{}' does not run a fused input quantize; 'mma' with one 32-bit word a pixel (taps along K) does",
            c.family.name()
        ));
    }
    Ok(())
}

/// A conv's shortcut: a 1x1 conv of one group, read like the conv's input and weight (the
/// strategy's layout and packing), onto the conv's output pixels.
fn shortcut(p: &Program, c: &Conv, sc: &crate::program::Shortcut) -> R {
    let (x, y) = (&p.buffers[sc.input], &p.buffers[c.output]);
    let w = p
        .weights
        .get(sc.weight)
        .ok_or("shortcut weight out of range")?;
    let main_w = p.weights.get(c.weight).ok_or("weight out of range")?;
    if x.layout != p.buffers[c.input].layout || w.packing != main_w.packing {
        return Err(format!(
            "the shortcut reads its input and weight as the conv does ({} input, {:?} weights), found {} and {:?}",
            p.buffers[c.input].layout, main_w.packing, x.layout, w.packing
        ));
    }
    if c.groups != 1 {
        return Err("a conv with a shortcut has one group".into());
    }
    if !x.elem.is_int() || x.elem == ElemType::F32 || !w.elem.is_int() {
        return Err("the shortcut's operands must be integers".into());
    }
    let [n, cx, h, wd] = x.dims;
    let [yn, o, oh, ow] = y.dims;
    let [sh, sw] = sc.strides;
    if sh < 1 || sw < 1 {
        return Err(format!(
            "shortcut_strides {:?} must be positive",
            sc.strides
        ));
    }
    if w.dims != [o, cx, 1, 1] {
        return Err(format!(
            "the shortcut weight has dims {:?}, a 1x1 conv of {cx} onto {o} channels needs {:?}",
            w.dims,
            [o, cx, 1, 1]
        ));
    }
    if n != yn || h < 1 || wd < 1 || (h - 1) / sh + 1 != oh || (wd - 1) / sw + 1 != ow {
        return Err(format!(
            "the shortcut maps a {:?} input with strides {:?} onto {:?}, not the output's {:?}",
            x.dims,
            sc.strides,
            [n, o, (h - 1).max(0) / sh + 1, (wd - 1).max(0) / sw + 1],
            y.dims
        ));
    }
    if let Some(bias) = sc.bias {
        let b = p.weights.get(bias).ok_or("shortcut bias out of range")?;
        if b.packing != Packing::Bias || b.dims != [o, 1, 1, 1] {
            return Err(format!(
                "the shortcut bias must be an i32 bias of {o} channels, found {:?} {:?}",
                b.packing, b.dims
            ));
        }
    }
    let mma = c.tiling.mma;
    if c.strategy == Strategy::Direct && cx % mma.k != 0 {
        return Err(format!(
            "direct needs the shortcut's in channels % {} == 0 (c={cx})",
            mma.k
        ));
    }
    Ok(())
}

/// An op writes no buffer it reads: its kernel's threads read other threads' inputs (a window,
/// a gathered channel, a row), so writing over them in place would race. (A conv's output over
/// its own residual is the exception no lowering makes either; it is refused alike.)
fn no_aliasing(op: &TcOp) -> Result<(), String> {
    let reads = op.reads();
    match op.writes_all().into_iter().find(|w| reads.contains(w)) {
        Some(b) => Err(format!(
            "writes buffer {b}, which it also reads (no op works in place)"
        )),
        None => Ok(()),
    }
}

/// Buffers in `narrow16` storage are the residual stream between convs: a conv's residual
/// operand or its first output (every conv family reads and writes them through the epilogue,
/// which handles the escapes); an i16 map may also be a max pool's input or output or a
/// requantize's input ([`TcOp::narrow_map_uses`]). Nothing else: the other kernels read 32-bit
/// words.
fn narrow_uses(p: &Program, op: &TcOp) -> R {
    let maps = op.narrow_map_uses();
    let bad = |b: &usize| {
        let buf = &p.buffers[*b];
        buf.narrow && !(buf.elem == ElemType::I16 && maps.contains(b))
    };
    if op.wide_only().iter().any(bad) {
        return Err(
            "has an operand in narrow16 storage: only a conv's residual and first output, and an i16 map a max pool or a requantize reads, may be narrow16"
                .into(),
        );
    }
    Ok(())
}

/// Check every op of `p`.
pub fn verify_program(p: &Program) -> Result<(), Vec<(usize, String)>> {
    let mut errs = vec![];
    for (i, op) in p.ops.iter().enumerate() {
        let bufs_ok = op
            .reads()
            .iter()
            .chain(&op.writes_all())
            .all(|&b| b < p.buffers.len());
        let r = if !bufs_ok {
            Err("buffer index out of range".to_string())
        } else {
            match op {
                TcOp::Conv2d(c) => conv(p, c),
                TcOp::Dense(d) => {
                    let (x, y) = (&p.buffers[d.input], &p.buffers[d.output]);
                    let pooled = d.pool.as_ref().map(|pl| dense_pool(pl, x));
                    match p.weights.get(d.weight) {
                        _ if matches!(pooled, Some(Err(_))) => pooled.unwrap(),
                        Some(w) if w.packing == Packing::DenseOk && w.dims[1] == x.dims[1] && y.dims[1] == w.dims[0] && (x.stored_as_nc() || pooled.is_some()) && y.dims[0] == x.dims[0] => {
                            match &d.dequantize {
                                None => epilogue(&d.epilogue, y, None, false),
                                Some(_) if y.elem != ElemType::F32 => Err(format!(
                                    "a dense with a fused dequantize writes f32, the output is {}",
                                    y.elem
                                )),
                                // the epilogue's own value is the i32 the scales multiply
                                Some(s) => float_scales(s, y.dims[1]).and_then(|_| {
                                    let i32_out = ActBuffer { elem: ElemType::I32, ..y.clone() };
                                    epilogue(&d.epilogue, &i32_out, None, false)
                                }),
                            }
                        }
                        _ => Err("dense needs an NC (or N x C x 1 x 1) input, DenseOk weights of matching features and an output of the weight's rows".into()),
                    }
                }
                TcOp::Pool {
                    kind,
                    input,
                    output,
                    kernel,
                    strides,
                    padding,
                    divisor,
                    requantize,
                    second,
                } => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    let window = nibble_qnn::verify::pool_window(
                        [x.dims[2], x.dims[3]],
                        *kernel,
                        *strides,
                        *padding,
                    )
                    .and_then(|hw| {
                        if hw[..] == y.dims[2..] {
                            Ok(())
                        } else {
                            Err(format!(
                                "output H x W {:?}, the window over {:?} gives {hw:?}",
                                &y.dims[2..],
                                &x.dims[2..]
                            ))
                        }
                    });
                    if x.layout != y.layout
                        || x.dims[0] != y.dims[0]
                        || x.dims[1] != y.dims[1]
                        || kernel.iter().chain(strides).any(|&v| v <= 0)
                    {
                        Err("pooling keeps layout, batch and channels and needs positive kernel and strides".into())
                    } else if let Err(e) = window {
                        Err(e)
                    } else if !x.elem.is_int() || !y.elem.is_int() {
                        Err(format!(
                            "pooling works on integers, not {} -> {}",
                            x.elem, y.elem
                        ))
                    } else if let PoolKind::AvgF32(a) = kind {
                        if divisor.is_some() || requantize.is_some() || second.is_some() {
                            Err("an avg_f32 pool takes no divisor, no requantize and no second output".into())
                        } else {
                            nibble_qnn::verify::avg_pool_f32(a, x.elem, y.elem)
                        }
                    } else {
                        let into = (y.elem, y.dims[1], false);
                        pooled_values(*kind, requantize.as_ref(), x.elem, into).and_then(|()| {
                            match second {
                                Some(sec) => pool_second(p, *output, sec),
                                None => Ok(()),
                            }
                        })
                    }
                }
                TcOp::Elementwise {
                    op: e,
                    inputs,
                    output,
                } => {
                    let y = &p.buffers[*output];
                    let want = e.arity();
                    // a mul's second input may be N x C x 1 x 1 (any layout: one value a channel)
                    // (an N x C x 1 x 1 input of any layout is stored as N x C: a flatten's
                    // value is its operand's buffer, read by an NC op)
                    let fits = |k: usize, i: usize| {
                        let b = &p.buffers[i];
                        (b.dims == y.dims
                            && (b.layout == y.layout || (b.stored_as_nc() && y.stored_as_nc())))
                            || (k == 1
                                && matches!(e, Elementwise::Mul)
                                && b.dims == [y.dims[0], y.dims[1], 1, 1])
                    };
                    if inputs.len() != want {
                        Err(format!("expects {want} inputs, found {}", inputs.len()))
                    } else if inputs.iter().enumerate().any(|(k, &i)| !fits(k, i)) {
                        Err("elementwise inputs and output must share dims and layout".into())
                    } else if let Elementwise::Lookup { table } = e {
                        let x = &p.buffers[inputs[0]];
                        let (lo, hi) = y.elem.range();
                        let c = y.dims[1] as usize;
                        if nibble_qnn::semantics::lookup_tables(table.len(), x.elem, c).is_none() {
                            Err(format!(
                                "lookup reads a 4- or 8-bit input with one table entry per value (or one table a channel): {} entries for {} of {c} channels",
                                table.len(),
                                x.elem
                            ))
                        } else if let Some(v) =
                            table.iter().find(|&&v| !(lo..=hi).contains(&(v as i64)))
                        {
                            Err(format!(
                                "lookup table entry {v} is outside the output type {} [{lo}, {hi}]",
                                y.elem
                            ))
                        } else {
                            Ok(())
                        }
                    } else if matches!(e, Elementwise::Mul)
                        && (y.elem != ElemType::I32
                            || inputs.iter().any(|&i| p.buffers[i].elem.bits() > 16))
                    {
                        Err("mul multiplies inputs of at most 16 bits into i32".into())
                    } else {
                        match e {
                            Elementwise::Requantize {
                                scales: s,
                                rounding,
                                offset,
                                ..
                            } => scales(s, y.dims[1], *rounding, "requantize").and(
                                nibble_qnn::verify::requantize_offset(offset, *rounding, y.dims[1]),
                            ),
                            Elementwise::Add {
                                lhs, rhs, rounding, ..
                            } => scales(lhs, y.dims[1], *rounding, "lhs")
                                .and(scales(rhs, y.dims[1], *rounding, "rhs")),
                            _ => Ok(()),
                        }
                    }
                }
                TcOp::Pad {
                    input,
                    output,
                    padding,
                    value,
                } => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    if x.elem != y.elem || x.layout != y.layout || !x.elem.is_int() {
                        Err(format!(
                            "pad keeps an integer element type and layout: {} {:?} -> {} {:?}",
                            x.elem, x.layout, y.elem, y.layout
                        ))
                    } else {
                        padded_output(x, y, *padding, *value)
                    }
                }
                TcOp::Quantize { scale, .. } if !(scale.is_finite() && *scale > 0.0) => {
                    Err(format!("scale must be positive and finite, found {scale}"))
                }
                TcOp::Quantize { input, pre, .. }
                    if nibble_qnn::semantics::float_steps_fit(pre, p.buffers[*input].dims[1])
                        .is_err() =>
                {
                    nibble_qnn::semantics::float_steps_fit(pre, p.buffers[*input].dims[1])
                }
                TcOp::Quantize {
                    input,
                    output,
                    padding,
                    padding_value,
                    space_to_depth,
                    ..
                } if *space_to_depth != 0 => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    let max = nibble_qnn::semantics::MAX_GEOM;
                    let (lo, hi) = y.elem.range();
                    if !(2..=MAX_SPACE_TO_DEPTH).contains(space_to_depth) {
                        Err(format!(
                            "space_to_depth {space_to_depth} must lie in [2, {MAX_SPACE_TO_DEPTH}] (0: none)"
                        ))
                    } else if padding.iter().any(|&v| !(0..=max).contains(&v)) {
                        Err(format!("padding {padding:?} must lie in [0, {max}]"))
                    } else if !y.elem.is_int() || !matches!(y.layout, Layout::NHWC) {
                        Err(format!(
                            "a space-to-depth quantize writes an NHWC integer buffer, not {} {:?}",
                            y.elem, y.layout
                        ))
                    } else if crate::buffer::quantize_output_dims(
                        x,
                        y.elem,
                        *padding,
                        *space_to_depth,
                    ) != Some(y.dims)
                    {
                        Err(format!(
                            "output dims {:?} are not the space-to-depth map (block {space_to_depth}) of the input dims {:?} padded by {padding:?} (each padded extent a multiple of the block)",
                            y.dims, x.dims
                        ))
                    } else if !(lo..=hi).contains(padding_value) {
                        Err(format!(
                            "padding value {padding_value} is not a {} value",
                            y.elem
                        ))
                    } else {
                        Ok(())
                    }
                }
                TcOp::Quantize {
                    input,
                    output,
                    padding,
                    padding_value,
                    ..
                } if *padding != [0; 4] => padded_output(
                    &p.buffers[*input],
                    &p.buffers[*output],
                    *padding,
                    *padding_value,
                ),
                TcOp::Concat { inputs, output } => {
                    let y = &p.buffers[*output];
                    let [n, _, h, w] = y.dims;
                    let channels: i64 = inputs.iter().map(|&b| p.buffers[b].dims[1]).sum();
                    if inputs.len() != 2 {
                        Err(format!("takes two inputs, not {}", inputs.len()))
                    } else if !y.elem.is_int() {
                        Err(format!("writes an integer buffer, not {}", y.elem))
                    } else if let Some(b) = inputs.iter().map(|&b| &p.buffers[b]).find(|b| {
                        b.elem != y.elem || (b.dims[0], b.dims[2], b.dims[3]) != (n, h, w)
                    }) {
                        Err(format!(
                            "input {:?} {} does not match the output's element type {} and N, H, W {:?}",
                            b.dims, b.elem, y.elem, [n, h, w]
                        ))
                    } else if channels != y.dims[1] {
                        Err(format!(
                            "inputs of {channels} channels in all, output of {}",
                            y.dims[1]
                        ))
                    } else {
                        Ok(())
                    }
                }
                TcOp::Gather {
                    input,
                    output,
                    indices,
                } => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    if (x.dims[0], x.dims[2], x.dims[3]) != (y.dims[0], y.dims[2], y.dims[3])
                        || x.elem != y.elem
                        || !x.elem.is_int()
                    {
                        Err(format!(
                            "gather_channels keeps N, H, W and the integer type: {:?} {} -> {:?} {}",
                            x.dims, x.elem, y.dims, y.elem
                        ))
                    } else if indices.len() as i64 != y.dims[1] {
                        Err(format!(
                            "{} indices for an output of {} channels",
                            indices.len(),
                            y.dims[1]
                        ))
                    } else if let Some(i) =
                        indices.iter().find(|&&i| i < 0 || i as i64 >= x.dims[1])
                    {
                        Err(format!(
                            "channel index {i} is outside the input's {} channels",
                            x.dims[1]
                        ))
                    } else {
                        Ok(())
                    }
                }
                TcOp::Softmax {
                    input,
                    output,
                    table,
                    scale,
                    zero_point,
                } => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    if x.dims != y.dims
                        || x.dims[2..] != [1, 1]
                        || !x.stored_as_nc()
                        || !y.stored_as_nc()
                    {
                        Err(format!(
                            "softmax reads and writes N x C buffers of one shape, found {:?} {} and {:?} {}",
                            x.dims, x.layout, y.dims, y.layout
                        ))
                    } else if !x.elem.is_int() || x.elem.bits() > 8 {
                        Err(format!(
                            "softmax input must be an integer of at most 8 bits, not {}",
                            x.elem
                        ))
                    } else if !matches!(y.elem, ElemType::U8 | ElemType::I8) {
                        Err(format!("softmax output must be ui8 or i8, not {}", y.elem))
                    } else {
                        nibble_qnn::verify::softmax_params(table, *scale, *zero_point, y.elem)
                    }
                }
                TcOp::Quantize { input, output, .. }
                | TcOp::Relayout { input, output }
                | TcOp::Dequantize { input, output, .. } => {
                    let (x, y) = (&p.buffers[*input], &p.buffers[*output]);
                    if x.dims != y.dims {
                        Err(format!(
                            "input dims {:?} differ from output dims {:?}",
                            x.dims, y.dims
                        ))
                    } else if let TcOp::Dequantize { scales, .. } = op {
                        float_scales(scales, y.dims[1])
                    } else {
                        Ok(())
                    }
                }
            }
        };
        let r = r.and_then(|_| if bufs_ok { narrow_uses(p, op) } else { Ok(()) });
        let r = r.and_then(|_| no_aliasing(op));
        if let Err(e) = r {
            errs.push((i, format!("'tcconv.{}' {e}", op.mnemonic())));
        }
    }
    errs.extend(chains(p));
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}
/// A dense layer's fused global pool over map `x`: an integer map, the max or an integer
/// average into an integer type, a valid requantize, 1 to C blocks.
fn dense_pool(pl: &DensePool, x: &ActBuffer) -> Result<(), String> {
    let c = x.dims[1];
    if !matches!(pl.kind, PoolKind::Max | PoolKind::Avg) {
        return Err("a dense layer's fused pool is \"max\" or \"avg\"".into());
    }
    if !x.elem.is_int() || !pl.elem.is_int() {
        return Err(format!(
            "a dense layer's fused pool works on integers, not {} -> {}",
            x.elem, pl.elem
        ));
    }
    if pl.split < 1 || pl.split > c.max(1) || pl.divisor.is_some_and(|d| d < 1) {
        return Err(format!(
            "pool_split {} must be in [1, {c}] and pool_divisor at least 1",
            pl.split
        ));
    }
    pooled_values(pl.kind, pl.requantize.as_ref(), x.elem, (pl.elem, c, true))
}

/// A max / average pool's values of `x` stored as type `e` (`c` channels): a max pool without
/// a requantize holds every input value; a requantize is a pool's (not `f32_fma`), with valid
/// scales and a clamp inside `e`. `fused`: the pool is a dense layer's (its attributes are
/// `pool_`-prefixed, its values never stored).
fn pooled_values(
    kind: PoolKind,
    requantize: Option<&nibble_qnn::graph::RequantizeStep>,
    x: ElemType,
    (e, c, fused): (ElemType, i64, bool),
) -> R {
    let (lo, hi) = (x.range(), e.range());
    let (values, to, clamp, clamped, scale) = match fused {
        false => ("output", "out", "clamp", "output", "requantize"),
        true => (
            "values",
            "pooled",
            "pool_clamp",
            "pooled value",
            "pool requantize",
        ),
    };
    match requantize {
        None if kind == PoolKind::Max && (lo.0 < hi.0 || lo.1 > hi.1) => Err(format!(
            "a max pool's {values} must hold every input value: {x} in, {e} {to}"
        )),
        Some(q) if q.rounding == Rounding::F32Fma => {
            Err("rounding f32_fma is an elementwise add's, not a pool's requantize".into())
        }
        Some(q) => {
            scales(&q.scales, c, q.rounding, scale).and(clamp_fits(q.clamp, e, clamp, clamped))
        }
        None => Ok(()),
    }
}
