//! BUS-BRA and HC18 through their embedded specs on the real shared copies, found through
//! `MEDMTL_DATA_DIR` (`.ci/run` points it at `../shared/datasets`). Without the variable these
//! tests say so and pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use medmtl::data::ellipse::{fill_fitted_ellipse, fill_outline, head_circumference_mm};
use medmtl::data::fetch::{DataSources, DATA_DIR_ENV};
use medmtl::data::folder::{embedded_spec, load_folder_dataset_with_report, split_plan, PlannedImage};
use medmtl::data::png_io::read_mask;
use medmtl::data::{Dataset, SourceValues, Split, SplitName};

/// The tests here time loads; they run one at a time so that one test's decoding does not
/// slow down the other's cache hit.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("{DATA_DIR_ENV} is not set: skipping the real folder-dataset checks");
            None
        }
    }
}

fn count(plan: &[PlannedImage], split: SplitName) -> usize {
    plan.iter().filter(|p| p.split == Some(split)).count()
}

/// Every group lies in exactly one split.
fn assert_no_group_in_two_splits(plan: &[PlannedImage]) {
    let mut seen: BTreeMap<&str, SplitName> = BTreeMap::new();
    for p in plan {
        let split = p.split.expect("nothing dropped in the staged copies");
        if let Some(&other) = seen.get(p.group.as_str()) {
            assert_eq!(other, split, "group {} is in {other} and {split} ({})", p.group, p.path);
        }
        seen.insert(&p.group, split);
    }
}

fn masks(split: &Split, source: &str) -> (usize, Vec<u8>) {
    match split.source(source) {
        Some(SourceValues::Masks { height, width, values }) => (height * width, values.clone()),
        other => panic!("{source}: {other:?}"),
    }
}

fn assert_masks_binary_and_non_empty(d: &Dataset, source: &str) {
    for which in SplitName::ALL {
        let (per, values) = masks(d.split(which), source);
        assert!(values.iter().all(|&v| v <= 1), "{which}: mask values beyond 0/1");
        for (i, m) in values.chunks(per).enumerate() {
            assert!(m.contains(&1), "{which} sample {i}: empty {source} mask");
        }
    }
}

/// Loads twice into a fresh cache folder: the second load must be a cache hit with the same
/// data, and faster.
fn load_twice(name: &str, size: u32, dir: PathBuf) -> (Dataset, medmtl::data::folder::LoadReport) {
    let spec = embedded_spec(name).unwrap();
    let sources = DataSources::local(vec![dir], PathBuf::from("datasets/cache"));
    let cache = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let (a, ra) = load_folder_dataset_with_report(&spec, size, &sources, cache.path()).unwrap();
    let first = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (b, rb) = load_folder_dataset_with_report(&spec, size, &sources, cache.path()).unwrap();
    let second = t1.elapsed().as_secs_f64();
    eprintln!(
        "{name} at {size}px: first load {first:.2} s (decode + resize), second {second:.2} s (cache hit, {:.1}x faster); cache file {} ({} bytes)",
        first / second,
        rb.cache_file.display(),
        std::fs::metadata(&rb.cache_file).map(|m| m.len()).unwrap_or(0)
    );
    assert!(!ra.cache_hit && rb.cache_hit);
    assert!(second < first, "a cache hit ({second:.2} s) should be faster than decoding ({first:.2} s)");
    for which in SplitName::ALL {
        assert_eq!(a.split(which).images(), b.split(which).images());
    }
    assert!(a.provenance.verified, "{name}: files do not match the catalog");
    assert!(ra.variant.as_deref().is_some_and(|v| v.contains("subset")), "{:?}", ra.variant);
    (a, ra)
}

