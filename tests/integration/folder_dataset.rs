//! Folder datasets on small files the tests write themselves: PNG images (8-bit grey), 1-bit
//! PNG masks, a CSV table and a TOML spec in a temporary data folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use medmtl::data::fetch::DataSources;
use medmtl::data::folder::{self, load_folder_dataset, load_folder_dataset_with_report, parse_spec, FolderSpec};
use medmtl::data::{Dataset, SourceValues, Split, SplitName};

const SPEC: &str = r#"
[dataset]
name = "toy"
download = "https://example.org/toy"
license = "test data"
citation = "toy data written by the tests"

[images]
dir = "img"
pattern = "p{patient}_{k}.png"

[[masks]]
source = "lesion"
path = "masks/{stem}_mask.png"

[[tables]]
file = "labels.csv"
id_column = "id"

[[targets]]
source = "grade"
column = "grade"
classes = ["low", "high"]

[[targets]]
source = "score"
column = "score"

[[targets]]
source = "patient"
column = "patient"
kind = "values"

[pixel_size]
column = "pixel_mm"

[split]
group = { column = "patient" }
rule = { kind = "modulo", modulus = 5, test = [0], val = [1] }
"#;

const PATIENTS: usize = 10;

/// A data folder `<tmp>/toy/` with 2 images per patient of varying size, each with a bright
/// square lesion and its 1-bit mask, and `labels.csv`.
struct Toy {
    tmp: tempfile::TempDir,
}

impl Toy {
    fn new() -> Toy {
        let tmp = tempfile::tempdir().unwrap();
        let toy = Toy { tmp };
        std::fs::create_dir_all(toy.root().join("img")).unwrap();
        std::fs::create_dir_all(toy.root().join("masks")).unwrap();
        let mut csv = String::from("id,patient,grade,score,pixel_mm\n");
        for p in 0..PATIENTS {
            for k in 0..2 {
                let stem = format!("p{p:02}_{k}");
                toy.write_pair(&stem, 40 + 4 * k, 30 + 2 * p);
                let grade = if (p + k) % 3 == 0 { "high" } else { "low" };
                csv.push_str(&format!("{stem},{p},{grade},{},0.2\n", p as f32 * 1.5 + k as f32));
            }
        }
        std::fs::write(toy.root().join("labels.csv"), csv).unwrap();
        toy
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("toy")
    }

    fn write_pair(&self, stem: &str, w: usize, h: usize) {
        let lesion = |x: usize, y: usize| (10..20).contains(&x) && (8..16).contains(&y);
        write_grey(
            &self.root().join(format!("img/{stem}.png")),
            w,
            h,
            |x, y| {
                if lesion(x, y) {
                    220
                } else {
                    30 + ((x * 7 + y * 3) % 40) as u8
                }
            },
        );
        write_1bit(&self.root().join(format!("masks/{stem}_mask.png")), w, h, lesion);
    }

    fn sources(&self) -> DataSources {
        DataSources::local(vec![self.tmp.path().to_path_buf()], self.tmp.path().join("download-cache"))
    }

    fn cache(&self) -> PathBuf {
        self.tmp.path().join("decoded")
    }

    fn load(&self, spec: &FolderSpec, size: u32) -> medmtl::Result<Dataset> {
        load_folder_dataset(spec, size, &self.sources(), &self.cache())
    }

    fn edit_csv(&self, f: impl FnOnce(String) -> String) {
        let path = self.root().join("labels.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, f(text)).unwrap();
    }

    fn error(&self, spec: &FolderSpec) -> String {
        match self.load(spec, 16) {
            Ok(_) => panic!("the load should have failed"),
            Err(e) => {
                let msg = e.to_string();
                eprintln!("{msg}");
                msg
            }
        }
    }
}

fn write_grey(path: &Path, w: usize, h: usize, f: impl Fn(usize, usize) -> u8) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
    enc.write_header().unwrap().write_image_data(&data).unwrap();
}

