//! Checks for text that clients send: trimmed bounded text, dates, and the
//! `string_enum!` macro that gives domain enums one text form for JSON,
//! SQL and forms.

use chrono::NaiveDate;

use crate::error::{AppResult, Reason};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use string_enum;

/// Trimmed, non-empty, bounded text.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Reason::Empty {
            field: field.into(),
        }
        .into());
    }
    if v.chars().count() > max {
        return Err(Reason::TooLong {
            field: field.into(),
            max,
        }
        .into());
    }
    Ok(v.to_owned())
}

pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(field, v, max).map(Some),
    }
}

pub fn parse_date(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| {
                Reason::BadDate {
                    field: field.into(),
                    value: v.into(),
                }
                .into()
            }),
    }
}
