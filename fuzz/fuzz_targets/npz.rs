//! Arbitrary bytes as a MedMNIST `.npz`: the reader must return an error, never panic,
//! abort or allocate without bound.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use medmtl::data::catalog::Catalog;
use medmtl::data::medmnist::read_archive;
use medmtl::data::npz::NpzArchive;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npz");
    let Ok(mut archive) = NpzArchive::from_reader(path, Cursor::new(data)) else { return };
    for key in archive.keys() {
        let _ = archive.read_u8(&key);
        let _ = archive.read_int(&key);
        let _ = archive.read_f32(&key);
    }
    if let Ok(catalog) = Catalog::embedded() {
        for name in ["retinamnist", "breastmnist", "chestmnist"] {
            if let Some(entry) = catalog.get(name) {
                let _ = read_archive(&mut archive, path, entry);
            }
        }
    }
});
