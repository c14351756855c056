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
    pub collection: Collection,
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    pub name: String,
    pub version: String,
    pub homepage: String,
    pub doi: String,
    pub citation: String,
}

/// One dataset of the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    pub name: String,
    pub python_class: Option<String>,
    /// Task type as the dataset's authors state it (MedMNIST's `task` string).
    pub task: String,
    pub channels: usize,
    /// Label names in index order.
    pub labels: Vec<String>,
    pub license: String,
    pub description: String,
    pub source_citation: Option<String>,
    pub splits: SplitSizes,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitSizes {
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

/// One official file of a dataset: image size, file name, download URL and md5.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub size: u32,
    pub file: String,
    pub url: String,
    pub md5: String,
}

/// A dataset entry together with the collection it belongs to.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub collection: Collection,
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

    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.dataset.name == name)
    }

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
