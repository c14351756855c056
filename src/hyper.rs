//! Hyper-parameters of weighting methods and designs, as a suite sets them
//! (`[weighting.cagrad] c = 0.4`, `[design.mmoe] experts = 2`).
//!
//! Each method or design declares its parameters as one typed struct with the paper's
//! defaults (`Default`), serde's `deny_unknown_fields` and a range check, the way candle's
//! optimisers take a typed config. A suite's table is parsed into that struct before any
//! training, so an unknown key or a value out of range fails naming the section and the
//! key; the resolved values are recorded with the run and printed in the report.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// A suite's table of overrides for one method or design (`[weighting.dwa]`).
pub type ParamTable = toml::Table;

/// A typed set of hyper-parameters with defaults and range checks.
pub trait HyperParams: Serialize + DeserializeOwned + Default {
    /// Checks that serde's types cannot express, as `key: what is wrong`.
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// A method or design that takes no hyper-parameters (any key is refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl HyperParams for NoParams {}

/// `table` over the defaults of `C`; `section` names the suite section in errors
/// (`weighting.cagrad`).
pub fn parse<C: HyperParams>(section: &str, table: Option<&ParamTable>) -> Result<C> {
    let params = match table {
        None => C::default(),
        Some(t) => toml::Value::Table(t.clone()).try_into::<C>().map_err(|e| Error::Invalid(format!("[{section}]: {}", e.message())))?,
    };
    params.check().map_err(|m| Error::Invalid(format!("[{section}] {m}")))?;
    Ok(params)
}

/// The values a method or design will use: `table` over the defaults of `C`, checked, as a
/// table (recorded with the run, printed in the report). Registry entries use it as their
/// `params` function.
pub fn resolve<C: HyperParams>(section: &str, table: Option<&ParamTable>) -> Result<ParamTable> {
    let params: C = parse(section, table)?;
    ParamTable::try_from(params).map_err(|e| Error::Invalid(format!("[{section}]: {e}")))
}

/// `key: must be ...` unless `ok`.
pub fn require(ok: bool, key: &str, rule: &str, value: impl std::fmt::Display) -> std::result::Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{key} must be {rule}, got {value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Demo {
        c: f64,
    }

    impl Default for Demo {
        fn default() -> Self {
            Demo { c: 0.5 }
        }
    }

    impl HyperParams for Demo {
        fn check(&self) -> std::result::Result<(), String> {
            require(self.c >= 0.0, "c", ">= 0", self.c)
        }
    }

    fn table(text: &str) -> ParamTable {
        text.parse().unwrap()
    }

    #[test]
    fn defaults_overrides_unknown_keys_and_ranges() {
        assert_eq!(parse::<Demo>("weighting.demo", None).unwrap(), Demo { c: 0.5 });
        assert_eq!(parse::<Demo>("weighting.demo", Some(&table("c = 0.4"))).unwrap(), Demo { c: 0.4 });
        let unknown = parse::<Demo>("weighting.demo", Some(&table("cc = 0.4"))).unwrap_err().to_string();
        assert!(unknown.contains("[weighting.demo]") && unknown.contains("cc"), "{unknown}");
        let range = parse::<Demo>("weighting.demo", Some(&table("c = -1.0"))).unwrap_err().to_string();
        assert!(range.contains("[weighting.demo] c must be >= 0, got -1"), "{range}");
        let none = parse::<NoParams>("weighting.ew", Some(&table("x = 1"))).unwrap_err().to_string();
        assert!(none.contains("x"), "{none}");
        assert_eq!(resolve::<Demo>("weighting.demo", None).unwrap().get("c").and_then(|v| v.as_float()), Some(0.5));
        assert_eq!(resolve::<Demo>("weighting.demo", Some(&table("c = 0.25"))).unwrap().get("c").and_then(|v| v.as_float()), Some(0.25));
    }
}
