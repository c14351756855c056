//! File-name patterns and path templates of folder datasets.
//!
//! A *pattern* matches a file name: `*` matches any run of characters (possibly empty), `?`
//! one character, and `{key}` a non-empty run that is captured under `key`; everything else
//! is literal. Wildcards match as little as possible, so `{exam}_*HC.png` splits
//! `192_2HC.png` into `exam = 192`. A *template* builds a string from such captures and the
//! built-in keys of an image file (see [`BUILTIN_KEYS`]), e.g. `Masks/mask_{id}.png`.

use std::collections::BTreeMap;

/// Keys every image provides to templates: its file name, the name without the last
/// extension, and its folder and path relative to the dataset folder.
pub const BUILTIN_KEYS: [&str; 4] = ["name", "stem", "dir", "path"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyOne,
    Capture(String),
}

/// A parsed file-name pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

impl Pattern {
    /// Parses a pattern; errors name the pattern (empty, unbalanced braces, a repeated or built-in capture, a path separator).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut chars = text.chars();
        let mut seen: Vec<String> = Vec::new();
        while let Some(c) = chars.next() {
            match c {
                '*' => tokens.push(Token::AnyRun),
                '?' => tokens.push(Token::AnyOne),
                '{' => {
                    let key = read_key(&mut chars, text)?;
                    if BUILTIN_KEYS.contains(&key.as_str()) {
                        return Err(format!("pattern '{text}': capture '{{{key}}}' would hide the built-in key '{key}'"));
                    }
                    if seen.contains(&key) {
                        return Err(format!("pattern '{text}': capture '{{{key}}}' appears twice"));
                    }
                    seen.push(key.clone());
                    tokens.push(Token::Capture(key));
                }
                '}' => return Err(format!("pattern '{text}': '}}' without '{{'")),
                '/' | '\\' => return Err(format!("pattern '{text}' matches file names only; put folders into `dir`")),
                c => tokens.push(Token::Literal(c)),
            }
        }
        if tokens.is_empty() {
            return Err("empty file-name pattern".into());
        }
        Ok(Pattern { text: text.to_owned(), tokens })
    }

    /// The pattern's text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of the `{key}` captures, in order.
    pub fn captures(&self) -> Vec<&str> {
        self.tokens
            .iter()
            .filter_map(|t| match t {
                Token::Capture(k) => Some(k.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The captures if `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let chars: Vec<char> = name.chars().collect();
        let mut spans = Vec::new();
        if match_from(&self.tokens, &chars, 0, &mut spans) {
            let mut out = BTreeMap::new();
            for (key, start, end) in spans {
                out.insert(key, chars[start..end].iter().collect());
            }
            Some(out)
        } else {
            None
        }
    }
}

fn read_key(chars: &mut std::str::Chars<'_>, text: &str) -> Result<String, String> {
    let mut key = String::new();
    for c in chars.by_ref() {
        if c == '}' {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("'{text}': '{{{key}}}' is not a valid key (letters, digits and _ only)"));
            }
            return Ok(key);
        }
        key.push(c);
    }
    Err(format!("'{text}': '{{' without '}}'"))
}

/// Backtracking matcher; wildcards and captures try the shortest run first.
fn match_from(tokens: &[Token], name: &[char], pos: usize, spans: &mut Vec<(String, usize, usize)>) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return pos == name.len();
    };
    match first {
        Token::Literal(c) => name.get(pos) == Some(c) && match_from(rest, name, pos + 1, spans),
        Token::AnyOne => pos < name.len() && match_from(rest, name, pos + 1, spans),
        Token::AnyRun => (pos..=name.len()).any(|end| match_from(rest, name, end, spans)),
        Token::Capture(key) => {
            for end in pos + 1..=name.len() {
                spans.push((key.clone(), pos, end));
                if match_from(rest, name, end, spans) {
                    return true;
                }
                spans.pop();
            }
            false
        }
    }
}

/// The keys a template uses, checking its braces.
pub fn template_keys(template: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => keys.push(read_key(&mut chars, template)?),
            '}' => return Err(format!("template '{template}': '}}' without '{{'")),
            _ => {}
        }
    }
    Ok(keys)
}

/// Fills a template's `{key}`s from `vars`.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let key = read_key(&mut chars, template)?;
                let value = vars.get(&key).ok_or_else(|| format!("template '{template}' uses unknown key '{{{key}}}'"))?;
                out.push_str(value);
            }
            '}' => return Err(format!("template '{template}': '}}' without '{{'")),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_shortest_and_wildcards_match() {
        let p = Pattern::parse("{exam}_*HC.png").unwrap();
        assert_eq!(p.matches("192_2HC.png").unwrap()["exam"], "192");
        assert_eq!(p.matches("190_HC.png").unwrap()["exam"], "190");
        assert!(p.matches("190_HC_Annotation.png").is_none());
        let q = Pattern::parse("bus_{id}.png").unwrap();
        assert_eq!(q.matches("bus_0001-l.png").unwrap()["id"], "0001-l");
        assert!(q.matches("mask_0001-l.png").is_none());
        assert!(Pattern::parse("a?c").unwrap().matches("abc").is_some());
        assert!(Pattern::parse("a?c").unwrap().matches("ac").is_none());
    }

    #[test]
    fn bad_patterns_and_templates_are_explained() {
        assert!(Pattern::parse("{stem}.png").unwrap_err().contains("built-in"));
        assert!(Pattern::parse("{a}{a}").unwrap_err().contains("twice"));
        assert!(Pattern::parse("x/{a}").unwrap_err().contains("dir"));
        assert!(Pattern::parse("{a").unwrap_err().contains("without"));
        let vars = BTreeMap::from([("stem".to_owned(), "x".to_owned())]);
        assert_eq!(render("m/{stem}_A.png", &vars).unwrap(), "m/x_A.png");
        assert!(render("{nope}", &vars).unwrap_err().contains("unknown key"));
        assert_eq!(template_keys("{a}/{b}").unwrap(), vec!["a", "b"]);
    }
}
