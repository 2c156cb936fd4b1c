//! Chainway protocol codec (placeholder).
