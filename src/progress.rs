//! Progress bars on stderr ([`bar`]): drawn only when stderr is a terminal and the user did
//! not ask for quiet, so logs and pipes never get escape codes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` items called `unit` (e.g. "inputs"), with the rate and the time left;
/// hidden (every call a no-op) when `quiet` or when stderr is not a terminal.
pub fn bar(len: u64, unit: &str, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left) {{msg}}"
        ))
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_bar_is_hidden_but_counts() {
        let b = bar(10, "inputs", true);
        assert!(b.is_hidden());
        b.inc(3);
        assert_eq!(b.position(), 3);
        assert_eq!(b.length(), Some(10));
    }
}
