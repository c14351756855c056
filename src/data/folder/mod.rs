//! Folder datasets: PNG images, optional PNG masks and CSV tables, described by a TOML spec
//! (`datasets/busbra.toml`, `datasets/hc18.toml`, or a user's own file), loaded into the
//! same [`Dataset`] as MedMNIST and the phantoms.
//!
//! Loading: find the dataset folder through [`DataSources`] (`<data dir>/<name>/`), list the
//! images, derive each mask's path from the image name, join the CSV rows on an id derived
//! from the image name, parse targets, assign splits (checking that no group spans two), check
//! the files against the spec's known checksums, then decode and resize every image and mask
//! (or read them from the on-disk cache, see [`cache`]) and normalise the pixels.
//!
//! Target sources: one `Masks` source per `[[masks]]`, one `Labels` or `Values` source per
//! `[[targets]]`, and with `pixel_size` the per-sample pixel size *after* resizing
//! (`pixel_size_mm`, or `pixel_width_mm` and `pixel_height_mm` for `fit = "stretch"`), so a
//! length measured on a resized mask in pixels times this value is in mm.
//! Samples of each split are in the order of their image paths.

pub mod cache;
pub mod pattern;
pub mod resize;
pub mod spec;
pub mod split;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use md5::{Digest, Md5};
use rayon::prelude::*;

pub use spec::{
    embedded_names, embedded_spec, parse_spec, read_spec, DatasetInfo, FileSetDigest, Fit, FolderSpec, GroupArithmetic, GroupSelect,
    ImageFilter, ImageSpec, Key, KnownFile, MaskEncoding, MaskSpec, MaskTransform, Normalize, PartSpec, PixelSizeSpec, Preprocess, Scalar,
    SplitRule, SplitSpec, TableSpec, TargetKind, TargetSpec, Unassigned, Variant, EMBEDDED_SPECS, PIXEL_HEIGHT_SOURCE, PIXEL_SIZE_SOURCE,
    PIXEL_WIDTH_SOURCE,
};

use self::pattern::{render, Pattern};
use super::dataset::{Dataset, ImageShape, Provenance, SourceValues, Split, SplitName};
use super::ellipse::{fill_fitted_ellipse, fill_outline};
use super::fetch::{hex, md5_file, DataSources};
use super::png_io::{read_image, read_mask, Raster};
use crate::{Error, Result};

/// Smallest and largest accepted target size.
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 4..=2048;

/// The default folder of the decoded-image cache: `decoded/` inside the download cache.
pub fn default_cache_dir(sources: &DataSources) -> PathBuf {
    sources.cache.join("decoded")
}

/// What a load did, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The dataset folder that was read (the first, when the dataset spans several).
    pub root: PathBuf,
    /// Every folder that was read.
    pub folders: Vec<PathBuf>,
    /// Images left out because an earlier folder holds the same file.
    pub duplicates: usize,
    /// The cache file used or written.
    pub cache_file: PathBuf,
    /// Whether decoded images came from the cache.
    pub cache_hit: bool,
    /// Why the cache could not be written (the load itself still succeeded).
    pub cache_error: Option<String>,
    /// The known variant the files matched, if any.
    pub variant: Option<String>,
    /// Images listed, and those the split rule dropped.
    pub images: usize,
    /// Images the split rule dropped (`unassigned = "drop"`).
    pub dropped: usize,
    /// md5 digest of the image and mask files (see [`FileSetDigest`]).
    pub files_digest: String,
    /// Wall-clock time of the whole load, seconds.
    pub seconds: f64,
}

/// Loads a folder dataset at `size x size` pixels.
pub fn load_folder_dataset(spec: &FolderSpec, size: u32, sources: &DataSources, cache_dir: &Path) -> Result<Dataset> {
    load_folder_dataset_with_report(spec, size, sources, cache_dir).map(|(d, _)| d)
}

/// One image file and what the spec derives from its name.
struct Record {
    /// The folder (index into the spec's parts) the image is in.
    part: usize,
    path: PathBuf,
    rel: String,
    vars: BTreeMap<String, String>,
    masks: Vec<PathBuf>,
    /// Row index in each table.
    rows: Vec<usize>,
}

/// A CSV table read as text.
struct Table {
    path: PathBuf,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
}

