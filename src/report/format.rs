//! Formatting shared by every output format, so the same value reads the same everywhere:
//! numbers, names made safe for file names and anchors, inline images.

use super::model::Cell;

/// `v` with `decimals` decimals; "–" for NaN, "∞"/"−∞" for infinities.
pub fn num(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        }
    } else {
        let s = format!("{v:.decimals$}");
        // "-0.000" reads as a sign where there is none.
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_owned()
        } else {
            s
        }
    }
}

/// A signed number (`+1.23`), for differences and Δm.
pub fn signed(v: f64, decimals: usize) -> String {
    let s = num(v, decimals);
    if v.is_finite() && !s.starts_with('-') && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// `mean ± std` of a cell (`mean` alone for one seed).
pub fn mean_std(cell: &Cell, decimals: usize) -> String {
    if cell.summary.n > 1 {
        format!("{} ± {}", num(cell.summary.mean, decimals), num(cell.summary.std, decimals))
    } else {
        num(cell.summary.mean, decimals)
    }
}

/// `[low, high]`, or None when the interval is undefined.
pub fn interval(ci: (f64, f64), decimals: usize) -> Option<String> {
    (ci.0.is_finite() && ci.1.is_finite()).then(|| format!("[{}, {}]", num(ci.0, decimals), num(ci.1, decimals)))
}

/// A p-value: three significant digits, "< 0.001" below that.
pub fn p_value(p: f64) -> String {
    if p.is_nan() {
        "–".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// Decimals for a differently scaled set of values (two significant digits of the smallest
/// non-zero magnitude, between 1 and 4).
pub fn decimals_for(values: impl IntoIterator<Item = f64>) -> usize {
    let smallest = values.into_iter().filter(|v| v.is_finite() && *v != 0.0).map(f64::abs).fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return 3;
    }
    (2 - smallest.log10().floor() as i64).clamp(1, 4) as usize
}

/// Metric columns per task table; wider tables are split into parts.
pub const MAX_METRIC_COLUMNS: usize = 9;

/// File-name part of an experiment or task name.
pub fn file_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// An anchor id from a heading's words.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// A PNG as a `data:` URI (standard base64), for self-contained HTML and SVG.
pub fn png_data_uri(png: &[u8]) -> String {
    use base64::Engine;
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_everywhere() {
        assert_eq!(num(0.46349, 3), "0.463");
        assert_eq!(num(-0.0001, 3), "0.000");
        assert_eq!(num(f64::NAN, 3), "–");
        assert_eq!(signed(1.5, 2), "+1.50");
        assert_eq!(signed(-1.5, 2), "-1.50");
        assert_eq!(signed(0.0, 2), "0.00");
        assert_eq!(p_value(0.0004), "< 0.001");
        assert_eq!(p_value(0.0123), "0.012");
        assert_eq!(decimals_for([0.014, 0.9]), 4);
        assert_eq!(decimals_for([25.0, 30.0]), 1);
        assert_eq!(decimals_for([0.46]), 3);
    }

    #[test]
    fn names_and_data_uris() {
        assert_eq!(file_part("hc18 early/x"), "hc18_early_x");
        assert_eq!(slug("Experiment HC18 task lesion"), "experiment-hc18-task-lesion");
        assert_eq!(png_data_uri(b"foobar"), "data:image/png;base64,Zm9vYmFy", "RFC 4648 vector");
    }
}
