//! In-memory datasets: images plus named target sources, split into train/val/test.
//!
//! Every loader (MedMNIST `.npz`, image folders, synthetic phantoms) produces this one type,
//! so tasks, models and training never care where the pixels came from. Images are stored
//! as normalised `f32` in NCHW order because that is what the models consume; targets are
//! stored per *source* (e.g. MedMNIST's `label` column), and tasks derive their targets
//! from a source (see [`crate::task`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The three fixed partitions every dataset provides. Model selection uses `Val` only.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr, strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum SplitName {
    /// What the model is fitted on.
    Train,
    /// What model selection reads.
    Val,
    /// What results report.
    Test,
}

impl SplitName {
    /// The three splits in order.
    pub const ALL: [SplitName; 3] = [SplitName::Train, SplitName::Val, SplitName::Test];

    /// The split's name in results tables.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Per-sample values of one target source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceValues {
    /// One class index per sample (binary, multi-class, ordinal grades).
    Labels(Vec<u32>),
    /// `width` 0/1 values per sample (multi-label).
    MultiLabels {
        /// Number of labels per sample.
        width: usize,
        /// `n x width` values, row-major.
        values: Vec<u8>,
    },
    /// One real value per sample (regression targets such as a lesion area).
    Values(Vec<f32>),
    /// One `height x width` class map per sample (segmentation).
    Masks {
        /// Mask height, pixels.
        height: usize,
        /// Mask width, pixels.
        width: usize,
        /// `n x height x width` class indices, row-major.
        values: Vec<u8>,
    },
}

impl SourceValues {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            SourceValues::Labels(v) => v.len(),
            SourceValues::MultiLabels { width, values } => values.len() / (*width).max(1),
            SourceValues::Values(v) => v.len(),
            SourceValues::Masks { height, width, values } => values.len() / (height * width).max(1),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One partition: `n` images of `channels x height x width` and their target sources.
#[derive(Debug, Clone)]
pub struct Split {
    images: Vec<f32>,
    n: usize,
    shape: ImageShape,
    sources: BTreeMap<String, SourceValues>,
    /// Each sample's group (patient, examination) where the dataset knows it.
    groups: Option<Vec<String>>,
    /// Per source with unlabelled samples (a missing mask file), which samples are labelled.
    labelled: BTreeMap<String, Vec<bool>>,
}

impl Split {
    /// Builds a split, checking that every buffer agrees with `n` and the image shape.
    pub fn new(images: Vec<f32>, shape: ImageShape, sources: BTreeMap<String, SourceValues>) -> crate::Result<Self> {
        let per = shape.pixels_per_image();
        if per == 0 || !images.len().is_multiple_of(per) {
            return Err(crate::Error::Invalid(format!("image buffer of {} values is not a whole number of {shape} images", images.len())));
        }
        let n = images.len() / per;
        for (name, values) in &sources {
            if values.len() != n {
                return Err(crate::Error::Invalid(format!("target source '{name}' has {} samples but there are {n} images", values.len())));
            }
        }
        Ok(Split { images, n, shape, sources, groups: None, labelled: BTreeMap::new() })
    }

