//! Reading NIfTI-1 volumes (`.nii`, `.nii.gz`) as 3-D `f32` grids.
//!
//! The `nifti` crate parses the 348-byte header (it detects the byte order from `dim[0]` and
//! checks the magic); the voxel bytes are read and converted here, for three reasons: the
//! crate chooses gzip by the file name only (a gzipped file named `.nii` fails as "invalid
//! NIfTI-1 file"), it reports a short file as a bare length mismatch without saying which file,
//! and it stops reading at the last voxel, so a gzip stream's checksum is never verified. Here
//! gzip is recognised by its magic bytes, every member of a multi-member gzip file (bgzip,
//! concatenated `.gz`) is decoded, the stream is read to its end so that the checksum is
//! checked, and a truncated file is an error saying how many voxel bytes it lacks.
//!
//! Voxels are kept in storage order; the qform/sform orientation is not applied, so axes are
//! the file's i, j, k index axes, not anatomical directions.

use std::fs::File;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Seek};
use std::path::Path;

use nifti::object::GzDecodedFile;
use nifti::{Endianness, NiftiError, NiftiHeader, NiftiType};

use crate::{Error, Result};

/// A 3-D scalar volume read from a NIfTI-1 file, values after the header's scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// Voxels along x, y and z (the header's `dim[1..4]`).
    pub dims: [usize; 3],
    /// Voxel spacing along x, y and z in millimetres: `pixdim[1..4]` converted from the header's
    /// spatial unit (metres and microns are rescaled; an unknown unit is taken as mm). A spacing
    /// that is 0 or not finite reads as 1, because many converters leave it unset and distances
    /// must stay defined; a negative one reads as its magnitude.
    pub voxel_size: [f32; 3],
    /// `dims[0] * dims[1] * dims[2]` values, x fastest as NIfTI stores them: voxel (x, y, z) is at
    /// `x + dims[0] * (y + dims[1] * z)`.
    pub data: Vec<f32>,
}

impl Volume {
    /// The value of voxel (x, y, z).
    ///
    /// # Panics
    ///
    /// If the voxel lies outside `dims`: indices come from the caller, not from the file.
    pub fn get(&self, x: usize, y: usize, z: usize) -> f32 {
        let [nx, ny, nz] = self.dims;
        assert!(x < nx && y < ny && z < nz, "voxel ({x}, {y}, {z}) is outside a {nx}x{ny}x{nz} volume");
        self.data[x + nx * (y + ny * z)]
    }

    /// The 2-D slice at `index` along `axis` (0 = x, 1 = y, 2 = z), as `(rows, cols, values)`
    /// with `values` row-major (`values[r * cols + c]`).
    ///
    /// The two remaining axes keep their storage order: the slower one gives the rows and the
    /// faster one the columns, so no axis is flipped or transposed and row 0 is the lowest index:
    ///
    /// - axis 2: rows = y (`dims[1]`), cols = x (`dims[0]`), `values[r * cols + c] = get(c, r, index)`;
    /// - axis 1: rows = z (`dims[2]`), cols = x (`dims[0]`), `values[r * cols + c] = get(c, index, r)`;
    /// - axis 0: rows = z (`dims[2]`), cols = y (`dims[1]`), `values[r * cols + c] = get(index, c, r)`.
    ///
    /// Fails with [`Error::Invalid`] for an axis above 2, an index outside the volume, or a
    /// hand-built volume whose `data` does not hold `dims` voxels.
    pub fn slice(&self, axis: usize, index: usize) -> Result<(usize, usize, Vec<f32>)> {
        let [nx, ny, nz] = self.dims;
        if axis > 2 {
            return Err(Error::Invalid(format!("slice axis {axis} does not exist; a volume has axes 0 (x), 1 (y) and 2 (z)")));
        }
        if index >= self.dims[axis] {
            return Err(Error::Invalid(format!(
                "slice {index} along axis {axis} is outside the {nx}x{ny}x{nz} volume ({} slices along that axis)",
                self.dims[axis]
            )));
        }
        if nx.checked_mul(ny).and_then(|n| n.checked_mul(nz)) != Some(self.data.len()) {
            return Err(Error::Invalid(format!("volume data hold {} values, not {nx}x{ny}x{nz}", self.data.len())));
        }
        let (rows, cols) = match axis {
            0 => (nz, ny),
            1 => (nz, nx),
            _ => (ny, nx),
        };
        let mut values = Vec::with_capacity(rows * cols);
        match axis {
            0 => {
                for z in 0..nz {
                    for y in 0..ny {
                        values.push(self.data[index + nx * (y + ny * z)]);
                    }
                }
            }
            1 => {
                for z in 0..nz {
                    let start = nx * (index + ny * z);
                    values.extend_from_slice(&self.data[start..start + nx]);
                }
            }
            _ => {
                let start = nx * ny * index;
                values.extend_from_slice(&self.data[start..start + nx * ny]);
            }
        }
        Ok((rows, cols, values))
    }
}