impl Table {
    fn read(path: &Path, spec: &TableSpec) -> Result<(Table, HashMap<String, usize>)> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| Error::format(path, format!("cannot read CSV: {e}")))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| Error::format(path, format!("cannot read the CSV header: {e}")))?
            .iter()
            .map(str::to_owned)
            .collect();
        let id_col = headers
            .iter()
            .position(|h| h == &spec.id_column)
            .ok_or_else(|| Error::format(path, format!("no id column '{}'; the columns are: {}", spec.id_column, headers.join(", "))))?;
        let (mut rows, mut lines) = (Vec::new(), Vec::new());
        let mut index: HashMap<String, usize> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| Error::format(path, format!("malformed CSV: {e}")))?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let id = record.get(id_col).unwrap_or("").to_owned();
            if id.is_empty() {
                return Err(Error::format(path, format!("line {line}: empty '{}'", spec.id_column)));
            }
            if let Some(&prev) = index.get(&id) {
                return Err(Error::format(path, format!("line {line}: '{}' = '{id}' repeats line {}", spec.id_column, lines[prev])));
            }
            index.insert(id, rows.len());
            rows.push(record.iter().map(str::to_owned).collect());
            lines.push(line);
        }
        Ok((Table { path: path.to_owned(), headers, rows, lines }, index))
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

/// Each folder's tables (`parts[p][t]`: folder p's copy of the spec's table t); a column is
/// taken from the first table that has it.
struct Tables {
    parts: Vec<Vec<Table>>,
}

/// A column of the spec's `table`-th table, found by name in every folder's copy.
#[derive(Debug, Clone)]
struct TableColumn {
    table: usize,
    name: String,
}

impl Tables {
    fn find(&self, column: &str) -> Result<TableColumn> {
        let first = self.parts.first().map(Vec::as_slice).unwrap_or(&[]);
        let table = first.iter().position(|t| t.column(column).is_some()).ok_or_else(|| {
            let all: Vec<String> = first.iter().map(|t| format!("{} has {}", t.path.display(), t.headers.join(", "))).collect();
            Error::Invalid(format!("no table has a column '{column}' ({})", all.join("; ")))
        })?;
        for part in &self.parts[1..] {
            if part[table].column(column).is_none() {
                return Err(Error::format(
                    &part[table].path,
                    format!("has no column '{column}', which {} has", first[table].path.display()),
                ));
            }
        }
        Ok(TableColumn { table, name: column.to_owned() })
    }

    /// The cell of `record` in `column` and a "file: line N, column 'x'" location.
    fn cell<'a>(&'a self, record: &Record, column: &TableColumn) -> (&'a str, String) {
        let table = &self.parts[record.part][column.table];
        let row = record.rows[column.table];
        let c = table.column(&column.name).unwrap_or(usize::MAX);
        (
            table.rows[row].get(c).map(String::as_str).unwrap_or(""),
            format!("{}: line {}, column '{}'", table.path.display(), table.lines[row], column.name),
        )
    }
}

