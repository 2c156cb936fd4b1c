//! Tag commissioning (赋码): the EPC an asset's tag carries for life is a
//! GS1 GIAI built from the organisation's company prefix and the asset
//! number, encoded by the shared codec: GIAI-96 when the number fits it,
//! GIAI-202 otherwise.

use shared::epc::{encode_giai, Epc};

use crate::error::{AppError, AppResult, Reason};

/// Settings key of the GS1 company prefix (set by `admin init`).
pub const COMPANY_PREFIX_KEY: &str = "gs1.company_prefix";

/// GIAI filter value "all others" (TDS table for GIAI).
pub const GIAI_FILTER: u8 = 0;

/// A company prefix is 6–12 digits (GS1 General Specifications).
pub fn check_company_prefix(prefix: &str) -> AppResult<()> {
    if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::BadCompanyPrefix {
            value: prefix.into(),
        }
        .into());
    }
    Ok(())
}

/// The GIAI EPC of an asset: GIAI-96 for a numeric asset number without
/// leading zeros that fits the partition's bits; GIAI-202 for the rest
/// (letters, `-`, leading zeros, long numbers — up to the characters
/// GIAI-202 holds for the prefix length, from the GS1 AI character set 82).
pub fn giai_for(company_prefix: &str, asset_number: &str) -> AppResult<Epc> {
    check_company_prefix(company_prefix)?;
    encode_giai(GIAI_FILTER, company_prefix, asset_number).map_err(|e| {
        AppError::from(Reason::NotGiaiReference {
            value: asset_number.into(),
            detail: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_giai96_from_prefix_and_number() -> AppResult<()> {
        let epc = giai_for("0614141", "12345")?;
        assert_eq!(epc.bytes().len(), 12);
        assert_eq!(epc.bytes()[0], 0x34, "GIAI-96 header");
        assert!(epc
            .id_uri()
            .to_string()
            .starts_with("urn:epc:id:giai:0614141.12345"));
        assert!(giai_for("12", "1").is_err());
        Ok(())
    }

    #[test]
    fn falls_back_to_giai202() -> AppResult<()> {
        for number in ["GZ-2024-A17", "007", "123456789012345678901"] {
            let epc = giai_for("0614141", number)?;
            assert_eq!(epc.bytes()[0], 0x38, "GIAI-202 header for {number}");
            assert_eq!(epc.bytes().len(), 26, "202 bits, word-padded");
            assert_eq!(
                epc.id_uri().to_string(),
                format!("urn:epc:id:giai:0614141.{number}")
            );
        }
        // Outside character set 82 (the register refuses these anyway), or
        // longer than GIAI-202 holds.
        assert!(giai_for("0614141", "办公-01").is_err());
        assert!(giai_for("0614141", &"A".repeat(40)).is_err());
        Ok(())
    }
}
