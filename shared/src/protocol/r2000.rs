//! R2000 protocol codec (placeholder).
