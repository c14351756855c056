//! A small document model (headings, paragraphs, tables, figures, code) that the report is
//! laid out in once ([`super::document`]) and that Markdown and HTML both render, so the
//! two formats cannot drift apart.

/// A run of inline text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// Bold text.
    Strong(String),
    /// Inline code (monospace).
    Code(String),
}

/// Inline text: a sequence of [`Inline`] pieces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text(pub Vec<Inline>);

impl Text {
    /// Empty text.
    pub fn new() -> Self {
        Text(Vec::new())
    }
    /// One piece of plain text.
    pub fn plain(s: impl Into<String>) -> Self {
        Text(vec![Inline::Text(s.into())])
    }
    /// Appends plain text.
    pub fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Text(s.into()));
        self
    }
    /// Appends bold text.
    pub fn b(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Strong(s.into()));
        self
    }
    /// Appends inline code.
    pub fn c(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Code(s.into()));
        self
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::plain(s)
    }
}

/// One table cell: main text, an optional secondary line (a CI), bold, a significance mark.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    /// The main text (bold when `bold`).
    pub text: String,
    /// Secondary text printed after the mark (e.g. the bracketed 95% CI of a metric cell).
    pub sub: Option<String>,
    /// Whether the main text is bold (the column's best value).
    pub bold: bool,
    /// Significance mark appended to the main text: "", "*" or "**".
    pub mark: &'static str,
}

impl Cell {
    /// A plain cell with just `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Cell { text: text.into(), ..Cell::default() }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}

/// A table: a header row and body rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column headings.
    pub header: Vec<String>,
    /// Right-align the column (numbers).
    pub numeric: Vec<bool>,
    /// Body rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// A figure as laid out: its files (relative to the report folder) and caption.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRef {
    /// File stem, `<experiment>__<kind>`.
    pub stem: String,
    /// Title (alt text and caption heading).
    pub title: String,
    /// Caption text after the title.
    pub caption: String,
    /// Path of the PNG (2x raster), relative to the report folder.
    pub png: String,
    /// Path of the SVG, relative to the report folder.
    pub svg: String,
    /// Width in CSS pixels the figure is drawn for.
    pub width: u32,
}

/// A block of the laid-out report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading.
    Heading {
        /// Heading level, 1 = top.
        level: u8,
        /// The heading's text.
        text: Text,
        /// Anchor id (HTML links to it).
        id: String,
    },
    /// A paragraph of text.
    Paragraph(Text),
    /// A bulleted list, one item per entry.
    List(Vec<Text>),
    /// A table.
    Table(Table),
    /// A figure with its caption.
    Figure(FigureRef),
    /// A preformatted block (verbatim).
    Code(String),
    /// A warning the reader must see.
    Note(Text),
    /// Long material (HTML: collapsed).
    Details {
        /// The always-visible label.
        summary: String,
        /// The material shown when expanded.
        blocks: Vec<Block>,
    },
}
