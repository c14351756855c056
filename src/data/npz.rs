//! Reading numeric arrays from NumPy `.npz` archives without trusting their headers.
//!
//! A `.npz` is a zip of `.npy` members. Headers are parsed with `npyz`, but before any
//! element is read the declared shape is checked against the member's uncompressed size and
//! a hard cap, so a corrupt or hostile file gives an error instead of a huge allocation.
//! Members are looked up by name and never extracted, so zip paths cannot escape anywhere.
//! The header text itself is checked first (size and bracket nesting, see
//! [`read_npy_preamble`]): the dictionary parser behind `npyz` backtracks exponentially on
//! deeply nested tuples, so a 200-byte header nesting 15 tuples took seconds (found by the
//! `npz` fuzz target) and a deeper one would hang.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use npyz::{NpyFile, Order};

use crate::{Error, Result};

/// The largest array medmtl will read from one member (MedMNIST+ 224px TissueMNIST
/// train images are about 8.3 GB; anything above this is treated as a corrupt header).
pub const MAX_ARRAY_BYTES: u64 = 16 << 30;

/// NumPy's own limit on the header of a `.npy` it will read (`numpy.lib.format`, since 1.24).
pub const MAX_HEADER_BYTES: usize = 10_000;

/// The deepest bracket nesting a `.npy` header needs: the dict, a tuple or list in it (the
/// shape, or a structured dtype's field list) and the tuples of that list.
const MAX_HEADER_NESTING: usize = 3;

/// A dense array read from an `.npz` member, in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T> {
    /// Length of each axis, outermost first.
    pub shape: Vec<usize>,
    /// Elements in C (row-major) order; `shape.iter().product()` of them.
    pub data: Vec<T>,
}

/// An open `.npz` archive.
pub struct NpzArchive<R: Read + Seek> {
    path: PathBuf,
    zip: zip::ZipArchive<R>,
}

impl NpzArchive<BufReader<File>> {
    /// Opens the `.npz` file at `path` (reads only its zip directory).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(path, BufReader::new(file))
    }
}

