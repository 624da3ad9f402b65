//! The one table model of every table secbench prints or writes: a header, rows of cells and
//! each column's alignment, rendered as aligned text for a terminal, GitHub-flavoured Markdown
//! and HTML by three small functions (hyperfine's `MarkupExporter`: one table, several
//! markups). Widths are counted in characters, not bytes. A cell may carry a mark (a value that
//! fails a constraint, the recommended row) that each markup shows its own way, and a title (a
//! longer text for the page's tooltip).

use std::fmt::Write as _;

/// A column's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: names, words.
    Left,
    /// Figures.
    Right,
}

/// What a cell or a row is marked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A value that fails a constraint (an objective, a quota, a staleness limit).
    Fails,
    /// The recommended row.
    Recommended,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    /// What it shows.
    pub text: String,
    /// A longer text (the page's tooltip), when the cell shortens something.
    pub title: Option<String>,
    /// Its mark.
    pub mark: Option<Mark>,
}

impl Cell {
    /// A cell marked as failing a constraint.
    pub fn failing(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            title: None,
            mark: Some(Mark::Fails),
        }
    }

    /// The same cell with a title.
    pub fn titled(mut self, title: impl Into<String>) -> Cell {
        self.title = Some(title.into());
        self
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell {
            text,
            ..Cell::default()
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_owned())
    }
}

/// One row: its cells, its mark, and the tags the page's filter reads (`data-<key>="value"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// The cells, one per column.
    pub cells: Vec<Cell>,
    /// The row's mark.
    pub mark: Option<Mark>,
    /// `(key, value)` pairs the page's filter matches rows by.
    pub tags: Vec<(&'static str, String)>,
}

impl<C: Into<Cell>> From<Vec<C>> for Row {
    fn from(cells: Vec<C>) -> Row {
        Row {
            cells: cells.into_iter().map(Into::into).collect(),
            ..Row::default()
        }
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// The column names.
    pub header: Vec<String>,
    /// Each column's alignment (missing columns are left-aligned).
    pub align: Vec<Align>,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// A table with `header`, every column aligned as `align` says (`L` left, `R` right, one
    /// letter per column: `"LLRR"`).
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>, align: &str) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            align: align
                .chars()
                .map(|c| if c == 'R' { Align::Right } else { Align::Left })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: impl Into<Row>) {
        self.rows.push(row.into());
    }

    /// Whether it has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn align_of(&self, column: usize) -> Align {
        self.align.get(column).copied().unwrap_or(Align::Left)
    }

    /// The table keeping only `columns` (by position), in that order.
    pub fn select(&self, columns: &[usize]) -> Table {
        let pick = |v: &[Cell]| columns.iter().filter_map(|i| v.get(*i).cloned()).collect();
        Table {
            header: columns
                .iter()
                .filter_map(|i| self.header.get(*i).cloned())
                .collect(),
            align: columns.iter().map(|i| self.align_of(*i)).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| Row {
                    cells: pick(&r.cells),
                    mark: r.mark,
                    tags: r.tags.clone(),
                })
                .collect(),
        }
    }
}

/// The text a mark adds where colour cannot show it (terminal, Markdown, print).
fn with_mark(cell: &Cell) -> String {
    match cell.mark {
        Some(Mark::Fails) => format!("{} ✗", cell.text),
        _ => cell.text.clone(),
    }
}

