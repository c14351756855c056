//! Loaders on the real public datasets, found through `MEDMTL_DATA_DIR` (`.ci/run` points it
//! at `../shared/datasets`). Without the variable these tests say so and pass.

use std::path::PathBuf;

use medmtl::data::catalog::Catalog;
use medmtl::data::fetch::{DataSources, DATA_DIR_ENV};
use medmtl::data::{medmnist, SourceValues};

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("{DATA_DIR_ENV} is not set: skipping the real-data checks");
            None
        }
    }
}

fn class_counts(values: Option<&SourceValues>, classes: usize) -> Vec<usize> {
    let Some(SourceValues::Labels(l)) = values else { panic!("no labels") };
    let mut counts = vec![0; classes];
    for &v in l {
        counts[v as usize] += 1;
    }
    counts
}

#[test]
fn retinamnist_loads_verified_with_the_manifest_counts() {
    let Some(dir) = data_dir() else { return };
    let catalog = Catalog::embedded().unwrap();
    let sources = DataSources::local(vec![dir], PathBuf::from("datasets/cache"));
    let d = medmnist::load(catalog.get("retinamnist").unwrap(), 28, &sources).unwrap();
    assert!(d.provenance.verified);
    assert_eq!((d.shape.channels, d.shape.height, d.shape.width), (3, 28, 28));
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (1080, 120, 400));
    // per-class counts from ../shared/datasets/retinamnist/MANIFEST.toml
    assert_eq!(class_counts(d.train.source("label"), 5), vec![486, 128, 206, 194, 66]);
    assert_eq!(class_counts(d.val.source("label"), 5), vec![54, 12, 28, 20, 6]);
    assert_eq!(class_counts(d.test.source("label"), 5), vec![174, 46, 92, 68, 20]);
    let px = d.train.images();
    assert!(px.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn resaved_breastmnist_is_refused_unless_allowed_then_marked_unverified() {
    let Some(dir) = data_dir() else { return };
    let catalog = Catalog::embedded().unwrap();
    let entry = catalog.get("breastmnist").unwrap();
    let mut sources = DataSources::local(vec![dir], PathBuf::from("datasets/cache"));
    let msg = medmnist::load(entry, 28, &sources).unwrap_err().to_string();
    assert!(msg.contains("breastmnist.npz") && msg.contains("750601b1f35ba3300ea97c75c52ff8f6"), "{msg}");
    assert!(msg.contains("--allow-unverified"), "{msg}");
    sources.allow_unverified = true;
    let d = medmnist::load(entry, 28, &sources).unwrap();
    assert!(!d.provenance.verified);
    assert_eq!(d.provenance.files[0].1, "098de56cd2d92ef2f7170e6153c02849");
    assert_eq!(d.shape.channels, 1);
    assert_eq!(class_counts(d.train.source("label"), 2), vec![147, 399]);
    assert_eq!(class_counts(d.test.source("label"), 2), vec![42, 114]);
}

/// A multi-input experiment end to end: phantoms and RetinaMNIST (grey) feed one network,
/// each task is trained and tested on its own dataset's images (its own test count), and
/// a colour dataset without `grayscale` is refused naming both shapes.
#[test]
fn multi_input_experiment_trains_each_task_on_its_own_dataset() {
    let Some(dir) = data_dir() else { return };
    let tmp = std::env::temp_dir().join(format!("medmtl-multi-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let text = "name = \"mi\"\nseeds = [0]\ndesigns = [\"hps\"]\nweightings = [\"ew\"]\n\
                [train]\nepochs = 1\nbatch_size = 64\n[model]\nbackbone = \"small-cnn\"\nwidth = 4\n\
                [[experiment]]\nname = \"two\"\ndataset = \"phantoms\"\nsize = 28\ngrayscale = true\n\
                tasks = [{ name = \"shape\", kind = \"multiclass\", source = \"shape\" }, \
                { name = \"referable\", kind = \"binary\", source = \"label\", positive_at_least = 2, dataset = \"retinamnist\" }]\n\
                [experiment.phantoms]\nsize = 28\ntrain = 128\nval = 64\ntest = 96\nseed = 1\n";
    let suite = tmp.join("mi.toml");
    std::fs::write(&suite, text).unwrap();
    let run = |suite: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bench-all"))
            .arg("--suite")
            .arg(suite)
            .arg("--data-dir")
            .arg(&dir)
            .arg("--offline")
            .arg("--out")
            .arg(tmp.join("results"))
            .arg("--reports")
            .arg(tmp.join("reports"))
            .output()
            .unwrap()
    };
    let out = run(&suite);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metrics = std::fs::read_to_string(tmp.join("results/mi/runs/two__hps-ew__seed0/metrics.csv")).unwrap();
    let test_n = |task: &str| {
        let row = metrics.lines().find(|l| l.contains(&format!(",{task},")) && l.contains(",test,")).unwrap();
        (row.split(',').nth(4).unwrap().to_owned(), row.rsplit(',').next().unwrap().to_owned())
    };
    assert_eq!(test_n("shape"), ("phantoms+retinamnist".to_owned(), "96".to_owned()));
    assert_eq!(test_n("referable"), ("phantoms+retinamnist".to_owned(), "400".to_owned()));
    let colour = tmp.join("colour.toml");
    std::fs::write(&colour, text.replace("grayscale = true\n", "").replace("name = \"mi\"", "name = \"mi2\"")).unwrap();
    let refused = run(&colour);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("1x28x28") && stderr.contains("3x28x28") && stderr.contains("grayscale"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
