//! The on-disk kernel cache (`ptx_cache_dir`): compiled kernels by what they depend on, so that
//! compiling a network whose kernels were compiled before (by any network) neither builds nor
//! prints nor lowers them again.
//!
//! Two kinds of entries, both written through a temp file and a rename, both best effort (a
//! cache that cannot be read or written only costs time):
//! - `kernel-<key>.ptx`: the PTX of a kernel, its name replaced by [`PLACEHOLDER`] so that any op
//!   of any network can launch it under its own name, after a first line holding the hash of
//!   the key and the text (an entry edited, truncated or copied under another key is a miss).
//!   The key is the kernel's content key (what decides its PTX: the op signature it was built
//!   for, which decides its text but for its name, the LLVM pipeline and codegen level, the
//!   target and the compiler build: [`content_key`]) where convert-tcconv-to-gpu gave it one,
//!   else the hash of its lowering input's text, the PTX pipeline and the build.
//! - `sig-<key>.json`: for an op signature (`signature::signature`: everything the kernel
//!   builder reads of the op), the LLVM backend and the compiler build ([`signature_key`]), its
//!   own key (an entry copied under another key is a miss), the content key of the kernel it
//!   builds, its launch and the tables it takes, in order.
//!
//! `convert-tcconv-to-gpu{kernel-cache=true}` looks an op's signature up before building: on a
//! hit whose PTX is there too, the gpu.module gets a declaration-like stub
//! (`gpu.func @name(...) kernel attributes {nibble.cached_kernel = "<content>"} { gpu.return }`,
//! the real kernel's parameters) and [`super::gpu_to_ptx`] takes its PTX from the cache; a
//! kernel built on a miss carries `nibble.kernel_content = "<content>"` and its PTX is stored
//! once compiled. `nibble-opt --emit=artifact` turns the option on where nothing prints the
//! gpu stage.

use super::Launch;
use std::path::{Path, PathBuf};

/// What stands for the kernel's name in a cached PTX text.
pub const PLACEHOLDER: &str = "__nibble_cached_kernel__";

/// The attribute of a stub kernel: the content key of its cached PTX.
pub const CACHED_ATTR: &str = "nibble.cached_kernel";
/// The attribute of a kernel built with the cache on: where its PTX goes once compiled.
pub const CONTENT_ATTR: &str = "nibble.kernel_content";

/// This compiler build (its sources, dependencies and LLVM: `compiler/build.rs`).
pub const BUILD_HASH: &str = env!("NIBBLE_BUILD_HASH");

/// 128-bit FNV-1a of the parts, each followed by a NUL.
pub fn hash(parts: &[&[u8]]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for p in parts {
        for &b in p.iter().chain(&[0u8]) {
            h ^= b as u128;
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
    format!("{h:032x}")
}

/// The key of a kernel's PTX: what decides it (`text`: its signature and the LLVM backend), the
/// target and the build.
pub fn content_key(text: &[u8], target: &str) -> String {
    hash(&[BUILD_HASH.as_bytes(), target.as_bytes(), text])
}

/// The key of an op signature's entry.
pub fn signature_key(signature: &str) -> String {
    hash(&[BUILD_HASH.as_bytes(), b"signature", signature.as_bytes()])
}

fn ptx_path(dir: &Path, content: &str) -> PathBuf {
    dir.join(format!("kernel-{content}.ptx"))
}

fn sig_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("sig-{key}.json"))
}

/// What a signature entry records.
#[derive(Clone, Debug, PartialEq)]
pub struct SigEntry {
    pub content: String,
    pub launch: Launch,
    /// The kernel's table parameters (`Table::what`), in order.
    pub tables: Vec<String>,
}

/// Is `s` a key (32 hex digits)? Entries are read from a directory anyone may write.
fn is_key(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The largest cache entry read: a kernel's PTX is tens of kilobytes.
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// The text of entry `p` if it is a regular file of at most [`MAX_ENTRY_BYTES`] (a FIFO would
/// block the read, a device never end it): opened without blocking, then checked on the open
/// file, so an entry swapped for a FIFO in between is not waited on.
fn read_entry(p: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000; // Linux
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(p)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let mut text = String::new();
    (&mut f)
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= MAX_ENTRY_BYTES).then_some(text)
}

