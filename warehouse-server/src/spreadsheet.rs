//! CSV that Excel opens correctly and safely: UTF-8 BOM, CRLF, RFC 4180
//! quoting, and no cell that a spreadsheet would run as a formula. Every
//! CSV export writes through [`Sheet`], so the neutralisation is one rule.
//! Real workbooks (.xlsx) are written by [`xlsx`] (`rust_xlsxwriter`):
//! typed cells, money as numbers in `#,##0.00`, dates as date cells, a
//! frozen heading row and a bold totals row. Text cells are written as
//! strings, never formulas, so no neutralisation is needed there.

use std::borrow::Cow;

use crate::error::{AppError, AppResult};

/// A CSV document being written row by row.
#[derive(Debug)]
pub struct Sheet {
    writer: csv::Writer<Vec<u8>>,
}

fn csv_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("csv: {e}"))
}

impl Sheet {
    /// Starts a sheet with its header row.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(header: I) -> AppResult<Self> {
        let mut sheet = Sheet {
            writer: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(b"\xEF\xBB\xBF".to_vec()),
        };
        sheet.row(header)?;
        Ok(sheet)
    }

    /// Appends one row, each cell neutralised.
    pub fn row<I: IntoIterator<Item = S>, S: AsRef<str>>(&mut self, cells: I) -> AppResult<()> {
        self.writer
            .write_record(
                cells
                    .into_iter()
                    .map(|c| neutralise(c.as_ref()).into_owned()),
            )
            .map_err(csv_error)
    }

    /// The finished bytes.
    pub fn finish(self) -> AppResult<Vec<u8>> {
        self.writer.into_inner().map_err(csv_error)
    }
}

/// A cell a spreadsheet would read as a formula (it starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading apostrophe, per
/// OWASP's CSV-injection advice. A plain number (`-12.50`) is left as it is:
/// it cannot run anything and must stay a number.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = match cell.as_bytes() {
        [b'-' | b'+', rest @ ..] => {
            rest.iter().all(|b| b.is_ascii_digit() || *b == b'.')
                && rest.iter().any(u8::is_ascii_digit)
        }
        _ => false,
    };
    if risky && !number {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One typed cell of a workbook.
#[derive(Debug, Clone, PartialEq)]
pub enum XCell {
    Empty,
    Text(String),
    /// Integer fen, written as yuan (a number with two decimals).
    Money(i64),
    Int(i64),
    Number(f64),
    /// A fraction (0.125), shown as 12.5%.
    Percent(f64),
    Date(chrono::NaiveDate),
}

fn xlsx_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("xlsx: {e}"))
}

/// A one-sheet workbook: `headings` (frozen, bold), `rows`, then the
/// `totals` rows in bold.
pub fn xlsx(
    sheet: &str,
    headings: &[String],
    rows: &[Vec<XCell>],
    totals: &[Vec<XCell>],
) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    // Sheet names: at most 31 characters, none of []:*?/\.
    let name: String = sheet
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !name.is_empty() {
        ws.set_name(name).map_err(xlsx_error)?;
    }
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let percent = Format::new().set_num_format("0.0%");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut widths: Vec<usize> = headings.iter().map(|h| h.chars().count() * 2).collect();
    for (c, h) in headings.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(xlsx_error)?;
    }
    let mut write = |r: u32, cells: &[XCell], strong: bool| -> AppResult<()> {
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            let with = |f: &Format| {
                if strong {
                    f.clone().set_bold()
                } else {
                    f.clone()
                }
            };
            let plain = with(&Format::new());
            let width = match cell {
                XCell::Empty => 0,
                XCell::Text(s) => {
                    ws.write_string_with_format(r, col, s, &plain)
                        .map_err(xlsx_error)?;
                    s.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum()
                }
                XCell::Money(fen) => {
                    ws.write_number_with_format(r, col, *fen as f64 / 100.0, &with(&money))
                        .map_err(xlsx_error)?;
                    14
                }
                XCell::Int(n) => {
                    ws.write_number_with_format(r, col, *n as f64, &plain)
                        .map_err(xlsx_error)?;
                    8
                }
                XCell::Number(n) => {
                    ws.write_number_with_format(r, col, *n, &plain)
                        .map_err(xlsx_error)?;
                    10
                }
                XCell::Percent(p) => {
                    ws.write_number_with_format(r, col, *p, &with(&percent))
                        .map_err(xlsx_error)?;
                    8
                }
                XCell::Date(d) => {
                    use chrono::Datelike;
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(xlsx_error)?;
                    ws.write_datetime_with_format(r, col, &dt, &with(&date))
                        .map_err(xlsx_error)?;
                    11
                }
            };
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(width);
            }
        }
        Ok(())
    };
    for (i, row) in rows.iter().enumerate() {
        write(i as u32 + 1, row, false)?;
    }
    for (i, t) in totals.iter().enumerate() {
        write((rows.len() + i) as u32 + 1, t, true)?;
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w).clamp(6, 60) as f64 + 1.0)
            .map_err(xlsx_error)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for bad in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+2",
            "-1+cmd|' /C calc'!A0",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["张三", "1234.56", "-0.07", "+86", "a=b", ""] {
            assert_eq!(neutralise(fine), fine, "{fine:?}");
        }
    }

    #[test]
    fn a_workbook_reads_back_with_its_types() -> AppResult<()> {
        use calamine::{Data, Reader};
        let d = chrono::NaiveDate::from_ymd_opt(2099, 3, 5).ok_or_else(|| csv_error("date"))?;
        let bytes = xlsx(
            "表",
            &["名称".into(), "原值（元）".into(), "日期".into()],
            &[vec![
                XCell::Text("=1+1".into()),
                XCell::Money(123_456),
                XCell::Date(d),
            ]],
            &[vec![
                XCell::Text("合计".into()),
                XCell::Money(123_456),
                XCell::Empty,
            ]],
        )?;
        let mut book =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(csv_error)?;
        let range = book.worksheet_range("表").map_err(csv_error)?;
        assert_eq!(range.get((1, 0)), Some(&Data::String("=1+1".into())));
        assert_eq!(range.get((1, 1)), Some(&Data::Float(1234.56)));
        assert!(
            matches!(range.get((1, 2)), Some(Data::DateTime(_))),
            "{:?}",
            range.get((1, 2))
        );
        assert_eq!(range.get((2, 1)), Some(&Data::Float(1234.56)));
        Ok(())
    }

    #[test]
    fn a_sheet_has_bom_crlf_and_safe_cells() -> AppResult<()> {
        let mut s = Sheet::new(["a", "b"])?;
        s.row(["=1+1", "x,y"])?;
        let text = String::from_utf8(s.finish()?).map_err(csv_error)?;
        assert_eq!(text, "\u{feff}a,b\r\n'=1+1,\"x,y\"\r\n");
        Ok(())
    }
}
