//! Finding dataset files: local folders first, then the download cache, then the network.
//!
//! Lookup order: every `--data-dir`, then `MEDMTL_DATA_DIR`, then the git-ignored cache
//! (`datasets/cache/`). In each folder a file may sit in a per-dataset subfolder
//! (`DIR/retinamnist/retinamnist.npz`, the layout of `../shared/datasets`) or directly in the
//! folder (`DIR/retinamnist.npz`, MedMNIST's own layout). Every file is checked against the
//! catalog md5; a mismatch is refused unless the user explicitly allows unverified data.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::{Error, Result};

/// Environment variable naming a folder with local dataset copies.
pub const DATA_DIR_ENV: &str = "MEDMTL_DATA_DIR";

/// Where to look for dataset files and what to do when one is missing or differs.
#[derive(Debug, Clone)]
pub struct DataSources {
    /// Folders searched in order (command line first, then the environment variable).
    pub dirs: Vec<PathBuf>,
    /// Download cache; also searched, last.
    pub cache: PathBuf,
    /// Try to download missing files into the cache.
    pub download: bool,
    /// Accept files whose md5 differs from the catalog (results are marked unverified).
    pub allow_unverified: bool,
}

impl DataSources {
    /// Lookup order from a command-line folder (if any), the environment and the default cache.
    pub fn from_env(cli_dir: Option<PathBuf>) -> Self {
        let mut dirs: Vec<PathBuf> = cli_dir.into_iter().collect();
        if let Some(env) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(env));
        }
        DataSources { dirs, cache: PathBuf::from("datasets/cache"), download: cfg!(feature = "download"), allow_unverified: false }
    }

    /// Sources that only look in `dirs`, never download (tests and offline use).
    pub fn local(dirs: Vec<PathBuf>, cache: PathBuf) -> Self {
        DataSources { dirs, cache, download: false, allow_unverified: false }
    }

    fn candidates(&self, dataset: &str, file: &str) -> Vec<PathBuf> {
        self.dirs.iter().chain(std::iter::once(&self.cache)).flat_map(|dir| [dir.join(dataset).join(file), dir.join(file)]).collect()
    }

    /// Finds (or downloads) `file` of `dataset` and checks its md5.
    pub fn locate(&self, dataset: &str, file: &str, url: &str, md5: &str) -> Result<LocatedFile> {
        if let Some(path) = self.candidates(dataset, file).into_iter().find(|p| p.is_file()) {
            return self.verify(path, md5);
        }
        let target = self.cache.join(dataset).join(file);
        if !self.download {
            return Err(self.unavailable(file, url, "it is in none of the data folders and downloading is off".into()));
        }
        match download(url, &target) {
            Ok(()) => {
                let located = self.verify(target.clone(), md5);
                if let Err(Error::Checksum { .. }) = located {
                    // A download that does not match the catalog is never kept.
                    let _ = std::fs::remove_file(&target);
                }
                located
            }
            Err(reason) => Err(self.unavailable(file, url, reason)),
        }
    }

    /// Finds the folder of a folder dataset (images, masks and tables rather than one file):
    /// the first `DIR/<dataset>/` in the lookup order that holds `probe` (a path relative to
    /// the dataset folder), else the first `DIR/` that holds it directly. Such datasets have no
    /// single-file URL, so nothing is downloaded; the error says where to get them (`url`)
    /// and what to do by hand (`steps`).
    pub fn locate_folder(&self, dataset: &str, probe: &str, url: &str, steps: Option<&str>) -> Result<PathBuf> {
        let found = self
            .dirs
            .iter()
            .chain(std::iter::once(&self.cache))
            .flat_map(|dir| [dir.join(dataset), dir.clone()])
            .find(|root| root.join(probe).exists());
        if let Some(root) = found {
            return Ok(root);
        }
        let mut reason = format!(
            "it is in none of the data folders (looked for {dataset}/{probe}); this dataset is a folder of files \
             with no single-file download, so it is never downloaded automatically"
        );
        if let Some(steps) = steps {
            reason.push_str(&format!(". By hand: {steps}"));
        }
        Err(self.unavailable(&format!("{dataset}/{probe}"), url, reason))
    }

    fn verify(&self, path: PathBuf, expected: &str) -> Result<LocatedFile> {
        let actual = md5_file(&path)?;
        let verified = actual.eq_ignore_ascii_case(expected);
        if !verified && !self.allow_unverified {
            return Err(Error::Checksum { file: path, expected: expected.to_owned(), actual });
        }
        Ok(LocatedFile { path, md5: actual, verified })
    }

    fn unavailable(&self, file: &str, url: &str, reason: String) -> Error {
        let searched: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        let reason = if searched.is_empty() { reason } else { format!("{reason} (searched {})", searched.join(", ")) };
        Error::DataUnavailable { file: file.to_owned(), url: url.to_owned(), cache: self.cache.clone(), reason }
    }
}

