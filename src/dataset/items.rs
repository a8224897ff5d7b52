//! A dataset's inputs, one [`Item`] each: an image file, or one row of a `.safetensors` file
//! (tensor "input" `[N, ...]`, optional "target"). Each is loaded alone, by the command's usual
//! loader ([`crate::inputs::load_inputs`]), so a file that cannot be read costs only itself.

use std::path::{Path, PathBuf};

use smoothgrad_autograd::{io, Scalar};

use super::listing::{key, Source};
use crate::files::is_safetensors;
use crate::inputs::{self, Inputs, INPUT_TENSOR};

/// One input of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The file.
    pub path: Box<Path>,
    /// Its identity: the file's name below its root, with "#row" for a tensor file's row.
    pub name: Box<str>,
    /// The row of a tensor file (`None`: an image).
    pub row: Option<usize>,
    /// Why it cannot be explained, if known before loading (an unreadable tensor file).
    pub broken: Option<Box<str>>,
}

impl Item {
    /// The noise stream key of this input ([`key`] of its name).
    pub fn key(&self) -> u64 {
        key(&self.name)
    }

    /// The picture's path below the output folder: the name with ".png" appended ("#" becomes
    /// "-": `x.safetensors#3` gives `x.safetensors-3.png`).
    pub fn picture(&self) -> String {
        format!("{}.png", self.name.replace('#', "-"))
    }

    /// The picture of class `class` when several are explained per input:
    /// `x.png` gives `x.png.class-7.png`.
    pub fn picture_of(&self, class: usize) -> String {
        format!("{}.class-{class}.png", self.name.replace('#', "-"))
    }
}

/// The items of `sources`: an image each, a tensor file's rows (read to count them; one that
/// cannot be read is one broken item).
pub fn expand(sources: Vec<Source>) -> Vec<Item> {
    let mut items = Vec::with_capacity(sources.len());
    for s in sources {
        if !is_safetensors(&s.path) {
            items.push(Item {
                path: s.path.into_boxed_path(),
                name: s.name.into_boxed_str(),
                row: None,
                broken: None,
            });
            continue;
        }
        let rows = io::read_file(&s.path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                f.shape(INPUT_TENSOR)
                    .map(|shape| shape.first().copied().unwrap_or(0))
                    .map_err(|e| e.to_string())
            });
        match rows {
            Ok(n) => items.extend((0..n).map(|r| Item {
                path: s.path.clone().into_boxed_path(),
                name: format!("{}#{r}", s.name).into_boxed_str(),
                row: Some(r),
                broken: None,
            })),
            Err(reason) => items.push(Item {
                path: s.path.into_boxed_path(),
                name: s.name.into_boxed_str(),
                row: None,
                broken: Some(reason.into()),
            }),
        }
    }
    items
}

/// One loaded input: its values `[...]` (no batch axis) in the run's precision `T`, shape,
/// and class from its file.
pub struct Loaded<T: Scalar = f32> {
    /// The values.
    pub data: Vec<T>,
    /// The shape of one input (`[C, H, W]` for images).
    pub shape: Vec<usize>,
    /// The class from a tensor file's "target", which overrides `--target`.
    pub target: Option<usize>,
}

/// Loads items, keeping the last tensor file read so its rows are not read again.
pub struct Loader<T: Scalar = f32> {
    cached: Option<(PathBuf, Inputs<T>)>,
}

impl<T: Scalar> Default for Loader<T> {
    /// Nothing cached.
    fn default() -> Self {
        Loader { cached: None }
    }
}

impl<T: Scalar> Loader<T> {
    /// Loads `item`, images preprocessed by `preprocess` into the channels `model` takes; the
    /// reason it cannot be, as one line.
    pub fn load(
        &mut self,
        item: &Item,
        preprocess: &crate::preprocess::Preprocess,
        model: &(impl inputs::ImageChannels + ?Sized),
    ) -> Result<Loaded<T>, String> {
        if let Some(reason) = &item.broken {
            return Err(reason.to_string());
        }
        let path = item.path.to_path_buf();
        let Some(row) = item.row else {
            let one = inputs::load_inputs(std::slice::from_ref(&path), preprocess, model)
                .map_err(|e| e.to_string())?;
            return Ok(Loaded {
                shape: one.tensor.shape()[1..].to_vec(),
                data: one.tensor.data().to_vec(),
                target: None,
            });
        };
        if self.cached.as_ref().map(|(p, _)| p) != Some(&path) {
            self.cached = None;
            let all = inputs::load_inputs(std::slice::from_ref(&path), preprocess, model)
                .map_err(|e| e.to_string())?;
            self.cached = Some((path, all));
        }
        let (_, all) = self.cached.as_ref().expect("just loaded");
        let shape = all.tensor.shape()[1..].to_vec();
        let len: usize = shape.iter().product();
        Ok(Loaded {
            data: all.tensor.data()[row * len..(row + 1) * len].to_vec(),
            shape,
            target: all.targets.as_ref().map(|t| t[row]),
        })
    }
}
