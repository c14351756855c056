//! Self-contained HTML rendering: CSS inline, figures inlined as base64 PNG, no script and
//! nothing that loads from elsewhere, so the file reads the same offline in any browser.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::doc::{Block, Cell, Inline, Text};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5;
       color: #1a1a1a; background: #fff; margin: 0; }
main { max-width: 1600px; margin: 0 auto; padding: 24px 20px 64px; }
p, ul, figcaption { max-width: 1000px; }
h1 { font-size: 26px; margin: 0.4em 0 0.6em; }
h2 { font-size: 21px; margin-top: 2.2em; padding-bottom: 4px; border-bottom: 2px solid #d0d0d0; }
h3 { font-size: 17px; margin-top: 1.8em; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
code { background: #f2f2f2; padding: 1px 4px; border-radius: 3px; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; border: 1px solid #e2e2e2; border-radius: 4px; }
.table-wrap { overflow-x: auto; margin: 0.8em 0 1.2em; }
table { border-collapse: collapse; font-size: 12px; }
table.wide { font-size: 11.5px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #e4e4e4; vertical-align: top; white-space: nowrap; }
thead th { background: #f1f1f1; border-bottom: 2px solid #bbb; text-align: left; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #fafafa; }
td .ci { display: block; color: #666; font-size: 11px; }
td strong { color: #000; }
.mark { color: #b35900; font-weight: bold; }
.note { background: #fff6e0; border-left: 4px solid #e69f00; padding: 8px 12px; margin: 1em 0; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #333; font-size: 13.5px; max-width: 900px; margin-top: 6px; }
figcaption .files { color: #777; }
details { margin: 0.8em 0; }
summary { cursor: pointer; font-weight: bold; }
"#;

/// Renders the blocks as one HTML page; `images` maps a figure's PNG path to its bytes.
pub fn render(title: &str, blocks: &[Block], images: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(title)
    );
    for block in blocks {
        render_block(&mut out, block, images);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Escapes the four characters HTML text and attribute values cannot hold (`&`, `<`, `>`, `"`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

fn inline(text: &Text) -> String {
    text.0
        .iter()
        .map(|i| match i {
            Inline::Text(s) => escape(s),
            Inline::Strong(s) => format!("<strong>{}</strong>", escape(s)),
            Inline::Code(s) => format!("<code>{}</code>", escape(s)),
        })
        .collect()
}

fn cell(c: &Cell, numeric: bool) -> String {
    let mut s = escape(&c.text);
    if c.bold && !s.is_empty() {
        s = format!("<strong>{s}</strong>");
    }
    if !c.mark.is_empty() {
        let _ = write!(s, "<span class=\"mark\">{}</span>", c.mark);
    }
    if let Some(sub) = &c.sub {
        let _ = write!(s, "<span class=\"ci\">{}</span>", escape(sub));
    }
    let class = if numeric { " class=\"num\"" } else { "" };
    format!("<td{class}>{s}</td>")
}

fn render_block(out: &mut String, block: &Block, images: &BTreeMap<String, Vec<u8>>) {
    match block {
        Block::Heading { level, text, id } => {
            let _ = writeln!(out, "<h{level} id=\"{}\">{}</h{level}>", escape(id), inline(text));
        }
        Block::Paragraph(text) => {
            let _ = writeln!(out, "<p>{}</p>", inline(text));
        }
        Block::Note(text) => {
            let _ = writeln!(out, "<div class=\"note\"><strong>Note.</strong> {}</div>", inline(text));
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", inline(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Table(table) => {
            let class = if table.header.len() >= 12 { " class=\"wide\"" } else { "" };
            let _ = write!(out, "<div class=\"table-wrap\"><table{class}>\n<thead><tr>");
            for (h, &num) in table.header.iter().zip(&table.numeric) {
                let class = if num { " class=\"num\"" } else { "" };
                let _ = write!(out, "<th{class}>{}</th>", escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in &table.rows {
                out.push_str("<tr>");
                for (i, c) in row.iter().enumerate() {
                    out.push_str(&cell(c, table.numeric.get(i).copied().unwrap_or(false)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table></div>\n");
        }
        Block::Figure(f) => {
            let src = match images.get(&f.png) {
                Some(bytes) => super::format::png_data_uri(bytes),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<figure><img src=\"{src}\" alt=\"{}\" style=\"width:{}px\">\n<figcaption><strong>{}.</strong> {} \
                 <span class=\"files\">(files: {}, {})</span></figcaption></figure>",
                escape(&f.title),
                f.width,
                escape(&f.title),
                escape(&f.caption),
                escape(&f.png),
                escape(&f.svg)
            );
        }
        Block::Code(text) => {
            let _ = writeln!(out, "<pre>{}</pre>", escape(text.trim_end()));
        }
        Block::Details { summary, blocks } => {
            let _ = writeln!(out, "<details><summary>{}</summary>", escape(summary));
            for b in blocks {
                render_block(out, b, images);
            }
            out.push_str("</details>\n");
        }
    }
}
