//! What a suite can name: every design and weighting method with its paper and its
//! hyper-parameters' defaults (`medmtl list`).

use crate::model::arch::Design;
use crate::weighting::WeightingKind;

/// Every design and weighting method with its paper and default hyper-parameters, as
/// `medmtl list` prints it.
pub fn listing() -> String {
    let params = |table: crate::Result<crate::hyper::ParamTable>| -> String {
        match table {
            Ok(t) if t.is_empty() => String::new(),
            Ok(t) => format!("\n      defaults: {}", t.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")),
            Err(e) => format!("\n      (defaults invalid: {e})"),
        }
    };
    let mut out = String::from("designs (suite key `designs`, hyper-parameters in [design.NAME]):\n");
    for d in Design::all() {
        out += &format!("  {:<14} {}: {}{}\n", d.as_str(), d.title, d.citation, params(d.resolve_params(None)));
    }
    out += "\nweighting methods (suite key `weightings`, hyper-parameters in [weighting.NAME]):\n";
    for w in WeightingKind::all() {
        let family = if w.needs_task_gradients() { "gradient" } else { "loss" };
        out += &format!("  {:<14} {} ({family}): {}{}\n", w.as_str(), w.title, w.citation, params(w.resolve_params(None)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_names_every_entry_with_its_defaults() {
        let text = listing();
        for name in Design::names().into_iter().chain(WeightingKind::names()) {
            assert!(text.contains(&format!("  {name} ")), "{name} missing from\n{text}");
        }
        assert!(text.contains("c = 0.5"), "CAGrad's default c:\n{text}");
    }
}