/// Aligned text for a terminal: columns two spaces apart, each as wide as its widest cell in
/// characters, trailing spaces trimmed; a recommended row starts with `→` in the first column.
pub fn text(t: &Table) -> String {
    let cells = |r: &Row| -> Vec<String> {
        let mut v: Vec<String> = r.cells.iter().map(with_mark).collect();
        if r.mark == Some(Mark::Recommended) {
            if let Some(first) = v.first_mut() {
                *first = format!("→ {first}");
            }
        }
        v
    };
    let body: Vec<Vec<String>> = t.rows.iter().map(cells).collect();
    let columns = t
        .header
        .len()
        .max(body.iter().map(Vec::len).max().unwrap_or(0));
    let width: Vec<usize> = (0..columns)
        .map(|c| {
            std::iter::once(t.header.get(c))
                .chain(body.iter().map(|r| r.get(c)))
                .flatten()
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&t.header).chain(body.iter()) {
        let line: Vec<String> = (0..columns)
            .map(|c| {
                let cell = row.get(c).map_or("", String::as_str);
                let pad = " ".repeat(width[c] - cell.chars().count());
                match t.align_of(c) {
                    Align::Left => format!("{cell}{pad}"),
                    Align::Right => format!("{pad}{cell}"),
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// GitHub-flavoured Markdown: `| a | b |`, `| --- | ---: |` by alignment; a recommended row's
/// first cell in bold, a failing cell followed by ✗.
pub fn markdown(t: &Table) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        t.header
            .iter()
            .map(|h| md_cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = write!(out, "|");
    for c in 0..t.header.len() {
        let _ = write!(
            out,
            "{}",
            match t.align_of(c) {
                Align::Left => " --- |",
                Align::Right => " ---: |",
            }
        );
    }
    out.push('\n');
    for r in &t.rows {
        let cells: Vec<String> = r
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = md_cell(&with_mark(c));
                if i == 0 && r.mark == Some(Mark::Recommended) {
                    format!("**{text}**")
                } else {
                    text
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// HTML: a `<table>` whose cells carry their alignment as a class (`l`, `r`), a mark as a
/// class (`fails`, with a ✗ in the text so it reads without colour) and a title; each row
/// carries its tags as `data-` attributes and a recommended row the class `recommended`.
pub fn html(t: &Table, class: &str) -> String {
    let mut out = format!("<table class=\"{}\">\n<thead><tr>", esc(class));
    for (i, h) in t.header.iter().enumerate() {
        let _ = write!(
            out,
            "<th class=\"{}\">{}</th>",
            align_class(t.align_of(i)),
            esc(h)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr");
        if r.mark == Some(Mark::Recommended) {
            out.push_str(" class=\"recommended\"");
        }
        for (k, v) in &r.tags {
            let _ = write!(out, " data-{}=\"{}\"", esc(k), esc(v));
        }
        out.push('>');
        for (i, c) in r.cells.iter().enumerate() {
            let mut class = align_class(t.align_of(i)).to_owned();
            if c.mark == Some(Mark::Fails) {
                class.push_str(" fails");
            }
            let _ = write!(out, "<td class=\"{class}\"");
            if let Some(title) = &c.title {
                let _ = write!(out, " title=\"{}\"", esc(title));
            }
            let _ = write!(out, ">{}</td>", esc(&with_mark(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

fn align_class(a: Align) -> &'static str {
    match a {
        Align::Left => "l",
        Align::Right => "r",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["approach", "p50", "µs/call"], "LRR");
        t.push(vec!["ssm", "1.20 ms", "3"]);
        t.push(Row {
            cells: vec![
                "secrets-manager+aws-caching-library".into(),
                Cell::failing("12.5 ms"),
                "7".into(),
            ],
            mark: Some(Mark::Recommended),
            tags: vec![("source", "secrets-manager".into())],
        });
        t
    }

    #[test]
    fn text_pads_by_characters_and_aligns_per_column() {
        let out = text(&sample());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        // Every column starts at the same character position on every line.
        let col = |l: &str, needle: &str| {
            l.chars().count()
                - l.split_once(needle).map_or(0, |(_, r)| r.chars().count())
                - needle.chars().count()
        };
        assert_eq!(col(lines[0], "p50") + 3, col(lines[1], "1.20 ms") + 7);
        assert!(lines[0].ends_with("µs/call"), "{out}");
        assert!(lines[2].starts_with("→ secrets-manager"), "{out}");
        assert!(lines[2].contains("12.5 ms ✗"), "{out}");
        assert!(out.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn markdown_marks_alignment_and_escapes_pipes() {
        let mut t = sample();
        t.push(vec!["a|b", "1", "2"]);
        let out = markdown(&t);
        assert!(
            out.starts_with("| approach | p50 | µs/call |\n| --- | ---: | ---: |\n"),
            "{out}"
        );
        assert!(
            out.contains("| **secrets-manager+aws-caching-library** | 12.5 ms ✗ | 7 |"),
            "{out}"
        );
        assert!(out.contains("| a\\|b | 1 | 2 |"), "{out}");
    }

    #[test]
    fn html_carries_classes_titles_and_tags() {
        let mut t = sample();
        t.rows[0].cells[0] = Cell::from("ssm").titled("SSM <GetParameter>");
        let out = html(&t, "decision");
        assert!(out.contains("<table class=\"decision\">"), "{out}");
        assert!(out.contains("<th class=\"r\">p50</th>"), "{out}");
        assert!(out.contains("title=\"SSM &lt;GetParameter&gt;\""), "{out}");
        assert!(
            out.contains("<tr class=\"recommended\" data-source=\"secrets-manager\">"),
            "{out}"
        );
        assert!(
            out.contains("<td class=\"r fails\">12.5 ms ✗</td>"),
            "{out}"
        );
    }

    #[test]
    fn select_keeps_the_named_columns_in_order() {
        let t = sample().select(&[2, 0]);
        assert_eq!(t.header, ["µs/call", "approach"]);
        assert_eq!(t.align, [Align::Right, Align::Left]);
        assert_eq!(t.rows[0].cells[1].text, "ssm");
    }
}
