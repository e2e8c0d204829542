pub fn verify_graph(_g: &crate::graph::Graph) -> Result<(), Vec<String>> {
    Ok(())
}