/// A 1-bit greyscale PNG, the format of BUS-BRA's masks.
fn write_1bit(path: &Path, w: usize, h: usize, f: impl Fn(usize, usize) -> bool) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    let stride = w.div_ceil(8);
    let mut data = vec![0u8; stride * h];
    for y in 0..h {
        for x in 0..w {
            if f(x, y) {
                data[y * stride + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    enc.write_header().unwrap().write_image_data(&data).unwrap();
}

fn spec() -> FolderSpec {
    parse_spec(SPEC, Path::new("toy.toml")).unwrap()
}

fn values<'a>(split: &'a Split, source: &str) -> &'a [f32] {
    match split.source(source) {
        Some(SourceValues::Values(v)) => v,
        other => panic!("{source}: {other:?}"),
    }
}

fn masks<'a>(split: &'a Split, source: &str) -> &'a [u8] {
    match split.source(source) {
        Some(SourceValues::Masks { values, .. }) => values,
        other => panic!("{source}: {other:?}"),
    }
}

#[test]
fn loads_counts_shapes_targets_and_square_pixel_sizes() {
    let toy = Toy::new();
    let d = toy.load(&spec(), 16).unwrap();
    // Patients p % 5 == 0 -> test, == 1 -> val; two images each.
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (12, 4, 4));
    assert_eq!((d.shape.channels, d.shape.height, d.shape.width), (1, 16, 16));
    assert_eq!(d.class_names["grade"], vec!["low", "high"]);
    assert_eq!(d.class_names["lesion"], vec!["background", "lesion"]);
    assert!(!d.provenance.verified, "a spec without variants verifies nothing");
    assert_eq!(d.provenance.files.len(), 2);
    for split in [&d.train, &d.val, &d.test] {
        assert!(split.images().iter().all(|v| (-1.0..=1.0).contains(v)));
        let Some(SourceValues::Labels(grades)) = split.source("grade") else { panic!() };
        assert!(grades.iter().all(|&g| g < 2));
        assert!(values(split, "pixel_size_mm").iter().all(|&s| (0.5..=0.2 * 48.0 / 16.0).contains(&s)));
    }
    // Test patients 0 and 5, in path order: p00_0, p00_1, p05_0, p05_1.
    assert_eq!(values(&d.test, "patient"), &[0.0, 0.0, 5.0, 5.0]);
    assert_eq!(values(&d.test, "score"), &[0.0, 1.0, 7.5, 8.5]);
    let Some(SourceValues::Labels(grades)) = d.test.source("grade") else { panic!() };
    assert_eq!(grades, &vec![1, 0, 0, 1]);
    // Pixel size after resizing: 0.2 mm x longer side / 16 (pad keeps pixels square);
    // p00 is 40x30 and 44x30, p05 is 40x40 and 44x40.
    let want = [0.5, 0.55, 0.5, 0.55];
    for (got, want) in values(&d.test, "pixel_size_mm").iter().zip(want) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
}

#[test]
fn masks_are_binary_after_resizing_and_sit_on_the_bright_lesion() {
    let toy = Toy::new();
    for size in [8, 16, 37, 64] {
        let d = toy.load(&spec(), size).unwrap();
        let per = (size * size) as usize;
        for split in [&d.train, &d.val, &d.test] {
            let m = masks(split, "lesion");
            assert!(m.iter().all(|&v| v <= 1), "size {size}");
            for i in 0..split.len() {
                let img = &split.images()[i * per..(i + 1) * per];
                let mask = &m[i * per..(i + 1) * per];
                let mean = |want: u8| {
                    let (s, n) = img.iter().zip(mask).filter(|(_, &k)| k == want).fold((0.0, 0), |(s, n), (v, _)| (s + v, n + 1));
                    s / n as f32
                };
                assert!(mask.contains(&1), "size {size} sample {i}: empty mask");
                assert!(mean(1) > mean(0) + 0.5, "size {size} sample {i}: lesion {} background {}", mean(1), mean(0));
            }
        }
    }
}

