//! The `qnn` dialect: quantized CNN graph ops on tensors.
//!
//! - [`semantics`]: the one definition of the integer arithmetic (rounding, requantize, nibble order).
//! - [`graph`]: an MLIR-free model of a qnn function.
//! - [`reference`]: the bit-exact CPU reference interpreter over that model.
//! - [`verify`]: semantic checks (shapes, element types, attributes) with located diagnostics.
//! - `ir` (feature `mlir`): typed wrappers over MLIR ops and the IR -> graph conversion.

pub mod graph;
pub mod reference;
pub mod semantics;
pub mod tensor;
pub mod verify;
pub mod weights;

/// The IRDL definition of the dialect, loaded into every MLIR context nibble creates.
pub const IRDL: &str = include_str!("../qnn.irdl.mlir");

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: cannot write: {e}", path.display())
    })
}
#[cfg(feature = "mlir")]
pub mod ir;
