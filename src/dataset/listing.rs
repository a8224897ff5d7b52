//! Which files `--input` names: files, folders (searched recursively) and globs, each input
//! named by its path below its root (a folder, a glob's fixed prefix, or a file's own folder),
//! sorted by that name.
//!
//! The name is the input's identity: it names its picture in the output folder and keys its
//! noise ([`key`]), so an input's result never depends on which other files are there.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};
use crate::files::extension;

/// The extensions a folder or glob search picks up; other files are ignored, as are hidden
/// files and folders (names starting with ".").
pub const INPUT_EXTENSIONS: [&str; 9] = [
    "png",
    "ppm",
    "pgm",
    "pnm",
    "jpg",
    "jpeg",
    "webp",
    "bmp",
    "safetensors",
];

/// One input file and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Where it is.
    pub path: PathBuf,
    /// Its path below its root, "/"-separated.
    pub name: String,
}

/// Refuses an output folder inside (or equal to) a folder `inputs` names: its pictures would
/// become inputs of the next run, so results would depend on earlier runs. Symbolic links and
/// `..` are resolved first; `out` need not exist yet.
///
/// # Errors
/// `out` inside an input folder, naming both.
pub fn check_outside(inputs: &[PathBuf], out: &Path) -> Result<()> {
    let out_resolved = resolved(out);
    for input in inputs.iter().filter(|p| p.is_dir()) {
        if out_resolved.starts_with(resolved(input)) {
            return Err(CliError::input(format!(
                "--output-dir \"{}\" is inside the input folder \"{}\": its pictures would \
                 become inputs; choose an output folder outside it",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// `path` made absolute with its longest existing ancestor's links and `..` resolved (the rest,
/// which does not exist yet, appended as given).
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        if let Ok(real) = base.canonicalize() {
            return rest.iter().rev().fold(real, |p: PathBuf, c| p.join(c));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => return absolute,
        }
    }
}

/// Every file `inputs` names, sorted by name.
///
/// # Errors
/// A path that does not exist, a glob that matches nothing or is malformed, a folder that
/// cannot be read, a folder with no inputs, or two inputs with one name.
pub fn list(inputs: &[PathBuf]) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if input.exists() {
            if input.is_dir() {
                let found = folder(input)?;
                if found.is_empty() {
                    return Err(CliError::input(format!(
                        "--input: folder \"{}\" holds no inputs (expected files ending in .{})",
                        input.display(),
                        INPUT_EXTENSIONS.join(", .")
                    )));
                }
                sources.extend(found);
            } else {
                let name = input.file_name().unwrap_or_default().to_string_lossy();
                sources.push(Source {
                    path: input.clone(),
                    name: name.into_owned(),
                });
            }
        } else if text.contains(['*', '?', '[']) {
            glob_into(&text, &mut sources)?;
        } else {
            return Err(CliError::input(format!(
                "--input: \"{}\": no such file or folder",
                input.display()
            )));
        }
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    // Grown by doubling: give back the unused half before the items are built beside it.
    sources.shrink_to_fit();
    if let Some(w) = sources.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(CliError::input(format!(
            "--input: two inputs are both named \"{}\" (\"{}\" and \"{}\"); give their common \
             parent folder instead",
            w[0].name,
            w[0].path.display(),
            w[1].path.display()
        )));
    }
    Ok(sources)
}

/// The inputs in folder `dir` and its subfolders, named by their path below it, in the order
/// [`list`] gives them; none is not an error here.
///
/// # Errors
/// A folder that cannot be read.
pub fn folder(dir: &Path) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    walk(dir, dir, &mut sources)?;
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sources)
}

/// Whether a folder search takes `path` (a file with an input extension).
fn is_input(path: &Path) -> bool {
    extension(path).is_some_and(|e| INPUT_EXTENSIONS.contains(&e.as_str()))
}

/// Whether a name is hidden (".partial", ".DS_Store").
fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// `path` below `root`, "/"-separated.
fn name_below(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Adds every input file below `dir` (recursively), named below `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let cannot = |e: std::io::Error| {
        CliError::input(format!(
            "--input: cannot read folder \"{}\": {}",
            dir.display(),
            crate::error::io_reason(&e)
        ))
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(cannot)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<PathBuf>>>()
        .map_err(cannot)?;
    entries.sort();
    for path in entries {
        if hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if is_input(&path) {
            out.push(Source {
                name: name_below(root, &path),
                path,
            });
        }
    }
    Ok(())
}

/// Adds the files a glob matches (folders it matches are searched), named below the glob's
/// fixed prefix: `photos/*/x.jpg` names `photos/cats/x.jpg` "cats/x.jpg".
fn glob_into(pattern: &str, out: &mut Vec<Source>) -> Result<()> {
    let paths = glob::glob(pattern)
        .map_err(|e| CliError::input(format!("--input: bad glob {pattern:?}: {}", e.msg)))?;
    let root: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    let before = out.len();
    for path in paths {
        let path = path.map_err(|e| {
            CliError::input(format!(
                "--input: cannot read \"{}\": {}",
                e.path().display(),
                crate::error::io_reason(e.error())
            ))
        })?;
        if path.is_dir() {
            walk(&root, &path, out)?;
        } else if path.is_file() {
            out.push(Source {
                name: name_below(&root, &path),
                path,
            });
        }
    }
    if out.len() == before {
        return Err(CliError::input(format!(
            "--input: glob {pattern:?} matches no file"
        )));
    }
    Ok(())
}

/// The noise stream key of the input called `name`: FNV-1a (64-bit) of its UTF-8 bytes, a
/// hash fixed by its definition (unlike std's hasher), so keys never change between builds.
pub fn key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_matches_its_published_values() {
        // The FNV test suite's values for "" and "a".
        assert_eq!(key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(key("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn folders_and_globs_name_inputs_below_their_root() {
        let dir = std::env::temp_dir().join(format!("sg-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/c")).unwrap();
        std::fs::create_dir_all(dir.join(".partial")).unwrap();
        for f in [
            "z.png",
            "b/c/y.jpg",
            "b/a.pgm",
            "notes.txt",
            ".partial/q.png",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let names = |s: Vec<Source>| s.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(list(std::slice::from_ref(&dir)).unwrap()),
            ["b/a.pgm", "b/c/y.jpg", "z.png"]
        );
        let pattern = dir.join("b/*");
        assert_eq!(names(list(&[pattern]).unwrap()), ["a.pgm", "c/y.jpg"]);
        assert_eq!(names(list(&[dir.join("z.png")]).unwrap()), ["z.png"]);
        let e = list(&[dir.join("z.png"), dir.join("b/../z.png")]).unwrap_err();
        assert!(e.message.contains("both named \"z.png\""), "{}", e.message);
        let e = list(&[dir.join("*.bmp")]).unwrap_err();
        assert!(e.message.ends_with("matches no file"), "{}", e.message);
        let e = list(&[dir.join("missing")]).unwrap_err();
        assert!(
            e.message.ends_with("no such file or folder"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
