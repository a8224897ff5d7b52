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

/// Runs `work`, a step of unknown length, after printing `message`; on a terminal a spinner
/// with the elapsed time turns beside it meanwhile (none when `quiet` or in logs and pipes).
pub fn phase<R>(message: &str, quiet: bool, work: impl FnOnce() -> R) -> R {
    println!("{message}");
    let spinner = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let s = ProgressBar::new_spinner();
        s.set_style(
            ProgressStyle::with_template("  {spinner} {elapsed}").expect("a valid template"),
        );
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    };
    let result = work();
    spinner.finish_and_clear();
    result
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
