//! A [`Document`] as an Excel workbook (`.xlsx`); the only file naming `rust_xlsxwriter`.
//!
//! The first sheet is the summary: the title, the flags in red, then its blocks. Every section
//! follows on its own sheet (named after its heading unless its print hints name it), its
//! blocks from the top down: tables with the header row in bold on a tinted background and the
//! rows under it with borders (text wraps, dates and times do not, numbers are numbers),
//! key/value pairs as two-column tables, paragraphs one per row; one empty row between a table
//! and what follows it. Column widths follow the content (full-width characters count double,
//! capped so long texts wrap). Pages print on A4 as the print hints say: landscape, one page
//! wide, the first table's header row repeated on every page (and frozen, with a filter).

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use super::model::{Block, Cell, ColumnKind, Document, PrintHints, Section, Table};

/// The workbook could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the workbook: {0}")]
pub struct XlsxError(String);

impl From<rust_xlsxwriter::XlsxError> for XlsxError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        Self(e.to_string())
    }
}

/// The font of every cell: the standard Japanese UI font of current Office versions.
const FONT: &str = "游ゴシック";
/// Widest a column gets, in character widths; longer texts wrap.
const MAX_WIDTH: usize = 60;
/// Narrowest column.
const MIN_WIDTH: usize = 6;
/// Widest a heading makes its column; longer headings wrap.
const MAX_HEADING_WIDTH: usize = 16;
/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;
/// A4 in Excel's paper-size numbering.
const PAPER_A4: u8 = 9;
/// The widest a table gets, in character widths (the sum of its columns): a sheet printed
/// fit-to-width on landscape A4 (about 988 px between the default margins) then keeps a scale
/// of 988 / (170 x 7 + 5 per column) >= 0.76, so the 10.5 pt text prints at 8 pt or larger.
/// Wider tables get their widest columns narrowed, and their text wraps.
const PRINT_WIDTH_BUDGET: usize = 170;

struct Formats {
    title: Format,
    flag: Format,
    header: Format,
    text: Format,
    date: Format,
    number: Format,
    note: Format,
}

impl Formats {
    fn new() -> Self {
        let base = Format::new().set_font_name(FONT).set_font_size(10.5);
        let boxed = base
            .clone()
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0x00A6_A6A6));
        Self {
            title: base.clone().set_bold().set_font_size(14),
            flag: base
                .clone()
                .set_bold()
                .set_font_color(Color::RGB(0x00C0_0000)),
            header: boxed
                .clone()
                .set_bold()
                .set_background_color(Color::RGB(0x00DD_EBF7))
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            text: boxed.clone().set_text_wrap().set_align(FormatAlign::Top),
            date: boxed.clone().set_align(FormatAlign::Top),
            number: boxed.set_align(FormatAlign::Top),
            note: base,
        }
    }
}

/// Display width of a text: the longest line, full-width characters counting two.
fn display_width(text: &str) -> usize {
    text.lines()
        .map(crate::columns::text_width)
        .max()
        .unwrap_or(0)
}

fn clip(text: &str) -> String {
    if text.chars().count() > MAX_CELL_CHARS {
        text.chars().take(MAX_CELL_CHARS - 1).chain(['…']).collect()
    } else {
        text.to_string()
    }
}

