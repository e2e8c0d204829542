//! The `qnn` dialect: quantized CNN graph ops on tensors.
//!
//! - [`semantics`]: the one definition of the integer arithmetic (rounding, requantize, nibble order).
//! - [`graph`]: an MLIR-free model of a qnn function.
//! - [`reference`]: the bit-exact CPU reference interpreter over that model.
//! - [`verify`]: semantic checks (shapes, element types, attributes) with located diagnostics.
//! - `ir` (feature `mlir`): typed wrappers over MLIR ops and the IR -> graph conversion.

pub mod attrs;
pub mod bounds;
pub mod graph;
pub mod reference;
pub mod semantics;
pub mod tensor;
pub mod tool;
pub mod verify;
pub mod weights;
pub mod window;

/// The IRDL definition of the dialect, loaded into every MLIR context nibble creates.
pub const IRDL: &str = include_str!("../qnn.irdl.mlir");

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file. A symbolic link is followed (its target is replaced,
/// the link stays); a device, FIFO or socket is written through, never replaced (a FIFO with no
/// reader is an error, not a wait).
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    // a symbolic link is followed: its target is what gets written, the link stays
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(fail)?,
        _ => path.to_path_buf(),
    };
    // a device, FIFO or socket (`-o /dev/null`, `-o /dev/stdout`) is written through, never
    // replaced by a regular file
    if std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return write_through(&path, bytes).map_err(fail);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", unique_suffix()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// `<pid>-<n>`: distinct for every temp file of the process, so threads writing the same path
