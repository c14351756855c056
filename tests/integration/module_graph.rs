//! The library's modules form a DAG at every level: among the children of any module, no
//! two depend on each other through a chain (`bench -> report -> bench` would be a cycle).
//!
//! Read from the sources: a module's file refers to `crate::a::b` or `super::x`; each
//! reference is resolved to the longest module path it names, and an edge between two
//! modules is attributed to the children of their common ancestor that contain them
//! (references between a module and its own ancestors are the tree itself, not edges).
//! Comments and `#[cfg(test)]` code are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type ModPath = Vec<String>;

fn modules(src: &Path) -> BTreeMap<ModPath, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(src).into_iter().filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if parts.first().is_some_and(|p| p == "bin") {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        let text = std::fs::read_to_string(path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let code: String = code.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        out.insert(parts, code);
    }
    out
}

/// Every `crate::...` and `super::...` path in `code`, made absolute from module `at`.
fn references(code: &str, at: &[String]) -> Vec<ModPath> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let word = |j: usize| -> usize { b[j..].iter().take_while(|&&c| ident(c)).count() };
    let text = |from: usize, len: usize| String::from_utf8_lossy(&b[from..from + len]).into_owned();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !ident(b[i - 1]);
        let (is_crate, is_super) = (b[i..].starts_with(b"crate::"), b[i..].starts_with(b"super::"));
        if !(starts_word && (is_crate || is_super)) {
            i += 1;
            continue;
        }
        let mut segments: ModPath = if is_crate { Vec::new() } else { at.to_vec() };
        let mut j = if is_crate { i + "crate::".len() } else { i };
        while b[j..].starts_with(b"super::") {
            segments.pop();
            j += "super::".len();
        }
        // `a::b::c` or `a::b::{c, d::e}`
        loop {
            if b[j..].starts_with(b"{") {
                j = j.saturating_sub(2); // as if after `::`
            } else {
                let k = word(j);
                if k == 0 {
                    break;
                }
                segments.push(text(j, k));
                j += k;
            }
            if b[j..].starts_with(b"::{") {
                let close = b[j..].iter().position(|&c| c == b'}').map_or(b.len(), |c| j + c);
                for item in String::from_utf8_lossy(&b[j + 3..close]).split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != "self" {
                        let mut p = segments.clone();
                        p.push(name);
                        out.push(p);
                    }
                }
                j = close;
                break;
            }
            if !b[j..].starts_with(b"::") {
                break;
            }
            j += 2;
        }
        out.push(segments);
        i = j.max(i + 1);
    }
    out
}

/// Sibling edges at every level: `parent -> (child a -> child b)`.
fn sibling_edges(mods: &BTreeMap<ModPath, String>) -> BTreeMap<ModPath, BTreeSet<(String, String)>> {
    let mut edges: BTreeMap<ModPath, BTreeSet<(String, String)>> = BTreeMap::new();
    for (m, code) in mods {
        for r in references(code, m) {
            let Some(target) = (0..=r.len()).rev().map(|k| r[..k].to_vec()).find(|p| mods.contains_key(p)) else { continue };
            let common = m.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == m.len() || common == target.len() {
                continue; // an ancestor or descendant: the tree itself
            }
            edges.entry(m[..common].to_vec()).or_default().insert((m[common].clone(), target[common].clone()));
        }
    }
    edges
}

/// One cycle of the directed graph, if any (depth-first search; 1 = on the path, 2 = done).
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
        next.entry(b).or_default();
    }
    fn visit<'a>(
        n: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        path.push(n);
        for &m in &next[n] {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|&p| p == m).unwrap_or(0);
                    return Some(path[from..].iter().chain([&m]).map(|s| s.to_string()).collect());
                }
                0 => {
                    if let Some(c) = visit(m, next, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &n in next.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, &next, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    assert!(mods.len() > 50, "read {} modules from {}", mods.len(), src.display());
    let mut cycles = Vec::new();
    for (parent, edges) in sibling_edges(&mods) {
        if let Some(cycle) = find_cycle(&edges) {
            let prefix = if parent.is_empty() { String::new() } else { format!("{}::", parent.join("::")) };
            cycles.push(cycle.iter().map(|c| format!("{prefix}{c}")).collect::<Vec<_>>().join(" -> "));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_finds_a_planted_cycle() {
    let mut mods = BTreeMap::new();
    mods.insert(vec![], String::new());
    mods.insert(vec!["a".to_owned()], "use crate::b::thing;".to_owned());
    mods.insert(vec!["b".to_owned()], "fn f() { crate::a::g(); }".to_owned());
    mods.insert(vec!["c".to_owned()], String::new());
    mods.insert(vec!["c".to_owned(), "x".to_owned()], "use super::{y, z};".to_owned());
    mods.insert(vec!["c".to_owned(), "y".to_owned()], "use super::super::a;".to_owned());
    let edges = sibling_edges(&mods);
    let root = edges.get(&Vec::new()).cloned().unwrap_or_default();
    let c = edges.get(&vec!["c".to_owned()]).cloned().unwrap_or_default();
    assert!(find_cycle(&root).is_some(), "{edges:?}");
    assert!(root.contains(&("c".to_owned(), "a".to_owned())), "{edges:?}");
    assert!(c.contains(&("x".to_owned(), "y".to_owned())) && find_cycle(&c).is_none(), "{edges:?}");
}
