//! Models: layers, backbones, task heads and the multi-task architectures.

pub mod arch;
pub mod backbone;
pub mod decoder;
pub mod head;
pub mod layers;
pub mod mlp;
pub mod params;
pub mod vae;