/// (the kernel cache under parallel tests) never share a temp file.
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Build the directory `dir` through `fill`, which writes into a staging directory beside it;
/// only when `fill` succeeds does the staging directory take `dir`'s place (an existing `dir`
/// is moved aside and removed after the swap). A failure leaves an existing `dir` untouched.
/// `dir` must be a directory or not exist.
/// An existing non-empty `dir` without `marker` (the file every such output has: `plan.json`
/// for artifacts) is refused, never replaced: `-o .` must not wipe a working directory.
pub fn write_dir_atomically(
    dir: &std::path::Path,
    marker: &str,
    fill: impl FnOnce(&std::path::Path) -> Result<(), String>,
) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", dir.display());
    if std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(format!("{}: exists and is not a directory", dir.display()));
    }
    let foreign =
        std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) && !dir.join(marker).is_file();
    if foreign {
        return Err(format!(
            "{}: exists and holds no {marker}; refusing to replace it (remove it or choose another directory)",
            dir.display()
        ));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent).map_err(fail)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let pid = unique_suffix();
    let staging = parent.join(format!(".{name}.new{pid}"));
    let old = parent.join(format!(".{name}.old{pid}"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(fail)?;
    if let Err(e) = fill(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let existed = dir.exists();
    if existed {
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(fail(e));
        }
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        if existed {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(e));
    }
    if existed {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// Write several files so that either all of them are replaced or none: every one goes to a
/// temp file first (any failure removes the temps and changes nothing), then each is renamed.
pub fn write_files_atomically(files: &[(&std::path::Path, &[u8])]) -> Result<(), String> {
    use std::io::Write;
    let mut temps: Vec<std::path::PathBuf> = vec![];
    let mut res = Ok(());
    for (path, bytes) in files {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(
            ".{}.tmp{}",
            name.unwrap_or_default(),
            unique_suffix()
        ));
        let r = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        temps.push(tmp);
        if let Err(e) = r {
            res = Err(format!("{}: cannot write: {e}", path.display()));
            break;
        }
    }
    if res.is_ok() {
        for ((path, _), tmp) in files.iter().zip(&temps) {
            if let Err(e) = std::fs::rename(tmp, path) {
                res = Err(format!("{}: cannot write: {e}", path.display()));
                break;
            }
        }
    }
    for t in &temps {
        let _ = std::fs::remove_file(t);
    }
    res
}

/// Write to an existing non-regular file. Opened non-blocking so that a FIFO without a reader
/// fails at once (ENXIO); a full pipe is waited on write by write.
fn write_through(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let mut f = opts.open(path)?;
    let mut rest = bytes;
    while !rest.is_empty() {
        match f.write(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    f.flush()
}

#[cfg(test)]
mod write_tests {
    use super::write_atomically;

    /// A fresh directory for one test, removed when the test ends (passing or not).
    struct Scratch(std::path::PathBuf);

    impl std::ops::Deref for Scratch {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("nibble-write-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    #[test]
    fn a_regular_file_is_replaced_whole() {
        let d = scratch("regular");
        let p = d.join("out.mlir");
        std::fs::write(&p, "old contents that are longer").unwrap();
        write_atomically(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(&*d).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_written() {
        let d = scratch("symlink");
        let target = d.join("real.mlir");
        std::fs::write(&target, "old").unwrap();
        let link = d.join("link.mlir");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_failed_directory_write_leaves_the_old_directory_whole() {
        let d = scratch("dir");
        let out = d.join("art");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("plan.json"), "old plan").unwrap();
        std::fs::write(out.join("kernels.ptx"), "old ptx").unwrap();
        let e = super::write_dir_atomically(&out, "plan.json", |s| {
            std::fs::write(s.join("kernels.ptx"), "new ptx").unwrap();
            Err("the plan failed".into())
        });
        assert_eq!(e.unwrap_err(), "the plan failed");
        assert_eq!(std::fs::read(out.join("kernels.ptx")).unwrap(), b"old ptx");
        assert_eq!(std::fs::read(out.join("plan.json")).unwrap(), b"old plan");
        super::write_dir_atomically(&out, "plan.json", |s| {
            std::fs::write(s.join("kernels.ptx"), "new ptx").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(std::fs::read(out.join("kernels.ptx")).unwrap(), b"new ptx");
        assert!(
            !out.join("plan.json").exists(),
            "the old directory is replaced whole"
        );
        assert_eq!(
            std::fs::read_dir(&*d).unwrap().count(),
            1,
            "no staging left"
        );
        let file = d.join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(super::write_dir_atomically(&file, "plan.json", |_| Ok(())).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        // a directory that is not an artifact is never replaced
        let home = d.join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(home.join("notes.txt"), "mine").unwrap();
        let e = super::write_dir_atomically(&home, "plan.json", |_| Ok(())).unwrap_err();
        assert!(e.contains("refusing"), "{e}");
        assert_eq!(std::fs::read(home.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn files_written_together_are_all_or_nothing() {
        let d = scratch("files");
        let (m, w) = (d.join("model.mlir"), d.join("weights.safetensors"));
        std::fs::write(&m, "old model").unwrap();
        std::fs::write(&w, "old weights").unwrap();
        // the second file cannot be created (its directory does not exist): nothing changes
        let bad = d.join("missing").join("weights.safetensors");
        assert!(super::write_files_atomically(&[(&m, b"new model"), (&bad, b"w")]).is_err());
        assert_eq!(std::fs::read(&m).unwrap(), b"old model");
        super::write_files_atomically(&[(&m, b"new model"), (&w, b"new weights")]).unwrap();
        assert_eq!(std::fs::read(&w).unwrap(), b"new weights");
        assert_eq!(
            std::fs::read_dir(&*d).unwrap().count(),
            2,
            "no temp files left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_reader_is_an_error_not_a_wait_and_stays_a_fifo() {
        let d = scratch("fifo");
        let p = d.join("pipe");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = write_atomically(&p, b"x").unwrap_err();
        assert!(e.contains("cannot write"), "{e}");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&p).unwrap().file_type().is_fifo());
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_through_not_replaced() {
        let null = std::path::Path::new("/dev/null");
        if !null.exists() {
            panic!("/dev/null is missing");
        }
        write_atomically(null, b"discarded").unwrap();
        let m = std::fs::metadata(null).unwrap();
        assert!(!m.is_file(), "/dev/null became a regular file");
    }
}

#[cfg(feature = "mlir")]
pub mod ir;