/// Volumes with more voxels than this are refused as corrupt (4 GiB as `f32`; a 512 x 512 x 2000
/// CT is half of it), so a damaged header cannot ask for an absurd allocation.
pub const MAX_VOXELS: usize = 1 << 30;

/// Size of a NIfTI-1 header.
const HEADER_LEN: usize = 348;

/// Voxel data of a single-file NIfTI-1 start no earlier than this (header plus the 4 extender bytes).
const MIN_DATA_OFFSET: usize = 352;

/// `sizeof_hdr` of a NIfTI-2 header, recognised only to say that the format is not read.
const NIFTI2_HEADER_LEN: i32 = 540;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The voxel types medmtl converts to `f32`: every scalar type whose values `f32` holds closely.
#[derive(Debug, Clone, Copy)]
enum Sample {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

impl Sample {
    fn bytes(self) -> usize {
        match self {
            Sample::U8 | Sample::I8 => 1,
            Sample::U16 | Sample::I16 => 2,
            Sample::U32 | Sample::I32 | Sample::F32 => 4,
            Sample::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sample::U8 => "uint8",
            Sample::I8 => "int8",
            Sample::U16 => "uint16",
            Sample::I16 => "int16",
            Sample::U32 => "uint32",
            Sample::I32 => "int32",
            Sample::F32 => "float32",
            Sample::F64 => "float64",
        }
    }
}

/// Reads a `.nii` or `.nii.gz` volume. Gzip is recognised by its magic bytes, whatever the
/// name, so a compressed file named `.nii` (or a plain one named `.nii.gz`) reads too.
///
/// Supported voxel types: uint8, int8, uint16, int16, uint32, int32, float32 and float64 (int32
/// and uint32 values above 2^24 lose precision in `f32`). Values are scaled by `scl_slope` and
/// `scl_inter` as the NIfTI-1 standard says: a slope of 0 (or a non-finite one) means unscaled,
/// and the intercept then is ignored. 3-D volumes are read, and 4-D (up to 7-D) ones whose extra
/// dimensions are all 1. Everything else (more time points, RGB, complex, 64-bit integers,
/// NIfTI-2, `.hdr`/`.img` pairs) is refused with an [`Error::Format`] naming the file, what it
/// holds and how to convert it; so is a truncated or corrupt file. The header's `bitpix` is not
/// trusted: the voxel size comes from `datatype`.
pub fn read_volume(path: &Path) -> Result<Volume> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = Vec::with_capacity(GZIP_MAGIC.len());
    file.by_ref().take(GZIP_MAGIC.len() as u64).read_to_end(&mut magic).map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    let reader = BufReader::new(file);
    if magic == GZIP_MAGIC {
        decode(path, GzMembers { member: Some(GzDecodedFile::new(reader)) }, true)
    } else {
        decode(path, reader, false)
    }
}

/// Refuses a `mask` (or a second scan) that is not on `scan`'s voxel grid, because voxel-wise
/// pairing of differently shaped volumes would silently misalign them. Only the shapes are
/// compared: spacings written by different tools often differ in the last digits.
pub fn check_same_grid(scan: &Volume, scan_path: &Path, mask: &Volume, mask_path: &Path) -> Result<()> {
    if scan.dims == mask.dims {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{} has {} voxels but {} has {}; both must be on the same voxel grid (resample one onto the other first)",
        mask_path.display(),
        shape_text(mask.dims),
        scan_path.display(),
        shape_text(scan.dims)
    )))
}

fn shape_text([x, y, z]: [usize; 3]) -> String {
    format!("{x}x{y}x{z}")
}

/// Decodes every member of a gzip file in turn, as RFC 1952 defines the format: the `nifti`
/// crate's decoder (the only gzip decoder medmtl can name without depending on `flate2`
/// itself) stops after the first member. Bytes after a member that cannot start another one
/// are ignored, as gzip(1) ignores trailing garbage.
struct GzMembers {
    member: Option<GzDecodedFile>,
}

impl Read for GzMembers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member is complete (its checksum verified); another may follow.
            let Some(mut rest) = self.member.take().map(GzDecodedFile::into_inner) else {
                return Ok(0);
            };
            if rest.fill_buf()?.first() == Some(&GZIP_MAGIC[0]) {
                self.member = Some(GzDecodedFile::new(rest));
            }
        }
    }
}

