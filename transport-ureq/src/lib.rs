//! Native transport (filled by a later issue).
