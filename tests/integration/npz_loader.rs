//! The MedMNIST `.npz` loader on archives the tests write themselves: both label layouts,
//! grey and RGB, and corrupt or truncated files (clear errors, no panic).

use std::io::{Cursor, Write};
use std::path::Path;

use medmtl::data::catalog::Catalog;
use medmtl::data::medmnist::read_archive;
use medmtl::data::npz::NpzArchive;
use medmtl::data::SourceValues;

/// The bytes of a `.npy` file holding `data` (uint8) with `shape`.
fn npy_u8(shape: &[u64], data: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::<u8>::new().default_dtype().shape(shape).writer(&mut buf).begin_nd().unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    buf
}

fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            zip.start_file(format!("{name}.npy"), opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// A tiny MedMNIST-like archive: `n` images per split of 4x4 (grey or RGB), labels 0..classes.
fn medmnist_like(rgb: bool, column_labels: bool, classes: u8) -> Vec<u8> {
    let mut members = Vec::new();
    for (split, n) in [("train", 6u64), ("val", 2), ("test", 3)] {
        let shape: Vec<u64> = if rgb { vec![n, 4, 4, 3] } else { vec![n, 4, 4] };
        let count: u64 = shape.iter().product();
        let pixels: Vec<u8> = (0..count).map(|i| (i * 7 % 256) as u8).collect();
        members.push((format!("{split}_images"), npy_u8(&shape, &pixels)));
        let labels: Vec<u8> = (0..n).map(|i| (i % classes as u64) as u8).collect();
        let lshape = if column_labels { vec![n, 1] } else { vec![n] };
        members.push((format!("{split}_labels"), npy_u8(&lshape, &labels)));
    }
    let refs: Vec<(&str, Vec<u8>)> = members.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    npz(&refs)
}

fn load(bytes: Vec<u8>, dataset: &str) -> medmtl::Result<medmtl::data::Dataset> {
    let catalog = Catalog::embedded().unwrap();
    let entry = catalog.get(dataset).unwrap();
    let path = Path::new("test.npz");
    let mut archive = NpzArchive::from_reader(path, Cursor::new(bytes))?;
    read_archive(&mut archive, path, entry)
}

#[test]
fn reads_rgb_with_column_labels_and_grey_with_flat_labels() {
    let rgb = load(medmnist_like(true, true, 5), "retinamnist").unwrap();
    assert_eq!((rgb.shape.channels, rgb.shape.height, rgb.shape.width), (3, 4, 4));
    assert_eq!((rgb.train.len(), rgb.val.len(), rgb.test.len()), (6, 2, 3));
    assert_eq!(rgb.train.source("label"), Some(&SourceValues::Labels(vec![0, 1, 2, 3, 4, 0])));
    // pixel (y=0, x=1, c=2) of image 0 is byte 5 -> 35; stored NCHW, normalised to [-1, 1]
    let v = rgb.train.images()[2 * 16 + 1];
    assert!((v - ((35.0 / 255.0 - 0.5) / 0.5)).abs() < 1e-6);

    let grey = load(medmnist_like(false, false, 2), "breastmnist").unwrap();
    assert_eq!(grey.shape.channels, 1);
    assert_eq!(grey.test.source("label"), Some(&SourceValues::Labels(vec![0, 1, 0])));
}

#[test]
fn channel_count_must_match_the_catalog() {
    let msg = load(medmnist_like(false, true, 5), "retinamnist").unwrap_err().to_string();
    assert!(msg.contains("test.npz") && msg.contains("channel"), "{msg}");
}

#[test]
fn labels_out_of_range_are_refused() {
    let msg = load(medmnist_like(false, true, 3), "breastmnist").unwrap_err().to_string();
    assert!(msg.contains("test.npz") && msg.contains("train_labels") && msg.contains("contain 2"), "{msg}");
}

#[test]
fn a_missing_array_is_named() {
    let bytes = npz(&[("train_images", npy_u8(&[1, 2, 2], &[0, 1, 2, 3]))]);
    let msg = load(bytes, "breastmnist").unwrap_err().to_string();
    assert!(msg.contains("train_labels") && msg.contains("train_images"), "{msg}");
}

#[test]
fn truncated_and_garbage_files_give_errors_not_panics() {
    let good = medmnist_like(false, true, 2);
    for cut in [0, 10, good.len() / 3, good.len() / 2, good.len() - 30] {
        let err = load(good[..cut].to_vec(), "breastmnist").unwrap_err().to_string();
        assert!(err.contains("test.npz"), "cut {cut}: {err}");
    }
    let err = load(b"this is not a zip archive at all".to_vec(), "breastmnist").unwrap_err().to_string();
    assert!(err.contains("not a readable .npz"), "{err}");
}

/// A hand-made `.npy` (format 1.0) with any header, for headers numpy would never write.
fn raw_npy(header_dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header_dict.to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn absurd_declared_shapes_are_refused_before_allocating() {
    for shape in ["(1000000000000, 2, 2)", "(4294967296, 4294967296, 4294967296)", "(3, 2, 2)"] {
        let header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
        let bytes = npz(&[("train_images", raw_npy(&header, &[0, 1, 2, 3]))]);
        let path = Path::new("huge.npz");
        let mut archive = NpzArchive::from_reader(path, Cursor::new(bytes)).unwrap();
        let msg = archive.read_u8("train_images").unwrap_err().to_string();
        assert!(
            msg.contains("huge.npz")
                && msg.contains("train_images")
                && (msg.contains("absurd") || msg.contains("truncated") || msg.contains("overflows")),
            "{shape}: {msg}"
        );
    }
}

#[test]
fn fortran_order_and_non_integer_labels_are_refused() {
    let header = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }";
    let bytes = npz(&[("x", raw_npy(header, &[0, 1, 2, 3]))]);
    let mut archive = NpzArchive::from_reader(Path::new("f.npz"), Cursor::new(bytes)).unwrap();
    assert!(archive.read_u8("x").unwrap_err().to_string().contains("Fortran"));
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
    let bytes = npz(&[("y", raw_npy(header, &[0, 0, 128, 63]))]);
    let mut archive = NpzArchive::from_reader(Path::new("f.npz"), Cursor::new(bytes)).unwrap();
    assert!(archive.read_int("y").unwrap_err().to_string().contains("not an integer"));
}

/// A zip member whose header declares far more data than the archive holds (a "zip bomb"
/// claim) or whose name tries to escape the folder is only ever read by name, bounded by the
/// array's declared shape: errors, no panic, no extraction.
#[test]
fn lying_zip_sizes_and_traversal_names_are_harmless() {
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }";
    let mut bytes = npz(&[("../../etc/train_images", raw_npy(header, &[1, 2, 3, 4, 5, 6, 7, 8]))]);
    // Patch the central directory's uncompressed size of the only member to 4 GiB - 1.
    let cd = bytes.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    let path = Path::new("bomb.npz");
    match NpzArchive::from_reader(path, Cursor::new(bytes)) {
        Ok(mut archive) => {
            assert_eq!(archive.keys(), vec!["../../etc/train_images".to_string()]);
            // Reading by its exact (hostile) name never touches the file system.
            let _ = archive.read_u8("../../etc/train_images");
            let msg = archive.read_u8("train_images").unwrap_err().to_string();
            assert!(msg.contains("bomb.npz") && msg.contains("has no array"), "{msg}");
        }
        Err(e) => assert!(e.to_string().contains("bomb.npz")),
    }
    assert!(!Path::new("../../etc/train_images.npy").exists());
}

