//! Loaders on the real public datasets, found through `MEDMTL_DATA_DIR` (`.ci/run` points it
//! at `../shared/datasets`). Without the variable these tests say so and pass.

use std::path::PathBuf;

use medmtl::data::catalog::Catalog;
use medmtl::data::fetch::{DataSources, DATA_DIR_ENV};
use medmtl::data::{medmnist, SourceValues};

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("{DATA_DIR_ENV} is not set: skipping the real-data checks");
            None
        }
    }
}

fn class_counts(values: Option<&SourceValues>, classes: usize) -> Vec<usize> {
    let Some(SourceValues::Labels(l)) = values else { panic!("no labels") };
    let mut counts = vec![0; classes];
    for &v in l {
        counts[v as usize] += 1;
    }
    counts
}

#[test]
fn retinamnist_loads_verified_with_the_manifest_counts() {
    let Some(dir) = data_dir() else { return };
    let catalog = Catalog::embedded().unwrap();
    let sources = DataSources::local(vec![dir], PathBuf::from("datasets/cache"));
    let d = medmnist::load(catalog.get("retinamnist").unwrap(), 28, &sources).unwrap();
    assert!(d.provenance.verified);
    assert_eq!((d.shape.channels, d.shape.height, d.shape.width), (3, 28, 28));
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (1080, 120, 400));
    // per-class counts from ../shared/datasets/retinamnist/MANIFEST.toml
    assert_eq!(class_counts(d.train.source("label"), 5), vec![486, 128, 206, 194, 66]);
    assert_eq!(class_counts(d.val.source("label"), 5), vec![54, 12, 28, 20, 6]);
    assert_eq!(class_counts(d.test.source("label"), 5), vec![174, 46, 92, 68, 20]);
    let px = d.train.images();
    assert!(px.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn resaved_breastmnist_is_refused_unless_allowed_then_marked_unverified() {
    let Some(dir) = data_dir() else { return };
    let catalog = Catalog::embedded().unwrap();
    let entry = catalog.get("breastmnist").unwrap();
    let mut sources = DataSources::local(vec![dir], PathBuf::from("datasets/cache"));
    let msg = medmnist::load(entry, 28, &sources).unwrap_err().to_string();
    assert!(msg.contains("breastmnist.npz") && msg.contains("750601b1f35ba3300ea97c75c52ff8f6"), "{msg}");
    assert!(msg.contains("--allow-unverified"), "{msg}");
    sources.allow_unverified = true;
    let d = medmnist::load(entry, 28, &sources).unwrap();
    assert!(!d.provenance.verified);
    assert_eq!(d.provenance.files[0].1, "098de56cd2d92ef2f7170e6153c02849");
    assert_eq!(d.shape.channels, 1);
    assert_eq!(class_counts(d.train.source("label"), 2), vec![147, 399]);
    assert_eq!(class_counts(d.test.source("label"), 2), vec![42, 114]);
}
