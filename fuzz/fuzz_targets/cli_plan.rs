//! The command line: arbitrary arguments, parsed by clap and, for `explain`, turned into its
//! plan (`smoothgrad_cli::fuzzing::plan`), the checks made before any file is read. Arguments
//! are the input's NUL-separated pieces after `smoothgrad explain` (or after `smoothgrad` when
//! the first piece is empty), so most inputs reach the plan.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut pieces = text.split('\0');
    let mut argv = vec!["smoothgrad".to_string()];
    match pieces.next() {
        Some("") => {}
        Some(first) => {
            argv.push("explain".into());
            argv.push(first.into());
        }
        None => return,
    }
    argv.extend(pieces.map(str::to_string));
    let _ = smoothgrad_cli::fuzzing::plan(&argv);
});