/// A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters, unique in the workbook.
fn sheet_name(title: &str, taken: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_matches('\'').trim();
    let base: String = if clean.is_empty() {
        "Sheet".to_string()
    } else {
        clean.chars().take(31).collect()
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
    {
        let suffix = format!(" ({n})");
        name = base
            .chars()
            .take(31 - suffix.chars().count())
            .collect::<String>()
            + &suffix;
        n += 1;
    }
    taken.push(name.clone());
    name
}

fn col(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

fn row(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn page_setup(sheet: &mut Worksheet, title: &str, print: &PrintHints) {
    if print.landscape {
        sheet.set_landscape();
    } else {
        sheet.set_portrait();
    }
    sheet.set_paper_size(PAPER_A4);
    if print.fit_to_width {
        sheet.set_print_fit_to_pages(1, 0);
    }
    // `&` starts a header code: write a title's own ampersands doubled.
    sheet.set_header(format!("&L{}&R&A", title.replace('&', "&&")));
}

/// Column widths that fit every table of a sheet: the longest line of each column (headings
/// count up to [`MAX_HEADING_WIDTH`], they wrap), between [`MIN_WIDTH`] and [`MAX_WIDTH`], the
/// whole within [`PRINT_WIDTH_BUDGET`].
fn column_widths(tables: &[&Table]) -> Vec<usize> {
    let mut widths: Vec<usize> = Vec::new();
    let mut widen = |c: usize, w: usize| {
        if widths.len() <= c {
            widths.resize(c + 1, MIN_WIDTH);
        }
        widths[c] = widths[c].max(w);
    };
    for table in tables {
        for (c, column) in table.columns.iter().enumerate() {
            widen(
                c,
                (display_width(&column.heading) + 2).min(MAX_HEADING_WIDTH),
            );
        }
        for row in &table.rows {
            for (c, cell) in row.iter().enumerate() {
                widen(c, display_width(&cell.text()) + 2);
            }
        }
    }
    let mut widths: Vec<usize> = widths
        .into_iter()
        .map(|w| w.clamp(MIN_WIDTH, MAX_WIDTH))
        .collect();
    fit_budget(&mut widths, PRINT_WIDTH_BUDGET);
    widths
}

/// Narrows the widest columns, one character at a time, until the widths sum to `budget` (or
/// every column is at [`MIN_WIDTH`]).
fn fit_budget(widths: &mut [usize], budget: usize) {
    while widths.iter().sum::<usize>() > budget {
        let Some(widest) = widths
            .iter_mut()
            .filter(|w| **w > MIN_WIDTH)
            .max_by_key(|w| **w)
        else {
            break;
        };
        *widest -= 1;
    }
}

/// Lines a wrapped text takes in a column `width` characters wide.
fn lines_in(text: &str, width: usize) -> usize {
    let room = width.saturating_sub(1).max(1);
    text.lines()
        .map(|line| display_width(line).div_ceil(room).max(1))
        .sum::<usize>()
        .max(1)
}

/// Row height in points for `lines` lines of the 10.5 point font. Set explicitly because
/// neither the writer nor every reader grows rows to fit wrapped text.
fn row_height(lines: usize) -> f64 {
    // A handful of lines at most: exact as f64.
    4.0 + 14.0 * lines.min(40) as f64
}

/// Writes `table` with its header at `top` in columns `widths` wide, and sets the heights of
/// rows whose text wraps; returns the row after the table.
fn write_table(
    sheet: &mut Worksheet,
    table: &Table,
    top: usize,
    widths: &[usize],
    formats: &Formats,
) -> Result<usize, XlsxError> {
    let width = |c: usize| widths.get(c).copied().unwrap_or(MIN_WIDTH);
    let mut lines = 1;
    for (c, column) in table.columns.iter().enumerate() {
        let heading = &column.heading;
        sheet.write_string_with_format(row(top), col(c), clip(heading), &formats.header)?;
        lines = lines.max(lines_in(heading, width(c)));
    }
    if lines > 1 {
        sheet.set_row_height(row(top), row_height(lines))?;
    }
    for (r, cells) in table.rows.iter().enumerate() {
        let at = row(top + 1 + r);
        let mut lines = 1;
        for (c, cell) in cells.iter().enumerate() {
            match (cell, table.kind(c)) {
                (Cell::Number(n), _) => {
                    // Counts and minutes are far below 2^53: exact as doubles.
                    let value = *n as f64;
                    sheet.write_number_with_format(at, col(c), value, &formats.number)?;
                }
                // A day or a time reads best on one line.
                (Cell::Text(s), ColumnKind::Date) => {
                    sheet.write_string_with_format(at, col(c), clip(s), &formats.date)?;
                }
                (Cell::Text(s), _) => {
                    sheet.write_string_with_format(at, col(c), clip(s), &formats.text)?;
                    lines = lines.max(lines_in(s, width(c)));
                }
                (Cell::Empty, _) => {
                    sheet.write_blank(at, col(c), &formats.text)?;
                }
            }
        }
        if lines > 1 {
            sheet.set_row_height(at, row_height(lines))?;
        }
    }
    Ok(top + 1 + table.rows.len())
}

/// Where a section's blocks landed on its sheet.
struct Placed {
    /// The first table: its header row, columns and rows.
    first_table: Option<(usize, usize, usize)>,
    /// The last row written.
    last_row: usize,
    /// The widest table's columns.
    columns: usize,
}

/// Writes the blocks of `section` from row `top` down (one empty row after a table), and the
/// column widths.
fn write_blocks(
    sheet: &mut Worksheet,
    section: &Section,
    top: usize,
    formats: &Formats,
) -> Result<Placed, XlsxError> {
    let pair_tables: Vec<Table> = section
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::KeyValues(k) => Some(k.as_table()),
            _ => None,
        })
        .collect();
    let mut pairs = pair_tables.iter();
    let tables: Vec<&Table> = section
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .chain(pairs.clone())
        .collect();
    let widths = column_widths(&tables);
    let mut placed = Placed {
        first_table: None,
        last_row: top,
        columns: tables.iter().map(|t| t.columns.len()).max().unwrap_or(0),
    };
    let mut at = top;
    let mut after_table = false;
    for block in &section.blocks {
        let table = match block {
            Block::Paragraph(p) => {
                at += usize::from(after_table);
                after_table = false;
                // Paragraphs run across the page: they do not widen the first column.
                sheet.write_string_with_format(row(at), 0, clip(p), &formats.note)?;
                placed.last_row = at;
                at += 1;
                continue;
            }
            Block::KeyValues(_) => pairs.next(),
            Block::Table(t) => Some(t),
        };
        let Some(table) = table else { continue };
        at += usize::from(after_table);
        let end = write_table(sheet, table, at, &widths, formats)?;
        if matches!(block, Block::Table(_)) && placed.first_table.is_none() {
            placed.first_table = Some((at, table.columns.len(), table.rows.len()));
        }
        placed.last_row = end - 1;
        at = end;
        after_table = true;
    }
    for (c, w) in widths.iter().enumerate() {
        // Widths are small whole numbers: exact as f64.
        sheet.set_column_width(col(c), *w as f64)?;
    }
    Ok(placed)
}

/// The print area, and for a section whose hints ask for it the first table's header row
/// repeated on every page, frozen and with a filter.
fn print_setup(
    sheet: &mut Worksheet,
    print: &PrintHints,
    placed: &Placed,
) -> Result<(), XlsxError> {
    sheet.set_print_area(0, 0, row(placed.last_row), col(placed.columns.max(1) - 1))?;
    let Some((header, columns, rows)) = placed.first_table.filter(|_| print.repeat_header) else {
        return Ok(());
    };
    sheet.set_freeze_panes(row(header + 1), 0)?;
    sheet.set_repeat_rows(row(header), row(header))?;
    if rows > 0 && columns > 0 {
        sheet.autofilter(row(header), 0, row(header + rows), col(columns - 1))?;
    }
    Ok(())
}

/// An Excel line chart of `table` as it is written on the sheet `sheet` (headings on row 0):
/// one series per row. None for an empty table.
fn line_chart(
    chart: &super::model::Chart,
    table: &Table,
    sheet: &str,
) -> Option<rust_xlsxwriter::Chart> {
    if table.rows.is_empty() {
        return None;
    }
    let mut drawn = rust_xlsxwriter::Chart::new(rust_xlsxwriter::ChartType::Line);
    drawn.title().set_name(&chart.title);
    let (first, last) = (col(chart.values.0), col(chart.values.1));
    for (i, cells) in table.rows.iter().enumerate() {
        let name = [chart.name_columns.0, chart.name_columns.1]
            .iter()
            .filter_map(|c| cells.get(*c).map(Cell::text))
            .collect::<Vec<_>>()
            .join(" ");
        drawn
            .add_series()
            .set_name(name.as_str())
            .set_categories((sheet, 0, first, 0, last))
            .set_values((sheet, row(i + 1), first, row(i + 1), last));
    }
    Some(drawn)
}

/// The document as the bytes of an `.xlsx` file.
pub fn to_xlsx(doc: &Document) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    workbook.set_properties(&rust_xlsxwriter::DocProperties::new().set_title(&doc.title));
    let mut taken = Vec::new();

    let sheet = workbook.add_worksheet();
    let name = doc.summary.print.sheet_name.as_ref();
    sheet.set_name(sheet_name(name.unwrap_or(&doc.summary.title), &mut taken))?;
    page_setup(sheet, &doc.title, &doc.summary.print);
    sheet.write_string_with_format(0, 0, clip(&doc.title), &formats.title)?;
    sheet.set_row_height(0, 22)?;
    for (i, flag) in doc.flags.iter().enumerate() {
        sheet.write_string_with_format(row(1 + i), 0, clip(flag), &formats.flag)?;
    }
    let placed = write_blocks(sheet, &doc.summary, 2 + doc.flags.len(), &formats)?;
    print_setup(sheet, &doc.summary.print, &placed)?;

    for section in &doc.sections {
        let sheet = workbook.add_worksheet();
        let name = section.print.sheet_name.as_ref();
        sheet.set_name(sheet_name(name.unwrap_or(&section.title), &mut taken))?;
        page_setup(sheet, &doc.title, &section.print);
        let placed = write_blocks(sheet, section, 0, &formats)?;
        print_setup(sheet, &section.print, &placed)?;
        let name = sheet.name();
        for chart in doc.charts.iter().filter(|c| c.section == section.id) {
            if let Some(drawn) = line_chart(chart, section.table(), &name) {
                sheet.insert_chart(row(placed.last_row + 2), 0, &drawn)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_tables_are_narrowed_to_the_print_budget() {
        let mut widths = vec![60, 60, 60, 10, 6];
        fit_budget(&mut widths, PRINT_WIDTH_BUDGET);
        assert_eq!(widths.iter().sum::<usize>(), PRINT_WIDTH_BUDGET);
        assert_eq!(widths[3..], [10, 6], "narrow columns keep their width");
        let mut narrow = vec![MIN_WIDTH; 40];
        fit_budget(&mut narrow, PRINT_WIDTH_BUDGET);
        assert!(narrow.iter().all(|&w| w == MIN_WIDTH));
    }

    #[test]
    fn widths_count_full_width_characters_double() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("作業手順書"), 10);
        assert_eq!(display_width("端末 t01"), 8);
        assert_eq!(display_width("a\n長い行です"), 10);
    }

    #[test]
    fn wrapped_text_gets_taller_rows_and_headings_wrap() {
        assert_eq!(lines_in("short", 20), 1);
        // 40 full-width characters are 80 wide: 5 lines in a column with room for 19.
        assert_eq!(lines_in(&"長".repeat(40), 20), 5);
        assert_eq!(lines_in("a\nb\nc", 20), 3);
        let mut table = Table::new(
            crate::language::Language::Ja,
            &[
                super::super::model::duration("作業量(端末・分)", "Terminal-minutes"),
                super::super::model::text("x", "x"),
            ],
        );
        table.push(vec![Cell::Number(16), Cell::from("y".repeat(100))]);
        assert_eq!(column_widths(&[&table]), [MAX_HEADING_WIDTH, MAX_WIDTH]);
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut taken = Vec::new();
        assert_eq!(sheet_name("作業/手順", &mut taken), "作業_手順");
        assert_eq!(sheet_name("作業_手順", &mut taken), "作業_手順 (2)");
        let long = "x".repeat(40);
        let name = sheet_name(&long, &mut taken);
        assert_eq!(name.chars().count(), 31);
        let again = sheet_name(&long, &mut taken);
        assert_eq!(again, format!("{} (2)", "x".repeat(27)));
    }

    /// A section of every kind of block, printed portrait without a repeated header: the
    /// workbook holds the blocks top down where the Markdown shows them, in the same order.
    #[test]
    fn blocks_land_in_order_and_print_hints_apply() {
        use super::super::model::{KeyValues, date, number, text};
        use super::super::{Language, to_markdown};
        use calamine::{Data, Reader, Xlsx};

        let lang = Language::En;
        let mut table = Table::new(
            lang,
            &[
                date("日付", "Day"),
                number("数", "Count"),
                text("名", "Name"),
            ],
        );
        table.push(vec!["2026-10-01".into(), Cell::Number(3), "a".into()]);
        table.push(vec!["2026-10-02".into(), Cell::Number(4), Cell::Empty]);
        let mut pairs = KeyValues::new(lang);
        pairs.push("total".into(), 7usize);
        let mut section = Section::new("mixed", "Mixed".into());
        section.blocks = vec![
            Block::Paragraph("before".into()),
            Block::Table(table),
            Block::Paragraph("after".into()),
            Block::KeyValues(pairs),
        ];
        section.print = PrintHints {
            sheet_name: Some("Sheet of blocks".into()),
            repeat_header: false,
            fit_to_width: true,
            landscape: false,
        };
        let mut doc = Document::new(lang, "Title".into());
        doc.summarise("Document".into(), "Title");
        doc.sections.push(section);

        let markdown = to_markdown(&doc);
        assert!(
            markdown.ends_with(
                "## Mixed\n\nbefore\n\n| Day | Count | Name |\n|---|---|---|\n| 2026-10-01 | 3 | a |\n| 2026-10-02 | 4 |  |\n\nafter\n\n| Item | Details |\n|---|---|\n| total | 7 |\n"
            ),
            "{markdown}"
        );

        let bytes = to_xlsx(&doc).expect("workbook");
        let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).expect("readable");
        assert_eq!(wb.sheet_names(), ["Summary", "Sheet of blocks"]);
        let range = wb.worksheet_range("Sheet of blocks").expect("sheet");
        let at = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(at(0, 0), Data::String("before".into()));
        assert_eq!(at(1, 0), Data::String("Day".into()));
        assert_eq!(at(2, 0), Data::String("2026-10-01".into()));
        assert_eq!(at(3, 1), Data::Float(4.0));
        // One empty row after the table.
        assert_eq!(at(4, 0), Data::Empty);
        assert_eq!(at(5, 0), Data::String("after".into()));
        assert_eq!(at(6, 0), Data::String("Item".into()));
        assert_eq!(at(7, 0), Data::String("total".into()));
        assert_eq!(at(7, 1), Data::Float(7.0));

        // The print hints, as the sheet's XML says them.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("blocks.xlsx");
        std::fs::write(&path, to_xlsx(&doc).expect("workbook")).expect("written");
        let part = |name: &str| {
            let out = std::process::Command::new("unzip")
                .arg("-p")
                .arg(&path)
                .arg(name)
                .output()
                .expect("unzip runs");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let sheet = part("xl/worksheets/sheet2.xml");
        assert!(sheet.contains(r#"orientation="portrait""#), "{sheet}");
        assert!(sheet.contains(r#"fitToHeight="0""#), "{sheet}");
        assert!(!sheet.contains("<pane "), "no frozen header: {sheet}");
        assert!(!sheet.contains("<autoFilter"), "no filter: {sheet}");
        let workbook = part("xl/workbook.xml");
        assert!(!workbook.contains("_xlnm.Print_Titles"), "{workbook}");
        assert!(workbook.contains("_xlnm.Print_Area"), "{workbook}");
    }
}
