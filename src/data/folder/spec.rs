//! The TOML dataset spec of a folder dataset: catalog facts plus how to read the folder.
//!
//! See `datasets/busbra.toml` and `datasets/hc18.toml` for complete, commented examples.
//! Every table rejects unknown keys, so a typo is an error that names the key.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pattern::{template_keys, Pattern, BUILTIN_KEYS};
use crate::{Error, Result};

/// A complete folder-dataset spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderSpec {
    /// Catalog facts: name, source, licence, citation, known checksums.
    pub dataset: DatasetInfo,
    /// Which files are the images.
    pub images: ImageSpec,
    /// Mask files derived from each image's name; each becomes a `Masks` target source.
    #[serde(default)]
    pub masks: Vec<MaskSpec>,
    /// CSV tables with per-image values, joined on an id derived from the image name.
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// CSV columns that become target sources.
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// A CSV column with the physical size of one pixel (mm), recorded after resizing.
    #[serde(default)]
    pub pixel_size: Option<PixelSizeSpec>,
    /// How images are assigned to train/val/test.
    pub split: SplitSpec,
    /// Resizing and intensity normalisation (default: pad, area filter, MedMNIST's [-1, 1] scaling).
    #[serde(default)]
    pub preprocess: Preprocess,
}

/// What the dataset is and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetInfo {
    /// Short name; the data live in `<data dir>/<name>/`.
    pub name: String,
    /// Full title of the dataset or its article (the report's dataset description).
    #[serde(default)]
    pub title: String,
    /// The dataset's web page (informational).
    #[serde(default)]
    pub homepage: Option<String>,
    /// The page to download the data from (shown when the data are missing).
    pub download: String,
    /// What to do by hand after downloading (unpacking, where to put the files).
    #[serde(default)]
    pub download_steps: Option<String>,
    /// DOI of the article describing the data.
    #[serde(default)]
    pub doi: Option<String>,
    /// DOI of the data record itself.
    #[serde(default)]
    pub data_doi: Option<String>,
    /// The data's licence, as printed in reports.
    pub license: String,
    /// How to cite the data, as printed in reports.
    pub citation: String,
    /// Known copies of the data, each with checksums. A folder that matches none of them
    /// is refused unless unverified data are allowed; with no variant at all nothing is
    /// checked and the data are marked unverified.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Folders that together hold the dataset, each with the same layout (images, masks,
    /// tables), e.g. two staged subsets. Absent: one folder called `name`. An image whose
    /// path a previous folder already holds is left out (the full release in the first folder
    /// makes a later subset redundant).
    #[serde(default)]
    pub parts: Vec<PartSpec>,
}

/// One folder of a dataset split over several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartSpec {
    /// The folder's name under a data directory (`<data dir>/<folder>/`).
    pub folder: String,
    /// Whether the dataset cannot be loaded without it (the first folder always is).
    #[serde(default)]
    pub required: bool,
}

impl DatasetInfo {
    /// The dataset's folders in order, the first required.
    pub fn folders(&self) -> Vec<PartSpec> {
        let mut parts =
            if self.parts.is_empty() { vec![PartSpec { folder: self.name.clone(), required: true }] } else { self.parts.clone() };
        parts[0].required = true;
        parts
    }
}

/// One known copy of a dataset (e.g. the full download, or a documented subset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name (named in logs, the load report and checksum errors).
    pub name: String,
    /// The folder (of `parts`) this copy describes; the first folder when absent.
    #[serde(default)]
    pub part: Option<String>,
    /// What this copy holds (e.g. which folds a subset keeps).
    #[serde(default)]
    pub note: Option<String>,
    /// Files with their md5, paths relative to the dataset folder.
    #[serde(default)]
    pub files: Vec<KnownFile>,
    /// The image and mask files together.
    #[serde(default)]
    pub image_files: Option<FileSetDigest>,
}

/// One file of a known copy with its checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFile {
    /// Path relative to the dataset folder.
    pub path: String,
    /// md5 of the file, 32 hex digits.
    pub md5: String,
    /// File size in bytes (informational; only the md5 is checked).
    #[serde(default)]
    pub bytes: Option<u64>,
}

