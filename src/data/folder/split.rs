//! Assigning images to train/val/test from a [`SplitSpec`], and the leakage check: images
//! of one group (patient, examination) never end up in two splits.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use super::spec::{GroupArithmetic, GroupSelect, Scalar, SplitRule, SplitSpec, Unassigned};
use crate::data::SplitName;
use crate::{Error, Result};

/// What the split rule needs to know about one image.
pub struct Item<'a> {
    /// The image file (for messages).
    pub file: &'a str,
    /// The group value (the image path when the spec has no group).
    pub group: String,
    /// The value of the rule's column (`column` and `folds` rules), with where it came from.
    pub rule_value: Option<(String, String)>,
}

/// The split of every image; `None` for images the rule drops (`unassigned = "drop"`).
pub fn assign(spec: &SplitSpec, items: &[Item<'_>]) -> Result<Vec<Option<SplitName>>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let split = match &spec.rule {
            SplitRule::Column { column } => {
                let (value, at) = item.rule_value.as_ref().expect("column rules read their column");
                let split = match value.to_ascii_lowercase().as_str() {
                    "train" | "training" => Some(SplitName::Train),
                    "val" | "valid" | "validation" => Some(SplitName::Val),
                    "test" | "testing" => Some(SplitName::Test),
                    _ => None,
                };
                if split.is_none() && spec.unassigned == Unassigned::Error {
                    return Err(Error::Invalid(format!(
                        "{at}: split column '{column}' has '{value}' for image {}; expected train, val or test \
                         (or set split.unassigned = \"drop\")",
                        item.file
                    )));
                }
                split
            }
            SplitRule::Folds { column, train, val, test } => {
                let (value, at) = item.rule_value.as_ref().expect("fold rules read their column");
                let hit = |list: &[Scalar]| list.iter().any(|s| same_value(&s.to_string(), value));
                let split = if hit(test) {
                    Some(SplitName::Test)
                } else if hit(val) {
                    Some(SplitName::Val)
                } else if hit(train) {
                    Some(SplitName::Train)
                } else {
                    None
                };
                if split.is_none() && spec.unassigned == Unassigned::Error {
                    let list = |l: &[Scalar]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
                    return Err(Error::Invalid(format!(
                        "{at}: fold column '{column}' is '{value}' for image {}, which is in no split \
                         (train: [{}], val: [{}], test: [{}]); list it or set split.unassigned = \"drop\"",
                        item.file,
                        list(train),
                        list(val),
                        list(test)
                    )));
                }
                split
            }
            SplitRule::Modulo { modulus, test, val } | SplitRule::Hash { modulus, test, val } => {
                let by = if matches!(spec.rule, SplitRule::Modulo { .. }) { GroupArithmetic::Modulo } else { GroupArithmetic::Hash };
                let r = remainder(by, &item.group, *modulus, item.file)?;
                Some(if test.contains(&r) {
                    SplitName::Test
                } else if val.contains(&r) {
                    SplitName::Val
                } else {
                    SplitName::Train
                })
            }
        };
        let split = match (split, &spec.val_from_train) {
            (Some(SplitName::Train), Some(sel)) if selected(sel, &item.group, item.file)? => Some(SplitName::Val),
            (s, _) => s,
        };
        out.push(split);
    }
    check_groups(items, &out)?;
    Ok(out)
}

fn selected(sel: &GroupSelect, group: &str, file: &str) -> Result<bool> {
    Ok(sel.remainders.contains(&remainder(sel.by, group, sel.modulus, file)?))
}

/// `group mod modulus`, or a stable hash of the group mod modulus.
pub fn remainder(by: GroupArithmetic, group: &str, modulus: u64, file: &str) -> Result<u64> {
    match by {
        GroupArithmetic::Modulo => {
            let v: i64 = group.trim().parse().map_err(|_| {
                Error::Invalid(format!(
                    "image {file}: group value '{group}' is not an integer, so the modulo split rule cannot use it \
                     (use the hash rule for non-numeric groups)"
                ))
            })?;
            Ok(v.rem_euclid(modulus as i64) as u64)
        }
        GroupArithmetic::Hash => {
            let digest = Md5::digest(group.as_bytes());
            let v = u64::from_le_bytes(digest[..8].try_into().expect("md5 has 16 bytes"));
            Ok(v % modulus)
        }
    }
}

/// Fold values compare as numbers when both are numbers (`1` = `1.0`), else as text.
fn same_value(a: &str, b: &str) -> bool {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// Fails when one group has images in two splits, naming the group and two such images.
pub fn check_groups(items: &[Item<'_>], splits: &[Option<SplitName>]) -> Result<()> {
    let mut first: BTreeMap<&str, (SplitName, &str)> = BTreeMap::new();
    for (item, split) in items.iter().zip(splits) {
        let Some(split) = *split else { continue };
        match first.get(item.group.as_str()) {
            Some(&(other, file)) if other != split => {
                return Err(Error::Invalid(format!(
                    "group '{}' would span two splits: {file} is in {other} but {} is in {split}; \
                     images of one group (patient, examination) must share a split",
                    item.group, item.file
                )))
            }
            Some(_) => {}
            None => {
                first.insert(item.group.as_str(), (split, item.file));
            }
        }
    }
    Ok(())
}