#[test]
fn no_group_is_in_two_splits_and_a_leaky_rule_is_refused() {
    let toy = Toy::new();
    let d = toy.load(&spec(), 16).unwrap();
    let groups = |s: &Split| values(s, "patient").iter().map(|&p| p as i64).collect::<BTreeSet<_>>();
    let (tr, va, te) = (groups(&d.train), groups(&d.val), groups(&d.test));
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    assert_eq!(tr.len() + va.len() + te.len(), PATIENTS);

    // A fold column that puts one patient's two images into different folds.
    toy.edit_csv(|t| {
        let mut out = String::from("id,patient,grade,score,pixel_mm,fold\n");
        for (i, line) in t.lines().skip(1).enumerate() {
            out.push_str(&format!("{line},{}\n", (i % 3) + 1));
        }
        out
    });
    let leaky = SPEC.replace(
        r#"rule = { kind = "modulo", modulus = 5, test = [0], val = [1] }"#,
        r#"rule = { kind = "folds", column = "fold", train = [1], val = [2], test = [3] }"#,
    );
    let msg = toy.error(&parse_spec(&leaky, Path::new("leaky.toml")).unwrap());
    assert!(msg.contains("would span two splits") && msg.contains("group '0'"), "{msg}");

    // The same folds by group are fine, and val_from_train carves patients out of train.
    toy.edit_csv(|t| {
        let mut out = String::from("id,patient,grade,score,pixel_mm,fold\n");
        for line in t.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let p: usize = cells[1].parse().unwrap();
            out.push_str(&format!("{},{}\n", cells[..5].join(","), if p < 8 { 1 } else { 3 }));
        }
        out
    });
    let folds = SPEC.replace(
        r#"rule = { kind = "modulo", modulus = 5, test = [0], val = [1] }"#,
        "rule = { kind = \"folds\", column = \"fold\", train = [1], test = [\"3\"] }\nval_from_train = { by = \"modulo\", modulus = 4, remainders = [1] }",
    );
    let d = toy.load(&parse_spec(&folds, Path::new("folds.toml")).unwrap(), 16).unwrap();
    assert_eq!(groups(&d.test), BTreeSet::from([8, 9]));
    assert_eq!(groups(&d.val), BTreeSet::from([1, 5]));
    assert_eq!(groups(&d.train), BTreeSet::from([0, 2, 3, 4, 6, 7]));
}

#[test]
fn a_cache_hit_returns_identical_data() {
    let toy = Toy::new();
    let (spec, sources) = (spec(), toy.sources());
    let (a, ra) = load_folder_dataset_with_report(&spec, 24, &sources, &toy.cache()).unwrap();
    let (b, rb) = load_folder_dataset_with_report(&spec, 24, &sources, &toy.cache()).unwrap();
    assert!(!ra.cache_hit && rb.cache_hit && ra.cache_error.is_none());
    assert_eq!(ra.cache_file, rb.cache_file);
    assert!(ra.cache_file.starts_with(toy.cache().join("toy")));
    for which in SplitName::ALL {
        let (x, y) = (a.split(which), b.split(which));
        assert_eq!(x.images(), y.images());
        for name in x.source_names() {
            assert_eq!(x.source(name), y.source(name), "{which} {name}");
        }
    }
    // Another size, or a changed pixel, is another cache entry.
    let (_, rc) = load_folder_dataset_with_report(&spec, 20, &sources, &toy.cache()).unwrap();
    assert!(!rc.cache_hit && rc.cache_file != ra.cache_file);
    toy.write_pair("p03_1", 44, 36);
    let path = toy.root().join("img/p03_1.png");
    write_grey(&path, 44, 36, |x, _| x as u8);
    let (_, rd) = load_folder_dataset_with_report(&spec, 24, &sources, &toy.cache()).unwrap();
    assert!(!rd.cache_hit && rd.files_digest != ra.files_digest);
}

/// A missing mask file loads as an unlabelled sample of its source; a task on that source
/// refuses it unless it accepts partial labels, and then treats the sample as unlabelled.
#[test]
fn a_missing_mask_leaves_its_image_unlabelled() {
    use medmtl::task::{Task, TaskKindName, TaskSpec};
    let toy = Toy::new();
    std::fs::remove_file(toy.root().join("masks/p03_1_mask.png")).unwrap();
    let d = toy.load(&spec(), 16).unwrap();
    let unlabelled: Vec<(SplitName, usize)> = SplitName::ALL
        .iter()
        .flat_map(|&s| d.split(s).labelled("lesion").into_iter().flat_map(move |l| (0..l.len()).filter(|&i| !l[i]).map(move |i| (s, i))))
        .collect();
    assert_eq!(unlabelled.len(), 1, "exactly the one image without its mask: {unlabelled:?}");
    let (split, i) = unlabelled[0];
    let h = d.shape.height * d.shape.width;
    assert!(masks(d.split(split), "lesion")[i * h..(i + 1) * h].iter().all(|&v| v == 0), "its placeholder mask is background");
    let strict = TaskSpec::new("lesion", TaskKindName::Segmentation, "lesion");
    let msg = Task::resolve(&strict, &d).unwrap_err().to_string();
    assert!(msg.contains("1 of") && msg.contains("'lesion'") && msg.contains("partial_labels = true"), "{msg}");
    let task = Task::resolve(&TaskSpec { partial_labels: true, ..strict }, &d).unwrap();
    let labelled = task.labelled(d.split(split), split).expect("the split is partly labelled");
    assert_eq!(labelled.iter().filter(|&&l| !l).count(), 1);
    assert!(!labelled[i]);
}

