//! A small document model (headings, paragraphs, tables, figures, code) that the report is
//! laid out in once ([`super::document`]) and that Markdown and HTML both render, so the
//! two formats cannot drift apart.

/// A run of inline text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Code(String),
}

/// Inline text: a sequence of [`Inline`] pieces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text(pub Vec<Inline>);

impl Text {
    pub fn new() -> Self {
        Text(Vec::new())
    }
    pub fn plain(s: impl Into<String>) -> Self {
        Text(vec![Inline::Text(s.into())])
    }
    pub fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Text(s.into()));
        self
    }
    pub fn b(mut self, s: impl Into<String>) -> Self {
        self.0.push(Inline::Strong(s.into()));
        self
    }
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
    pub text: String,
    pub sub: Option<String>,
    pub bold: bool,
    pub mark: &'static str,
}

impl Cell {
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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    /// Right-align the column (numbers).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<Cell>>,
}

/// A figure as laid out: its files (relative to the report folder) and caption.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRef {
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub png: String,
    pub svg: String,
    /// Width in CSS pixels the figure is drawn for.
    pub width: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: u8,
        text: Text,
        id: String,
    },
    Paragraph(Text),
    List(Vec<Text>),
    Table(Table),
    Figure(FigureRef),
    Code(String),
    /// A warning the reader must see.
    Note(Text),
    /// Long material (HTML: collapsed).
    Details {
        summary: String,
        blocks: Vec<Block>,
    },
}
