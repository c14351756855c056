//! Mid-run checkpoints: everything a run needs to continue after its last finished epoch
//! with the numbers an uninterrupted run would have produced.
//!
//! One file per run (`checkpoint.safetensors` in the run's folder), written atomically at
//! the end of every epoch: the model's parameters and buffers, the weighting method's
//! variables, Adam's moments and the best-on-validation snapshots as f32 tensors; the
//! epoch count, history, random-number position, batch order, optimiser step, weighting
//! state and selection bookkeeping as JSON in the file's metadata. The file names the run's
//! config hash, so a checkpoint of another configuration is never resumed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where a run keeps its checkpoint and which configuration it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointSpec {
    /// The checkpoint file.
    pub path: PathBuf,
    /// The run's config hash; a checkpoint with another key is ignored.
    pub key: String,
}

/// Named f32 arrays plus a JSON document: the contents of one checkpoint file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle {
    /// Arrays by name.
    pub arrays: Vec<(String, Vec<f32>)>,
    /// Everything else, as JSON.
    pub meta: serde_json::Value,
}

const META_KEY: &str = "medmtl";

/// What the metadata records besides the arrays' payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    key: String,
    state: serde_json::Value,
}

impl Bundle {
    /// The array called `name`.
    pub fn array(&self, name: &str) -> Result<&[f32]> {
        self.arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| Error::Invalid(format!("checkpoint: array '{name}' is missing")))
    }
}

/// Writes `bundle` to `spec.path` atomically (a crash leaves the previous checkpoint).
pub fn save(spec: &CheckpointSpec, bundle: &Bundle) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>)> =
        bundle.arrays.iter().map(|(name, values)| (name.clone(), values.iter().flat_map(|v| v.to_le_bytes()).collect())).collect();
    let views = bytes
        .iter()
        .map(|(name, data)| Ok((name.clone(), TensorView::new(Dtype::F32, vec![data.len() / 4], data).map_err(bad(&spec.path))?)))
        .collect::<Result<Vec<_>>>()?;
    let header = serde_json::to_string(&Header { key: spec.key.clone(), state: bundle.meta.clone() })
        .map_err(|e| Error::format(&spec.path, e.to_string()))?;
    let file = safetensors::serialize(views, Some(HashMap::from([(META_KEY.to_owned(), header)]))).map_err(bad(&spec.path))?;
    crate::fsio::write_bytes(&spec.path, &file)
}

/// The checkpoint at `spec.path` if there is one for this configuration; `Ok(None)` when
/// the file is absent or belongs to another configuration (a stale file is never
/// resumed). A file that cannot be read is an error naming it.
pub fn load(spec: &CheckpointSpec) -> Result<Option<Bundle>> {
    let bytes = match std::fs::read(&spec.path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&spec.path, e)),
    };
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(bad(&spec.path))?;
    let text = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| Error::format(&spec.path, "not a medmtl checkpoint (no medmtl metadata); delete it to start the run afresh"))?;
    let header: Header = serde_json::from_str(text).map_err(|e| Error::format(&spec.path, e.to_string()))?;
    if header.key != spec.key {
        return Ok(None);
    }
    let tensors = SafeTensors::deserialize(&bytes).map_err(bad(&spec.path))?;
    let mut arrays: Vec<(String, Vec<f32>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (name, values)
        })
        .collect();
    arrays.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(Bundle { arrays, meta: header.state }))
}

/// Removes the checkpoint once its run is complete.
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn bad(path: &Path) -> impl Fn(safetensors::SafeTensorError) -> Error + '_ {
    move |e| Error::format(path, format!("checkpoint file: {e}; delete it to start the run afresh"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_refuses_other_configurations_and_names_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let spec = CheckpointSpec { path: dir.path().join("checkpoint.safetensors"), key: "abc".into() };
        assert_eq!(load(&spec).unwrap(), None, "no file yet");
        let bundle = Bundle {
            arrays: vec![("a".into(), vec![1.0, -2.5, f32::MIN_POSITIVE]), ("b".into(), vec![])],
            meta: serde_json::json!({ "epoch": 3, "word_pos": "12345678901234567890" }),
        };
        save(&spec, &bundle).unwrap();
        assert_eq!(load(&spec).unwrap(), Some(bundle.clone()));
        let other = CheckpointSpec { key: "abd".into(), ..spec.clone() };
        assert_eq!(load(&other).unwrap(), None, "another configuration's checkpoint is not resumed");
        std::fs::write(&spec.path, b"garbage").unwrap();
        let err = load(&spec).unwrap_err().to_string();
        assert!(err.contains("checkpoint.safetensors") && err.contains("delete it"), "{err}");
        remove(&spec.path).unwrap();
        remove(&spec.path).unwrap();
    }
}
