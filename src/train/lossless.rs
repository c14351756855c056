//! f64 values as strings in JSON, so checkpoints keep NaN, infinities and every bit of a
//! finite value (JSON numbers cannot hold NaN; serde_json writes it as `null`). Rust's
//! `Display` for f64 is the shortest string that parses back to the same value.

use serde::{Deserialize, Deserializer, Serializer};

/// One f64 (`#[serde(with = "lossless::float")]`).
pub mod float {
    use super::*;

    /// Writes `v` as its shortest round-trip string.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a string written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A vector of f64 (`#[serde(with = "lossless::floats")]`).
pub mod floats {
    use super::*;

    /// Writes every value as its shortest round-trip string.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    /// Reads strings written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|s| s.parse().map_err(serde::de::Error::custom)).collect()
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Values {
        #[serde(with = "super::float")]
        one: f64,
        #[serde(with = "super::floats")]
        many: Vec<f64>,
    }

    #[test]
    fn nan_infinities_and_every_bit_survive_json() {
        let v = Values { one: f64::NAN, many: vec![f64::NEG_INFINITY, f64::INFINITY, 0.1 + 0.2, -0.0, f64::MIN_POSITIVE] };
        let back: Values = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert!(back.one.is_nan());
        assert_eq!(back.many.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.many.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}
