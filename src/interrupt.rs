//! Ctrl-C (SIGINT) and SIGTERM: the command stops at once and leaves no partial output.
//!
//! Every output is written atomically (a temporary file `.NAME.PID-K.tmp` beside it, renamed
//! over it), and a set of pictures is written file by file (`files::write_pngs`). On a
//! signal, [`install`]'s handler waits for the file being written to be renamed (a write holds
//! [`writing`]), then removes this process's temporary files from the folders the command
//! writes to ([`watch`]) and the pictures of an unfinished set ([`Writing::part_of_set`]), prints one line
//! and exits with status 130 (128 + SIGINT, as shells report an interrupted command).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The exit status of an interrupted command.
pub const STATUS: i32 = 130;

/// What the handler cleans up.
struct Cleanup {
    /// Folders the command writes into.
    folders: Vec<PathBuf>,
    /// Finished files of an unfinished set, removed on interruption.
    set: Vec<PathBuf>,
}

static STATE: Mutex<Cleanup> = Mutex::new(Cleanup {
    folders: Vec::new(),
    set: Vec::new(),
});

/// The lock of [`STATE`], even if a panicking thread held it.
fn state() -> MutexGuard<'static, Cleanup> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs the handler for SIGINT and SIGTERM (once; later calls do nothing).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A handler that cannot be installed leaves the default behaviour (the process ends),
        // which still never renames a partial file over an output.
        let _ = ctrlc::set_handler(|| {
            let s = state();
            clean(&s);
            eprintln!("smoothgrad: interrupted: no output written");
            std::process::exit(STATUS);
        });
    });
}

/// Records that the command writes files into `path`'s folder (`path` is a file) or into `path`
/// itself (an existing or future folder, `is_folder`).
pub fn watch(path: &Path, is_folder: bool) {
    let folder = if is_folder {
        path.to_path_buf()
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let mut s = state();
    if !s.folders.contains(&folder) {
        s.folders.push(folder);
    }
}

/// Held while one output file is written and renamed ([`writing`]): the handler waits for it,
/// so it never races a rename.
pub struct Writing(MutexGuard<'static, Cleanup>);

impl Writing {
    /// Records that `path`, one file of a set, is written: removed if the command is
    /// interrupted before [`set_done`].
    pub fn part_of_set(&mut self, path: &Path) {
        self.0.set.push(path.to_path_buf());
    }
}

/// Starts writing one output file (see [`Writing`]).
pub fn writing() -> Writing {
    Writing(state())
}

/// The set is whole (or was removed after a failure): its files are no longer the handler's.
pub fn set_done() {
    state().set.clear();
}

/// Removes the files of the unfinished set and this process's temporary files in the watched
/// folders (and their sub-folders, one level down).
fn clean(s: &Cleanup) {
    for p in &s.set {
        let _ = std::fs::remove_file(p);
    }
    let marker = format!(".{}-", std::process::id());
    let ours =
        |name: &str| name.starts_with('.') && name.ends_with(".tmp") && name.contains(&marker);
    for folder in &s.folders {
        let sub = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path());
        for dir in std::iter::once(folder.clone()).chain(sub.collect::<Vec<_>>()) {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_name().to_str().is_some_and(ours) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_removes_our_temporaries_and_an_unfinished_set_only() {
        let dir = std::env::temp_dir().join(format!("sg-interrupt-{}", std::process::id()));
        let sub = dir.join("figures");
        std::fs::create_dir_all(&sub).unwrap();
        let pid = std::process::id();
        let ours = dir.join(format!(".out.png.{pid}-0.tmp"));
        let ours_sub = sub.join(format!(".a.png.{pid}-3.tmp"));
        let other = dir.join(".out.png.1-0.tmp");
        let kept = dir.join("earlier.png");
        let part = dir.join("map-0.png");
        for p in [&ours, &ours_sub, &other, &kept, &part] {
            std::fs::write(p, b"x").unwrap();
        }
        let s = Cleanup {
            folders: vec![dir.clone()],
            set: vec![part.clone()],
        };
        clean(&s);
        assert!(!ours.exists() && !ours_sub.exists() && !part.exists());
        assert!(other.exists() && kept.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
