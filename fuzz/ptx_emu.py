#!/usr/bin/env python3
"""A PTX interpreter for nibble's CUDA-core kernels (no tensor cores, no shared memory): runs a
kernel of a `kernels.ptx` thread by thread on the CPU, on byte buffers standing for global
memory, so that a kernel's PTX can be checked bit for bit without a GPU.

    from ptx_emu import Module
    m = Module(open("kernels.ptx").read())
    out = m.launch("name", grid=(g, 1, 1), block=(b, 1, 1), args=[buf0, buf1, ...])

`args` are bytearrays (one per `.param .u64 .ptr` parameter, in order: the bare-pointer
convention nibble's kernels use) or ints (other parameters); the kernel reads and writes the
bytearrays in place. Each thread runs from the entry to `ret` / `exit` on its own registers:
kernels that synchronize a block (`bar`), touch shared memory or issue tensor-core, async-copy or
atomic instructions are refused (NotImplementedError), as is every opcode or modifier this
interpreter does not define, so it never passes a kernel it cannot run. Semantics follow the
PTX ISA: registers hold raw bits, each instruction reads them at its type's width and signedness.
"""
import math
import re
import struct
from fractions import Fraction

MASK = {4: 0xF, 8: 0xFF, 16: 0xFFFF, 32: 0xFFFFFFFF, 64: 0xFFFFFFFFFFFFFFFF}
BASE = 1 << 40  # buffer i lives at BASE * (i + 1)
SHARED = 1 << 20  # the shared window's addresses start here (state-space addresses)
GENERIC_SHARED = 1 << 52  # and its generic addresses here (cvta.shared)


def width(t):
    if t == "pred":
        return 1
    return int(t[1:])


def signed(v, w):
    v &= MASK[w]
    return v - (1 << w) if v >> (w - 1) else v


def unsigned(v, w):
    return v & MASK[w]


def round_f32(v):
    """The f32 nearest `v` (a float or a Fraction, exact), ties to even."""
    q = Fraction(v)
    if q == 0:
        return 0.0
    sign, q = (-1.0 if q < 0 else 1.0), abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    e = max(e, -126)  # subnormals keep the smallest exponent
    scaled = q / Fraction(2) ** (e - 23)
    m = scaled.numerator // scaled.denominator
    rem = scaled - m
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and m & 1):
        m += 1
    r = m * 2.0 ** (e - 23)
    if r >= 2.0 ** 128:
        return sign * math.inf
    return sign * r


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits & MASK[32]))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


class Instr:
    __slots__ = ("pred", "neg", "op", "mods", "args", "text")

    def __init__(self, pred, neg, op, mods, args, text):
        self.pred, self.neg, self.op, self.mods, self.args, self.text = pred, neg, op, mods, args, text


class Kernel:
    def __init__(self, name, params, body, module_shared=()):
        self.name, self.params = name, params
        self.instrs, self.labels = [], {}
        # declared register widths by name prefix (`.reg .b64 %rd<48>`): a load of a narrower
        # type extends to the register's width
        self.widths = {}
        # shared-memory symbols: (name, alignment, bytes, dynamic), the module's then the kernel's
        self.shared = list(module_shared)
        for stmt in body:
            # labels, then scope braces (`{ .reg .b32 tmp; ... }` blocks), open a statement
            stmt = stmt.lstrip("{} \t\n").strip()
            m = re.match(r"^(\$?[\w$]+):\s*(.*)$", stmt, re.S)
            while m:
                self.labels[m.group(1)] = len(self.instrs)
                stmt = m.group(2).lstrip("{} \t\n").strip()
                m = re.match(r"^(\$?[\w$]+):\s*(.*)$", stmt, re.S)
            rm = re.match(r"^\.reg\s+\.(\w+)\s+(%?\w+?)(<\d+>)?$", stmt)
            if rm:
                self.widths[rm.group(2)] = 1 if rm.group(1) == "pred" else int(rm.group(1)[1:])
                continue
            sm = re.match(r"^(\.extern\s+)?\.shared\s+\.align\s+(\d+)\s+\.b8\s+(\w+)\[(\d*)\]$", stmt)
            if sm:
                self.shared.append((sm.group(3), int(sm.group(2)), int(sm.group(4) or 0), bool(sm.group(1))))
                continue
            if not stmt or stmt.startswith("."):
                continue  # .maxntid / .local declarations
            pred, neg = None, False
            pm = re.match(r"^@(!?)(%?\w+)\s+(.*)$", stmt, re.S)
            if pm:
                neg, pred, stmt = pm.group(1) == "!", pm.group(2), pm.group(3)
            parts = stmt.split(None, 1)
            opcode = parts[0].split(".")
            args = split_args(parts[1]) if len(parts) > 1 else []
            self.instrs.append(Instr(pred, neg, opcode[0], opcode[1:], args, stmt))


def scope_labels(body):
    """Rename the labels defined inside each `{` ... `}` block (lines holding only a brace)
    apart, with the branches to them in that block."""
    lines, out, stack, n = body.split("\n"), [], [], 0
    for line in lines:
        st = line.strip()
        if st == "{":
            stack.append(len(out))
        out.append(line)
        if st == "}" and stack:
            start = stack.pop()
            if not stack:
                chunk = "\n".join(out[start:])
                for lab in set(re.findall(r"^\s*(\w+):", chunk, flags=re.M)):
                    n += 1
                    chunk = re.sub(rf"\b{lab}\b", f"{lab}__scope{n}", chunk)
                out[start:] = chunk.split("\n")
    return "\n".join(out)


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


