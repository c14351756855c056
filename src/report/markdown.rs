//! Markdown rendering of the laid-out report (GitHub-flavoured tables). A table cell reads
//! `**mean ± std**** [low, high]`: bold for the best mean, then the significance mark,
//! then the CI in brackets.

use std::fmt::Write;

use super::doc::{Block, Cell, Inline, Text};

/// Renders the blocks as Markdown.
pub fn render(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        render_block(&mut out, block);
    }
    out
}

fn inline(text: &Text) -> String {
    text.0
        .iter()
        .map(|i| match i {
            Inline::Text(s) => escape(s),
            // Emphasis must not start or end with a space in CommonMark ("**a: **b" stays literal).
            Inline::Strong(s) => {
                let core = s.trim();
                let (lead, trail) = (&s[..s.len() - s.trim_start().len()], &s[s.trim_end().len()..]);
                if core.is_empty() {
                    s.clone()
                } else {
                    format!("{lead}**{}**{trail}", escape(core))
                }
            }
            Inline::Code(s) => format!("`{s}`"),
        })
        .collect()
}

/// Escapes what Markdown would read as markup in running text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        // `_` inside words and brackets not followed by a link target are literal in
        // GitHub-flavoured Markdown; escaping them would only clutter the source.
        if matches!(ch, '*' | '|' | '`' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// One table cell as Markdown text.
pub fn cell_text(cell: &Cell) -> String {
    let mut s = escape(&cell.text);
    if cell.bold && !s.is_empty() {
        s = format!("**{s}**");
    }
    s.push_str(&escape(cell.mark));
    if let Some(sub) = &cell.sub {
        let _ = write!(s, " {}", escape(sub));
    }
    s
}

fn render_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading { level, text, id: _ } => {
            let _ = writeln!(out, "{} {}\n", "#".repeat(*level as usize), inline(text));
        }
        Block::Paragraph(text) => {
            let _ = writeln!(out, "{}\n", inline(text));
        }
        Block::Note(text) => {
            let _ = writeln!(out, "> **Note.** {}\n", inline(text));
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", inline(item));
            }
            out.push('\n');
        }
        Block::Table(table) => {
            let header: Vec<String> = table.header.iter().map(|h| escape(h)).collect();
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let align: Vec<&str> = table.numeric.iter().map(|&n| if n { "---:" } else { "---" }).collect();
            let _ = writeln!(out, "|{}|", align.join("|"));
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(cell_text).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
        Block::Figure(f) => {
            let _ = writeln!(out, "![{}]({})\n", escape(&f.title), f.png);
            let _ = writeln!(out, "*{}* {} (vector version: [{}]({}))\n", escape(&f.title), escape(&f.caption), f.svg, f.svg);
        }
        Block::Code(text) => {
            let _ = writeln!(out, "```\n{}\n```\n", text.trim_end());
        }
        Block::Details { summary, blocks } => {
            let _ = writeln!(out, "**{}**\n", escape(summary));
            for b in blocks {
                render_block(out, b);
            }
        }
    }
}

/// Parses a Markdown table back into rows of cell texts (header first); used by tests and
/// by anyone post-processing a report.
pub fn parse_tables(markdown: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in markdown.lines() {
        let line = line.trim();
        if line.starts_with('|') && line.ends_with('|') && line.len() > 1 {
            let inner = &line[1..line.len() - 1];
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut chars = inner.chars().peekable();
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some(&next) = chars.peek() {
                            cell.push(next);
                            chars.next();
                        }
                    }
                    '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
                    _ => cell.push(ch),
                }
            }
            cells.push(cell.trim().to_owned());
            if !cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
                current.push(cells);
            }
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_keeps_its_spaces_outside_the_markers() {
        let text = Text::new().b("git revision: ").t("abc");
        assert_eq!(inline(&text), "**git revision:** abc");
        assert_eq!(cell_text(&Cell { text: "0.9".into(), sub: Some("[0.8, 1.0]".into()), bold: true, mark: "*" }), "**0.9**\\* [0.8, 1.0]");
    }
}
