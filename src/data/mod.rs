//! Data: the dataset catalog, finding and verifying files, loaders and synthetic phantoms.

pub mod catalog;
mod dataset;
pub mod fetch;
pub mod medmnist;
pub mod npz;
pub mod phantoms;

pub use dataset::{Dataset, ImageShape, Provenance, SourceValues, Split, SplitName};

/// The per-sample target source holding the pixel size in mm (after any resizing), which
/// segmentation distances (HD95, ASSD, NSD) honour.
pub const PIXEL_SIZE_SOURCE: &str = "pixel_size_mm";
