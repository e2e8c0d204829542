//! Reading PyTorch checkpoints (`torch.save` files) without Python and without running code.
//!
//! Two container formats:
//! - the zip format (`torch.save` since 1.6): `<name>/data.pkl` (the pickled object) and
//!   `<name>/data/<key>` (one raw little-endian storage per key), entries stored uncompressed;
//! - the legacy format (`_use_new_zipfile_serialization=False`): a magic-number pickle, a
//!   protocol-version pickle, a sys-info pickle, the object pickle, a pickle listing the storage
//!   keys, then per key an 8-byte element count and the raw storage bytes.
//!
//! The pickle is evaluated by a restricted interpreter ([`Unpickler`]): it knows the opcodes
//! `torch.save` emits and builds plain values (dicts, lists, tuples, numbers, strings) and
//! tensors. A class or function reference (`GLOBAL` / `STACK_GLOBAL`) on a short allowlist
//! (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and friends, the
//! `torch.*Storage` types, `torch` dtypes) is evaluated symbolically by `REDUCE` / `BUILD`. One
//! that could run code or reach the system (`os`, `subprocess`, `builtins.eval`, torch's own
//! loaders, ...) is refused with "refusing to load <module>.<name>: not a tensor checkpoint";
//! any other (an argparse Namespace, a numpy scalar, a set among a checkpoint's extras) becomes
//! an inert placeholder ([`Value::Opaque`]) that calling, instantiating or filling leaves as it
//! is, so the import fails only where it needs such a value. Nothing is ever imported or
//! executed.

use std::collections::BTreeMap;

/// Element type of a storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    /// From a `torch.<X>Storage` class name.
    fn from_storage_name(name: &str) -> Option<Self> {
        Some(match name {
            "DoubleStorage" => Self::F64,
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::F64 => "float64",
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
            Self::I64 => "int64",
            Self::I32 => "int32",
            Self::I16 => "int16",
            Self::I8 => "int8",
            Self::U8 => "uint8",
            Self::Bool => "bool",
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, Self::F64 | Self::F32 | Self::F16 | Self::BF16)
    }
}

/// torch dtype names a pickle may reference as `torch.<name>`.
const TORCH_DTYPES: &[&str] = &[
    "float64", "double", "float32", "float", "float16", "half", "bfloat16", "int64", "long",
    "int32", "int", "int16", "short", "int8", "uint8", "bool",
];

/// A tensor read from a checkpoint: shape and values in logical (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    pub dtype: DType,
    pub shape: Vec<i64>,
    /// The values, converted to f64 (exact for every dtype but int64 beyond 2^53).
    pub values: Vec<f64>,
}

impl TensorData {
    pub fn numel(&self) -> usize {
        self.values.len()
    }
}

/// A value of the unpickled object, with tensors resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Dicts keep insertion order (as `OrderedDict` does).
    Dict(Vec<(Value, Value)>),
    Tensor(TensorData),
    /// An integer wider than 64 bits (LONG1 bytes, little-endian two's complement).
    BigInt(Vec<u8>),
    /// A reference to an allowlisted global (a dtype, a storage class) left as a value.
    Global(String, String),
    /// An object of a class off the allowlist (named), never built: the importer fails only
    /// if it needs it.
    Opaque(String),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Tensor(_) => "tensor",
            Value::Global(..) => "global",
            Value::BigInt(_) => "int",
            Value::Opaque(_) => "object the reader does not build",
        }
    }
    /// The entry of a dict with a string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zip (stored entries only, as torch.save writes them)
// ---------------------------------------------------------------------------------------------

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
}

/// The entries of a zip archive (name -> data) and the name of its first entry, read with the
/// `zip` crate: stored (uncompressed) entries only, ZIP64 included, each entry's CRC-32 checked
/// as it is read. Every size comes from the archive's own records and is checked against the
/// file's length before anything is allocated; the entries together are no larger than the
/// file (stored entries never share bytes), and no name repeats.
pub fn read_zip(b: &[u8]) -> Result<(BTreeMap<String, Vec<u8>>, String), String> {
    let bad = |what: String| format!("corrupt zip archive: {what}");
    // the archive starts at byte 0 (torch.save prepends nothing); detecting an offset misreads
    // archives whose first central-directory record is as long as torch's ZIP64 end records
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Known(0),
    };
    let mut z = zip::ZipArchive::with_config(config, std::io::Cursor::new(b))
        .map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    let mut first = String::new();
    let mut total = 0u64;
    let mut spans: BTreeMap<u64, u64> = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = f.name().map_err(|e| bad(e.to_string()))?.into_owned();
        if f.compression() != zip::CompressionMethod::Stored {
            return Err(format!(
                "zip entry '{name}' is compressed ({}); torch.save writes stored entries, \
                 recompress the archive without compression",
                f.compression()
            ));
        }
        if f.size() != f.compressed_size() {
            return Err(bad(format!("stored entry '{name}' changes size")));
        }
        total = total.saturating_add(f.size());
        if f.size() > b.len() as u64 || total > b.len() as u64 {
            return Err(bad(format!(
                "entry '{}' runs past the end of the file, or the entries share bytes",
                short(&name)
            )));
        }
        if out.contains_key(&name) {
            return Err(bad(format!("entry '{}' appears twice", short(&name))));
        }
        // [local header, end of data): stored entries never share bytes
        let start = f.header_start();
        let end = f
            .data_start()
            .unwrap_or(start)
            .saturating_add(f.size())
            .max(start + 1);
        let before = spans.range(..=start).next_back().map(|(_, &e)| e > start);
        let after = spans.range(start..).next().map(|(&s, _)| s < end);
        if before == Some(true) || after == Some(true) {
            return Err(bad(format!(
                "entry '{}' shares bytes with another entry",
                short(&name)
            )));
        }
        spans.insert(start, end);
        if i == 0 {
            first = name.clone();
        }
        let mut data = Vec::with_capacity(f.size() as usize);
        std::io::Read::read_to_end(&mut f, &mut data)
            .map_err(|e| bad(format!("entry '{name}': {e}")))?;
        if data.len() as u64 != f.size() {
            return Err(bad(format!("entry '{name}' runs past the end of the file")));
        }
        out.insert(name, data);
    }
    Ok((out, first))
}

/// At most 80 characters of a name from the file, for a message.
fn short(s: &str) -> String {
    if s.chars().count() <= 80 {
        return s.to_string();
    }
    format!("{}...", s.chars().take(80).collect::<String>())
}