/// A checksum over many files: their count and the md5 of their `md5sum` listing, i.e. the
/// lines `<md5>  <path>\n` sorted bytewise by path, paths relative to the dataset folder.
/// `cd <folder> && md5sum <files> | LC_ALL=C sort -k 2 | md5sum` prints the same digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSetDigest {
    /// Number of image and mask files.
    pub count: usize,
    /// md5 of their sorted `md5sum` listing; without it only the count is checked.
    #[serde(default)]
    pub md5: Option<String>,
}

/// The image files: every file in `dir` whose name matches `pattern` and none of `exclude`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Folder relative to the dataset folder (`"."` for the folder itself).
    pub dir: String,
    /// File-name pattern with `*`, `?` and `{key}` captures (see `pattern.rs`).
    pub pattern: String,
    /// File-name patterns of files to leave out even though they match `pattern`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Also look in subfolders of `dir`.
    #[serde(default)]
    pub recursive: bool,
    /// 1 (grey; colour images are converted with ITU-R BT.601 luma) or 3 (RGB; grey
    /// images are repeated).
    #[serde(default = "one")]
    pub channels: usize,
}

fn one() -> usize {
    1
}

/// A mask file per image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSpec {
    /// Target source name (e.g. `lesion`).
    pub source: String,
    /// Path template relative to the dataset folder, e.g. `Masks/mask_{id}.png`.
    pub path: String,
    /// How the file's pixels become the mask (default: used as they are).
    #[serde(default)]
    pub transform: MaskTransform,
    /// How pixel values map to classes (default: binary).
    #[serde(default)]
    pub encoding: MaskEncoding,
    /// Class names, background first (default: `background`, the source name).
    #[serde(default)]
    pub classes: Option<Vec<String>>,
}

/// How a mask file is turned into a filled mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskTransform {
    /// The file is the mask itself.
    #[default]
    None,
    /// The file holds a closed outline (HC18's ellipses): fill its inside (flood fill of the
    /// background from the border, inverted, OR the outline).
    FillOutline,
    /// The file holds an elliptic outline: rasterise the ellipse fitted to its pixels (the
    /// mask edge then follows the outline's centre line instead of its outer edge).
    FillEllipse,
}

/// How the pixel values of a mask file map to classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskEncoding {
    /// Any non-zero pixel is foreground (class 1).
    #[default]
    Binary,
    /// The pixel value (or palette index) is the class index.
    Index,
}

/// A CSV table, one row per image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Path relative to the dataset folder.
    pub file: String,
    /// The column that identifies the image.
    pub id_column: String,
    /// Template giving each image's value in `id_column`, e.g. `{stem}` or `{name}`.
    #[serde(default = "default_id")]
    pub id: String,
}

fn default_id() -> String {
    "{stem}".into()
}

/// A CSV column that becomes a target source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Target source name the column's values are stored under.
    pub source: String,
    /// Column name; looked up in the tables in the order they are listed.
    pub column: String,
    /// `labels` (categorical) or `values` (numeric). Default: `values` when every entry is
    /// a number and no `classes` are given, else `labels`.
    #[serde(default)]
    pub kind: Option<TargetKind>,
    /// Class names in index order; default: the sorted distinct values (numerically when
    /// all are numbers).
    #[serde(default)]
    pub classes: Option<Vec<String>>,
}

/// Whether a CSV column holds class labels or numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Categorical values mapped to class indices (a `Labels` source).
    Labels,
    /// Numeric values (a `Values` source).
    Values,
}

/// Where the physical pixel size of each image is read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelSizeSpec {
    /// Column with the (isotropic) size of one original pixel in mm.
    pub column: String,
}

/// Where a per-image key comes from: a CSV column or a template over the image name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Key {
    /// The value of this CSV column in the image's row.
    Column(String),
    /// A template over the image name's captures, e.g. `{patient}`.
    Template(String),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Column(c) => write!(f, "column '{c}'"),
            Key::Template(t) => write!(f, "template '{t}'"),
        }
    }
}

/// A TOML string or integer (fold numbers may be written either way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A TOML integer (`fold = 1`).
    Int(i64),
    /// A TOML string (`fold = "1"`).
    Str(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

/// The split rule plus the group that must never span two splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// Images with the same group value (patient, examination) always share a split, and
    /// the loader checks it. Without a group every image is its own group.
    #[serde(default)]
    pub group: Option<Key>,
    /// How each image's split is decided.
    pub rule: SplitRule,
    /// Moves the training groups it selects into `val` (a patient-grouped validation part
    /// carved out of training folds).
    #[serde(default)]
    pub val_from_train: Option<GroupSelect>,
    /// What to do with an image the rule assigns to no split: `error` (default) or `drop`.
    #[serde(default)]
    pub unassigned: Unassigned,
}

