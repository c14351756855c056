//! The on-disk cache of decoded and resized images and masks.
//!
//! One file per (spec, size, data): `<cache dir>/<dataset>/<size>px-<key>.bin`, where `key`
//! is the first 16 hex digits of the SHA-256 of the cache format version, the spec (as
//! JSON), the size and the md5 digest of the image and mask files. Any change to the spec or
//! to a single image or mask byte gives a new key; an unreadable or mismatching cache file is
//! ignored and rewritten. Files are written to a temporary name and renamed, so concurrent
//! or interrupted runs never see a half-written cache.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::data::fetch::hex;
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"MEDMTLFC";
const VERSION: u32 = 1;

/// One image after decoding and resizing, with its original size.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Path relative to the dataset folder (guards against a stale or foreign file).
    pub rel: String,
    /// Original image width before resizing, pixels.
    pub width: u32,
    /// Original image height before resizing, pixels.
    pub height: u32,
    /// `size x size x channels` raw 8-bit values, channels interleaved.
    pub image: Vec<u8>,
    /// One `size x size` class map per mask spec.
    pub masks: Vec<Vec<u8>>,
}

/// The cache key: first 16 hex digits of the SHA-256 of the format version, the spec JSON, the size and the data digest.
pub fn key(spec_json: &str, size: u32, data_digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(VERSION.to_le_bytes());
    h.update((spec_json.len() as u64).to_le_bytes());
    h.update(spec_json.as_bytes());
    h.update(size.to_le_bytes());
    h.update(data_digest.as_bytes());
    hex(&h.finalize())[..16].to_owned()
}

/// Path of the cache file: `<cache dir>/<dataset>/<size>px-<key>.bin`.
pub fn file(cache_dir: &Path, dataset: &str, size: u32, key: &str) -> PathBuf {
    cache_dir.join(dataset).join(format!("{size}px-{key}.bin"))
}

/// Reads a cache file if it exists and holds exactly the expected images.
pub fn read(path: &Path, expected: &[&str], size: usize, channels: usize, n_masks: usize) -> Option<Vec<Entry>> {
    let bytes = std::fs::read(path).ok()?;
    let mut r = Cursor { bytes: &bytes, pos: 0 };
    if r.take(8)? != MAGIC || r.u32()? != VERSION {
        return None;
    }
    let n = r.u64()? as usize;
    if n != expected.len() || r.u32()? as usize != size || r.u32()? as usize != channels || r.u32()? as usize != n_masks {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for want in expected {
        let len = r.u32()? as usize;
        let rel = std::str::from_utf8(r.take(len)?).ok()?;
        if rel != *want {
            return None;
        }
        let (width, height) = (r.u32()?, r.u32()?);
        let image = r.take(size * size * channels)?.to_vec();
        let masks = (0..n_masks).map(|_| r.take(size * size).map(<[u8]>::to_vec)).collect::<Option<Vec<_>>>()?;
        out.push(Entry { rel: rel.to_owned(), width, height, image, masks });
    }
    (r.pos == bytes.len()).then_some(out)
}

/// Writes a cache file atomically.
pub fn write(path: &Path, entries: &[Entry], size: usize, channels: usize, n_masks: usize) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let per = size * size * (channels + n_masks);
    let mut buf = Vec::with_capacity(32 + entries.len() * (per + 64));
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    buf.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for v in [size, channels, n_masks] {
        buf.extend_from_slice(&(v as u32).to_le_bytes());
    }
    for e in entries {
        buf.extend_from_slice(&(e.rel.len() as u32).to_le_bytes());
        buf.extend_from_slice(e.rel.as_bytes());
        buf.extend_from_slice(&e.width.to_le_bytes());
        buf.extend_from_slice(&e.height.to_le_bytes());
        buf.extend_from_slice(&e.image);
        for m in &e.masks {
            buf.extend_from_slice(m);
        }
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &buf).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "toy", 2, &key("{}", 2, "abc"));
        let entries = vec![Entry { rel: "a.png".into(), width: 5, height: 3, image: vec![1, 2, 3, 4], masks: vec![vec![0, 1, 1, 0]] }];
        write(&path, &entries, 2, 1, 1).unwrap();
        assert_eq!(read(&path, &["a.png"], 2, 1, 1).unwrap(), entries);
        assert!(read(&path, &["b.png"], 2, 1, 1).is_none());
        assert!(read(&path, &["a.png"], 2, 3, 1).is_none());
        std::fs::write(&path, b"MEDMTLFC\x01").unwrap();
        assert!(read(&path, &["a.png"], 2, 1, 1).is_none());
        assert_ne!(key("{}", 2, "abc"), key("{}", 3, "abc"));
        assert_ne!(key("{}", 2, "abc"), key("{ }", 2, "abc"));
    }
}