// ---------------------------------------------------------------------------------------------
// Restricted unpickler
// ---------------------------------------------------------------------------------------------

/// A storage referenced by a persistent id: its dtype, key and element count.
#[derive(Clone, Debug, PartialEq)]
struct StorageRef {
    dtype: DType,
    key: String,
    numel: u64,
}

/// A rebuilt tensor before its storage bytes are read.
#[derive(Clone, Debug, PartialEq)]
struct TensorRef {
    storage: StorageRef,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

/// Objects live in an arena so that memoized containers can be mutated in place
/// (`EMPTY_DICT`, `BINPUT`, ..., `SETITEMS` fills the memoized dict).
#[derive(Clone, Debug)]
enum Obj {
    None,
    Bool(bool),
    Int(i64),
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<usize>),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Global(String, String),
    Storage(StorageRef),
    Tensor(TensorRef),
    /// A class or function off the allowlist, or what calling, instantiating or filling one
    /// would give: never called, an inert placeholder named after it (an argparse Namespace,
    /// a numpy scalar or a set among a checkpoint's extras).
    Opaque(String),
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Mark,
    Obj(usize),
}

/// The restricted pickle interpreter.
pub struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    objs: Vec<Obj>,
    stack: Vec<Slot>,
    memo: BTreeMap<u64, usize>,
    /// Values and tensor elements built so far by [`Unpickler::value`]: memo references share
    /// one arena object, and expanding them into a tree can grow exponentially.
    built: std::cell::Cell<u64>,
    elements: std::cell::Cell<u64>,
    /// Most tensor elements the values may hold: [`MAX_ELEMENTS`], or fewer for a small file
    /// (views repeat storage elements; they may not blow a small file up into gigabytes).
    element_budget: u64,
}

/// Most values (containers and scalars) a checkpoint may expand to: a state dict with its
/// optimizer state has thousands; a 300-byte pickle of nested memo references would expand to
/// 2^40.
const MAX_BUILT: u64 = 1_000_000;
/// Most tensor elements in all (read as f64: 2 GiB); a ResNet-50 checkpoint with optimizer
/// state holds about 10^8.
const MAX_ELEMENTS: u64 = 1 << 28;

/// Globals whose presence marks a pickle that tries to run code or reach the system (they
/// are never called either way).
fn dangerous(module: &str, name: &str) -> bool {
    let root = module.split('.').next().unwrap_or(module);
    match root {
        "builtins" | "__builtin__" => !matches!(
            name,
            "set"
                | "frozenset"
                | "dict"
                | "list"
                | "tuple"
                | "int"
                | "float"
                | "str"
                | "bool"
                | "bytes"
                | "bytearray"
                | "complex"
                | "slice"
                | "range"
                | "object"
        ),
        // a numpy scalar or array among the extras (best_acc1 = np.float64(...))
        "numpy" => !matches!(name, "scalar" | "dtype" | "_reconstruct" | "ndarray"),
        // torch's own loaders and everything else of torch off the allowlist
        "torch" | "_codecs" => true,
        _ => {
            matches!(
                root,
                "os" | "posix"
                    | "nt"
                    | "subprocess"
                    | "sys"
                    | "shutil"
                    | "importlib"
                    | "pickle"
                    | "_pickle"
                    | "runpy"
                    | "socket"
                    | "ctypes"
                    | "code"
                    | "pty"
                    | "multiprocessing"
                    | "io"
                    | "pathlib"
                    | "webbrowser"
                    | "operator"
                    | "functools"
                    | "types"
                    | "marshal"
                    | "codecs"
                    | "copyreg"
                    | "copy_reg"
            ) && !matches!((root, name), ("copyreg" | "copy_reg", "_reconstructor"))
        }
    }
}

/// The message for a global that is not on the allowlist.
pub fn refusal(module: &str, name: &str) -> String {
    format!("refusing to load {module}.{name}: not a tensor checkpoint")
}

fn allowed(module: &str, name: &str) -> bool {
    match module {
        "collections" => name == "OrderedDict",
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor_v2" | "_rebuild_tensor" | "_rebuild_parameter"
        ),
        "torch" => DType::from_storage_name(name).is_some() || TORCH_DTYPES.contains(&name),
        // protocol 2 pickles `bytes` as `_codecs.encode(str, "latin1")`
        "_codecs" => name == "encode",
        _ => false,
    }
}

/// Most objects and stack slots a pickle may create: a checkpoint's pickle with optimizer
/// state builds tens of thousands (each object takes about 100 bytes here: a flood of one-byte
/// opcodes must not turn a 30 MB file into gigabytes).
const MAX_OBJS: usize = 4_000_000;