/// Parses and converts a whole (decompressed) NIfTI-1 stream.
fn decode<R: Read>(path: &Path, mut reader: R, gz: bool) -> Result<Volume> {
    let mut bytes = Vec::with_capacity(MIN_DATA_OFFSET);
    read_up_to(path, &mut reader, HEADER_LEN, &mut bytes, gz)?;
    let header = parse_header(path, &bytes, gz)?;
    let dims = grid_dims(path, &header)?;
    let sample = sample_type(path, &header)?;
    let voxels = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_VOXELS).ok_or_else(|| {
        Error::format(
            path,
            format!("the header claims {} voxels, more than medmtl reads ({MAX_VOXELS}); the header is corrupt", shape_text(dims)),
        )
    })?;
    let data_bytes = voxels * sample.bytes();
    let start = data_offset(path, &header)?;
    let end = start + data_bytes;
    read_up_to(path, &mut reader, end.saturating_sub(bytes.len()), &mut bytes, gz)?;
    if bytes.len() < end {
        let got = bytes.len().saturating_sub(start);
        let stream = if gz { "the decompressed stream" } else { "the file" };
        return Err(Error::format(
            path,
            format!(
                "voxel data ends after {got} of {data_bytes} bytes ({} {} voxels from byte {start}; {stream} has {} bytes); \
                 the file is truncated, re-download or re-export it",
                shape_text(dims),
                sample.name(),
                bytes.len()
            ),
        ));
    }
    if gz {
        // Read to the end of the stream so that the gzip checksums (of every member) are checked.
        match io::copy(&mut reader, &mut io::sink()) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                return Err(Error::format(
                    path,
                    "the gzip stream ends before its end marker and checksum; the file is truncated, re-download or re-compress it",
                ));
            }
            Err(e) => return Err(gzip_error(path, e)),
        }
    }
    let scale = scaling(&header);
    let big_endian = header.endianness == Endianness::Big;
    let data = to_f32(&bytes[start..end], sample, big_endian, scale);
    Ok(Volume { dims, voxel_size: voxel_size(&header), data })
}

