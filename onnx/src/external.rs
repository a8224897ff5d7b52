//! External data: tensor bytes in a file next to the model (`location`, `offset`, `length` in
//! `TensorProto.external_data`). The location must stay inside the model's folder: absolute
//! paths, `..` components and symlinks that lead outside are refused.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use crate::error::{OnnxError, Result};
use crate::proto::TensorProto;

/// The bytes of `t`'s external data under `dir`; `expected` is the byte count its dimensions
/// and type need (`None` if that overflows).
///
/// # Errors
/// [`OnnxError::ExternalData`] for a missing or escaping location, a range beyond the file, or
/// a length that disagrees with the tensor's dimensions.
pub fn read(t: &TensorProto, dir: &Path, expected: Option<usize>) -> Result<Vec<u8>> {
    let bad = |reason: String| OnnxError::ExternalData {
        name: t.name().to_string(),
        reason,
    };
    let field = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key() == key)
            .map(|e| e.value())
    };
    let location = field("location").ok_or_else(|| bad("no location".into()))?;
    let number = |key: &str| -> Result<Option<u64>> {
        field(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{key} {v:?} is not a number")))
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let length = number("length")?;
    let rel = Path::new(location);
    let escapes = rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if location.is_empty() || escapes {
        return Err(bad(format!(
            "location {location:?} must be a relative path inside the model's folder (no absolute path, no `..`)"
        )));
    }
    let path = dir.join(rel);
    let io = |e: std::io::Error| bad(format!("cannot read {}: {e}", path.display()));
    let root = dir.canonicalize().map_err(io)?;
    let real = path.canonicalize().map_err(io)?;
    if !real.starts_with(&root) {
        return Err(bad(format!(
            "location {location:?} leads outside the model's folder (through a symlink)"
        )));
    }
    let mut file = File::open(&real).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let expected = expected.ok_or_else(|| bad("its dimensions overflow".into()))? as u64;
    if let Some(l) = length {
        if l != expected {
            return Err(bad(format!(
                "length {l} but its dimensions need {expected} bytes"
            )));
        }
    }
    if offset
        .checked_add(expected)
        .is_none_or(|end| end > file_len)
    {
        return Err(bad(format!(
            "bytes {offset}..{} are beyond the end of {} ({file_len} bytes)",
            offset.saturating_add(expected),
            path.display()
        )));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = vec![0u8; expected as usize];
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}