/// Loads a folder dataset and reports what the load did (cache hit, variant, timing).
pub fn load_folder_dataset_with_report(
    spec: &FolderSpec,
    size: u32,
    sources: &DataSources,
    cache_dir: &Path,
) -> Result<(Dataset, LoadReport)> {
    let start = Instant::now();
    spec.validate().map_err(|m| Error::Invalid(format!("dataset spec '{}': {m}", spec.dataset.name)))?;
    if !SIZE_RANGE.contains(&size) {
        return Err(Error::Invalid(format!("image size {size} is outside {}..={} pixels", SIZE_RANGE.start(), SIZE_RANGE.end())));
    }
    let info = &spec.dataset;
    let Prepared { roots, folders, records, tables, mut class_names, targets, pixel_sizes, splits, groups, duplicates } =
        prepare(spec, sources)?;
    let root = roots.first().cloned().unwrap_or_default();

    // Checksums, then the decoded images (cached).
    let (provenance_files, digest, variant, verified) = verify(spec, sources, &roots, &folders, &tables, &records)?;
    let spec_json = serde_json::to_string(spec).expect("a spec serialises");
    let key = cache::key(&spec_json, size, &digest);
    let cache_file = cache::file(cache_dir, &info.name, size, &key);
    let kept: Vec<usize> = (0..records.len()).filter(|&i| splits[i].is_some()).collect();
    let rels: Vec<&str> = kept.iter().map(|&i| records[i].rel.as_str()).collect();
    let (size_u, channels) = (size as usize, spec.images.channels);
    let mut cache_error = None;
    let (entries, cache_hit) = match cache::read(&cache_file, &rels, size_u, channels, spec.masks.len()) {
        Some(entries) => (entries, true),
        None => {
            let entries = kept.par_iter().map(|&i| decode(spec, &records[i], size_u)).collect::<Result<Vec<_>>>()?;
            cache_error = cache::write(&cache_file, &entries, size_u, channels, spec.masks.len()).err().map(|e| e.to_string());
            (entries, false)
        }
    };

    // Assemble the three splits.
    let shape = ImageShape { channels, height: size_u, width: size_u };
    let mut parts: BTreeMap<SplitName, Vec<usize>> = BTreeMap::new();
    for (k, &i) in kept.iter().enumerate() {
        parts.entry(splits[i].expect("kept images have a split")).or_default().push(k);
    }
    let mut built = BTreeMap::new();
    for name in SplitName::ALL {
        let members = parts.remove(&name).unwrap_or_default();
        if members.is_empty() {
            return Err(Error::Invalid(format!(
                "dataset '{}': the split rule leaves {name} without images ({} images listed in {})",
                info.name,
                records.len(),
                root.join(&spec.images.dir).display()
            )));
        }
        let split = build_split(spec, shape, &members, &kept, &entries, &targets, pixel_sizes.as_deref())?;
        let split = split.with_groups(members.iter().map(|&k| groups[kept[k]].clone()).collect())?;
        built.insert(name, split);
    }
    for mask in &spec.masks {
        let classes = mask.classes.clone().unwrap_or_else(|| match mask.encoding {
            MaskEncoding::Binary => vec!["background".into(), mask.source.clone()],
            MaskEncoding::Index => {
                let max =
                    entries.iter().flat_map(|e| e.masks.iter()).flatten().copied().filter(|&v| v != UNLABELLED_MASK).max().unwrap_or(0);
                (0..=max).map(|c| c.to_string()).collect()
            }
        });
        class_names.insert(mask.source.clone(), classes);
    }
    let citation = match (&info.doi, &info.data_doi) {
        (Some(doi), Some(data)) if !info.citation.contains(doi.as_str()) => {
            format!("{} doi:{doi}; data doi:{data}", info.citation)
        }
        (_, Some(data)) if !info.citation.contains(data.as_str()) => format!("{} Data: doi:{data}", info.citation),
        _ => info.citation.clone(),
    };
    let dataset = Dataset {
        name: info.name.clone(),
        shape,
        time_points: 1,
        train: built.remove(&SplitName::Train).expect("train"),
        val: built.remove(&SplitName::Val).expect("val"),
        test: built.remove(&SplitName::Test).expect("test"),
        provenance: Provenance { files: provenance_files, verified, citation, license: info.license.clone() },
        class_names,
    };
    let report = LoadReport {
        root,
        folders: roots,
        duplicates,
        cache_file,
        cache_hit,
        cache_error,
        variant,
        images: records.len(),
        dropped: records.len() - kept.len() - duplicates,
        files_digest: digest,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((dataset, report))
}

/// Everything known before any pixel is decoded.
struct Prepared {
    /// The folders read, in the spec's order (absent optional ones left out).
    roots: Vec<PathBuf>,
    /// Their names in the spec (`parts[].folder`).
    folders: Vec<String>,
    records: Vec<Record>,
    tables: Tables,
    class_names: BTreeMap<String, Vec<String>>,
    targets: Vec<(String, ParsedTarget)>,
    pixel_sizes: Option<Vec<f64>>,
    splits: Vec<Option<SplitName>>,
    groups: Vec<String>,
    /// Images left out because an earlier folder holds the same file.
    duplicates: usize,
}

/// Finds the folders, lists images and masks, joins the tables, parses targets and assigns
/// splits, so that every table or naming error comes before the slow part.
fn prepare(spec: &FolderSpec, sources: &DataSources) -> Result<Prepared> {
    let info = &spec.dataset;
    let probe = spec.tables.first().map(|t| t.file.as_str()).unwrap_or(spec.images.dir.as_str());
    let mut roots = Vec::new();
    let mut folders = Vec::new();
    let mut records = Vec::new();
    let mut parts = Vec::new();
    for part in info.folders() {
        let root = match sources.locate_folder(&part.folder, probe, &info.download, info.download_steps.as_deref()) {
            Ok(root) => root,
            Err(Error::DataUnavailable { .. }) if !part.required => continue,
            Err(e) => return Err(e),
        };
        let index = roots.len();
        let mut found = list_images(spec, &root, index)?;
        attach_masks(spec, &root, &mut found)?;
        parts.push(join_tables(spec, &root, &mut found)?);
        records.extend(found);
        roots.push(root);
        folders.push(part.folder.clone());
    }
    // An image a previous folder already holds (same path inside its folder) is redundant.
    let mut seen = BTreeSet::new();
    let duplicate: Vec<bool> = records.iter().map(|r| !seen.insert(r.rel.clone())).collect();
    let tables = Tables { parts };
    let mut class_names = BTreeMap::new();
    let mut targets: Vec<(String, ParsedTarget)> = Vec::new();
    for target in &spec.targets {
        let parsed = parse_target(target, &tables, &records)?;
        if let Target::Labels { classes, .. } = &parsed.target {
            class_names.insert(target.source.clone(), classes.clone());
        }
        targets.push((target.source.clone(), parsed));
    }
    let pixel_sizes = match &spec.pixel_size {
        Some(p) => Some(parse_pixel_sizes(&p.column, &tables, &records)?),
        None => None,
    };
    let (mut splits, groups) = assign_splits(spec, &tables, &records)?;
    for (split, &dup) in splits.iter_mut().zip(&duplicate) {
        if dup {
            *split = None;
        }
    }
    let duplicates = duplicate.iter().filter(|&&d| d).count();
    Ok(Prepared { roots, folders, records, tables, class_names, targets, pixel_sizes, splits, groups, duplicates })
}

/// One image of a folder dataset and the split the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedImage {
    /// The dataset folder it is in (`parts[].folder`, or the dataset's name).
    pub folder: String,
    /// Path relative to the dataset folder.
    pub path: String,
    /// The group value (patient, examination; the path when the spec has no group).
    pub group: String,
    /// `None` when the split rule drops the image.
    pub split: Option<SplitName>,
}

