//! Arbitrary text as a suite file: parsing and validation must return an error, never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use medmtl::config::Suite;
use medmtl::data::catalog::Catalog;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.toml");
    if let Ok(suite) = Suite::parse(text, path) {
        if let Ok(catalog) = Catalog::embedded() {
            let _ = suite.validate(&catalog, path);
            let _ = medmtl::bench::plan(&suite);
        }
    }
});