/// Whether the cache directory `dir` may be used: absent (it is created), or a directory of
/// this user that no one else may write. Its entries decide the PTX of every network
/// compiled, so a directory others can write is ignored, with a note (as ssh treats its keys).
pub fn trusted(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(dir) else {
        return true;
    };
    let me = std::fs::metadata("/proc/self").map(|s| s.uid()).ok();
    let ok = m.is_dir() && Some(m.uid()) == me && m.mode() & 0o022 == 0;
    if !ok {
        static NOTED: std::sync::Once = std::sync::Once::new();
        NOTED.call_once(|| {
            eprintln!(
                "nibble-opt: note: the kernel cache {} is not a directory of this user that only it can write; compiling without it",
                dir.display()
            )
        });
    }
    ok
}

/// The first line of a PTX entry: its key's and its text's hash.
pub(super) fn ptx_header(content: &str, body: &str) -> String {
    format!(
        "// nibble kernel cache {}\n",
        hash(&[content.as_bytes(), body.as_bytes()])
    )
}

/// The cached kernel text of content key `content` (placeholder name), if the entry is there
/// and intact.
fn read_ptx(dir: &Path, content: &str) -> Option<String> {
    let text = read_entry(&ptx_path(dir, content))?;
    let (head, body) = text.split_at(text.find('\n')? + 1);
    (head == ptx_header(content, body)).then(|| body.to_owned())
}

/// The entry of signature key `key`, if it and its kernel's PTX are in the cache.
pub fn lookup(dir: &Path, key: &str) -> Option<SigEntry> {
    let text = read_entry(&sig_path(dir, key))?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    // an entry copied under another key is not this signature's
    if v.get("key")?.as_str()? != key {
        return None;
    }
    let content = v.get("content")?.as_str()?.to_owned();
    let dims = |k: &str| -> Option<[i64; 3]> {
        let a = v.get(k)?.as_array()?;
        let d: Vec<i64> = a.iter().map(|x| x.as_i64()).collect::<Option<_>>()?;
        let d: [i64; 3] = d.try_into().ok()?;
        d.iter().all(|&x| x >= 1).then_some(d)
    };
    let launch = Launch {
        grid: dims("grid")?,
        block: dims("block")?,
        shared_bytes: v.get("shared_bytes")?.as_i64().filter(|&b| b >= 0)?,
    };
    let tables = v
        .get("tables")?
        .as_array()?
        .iter()
        .map(|t| t.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    (is_key(&content) && read_ptx(dir, &content).is_some()).then_some(SigEntry {
        content,
        launch,
        tables,
    })
}

/// Record signature key `key`'s entry (best effort).
pub fn store_signature(dir: &Path, key: &str, e: &SigEntry) {
    let v = serde_json::json!({
        "key": key,
        "content": e.content,
        "grid": e.launch.grid,
        "block": e.launch.block,
        "shared_bytes": e.launch.shared_bytes,
        "tables": e.tables,
    });
    let _ = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|_| nibble_qnn::write_atomically(&sig_path(dir, key), v.to_string().as_bytes()));
}

/// The cached PTX of content key `content`, for a kernel named `name`.
pub fn load_ptx(dir: &Path, content: &str, name: &str) -> Result<String, String> {
    let p = ptx_path(dir, content);
    let text = read_ptx(dir, content).ok_or_else(|| {
        format!(
            "the kernel cache entry {} went missing or changed while compiling; compile again",
            p.display()
        )
    })?;
    let entry = format!(".entry {PLACEHOLDER}(");
    if !text.contains(&entry) {
        return Err(format!(
            "the kernel cache entry {} is not a cached kernel; remove it and compile again",
            p.display()
        ));
    }
    Ok(text.replace(PLACEHOLDER, name))
}