/// What to do with an image the split rule assigns to no split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unassigned {
    /// Refuse to load, naming the image.
    #[default]
    Error,
    /// Leave the image out (counted in the load report).
    Drop,
}

/// The three ways of assigning splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitRule {
    /// A column whose values name the split (`train`, `val`/`valid`/`validation`, `test`).
    Column {
        /// The column naming each image's split.
        column: String,
    },
    /// A fold column; each listed fold value goes to that split.
    Folds {
        /// The column with each image's fold value.
        column: String,
        /// Fold values that go to train.
        #[serde(default)]
        train: Vec<Scalar>,
        /// Fold values that go to val.
        #[serde(default)]
        val: Vec<Scalar>,
        /// Fold values that go to test.
        #[serde(default)]
        test: Vec<Scalar>,
    },
    /// `group mod modulus` (the group value must be an integer): the listed remainders go
    /// to test and val, all others to train.
    Modulo {
        /// The modulus, at least 1.
        modulus: u64,
        /// Remainders that go to test.
        #[serde(default)]
        test: Vec<u64>,
        /// Remainders that go to val (none may also be in `test`).
        #[serde(default)]
        val: Vec<u64>,
    },
    /// Like `modulo`, on a stable hash of the group value (first 8 bytes of its md5,
    /// little-endian) — for group values that are not numbers.
    Hash {
        /// The modulus, at least 1.
        modulus: u64,
        /// Remainders that go to test.
        #[serde(default)]
        test: Vec<u64>,
        /// Remainders that go to val (none may also be in `test`).
        #[serde(default)]
        val: Vec<u64>,
    },
}

/// Selects groups by `modulo` (integer group values) or `hash`: remainder in `remainders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSelect {
    /// Integer remainder (`modulo`) or hash remainder (`hash`) of the group value.
    pub by: GroupArithmetic,
    /// The modulus, at least 1.
    pub modulus: u64,
    /// Remainders whose groups are selected; each below `modulus`.
    pub remainders: Vec<u64>,
}

/// How a group value is reduced to a remainder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupArithmetic {
    /// The group value as an integer, modulo the modulus (Euclidean, so never negative).
    Modulo,
    /// The first 8 bytes of the group value's md5 (little-endian), modulo the modulus.
    Hash,
}

/// Resizing and intensity normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// `pad` (default): scale the longer side to the target size keeping the aspect ratio,
    /// centre, and pad; pixels stay square. `stretch`: scale each side to the target size.
    #[serde(default)]
    pub fit: Fit,
    /// Image filter: `area` (default; box/area averaging when shrinking, bilinear when
    /// enlarging) or `bilinear`. Masks always use nearest neighbour, so they keep their
    /// class values.
    #[serde(default)]
    pub image_filter: ImageFilter,
    /// Raw value of padded image pixels (0..255).
    #[serde(default)]
    pub pad_value: u8,
    /// `value = (raw / scale - mean) / std`; the default maps 0..255 to [-1, 1] like MedMNIST.
    #[serde(default)]
    pub normalize: Normalize,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess { fit: Fit::Pad, image_filter: ImageFilter::Area, pad_value: 0, normalize: Normalize::default() }
    }
}

/// How an image is fitted into the square target size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Scale the longer side to the target size keeping the aspect ratio, centre and pad; pixels stay square.
    #[default]
    Pad,
    /// Scale each side to the target size independently; pixels may become non-square.
    Stretch,
}

/// Resampling filter of images (masks always use nearest neighbour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFilter {
    /// Box/area averaging when shrinking, bilinear when enlarging.
    #[default]
    Area,
    /// Bilinear interpolation at every scale.
    Bilinear,
}

/// Intensity normalisation `value = (raw / scale - mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Divisor of the raw 8-bit value (default 255, to [0, 1]).
    pub scale: f32,
    /// Subtracted after scaling (default 0.5).
    pub mean: f32,
    /// Divisor after subtracting the mean (default 0.5, so [0, 1] maps to [-1, 1]).
    pub std: f32,
}

impl Default for Normalize {
    fn default() -> Self {
        Normalize { scale: 255.0, mean: 0.5, std: 0.5 }
    }
}