/// Found by the `npz` fuzz target: the header parser backtracks exponentially on nested
/// tuples (15 levels took seconds; 40 would not finish), so such headers are refused before
/// parsing, as are headers over numpy's own 10000-byte limit.
#[test]
fn deeply_nested_and_oversized_headers_are_refused_before_parsing() {
    let nested = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {}3{}, }}", "(3, ".repeat(40), ",)".repeat(40));
    let huge = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': (4,), 'pad': '{}', }}", "x".repeat(20_000));
    let mut long_header = b"\x93NUMPY\x02\x00".to_vec();
    long_header.extend_from_slice(&(huge.len() as u32 + 1).to_le_bytes());
    long_header.extend_from_slice(huge.as_bytes());
    long_header.push(b'\n');
    long_header.extend_from_slice(&[0, 1, 2, 3]);
    for (npy, want) in [(raw_npy(&nested, &[0; 27]), "nesting"), (long_header, "over numpy's own limit")] {
        let bytes = npz(&[("train_images", npy)]);
        let mut archive = NpzArchive::from_reader(Path::new("hostile.npz"), Cursor::new(bytes)).unwrap();
        let msg = archive.read_u8("train_images").unwrap_err().to_string();
        assert!(msg.contains("hostile.npz") && msg.contains("train_images") && msg.contains(want), "{msg}");
    }
    // A legitimate header with the most nesting numpy writes still reads.
    let ok = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }";
    let mut archive = NpzArchive::from_reader(Path::new("ok.npz"), Cursor::new(npz(&[("x", raw_npy(ok, &[1, 2, 3, 4]))]))).unwrap();
    assert_eq!(archive.read_u8("x").unwrap().data, vec![1, 2, 3, 4]);
}
