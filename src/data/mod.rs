//! Data: the dataset catalog, finding and verifying files, loaders and synthetic phantoms.

pub mod catalog;
mod dataset;
pub mod fetch;
pub mod medmnist;
pub mod npz;
pub mod phantoms;

pub use dataset::{Dataset, ImageShape, Provenance, SourceValues, Split, SplitName};
