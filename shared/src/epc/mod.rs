//! GS1 EPC codec (placeholder; filled in by the EPC work).
