//! medmtl's integration tests, one binary with a module per area (one link of candle,
//! polars and plotters instead of one per file).

mod architectures;
mod cli;
mod common;
mod folder_dataset;
mod generative;
mod kernels;
mod literature_designs;
mod longitudinal;
mod metrics_classification_reference;
mod metrics_image_reference;
mod metrics_reference;
mod metrics_segmentation_reference;
mod module_graph;
mod npz_loader;
mod real_data;
mod real_folder_data;
mod relatedness;
mod report;
mod stats_reference;
mod subgroups;
mod suite_lifecycle;
mod training;
mod weighting;
