//! Output files: the kind an `--output` path asks for ([`OutputKind`], from its extension) and
//! PNG sets written all or nothing ([`write_pngs`]), shared by `explain` and `render`.

use std::path::{Path, PathBuf};

use smoothgrad_viz::Image;

use crate::error::{viz_error, CliError, Result};

/// The lower-case extension of `path`, if any.
pub fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Whether `path` ends in `.safetensors` (any case).
pub fn is_safetensors(path: &Path) -> bool {
    extension(path).as_deref() == Some("safetensors")
}

/// What an `--output` path asks for, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Tensors in a `.safetensors` file.
    Safetensors,
    /// Pictures in `.png` files.
    Png,
}

impl OutputKind {
    /// The kind of `path`, from its extension (any case).
    ///
    /// # Errors
    /// Any other extension: "expected .safetensors or .png".
    pub fn of(path: &Path) -> Result<Self> {
        match extension(path).as_deref() {
            Some("safetensors") => Ok(OutputKind::Safetensors),
            Some("png") => Ok(OutputKind::Png),
            _ => Err(CliError::input(format!(
                "--output: expected .safetensors or .png, found \"{}\"",
                path.display()
            ))),
        }
    }
}

/// The files `n` pictures go to: `output` itself for one, else `stem-0.png`, `stem-1.png`, ...
/// beside it.
pub fn png_paths(output: &Path, n: usize) -> Vec<PathBuf> {
    if n == 1 {
        return vec![output.to_path_buf()];
    }
    let stem = output.file_stem().unwrap_or_default().to_string_lossy();
    let ext = output.extension().unwrap_or_default().to_string_lossy();
    (0..n)
        .map(|i| output.with_file_name(format!("{stem}-{i}.{ext}")))
        .collect()
}

/// Writes `images` to [`png_paths`] of `output`, each atomically; if one write fails, the files
/// already written are removed, so the set is written whole or not at all.
///
/// # Errors
/// The first write that fails.
pub fn write_pngs(output: &Path, images: &[Image]) -> Result<Vec<PathBuf>> {
    let paths = png_paths(output, images.len());
    for (k, (path, image)) in paths.iter().zip(images).enumerate() {
        // Ctrl-C waits for this file and then removes the set's finished files.
        let mut writing = crate::interrupt::writing();
        if let Err(e) = smoothgrad_viz::save_png(path, image) {
            paths[..k].iter().for_each(|p| {
                let _ = std::fs::remove_file(p);
            });
            drop(writing);
            crate::interrupt::set_done();
            let context = format!("cannot write \"{}\"", path.display());
            return Err(CliError {
                status: 1,
                ..viz_error(&context, e)
            });
        }
        writing.part_of_set(path);
    }
    crate::interrupt::set_done();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_pictures_get_an_index() {
        let p = png_paths(Path::new("out/map.png"), 2);
        assert_eq!(
            p,
            [
                PathBuf::from("out/map-0.png"),
                PathBuf::from("out/map-1.png")
            ]
        );
        assert_eq!(png_paths(Path::new("m.png"), 1), [PathBuf::from("m.png")]);
    }

    #[test]
    fn output_kinds_come_from_the_extension() {
        assert_eq!(OutputKind::of(Path::new("a.PNG")).unwrap(), OutputKind::Png);
        assert_eq!(
            OutputKind::of(Path::new("a.safetensors")).unwrap(),
            OutputKind::Safetensors
        );
        assert!(OutputKind::of(Path::new("a.jpg")).is_err());
        assert!(OutputKind::of(Path::new("a")).is_err());
    }
}
