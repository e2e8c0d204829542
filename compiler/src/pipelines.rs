//! Named pipelines: one name for a sequence of passes (e.g. `qnn-to-ptx{target=sm_90}`).

use crate::pass::PassOptions;

/// `(name, summary)` of every named pipeline.
pub fn list() -> Vec<(&'static str, &'static str)> {
    vec![]
}

/// The pipeline text a named pipeline stands for, or None if `name` is not one.
pub fn expansion(name: &str, _options: &PassOptions) -> Result<Option<String>, String> {
    match name {
        _ => Ok(None),
    }
}