/// The specs compiled into medmtl, by dataset name.
pub const EMBEDDED_SPECS: &[(&str, &str)] =
    &[("busbra", include_str!("../../../datasets/busbra.toml")), ("hc18", include_str!("../../../datasets/hc18.toml"))];

/// The names of the embedded specs.
pub fn embedded_names() -> Vec<&'static str> {
    EMBEDDED_SPECS.iter().map(|(n, _)| *n).collect()
}

/// The embedded spec of `name` (`busbra`, `hc18`).
pub fn embedded_spec(name: &str) -> Result<FolderSpec> {
    let (_, text) =
        EMBEDDED_SPECS.iter().find(|(n, _)| *n == name).ok_or_else(|| Error::unknown("folder dataset", name, &embedded_names()))?;
    parse_spec(text, Path::new(&format!("datasets/{name}.toml")))
}

/// Reads and validates a spec file.
pub fn read_spec(path: &Path) -> Result<FolderSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_spec(&text, path)
}

/// Parses and validates spec text; `origin` names it in errors.
pub fn parse_spec(text: &str, origin: &Path) -> Result<FolderSpec> {
    let spec: FolderSpec = toml::from_str(text).map_err(|e| Error::config(origin, e.to_string()))?;
    spec.validate().map_err(|m| Error::config(origin, m))?;
    Ok(spec)
}

/// The name of the per-sample source with the pixel size after resizing (`fit = "pad"`).
pub const PIXEL_SIZE_SOURCE: &str = "pixel_size_mm";
/// Pixel width and height after resizing (`fit = "stretch"`, where pixels are not square).
pub const PIXEL_WIDTH_SOURCE: &str = "pixel_width_mm";
/// Name of the per-sample pixel height source after resizing (`fit = "stretch"`).
pub const PIXEL_HEIGHT_SOURCE: &str = "pixel_height_mm";

impl FolderSpec {
    /// The captures of the image pattern plus the built-in keys.
    pub(crate) fn image_keys(&self) -> std::result::Result<Vec<String>, String> {
        let pattern = Pattern::parse(&self.images.pattern)?;
        let mut keys: Vec<String> = BUILTIN_KEYS.iter().map(|k| k.to_string()).collect();
        keys.extend(pattern.captures().into_iter().map(str::to_owned));
        Ok(keys)
    }

