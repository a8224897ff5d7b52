//! Datasets for `explain --output-dir`: which inputs `--input` names ([`listing`]), each one
//! input ([`items`]), the run's resumable state ([`partial`]), its pictures ([`pictures`]) and
//! its one `.safetensors` file streamed from the chunks ([`assemble`]).

pub mod assemble;
pub mod items;
pub mod listing;
pub mod partial;
pub mod pictures;
