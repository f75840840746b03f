//! A one-line progress bar on stderr for `rewrap`, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};

/// Progress over a known number of items.
pub struct Progress {
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    /// A bar for `total` items; silent unless stderr is a terminal.
    pub fn new(total: usize) -> Self {
        Progress {
            total,
            done: 0,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Marks one more item done and redraws.
    pub fn advance(&mut self) {
        self.done = (self.done + 1).min(self.total);
        if !self.enabled {
            return;
        }
        const WIDTH: usize = 30;
        let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let _ = write!(
            std::io::stderr().lock(),
            "\r[{}{}] {}/{}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.done,
            self.total
        );
    }

    /// Clears the bar so that the summary starts on a clean line.
    pub fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r{}\r", " ".repeat(50));
        }
    }
}
