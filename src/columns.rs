//! Plain-text tables for a terminal: every column as wide as its widest cell, a full-width
//! character (kanji, kana) counted as the two columns a terminal gives it, so that tables with
//! Japanese names still line up.

use crate::source::display_width;

/// Terminal columns `text` takes.
pub fn text_width(text: &str) -> usize {
    text.chars().map(display_width).sum()
}

/// The rows as lines: cells padded to their column's width, two spaces between columns, the
/// columns numbered in `right` aligned to the right (numbers), the others to the left. The last
/// cell of a line is not padded when it is aligned to the left, so no line ends in spaces.
pub fn align_columns<S: AsRef<str>>(rows: &[Vec<S>], right: &[usize]) -> Vec<String> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(text_width(cell.as_ref()));
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let cell = cell.as_ref();
                let pad = " ".repeat(widths[i] - text_width(cell));
                if i > 0 {
                    line.push_str("  ");
                }
                if right.contains(&i) {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < row.len() {
                        line.push_str(&pad);
                    }
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_numbers_on_the_right_and_kanji_as_two_columns() {
        let rows = vec![
            vec!["Site", "Terminals", "Name"],
            vec!["chuo", "7", "中央区役所"],
            vec!["jozankei", "12", "定山渓"],
        ];
        assert_eq!(
            align_columns(&rows, &[1]),
            [
                "Site      Terminals  Name",
                "chuo              7  中央区役所",
                "jozankei         12  定山渓",
            ]
        );
        assert_eq!(text_width("定山渓 2"), 8);
    }
}
