//! CSV that Excel opens correctly and safely: UTF-8 BOM, CRLF, RFC 4180
//! quoting, and no cell that a spreadsheet would run as a formula. Every
//! CSV export writes through [`Sheet`], so the neutralisation is one rule.

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
    fn a_sheet_has_bom_crlf_and_safe_cells() -> AppResult<()> {
        let mut s = Sheet::new(["a", "b"])?;
        s.row(["=1+1", "x,y"])?;
        let text = String::from_utf8(s.finish()?).map_err(csv_error)?;
        assert_eq!(text, "\u{feff}a,b\r\n'=1+1,\"x,y\"\r\n");
        Ok(())
    }
}
