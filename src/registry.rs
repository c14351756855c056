//! Compile-time registries of named things (weighting methods, designs).
//!
//! A registry is a static slice of descriptions, each written next to the code it
//! describes (`weighting/pcgrad.rs` holds PCGrad's name, paper and constructor). Suites,
//! results and reports refer to an entry through a [`Handle`], which is its name on disk
//! and its position in memory, so a name is spelled exactly once and every list (help
//! texts, tests, benches) iterates the registry instead of copying it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// A family of registered entries.
pub trait Registry: Sized + Sync + 'static {
    /// What an entry is called in messages ("weighting", "design").
    const WHAT: &'static str;

    /// Every entry, in the order lists show them.
    fn entries() -> &'static [&'static Self];

    /// The entry's unique name, as suites spell it.
    fn name(&self) -> &'static str;
}

/// A reference to one registered entry: copied freely, ordered by registration, written
/// as its name.
pub struct Handle<R: Registry>(&'static R);

impl<R: Registry> Handle<R> {
    /// Every entry of the registry.
    pub fn all() -> impl ExactSizeIterator<Item = Handle<R>> {
        R::entries().iter().map(|&e| Handle(e))
    }

    /// Every entry's name.
    pub fn names() -> Vec<&'static str> {
        R::entries().iter().map(|e| e.name()).collect()
    }

    /// The entry called `name`, or an error listing the allowed names.
    pub fn from_name(name: &str) -> Result<Handle<R>> {
        Self::all().find(|h| h.as_str() == name).ok_or_else(|| Error::unknown(R::WHAT, name, &Self::names()))
    }

    /// The entry's name.
    pub fn as_str(self) -> &'static str {
        self.0.name()
    }

    /// Position in the registry (the order of lists and tables).
    pub fn index(self) -> usize {
        R::entries().iter().position(|e| std::ptr::eq(*e, self.0)).unwrap_or(usize::MAX)
    }

    /// The registered description.
    pub fn entry(self) -> &'static R {
        self.0
    }
}

impl<R: Registry> Deref for Handle<R> {
    type Target = R;
    fn deref(&self) -> &R {
        self.0
    }
}

impl<R: Registry> Clone for Handle<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Registry> Copy for Handle<R> {}

impl<R: Registry> PartialEq for Handle<R> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<R: Registry> Eq for Handle<R> {}

impl<R: Registry> Hash for Handle<R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl<R: Registry> PartialOrd for Handle<R> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<R: Registry> Ord for Handle<R> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.index().cmp(&other.index())
    }
}

impl<R: Registry> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<R: Registry> fmt::Display for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<R: Registry> std::str::FromStr for Handle<R> {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s)
    }
}

impl<R: Registry> Serialize for Handle<R> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, R: Registry> Deserialize<'de> for Handle<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Declares a registry's modules and its static list in one place: one line per entry.
/// Each listed module defines `pub(super) const ENTRY` of the registry's type.
macro_rules! register {
    ($ty:ty: $($module:ident),+ $(,)?) => {
        $(pub mod $module;)+
        /// Every registered entry, in registration order.
        pub static ENTRIES: &[&$ty] = &[$(&$module::ENTRY),+];
    };
}
pub(crate) use register;

#[cfg(test)]
mod tests {
    use super::*;

    struct Colour {
        name: &'static str,
    }

    static RED: Colour = Colour { name: "red" };
    static GREEN: Colour = Colour { name: "green" };
    static COLOURS: &[&Colour] = &[&RED, &GREEN];

    impl Registry for Colour {
        const WHAT: &'static str = "colour";
        fn entries() -> &'static [&'static Self] {
            COLOURS
        }
        fn name(&self) -> &'static str {
            self.name
        }
    }

    #[test]
    fn handles_round_trip_order_and_refuse_unknown_names() {
        let all: Vec<Handle<Colour>> = Handle::all().collect();
        assert_eq!(all.iter().map(|h| h.as_str()).collect::<Vec<_>>(), ["red", "green"]);
        assert!(all[0] < all[1], "registration order");
        let parsed: Handle<Colour> = serde_json::from_str("\"green\"").unwrap();
        assert_eq!(parsed, all[1]);
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"green\"");
        let err = serde_json::from_str::<Handle<Colour>>("\"blue\"").unwrap_err().to_string();
        assert!(err.contains("unknown colour 'blue'; allowed: red, green"), "{err}");
    }
}