#[test]
fn busbra_loads_verified_with_the_documented_patient_grouped_split() {
    let Some(dir) = data_dir() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = embedded_spec("busbra").unwrap();
    let sources = DataSources::local(vec![dir.clone()], PathBuf::from("datasets/cache"));
    let plan = split_plan(&spec, &sources).unwrap();
    assert_eq!(plan.len(), 1127);
    assert_no_group_in_two_splits(&plan);

    // The documented rule, recomputed from the CSVs independently of the loader.
    let root = dir.join("busbra");
    let read = |file: &str, key: &str, value: &str| -> BTreeMap<String, String> {
        let mut r = csv::Reader::from_path(root.join(file)).unwrap();
        let h = r.headers().unwrap().clone();
        let (k, v) = (h.iter().position(|c| c == key).unwrap(), h.iter().position(|c| c == value).unwrap());
        r.records().map(|rec| rec.unwrap()).map(|rec| (rec[k].to_owned(), rec[v].to_owned())).collect()
    };
    let case = read("bus_data.csv", "ID", "Case");
    let fold = read("5-fold-cv.csv", "ID", "kFold");
    for p in &plan {
        let id = p.path.trim_start_matches("Images/").trim_end_matches(".png");
        let c: u64 = case[id].parse().unwrap();
        assert_eq!(p.group, case[id]);
        let want = match (fold[id].as_str(), c % 5) {
            ("3", _) => SplitName::Test,
            ("1" | "2", 0) => SplitName::Val,
            ("1" | "2", _) => SplitName::Train,
            (f, _) => panic!("unexpected fold {f}"),
        };
        assert_eq!(p.split, Some(want), "{}", p.path);
    }
    assert_eq!((count(&plan, SplitName::Train), count(&plan, SplitName::Val), count(&plan, SplitName::Test)), (593, 168, 366));
    let patients = |s: SplitName| plan.iter().filter(|p| p.split == Some(s)).map(|p| p.group.as_str()).collect::<BTreeSet<_>>().len();
    assert_eq!((patients(SplitName::Train), patients(SplitName::Val), patients(SplitName::Test)), (335, 90, 213));

    let (d, _) = load_twice("busbra", 64, dir);
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (593, 168, 366));
    assert_eq!((d.shape.channels, d.shape.height, d.shape.width), (1, 64, 64));
    assert_masks_binary_and_non_empty(&d, "lesion");
    let mut benign_malignant = [0usize; 2];
    for which in SplitName::ALL {
        let Some(SourceValues::Labels(l)) = d.split(which).source("pathology") else { panic!() };
        for &v in l {
            benign_malignant[v as usize] += 1;
        }
        assert!(d.split(which).images().iter().all(|v| (-1.0..=1.0).contains(v)));
    }
    assert_eq!(benign_malignant, [760, 367]);
    assert_eq!(d.class_names["birads"], vec!["2", "3", "4", "5"]);
    let Some(SourceValues::Labels(test)) = d.test.source("pathology") else { panic!() };
    assert_eq!(test.iter().filter(|&&v| v == 1).count(), 120, "fold 3 has 120 malignant images");
}

