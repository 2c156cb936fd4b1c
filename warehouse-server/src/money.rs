//! Money is integer fen (分) everywhere; yuan (元) with two decimals only
//! where people read or type it. No floating point on the way.

use crate::error::{in_range, AppError, AppResult, Reason};

/// The largest amount any field takes: 10^15 fen (10 trillion yuan), far
/// above any public asset, and low enough that thousands of them still add
/// up inside an `i64`.
pub const MAX_FEN: i64 = 1_000_000_000_000_000;

/// Fen → "1234.56" (exact, no floating point).
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Parses a yuan amount typed by a person ("1,234.5") into fen.
pub fn parse_yuan(field: &str, s: &str) -> AppResult<i64> {
    let clean: String = s.trim().chars().filter(|c| *c != ',').collect();
    let bad = || -> AppError {
        Reason::NotAmount {
            field: field.into(),
            value: s.into(),
        }
        .into()
    };
    let (whole, frac) = clean.split_once('.').unwrap_or((&clean, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let fen = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    amount(field, fen)
}

/// The one check of an amount in fen a client sent: refused, naming the
/// field, when negative or above [`MAX_FEN`].
pub fn amount(field: &str, fen: i64) -> AppResult<i64> {
    if fen < 0 {
        return Err(Reason::Negative {
            field: field.into(),
        }
        .into());
    }
    in_range(field, fen, 0, MAX_FEN)
}

/// The exact sum of amounts (added as `i128`, which cannot overflow for
/// any number of `i64`s a listing holds); a total beyond `i64` is an error
/// naming `field`, never a float or a wrapped number.
pub fn total(field: &str, amounts: impl IntoIterator<Item = i64>) -> AppResult<i64> {
    let sum: i128 = amounts.into_iter().map(i128::from).sum();
    i64::try_from(sum).map_err(|_| {
        Reason::SumTooLarge {
            field: field.into(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_amounts_parse_to_fen() {
        assert_eq!(parse_yuan("a", "1234.5").ok(), Some(123_450));
        assert_eq!(parse_yuan("a", "1,000").ok(), Some(100_000));
        assert_eq!(parse_yuan("a", "0.07").ok(), Some(7));
        for bad in ["", "-1", "1.234", "abc", "1e3", "99999999999999999999"] {
            assert!(parse_yuan("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(fen_to_yuan(0), "0.00");
        assert_eq!(fen_to_yuan(150_005), "1500.05");
        assert_eq!(fen_to_yuan(-7), "-0.07");
    }

    #[test]
    fn negative_amounts_name_the_field() {
        assert_eq!(amount("budget_fen", 0).ok(), Some(0));
        assert_eq!(
            amount("budget_fen", -1).err().and_then(|e| e.field),
            Some("budget_fen".into())
        );
    }

    #[test]
    fn amounts_are_bounded_and_totals_exact() {
        assert_eq!(amount("a", MAX_FEN).ok(), Some(MAX_FEN));
        assert_eq!(
            amount("a", MAX_FEN + 1).err().and_then(|e| e.field),
            Some("a".into())
        );
        assert!(parse_yuan("a", "10000000000000.01").is_err());
        assert_eq!(parse_yuan("a", "10000000000000").ok(), Some(MAX_FEN));
        assert_eq!(total("t", [MAX_FEN, MAX_FEN]).ok(), Some(2 * MAX_FEN));
        assert_eq!(
            total("t", [i64::MAX, 1]).err().and_then(|e| e.field),
            Some("t".into())
        );
    }
}