impl<R: Read + Seek> NpzArchive<R> {
    /// Reads an archive from any seekable source; `path` is used in error messages only.
    pub fn from_reader(path: &Path, reader: R) -> Result<Self> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| Error::format(path, format!("not a readable .npz (zip) archive: {e}")))?;
        Ok(NpzArchive { path: path.to_path_buf(), zip })
    }

    /// Names of the arrays in the archive (member names without `.npy`).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> =
            self.zip.file_names().filter_map(|n| n.ok()).filter_map(|n| n.strip_suffix(".npy").map(str::to_owned)).collect();
        keys.sort();
        keys
    }

    /// Reads array `key` as `u8` (the dtype of MedMNIST images and labels).
    pub fn read_u8(&mut self, key: &str) -> Result<Array<u8>> {
        self.read_with(key, |npy, path, key| {
            npy.into_vec::<u8>().map_err(|e| member_error(path, key, format!("cannot read as uint8: {e}")))
        })
    }

    /// Reads a `float32` array (stored predictions).
    pub fn read_f32(&mut self, key: &str) -> Result<Array<f32>> {
        self.read_with(key, |npy, path, key| {
            npy.into_vec::<f32>().map_err(|e| member_error(path, key, format!("cannot read as float32: {e}")))
        })
    }

    /// Reads an integer array of any common integer dtype as `i64` (label arrays saved by
    /// other tools are often int64).
    pub fn read_int(&mut self, key: &str) -> Result<Array<i64>> {
        self.read_with(key, |npy, path, key| {
            let descr = npy.dtype().descr();
            let kind = descr.trim_matches('\'').trim_start_matches(['<', '>', '|', '=']);
            let read = match kind {
                "u1" => npy.into_vec::<u8>().map(widen),
                "i1" => npy.into_vec::<i8>().map(widen),
                "u2" => npy.into_vec::<u16>().map(widen),
                "i2" => npy.into_vec::<i16>().map(widen),
                "u4" => npy.into_vec::<u32>().map(widen),
                "i4" => npy.into_vec::<i32>().map(widen),
                "i8" => npy.into_vec::<i64>(),
                _ => return Err(member_error(path, key, format!("dtype {descr} is not an integer type"))),
            };
            read.map_err(|e| member_error(path, key, format!("cannot read {descr} data: {e}")))
        })
    }

    fn read_with<T>(&mut self, key: &str, read: impl FnOnce(NpyFile<&mut dyn Read>, &Path, &str) -> Result<Vec<T>>) -> Result<Array<T>> {
        let member = format!("{key}.npy");
        let path = self.path.clone();
        let keys = self.keys();
        let mut entry = match self.zip.by_name(&member) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(Error::format(&path, format!("has no array '{key}' (arrays present: {})", keys.join(", "))))
            }
            Err(e) => return Err(member_error(&path, key, format!("unreadable member: {e}"))),
        };
        let member_bytes = entry.size();
        let preamble = read_npy_preamble(&mut entry).map_err(|e| member_error(&path, key, e))?;
        let header = npyz::NpyHeader::from_reader(&mut preamble.as_slice())
            .map_err(|e| member_error(&path, key, format!("invalid .npy header: {e}")))?;
        let declared_bytes = member_bytes.saturating_sub(preamble.len() as u64);
        let reader: &mut dyn Read = &mut entry;
        let npy = NpyFile::with_header(header, reader);
        if npy.order() != Order::C {
            return Err(member_error(&path, key, "is stored in Fortran order; re-save it with numpy.ascontiguousarray".into()));
        }
        let shape: Vec<u64> = npy.shape().to_vec();
        let item = npy.dtype().num_bytes().ok_or_else(|| member_error(&path, key, "has a variable-size dtype".into()))? as u64;
        let count = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| member_error(&path, key, format!("shape {shape:?} overflows")))?;
        let bytes = count
            .checked_mul(item)
            .filter(|&b| b <= MAX_ARRAY_BYTES)
            .ok_or_else(|| member_error(&path, key, format!("shape {shape:?} declares an absurd size")))?;
        if bytes > declared_bytes {
            return Err(member_error(
                &path,
                key,
                format!(
                    "shape {shape:?} needs {bytes} bytes but the member holds only {declared_bytes} \
                     after its header; the file is truncated or corrupt"
                ),
            ));
        }
        let data = read(npy, &path, key)?;
        if data.len() as u64 != count {
            return Err(member_error(&path, key, format!("holds {} elements, shape {shape:?} says {count}", data.len())));
        }
        let shape = shape.into_iter().map(|d| d as usize).collect();
        Ok(Array { shape, data })
    }
}

/// Reads a `.npy` member's magic, version, header length and header text, and refuses
/// what numpy itself would never write before any parser sees it: a header over
/// [`MAX_HEADER_BYTES`], or brackets nested deeper than [`MAX_HEADER_NESTING`].
fn read_npy_preamble(reader: &mut impl Read) -> std::result::Result<Vec<u8>, String> {
    let mut preamble = vec![0u8; 8];
    reader.read_exact(&mut preamble).map_err(|_| "is too short for a .npy header".to_owned())?;
    if &preamble[..6] != b"\x93NUMPY" {
        return Err("is not a .npy array (no \\x93NUMPY magic)".into());
    }
    let width = match preamble[6] {
        1 => 2,
        2 | 3 => 4,
        v => return Err(format!("has .npy format version {v}, which numpy never wrote (1, 2, 3)")),
    };
    let mut len_bytes = [0u8; 4];
    reader.read_exact(&mut len_bytes[..width]).map_err(|_| "is truncated inside its .npy header".to_owned())?;
    preamble.extend_from_slice(&len_bytes[..width]);
    let header_len = u32::from_le_bytes(len_bytes) as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(format!("has a .npy header of {header_len} bytes, over numpy's own limit of {MAX_HEADER_BYTES}"));
    }
    let start = preamble.len();
    preamble.resize(start + header_len, 0);
    reader.read_exact(&mut preamble[start..]).map_err(|_| "is truncated inside its .npy header".to_owned())?;
    let mut depth = 0usize;
    for &b in &preamble[start..] {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err(format!(
                        "has a .npy header nesting brackets more than {MAX_HEADER_NESTING} deep; \
                         numpy writes a dict holding a flat shape tuple"
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(preamble)
}

fn widen<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

fn member_error(path: &Path, key: &str, message: String) -> Error {
    Error::format(path, format!("array '{key}' {message}"))
}