#[test]
fn hc18_loads_both_gestational_ranges_with_filled_heads_pixel_sizes_and_an_examination_split() {
    let Some(dir) = data_dir() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = embedded_spec("hc18").unwrap();
    let sources = DataSources::local(vec![dir.clone()], PathBuf::from("datasets/cache"));
    let plan = split_plan(&spec, &sources).unwrap();
    let per_folder = |f: &str| plan.iter().filter(|p| p.folder == f).count();
    assert_eq!((plan.len(), per_folder("hc18"), per_folder("hc18-early")), (454, 333, 121), "both staged subsets");
    assert_no_group_in_two_splits(&plan);
    for p in &plan {
        let name = p.path.trim_start_matches("training_set/");
        assert_eq!(p.group, name[..3], "examination number of {name}");
        let number = name[..3].parse::<u32>().unwrap();
        assert_eq!(p.folder == "hc18-early", number < 190 && number % 2 == 0, "{name} in {}", p.folder);
        let want = match number % 20 {
            0 | 1 | 10 | 11 => SplitName::Test,
            2 | 13 => SplitName::Val,
            _ => SplitName::Train,
        };
        assert_eq!(p.split, Some(want), "{name}");
    }
    let counts = (count(&plan, SplitName::Train), count(&plan, SplitName::Val), count(&plan, SplitName::Test));
    assert_eq!(counts.0 + counts.1 + counts.2, 454);
    for (folder, range) in [("hc18", 190..460), ("hc18-early", 0..190)] {
        let exams: BTreeSet<&str> = plan.iter().filter(|p| p.folder == folder).map(|p| p.group.as_str()).collect();
        assert!(exams.iter().all(|e| range.contains(&e.parse::<u32>().unwrap())), "{folder}");
        for split in SplitName::ALL {
            assert!(plan.iter().any(|p| p.folder == folder && p.split == Some(split)), "{folder} has {split} images");
        }
    }

    let size = 128;
    let (d, report) = load_twice("hc18", size, dir.clone());
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), counts);
    assert!(d.provenance.verified, "both subsets match their catalogued md5s");
    let variant = report.variant.unwrap_or_default();
    assert!(variant.contains("190-459") && variant.contains("000-188"), "{variant}");
    assert_eq!(report.folders.len(), 2);
    assert_masks_binary_and_non_empty(&d, "head");
    let hc: Vec<f32> = SplitName::ALL
        .iter()
        .flat_map(|&s| match d.split(s).source("hc_mm") {
            Some(SourceValues::Values(v)) => v.clone(),
            _ => panic!(),
        })
        .collect();
    let (lo, hi) = hc.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    assert!((44.0..45.0).contains(&lo) && (194.0..195.0).contains(&hi), "HC range {lo}-{hi} mm: the whole gestational range");

    // The CSVs, independently of the loader.
    let mut rows: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for folder in ["hc18", "hc18-early"] {
        let mut reader = csv::Reader::from_path(dir.join(folder).join("training_set_pixel_size_and_HC.csv")).unwrap();
        for r in reader.records().map(|r| r.unwrap()) {
            rows.insert((folder.to_owned(), r[0].to_owned()), (r[1].parse().unwrap(), r[2].parse().unwrap()));
        }
    }

    // HC values, and the pixel size after resizing = pixel size x longer side / size.
    let mut resized_errors = Vec::new();
    for which in SplitName::ALL {
        let split = d.split(which);
        let Some(SourceValues::Values(hc)) = split.source("hc_mm") else { panic!() };
        let Some(SourceValues::Values(px)) = split.source("pixel_size_mm") else { panic!() };
        let images: Vec<&PlannedImage> = plan.iter().filter(|p| p.split == Some(which)).collect();
        assert_eq!(images.len(), hc.len());
        let (per, heads) = masks(split, "head");
        for (i, image) in images.iter().enumerate() {
            let name = image.path.trim_start_matches("training_set/");
            let (pixel, want_hc) = rows[&(image.folder.clone(), name.to_owned())];
            assert!((hc[i] as f64 - want_hc).abs() < 1e-3, "{name}");
            let raw = read_mask(&dir.join(&image.folder).join("training_set").join(name.replace(".png", "_Annotation.png"))).unwrap();
            let want_px = pixel * raw.width.max(raw.height) as f64 / size as f64;
            assert!((px[i] as f64 - want_px).abs() < 1e-6 * want_px, "{name}: {} vs {want_px}", px[i]);
            // Measured on the 128-px mask with the recorded pixel size (informative).
            let m = &heads[i * per..(i + 1) * per];
            let measured = head_circumference_mm(m, size as usize, size as usize, px[i] as f64).unwrap();
            resized_errors.push((measured - want_hc).abs());
        }
    }

    // The ellipse fitted to every FILLED ground-truth annotation at full resolution, times the
    // pixel size, gives the CSV's head circumference.
    let (mut errors, mut fitted_errors) = (Vec::new(), Vec::new());
    for ((folder, name), (pixel, want)) in &rows {
        let raw = read_mask(&dir.join(folder).join("training_set").join(name.replace(".png", "_Annotation.png"))).unwrap();
        let filled = fill_outline(&raw.data, raw.width, raw.height);
        let hc = head_circumference_mm(&filled, raw.width, raw.height, *pixel).unwrap();
        let rel = (hc - want).abs() / want;
        assert!(rel < 0.03, "{name}: fitted {hc:.2} mm vs CSV {want:.2} mm ({:.2}%)", 100.0 * rel);
        errors.push((hc - want, name.clone()));
        // The alternative transform, fill_ellipse (informative).
        let fitted = fill_fitted_ellipse(&raw.data, raw.width, raw.height).unwrap();
        fitted_errors.push((head_circumference_mm(&fitted, raw.width, raw.height, *pixel).unwrap() - want).abs());
    }
    let n = errors.len() as f64;
    let mae = errors.iter().map(|(e, _)| e.abs()).sum::<f64>() / n;
    let bias = errors.iter().map(|(e, _)| e).sum::<f64>() / n;
    let worst = errors.iter().max_by(|a, b| a.0.abs().total_cmp(&b.0.abs())).unwrap();
    let resized_mae = resized_errors.iter().sum::<f64>() / resized_errors.len() as f64;
    let fitted_mae = fitted_errors.iter().sum::<f64>() / n;
    eprintln!(
        "HC18 ellipse fit on the filled ground truth ({} images): MAE {mae:.3} mm, mean error {bias:+.3} mm, worst {:+.3} mm ({}); \
         on the {size}-px masks: MAE {resized_mae:.3} mm; with fill_ellipse instead of fill_outline: MAE {fitted_mae:.3} mm",
        errors.len(),
        worst.0,
        worst.1
    );
    assert_eq!(errors.len(), 454);
    assert!(mae < 1.5, "MAE {mae} mm");
}