    /// Checks everything that can be checked without the data.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let name = &self.dataset.name;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("dataset.name '{name}' must be letters, digits, '-' or '_'"));
        }
        let folders = self.dataset.folders();
        let mut seen = BTreeSet::new();
        for f in &folders {
            if f.folder.is_empty() || !f.folder.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
                return Err(format!("dataset.parts: folder '{}' must be a plain folder name", f.folder));
            }
            if !seen.insert(f.folder.as_str()) {
                return Err(format!("dataset.parts: folder '{}' is listed twice", f.folder));
            }
        }
        for v in &self.dataset.variants {
            if let Some(part) = &v.part {
                if !folders.iter().any(|f| &f.folder == part) {
                    let names: Vec<&str> = folders.iter().map(|f| f.folder.as_str()).collect();
                    return Err(format!("variant '{}': part '{part}' is not one of the dataset's folders ({})", v.name, names.join(", ")));
                }
            }
        }
        if self.images.channels != 1 && self.images.channels != 3 {
            return Err(format!("images.channels is {}; use 1 or 3", self.images.channels));
        }
        let keys = self.image_keys()?;
        for pattern in &self.images.exclude {
            Pattern::parse(pattern)?;
        }
        let check_template = |what: &str, template: &str| -> std::result::Result<(), String> {
            for key in template_keys(template)? {
                if !keys.contains(&key) {
                    return Err(format!(
                        "{what} '{template}' uses '{{{key}}}', which is neither a capture of images.pattern nor one of {}",
                        BUILTIN_KEYS.join(", ")
                    ));
                }
            }
            Ok(())
        };
        let mut sources = BTreeSet::new();
        let mut add_source = |s: &str| -> std::result::Result<(), String> {
            if s.is_empty() {
                return Err("a target source name is empty".into());
            }
            if !sources.insert(s.to_owned()) {
                return Err(format!("target source '{s}' is defined twice"));
            }
            Ok(())
        };
        for mask in &self.masks {
            add_source(&mask.source)?;
            check_template("masks.path", &mask.path)?;
            if let Some(classes) = &mask.classes {
                check_classes(&mask.source, classes)?;
                if mask.encoding == MaskEncoding::Binary && classes.len() != 2 {
                    return Err(format!(
                        "mask '{}' is binary but lists {} classes; list background and foreground",
                        mask.source,
                        classes.len()
                    ));
                }
            }
            if mask.transform != MaskTransform::None && mask.encoding == MaskEncoding::Index {
                return Err(format!("mask '{}': filling an outline needs a binary mask", mask.source));
            }
        }
        for table in &self.tables {
            check_template("tables.id", &table.id)?;
        }
        let needs_table = |what: &str| -> std::result::Result<(), String> {
            if self.tables.is_empty() {
                Err(format!("{what} names a CSV column but no [[tables]] are given"))
            } else {
                Ok(())
            }
        };
        for target in &self.targets {
            add_source(&target.source)?;
            needs_table(&format!("target '{}'", target.source))?;
            if let Some(classes) = &target.classes {
                if target.kind == Some(TargetKind::Values) {
                    return Err(format!("target '{}' has classes but kind = \"values\"", target.source));
                }
                check_classes(&target.source, classes)?;
            }
        }
        if self.pixel_size.is_some() {
            needs_table("pixel_size")?;
            let names: &[&str] = match self.preprocess.fit {
                Fit::Pad => &[PIXEL_SIZE_SOURCE],
                Fit::Stretch => &[PIXEL_WIDTH_SOURCE, PIXEL_HEIGHT_SOURCE],
            };
            for n in names {
                add_source(n)?;
            }
        }
        if sources.is_empty() {
            return Err("the spec defines no target source: add [[masks]] or [[targets]]".into());
        }
        match &self.split.group {
            Some(Key::Template(t)) => check_template("split.group", t)?,
            Some(Key::Column(_)) => needs_table("split.group")?,
            None => {}
        }
        match &self.split.rule {
            SplitRule::Column { .. } | SplitRule::Folds { .. } => needs_table("split.rule")?,
            SplitRule::Modulo { modulus, test, val } | SplitRule::Hash { modulus, test, val } => {
                if self.split.group.is_none() {
                    return Err("split.rule modulo/hash works on split.group; set group".into());
                }
                check_remainders(*modulus, test.iter().chain(val))?;
                if let Some(r) = test.iter().find(|r| val.contains(r)) {
                    return Err(format!("split.rule: remainder {r} is listed for both test and val"));
                }
            }
        }
        if let SplitRule::Folds { train, val, test, .. } = &self.split.rule {
            let all: Vec<String> = train.iter().chain(val).chain(test).map(|s| s.to_string()).collect();
            let distinct: BTreeSet<&String> = all.iter().collect();
            if distinct.len() != all.len() {
                return Err("split.rule: a fold is listed for two splits".into());
            }
        }
        if let Some(sel) = &self.split.val_from_train {
            if self.split.group.is_none() {
                return Err("split.val_from_train selects groups; set split.group".into());
            }
            check_remainders(sel.modulus, sel.remainders.iter())?;
        }
        let n = &self.preprocess.normalize;
        if !(n.scale.is_finite() && n.scale > 0.0 && n.std.is_finite() && n.std > 0.0 && n.mean.is_finite()) {
            return Err("preprocess.normalize needs a positive scale and std and a finite mean".into());
        }
        for variant in &self.dataset.variants {
            for f in variant.files.iter().map(|f| &f.md5).chain(variant.image_files.iter().filter_map(|d| d.md5.as_ref())) {
                if f.len() != 32 || !f.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!("variant '{}': '{f}' is not an md5 (32 hex digits)", variant.name));
                }
            }
        }
        Ok(())
    }
}

fn check_classes(source: &str, classes: &[String]) -> std::result::Result<(), String> {
    let distinct: BTreeSet<&String> = classes.iter().collect();
    if classes.is_empty() || distinct.len() != classes.len() {
        return Err(format!("'{source}': classes must be a non-empty list without repeats"));
    }
    Ok(())
}

fn check_remainders<'a>(modulus: u64, mut r: impl Iterator<Item = &'a u64>) -> std::result::Result<(), String> {
    if modulus == 0 {
        return Err("split: modulus must be at least 1".into());
    }
    if let Some(bad) = r.find(|&&r| r >= modulus) {
        return Err(format!("split: remainder {bad} is not below the modulus {modulus}"));
    }
    Ok(())
}