/// An empty table cell is a missing label of that target (categorical or numeric): the
/// image loads unlabelled for it and stays labelled for the others; a task refuses it unless
/// it accepts partial labels; a column with no value at all is refused by name.
#[test]
fn an_empty_table_cell_leaves_its_image_unlabelled_for_that_target() {
    use medmtl::task::{Task, TaskKindName, TaskSpec};
    let toy = Toy::new();
    toy.edit_csv(|t| t.replace("p04_0,4,low,6,", "p04_0,4,,6,").replace("p07_1,7,low,11.5,", "p07_1,7,low,,"));
    let d = toy.load(&spec(), 16).unwrap();
    let unlabelled = |source: &str| -> usize {
        SplitName::ALL.iter().map(|&s| d.split(s).labelled(source).map_or(0, |l| l.iter().filter(|&&x| !x).count())).sum()
    };
    assert_eq!((unlabelled("grade"), unlabelled("score"), unlabelled("lesion"), unlabelled("patient")), (1, 1, 0, 0));
    let strict = TaskSpec::new("grade", TaskKindName::Binary, "grade");
    let msg = Task::resolve(&strict, &d).unwrap_err().to_string();
    assert!(msg.contains("1 of") && msg.contains("'grade'") && msg.contains("table cell is empty"), "{msg}");
    Task::resolve(&TaskSpec { partial_labels: true, ..strict }, &d).unwrap();
    Task::resolve(&TaskSpec::new("lesion", TaskKindName::Segmentation, "lesion"), &d).unwrap();

    toy.edit_csv(|t| {
        t.lines()
            .enumerate()
            .map(|(i, l)| if i == 0 { l.to_owned() } else { l.rsplit_once(',').map(|(a, _)| format!("{a},")).unwrap() })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let mut sized = spec();
    sized.pixel_size = None;
    sized.targets.push(parse_spec(SPEC, Path::new("toy.toml")).unwrap().targets[1].clone());
    sized.targets.last_mut().unwrap().column = "pixel_mm".into();
    sized.targets.last_mut().unwrap().source = "size".into();
    let msg = toy.error(&sized);
    assert!(msg.contains("target 'size'") && msg.contains("'pixel_mm' is empty for every image"), "{msg}");
}

#[test]
fn mask_of_another_size_is_named() {
    let toy = Toy::new();
    write_1bit(&toy.root().join("masks/p03_1_mask.png"), 10, 10, |_, _| true);
    let msg = toy.error(&spec());
    assert!(msg.contains("p03_1_mask.png") && msg.contains("mask is 10x10 but its image") && msg.contains("44x36"), "{msg}");
}

#[test]
fn a_file_that_is_not_a_png_is_named() {
    let toy = Toy::new();
    std::fs::write(toy.root().join("img/p04_0.png"), b"this is not a PNG").unwrap();
    let msg = toy.error(&spec());
    assert!(msg.contains("p04_0.png") && msg.contains("not a readable PNG"), "{msg}");
    // A truncated PNG too.
    let toy = Toy::new();
    let path = toy.root().join("masks/p02_0_mask.png");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = toy.error(&spec());
    assert!(msg.contains("p02_0_mask.png") && msg.contains("PNG"), "{msg}");
}

#[test]
fn a_csv_row_without_an_image_is_named() {
    let toy = Toy::new();
    toy.edit_csv(|t| t + "p42_0,42,low,1.0,0.2\n");
    let msg = toy.error(&spec());
    assert!(msg.contains("labels.csv") && msg.contains("line 22") && msg.contains("'p42_0' has no image"), "{msg}");
}

#[test]
fn an_image_without_a_row_is_named() {
    let toy = Toy::new();
    toy.write_pair("p10_0", 40, 30);
    let msg = toy.error(&spec());
    assert!(msg.contains("p10_0.png") && msg.contains("has no row in") && msg.contains("labels.csv"), "{msg}");
}

#[test]
fn a_label_outside_the_declared_classes_is_named() {
    let toy = Toy::new();
    toy.edit_csv(|t| t.replacen("p03_1,3,low", "p03_1,3,medium", 1));
    let msg = toy.error(&spec());
    assert!(msg.contains("labels.csv") && msg.contains("line 9") && msg.contains("'medium'") && msg.contains("declared classes"), "{msg}");
}

#[test]
fn nan_numeric_targets_are_refused() {
    let toy = Toy::new();
    toy.edit_csv(|t| t.replacen("p03_1,3,low,5.5", "p03_1,3,low,NaN", 1));
    let msg = toy.error(&spec());
    assert!(msg.contains("labels.csv") && msg.contains("column 'score'") && msg.contains("'NaN' is not a finite number"), "{msg}");
}

#[test]
fn inferred_classes_are_sorted_and_unknown_spec_keys_are_refused() {
    let toy = Toy::new();
    let text = SPEC.replace("classes = [\"low\", \"high\"]", "");
    let d = toy.load(&parse_spec(&text, Path::new("t.toml")).unwrap(), 16).unwrap();
    assert_eq!(d.class_names["grade"], vec!["high", "low"]);
    let bad = SPEC.replace("id_column = \"id\"", "id_column = \"id\"\nid_colum = \"x\"");
    let msg = parse_spec(&bad, Path::new("bad.toml")).unwrap_err().to_string();
    assert!(msg.contains("bad.toml") && msg.contains("id_colum"), "{msg}");
    let bad = SPEC.replace("masks/{stem}_mask.png", "masks/{nope}_mask.png");
    let msg = parse_spec(&bad, Path::new("bad.toml")).unwrap_err().to_string();
    assert!(msg.contains("{nope}"), "{msg}");
}

#[test]
fn checksums_are_checked_against_the_variants() {
    let toy = Toy::new();
    let csv_md5 = medmtl::data::fetch::md5_file(&toy.root().join("labels.csv")).unwrap();
    let with_variant = |md5: &str, count: usize| {
        let text = SPEC.replace(
            "citation = \"toy data written by the tests\"",
            &format!(
                "citation = \"toy data written by the tests\"\n[[dataset.variants]]\nname = \"v1\"\nfiles = [{{ path = \"labels.csv\", md5 = \"{md5}\" }}]\nimage_files = {{ count = {count} }}"
            ),
        );
        parse_spec(&text, Path::new("v.toml")).unwrap()
    };
    let (d, report) = load_folder_dataset_with_report(&with_variant(&csv_md5, 40), 16, &toy.sources(), &toy.cache()).unwrap();
    assert!(d.provenance.verified);
    assert_eq!(report.variant.as_deref(), Some("v1"));
    let wrong = "0123456789abcdef0123456789abcdef";
    let msg = toy.error(&with_variant(wrong, 40));
    assert!(msg.contains("labels.csv") && msg.contains(wrong) && msg.contains("--allow-unverified"), "{msg}");
    let msg = toy.error(&with_variant(&csv_md5, 41));
    assert!(msg.contains("41 files") && msg.contains("--allow-unverified"), "{msg}");
    let mut sources = toy.sources();
    sources.allow_unverified = true;
    let d = load_folder_dataset(&with_variant(wrong, 40), 16, &sources, &toy.cache()).unwrap();
    assert!(!d.provenance.verified);
}

#[test]
fn a_missing_dataset_folder_says_where_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = DataSources::local(vec![tmp.path().to_path_buf()], tmp.path().join("cache"));
    let msg = load_folder_dataset(&spec(), 16, &sources, tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("toy/labels.csv") && msg.contains("https://example.org/toy") && msg.contains("--data-dir"), "{msg}");
}

#[test]
fn embedded_specs_parse_and_describe_their_sources() {
    let names = folder::embedded_names();
    assert_eq!(names, vec!["busbra", "hc18"]);
    let mut seen = BTreeMap::new();
    for name in names {
        let s = folder::embedded_spec(name).unwrap();
        assert!(s.dataset.doi.is_some() && s.dataset.data_doi.is_some() && !s.dataset.variants.is_empty());
        assert!(s.dataset.download.starts_with("https://zenodo.org/records/"));
        seen.insert(name, s.masks.len());
    }
    assert_eq!(seen, BTreeMap::from([("busbra", 1), ("hc18", 1)]));
    assert!(folder::embedded_spec("nope").unwrap_err().to_string().contains("busbra, hc18"));
}

fn regression_in_pixels(source: &str, kind: medmtl::task::TaskKindName) -> medmtl::task::TaskSpec {
    medmtl::task::TaskSpec { predict_in_pixels: true, ..medmtl::task::TaskSpec::new("length", kind, source) }
}

#[test]
fn a_length_in_mm_is_learnt_in_pixels_and_reported_in_mm() {
    use candle_core::Device;
    use medmtl::model::arch::{build, ModelSpec};
    use medmtl::model::backbone::BackboneKind;
    use medmtl::model::head::HeadSpec;
    use medmtl::task::{Targets, Task, TaskKindName};
    use medmtl::train::{train, OptimizerKind, Schedule, TaskGroup, TrainConfig};

    let toy = Toy::new();
    let d = toy.load(&spec(), 16).unwrap();
    let task = Task::resolve(&regression_in_pixels("score", TaskKindName::Regression), &d).unwrap();
    // Test scores 0, 1, 7.5, 8.5 mm with pixels of 0.5, 0.55, 0.5, 0.55 mm.
    let Targets::Values(px_targets) = task.targets(&d.test).unwrap() else { panic!() };
    for (got, want) in px_targets.iter().zip([0.0, 1.0 / 0.55, 15.0, 8.5 / 0.55]) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
    // The loss normalises with the training targets in pixels, not in mm.
    let Targets::Values(train_px) = task.targets(&d.train).unwrap() else { panic!() };
    let mean = train_px.iter().sum::<f32>() / train_px.len() as f32;
    assert!((task.target_scale.0 - mean).abs() < 1e-4, "{:?} vs {mean}", task.target_scale);

    let tasks = vec![task];
    let spec = ModelSpec {
        backbone: BackboneKind::SmallCnn,
        width: 4,
        in_channels: 1,
        input_size: (16, 16),
        heads: tasks.iter().map(|t| HeadSpec::of(&t.kind)).collect(),
        pairs: None,
    };
    let model = build(crate::common::design("hps"), &spec, 0, &Device::Cpu).unwrap();
    let config = TrainConfig {
        epochs: 1,
        batch_size: 4,
        optimizer: OptimizerKind::Adam,
        lr: 1e-3,
        weight_decay: 0.0,
        schedule: Schedule::Constant,
        eval_batch_size: 8,
        affinity: false,
        rep_grad: false,
    };
    let groups = [TaskGroup { dataset: &d, tasks: vec![0], corruption: None }];
    let mut weighting = crate::common::method("ew").build(1, 0, &Device::Cpu).unwrap();
    let out = train(model.as_ref(), &tasks, &groups, weighting.as_mut(), &config, 0, &Device::Cpu, None).unwrap();
    // Predictions and their targets come back in the source's mm.
    let test = &out.predictions[&(0, SplitName::Test)];
    let Targets::Values(mm) = &test.targets else { panic!() };
    for (got, want) in mm.iter().zip(values(&d.test, "score")) {
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
    assert!(test.scores.iter().all(|s| s.is_finite()));
}

#[test]
fn predicting_in_pixels_needs_a_regression_task_and_pixel_sizes() {
    use medmtl::task::{Task, TaskKindName};
    let toy = Toy::new();
    let d = toy.load(&spec(), 16).unwrap();
    let err = Task::resolve(&regression_in_pixels("grade", TaskKindName::Binary), &d).unwrap_err().to_string();
    assert!(err.contains("only applies to regression"), "{err}");

    let mut no_pixels = spec();
    no_pixels.pixel_size = None;
    let d = toy.load(&no_pixels, 16).unwrap();
    let err = Task::resolve(&regression_in_pixels("score", TaskKindName::Regression), &d).unwrap_err().to_string();
    assert!(err.contains("'length'") && err.contains("needs a pixel size") && err.contains("[pixel_size]"), "{err}");
}