/// Appends up to `limit` more bytes of `reader` to `buf`. A gzip stream cut short ends the
/// data like the end of a plain file does, keeping what was decoded, so that the callers'
/// length checks say how much is missing.
fn read_up_to<R: Read>(path: &Path, reader: &mut R, limit: usize, buf: &mut Vec<u8>, gz: bool) -> Result<()> {
    match reader.by_ref().take(limit as u64).read_to_end(buf) {
        Ok(_) => Ok(()),
        Err(e) if gz && e.kind() == ErrorKind::UnexpectedEof => Ok(()),
        Err(e) if gz => Err(gzip_error(path, e)),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Decoding errors of a gzip stream are about the file's contents; other I/O errors stay I/O errors.
fn gzip_error(path: &Path, e: io::Error) -> Error {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::InvalidData => {
            Error::format(path, format!("the gzip data is corrupt ({e}); re-download the file or re-compress it"))
        }
        _ => Error::io(path, e),
    }
}

fn parse_header(path: &Path, bytes: &[u8], gz: bool) -> Result<NiftiHeader> {
    if bytes.len() < HEADER_LEN {
        let stream = if gz { "decompressed stream" } else { "file" };
        return Err(Error::format(
            path,
            format!(
                "the {stream} ends after {} bytes, inside the {HEADER_LEN}-byte NIfTI-1 header; the file is truncated or not a NIfTI file",
                bytes.len()
            ),
        ));
    }
    let size_field = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if i32::from_le_bytes(size_field) == NIFTI2_HEADER_LEN || i32::from_be_bytes(size_field) == NIFTI2_HEADER_LEN {
        return Err(Error::format(
            path,
            "this is a NIfTI-2 file, which medmtl does not read; save it as NIfTI-1 (e.g. nibabel's Nifti1Image, or \
             `fslchfiletype NIFTI_GZ`)",
        ));
    }
    let header = NiftiHeader::from_reader(&bytes[..HEADER_LEN]).map_err(|e| {
        if matches!(e, NiftiError::InvalidFormat) {
            let named_gz = path.extension().is_some_and(|x| x.eq_ignore_ascii_case("gz"));
            let hint = if !gz && named_gz { " (the name ends in .gz, but the file is not gzip-compressed either)" } else { "" };
            Error::format(
                path,
                format!(
                    "not a NIfTI-1 file: bytes 344..348 are \"{}\", not the magic \"n+1\\0\"{hint}",
                    bytes[344..HEADER_LEN].escape_ascii()
                ),
            )
        } else {
            Error::format(path, format!("unreadable NIfTI-1 header: {e}"))
        }
    })?;
    if header.sizeof_hdr != HEADER_LEN as i32 {
        return Err(Error::format(path, format!("not a NIfTI-1 file: its header size field is {}, not {HEADER_LEN}", header.sizeof_hdr)));
    }
    if header.magic == *nifti::header::MAGIC_CODE_NI1 {
        return Err(Error::format(
            path,
            "this is the header of a .hdr/.img pair (magic \"ni1\"), whose voxels are in a separate .img file; medmtl \
             reads single-file .nii/.nii.gz volumes, so convert the pair (e.g. `fslchfiletype NIFTI_GZ`, or nibabel)",
        ));
    }
    Ok(header)
}

/// The volume's x, y, z sizes, refusing anything that is not one 3-D scalar grid.
fn grid_dims(path: &Path, header: &NiftiHeader) -> Result<[usize; 3]> {
    // The crate reads `dim` as u16, but the standard declares it signed: a negative size must
    // show as negative, not as 65535.
    let dim = header.dim.map(|d| d as i16);
    let rank = dim[0];
    let listed = if (1..=7).contains(&rank) { &dim[1..=rank as usize] } else { &dim[1..] };
    let shape = listed.iter().map(i16::to_string).collect::<Vec<_>>().join("x");
    let refuse = |what: String| {
        Error::format(
            path,
            format!(
                "{what}; medmtl reads 3-D scalar volumes (a 4-D file must hold a single time point), so extract one 3-D \
                 volume first (e.g. `fslroi in.nii.gz out.nii.gz 0 1`, or nibabel's slicer)"
            ),
        )
    };
    if !(3..=7).contains(&rank) {
        return Err(refuse(format!("the header's dim[0] is {rank} (dim = {dim:?})")));
    }
    if listed[3..].iter().any(|&d| d != 1) {
        return Err(refuse(format!("the volume is {rank}-D with shape {shape}")));
    }
    if listed[..3].iter().any(|&d| d < 1) {
        return Err(Error::format(path, format!("the header's volume shape {shape} has a size below 1; the header is corrupt")));
    }
    Ok([listed[0] as usize, listed[1] as usize, listed[2] as usize])
}

fn sample_type(path: &Path, header: &NiftiHeader) -> Result<Sample> {
    let code = header.datatype;
    let datatype = header
        .data_type()
        .map_err(|_| Error::format(path, format!("unknown datatype code {code} in the header; the file is corrupt or not NIfTI-1")))?;
    let hint = match datatype {
        NiftiType::Uint8 => return Ok(Sample::U8),
        NiftiType::Int8 => return Ok(Sample::I8),
        NiftiType::Uint16 => return Ok(Sample::U16),
        NiftiType::Int16 => return Ok(Sample::I16),
        NiftiType::Uint32 => return Ok(Sample::U32),
        NiftiType::Int32 => return Ok(Sample::I32),
        NiftiType::Float32 => return Ok(Sample::F32),
        NiftiType::Float64 => return Ok(Sample::F64),
        NiftiType::Rgb24 | NiftiType::Rgba32 => "convert it to a single-channel (grey-level) volume",
        NiftiType::Complex64 | NiftiType::Complex128 | NiftiType::Complex256 => "save its magnitude as a float32 volume",
        NiftiType::Int64 | NiftiType::Uint64 | NiftiType::Float128 => {
            "convert it to float32 or int32 (e.g. `fslmaths in.nii.gz out.nii.gz -odt float`)"
        }
    };
    Err(Error::format(
        path,
        format!(
            "voxel datatype {datatype:?} (code {code}) is not supported: medmtl reads scalar uint8, int8, uint16, int16, \
             uint32, int32, float32 and float64 volumes; {hint}"
        ),
    ))
}

/// Where the voxel data start: `vox_offset`, but never inside the header and extender bytes
/// (some writers leave it 0, which for a `.nii` can only mean right after them).
fn data_offset(path: &Path, header: &NiftiHeader) -> Result<usize> {
    let offset = header.vox_offset;
    // Beyond 2^24 an f32 no longer holds every integer, so no writer can mean such an offset.
    if !offset.is_finite() || offset < 0.0 || offset.fract() != 0.0 || offset > 16_777_216.0 {
        return Err(Error::format(path, format!("the header's vox_offset {offset} is not a valid byte offset; the header is corrupt")));
    }
    Ok((offset as usize).max(MIN_DATA_OFFSET))
}

/// `(slope, intercept)` to apply, or `None` when the standard says the stored values are final.
fn scaling(header: &NiftiHeader) -> Option<(f64, f64)> {
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope == 0.0 || !slope.is_finite() {
        return None;
    }
    Some((f64::from(slope), if inter.is_finite() { f64::from(inter) } else { 0.0 }))
}

fn voxel_size(header: &NiftiHeader) -> [f32; 3] {
    // xyzt_units bits 0..3: 1 metre, 2 millimetre, 3 micron, 0 unknown.
    let to_mm = match header.xyzt_units & 0x07 {
        1 => 1000.0,
        3 => 0.001,
        _ => 1.0,
    };
    let spacing = |p: f32| if p.is_finite() && p != 0.0 { p.abs() * to_mm } else { 1.0 };
    [spacing(header.pixdim[1]), spacing(header.pixdim[2]), spacing(header.pixdim[3])]
}

fn to_f32(raw: &[u8], sample: Sample, big: bool, scale: Option<(f64, f64)>) -> Vec<f32> {
    match sample {
        Sample::U8 => convert(raw, scale, |b: [u8; 1]| f64::from(b[0])),
        Sample::I8 => convert(raw, scale, |b: [u8; 1]| f64::from(i8::from_le_bytes(b))),
        Sample::U16 => convert(raw, scale, |b: [u8; 2]| f64::from(if big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })),
        Sample::I16 => convert(raw, scale, |b: [u8; 2]| f64::from(if big { i16::from_be_bytes(b) } else { i16::from_le_bytes(b) })),
        Sample::U32 => convert(raw, scale, |b: [u8; 4]| f64::from(if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })),
        Sample::I32 => convert(raw, scale, |b: [u8; 4]| f64::from(if big { i32::from_be_bytes(b) } else { i32::from_le_bytes(b) })),
        Sample::F32 => convert(raw, scale, |b: [u8; 4]| f64::from(if big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) })),
        Sample::F64 => convert(raw, scale, |b: [u8; 8]| if big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }),
    }
}