/// The split of every image, without decoding any pixel (for inspecting a spec's split
/// rule and for leakage checks). Images are in folder then path order, as in the loaded
/// splits; an image an earlier folder already holds has no split.
pub fn split_plan(spec: &FolderSpec, sources: &DataSources) -> Result<Vec<PlannedImage>> {
    spec.validate().map_err(|m| Error::Invalid(format!("dataset spec '{}': {m}", spec.dataset.name)))?;
    let Prepared { records, splits, groups, folders, .. } = prepare(spec, sources)?;
    Ok(records
        .into_iter()
        .zip(groups)
        .zip(splits)
        .map(|((r, group), split)| PlannedImage { folder: folders[r.part].clone(), path: r.rel, group, split })
        .collect())
}

fn rel_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn list_images(spec: &FolderSpec, root: &Path, part: usize) -> Result<Vec<Record>> {
    let dir = root.join(&spec.images.dir);
    let pattern = Pattern::parse(&spec.images.pattern).map_err(Error::Invalid)?;
    let excludes =
        spec.images.exclude.iter().map(|p| Pattern::parse(p)).collect::<std::result::Result<Vec<_>, _>>().map_err(Error::Invalid)?;
    if !dir.is_dir() {
        return Err(Error::format(&dir, "the image folder of the dataset spec does not exist"));
    }
    let mut walk = walkdir::WalkDir::new(&dir).min_depth(1).sort_by_file_name();
    if !spec.images.recursive {
        walk = walk.max_depth(1);
    }
    let mut records = Vec::new();
    for entry in walk {
        let entry = entry.map_err(|e| Error::format(&dir, format!("cannot list the image folder: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(captures) = pattern.matches(&name) else { continue };
        if excludes.iter().any(|p| p.matches(&name).is_some()) {
            continue;
        }
        let path = entry.into_path();
        let rel = rel_path(root, &path);
        let stem = match name.rfind('.') {
            Some(i) if i > 0 => name[..i].to_owned(),
            _ => name.clone(),
        };
        let dir_rel = rel.rsplit_once('/').map(|(d, _)| d.to_owned()).unwrap_or_default();
        let mut vars = captures;
        vars.insert("name".into(), name);
        vars.insert("stem".into(), stem);
        vars.insert("dir".into(), dir_rel);
        vars.insert("path".into(), rel.clone());
        records.push(Record { part, path, rel, vars, masks: Vec::new(), rows: Vec::new() });
    }
    records.sort_by(|a, b| a.rel.cmp(&b.rel));
    if records.is_empty() {
        return Err(Error::format(&dir, format!("no image file matches '{}'", spec.images.pattern)));
    }
    Ok(records)
}

fn attach_masks(spec: &FolderSpec, root: &Path, records: &mut [Record]) -> Result<()> {
    let images: BTreeSet<String> = records.iter().map(|r| r.rel.clone()).collect();
    for record in records.iter_mut() {
        for mask in &spec.masks {
            let rel = render(&mask.path, &record.vars).map_err(Error::Invalid)?;
            let path = root.join(&rel);
            if images.contains(&rel) {
                return Err(Error::format(
                    &path,
                    format!(
                        "is both an image and the '{}' mask of {}; narrow images.pattern or add an exclude",
                        mask.source,
                        record.path.display()
                    ),
                ));
            }
            // A missing mask leaves the image unlabelled for that source (partial labels);
            // a task on the source refuses it unless it says `partial_labels = true`.
            record.masks.push(path);
        }
    }
    Ok(())
}

fn join_tables(spec: &FolderSpec, root: &Path, records: &mut [Record]) -> Result<Vec<Table>> {
    let mut tables = Vec::new();
    for table_spec in &spec.tables {
        let path = root.join(&table_spec.file);
        let (table, index) = Table::read(&path, table_spec)?;
        let mut used = vec![false; table.rows.len()];
        for record in records.iter_mut() {
            let id = render(&table_spec.id, &record.vars).map_err(Error::Invalid)?;
            let row = *index.get(&id).ok_or_else(|| {
                Error::format(&record.path, format!("image has no row in {} (no '{}' = '{id}')", path.display(), table_spec.id_column))
            })?;
            used[row] = true;
            record.rows.push(row);
        }
        if let Some(row) = used.iter().position(|u| !u) {
            let id = &table.rows[row][table.column(&table_spec.id_column).expect("id column exists")];
            return Err(Error::format(
                &path,
                format!(
                    "line {}: row '{}' = '{id}' has no image (none of the {} files in {} matching '{}' has the id '{id}' by '{}')",
                    table.lines[row],
                    table_spec.id_column,
                    records.len(),
                    root.join(&spec.images.dir).display(),
                    spec.images.pattern,
                    table_spec.id
                ),
            ));
        }
        tables.push(table);
    }
    Ok(tables)
}

enum Target {
    Labels { classes: Vec<String>, values: Vec<u32> },
    Values(Vec<f32>),
}

/// A target column, parsed: its values, and which records have one (`None`: all). An empty
/// cell is a missing label (partial labels), not an error: its record gets a placeholder
/// value (0, or the first class) that only unlabelled-aware tasks ever see.
struct ParsedTarget {
    target: Target,
    labelled: Option<Vec<bool>>,
}

fn parse_number(text: &str, at: &str) -> Result<f64> {
    let v: f64 = text.parse().map_err(|_| Error::Invalid(format!("{at}: '{text}' is not a number")))?;
    if !v.is_finite() {
        return Err(Error::Invalid(format!("{at}: '{text}' is not a finite number (NaN or infinite targets are refused)")));
    }
    Ok(v)
}

fn parse_target(target: &TargetSpec, tables: &Tables, records: &[Record]) -> Result<ParsedTarget> {
    let col = tables.find(&target.column).map_err(|e| Error::Invalid(format!("target '{}': {e}", target.source)))?;
    let cells: Vec<(&str, String)> = records.iter().map(|r| tables.cell(r, &col)).collect();
    let present: Vec<bool> = cells.iter().map(|(v, _)| !v.trim().is_empty()).collect();
    if !records.is_empty() && !present.contains(&true) {
        return Err(Error::Invalid(format!(
            "target '{}': column '{}' is empty for every image; name a column with values",
            target.source, target.column
        )));
    }
    let filled = || cells.iter().zip(&present).filter(|(_, &p)| p).map(|(c, _)| c);
    let numeric = filled().all(|(v, _)| v.parse::<f64>().is_ok());
    let kind = target.kind.unwrap_or(if numeric && target.classes.is_none() { TargetKind::Values } else { TargetKind::Labels });
    let parsed = match kind {
        TargetKind::Values => {
            let values = cells
                .iter()
                .zip(&present)
                .map(|((v, at), &p)| if p { parse_number(v, at).map(|x| x as f32) } else { Ok(0.0) })
                .collect::<Result<Vec<_>>>()?;
            Target::Values(values)
        }
        TargetKind::Labels => {
            let classes = match &target.classes {
                Some(c) => c.clone(),
                None => {
                    let mut distinct: Vec<String> = filled().map(|(v, _)| v.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
                    if numeric {
                        distinct.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)));
                    }
                    distinct
                }
            };
            let index: HashMap<&str, u32> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as u32)).collect();
            let values = cells
                .iter()
                .zip(&present)
                .map(|((v, at), &p)| {
                    if !p {
                        return Ok(0);
                    }
                    index.get(v).copied().ok_or_else(|| {
                        Error::Invalid(format!(
                            "{at}: label '{v}' is not one of the declared classes of '{}': {}",
                            target.source,
                            classes.join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Target::Labels { classes, values }
        }
    };
    Ok(ParsedTarget { target: parsed, labelled: present.contains(&false).then_some(present) })
}

fn parse_pixel_sizes(column: &str, tables: &Tables, records: &[Record]) -> Result<Vec<f64>> {
    let col = tables.find(column).map_err(|e| Error::Invalid(format!("pixel_size: {e}")))?;
    records
        .iter()
        .map(|r| {
            let (v, at) = tables.cell(r, &col);
            let x = parse_number(v, &at)?;
            if x <= 0.0 {
                return Err(Error::Invalid(format!("{at}: pixel size {x} must be positive")));
            }
            Ok(x)
        })
        .collect()
}

/// The split and the group of every image.
fn assign_splits(spec: &FolderSpec, tables: &Tables, records: &[Record]) -> Result<(Vec<Option<SplitName>>, Vec<String>)> {
    let group_col = match &spec.split.group {
        Some(Key::Column(c)) => Some(tables.find(c).map_err(|e| Error::Invalid(format!("split.group: {e}")))?),
        _ => None,
    };
    let rule_col = match &spec.split.rule {
        SplitRule::Column { column } | SplitRule::Folds { column, .. } => {
            Some(tables.find(column).map_err(|e| Error::Invalid(format!("split.rule: {e}")))?)
        }
        _ => None,
    };
    let mut items = Vec::with_capacity(records.len());
    let files: Vec<String> = records.iter().map(|r| r.path.display().to_string()).collect();
    for (record, file) in records.iter().zip(&files) {
        let group = match (&spec.split.group, group_col.as_ref()) {
            (Some(Key::Template(t)), _) => render(t, &record.vars).map_err(Error::Invalid)?,
            (Some(Key::Column(_)), Some(col)) => {
                let (v, at) = tables.cell(record, col);
                if v.is_empty() {
                    return Err(Error::Invalid(format!("{at}: empty group value")));
                }
                v.to_owned()
            }
            _ => record.rel.clone(),
        };
        let rule_value = rule_col.as_ref().map(|col| {
            let (v, at) = tables.cell(record, col);
            (v.to_owned(), at)
        });
        items.push(split::Item { file: file.as_str(), group, rule_value });
    }
    let splits = split::assign(&spec.split, &items)?;
    Ok((splits, items.into_iter().map(|i| i.group).collect()))
}

type Verified = (Vec<(String, String)>, String, Option<String>, bool);

/// Checks every folder's tables and image files against its variants. Returns the
/// provenance file list, the image-set digest (one folder's, or the md5 of the folders'
/// digests), the matching variants and whether everything was verified.
fn verify(
    spec: &FolderSpec,
    sources: &DataSources,
    roots: &[PathBuf],
    names: &[String],
    tables: &Tables,
    records: &[Record],
) -> Result<Verified> {
    let first_folder = spec.dataset.folders().first().map(|f| f.folder.clone()).unwrap_or_default();
    let mut out: Verified = (Vec::new(), String::new(), None, true);
    let mut digests = Vec::new();
    let mut variants = Vec::new();
    for (p, root) in roots.iter().enumerate() {
        let folder = names[p].as_str();
        let first = folder == first_folder;
        let own: Vec<&Variant> = spec.dataset.variants.iter().filter(|v| v.part.as_deref().map_or(first, |name| name == folder)).collect();
        let part_records: Vec<&Record> = records.iter().filter(|r| r.part == p).collect();
        let (provenance, digest, variant, verified) = verify_part(spec, sources, root, &own, &tables.parts[p], &part_records)?;
        out.0.extend(provenance);
        digests.push(digest);
        variants.extend(variant);
        out.3 &= verified;
    }
    out.1 = if digests.len() == 1 { digests.remove(0) } else { hex(&Md5::digest(digests.join(",").as_bytes())) };
    out.2 = (!variants.is_empty()).then(|| variants.join(" + "));
    Ok(out)
}

/// [`verify`] for one folder against the variants that describe it.
fn verify_part(
    spec: &FolderSpec,
    sources: &DataSources,
    root: &Path,
    variants: &[&Variant],
    tables: &[Table],
    records: &[&Record],
) -> Result<Verified> {
    // md5 of every table and every file a variant lists.
    let mut md5s: BTreeMap<String, String> = BTreeMap::new();
    let mut wanted: Vec<String> = spec.tables.iter().map(|t| t.file.clone()).collect();
    for v in variants {
        wanted.extend(v.files.iter().map(|f| f.path.clone()));
    }
    for rel in wanted {
        if let std::collections::btree_map::Entry::Vacant(slot) = md5s.entry(rel) {
            let path = root.join(slot.key());
            let sum = if path.is_file() { md5_file(&path)? } else { String::new() };
            slot.insert(sum);
        }
    }
    // The image-set digest: md5 of the md5sum-style listing of images and masks.
    let mut files: Vec<(String, &Path)> = Vec::new();
    for r in records {
        files.push((r.rel.clone(), r.path.as_path()));
        // A missing mask (an unlabelled image) is not in the listing, so the digest shows it.
        for m in r.masks.iter().filter(|m| m.is_file()) {
            files.push((rel_path(root, m), m.as_path()));
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files.dedup_by(|a, b| a.0 == b.0);
    let sums = files.par_iter().map(|(_, p)| md5_file(p)).collect::<Result<Vec<_>>>()?;
    let mut listing = Md5::new();
    for ((rel, _), sum) in files.iter().zip(&sums) {
        listing.update(format!("{sum}  {rel}\n").as_bytes());
    }
    let digest = hex(&listing.finalize());

    let mut provenance: Vec<(String, String)> =
        tables.iter().zip(&spec.tables).map(|(t, s)| (t.path.display().to_string(), md5s[&s.file].clone())).collect();
    let mask_note = if spec.masks.is_empty() { String::new() } else { " and their masks".into() };
    provenance.push((
        format!(
            "{} ({} image files{mask_note}: {} files, md5 of their md5sum listing)",
            root.join(&spec.images.dir).join(&spec.images.pattern).display(),
            records.len(),
            files.len()
        ),
        digest.clone(),
    ));

    if variants.is_empty() {
        return Ok((provenance, digest, None, false));
    }
    let tables_match = |v: &&Variant| v.files.iter().all(|f| md5s.get(&f.path).is_some_and(|s| s.eq_ignore_ascii_case(&f.md5)));
    let images_match = |v: &&Variant| {
        v.image_files.as_ref().is_none_or(|d| d.count == files.len() && d.md5.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(&digest)))
    };
    if let Some(v) = variants.iter().find(|v| tables_match(v) && images_match(v)) {
        return Ok((provenance, digest, Some(v.name.clone()), true));
    }
    if sources.allow_unverified {
        return Ok((provenance, digest, None, false));
    }
    // Name the first file that differs from every variant that lists it.
    for v in variants {
        for f in &v.files {
            let actual = &md5s[&f.path];
            let listed: Vec<String> = variants
                .iter()
                .flat_map(|w| w.files.iter().filter(|g| g.path == f.path).map(move |g| format!("{} ({})", g.md5, w.name)))
                .collect();
            if !variants.iter().any(|w| w.files.iter().any(|g| g.path == f.path && g.md5.eq_ignore_ascii_case(actual))) {
                if actual.is_empty() {
                    return Err(Error::format(root.join(&f.path), "file listed in the dataset catalog is missing"));
                }
                return Err(Error::Checksum { file: root.join(&f.path), expected: listed.join(" or "), actual: actual.clone() });
            }
        }
    }
    let expected: Vec<String> = variants
        .iter()
        .filter_map(|v| {
            v.image_files
                .as_ref()
                .map(|d| format!("{} files{} ({})", d.count, d.md5.as_ref().map(|m| format!(", md5 {m}")).unwrap_or_default(), v.name))
        })
        .collect();
    Err(Error::Checksum {
        file: root.join(&spec.images.dir).join(format!("{} ({} image and mask files)", spec.images.pattern, files.len())),
        expected: expected.join(" or "),
        actual: digest,
    })
}

/// Decodes, checks, transforms and resizes one image and its masks.
fn decode(spec: &FolderSpec, record: &Record, size: usize) -> Result<cache::Entry> {
    let image = read_image(&record.path, spec.images.channels)?;
    let pre = &spec.preprocess;
    let (resized, _) = resize::resize(&image, size, pre.fit, Some(pre.image_filter), pre.pad_value);
    let mut masks = Vec::with_capacity(spec.masks.len());
    for (mask_spec, path) in spec.masks.iter().zip(&record.masks) {
        if !path.is_file() {
            masks.push(vec![UNLABELLED_MASK; size * size]);
            continue;
        }
        let raw = read_mask(path)?;
        if (raw.width, raw.height) != (image.width, image.height) {
            return Err(Error::format(
                path,
                format!("mask is {}x{} but its image {} is {}x{}", raw.width, raw.height, record.path.display(), image.width, image.height),
            ));
        }
        let mut values: Vec<u8> = match mask_spec.encoding {
            MaskEncoding::Binary => raw.data.iter().map(|&v| (v != 0) as u8).collect(),
            MaskEncoding::Index => raw.data.clone(),
        };
        if let (MaskEncoding::Index, Some(classes)) = (mask_spec.encoding, &mask_spec.classes) {
            if let Some(v) = values.iter().find(|&&v| v as usize >= classes.len()) {
                return Err(Error::format(path, format!("mask value {v} is outside the {} declared classes", classes.len())));
            }
        }
        if mask_spec.transform != MaskTransform::None {
            let outline = values.iter().filter(|&&v| v != 0).count();
            if outline == 0 {
                return Err(Error::format(path, "outline mask is empty"));
            }
            values = match mask_spec.transform {
                MaskTransform::FillEllipse => fill_fitted_ellipse(&values, raw.width, raw.height)
                    .ok_or_else(|| Error::format(path, "no ellipse fits the outline pixels"))?,
                _ => fill_outline(&values, raw.width, raw.height),
            };
            if values.iter().filter(|&&v| v != 0).count() <= outline && mask_spec.transform == MaskTransform::FillOutline {
                return Err(Error::format(path, "outline is not closed: filling it found no inside"));
            }
        }
        let (small, _) =
            resize::resize(&Raster { width: raw.width, height: raw.height, channels: 1, data: values }, size, pre.fit, None, 0);
        masks.push(small.data);
    }
    Ok(cache::Entry { rel: record.rel.clone(), width: image.width as u32, height: image.height as u32, image: resized.data, masks })
}

/// The cached mask of an image whose mask file is absent: every pixel this value, which no
/// mask class takes (masks have at most 255 classes).
const UNLABELLED_MASK: u8 = u8::MAX;

fn build_split(
    spec: &FolderSpec,
    shape: ImageShape,
    members: &[usize],
    kept: &[usize],
    entries: &[cache::Entry],
    targets: &[(String, ParsedTarget)],
    pixel_sizes: Option<&[f64]>,
) -> Result<Split> {
    let ImageShape { channels: c, height: h, width: w } = shape;
    let norm = spec.preprocess.normalize;
    let mut images = Vec::with_capacity(members.len() * c * h * w);
    for &k in members {
        let data = &entries[k].image;
        for ch in 0..c {
            images.extend(data.iter().skip(ch).step_by(c).map(|&v| (v as f32 / norm.scale - norm.mean) / norm.std));
        }
    }
    let mut sources = BTreeMap::new();
    let mut unlabelled = Vec::new();
    for (m, mask) in spec.masks.iter().enumerate() {
        let missing = |k: usize| entries[k].masks[m].iter().all(|&v| v == UNLABELLED_MASK);
        let labelled: Vec<bool> = members.iter().map(|&k| !missing(k)).collect();
        let values: Vec<u8> =
            members.iter().flat_map(|&k| entries[k].masks[m].iter().map(move |&v| if v == UNLABELLED_MASK { 0 } else { v })).collect();
        sources.insert(mask.source.clone(), SourceValues::Masks { height: h, width: w, values });
        if labelled.contains(&false) {
            unlabelled.push((mask.source.clone(), labelled));
        }
    }
    for (name, parsed) in targets {
        let values = match &parsed.target {
            Target::Labels { values, .. } => SourceValues::Labels(members.iter().map(|&k| values[kept[k]]).collect()),
            Target::Values(values) => SourceValues::Values(members.iter().map(|&k| values[kept[k]]).collect()),
        };
        sources.insert(name.clone(), values);
        if let Some(present) = &parsed.labelled {
            let labelled: Vec<bool> = members.iter().map(|&k| present[kept[k]]).collect();
            if labelled.contains(&false) {
                unlabelled.push((name.clone(), labelled));
            }
        }
    }
    if let Some(sizes) = pixel_sizes {
        let place = |k: usize| resize::placement(entries[k].width as usize, entries[k].height as usize, w, spec.preprocess.fit);
        match spec.preprocess.fit {
            Fit::Pad => {
                let v = members.iter().map(|&k| (sizes[kept[k]] / place(k).scale_x) as f32).collect();
                sources.insert(PIXEL_SIZE_SOURCE.to_owned(), SourceValues::Values(v));
            }
            Fit::Stretch => {
                let vw = members.iter().map(|&k| (sizes[kept[k]] / place(k).scale_x) as f32).collect();
                let vh = members.iter().map(|&k| (sizes[kept[k]] / place(k).scale_y) as f32).collect();
                sources.insert(PIXEL_WIDTH_SOURCE.to_owned(), SourceValues::Values(vw));
                sources.insert(PIXEL_HEIGHT_SOURCE.to_owned(), SourceValues::Values(vh));
            }
        }
    }
    let mut split = Split::new(images, shape, sources)?;
    for (source, labelled) in unlabelled {
        split = split.with_labelled(&source, labelled)?;
    }
    Ok(split)
}
