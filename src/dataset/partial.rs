//! An unfinished run's state, `OUT/.partial/<run>/`: a manifest of the settings and one file per
//! finished chunk, `chunk-000007.safetensors`, each written atomically. A run started again with
//! the same settings skips the chunks there, so a kill (even SIGKILL) costs at most the chunk it
//! interrupted; other settings are an error naming what changed (`--overwrite` starts over).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{io_reason, CliError, Result};

/// The partial state of one run (one shard) in an output folder.
pub struct Partial {
    dir: PathBuf,
}

/// The manifest's file name.
const MANIFEST: &str = "manifest.json";

impl Partial {
    /// Opens (or starts) the state of run `tag` in `out`, whose settings are `settings`:
    /// an existing state with other settings is an error, unless `overwrite` discards it.
    ///
    /// # Errors
    /// Other settings in an existing state (status 2), or a folder that cannot be written.
    pub fn open(
        out: &Path,
        tag: &str,
        settings: &BTreeMap<String, String>,
        overwrite: bool,
    ) -> Result<Partial> {
        let dir = out.join(".partial").join(tag);
        let manifest = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(settings).expect("strings serialize");
        if overwrite && dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| cannot(&dir, &e))?;
        }
        match std::fs::read_to_string(&manifest) {
            Ok(old) if old == text => {}
            Ok(old) => {
                let old: BTreeMap<String, String> = serde_json::from_str(&old).unwrap_or_default();
                let changed: Vec<&str> = settings
                    .keys()
                    .chain(old.keys())
                    .filter(|k| settings.get(*k) != old.get(*k))
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                return Err(CliError::input(format!(
                    "\"{}\" holds an unfinished run with other settings (changed: {}); run \
                     again with the same settings to resume it, or add --overwrite to start over",
                    out.display(),
                    changed.join(", ")
                )));
            }
            Err(_) => {
                std::fs::create_dir_all(&dir).map_err(|e| cannot(&dir, &e))?;
                write_atomic(&manifest, text.as_bytes())?;
            }
        }
        Ok(Partial { dir })
    }

    /// Where chunk `k` is kept.
    pub fn chunk(&self, k: usize) -> PathBuf {
        self.dir.join(format!("chunk-{k:06}.safetensors"))
    }

    /// Removes the state once the run's outputs are complete (the whole `.partial` folder
    /// when no other run keeps state there).
    pub fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(parent) = self.dir.parent() {
            // Succeeds only when empty: other shards' state stays.
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// "cannot write X: reason" (status 1).
fn cannot(path: &Path, e: &std::io::Error) -> CliError {
    CliError::failure(format!(
        "cannot write \"{}\": {}",
        path.display(),
        io_reason(e)
    ))
}

/// Writes `bytes` to `path` through a temporary file beside it, flushed, then renamed.
///
/// # Errors
/// A write that fails (status 1); the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        cannot(path, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_settings_are_refused_and_overwrite_starts_over() {
        let out = std::env::temp_dir().join(format!("sg-partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let a = BTreeMap::from([("seed".to_string(), "0".to_string())]);
        let b = BTreeMap::from([("seed".to_string(), "1".to_string())]);
        let p = Partial::open(&out, "all", &a, false).unwrap();
        std::fs::write(p.chunk(0), b"x").unwrap();
        // The same settings resume: the chunk is still there.
        let p = Partial::open(&out, "all", &a, false).unwrap();
        assert!(p.chunk(0).exists());
        let e = Partial::open(&out, "all", &b, false).err().unwrap();
        assert_eq!(e.status, 2);
        assert!(e.message.contains("(changed: seed)"), "{}", e.message);
        let p = Partial::open(&out, "all", &b, true).unwrap();
        assert!(!p.chunk(0).exists());
        p.finish();
        assert!(!out.join(".partial").exists());
        std::fs::remove_dir_all(&out).unwrap();
    }
}