/// A dataset file found on disk, with the md5 it really has.
#[derive(Debug, Clone)]
pub struct LocatedFile {
    /// Where the file was found (or downloaded to).
    pub path: PathBuf,
    /// The file's md5 as computed, lowercase hex.
    pub md5: String,
    /// Whether `md5` equals the catalog's.
    pub verified: bool,
}

/// The md5 of a file as lowercase hex.
pub fn md5_file(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` to `target` through a `.part` file renamed on success, so an interrupted
/// download never leaves a file that looks complete. Returns a human-readable reason on failure.
#[cfg(feature = "download")]
fn download(url: &str, target: &Path) -> std::result::Result<(), String> {
    use std::io::Write;
    use std::time::Duration;

    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_body(Some(Duration::from_secs(120)))
        .build()
        .new_agent();
    let mut response = agent.get(url).call().map_err(|e| format!("the download failed ({e}); the network may be unreachable"))?;
    let total = response.body().content_length();
    let bar = crate::progress::bytes_bar(total, &format!("downloading {}", file_name(target)));
    let part = target.with_extension("part");
    let mut out = File::create(&part).map_err(|e| format!("cannot create {}: {e}", part.display()))?;
    let mut body = response.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = body.read(&mut buf).map_err(|e| format!("the download broke off: {e}"))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        bar.inc(n as u64);
    }
    out.sync_all().map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    bar.finish_and_clear();
    std::fs::rename(&part, target).map_err(|e| format!("cannot rename {}: {e}", part.display()))
}

#[cfg(not(feature = "download"))]
fn download(_url: &str, _target: &Path) -> std::result::Result<(), String> {
    Err("this medmtl was built without the `download` feature".into())
}

#[cfg(feature = "download")]
fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc.txt");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(md5_file(&path).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn mismatching_md5_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("toy")).unwrap();
        std::fs::write(dir.path().join("toy/toy.npz"), b"abc").unwrap();
        let mut sources = DataSources::local(vec![dir.path().to_path_buf()], dir.path().join("cache"));
        let err = sources.locate("toy", "toy.npz", "https://example.org/toy.npz", "00000000000000000000000000000000").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("toy.npz") && msg.contains("--allow-unverified"), "{msg}");
        sources.allow_unverified = true;
        let found = sources.locate("toy", "toy.npz", "https://example.org/toy.npz", "00000000000000000000000000000000").unwrap();
        assert!(!found.verified);
        assert_eq!(found.md5, "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn missing_file_offline_names_file_url_and_both_remedies() {
        let dir = tempfile::tempdir().unwrap();
        let sources = DataSources::local(vec![dir.path().to_path_buf()], dir.path().join("cache"));
        let msg =
            sources.locate("toy", "toy.npz", "https://example.org/toy.npz", "900150983cd24fb0d6963f7d28e17f72").unwrap_err().to_string();
        for needle in ["toy.npz", "https://example.org/toy.npz", "--data-dir", "MEDMTL_DATA_DIR", "cache"] {
            assert!(msg.contains(needle), "missing {needle}: {msg}");
        }
    }
}