/// Scaling in f64, so that e.g. int32 values times a small slope keep their precision until
/// the final rounding to f32.
fn convert<const N: usize, F: Fn([u8; N]) -> f64>(raw: &[u8], scale: Option<(f64, f64)>, read: F) -> Vec<f32> {
    raw.chunks_exact(N)
        .map(|chunk| {
            let mut b = [0u8; N];
            b.copy_from_slice(chunk);
            let value = read(b);
            match scale {
                Some((slope, inter)) => (value * slope + inter) as f32,
                None => value as f32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::*;

    /// NIfTI-1 datatype codes, written out so that the tests do not depend on the crate.
    const UINT8: i16 = 2;
    const INT16: i16 = 4;
    const INT32: i16 = 8;
    const FLOAT32: i16 = 16;
    const FLOAT64: i16 = 64;
    const RGB24: i16 = 128;
    const INT8: i16 = 256;
    const UINT16: i16 = 512;
    const UINT32: i16 = 768;

    /// How a test file's header is filled in.
    struct Spec {
        dims: Vec<u16>,
        datatype: i16,
        bitpix: i16,
        slope: f32,
        inter: f32,
        big_endian: bool,
        vox_offset: usize,
    }

    impl Spec {
        fn new(dims: &[u16], datatype: i16, bitpix: i16) -> Self {
            Spec { dims: dims.to_vec(), datatype, bitpix, slope: 0.0, inter: 0.0, big_endian: false, vox_offset: 352 }
        }
    }

    /// A single-file NIfTI-1 (`n+1`): the 348-byte header, the 4 extender bytes (zero: no
    /// extensions), zero padding up to `vox_offset`, then `data` (already in the file's byte order).
    fn nii(spec: &Spec, data: &[u8]) -> Vec<u8> {
        let big = spec.big_endian;
        let mut out = vec![0u8; spec.vox_offset];
        let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
        let i16b = |v: i16| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let f32b = |v: f32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        put(0, &if big { 348i32.to_be_bytes() } else { 348i32.to_le_bytes() });
        let mut dim = [1i16; 8];
        dim[0] = spec.dims.len() as i16;
        for (i, &d) in spec.dims.iter().enumerate() {
            dim[i + 1] = d as i16;
        }
        for (i, &d) in dim.iter().enumerate() {
            put(40 + 2 * i, &i16b(d));
        }
        put(70, &i16b(spec.datatype));
        put(72, &i16b(spec.bitpix));
        let pixdim = [1.0f32, 0.5, 0.75, 2.0, 1.0, 1.0, 1.0, 1.0];
        for (i, &p) in pixdim.iter().enumerate() {
            put(76 + 4 * i, &f32b(p));
        }
        put(108, &f32b(spec.vox_offset as f32));
        put(112, &f32b(spec.slope));
        put(116, &f32b(spec.inter));
        put(123, &[2]); // xyzt_units: millimetres
        put(344, b"n+1\0");
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("gzip into memory");
        encoder.finish().expect("gzip into memory")
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }

    /// Reads `data` as a 1-D row of `values.len()` voxels and compares with `values`.
    fn check_type(datatype: i16, bitpix: i16, data: Vec<u8>, values: &[f32]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = Spec::new(&[values.len() as u16, 1, 1], datatype, bitpix);
        let path = write(dir.path(), "typed.nii", &nii(&spec, &data));
        let v = read_volume(&path).expect("read typed volume");
        assert_eq!(v.dims, [values.len(), 1, 1]);
        assert_eq!(v.data, values, "datatype {datatype}");
    }

    fn error_text(path: &Path) -> String {
        match read_volume(path) {
            Ok(v) => panic!("{} read as a {:?} volume, expected an error", path.display(), v.dims),
            Err(e) => e.to_string(),
        }
    }

    fn f32_volume_bytes(n: usize) -> (Vec<u8>, Vec<f32>) {
        let values: Vec<f32> = (0..n).map(|i| i as f32 * 1.25 - 7.0).collect();
        (values.iter().flat_map(|v| v.to_le_bytes()).collect(), values)
    }

    #[test]
    fn reads_every_supported_type() {
        check_type(UINT8, 8, vec![0, 1, 128, 255], &[0.0, 1.0, 128.0, 255.0]);
        check_type(INT8, 8, [-128i8, -1, 0, 127].iter().flat_map(|v| v.to_le_bytes()).collect(), &[-128.0, -1.0, 0.0, 127.0]);
        check_type(UINT16, 16, [0u16, 1, 40000, 65535].iter().flat_map(|v| v.to_le_bytes()).collect(), &[0.0, 1.0, 40000.0, 65535.0]);
        check_type(INT16, 16, [-32768i16, -2, 3, 32767].iter().flat_map(|v| v.to_le_bytes()).collect(), &[-32768.0, -2.0, 3.0, 32767.0]);
        check_type(
            INT32,
            32,
            [-100_000i32, 0, 7, 16_777_216].iter().flat_map(|v| v.to_le_bytes()).collect(),
            &[-100_000.0, 0.0, 7.0, 16_777_216.0],
        );
        check_type(
            UINT32,
            32,
            [0u32, 9, 65_536, 4_000_000_000].iter().flat_map(|v| v.to_le_bytes()).collect(),
            &[0.0, 9.0, 65_536.0, 4_000_000_000.0],
        );
        check_type(FLOAT32, 32, [1.5f32, -2.25, 0.0, 1e-3].iter().flat_map(|v| v.to_le_bytes()).collect(), &[1.5, -2.25, 0.0, 1e-3]);
        check_type(
            FLOAT64,
            64,
            [0.5f64, -3.0, 0.1, 1e10].iter().flat_map(|v| v.to_le_bytes()).collect(),
            &[0.5, -3.0, 0.1f64 as f32, 1e10],
        );
    }

    #[test]
    fn reads_big_endian_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut spec = Spec::new(&[3, 1, 1], INT16, 16);
        spec.big_endian = true;
        spec.slope = 2.0;
        spec.inter = 0.5;
        let data: Vec<u8> = [-300i16, 1, 258].iter().flat_map(|v| v.to_be_bytes()).collect();
        let path = write(dir.path(), "be16.nii", &nii(&spec, &data));
        let v = read_volume(&path).expect("read big-endian int16");
        assert_eq!(v.data, [-599.5, 2.5, 516.5]);
        assert_eq!(v.voxel_size, [0.5, 0.75, 2.0]);

        let mut spec = Spec::new(&[2, 1, 1], FLOAT32, 32);
        spec.big_endian = true;
        let data: Vec<u8> = [1.5f32, -8.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        let path = write(dir.path(), "be32.nii", &nii(&spec, &data));
        assert_eq!(read_volume(&path).expect("read big-endian float32").data, [1.5, -8.0]);
    }

    #[test]
    fn applies_slope_and_intercept_unless_slope_is_zero() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data: Vec<u8> = [1i16, 2, -3].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut spec = Spec::new(&[3, 1, 1], INT16, 16);
        spec.slope = 2.0;
        spec.inter = -1.0;
        let path = write(dir.path(), "scaled.nii", &nii(&spec, &data));
        assert_eq!(read_volume(&path).expect("read scaled").data, [1.0, 3.0, -7.0]);

        spec.slope = 0.0;
        spec.inter = 5.0;
        let path = write(dir.path(), "unscaled.nii", &nii(&spec, &data));
        assert_eq!(read_volume(&path).expect("read unscaled").data, [1.0, 2.0, -3.0]);

        spec.slope = f32::NAN;
        let path = write(dir.path(), "nan_slope.nii", &nii(&spec, &data));
        assert_eq!(read_volume(&path).expect("read NaN slope").data, [1.0, 2.0, -3.0]);
    }

    #[test]
    fn gzipped_and_plain_files_read_the_same() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (data, values) = f32_volume_bytes(24);
        let bytes = nii(&Spec::new(&[3, 4, 2], FLOAT32, 32), &data);
        let plain = read_volume(&write(dir.path(), "v.nii", &bytes)).expect("read .nii");
        let gz = read_volume(&write(dir.path(), "v.nii.gz", &gzip(&bytes))).expect("read .nii.gz");
        // Gzip is recognised by its content, not by the name.
        let misnamed = read_volume(&write(dir.path(), "gz_named.nii", &gzip(&bytes))).expect("read gzip named .nii");
        let plain_named_gz = read_volume(&write(dir.path(), "plain.nii.gz", &bytes)).expect("read plain named .nii.gz");
        assert_eq!(plain.dims, [3, 4, 2]);
        assert_eq!(plain.voxel_size, [0.5, 0.75, 2.0]);
        assert_eq!(plain.data, values);
        assert_eq!(gz, plain);
        assert_eq!(misnamed, plain);
        assert_eq!(plain_named_gz, plain);

        // A multi-member gzip file (as bgzip writes) holds the concatenation of its members.
        let (head, tail) = bytes.split_at(400);
        let mut members = gzip(head);
        members.extend_from_slice(&gzip(tail));
        let multi = read_volume(&write(dir.path(), "members.nii.gz", &members)).expect("read multi-member gzip");
        assert_eq!(multi, plain);
    }

    #[test]
    fn reads_single_time_point_4d_volumes_and_skips_extensions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (data, values) = f32_volume_bytes(6);
        let path = write(dir.path(), "t1.nii", &nii(&Spec::new(&[3, 2, 1, 1], FLOAT32, 32), &data));
        let v = read_volume(&path).expect("read 4-D with one time point");
        assert_eq!(v.dims, [3, 2, 1]);
        assert_eq!(v.data, values);

        let mut spec = Spec::new(&[3, 2, 1], FLOAT32, 32);
        spec.vox_offset = 368;
        let mut bytes = nii(&spec, &data);
        bytes[348] = 1; // extender: an extension follows
        bytes[352..356].copy_from_slice(&16i32.to_le_bytes()); // esize
        bytes[356..360].copy_from_slice(&6i32.to_le_bytes()); // ecode (comment)
        bytes[360..368].copy_from_slice(b"comment\0");
        let v = read_volume(&write(dir.path(), "ext.nii", &bytes)).expect("read with an extension");
        assert_eq!(v.data, values);
    }

    #[test]
    fn voxel_size_follows_the_spatial_unit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut bytes = nii(&Spec::new(&[1, 1, 1], UINT8, 8), &[7]);
        bytes[123] = 1; // metres
        let v = read_volume(&write(dir.path(), "metres.nii", &bytes)).expect("read metres");
        assert_eq!(v.voxel_size, [500.0, 750.0, 2000.0]);
        bytes[123] = 2;
        bytes[80..84].copy_from_slice(&0f32.to_le_bytes()); // pixdim[1] unset
        let v = read_volume(&write(dir.path(), "unset.nii", &bytes)).expect("read unset spacing");
        assert_eq!(v.voxel_size, [1.0, 0.75, 2.0]);
    }

    #[test]
    fn slices_keep_the_storage_order() {
        // 3 x 4 x 2, value = index = x + 3 * (y + 4 * z).
        let v = Volume { dims: [3, 4, 2], voxel_size: [1.0; 3], data: (0..24).map(|i| i as f32).collect() };
        assert_eq!(v.get(2, 1, 1), 17.0);

        let (rows, cols, values) = v.slice(2, 1).expect("axial slice");
        assert_eq!((rows, cols), (4, 3));
        assert_eq!(values, (12..24).map(|i| i as f32).collect::<Vec<_>>());

        let (rows, cols, values) = v.slice(1, 2).expect("coronal slice");
        assert_eq!((rows, cols), (2, 3));
        assert_eq!(values, [6.0, 7.0, 8.0, 18.0, 19.0, 20.0]);

        let (rows, cols, values) = v.slice(0, 1).expect("sagittal slice");
        assert_eq!((rows, cols), (2, 4));
        assert_eq!(values, [1.0, 4.0, 7.0, 10.0, 13.0, 16.0, 19.0, 22.0]);

        for axis in 0..3 {
            let (rows, cols, values) = v.slice(axis, 0).expect("slice 0");
            for r in 0..rows {
                for c in 0..cols {
                    let expected = match axis {
                        0 => v.get(0, c, r),
                        1 => v.get(c, 0, r),
                        _ => v.get(c, r, 0),
                    };
                    assert_eq!(values[r * cols + c], expected, "axis {axis} row {r} col {c}");
                }
            }
        }

        assert!(matches!(v.slice(3, 0), Err(Error::Invalid(_))));
        assert!(matches!(v.slice(0, 3), Err(Error::Invalid(_))));
        assert!(matches!(v.slice(2, 2), Err(Error::Invalid(_))));
        let broken = Volume { data: vec![0.0; 5], ..v };
        assert!(matches!(broken.slice(2, 0), Err(Error::Invalid(_))));
    }

    #[test]
    fn truncated_files_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (data, _) = f32_volume_bytes(24);
        let bytes = nii(&Spec::new(&[3, 4, 2], FLOAT32, 32), &data);

        let path = write(dir.path(), "short.nii", &bytes[..bytes.len() - 5]);
        let msg = error_text(&path);
        assert!(msg.contains("short.nii") && msg.contains("after 91 of 96 bytes"), "{msg}");

        let path = write(dir.path(), "header_only.nii", &bytes[..200]);
        let msg = error_text(&path);
        assert!(msg.contains("header_only.nii") && msg.contains("ends after 200 bytes"), "{msg}");

        let path = write(dir.path(), "empty.nii", &[]);
        let msg = error_text(&path);
        assert!(msg.contains("empty.nii") && msg.contains("ends after 0 bytes"), "{msg}");

        let gz = gzip(&bytes);
        let path = write(dir.path(), "half.nii.gz", &gz[..gz.len() / 2]);
        let msg = error_text(&path);
        assert!(msg.contains("half.nii.gz") && msg.contains("truncated"), "{msg}");

        // Voxels complete, but the checksum cut off: the file is still damaged.
        let path = write(dir.path(), "no_crc.nii.gz", &gz[..gz.len() - 4]);
        let msg = error_text(&path);
        assert!(msg.contains("no_crc.nii.gz") && msg.contains("truncated"), "{msg}");

        let mut corrupt = gz.clone();
        let n = corrupt.len();
        corrupt[n - 8] ^= 0xff; // CRC32 of the data
        let path = write(dir.path(), "bad_crc.nii.gz", &corrupt);
        let msg = error_text(&path);
        assert!(msg.contains("bad_crc.nii.gz") && msg.contains("corrupt"), "{msg}");
    }

    #[test]
    fn foreign_and_unsupported_files_are_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let garbage: Vec<u8> = (0..400u32).map(|i| (i * 37 + 11) as u8).collect();
        let path = write(dir.path(), "garbage.nii", &garbage);
        let msg = error_text(&path);
        assert!(msg.contains("garbage.nii") && msg.contains("not a NIfTI-1 file"), "{msg}");

        let path = write(dir.path(), "rgb.nii", &nii(&Spec::new(&[2, 1, 1], RGB24, 24), &[1, 2, 3, 4, 5, 6]));
        let msg = error_text(&path);
        assert!(msg.contains("rgb.nii") && msg.contains("Rgb24") && msg.contains("code 128"), "{msg}");

        let path = write(dir.path(), "code3.nii", &nii(&Spec::new(&[1, 1, 1], 3, 8), &[0]));
        let msg = error_text(&path);
        assert!(msg.contains("code3.nii") && msg.contains("unknown datatype code 3"), "{msg}");

        let path = write(dir.path(), "series.nii", &nii(&Spec::new(&[1, 1, 1, 2], UINT8, 8), &[0, 1]));
        let msg = error_text(&path);
        assert!(msg.contains("series.nii") && msg.contains("4-D with shape 1x1x1x2"), "{msg}");

        let path = write(dir.path(), "flat.nii", &nii(&Spec::new(&[2, 2], UINT8, 8), &[0, 1, 2, 3]));
        let msg = error_text(&path);
        assert!(msg.contains("flat.nii") && msg.contains("dim[0] is 2"), "{msg}");

        let mut nifti2 = nii(&Spec::new(&[1, 1, 1], UINT8, 8), &[0]);
        nifti2[0..4].copy_from_slice(&540i32.to_le_bytes());
        let path = write(dir.path(), "two.nii", &nifti2);
        let msg = error_text(&path);
        assert!(msg.contains("two.nii") && msg.contains("NIfTI-2"), "{msg}");

        let msg = error_text(&dir.path().join("missing.nii"));
        assert!(msg.contains("missing.nii"), "{msg}");
    }

    #[test]
    fn check_same_grid_refuses_different_shapes() {
        let scan = Volume { dims: [3, 4, 2], voxel_size: [1.0; 3], data: vec![0.0; 24] };
        let mask = Volume { dims: [3, 4, 1], voxel_size: [1.0; 3], data: vec![0.0; 12] };
        let (scan_path, mask_path) = (Path::new("scans/a_scan.nii.gz"), Path::new("masks/a_mask.nii.gz"));
        check_same_grid(&scan, scan_path, &scan, scan_path).expect("same grid");
        let msg = check_same_grid(&scan, scan_path, &mask, mask_path).expect_err("different grids").to_string();
        for part in ["a_scan.nii.gz", "a_mask.nii.gz", "3x4x2", "3x4x1"] {
            assert!(msg.contains(part), "{part} missing from: {msg}");
        }
    }
}
