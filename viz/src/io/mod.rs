//! Image files: PNG writing (feature `png`, through the `png` crate), binary PPM/PGM writing (no
//! dependency), and reading every common format as torchvision's loader reads it (feature
//! `decode`, through the `image` crate: [`decode`](mod@decode)).
//!
//! Writers have in-memory `encode_*` functions working on bytes and `save_*` functions working
//! on files. Decoding returns an error, never a panic, on a corrupt or truncated file. Saving
//! writes a temporary file in the destination folder and renames it over the destination, so a
//! failure never leaves a partial file behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, VizError};
use crate::image::Image;

#[cfg(feature = "decode")]
pub mod decode;
#[cfg(feature = "png")]
pub mod png;
pub mod ppm;

#[cfg(feature = "decode")]
pub use decode::{decode, decode_pixels, load, load_pixels, ColorMode, DecodeOptions, Pixels};

/// Saves `image` in the format named by the extension of `path`: `.png` (feature `png`), or
/// `.ppm`, `.pgm`, `.pnm` (P5 for a grayscale image, P6 for RGB, whatever the extension).
pub fn save(path: impl AsRef<Path>, image: &Image) -> Result<()> {
    let path = path.as_ref();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("ppm" | "pgm" | "pnm") => ppm::encode_ppm(image),
        #[cfg(feature = "png")]
        Some("png") => png::encode_png(image)?,
        _ => {
            return Err(VizError::InvalidParameter {
                name: "path",
                expected: if cfg!(feature = "png") {
                    "a file name ending in .png, .ppm, .pgm or .pnm"
                } else {
                    "a file name ending in .ppm, .pgm or .pnm (PNG needs the `png` feature)"
                },
                found: format!("{:?}", path.display().to_string()),
            })
        }
    };
    write_atomically(path, &bytes)
}

/// Reads a whole file.
#[cfg_attr(not(feature = "decode"), allow(dead_code))]
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| VizError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically: to a new temporary file in the same folder (so the rename
/// stays on one file system), flushed to disk, then renamed over `path`. On any failure the
/// temporary file is removed and `path` is left as it was.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| VizError::InvalidParameter {
        name: "path",
        expected: "a path naming a file",
        found: format!("{:?}", path.display().to_string()),
    })?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temporary: PathBuf = folder.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io_error = |path: &Path, source| VizError::Io {
        path: path.to_path_buf(),
        source,
    };
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(io_error(&temporary, source));
    }
    if let Err(source) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(io_error(path, source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty folder under the system's temporary folder.
    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("viz-io-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sample() -> Image {
        let data = (0..12).map(|i| i as f32 / 11.0).collect();
        Image::new(3, 2, 2, data).unwrap()
    }

    #[cfg(feature = "decode")]
    #[test]
    fn save_and_load_by_extension() {
        let dir = scratch_dir("ext");
        let img = sample();
        let mut names = vec!["a.ppm", "b.PGM"];
        if cfg!(feature = "png") {
            names.push("c.png");
        }
        for name in names {
            let path = dir.join(name);
            save(&path, &img).unwrap();
            let back = load(&path).unwrap();
            assert_eq!(back.to_interleaved_u8(), img.to_interleaved_u8(), "{name}");
        }
        let e = save(dir.join("d.jpg"), &img).unwrap_err();
        assert!(e.to_string().contains("found \""), "{e}");
        assert!(load(dir.join("missing.png")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_saves_leave_no_file_behind() {
        let dir = scratch_dir("atomic");
        // The destination is a non-empty folder: the rename fails, and the temporary file goes.
        let target = dir.join("taken.ppm");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"x").unwrap();
        assert!(save(&target, &sample()).is_err());
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["taken.ppm"]);
        // A folder that does not exist: an error naming the temporary path, nothing created.
        let e = save(dir.join("no/such/dir.ppm"), &sample()).unwrap_err();
        assert!(matches!(e, VizError::Io { .. }), "{e}");
        assert!(!dir.join("no").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn overwriting_replaces_the_whole_file() {
        let dir = scratch_dir("overwrite");
        let path = dir.join("img.pgm");
        fs::write(&path, vec![b'x'; 10_000]).unwrap();
        let gray = Image::new(1, 1, 2, vec![0.0, 1.0]).unwrap();
        save(&path, &gray).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"P5\n2 1\n255\n\x00\xff");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(feature = "decode")]
    #[test]
    fn unknown_content_is_an_error() {
        assert!(decode(b"").is_err());
        let e = decode(b"GIF89a").unwrap_err();
        assert!(
            e.to_string()
                .contains("expected a JPEG, PNG, WebP, BMP or PPM/PGM file, found a Gif file"),
            "{e}"
        );
        let e = decode(b"hello").unwrap_err();
        assert!(e.to_string().contains("found the bytes"), "{e}");
    }
}
