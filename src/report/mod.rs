//! Outputs around the core: text tables (and, later, CSV, PNG and Markdown reports).

pub mod text;