class Module:
    def __init__(self, text):
        text = strip_comments(text)
        self.kernels = {}
        # module-level shared declarations: those outside every kernel's body
        outside = re.sub(r"\.entry\s+\w+\s*\(.*?\)[^{]*\{.*?\n\}", "", text, flags=re.S)
        module_shared = [(m.group(3), int(m.group(2)), int(m.group(4) or 0), bool(m.group(1)))
                         for m in re.finditer(r"(\.extern\s+)?\.shared\s+\.align\s+(\d+)\s+\.b8\s+(\w+)\[(\d*)\]", outside)]
        for m in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)", text, re.S):
            name = m.group(1)
            params = re.findall(r"\.param\s+[^,]*?\b(\w+)\s*(?:,|$)", m.group(2).strip() + ",")
            # the body: from the first '{' after the parameter list to its matching '}'
            i = text.index("{", m.end())
            depth, j = 0, i
            while True:
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            # scope braces (inline-asm blocks) stand alone on their lines; operand braces do not.
            # A label defined inside such a block is local to it: renamed apart per block
            body = scope_labels(text[i + 1:j])
            body = re.sub(r"^\s*[{}]\s*$", ";", body, flags=re.M)
            self.kernels[name] = Kernel(name, params, body.split(";"), module_shared)

    def launch(self, name, grid, block, args, shared_bytes=0):
        k = self.kernels[name]
        # the block's shared memory: each symbol at its alignment, the dynamic one last
        syms, off = {}, 0
        for sym, align, size, dynamic in sorted(k.shared, key=lambda x: x[3]):
            off = (off + max(align, 16) - 1) // max(align, 16) * max(align, 16)
            syms[sym] = off
            off += shared_bytes if dynamic else size
        if len(args) != len(k.params):
            raise ValueError(f"{name} takes {len(k.params)} parameters, got {len(args)}")
        bufs = [a for a in args if isinstance(a, (bytearray, memoryview))]
        params, b = {}, 0
        for p, a in zip(k.params, args):
            if isinstance(a, (bytearray, memoryview)):
                params[p] = BASE * (b + 1)
                b += 1
            else:
                params[p] = a
        mem = Memory(bufs)
        for bz in range(grid[2]):
            for by in range(grid[1]):
                for bx in range(grid[0]):
                    threads = []
                    for tz in range(block[2]):
                        for ty in range(block[1]):
                            for tx in range(block[0]):
                                sreg = {"%tid.x": tx, "%tid.y": ty, "%tid.z": tz,
                                        "%ntid.x": block[0], "%ntid.y": block[1], "%ntid.z": block[2],
                                        "%ctaid.x": bx, "%ctaid.y": by, "%ctaid.z": bz,
                                        "%nctaid.x": grid[0], "%nctaid.y": grid[1], "%nctaid.z": grid[2]}
                                lin = (tz * block[1] + ty) * block[0] + tx
                                sreg["%laneid"], sreg["%warpid"] = lin % 32, lin // 32
                                threads.append(Thread(k, params, mem, sreg))
                    shared, mbar = bytearray(off), {}
                    for t in threads:
                        t.shared, t.syms, t.mbar = shared, syms, mbar
                    run_block(k, threads)


COLLECTIVE = {"mma", "shfl", "ldmatrix", "bar", "barrier", "wgmma"}


