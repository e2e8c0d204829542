//! nibble-compiler's integration tests: ONE test binary (each is a ~250 MB link), one module per
//! area.

mod architecture;
mod artifact;
mod egraph;
mod tcconv_resnet;
