//! The run's `.safetensors` file, written from the chunk files one tensor at a time, so memory
//! holds one chunk, never the dataset.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
//! dtype, shape and byte range in the data; string metadata under `"__metadata__"`), padded
//! with spaces to a multiple of 8 bytes, then the tensors' bytes back to back. The header is
//! known before any data (shapes are known), so the data streams straight from the chunks.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{CliError, Result};

/// One tensor of the file: its name, safetensors dtype ("F32", "I64"), full shape, and bytes
/// per element.
pub struct Column {
    /// The tensor's name.
    pub name: &'static str,
    /// The safetensors dtype.
    pub dtype: &'static str,
    /// The full shape, `[N, ...]`.
    pub shape: Vec<usize>,
    /// Bytes per element.
    pub width: usize,
}

impl Column {
    /// The tensor's size in bytes.
    fn bytes(&self) -> usize {
        self.shape.iter().product::<usize>() * self.width
    }
}

/// Writes `columns` and `metadata` to `path` atomically (a temporary file beside it, flushed,
/// then renamed), `fill(k, out)` writing column `k`'s bytes, which must be exactly its size.
///
/// # Errors
/// A write that fails (status 1), or `fill`'s error; no file is left at `path` either way.
pub fn write_streamed(
    path: &Path,
    columns: &[Column],
    metadata: &BTreeMap<String, String>,
    mut fill: impl FnMut(usize, &mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), json!(metadata));
    }
    let mut offset = 0;
    for c in columns {
        header.insert(
            c.name.into(),
            json!({"dtype": c.dtype, "shape": c.shape, "data_offsets": [offset, offset + c.bytes()]}),
        );
        offset += c.bytes();
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    text.resize(text.len().div_ceil(8) * 8, b' ');
    let tmp = path.with_extension("safetensors.tmp");
    let failed = |e: std::io::Error| {
        CliError::failure(format!(
            "cannot write \"{}\": {}",
            path.display(),
            crate::error::io_reason(&e)
        ))
    };
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp).map_err(failed)?);
        out.write_all(&(text.len() as u64).to_le_bytes())
            .and_then(|()| out.write_all(&text))
            .map_err(failed)?;
        for (k, c) in columns.iter().enumerate() {
            let mut counted = Counter {
                inner: &mut out,
                written: 0,
            };
            fill(k, &mut counted)?;
            assert_eq!(counted.written, c.bytes(), "column {} has its size", c.name);
        }
        let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&tmp, path).map_err(failed)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A writer that counts the bytes through it.
struct Counter<'a, W: Write> {
    inner: &'a mut W,
    written: usize,
}

impl<W: Write> Write for Counter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoothgrad_autograd::io::read_file;

    #[test]
    fn a_streamed_file_reads_back() {
        let path =
            std::env::temp_dir().join(format!("sg-assemble-{}.safetensors", std::process::id()));
        let columns = [
            Column {
                name: "input",
                dtype: "F32",
                shape: vec![3, 2],
                width: 4,
            },
            Column {
                name: "target",
                dtype: "I64",
                shape: vec![3],
                width: 8,
            },
        ];
        let meta = BTreeMap::from([("files".to_string(), "[\"a\"]".to_string())]);
        write_streamed(&path, &columns, &meta, |k, out| {
            let io = |e: std::io::Error| CliError::failure(e.to_string());
            if k == 0 {
                for v in 0..6 {
                    out.write_all(&(v as f32).to_le_bytes()).map_err(io)?;
                }
            } else {
                for v in [4i64, 5, 6] {
                    out.write_all(&v.to_le_bytes()).map_err(io)?;
                }
            }
            Ok(())
        })
        .unwrap();
        let file = read_file(&path).unwrap();
        let x: smoothgrad_autograd::Tensor<f32> = file.get("input").unwrap();
        assert_eq!(x.data(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(file.get_i64("target").unwrap(), (vec![4, 5, 6], vec![3]));
        assert_eq!(file.metadata()["files"], "[\"a\"]");
        std::fs::remove_file(&path).unwrap();
    }
}