impl<'a> Unpickler<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            objs: vec![],
            stack: vec![],
            memo: BTreeMap::new(),
            built: std::cell::Cell::new(0),
            elements: std::cell::Cell::new(0),
            element_budget: MAX_ELEMENTS,
        }
    }

    /// Limit the tensor elements to about what a file of `file_bytes` holds (each element
    /// takes a byte at least, views of up to 2^20 repeated elements aside).
    fn budget_for(mut self, file_bytes: usize) -> Self {
        self.element_budget = MAX_ELEMENTS.min(file_bytes as u64 + (1 << 20));
        self
    }

    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("pickle: {what} (at byte {})", self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .data
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| self.err("truncated"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let s = self.take(n)?;
        let mut v = 0u64;
        for (i, &b) in s.iter().enumerate() {
            v |= (b as u64) << (8 * i);
        }
        Ok(v)
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("unterminated line"))?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }
    fn string(&mut self, n: usize) -> Result<String, String> {
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| self.err("invalid UTF-8 string"))
    }

    fn alloc(&mut self, o: Obj) -> Result<usize, String> {
        if self.objs.len() >= MAX_OBJS {
            return Err(self.err("too many objects"));
        }
        self.objs.push(o);
        Ok(self.objs.len() - 1)
    }
    fn push(&mut self, o: Obj) -> Result<(), String> {
        let id = self.alloc(o)?;
        self.push_slot(Slot::Obj(id))
    }
    fn push_slot(&mut self, s: Slot) -> Result<(), String> {
        if self.stack.len() >= MAX_OBJS {
            return Err(self.err("the stack grows too deep"));
        }
        self.stack.push(s);
        Ok(())
    }
    fn pop(&mut self) -> Result<usize, String> {
        match self.stack.pop() {
            Some(Slot::Obj(id)) => Ok(id),
            Some(Slot::Mark) => Err(self.err("unexpected MARK on the stack")),
            None => Err(self.err("stack underflow")),
        }
    }
    fn top(&self) -> Result<usize, String> {
        match self.stack.last() {
            Some(Slot::Obj(id)) => Ok(*id),
            _ => Err(self.err("no object on the stack")),
        }
    }
    /// Pop everything down to the topmost MARK.
    fn pop_mark(&mut self) -> Result<Vec<usize>, String> {
        let at = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.err("no MARK on the stack"))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        items
            .into_iter()
            .map(|s| match s {
                Slot::Obj(id) => Ok(id),
                Slot::Mark => unreachable!(),
            })
            .collect()
    }
    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }
    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.err(format!("memo key {key} is unset")))?;
        self.push_slot(Slot::Obj(id))?;
        Ok(())
    }
    fn global(&mut self, module: String, name: String) -> Result<(), String> {
        if allowed(&module, &name) {
            return self.push(Obj::Global(module, name));
        }
        // nothing off the allowlist is ever called; what can run code or reach the system
        // marks the file as no checkpoint at all
        if dangerous(&module, &name) {
            return Err(refusal(&module, &name));
        }
        self.push(Obj::Opaque(format!("{}.{}", short(&module), short(&name))))
    }

    fn int_of(&self, id: usize, what: &str) -> Result<i64, String> {
        match &self.objs[id] {
            Obj::Int(v) => Ok(*v),
            Obj::Bool(b) => Ok(*b as i64),
            o => Err(self.err(format!("{what}: expected an int, got {o:?}"))),
        }
    }
    fn ints_of(&self, id: usize, what: &str) -> Result<Vec<i64>, String> {
        match &self.objs[id] {
            Obj::Tuple(v) | Obj::List(v) => v.iter().map(|&i| self.int_of(i, what)).collect(),
            o => Err(self.err(format!("{what}: expected a tuple of ints, got {o:?}"))),
        }
    }
    fn items_of(&self, id: usize) -> Vec<usize> {
        match &self.objs[id] {
            Obj::Tuple(v) | Obj::List(v) => v.clone(),
            _ => vec![],
        }
    }

    /// `REDUCE`: call an allowlisted callable symbolically.
    fn reduce(&mut self, f: usize, args: usize) -> Result<Obj, String> {
        if let Obj::Opaque(d) = &self.objs[f] {
            // what calling it would give: as inert as the callable
            return Ok(Obj::Opaque(d.clone()));
        }
        let Obj::Global(module, name) = self.objs[f].clone() else {
            return Err(self.err("REDUCE on something that is not a global"));
        };
        let a = self.items_of(args);
        match (module.as_str(), name.as_str()) {
            ("collections", "OrderedDict") => Ok(Obj::Dict(vec![])),
            ("torch._utils", "_rebuild_tensor_v2") | ("torch._utils", "_rebuild_tensor") => {
                if a.len() < 4 {
                    return Err(self.err(format!("{name} takes at least 4 arguments")));
                }
                let Obj::Storage(storage) = self.objs[a[0]].clone() else {
                    return Err(self.err(format!("{name}: the first argument is not a storage")));
                };
                let offset = self.int_of(a[1], "storage offset")?;
                let size = self.ints_of(a[2], "tensor size")?;
                let stride = self.ints_of(a[3], "tensor stride")?;
                if size.len() != stride.len() {
                    return Err(self.err("tensor size and stride differ in rank"));
                }
                Ok(Obj::Tensor(TensorRef {
                    storage,
                    offset,
                    size,
                    stride,
                }))
            }
            ("torch._utils", "_rebuild_parameter") => match a.first().map(|&i| &self.objs[i]) {
                Some(t @ Obj::Tensor(_)) => Ok(t.clone()),
                _ => Err(self.err("_rebuild_parameter: the first argument is not a tensor")),
            },
            ("_codecs", "encode") => match a.first().map(|&i| &self.objs[i]) {
                // latin-1: every char below 256 is one byte
                Some(Obj::Str(s)) => s
                    .chars()
                    .map(|c| u8::try_from(c as u32).map_err(|_| self.err("non latin-1 bytes")))
                    .collect::<Result<Vec<u8>, String>>()
                    .map(Obj::Bytes),
                _ => Err(self.err("_codecs.encode: the first argument is not a str")),
            },
            _ => Err(self.err(format!(
                "{module}.{name} cannot be called (only tensor rebuild functions can)"
            ))),
        }
    }

    /// `BINPERSID`: `('storage', storage_type, key, location, numel[, view_metadata])`.
    fn persistent(&mut self, pid: usize) -> Result<Obj, String> {
        let items = self.items_of(pid);
        let tag = items.first().map(|&i| &self.objs[i]);
        if !matches!(tag, Some(Obj::Str(s)) if s == "storage") || items.len() < 5 {
            return Err(self.err("unknown persistent id (not a torch storage)"));
        }
        let dtype = match &self.objs[items[1]] {
            Obj::Global(m, n) if m == "torch" => DType::from_storage_name(n)
                .ok_or_else(|| self.err(format!("torch.{n} is not a storage type")))?,
            o => return Err(self.err(format!("storage type {o:?} is not a torch storage"))),
        };
        let key = match &self.objs[items[2]] {
            Obj::Str(s) => s.clone(),
            Obj::Int(i) => i.to_string(),
            o => return Err(self.err(format!("storage key {o:?} is not a string"))),
        };
        let numel = self.int_of(items[4], "storage size")?;
        if numel < 0 {
            return Err(self.err("negative storage size"));
        }
        if items.len() > 5 && !matches!(self.objs[items[5]], Obj::None) {
            return Err(self.err("storage views (legacy view_metadata) are not supported"));
        }
        Ok(Obj::Storage(StorageRef {
            dtype,
            key,
            numel: numel as u64,
        }))
    }

    /// Run the pickle to its STOP and return the arena index of the result.
    fn run(&mut self) -> Result<usize, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("pickle protocol {v} is not supported")));
                    }
                }
                0x95 => {
                    // FRAME: a length prefix, the frame's opcodes follow inline
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.push_slot(Slot::Mark)?,
                b'}' => self.push(Obj::Dict(vec![]))?,
                b']' => self.push(Obj::List(vec![]))?,
                b')' => self.push(Obj::Tuple(vec![]))?,
                b'N' => self.push(Obj::None)?,
                0x88 => self.push(Obj::Bool(true))?,
                0x89 => self.push(Obj::Bool(false))?,
                b'J' => {
                    let v = self.uint(4)? as u32 as i32 as i64;
                    self.push(Obj::Int(v))?
                }
                b'K' => {
                    let v = self.uint(1)? as i64;
                    self.push(Obj::Int(v))?
                }
                b'M' => {
                    let v = self.uint(2)? as i64;
                    self.push(Obj::Int(v))?
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        self.push(Obj::BigInt(b.to_vec()))?;
                        continue;
                    }
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= (x as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Obj::Int(v))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().unwrap());
                    self.push(Obj::Float(v))?
                }
                b'X' => {
                    let n = self.uint(4)? as usize;
                    let s = self.string(n)?;
                    self.push(Obj::Str(s))?
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.string(n)?;
                    self.push(Obj::Str(s))?
                }
                0x8d => {
                    let n = self.uint(8)? as usize;
                    let s = self.string(n)?;
                    self.push(Obj::Str(s))?
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Obj::Bytes(s))?
                }
                b'B' => {
                    let n = self.uint(4)? as usize;
                    let s = self.take(n)?.to_vec();
                    self.push(Obj::Bytes(s))?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::Tuple(items))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow"));
                    }
                    let mut items = vec![0; n];
                    for i in (0..n).rev() {
                        items[i] = self.pop()?;
                    }
                    self.push(Obj::Tuple(items))?
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Obj::List(items))?
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("DICT with an odd number of items"));
                    }
                    let pairs = items.chunks(2).map(|c| (c[0], c[1])).collect();
                    self.push(Obj::Dict(pairs))?
                }
                b'q' => {
                    let k = self.uint(1)?;
                    self.memo_put(k)?
                }
                b'r' => {
                    let k = self.uint(4)?;
                    self.memo_put(k)?
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?
                }
                b'h' => {
                    let k = self.uint(1)?;
                    self.memo_get(k)?
                }
                b'j' => {
                    let k = self.uint(4)?;
                    self.memo_get(k)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    match &mut self.objs[d] {
                        Obj::Dict(items) => items.push((k, v)),
                        Obj::Opaque(_) => {}
                        _ => return Err(self.err("SETITEM on something that is not a dict")),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd number of items"));
                    }
                    let d = self.top()?;
                    match &mut self.objs[d] {
                        Obj::Dict(v) => v.extend(items.chunks(2).map(|c| (c[0], c[1]))),
                        Obj::Opaque(_) => {}
                        _ => return Err(self.err("SETITEMS on something that is not a dict")),
                    }
                }
                b'a' => {
                    let v = self.pop()?;
                    let l = self.top()?;
                    match &mut self.objs[l] {
                        Obj::List(items) => items.push(v),
                        Obj::Opaque(_) => {}
                        _ => return Err(self.err("APPEND on something that is not a list")),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let l = self.top()?;
                    match &mut self.objs[l] {
                        Obj::List(v) => v.extend(items),
                        Obj::Opaque(_) => {}
                        _ => return Err(self.err("APPENDS on something that is not a list")),
                    }
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&self.objs[module], &self.objs[name]) {
                        (Obj::Str(m), Obj::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            self.global(m, n)?
                        }
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let o = self.reduce(f, args)?;
                    self.push(o)?
                }
                b'b' => {
                    // BUILD: state for a dict (OrderedDict attributes such as `_metadata`) or a
                    // tensor (backward hooks) carries nothing the importer needs
                    let _state = self.pop()?;
                    let o = self.top()?;
                    if !matches!(self.objs[o], Obj::Dict(_) | Obj::Tensor(_) | Obj::Opaque(_)) {
                        return Err(self.err("BUILD on something that is not a dict or a tensor"));
                    }
                }
                0x81 | 0x92 => {
                    // NEWOBJ / NEWOBJ_EX: an instance of a class off the allowlist, never built
                    if op == 0x92 {
                        self.pop()?;
                    }
                    let _args = self.pop()?;
                    let cls = self.pop()?;
                    let Obj::Opaque(d) = &self.objs[cls] else {
                        return Err(self.err("NEWOBJ of something that is not a class"));
                    };
                    let d = d.clone();
                    self.push(Obj::Opaque(d))?
                }
                0x8f => self.push(Obj::Opaque("set".into()))?,
                0x90 => {
                    // ADDITEMS to a set
                    self.pop_mark()?;
                    let o = self.top()?;
                    if !matches!(self.objs[o], Obj::Opaque(_)) {
                        return Err(self.err("ADDITEMS on something that is not a set"));
                    }
                }
                0x91 => {
                    self.pop_mark()?;
                    self.push(Obj::Opaque("frozenset".into()))?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let o = self.persistent(pid)?;
                    self.push(o)?
                }
                b'0' => {
                    self.pop()?;
                }
                b'2' => {
                    let id = self.top()?;
                    self.push_slot(Slot::Obj(id))?;
                }
                op => {
                    return Err(self.err(format!(
                        "opcode 0x{op:02x} is not one torch.save emits for a checkpoint"
                    )))
                }
            }
        }
    }

    /// Turn the arena object into a [`Value`], reading tensor data through `storage`.
    fn value(
        &self,
        id: usize,
        storage: &mut dyn FnMut(&StorageRef) -> Result<Vec<u8>, String>,
        cache: &mut BTreeMap<String, Vec<u8>>,
        depth: usize,
    ) -> Result<Value, String> {
        if depth > 200 {
            return Err("pickle: objects nest too deeply".into());
        }
        let n = self.built.get() + 1;
        if n > MAX_BUILT {
            return Err(format!(
                "pickle: the objects expand to more than {MAX_BUILT} values (shared references \
                 nested too often)"
            ));
        }
        self.built.set(n);
        let mut rec = |i: usize, cache: &mut BTreeMap<String, Vec<u8>>| {
            self.value(i, storage, cache, depth + 1)
        };
        Ok(match &self.objs[id] {
            Obj::None => Value::None,
            Obj::Bool(b) => Value::Bool(*b),
            Obj::Int(i) => Value::Int(*i),
            Obj::BigInt(b) => Value::BigInt(b.clone()),
            Obj::Float(f) => Value::Float(*f),
            Obj::Str(s) => Value::Str(s.clone()),
            Obj::Bytes(b) => Value::Bytes(b.clone()),
            Obj::Tuple(v) => {
                Value::Tuple(v.iter().map(|&i| rec(i, cache)).collect::<Result<_, _>>()?)
            }
            Obj::List(v) => {
                Value::List(v.iter().map(|&i| rec(i, cache)).collect::<Result<_, _>>()?)
            }
            Obj::Dict(v) => {
                let mut out = Vec::with_capacity(v.len());
                for &(k, x) in v {
                    out.push((rec(k, cache)?, rec(x, cache)?));
                }
                Value::Dict(out)
            }
            Obj::Global(m, n) => Value::Global(m.clone(), n.clone()),
            Obj::Opaque(d) => Value::Opaque(d.clone()),
            Obj::Storage(s) => {
                return Err(format!(
                    "pickle: a bare storage ('{}') outside a tensor is not supported",
                    s.key
                ))
            }
            Obj::Tensor(t) => {
                if !cache.contains_key(&t.storage.key) {
                    let bytes = storage(&t.storage)?;
                    cache.insert(t.storage.key.clone(), bytes);
                }
                let numel = t
                    .size
                    .iter()
                    .try_fold(1u64, |a, &d| a.checked_mul(d.max(0) as u64));
                let n = numel.and_then(|k| k.checked_add(self.elements.get()));
                match n {
                    Some(n) if n <= self.element_budget => self.elements.set(n),
                    _ => {
                        return Err(format!(
                            "pickle: the tensors, up to the one on storage '{}', hold more than {} elements in all, more than a file of this size holds",
                            short(&t.storage.key),
                            self.element_budget
                        ))
                    }
                }
                Value::Tensor(gather(t, &cache[&t.storage.key])?)
            }
        })
    }
}