    /// The split with each sample's group (patient, examination), for what must keep a
    /// patient's images together (a labelled fraction of patients).
    pub fn with_groups(mut self, groups: Vec<String>) -> crate::Result<Self> {
        if groups.len() != self.n {
            return Err(crate::Error::Invalid(format!("{} group values for {} images", groups.len(), self.n)));
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// Each sample's group, where the dataset knows it.
    pub fn groups(&self) -> Option<&[String]> {
        self.groups.as_deref()
    }

    /// The split with the samples of `source` that carry a value marked (the others hold a
    /// placeholder: an all-background mask).
    pub fn with_labelled(mut self, source: &str, labelled: Vec<bool>) -> crate::Result<Self> {
        if labelled.len() != self.n || !self.sources.contains_key(source) {
            return Err(crate::Error::Invalid(format!("labelled marks for source '{source}' do not fit the split")));
        }
        self.labelled.insert(source.to_owned(), labelled);
        Ok(self)
    }

    /// Which samples carry a value of `source`; `None` when all do.
    pub fn labelled(&self, source: &str) -> Option<&[bool]> {
        self.labelled.get(source).map(Vec::as_slice)
    }

    /// Number of images n.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the split has no images.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// All images, normalised, `n x C x H x W` (NCHW), row-major.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// Shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The target source called `name`, if the dataset has it.
    pub fn source(&self, name: &str) -> Option<&SourceValues> {
        self.sources.get(name)
    }

    /// Names of the target sources, sorted.
    pub fn source_names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// The samples at `idx` (in that order), with every target source.
    pub fn select(&self, idx: &[usize]) -> Split {
        let per = self.shape.pixels_per_image();
        let images = idx.iter().flat_map(|&i| self.images[i * per..(i + 1) * per].iter().copied()).collect();
        let pick =
            |values: &[u8], per: usize| idx.iter().flat_map(|&i| values[i * per..(i + 1) * per].iter().copied()).collect::<Vec<u8>>();
        let sources = self
            .sources
            .iter()
            .map(|(name, v)| {
                let picked = match v {
                    SourceValues::Labels(l) => SourceValues::Labels(idx.iter().map(|&i| l[i]).collect()),
                    SourceValues::Values(x) => SourceValues::Values(idx.iter().map(|&i| x[i]).collect()),
                    SourceValues::MultiLabels { width, values } => {
                        SourceValues::MultiLabels { width: *width, values: pick(values, *width) }
                    }
                    SourceValues::Masks { height, width, values } => {
                        SourceValues::Masks { height: *height, width: *width, values: pick(values, height * width) }
                    }
                };
                (name.clone(), picked)
            })
            .collect();
        let groups = self.groups.as_ref().map(|g| idx.iter().map(|&i| g[i].clone()).collect());
        let labelled = self.labelled.iter().map(|(s, l)| (s.clone(), idx.iter().map(|&i| l[i]).collect())).collect();
        Split { images, n: idx.len(), shape: self.shape, sources, groups, labelled }
    }
}

/// Channels, height and width of every image in a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Channels C (1 grey, 3 RGB).
    pub channels: usize,
    /// Height H, pixels.
    pub height: usize,
    /// Width W, pixels.
    pub width: usize,
}

impl ImageShape {
    /// Values per image, `C x H x W`.
    pub fn pixels_per_image(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// Where the data came from, recorded with every result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Files read, with their md5 as found on disk.
    pub files: Vec<(String, String)>,
    /// False when any file's md5 differs from the catalog (used with `--allow-unverified`).
    pub verified: bool,
    /// How to cite the data, as printed in reports.
    pub citation: String,
    /// The data's licence.
    pub license: String,
}

/// A loaded dataset with fixed train/val/test splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The dataset's name (catalog name, folder spec name or `phantoms`).
    pub name: String,
    /// Shape of every image, in every split.
    pub shape: ImageShape,
    /// Time points per sample: 1, or 2 for longitudinal pairs, whose images hold the
    /// time points' channels one after the other (baseline first).
    pub time_points: usize,
    /// The training split.
    pub train: Split,
    /// The validation split (model selection).
    pub val: Split,
    /// The test split (reported results).
    pub test: Split,
    /// Files read, checksums and citation, recorded with every result.
    pub provenance: Provenance,
    /// Class names of each categorical target source (e.g. MedMNIST's label names).
    pub class_names: BTreeMap<String, Vec<String>>,
}

impl Dataset {
    /// Image channels of one time point.
    pub fn channels_per_time_point(&self) -> usize {
        self.shape.channels / self.time_points.max(1)
    }

    /// The dataset with colour images converted to one luminance channel
    /// (`0.299 R + 0.587 G + 0.114 B`, ITU-R BT.601); single-channel data unchanged.
    pub fn to_grayscale(mut self) -> crate::Result<Dataset> {
        if self.shape.channels == 1 {
            return Ok(self);
        }
        if self.shape.channels != 3 || self.time_points != 1 {
            return Err(crate::Error::Invalid(format!(
                "dataset '{}': grayscale converts 3-channel images, these have {} channel(s) per image",
                self.name, self.shape.channels
            )));
        }
        let shape = ImageShape { channels: 1, ..self.shape };
        let plane = shape.height * shape.width;
        for split in [&mut self.train, &mut self.val, &mut self.test] {
            let grey: Vec<f32> = split
                .images
                .chunks_exact(3 * plane)
                .flat_map(|img| (0..plane).map(move |k| 0.299 * img[k] + 0.587 * img[plane + k] + 0.114 * img[2 * plane + k]))
                .collect();
            split.images = grey;
            split.shape = shape;
        }
        self.shape = shape;
        Ok(self)
    }

    /// The split named `which`.
    pub fn split(&self, which: SplitName) -> &Split {
        match which {
            SplitName::Train => &self.train,
            SplitName::Val => &self.val,
            SplitName::Test => &self.test,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grayscale_weights_the_channels_as_bt601() {
        let shape = ImageShape { channels: 3, height: 1, width: 2 };
        // Two pixels: pure red, then (0.5, 1.0, 0.0).
        let split = || Split::new(vec![1.0, 0.5, 0.0, 1.0, 0.0, 0.0], shape, BTreeMap::new()).unwrap();
        let d = Dataset {
            name: "rgb".into(),
            shape,
            time_points: 1,
            train: split(),
            val: split(),
            test: split(),
            provenance: Provenance::default(),
            class_names: BTreeMap::new(),
        };
        let grey = d.to_grayscale().unwrap();
        assert_eq!(grey.shape, ImageShape { channels: 1, height: 1, width: 2 });
        let expected = [0.299f32, 0.299 * 0.5 + 0.587];
        for split in [&grey.train, &grey.val, &grey.test] {
            assert_eq!(split.shape(), grey.shape);
            for (a, b) in split.images().iter().zip(expected) {
                assert!((a - b).abs() < 1e-6, "{:?}", split.images());
            }
        }
    }
}
