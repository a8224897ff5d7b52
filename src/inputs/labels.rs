//! `--labels`: class names, one per line.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

/// Class names read from a file: line `i` names class `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The file, for messages.
    pub path: PathBuf,
    /// The names, in class order.
    pub names: Vec<String>,
}

impl Labels {
    /// Reads `path`: one name per line (`\n` or `\r\n`), surrounding whitespace trimmed; blank
    /// lines at the end are ignored, a blank line before a name is an error.
    ///
    /// # Errors
    /// An unreadable or non-UTF-8 file, no names, or a blank line between names.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::input(format!("--labels: cannot read \"{}\": {e}", path.display()))
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a labels file (see [`Labels::read`]).
    ///
    /// # Errors
    /// No names, or a blank line between names.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        while names.last().is_some_and(String::is_empty) {
            names.pop();
        }
        if names.is_empty() {
            return Err(CliError::input(format!(
                "--labels: expected one class name per line, found no names in \"{}\"",
                path.display()
            )));
        }
        if let Some(i) = names.iter().position(String::is_empty) {
            return Err(CliError::input(format!(
                "--labels: expected one class name per line, found a blank line {} in \"{}\"",
                i + 1,
                path.display()
            )));
        }
        Ok(Labels {
            path: path.to_path_buf(),
            names,
        })
    }

    /// The class called `name`: an exact match, else the only case-insensitive one.
    pub fn find(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.names.iter().position(|n| n == name).or_else(|| {
            let mut matches = self
                .names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.eq_ignore_ascii_case(name));
            match (matches.next(), matches.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
    }

    /// The name of class `i`, or its index when there are fewer names.
    pub fn name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_else(|| i.to_string())
    }

    /// Checks that there is one name per model output.
    ///
    /// # Errors
    /// Another count, naming both.
    pub fn check_count(&self, outputs: usize) -> Result<()> {
        if self.names.len() == outputs {
            return Ok(());
        }
        Err(CliError::input(format!(
            "--labels: \"{}\" has {} class names but the model has {outputs} outputs",
            self.path.display(),
            self.names.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_one_per_line_with_trailing_blank_lines() {
        let l = Labels::parse(Path::new("l.txt"), "tench\r\ngoldfish\n Tabby cat \n\n").unwrap();
        assert_eq!(l.names, ["tench", "goldfish", "Tabby cat"]);
        assert_eq!(l.find("goldfish"), Some(1));
        assert_eq!(l.find("tabby cat"), Some(2));
        assert_eq!(l.find("shark"), None);
        assert!(l.check_count(3).is_ok());
        let e = l.check_count(1000).unwrap_err();
        assert_eq!(
            e.message,
            "--labels: \"l.txt\" has 3 class names but the model has 1000 outputs"
        );
        assert!(Labels::parse(Path::new("l.txt"), "a\n\nb\n").is_err());
        assert!(Labels::parse(Path::new("l.txt"), "\n \n").is_err());
    }
}