/// Store kernel `name`'s PTX under content key `content` (best effort; a PTX text that
/// already holds the placeholder, or does not define `name`, is not cached).
pub fn store_ptx(dir: &Path, content: &str, name: &str, ptx: &str) {
    if ptx.contains(PLACEHOLDER) || !ptx.contains(&format!(".entry {name}(")) {
        return;
    }
    let body = ptx.replace(name, PLACEHOLDER);
    let text = ptx_header(content, &body) + &body;
    let _ = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|_| nibble_qnn::write_atomically(&ptx_path(dir, content), text.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptx_comes_back_under_another_name() {
        let dir = tempfile::tempdir().unwrap();
        let ptx = ".version 7.8\n.visible .entry main_3_conv2d(\n.param .u64 main_3_conv2d_param_0\n)\n{ ret; }\n";
        store_ptx(dir.path(), &"a".repeat(32), "main_3_conv2d", ptx);
        let back = load_ptx(dir.path(), &"a".repeat(32), "net_7_conv2d").unwrap();
        assert_eq!(back, ptx.replace("main_3_conv2d", "net_7_conv2d"));
        // a text that does not define the kernel is not cached
        store_ptx(dir.path(), &"b".repeat(32), "other", ptx);
        assert!(load_ptx(dir.path(), &"b".repeat(32), "x")
            .unwrap_err()
            .contains("went missing"));
    }

    #[test]
    fn a_signature_entry_needs_its_ptx_and_a_sane_launch() {
        let dir = tempfile::tempdir().unwrap();
        let e = SigEntry {
            content: "c".repeat(32),
            launch: Launch {
                grid: [7, 1, 1],
                block: [128, 1, 1],
                shared_bytes: 0,
            },
            tables: vec!["mult".into(), "shift".into()],
        };
        store_signature(dir.path(), &"d".repeat(32), &e);
        // the entry alone is a miss: its PTX is not there
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
        store_ptx(
            dir.path(),
            &e.content,
            "k",
            ".visible .entry k(\n)\n{ ret; }\n",
        );
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), Some(e.clone()));
        // a PTX entry truncated, edited, copied under another key, or not a file is a miss
        let ptx = dir.path().join(format!("kernel-{}.ptx", e.content));
        let good = std::fs::read_to_string(&ptx).unwrap();
        let other = dir.path().join(format!("kernel-{}.ptx", "e".repeat(32)));
        std::fs::write(&other, &good).unwrap();
        let edited = good.replace("ret;", "trap;");
        for text in [&good[..good.len() - 3], &edited] {
            std::fs::write(&ptx, text).unwrap();
            assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
        }
        assert!(read_ptx(dir.path(), &"e".repeat(32)).is_none());
        std::fs::remove_file(&ptx).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &ptx).unwrap();
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
        std::fs::remove_file(&ptx).unwrap();
        let fifo = std::process::Command::new("mkfifo").arg(&ptx).status();
        if fifo.is_ok_and(|s| s.success()) {
            assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
        }
        std::fs::remove_file(&ptx).unwrap();
        std::fs::write(&ptx, &good).unwrap();
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), Some(e));
        // a signature entry copied under another key is a miss
        let sig = |k: &str| dir.path().join(format!("sig-{k}.json"));
        std::fs::copy(sig(&"d".repeat(32)), sig(&"f".repeat(32))).unwrap();
        assert_eq!(lookup(dir.path(), &"f".repeat(32)), None);
        // a damaged entry is a miss, never an error
        std::fs::write(
            dir.path().join(format!("sig-{}.json", "d".repeat(32))),
            "{\"content\": 3}",
        )
        .unwrap();
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
        let bad = serde_json::json!({"key": "d".repeat(32), "content": "c".repeat(32), "grid": [0, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "tables": []});
        std::fs::write(
            dir.path().join(format!("sig-{}.json", "d".repeat(32))),
            bad.to_string(),
        )
        .unwrap();
        assert_eq!(lookup(dir.path(), &"d".repeat(32)), None);
    }

    #[test]
    fn a_cache_directory_others_can_write_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert!(trusted(dir.path()));
        assert!(trusted(&dir.path().join("not-yet")));
        for (mode, ok) in [(0o700, true), (0o755, true), (0o775, false), (0o777, false)] {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(trusted(dir.path()), ok, "{mode:o}");
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(!trusted(&file));
    }

    #[test]
    fn keys_depend_on_target_and_text() {
        assert_ne!(content_key(b"x", "sm_90"), content_key(b"x", "sm_80"));
        assert_ne!(content_key(b"x", "sm_90"), content_key(b"y", "sm_90"));
        assert!(is_key(&signature_key("s")));
        assert_ne!(signature_key("s"), signature_key("t"));
    }
}
