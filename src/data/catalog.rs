//! The dataset catalog: what each public dataset is, where it officially lives, its
//! checksums and its licence.
//!
//! The catalog files in `datasets/*.toml` are compiled into the binary so that medmtl knows
//! every official source and md5 wherever it runs; the data themselves never are.

use serde::Deserialize;

use crate::{Error, Result};

/// The catalog files shipped with medmtl, by file name.
const EMBEDDED: &[(&str, &str)] = &[("datasets/medmnist.toml", include_str!("../../datasets/medmnist.toml"))];

/// One catalog file: a collection (e.g. MedMNIST) and its datasets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// The collection all the file's datasets belong to.
    pub collection: Collection,
    /// The collection's datasets (`[[dataset]]` tables).
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetEntry>,
}

/// A published collection of datasets (e.g. MedMNIST) and how to cite it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// Short name (`medmnist`).
    pub name: String,
    /// Release the catalog's URLs and md5s come from (e.g. `3.0.2`).
    pub version: String,
    /// The collection's web page.
    pub homepage: String,
    /// DOI of the data record the files are downloaded from.
    pub doi: String,
    /// The collection's paper, as printed in reports.
    pub citation: String,
}

/// One dataset of the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Short name, as suites refer to it (`pathmnist`).
    pub name: String,
    /// The dataset's class in the `medmnist` Python package (`PathMNIST`).
    pub python_class: Option<String>,
    /// Task type as the dataset's authors state it (MedMNIST's `task` string).
    pub task: String,
    /// Image channels: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Label names in index order.
    pub labels: Vec<String>,
    /// The data's licence (e.g. `CC BY 4.0`).
    pub license: String,
    /// The authors' description of the dataset.
    pub description: String,
    /// The source data's paper, when the collection derives the dataset from another.
    pub source_citation: Option<String>,
    /// Images in each official split.
    pub splits: SplitSizes,
    /// One official file per image size.
    pub files: Vec<FileEntry>,
}

/// Number of images in each official split.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitSizes {
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub val: usize,
    /// Test images.
    pub test: usize,
}

/// One official file of a dataset: image size, file name, download URL and md5.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Image side in pixels (28, 64, 128 or 224).
    pub size: u32,
    /// File name in the data folder (`pathmnist_64.npz`).
    pub file: String,
    /// HTTPS download URL.
    pub url: String,
    /// md5 of the file, 32 hex digits.
    pub md5: String,
}

/// A dataset entry together with the collection it belongs to.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// The collection the dataset belongs to.
    pub collection: Collection,
    /// The dataset's own entry.
    pub dataset: DatasetEntry,
}

impl CatalogEntry {
    /// The official file for images of `size` pixels.
    pub fn file(&self, size: u32) -> Result<&FileEntry> {
        self.dataset.files.iter().find(|f| f.size == size).ok_or_else(|| {
            let sizes: Vec<String> = self.dataset.files.iter().map(|f| f.size.to_string()).collect();
            Error::Invalid(format!("dataset '{}' has no {size}px version; available sizes: {}", self.dataset.name, sizes.join(", ")))
        })
    }

    /// The citation text for reports: collection and source data.
    pub fn citation(&self) -> String {
        match &self.dataset.source_citation {
            Some(source) => format!("{} Source data: {}", self.collection.citation, source),
            None => self.collection.citation.clone(),
        }
    }
}

/// All datasets medmtl knows.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// The catalog compiled into medmtl.
    pub fn embedded() -> Result<Self> {
        let mut entries = Vec::new();
        for (name, text) in EMBEDDED {
            let file: CatalogFile = toml::from_str(text).map_err(|e| Error::config(name, e.to_string()))?;
            for dataset in file.datasets {
                entries.push(CatalogEntry { collection: file.collection.clone(), dataset });
            }
        }
        Ok(Catalog { entries })
    }

    /// The entry of the dataset called `name`, if the catalog has it.
    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.dataset.name == name)
    }

    /// Names of all datasets, in catalog order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.dataset.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_lists_all_medmnist_2d_sets_with_md5s() {
        let catalog = Catalog::embedded().unwrap();
        assert_eq!(catalog.names().len(), 12);
        for entry in &catalog.entries {
            assert!(entry.file(28).is_ok(), "{} lacks 28px", entry.dataset.name);
            for f in &entry.dataset.files {
                assert_eq!(f.md5.len(), 32);
                assert!(f.md5.chars().all(|c| c.is_ascii_hexdigit()));
                assert!(f.url.starts_with("https://"));
            }
        }
        let retina = catalog.get("retinamnist").unwrap();
        assert_eq!(retina.file(28).unwrap().md5, "bd4c0672f1bba3e3a89f0e4e876791e4");
        assert_eq!(retina.dataset.splits, SplitSizes { train: 1080, val: 120, test: 400 });
    }
}