/// Read the tensor's elements (any strides) from its storage bytes.
fn gather(t: &TensorRef, bytes: &[u8]) -> Result<TensorData, String> {
    let dt = t.storage.dtype;
    let es = dt.size();
    let avail = (bytes.len() / es) as i64;
    let what = || format!("tensor on storage '{}'", t.storage.key);
    if t.size.iter().any(|&d| d < 0) || t.offset < 0 {
        return Err(format!("{}: negative size or offset", what()));
    }
    let numel: i64 = t
        .size
        .iter()
        .try_fold(1i64, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 1 << 32)
        .ok_or_else(|| format!("{}: too many elements", what()))?;
    let mut values = vec![];
    if numel > 0 {
        // the extreme element offsets must lie in the storage
        let (mut lo, mut hi) = (t.offset, t.offset);
        let overflow = || format!("{}: strides overflow", what());
        for (&d, &s) in t.size.iter().zip(&t.stride) {
            let span = (d - 1).checked_mul(s).ok_or_else(overflow)?;
            if span < 0 {
                lo = lo.checked_add(span).ok_or_else(overflow)?;
            } else {
                hi = hi.checked_add(span).ok_or_else(overflow)?;
            }
        }
        if lo < 0 || hi >= avail {
            return Err(format!(
                "{}: elements [{lo}, {hi}] outside the storage of {avail} {} values",
                what(),
                dt.name()
            ));
        }
        // a view may repeat elements (stride 0) but not blow a small storage up into a huge
        // tensor: checked before anything is allocated
        if numel > avail.max(1 << 16) {
            return Err(format!(
                "{}: {numel} elements viewing a storage of {avail}",
                what()
            ));
        }
        values.reserve(numel as usize);
        let rank = t.size.len();
        let mut idx = vec![0i64; rank];
        for _ in 0..numel {
            let off: i64 = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<i64>();
            let at = off as usize * es;
            values.push(element(dt, &bytes[at..at + es]));
            for d in (0..rank).rev() {
                idx[d] += 1;
                if idx[d] < t.size[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    Ok(TensorData {
        dtype: dt,
        shape: t.size.clone(),
        values,
    })
}

fn element(dt: DType, b: &[u8]) -> f64 {
    match dt {
        DType::F64 => f64::from_le_bytes(b.try_into().unwrap()),
        DType::F32 => f32::from_le_bytes(b.try_into().unwrap()) as f64,
        DType::F16 => f16_to_f64(u16::from_le_bytes([b[0], b[1]])),
        DType::BF16 => f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16) as f64,
        DType::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f64,
        DType::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f64,
        DType::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
        DType::I8 => b[0] as i8 as f64,
        DType::U8 => b[0] as f64,
        DType::Bool => (b[0] != 0) as u8 as f64,
    }
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((h >> 10) & 0x1f) as i32;
    let m = (h & 0x3ff) as f64;
    sign * match e {
        0 => m * 2f64.powi(-24),
        31 if m == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Evaluate one pickle (no tensors may be read: no storages are available).
pub fn unpickle(data: &[u8]) -> Result<Value, String> {
    let mut u = Unpickler::new(data);
    let root = u.run()?;
    let mut none = |s: &StorageRef| -> Result<Vec<u8>, String> {
        Err(format!("pickle: storage '{}' has no data here", s.key))
    };
    u.value(root, &mut none, &mut BTreeMap::new(), 0)
}

/// Read a `torch.save` file (zip or legacy format) into a [`Value`] with tensors resolved.
pub fn load(bytes: &[u8]) -> Result<Value, String> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        load_zip(bytes)
    } else if bytes.first() == Some(&0x80) {
        load_legacy(bytes)
    } else {
        Err(
            "not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy \
             torch.save pickle stream)"
                .into(),
        )
    }
}

fn load_zip(bytes: &[u8]) -> Result<Value, String> {
    let (entries, first) = read_zip(bytes)?;
    // the archive's root is its first entry's directory (what torch.load reads)
    let prefix = match first.split_once('/') {
        Some((root, _)) => format!("{root}/"),
        None => String::new(),
    };
    let pkl = format!("{prefix}data.pkl");
    if !entries.contains_key(&pkl) {
        return Err(format!(
            "not a torch.save archive: no '{}' entry in the zip",
            short(&pkl)
        ));
    }
    let prefix = prefix.as_str();
    if let Some(bo) = entries.get(&format!("{prefix}byteorder")) {
        if bo.trim_ascii() != b"little" {
            return Err(format!(
                "checkpoint byte order '{}' is not supported (little only)",
                String::from_utf8_lossy(bo)
            ));
        }
    }
    let mut u = Unpickler::new(&entries[&pkl]).budget_for(bytes.len());
    let root = u.run()?;
    let mut storage = |s: &StorageRef| -> Result<Vec<u8>, String> {
        let name = format!("{prefix}data/{}", s.key);
        let data = entries
            .get(&name)
            .ok_or_else(|| format!("checkpoint archive lacks storage '{name}'"))?;
        let need = (s.numel as usize)
            .checked_mul(s.dtype.size())
            .ok_or_else(|| format!("storage '{}' of {} elements is too large", s.key, s.numel))?;
        if data.len() < need {
            return Err(format!(
                "storage '{name}' holds {} bytes, {} {} values need {need}",
                data.len(),
                s.numel,
                s.dtype.name()
            ));
        }
        Ok(data[..need].to_vec())
    };
    u.value(root, &mut storage, &mut BTreeMap::new(), 0)
}

/// The legacy format's magic number (`torch.serialization.MAGIC_NUMBER`), as LONG1 bytes.
const LEGACY_MAGIC: u128 = 0x1950a86a20f9469cfc6c;

/// Run the pickle that starts at `pos`; returns the interpreter, its result and where it ended.
fn pickle_at<'a>(
    bytes: &'a [u8],
    pos: usize,
    what: &str,
) -> Result<(Unpickler<'a>, usize, usize), String> {
    let mut u = Unpickler::new(&bytes[pos.min(bytes.len())..]).budget_for(bytes.len());
    let root = u
        .run()
        .map_err(|e| format!("legacy checkpoint, {what}: {e}"))?;
    let end = pos + u.pos;
    Ok((u, root, end))
}

fn load_legacy(bytes: &[u8]) -> Result<Value, String> {
    let not_torch = "not a PyTorch checkpoint (a pickle stream without torch's magic number)";
    let mut none = |s: &StorageRef| -> Result<Vec<u8>, String> {
        Err(format!("pickle: storage '{}' has no data here", s.key))
    };
    let (u, root, p) = pickle_at(bytes, 0, "magic number").map_err(|_| not_torch.to_string())?;
    let magic = u.value(root, &mut none, &mut BTreeMap::new(), 0)?;
    if magic != Value::BigInt(LEGACY_MAGIC.to_le_bytes()[..10].to_vec()) {
        return Err(not_torch.into());
    }
    let (u, root, p) = pickle_at(bytes, p, "protocol version")?;
    let proto = u.value(root, &mut none, &mut BTreeMap::new(), 0)?;
    if proto != Value::Int(1001) {
        return Err(format!(
            "legacy checkpoint protocol {proto:?} is not supported (1001)"
        ));
    }
    let (u, root, p) = pickle_at(bytes, p, "sys info")?;
    let info = u.value(root, &mut none, &mut BTreeMap::new(), 0)?;
    if info.get("little_endian") == Some(&Value::Bool(false)) {
        return Err("big-endian legacy checkpoints are not supported".into());
    }
    let (obj, obj_root, p) = pickle_at(bytes, p, "object")?;
    let (u, root, mut p) = pickle_at(bytes, p, "storage keys")?;
    let keys = match u.value(root, &mut none, &mut BTreeMap::new(), 0)? {
        Value::List(v) => v
            .into_iter()
            .map(|k| match k {
                Value::Str(s) => Ok(s),
                v => Err(format!(
                    "legacy checkpoint: storage key {v:?} is not a string"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        v => {
            return Err(format!(
                "legacy checkpoint: the storage key list is a {}",
                v.kind()
            ))
        }
    };
    // element sizes by key, from the storages the object references
    let mut sizes = BTreeMap::new();
    for o in &obj.objs {
        if let Obj::Storage(s) | Obj::Tensor(TensorRef { storage: s, .. }) = o {
            sizes.insert(s.key.clone(), s.dtype.size());
        }
    }
    // after the keys: per storage an i64 element count, then the raw bytes
    let mut data = BTreeMap::new();
    for k in keys {
        let n = u64_at(bytes, p).ok_or("legacy checkpoint: truncated storage data")? as usize;
        let es = *sizes.get(&k).unwrap_or(&1);
        let len = n
            .checked_mul(es)
            .ok_or("legacy checkpoint: storage too large")?;
        let b = bytes
            .get(p + 8..(p + 8).saturating_add(len))
            .ok_or_else(|| format!("legacy checkpoint: storage '{k}' runs past the end"))?;
        data.insert(k, b);
        p += 8 + len;
    }
    let mut storage = |s: &StorageRef| -> Result<Vec<u8>, String> {
        let b = data
            .get(&s.key)
            .ok_or_else(|| format!("legacy checkpoint lacks storage '{}'", s.key))?;
        let need = (s.numel as usize)
            .checked_mul(s.dtype.size())
            .ok_or_else(|| format!("storage '{}' of {} elements is too large", s.key, s.numel))?;
        if b.len() < need {
            return Err(format!("legacy checkpoint: storage '{}' is short", s.key));
        }
        Ok(b[..need].to_vec())
    };
    obj.value(obj_root, &mut storage, &mut BTreeMap::new(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps(OrderedDict(a=[1, -2, 3.5, True, None, 'x', 300, 70000, -2**40],
    /// b=(1, 2), c={'k': b'\x00\xff'}, shared=None, s1=lst, s2=lst), protocol)` with
    /// `lst = [7]` (memoized and referenced twice).
    const P2: &[u8] = b"\x80\x02\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x0a\x71\x00\x29\x52\x71\x01\x28\x58\x01\x00\x00\x00\x61\x71\x02\x5d\x71\x03\x28\x4b\x01\x4a\xfe\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x88\x4e\x58\x01\x00\x00\x00\x78\x71\x04\x4d\x2c\x01\x4a\x70\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\xff\x65\x58\x01\x00\x00\x00\x62\x71\x05\x4b\x01\x4b\x02\x86\x71\x06\x58\x01\x00\x00\x00\x63\x71\x07\x7d\x71\x08\x58\x01\x00\x00\x00\x6b\x71\x09\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x0a\x58\x03\x00\x00\x00\x00\xc3\xbf\x71\x0b\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x0c\x86\x71\x0d\x52\x71\x0e\x73\x58\x06\x00\x00\x00\x73\x68\x61\x72\x65\x64\x71\x0f\x4e\x58\x02\x00\x00\x00\x73\x31\x71\x10\x5d\x71\x11\x4b\x07\x61\x58\x02\x00\x00\x00\x73\x32\x71\x12\x68\x11\x75\x2e";
    const P4: &[u8] = b"\x80\x04\x95\x87\x00\x00\x00\x00\x00\x00\x00\x8c\x0b\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x94\x8c\x0b\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x94\x93\x94\x29\x52\x94\x28\x8c\x01\x61\x94\x5d\x94\x28\x4b\x01\x4a\xfe\xff\xff\xff\x47\x40\x0c\x00\x00\x00\x00\x00\x00\x88\x4e\x8c\x01\x78\x94\x4d\x2c\x01\x4a\x70\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\xff\x65\x8c\x01\x62\x94\x4b\x01\x4b\x02\x86\x94\x8c\x01\x63\x94\x7d\x94\x8c\x01\x6b\x94\x43\x02\x00\xff\x94\x73\x8c\x06\x73\x68\x61\x72\x65\x64\x94\x4e\x8c\x02\x73\x31\x94\x5d\x94\x4b\x07\x61\x8c\x02\x73\x32\x94\x68\x0f\x75\x2e";

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn plain_values_of_protocols_2_and_4() {
        let want = Value::Dict(vec![
            (
                s("a"),
                Value::List(vec![
                    Value::Int(1),
                    Value::Int(-2),
                    Value::Float(3.5),
                    Value::Bool(true),
                    Value::None,
                    s("x"),
                    Value::Int(300),
                    Value::Int(70000),
                    Value::Int(-(1 << 40)),
                ]),
            ),
            (s("b"), Value::Tuple(vec![Value::Int(1), Value::Int(2)])),
            (
                s("c"),
                Value::Dict(vec![(s("k"), Value::Bytes(vec![0, 255]))]),
            ),
            (s("shared"), Value::None),
            (s("s1"), Value::List(vec![Value::Int(7)])),
            (s("s2"), Value::List(vec![Value::Int(7)])),
        ]);
        assert_eq!(unpickle(P2).unwrap(), want);
        assert_eq!(unpickle(P4).unwrap(), want);
    }

    #[test]
    fn disallowed_globals_are_refused() {
        // protocol 2: GLOBAL 'os system', ('echo pwned',), REDUCE
        let mut p = b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R.".to_vec();
        assert_eq!(
            unpickle(&p).unwrap_err(),
            "refusing to load os.system: not a tensor checkpoint"
        );
        // protocol 4: STACK_GLOBAL builtins.eval
        p = b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x01x\x85R.".to_vec();
        assert_eq!(
            unpickle(&p).unwrap_err(),
            "refusing to load builtins.eval: not a tensor checkpoint"
        );
        // an allowlisted module with a name off the list
        p = b"\x80\x02ctorch._utils\n_rebuild_from_type_v2\n.".to_vec();
        assert!(unpickle(&p)
            .unwrap_err()
            .contains("refusing to load torch._utils._rebuild_from_type_v2"));
        // allowed globals cannot be called unless they rebuild tensors
        p = b"\x80\x02ctorch\nfloat32\n)R.".to_vec();
        assert!(unpickle(&p).unwrap_err().contains("cannot be called"));
        // an extra of a class off the allowlist (argparse.Namespace by NEWOBJ + BUILD, a set
        // at protocol 4) is an inert placeholder beside the values the importer reads
        p = b"\x80\x04\x95J\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04args\x94\x8c\x08argparse\x94\x8c\x09Namespace\x94\x93\x94)\x81\x94}\x94\x8c\x02lr\x94\x8c\x010\x94sb\x8c\x04tags\x94\x8f\x94(K\x01K\x02\x90\x8c\x01n\x94K\x07u.".to_vec();
        let v = unpickle(&p).unwrap();
        assert_eq!(
            v.get("args"),
            Some(&Value::Opaque("argparse.Namespace".into()))
        );
        assert_eq!(v.get("tags"), Some(&Value::Opaque("set".into())));
        assert_eq!(v.get("n"), Some(&Value::Int(7)));
        // opcodes outside the set (INST, OBJ, EXT1) are refused too
        for op in [b'i', b'o', 0x82] {
            let p = [0x80, 2, op, b'.'];
            assert!(unpickle(&p).unwrap_err().contains("opcode"), "{op}");
        }
    }

    #[test]
    fn malformed_pickles_are_errors_not_panics() {
        for p in [
            &b""[..],
            b"\x80",
            b"\x80\x02",
            b"\x80\x02s.",
            b"\x80\x02(.",
            b"\x80\x02h\x05.",
            b"\x80\x02X\xff\xff\xff\xff",
            b"\x80\x02]K\x01u.",
            b"\x80\x02\x8a\x09\x00.",
            b"\x80\x02\x85.",
            b"\x80\x02)Q.",
            b"\x80\x02}b.",
            b"\x80\x09.",
        ] {
            assert!(unpickle(p).is_err(), "{p:?}");
        }
    }

    fn tref(dtype: DType, offset: i64, size: &[i64], stride: &[i64], numel: u64) -> TensorRef {
        TensorRef {
            storage: StorageRef {
                dtype,
                key: "0".into(),
                numel,
            },
            offset,
            size: size.to_vec(),
            stride: stride.to_vec(),
        }
    }

    /// A 322-byte pickle whose memo references double at each of 40 levels (2^40 values when
    /// expanded) is refused quickly, not expanded until memory runs out.
    #[test]
    fn memo_reference_bombs_are_refused() {
        let mut p = b"\x80\x02]q\x00".to_vec();
        for i in 0..40u8 {
            p.extend_from_slice(&[b'(', b'h', i, b'h', i, b'l', b'q', i + 1]);
        }
        p.push(b'.');
        let t = std::time::Instant::now();
        let e = unpickle(&p).unwrap_err();
        assert!(e.contains("expand to more than"), "{e}");
        assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());
    }

    /// A stride-0 view may repeat a storage's elements, but not turn one element into 2^32.
    #[test]
    fn views_larger_than_their_storage_are_refused_before_allocating() {
        let one = 1.5f32.to_le_bytes();
        let e = gather(&tref(DType::F32, 0, &[1 << 32], &[0], 1), &one).unwrap_err();
        assert!(e.contains("elements viewing a storage of 1"), "{e}");
        let e = gather(&tref(DType::F32, 0, &[1 << 16, 1 << 16], &[0, 0], 1), &one).unwrap_err();
        assert!(e.contains("viewing a storage"), "{e}");
        // a small broadcast is fine
        let t = gather(&tref(DType::F32, 0, &[4], &[0], 1), &one).unwrap();
        assert_eq!(t.values, vec![1.5; 4]);
    }

    #[test]
    fn tensors_follow_offsets_and_strides() {
        let bytes: Vec<u8> = (0..12i32).flat_map(|x| (x as f32).to_le_bytes()).collect();
        // contiguous [2, 3] at offset 1
        let t = gather(&tref(DType::F32, 1, &[2, 3], &[3, 1], 12), &bytes).unwrap();
        assert_eq!(t.values, vec![1., 2., 3., 4., 5., 6.]);
        // transposed [3, 2] view of a [2, 3] block
        let t = gather(&tref(DType::F32, 0, &[3, 2], &[1, 3], 12), &bytes).unwrap();
        assert_eq!(t.values, vec![0., 3., 1., 4., 2., 5.]);
        // a scalar and an empty tensor
        let t = gather(&tref(DType::F32, 7, &[], &[], 12), &bytes).unwrap();
        assert_eq!((t.shape.clone(), t.values), (vec![], vec![7.]));
        let t = gather(&tref(DType::F32, 0, &[0, 4], &[4, 1], 12), &bytes).unwrap();
        assert!(t.values.is_empty());
        // out of the storage
        assert!(gather(&tref(DType::F32, 7, &[2, 3], &[3, 1], 12), &bytes).is_err());
        assert!(gather(&tref(DType::F32, 0, &[2], &[-1], 12), &bytes).is_err());
        // other dtypes
        let b: Vec<u8> = [-3i64, 5].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            gather(&tref(DType::I64, 0, &[2], &[1], 2), &b)
                .unwrap()
                .values,
            vec![-3., 5.]
        );
        assert_eq!(
            gather(&tref(DType::I8, 0, &[2], &[1], 2), &[0xff, 7])
                .unwrap()
                .values,
            vec![-1., 7.]
        );
        assert_eq!(
            gather(
                &tref(DType::F16, 0, &[2], &[1], 2),
                &[0x00, 0x3c, 0x00, 0xc0]
            )
            .unwrap()
            .values,
            vec![1., -2.]
        );
    }

    /// `zipfile.ZipFile(..., ZIP_STORED)` with `a/data.pkl` = b"hello" and `a/data/0` = 0..8,
    /// once plain and once with ZIP64 local headers (`force_zip64=True`).
    const ZIP: &[u8] = b"\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x86\xa6\x10\x36\x05\x00\x00\x00\x05\x00\x00\x00\x0a\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2e\x70\x6b\x6c\x68\x65\x6c\x6c\x6f\x50\x4b\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x9f\x68\xaa\x88\x08\x00\x00\x00\x08\x00\x00\x00\x08\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2f\x30\x00\x01\x02\x03\x04\x05\x06\x07\x50\x4b\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x86\xa6\x10\x36\x05\x00\x00\x00\x05\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2e\x70\x6b\x6c\x50\x4b\x01\x02\x14\x03\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00\x9f\x68\xaa\x88\x08\x00\x00\x00\x08\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x2d\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2f\x30\x50\x4b\x05\x06\x00\x00\x00\x00\x02\x00\x02\x00\x6e\x00\x00\x00\x5b\x00\x00\x00\x00\x00";
    const ZIP64_LOCAL: &[u8] = b"\x50\x4b\x03\x04\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00\x86\xa6\x10\x36\xff\xff\xff\xff\xff\xff\xff\xff\x0a\x00\x14\x00\x61\x2f\x64\x61\x74\x61\x2e\x70\x6b\x6c\x01\x00\x10\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x68\x65\x6c\x6c\x6f\x50\x4b\x03\x04\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00\x9f\x68\xaa\x88\xff\xff\xff\xff\xff\xff\xff\xff\x08\x00\x14\x00\x61\x2f\x64\x61\x74\x61\x2f\x30\x01\x00\x10\x00\x08\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x50\x4b\x01\x02\x2d\x03\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00\x86\xa6\x10\x36\x05\x00\x00\x00\x05\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x00\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2e\x70\x6b\x6c\x50\x4b\x01\x02\x2d\x03\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00\x9f\x68\xaa\x88\x08\x00\x00\x00\x08\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x41\x00\x00\x00\x61\x2f\x64\x61\x74\x61\x2f\x30\x50\x4b\x05\x06\x00\x00\x00\x00\x02\x00\x02\x00\x6e\x00\x00\x00\x83\x00\x00\x00\x00\x00";

    #[test]
    fn stored_zip_entries_read_back() {
        for z in [ZIP, ZIP64_LOCAL] {
            let (e, first) = read_zip(z).unwrap();
            assert_eq!(first, "a/data.pkl");
            assert_eq!(e.len(), 2);
            assert_eq!(e["a/data.pkl"], b"hello");
            assert_eq!(e["a/data/0"], &[0, 1, 2, 3, 4, 5, 6, 7]);
        }
        // a flipped data byte fails the CRC; truncations are errors
        let mut bad = ZIP.to_vec();
        bad[42] ^= 1;
        assert!(read_zip(&bad).unwrap_err().contains("checksum"));
        for n in [0, 10, 100, ZIP.len() - 1] {
            assert!(read_zip(&ZIP[..n]).is_err(), "{n}");
        }
        // not a checkpoint
        assert!(load(b"hello")
            .unwrap_err()
            .contains("not a PyTorch checkpoint"));
        assert!(load(ZIP).unwrap_err().contains("pickle"));
    }

    /// torch.save's ZIP64 end records are 76 bytes, as long as a central-directory record
    /// whose name has 30 bytes (`<21-character stem>/data.pkl`): the archive still starts at
    /// byte 0 (the zip crate's offset detection took the second record for the first).
    #[test]
    fn a_76_byte_first_record_reads() {
        let (e, first) =
            read_zip(include_bytes!("../testdata/zip64_end_76_byte_record.zip")).unwrap();
        assert_eq!(first, "sssssssssssssssssssss/data.pkl");
        assert_eq!(e.len(), 2);
    }

    /// Central-directory records that share one stored entry's bytes (a zip bomb of stored
    /// entries) are refused before their data is read.
    #[test]
    fn entries_sharing_bytes_are_refused() {
        let e = read_zip(include_bytes!("../testdata/overlapping_entries.zip")).unwrap_err();
        assert!(e.contains("shares bytes with another entry"), "{e}");
    }
}
