//! Data: the dataset catalog, finding and verifying files, loaders (MedMNIST `.npz`, folders of
//! PNG images, masks and CSV tables, longitudinal NIfTI volume pairs) and synthetic phantoms.

pub mod catalog;
mod dataset;
pub mod ellipse;
pub mod fetch;
pub mod folder;
pub mod longitudinal;
pub mod medmnist;
pub mod nifti;
pub mod npz;
pub mod phantoms;
pub mod png_io;
pub mod subgroup;

pub use dataset::{Dataset, ImageShape, Provenance, SourceValues, Split, SplitName};

/// The per-sample target source holding the pixel size in mm (after any resizing), which
/// segmentation distances (HD95, ASSD, NSD) honour.
pub use folder::PIXEL_SIZE_SOURCE;