def run_block(k, threads):
    """Run a block's threads, each until it ends or reaches a collective instruction; a warp's
    `mma.sync` / `shfl.sync` runs once every live lane of the warp waits at it, a `bar.sync`
    once every live thread of the block does."""
    gens = {t: t.run() for t in threads}
    last_mbar = None  # the mbarriers' state when spinning threads last ran
    live, waiting, active = list(threads), {}, list(threads)
    while live:
        for t in active:
            try:
                waiting[t] = next(gens[t])
            except StopIteration:
                live.remove(t)
        active = []
        if not live:
            break
        warps, groups = {}, {}
        for t in live:
            warps.setdefault(t.sreg["%warpid"], []).append(t)
            groups.setdefault(t.sreg["%warpid"] // 4, []).append(t)
        for lanes in warps.values():
            at = [waiting.get(t) for t in lanes]
            if all(i is not None and i.op in ("mma", "shfl", "ldmatrix") for i in at) and len({id(i) for i in at}) == 1:
                warp_collective(at[0], lanes)
                for t in lanes:
                    del waiting[t]
                active += lanes
        for lanes in groups.values():
            at = [waiting.get(t) for t in lanes]
            if all(i is not None and i.op == "wgmma" for i in at) and len({id(i) for i in at}) == 1:
                wgmma(at[0], lanes)
                for t in lanes:
                    del waiting[t]
                active += lanes
        if active:
            continue
        # threads spinning on an mbarrier phase run again once another thread made progress
        spinning = [t for t in live if waiting.get(t) is not None and waiting[t].op == "mbarrier"]
        if spinning:
            state = tuple(sorted((k2, tuple(v)) for k2, v in threads[0].mbar.items()))
            if state != last_mbar:
                last_mbar = state
                for t in spinning:
                    del waiting[t]
                active = spinning
                continue
        if all(waiting.get(t) is not None and waiting[t].op in ("bar", "barrier") for t in live):
            ins = waiting[live[0]]
            if not (ins.op == "bar" and ins.mods[:1] in (["sync"], []) and ins.args in (["0"], [])):
                raise NotImplementedError(ins.text)
            for t in live:
                del waiting[t]
            active = list(live)
            continue
        raise RuntimeError(f"{k.name}: threads wait at different collective instructions: "
                           + "; ".join(sorted({w.text for w in waiting.values()}))[:300])


MMA_SHAPES = {  # (m, n, k, element bits): per-thread registers of A, B, C
    ("m16n8k32", 8): (4, 2, 4), ("m16n8k64", 4): (4, 2, 4),
    ("m8n8k16", 8): (1, 1, 2), ("m8n8k32", 4): (1, 1, 2),
}


def mma_coords(shape, bits, i, lane, what):
    """(row, col) of element i of lane's A / B / C fragment (PTX ISA, mma.sync .row.col)."""
    g, t = lane >> 2, lane % 4
    e = 32 // bits  # elements a register
    if shape in ("m16n8k32", "m16n8k64"):
        half = 4 * e  # K / 2
        if what == "a":
            row = g if (i // e) % 2 == 0 else g + 8
            col = t * e + (i % e) + (half if i >= 2 * e else 0)
            return row, col
        if what == "b":
            return t * e + (i % e) + (half if i >= e else 0), g
        return (g if i < 2 else g + 8), t * 2 + (i & 1)
    if what == "a":
        return g, t * e + i
    if what == "b":
        return t * e + i, g
    return g, t * 2 + i


def wgmma(ins, lanes):
    """wgmma.{fence,commit_group,wait_group} (nothing to order: every wgmma completes when
    issued) and wgmma.mma_async.sync.aligned.m64nNk32.s32.{u8,s8}.{u8,s8} d, a-desc, b-desc,
    scale-d: A (64 x 32 bytes) and B (N x 32 bytes, K-major) read from shared memory through
    their matrix descriptors (no-swizzle core-matrix layout), D = A B + (scale-d ? D : 0) in the
    accumulator layout (warp w rows 16w.., per lane as mma.sync m16n8 over the N / 8 blocks)."""
    m = ins.mods
    if m[0] in ("fence", "commit_group", "wait_group") and m[1:] == ["sync", "aligned"]:
        return
    if m[:3] != ["mma_async", "sync", "aligned"] or m[4] != "s32" or len(m) != 7 or len(lanes) != 128:
        raise NotImplementedError(ins.text + f" ({len(lanes)} threads)")
    shape, ta, tb = m[3], m[5], m[6]
    sm = re.match(r"^m64n(\d+)k32$", shape)
    if not sm or ta not in ("u8", "s8") or tb not in ("u8", "s8") or len(ins.args) != 4:
        raise NotImplementedError(ins.text)
    n = int(sm.group(1))
    t0 = lanes[0]
    da, db = t0.val(ins.args[1], 64), t0.val(ins.args[2], 64)
    scale = t0.r.get(ins.args[3]) if ins.args[3] in t0.r else int(ins.args[3], 0)
    for t in lanes:
        if (t.val(ins.args[1], 64), t.val(ins.args[2], 64)) != (da, db):
            raise NotImplementedError(ins.text + " (descriptors differ across the warpgroup)")

    def operand(desc, rows, signed_):
        start = (desc & 0x3FFF) << 4
        lbo, sbo = ((desc >> 16) & 0x3FFF) << 4, ((desc >> 32) & 0x3FFF) << 4
        if (desc >> 62) & 3 or (desc >> 49) & 7:
            raise NotImplementedError(ins.text + " (a swizzled or offset matrix descriptor)")
        out = []
        for r in range(rows):
            row = []
            for k in range(32):
                off = start + (r // 8) * sbo + (k // 16) * lbo + (r % 8) * 16 + (k % 16)
                if not 0 <= off < len(t0.shared):
                    raise IndexError(f"wgmma operand byte {off} beyond {len(t0.shared)} bytes of shared memory")
                v = t0.shared[off]
                row.append(v - 256 if signed_ and v > 127 else v)
            out.append(row)
        return out
    A = operand(da, 64, ta == "s8")
    B = operand(db, n, tb == "s8")
    regs = [r.strip() for r in ins.args[0].strip("{}").split(",")]
    if len(regs) != n // 2:
        raise NotImplementedError(ins.text)
    for t in lanes:
        lane, w = t.sreg["%laneid"], (t.sreg["%warpid"] % 4)
        g, q = lane >> 2, lane % 4
        for i, reg in enumerate(regs):
            row = 16 * w + g + 8 * ((i // 2) % 2)
            col = (i // 4) * 8 + 2 * q + (i % 2)
            acc = sum(A[row][k] * B[col][k] for k in range(32))
            if scale:
                acc += t.s(reg, "s32")
            t.set(reg, acc, 32)


def warp_collective(ins, lanes):
    if ins.op == "shfl":
        return shfl(ins, lanes)
    if ins.op == "ldmatrix":
        return ldmatrix(ins, lanes)
    m = ins.mods
    if m[:2] != ["sync", "aligned"] or m[3:5] != ["row", "col"] or m[5] != "s32" or m[8] != "s32" or len(m) != 9:
        raise NotImplementedError(ins.text)
    shape, ta, tb = m[2], m[6], m[7]
    bits = width(ta)
    if width(tb) != bits or (shape, bits) not in MMA_SHAPES or len(lanes) != 32:
        raise NotImplementedError(ins.text + f" ({len(lanes)} lanes)")
    na, nb, nc = MMA_SHAPES[shape, bits]
    e = 32 // bits
    regs = [[r.strip() for r in a.strip("{}").split(",")] for a in ins.args]
    mm, nn = (16, 8) if shape.startswith("m16") else (8, 8)
    kk = int(shape.split("k")[1])
    A = [[0] * kk for _ in range(mm)]
    B = [[0] * nn for _ in range(kk)]
    C = [[0] * nn for _ in range(mm)]
    for t in lanes:
        lane = t.sreg["%laneid"]
        for which, mat, ty, n in (("a", A, ta, na), ("b", B, tb, nb)):
            src = regs[1] if which == "a" else regs[2]
            for ri in range(n):
                word = t.val(src[ri], 32)
                for j in range(e):
                    v = (word >> (bits * j)) & ((1 << bits) - 1)
                    if ty[0] == "s":
                        v = signed(v, bits)
                    r, c = mma_coords(shape, bits, ri * e + j, lane, which)
                    mat[r][c] = v
        for i in range(nc):
            r, c = mma_coords(shape, bits, i, lane, "c")
            C[r][c] = t.s(regs[3][i], "s32")
    D = [[C[r][c] + sum(A[r][x] * B[x][c] for x in range(kk)) for c in range(nn)] for r in range(mm)]
    for t in lanes:
        lane = t.sreg["%laneid"]
        for i in range(nc):
            r, c = mma_coords(shape, bits, i, lane, "c")
            t.set(regs[0][i], D[r][c], 32)


def ldmatrix(ins, lanes):
    """ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans].shared.b16: lanes 8j..8j+7 give the row
    addresses of matrix j; lane l receives, of each matrix, row l / 4's 16-bit elements
    2 (l % 4) and 2 (l % 4) + 1 (with .trans, column l / 4's rows 2 (l % 4) and 2 (l % 4) + 1)."""
    m = ins.mods
    count = {"x1": 1, "x2": 2, "x4": 4}.get(next((v for v in m if v in ("x1", "x2", "x4")), ""), 0)
    trans = "trans" in m
    if m[:3] != ["sync", "aligned", "m8n8"] or not count or m[-2:] != ["shared", "b16"] or len(lanes) != 32:
        raise NotImplementedError(ins.text)
    by = {t.sreg["%laneid"]: t for t in lanes}
    regs = [r.strip() for r in ins.args[0].strip("{}").split(",")]
    rows = {}
    for j in range(count):
        for r in range(8):
            t = by[8 * j + r]
            addr = t.addr(ins.args[1])
            load = t.space(["shared"], addr)[0]
            rows[j, r] = [load(addr + 2 * e, 2) for e in range(8)]
    for lane, t in by.items():
        for j in range(count):
            if trans:
                lo, hi = rows[j, 2 * (lane % 4)][lane // 4], rows[j, 2 * (lane % 4) + 1][lane // 4]
            else:
                lo, hi = rows[j, lane // 4][2 * (lane % 4)], rows[j, lane // 4][2 * (lane % 4) + 1]
            t.set(regs[j], lo | (hi << 16), 32)


def shfl(ins, lanes):
    m = ins.mods
    if m[:1] != ["sync"] or m[-1] != "b32" or len(m) != 3 or m[1] not in ("bfly", "idx", "up", "down"):
        raise NotImplementedError(ins.text)
    mode = m[1]
    dst = ins.args[0].split("|")
    by = {t.sreg["%laneid"]: t for t in lanes}
    vals = {l: by[l].val(ins.args[1], 32) for l in by}
    out = {}
    for lane, t in by.items():
        if t.val(ins.args[4], 32) & MASK[32] != MASK[32] or len(by) != 32:
            raise NotImplementedError(ins.text + " (a partial warp)")
        b, c = t.val(ins.args[2], 32) & 31, t.val(ins.args[3], 32)
        clamp, seg = c & 31, (c >> 8) & 31
        lo = lane & seg
        hi = lo | (clamp & ~seg & 31)
        j = {"bfly": lane ^ b, "idx": lo | (b & ~seg & 31), "up": lane - b, "down": lane + b}[mode]
        ok = (j >= lo) if mode == "up" else (j <= hi)
        out[lane] = (vals[j] if ok else vals[lane], ok)
    for lane, t in by.items():
        t.set(dst[0], out[lane][0], 32)
        if len(dst) > 1:
            t.set(dst[1], out[lane][1], 1)


class Memory:
    def __init__(self, bufs):
        self.bufs = bufs

    def at(self, addr, n):
        i, off = addr // BASE - 1, addr % BASE
        if not (0 <= i < len(self.bufs)) or off + n > len(self.bufs[i]):
            raise IndexError(f"access of {n} bytes at buffer {i} offset {off} is out of bounds")
        if off % n:
            raise IndexError(f"misaligned access of {n} bytes at buffer {i} offset {off}")
        return self.bufs[i], off

    def load(self, addr, n):
        b, off = self.at(addr, n)
        return int.from_bytes(b[off:off + n], "little")

    def store(self, addr, n, v):
        b, off = self.at(addr, n)
        b[off:off + n] = (v & MASK[8 * n]).to_bytes(n, "little")


CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
       "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
       "lo": lambda a, b: a < b, "ls": lambda a, b: a <= b, "hi": lambda a, b: a > b,
       "hs": lambda a, b: a >= b}
REFUSED = {"atom", "red", "vote", "membar", "tex", "suld", "sust", "stmatrix", "elect"}


class Thread:
    def __init__(self, k, params, mem, sreg):
        self.k, self.params, self.mem, self.sreg = k, params, mem, sreg
        self.r = {}
        self.shared, self.syms, self.mbar = bytearray(), {}, {}

    # operands ---------------------------------------------------------------------------------
    def val(self, a, w):
        """Operand `a` as raw bits of width w."""
        if a in self.r:
            return self.r[a] & MASK[w] if w > 1 else self.r[a]
        if a in self.sreg:
            return self.sreg[a]
        if a in self.syms:
            return SHARED + self.syms[a]
        if a.startswith("%"):
            raise KeyError(f"read of unset register {a}")
        if a.startswith(("0f", "0F")):
            return int(a[2:], 16)
        if a.startswith(("0d", "0D")):
            raise NotImplementedError("f64 immediates")
        v = int(a.rstrip("Uu"), 0)
        return v & MASK[w] if w > 1 else v

    def s(self, a, t):
        w = width(t)
        v = self.val(a, w)
        return signed(v, w) if t[0] == "s" else v

    def set(self, d, v, w):
        self.r[d] = v & MASK[w] if w > 1 else int(bool(v))

    def reg_width(self, d):
        m = re.match(r"^(%?[a-zA-Z_]+)\d*$", d)
        if not m or m.group(1) not in self.k.widths:
            raise NotImplementedError(f"register {d} of no declared width")
        return self.k.widths[m.group(1)]

    def addr(self, a):
        m = re.match(r"^\[\s*([%\w$.]+)\s*(?:\+\s*(-?\w+))?\s*\]$", a)
        if not m:
            raise NotImplementedError(f"address {a}")
        base = m.group(1)
        b = self.params[base] if base in self.params else (
            SHARED + self.syms[base] if base in self.syms else self.val(base, 64))
        return (b + (int(m.group(2), 0) if m.group(2) else 0)) & MASK[64]

    # execution --------------------------------------------------------------------------------
    def run(self):
        """A generator: runs the thread, yielding each collective instruction it reaches (the
        block driver runs it for the warp or block, then resumes the thread)."""
        pc, n, steps = 0, len(self.k.instrs), 0
        while pc < n:
            steps += 1
            if steps > 10_000_000:
                raise RuntimeError(f"{self.k.name}: no end after {steps} instructions")
            ins = self.k.instrs[pc]
            pc += 1
            if ins.pred is not None and bool(self.r.get(ins.pred)) == ins.neg:
                continue
            if ins.op in ("ret", "exit"):
                return
            if ins.op == "bra":
                pc = self.k.labels[ins.args[0]]
                continue
            if ins.op in COLLECTIVE:
                yield ins
                continue
            if ins.op == "mbarrier" and "try_wait" in ins.mods:
                while not self.try_wait(ins):
                    yield ins  # other threads run; the phase may complete meanwhile
                continue
            try:
                self.step(ins)
            except IndexError as e:
                raise IndexError(f"{e} ({self.k.name}, instruction {pc - 1}: {ins.text.strip()}; "
                                 f"block {self.sreg['%ctaid.x']}, thread {self.sreg['%tid.x']})") from None

    def step(self, ins):
        op, m, a = ins.op, ins.mods, ins.args
        if op in REFUSED:
            raise NotImplementedError(f"{ins.text}: not a CUDA-core instruction this interpreter runs")
        t = m[-1] if m else None
        if op in ("griddepcontrol", "setmaxnreg"):
            return  # launch order and register budgets change no value
        if op == "cp":
            if m[:2] == ["async", "bulk"]:
                return self.cp_bulk(ins, m, a)
            return self.cp_async(ins, m, a)
        if op == "fence" and (m[:1] in (["proxy"], ["mbarrier_init"]) or m == ["acq_rel", "cta"]):
            return  # every access is done when issued: nothing to order
        if op == "mbarrier":
            return self.mbarrier(ins, m, a)
        if op == "ld":
            return self.ld(ins, m, a)
        if op == "st":
            return self.st(ins, m, a)
        if op == "cvta":
            w = width(t)
            v = self.val(a[1], w)
            if m[:2] == ["to", "global"] or m[:1] == ["global"]:
                return self.set(a[0], v, w)
            if m[:1] == ["shared"]:
                return self.set(a[0], GENERIC_SHARED + v - SHARED, w)
            if m[:2] == ["to", "shared"]:
                return self.set(a[0], SHARED + v - GENERIC_SHARED, w)
            raise NotImplementedError(ins.text)
        if op == "mov":
            w = width(t)
            if a[1].startswith("{") or a[0].startswith("{"):
                return self.mov_vec(a, w)
            return self.set(a[0], self.val(a[1], w), w)
        if op == "setp":
            if len(m) != 2 or len(a) != 3 or "|" in a[0]:
                raise NotImplementedError(ins.text)
            cmp, ty = m
            if ty == "f32":
                x, y = f32(self.val(a[1], 32)), f32(self.val(a[2], 32))
                nan = x != x or y != y
                if cmp in ("equ", "neu", "ltu", "leu", "gtu", "geu"):
                    r = nan or CMP[cmp[:2]](x, y)
                elif cmp == "num":
                    r = not nan
                elif cmp == "nan":
                    r = nan
                elif cmp in ("eq", "ne", "lt", "le", "gt", "ge"):
                    r = (not nan) and CMP[cmp](x, y)
                else:
                    raise NotImplementedError(ins.text)
            else:
                r = CMP[cmp](self.s(a[1], ty), self.s(a[2], ty))
            return self.set(a[0], r, 1)
        if op == "selp":
            w = width(t)
            return self.set(a[0], self.val(a[1], w) if self.r.get(a[3]) else self.val(a[2], w), w)
        if t == "pred" and op in ("and", "or", "xor", "not"):
            x = [bool(self.r.get(v)) if v in self.r else bool(int(v, 0)) for v in a[1:]]
            r = {"and": lambda: x[0] and x[1], "or": lambda: x[0] or x[1],
                 "xor": lambda: x[0] != x[1], "not": lambda: not x[0]}[op]()
            return self.set(a[0], r, 1)
        if op == "cvt":
            return self.cvt(ins, m, a)
        if t == "f32":
            return self.float_op(ins, op, m, a)
        return self.int_op(ins, op, m, a, t)

    def int_op(self, ins, op, m, a, t):
        if t in ("s16x2", "u16x2"):
            if op not in ("min", "max", "add", "sub") or len(m) != 1:
                raise NotImplementedError(ins.text)
            x, y = self.val(a[1], 32), self.val(a[2], 32)
            r = 0
            for lane in (0, 1):
                u, v = (x >> (16 * lane)) & 0xFFFF, (y >> (16 * lane)) & 0xFFFF
                if t[0] == "s":
                    u, v = signed(u, 16), signed(v, 16)
                z = {"min": min, "max": max}[op](u, v) if op in ("min", "max") else (
                    u + v if op == "add" else u - v)
                r |= (z & 0xFFFF) << (16 * lane)
            return self.set(a[0], r, 32)
        w = width(t)
        s = t[0] == "s"
        x = [self.s(v, t) for v in a[1:]]
        if op in ("add", "sub") and len(m) == 1:
            r = x[0] + x[1] if op == "add" else x[0] - x[1]
        elif op == "mul" and m[0] in ("lo", "hi", "wide"):
            p = x[0] * x[1]
            if m[0] == "lo":
                r = p
            elif m[0] == "hi":
                r = p >> w
            else:
                return self.set(a[0], p, 2 * w)
        elif op == "mad" and m[0] in ("lo", "hi", "wide"):
            p = x[0] * x[1]
            if m[0] == "lo":
                r = p + x[2]
            elif m[0] == "hi":
                r = (p >> w) + x[2]
            else:
                return self.set(a[0], p + self.s(a[3], ("s" if s else "u") + str(2 * w)), 2 * w)
        elif op in ("div", "rem") and len(m) == 1:
            if x[1] == 0:
                r = MASK[w] if op == "div" else x[0]
            else:
                q = abs(x[0]) // abs(x[1])
                q = -q if (x[0] < 0) != (x[1] < 0) else q
                r = q if op == "div" else x[0] - q * x[1]
        elif op in ("min", "max") and len(m) == 1:
            r = min(x) if op == "min" else max(x)
        elif op in ("and", "or", "xor") and len(m) == 1:
            u = [self.val(v, w) for v in a[1:]]
            r = u[0] & u[1] if op == "and" else u[0] | u[1] if op == "or" else u[0] ^ u[1]
        elif op == "not" and len(m) == 1:
            r = ~self.val(a[1], w)
        elif op == "neg" and len(m) == 1:
            r = -x[0]
        elif op == "abs" and len(m) == 1:
            r = abs(x[0])
        elif op == "shl" and len(m) == 1:
            n = self.val(a[2], 32)
            r = 0 if n >= w else self.val(a[1], w) << n
        elif op == "shr" and len(m) == 1:
            n = min(self.val(a[2], 32), w)
            r = (x[0] >> n) if s else (self.val(a[1], w) >> n)
        elif op == "shf" and t == "b32" and m[0] in ("l", "r") and m[1] in ("wrap", "clamp"):
            lo, hi = self.val(a[1], 32), self.val(a[2], 32)
            n = self.val(a[3], 32)
            n = n & 31 if m[1] == "wrap" else min(n, 32)
            v = (hi << 32) | lo
            r = ((v << n) >> 32) if m[0] == "l" else (v >> n)
            w = 32
        elif op == "bfe" and len(m) == 1:
            v, pos, ln = self.val(a[1], w), self.val(a[2], 32) & 0xFF, self.val(a[3], 32) & 0xFF
            if ln == 0:
                r = 0
            else:
                field = (v >> pos) & ((1 << ln) - 1) if pos < w else 0
                sb = (v >> min(pos + ln - 1, w - 1)) & 1 if s else 0
                r = field | ((~0 << ln) if sb and ln < w else 0)
        elif op == "prmt" and m == ["b32"]:
            bs = self.val(a[1], 32) | (self.val(a[2], 32) << 32)
            c = self.val(a[3], 32)
            r = 0
            for i in range(4):
                sel = (c >> (4 * i)) & 0xF
                byte = (bs >> (8 * (sel & 7))) & 0xFF
                if sel & 8:
                    byte = 0xFF if byte & 0x80 else 0
                r |= byte << (8 * i)
        else:
            raise NotImplementedError(ins.text)
        self.set(a[0], r, w)

    def float_op(self, ins, op, m, a):
        x = [f32(self.val(v, 32)) for v in a[1:]]
        rnd = [v for v in m if v in ("rn", "rz", "rm", "rp")]
        if rnd not in ([], ["rn"]) or any(v in ("ftz", "sat", "approx", "full") for v in m):
            raise NotImplementedError(ins.text)
        if any(v != v or v in (math.inf, -math.inf) for v in x):
            raise NotImplementedError(ins.text + " (NaN or infinite operand)")
        # f32 operands are exact in f64 and in Fraction; +, -, *, / of two of them computed in
        # f64 and rounded to f32 are correctly rounded, an fma is rounded once from its exact value
        if op == "add":
            r = round_f32(x[0] + x[1])
        elif op == "sub":
            r = round_f32(x[0] - x[1])
        elif op == "mul":
            r = round_f32(x[0] * x[1])
        elif op == "div":
            if x[1] == 0:
                raise NotImplementedError(ins.text + " (division by zero)")
            r = round_f32(x[0] / x[1])
        elif op == "fma":
            r = round_f32(Fraction(x[0]) * Fraction(x[1]) + Fraction(x[2]))
        elif op in ("min", "max"):
            r = min(x) if op == "min" else max(x)
        elif op == "neg":
            r = -x[0]
        elif op == "abs":
            r = abs(x[0])
        else:
            raise NotImplementedError(ins.text)
        self.set(a[0], f32_bits(r), 32)

    def cvt(self, ins, m, a):
        mods = [v for v in m if v not in ("rni", "rzi", "rmi", "rpi", "rn", "rz", "sat", "ftz")]
        rnd = [v for v in m if v in ("rni", "rzi", "rmi", "rpi", "rn", "rz")]
        sat = "sat" in m
        if mods[0] == "pack":
            return self.cvt_pack(ins, m, a)
        dt, st = mods[0], mods[1]
        if st == "f32" or dt == "f32":
            return self.cvt_float(ins, dt, st, rnd, sat, a)
        v = self.s(a[1], st)
        dw = width(dt)
        if sat:
            lo, hi = (-(1 << (dw - 1)), (1 << (dw - 1)) - 1) if dt[0] == "s" else (0, MASK[dw])
            v = max(lo, min(hi, v))
        self.set(a[0], v, dw)

    def cvt_float(self, ins, dt, st, rnd, sat, a):
        if dt == "f32" and st == "f32":
            x = f32(self.val(a[1], 32))
            if rnd == ["rni"]:
                r = float(round(x)) if x == x and abs(x) != math.inf else x  # ties to even
            elif rnd == ["rzi"]:
                r = float(math.trunc(x)) if x == x and abs(x) != math.inf else x
            else:
                raise NotImplementedError(ins.text)
            return self.set(a[0], f32_bits(r), 32)
        if dt == "f32":
            if rnd not in ([], ["rn"]):
                raise NotImplementedError(ins.text)
            return self.set(a[0], f32_bits(round_f32(self.s(a[1], st))), 32)
        x = f32(self.val(a[1], 32))
        dw = width(dt)
        lo, hi = (-(1 << (dw - 1)), (1 << (dw - 1)) - 1) if dt[0] == "s" else (0, MASK[dw])
        if x != x:
            v = 0
        elif rnd == ["rni"]:
            v = round(x) if abs(x) != math.inf else (hi if x > 0 else lo)
        elif rnd == ["rzi"]:
            v = math.trunc(x) if abs(x) != math.inf else (hi if x > 0 else lo)
        else:
            raise NotImplementedError(ins.text)
        self.set(a[0], max(lo, min(hi, v)), dw)

    def cvt_pack(self, ins, m, a):
        # cvt.pack.sat.{u4,s4,u8,s8,s16,u16}.s32.b32 d, a, b, c: a and b saturated to the type,
        # b in the low bits, a above it, the result ORed over c shifted left by 2 fields
        mods = [v for v in m if v not in ("pack", "sat")]
        dt = mods[0]
        if "sat" not in m or mods[1] != "s32":
            raise NotImplementedError(ins.text)
        fw = width(dt)
        lo, hi = (-(1 << (fw - 1)), (1 << (fw - 1)) - 1) if dt[0] == "s" else (0, (1 << fw) - 1)
        va = max(lo, min(hi, self.s(a[1], "s32"))) & ((1 << fw) - 1)
        vb = max(lo, min(hi, self.s(a[2], "s32"))) & ((1 << fw) - 1)
        c = self.val(a[3], 32) if len(a) > 3 else 0
        self.set(a[0], (c << (2 * fw)) | (va << fw) | vb, 32)

    def ld(self, ins, m, a):
        space = [v for v in m if v in ("global", "param", "shared", "local", "const")]
        if space == ["param"]:
            name = a[1].strip("[]")
            return self.set(a[0], self.params[name], 64)
        if space not in (["global"], ["shared"], []):
            raise NotImplementedError(ins.text)
        vec = [v for v in m if v in ("v2", "v4")]
        t = m[-1]
        w = width(t)
        n = w // 8
        addr = self.addr(a[1])
        load = self.space(space, addr)[0]
        if vec:
            regs = [r.strip() for r in a[0].strip("{}").split(",")]
            for i, r in enumerate(regs):
                v = load(addr + i * n, n)
                if r != "_":
                    self.set(r, signed(v, w) if t[0] == "s" else v, self.reg_width(r))
            return
        v = load(addr, n)
        if t[0] == "s":
            v = signed(v, w)
        self.set(a[0], v, self.reg_width(a[0]))

    def cp_async(self, ins, m, a):
        """cp.async.{ca,cg}.shared.global [dst], [src], n[, src-size]: copied at once (a
        kernel reads it only after cp.async.wait_group and a barrier); the bytes past src-size
        are zeros. commit_group / wait_group order nothing more then."""
        if m[:1] == ["async"] and m[1:] in (["commit_group"], ["wait_group"], ["wait_all"]):
            return
        if m[:3] == ["async", "mbarrier", "arrive"] and m[-1] == "b64" and len(a) == 1:
            # the arrive-on an mbarrier when this thread's cp.async copies complete (they
            # completed when issued); .noinc: it counts against the expected arrivals
            st = self.bar_at(a[0])
            if "noinc" not in m:
                raise NotImplementedError(ins.text)
            st[1] -= 1
            self.complete(st)
            return
        mods = [v for v in m if not v.startswith("L2::")]
        if mods[:1] != ["async"] or mods[1] not in ("ca", "cg") or mods[2:] != ["shared", "global"]:
            raise NotImplementedError(ins.text)
        dst, src = self.addr(a[0]), self.addr(a[1])
        n = int(a[2], 0)
        size = self.val(a[3], 32) if len(a) > 3 else n
        store = self.space(["shared"], dst)[1]
        for i in range(0, n, 4):
            word = 0
            for b in range(4):
                if i + b < size:
                    word |= self.mem.load(src + i + b, 1) << (8 * b)
            store(dst + i, 4, word)

    # mbarriers: {shared offset: [phase, pending arrivals, count, pending tx bytes]}
    def bar_at(self, a):
        off = self.addr(a) - SHARED
        if off not in self.mbar:
            raise RuntimeError(f"mbarrier at shared offset {off} used before mbarrier.init")
        return self.mbar[off]

    def complete(self, st):
        if st[1] == 0 and st[3] == 0:
            st[0] += 1
            st[1] = st[2]

    def mbarrier(self, ins, m, a):
        if m[0] == "init" and m[-1] == "b64":
            off = self.addr(a[0]) - SHARED
            cnt = self.val(a[1], 32)
            self.mbar[off] = [0, cnt, cnt, 0]
            return
        if m[0] == "arrive" and m[-1] == "b64":
            st = self.bar_at(a[1])
            if "expect_tx" in m:
                st[3] += self.val(a[2], 32)
            elif len(a) != 2:
                raise NotImplementedError(ins.text)
            st[1] -= 1
            self.complete(st)
            if a[0] != "_":
                self.set(a[0], st[0], 64)
            return
        raise NotImplementedError(ins.text)

    def try_wait(self, ins):
        m, a = ins.mods, ins.args
        if m[:2] != ["try_wait", "parity"] or m[-1] != "b64" or len(a) != 3:
            raise NotImplementedError(ins.text)
        st = self.bar_at(a[1])
        done = st[0] % 2 != self.val(a[2], 32) % 2
        self.set(a[0], done, 1)
        return done

    def cp_bulk(self, ins, m, a):
        """cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [dst], [src], size,
        [mbar]: copied at once, then its bytes complete on the mbarrier."""
        if m[2:] != ["shared::cluster", "global", "mbarrier::complete_tx::bytes"] or len(a) != 4:
            raise NotImplementedError(ins.text)
        dst, src, n = self.addr(a[0]), self.addr(a[1]), self.val(a[2], 32)
        store = self.space(["shared"], dst)[1]
        if n % 16 or dst % 16 or src % 16:
            raise IndexError(f"bulk copy of {n} bytes from {src:#x} to {dst:#x}: not 16-byte aligned")
        for i in range(0, n, 4):
            store(dst + i, 4, self.mem.load(src + i, 4))
        st = self.bar_at(a[3])
        st[3] -= n
        self.complete(st)

    def space(self, space, addr):
        """(load, store) of the state space an access names, or of a generic address."""
        if space == ["shared"] or (not space and GENERIC_SHARED <= addr < GENERIC_SHARED + (1 << 32)):
            base = SHARED if space else GENERIC_SHARED

            def at(x, n):
                off = x - base
                if not 0 <= off <= len(self.shared) - n:
                    raise IndexError(f"shared access of {n} bytes at {off} beyond {len(self.shared)} bytes")
                if off % n:
                    raise IndexError(f"misaligned shared access of {n} bytes at {off}")
                return off

            def load(x, n):
                off = at(x, n)
                return int.from_bytes(self.shared[off:off + n], "little")

            def store(x, n, v):
                off = at(x, n)
                self.shared[off:off + n] = (v & MASK[8 * n]).to_bytes(n, "little")
            return load, store
        return self.mem.load, self.mem.store

    def st(self, ins, m, a):
        space = [v for v in m if v in ("global", "param", "shared", "local", "const")]
        if space not in (["global"], ["shared"], []):
            raise NotImplementedError(ins.text)
        vec = [v for v in m if v in ("v2", "v4")]
        t = m[-1]
        n = width(t) // 8
        addr = self.addr(a[0])
        store = self.space(space, addr)[1]
        if vec:
            regs = [r.strip() for r in a[1].strip("{}").split(",")]
            for i, r in enumerate(regs):
                store(addr + i * n, n, self.val(r, 8 * n))
            return
        store(addr, n, self.val(a[1], 8 * n))

    def mov_vec(self, a, w):
        # mov.b64 {lo, hi}, d  /  mov.b64 d, {lo, hi} (halves of w / 2 bits each)
        h = w // 2
        if a[0].startswith("{"):
            regs = [r.strip() for r in a[0].strip("{}").split(",")]
            v = self.val(a[1], w)
            for i, r in enumerate(regs):
                if r != "_":
                    self.set(r, v >> (i * h), h)
        else:
            regs = [r.strip() for r in a[1].strip("{}").split(",")]
            v = 0
            for i, r in enumerate(regs):
                v |= self.val(r, h) << (i * h)
            self.set(a[0], v, w)
