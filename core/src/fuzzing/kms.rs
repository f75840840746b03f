//! Fuzz entry points (in progress).
