//! Every weights error built from a real failure keeps its cause: walking
//! [`Error::source`](std::error::Error::source) from the [`NnError`] reaches the file layer's
//! [`FileError`] and the OS or parser error below it.

use std::error::Error;
use std::io::ErrorKind;

use super::{scratch, small_model};
use smoothgrad_autograd::io::{Access, FileError};
use smoothgrad_nn::{weights, NnError, Sequential};

/// `e` and each error below it, top first.
fn chain<'a>(e: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&e| e.source()).collect()
}

#[test]
fn a_missing_file_is_an_io_error_with_the_os_error_as_its_source() {
    let dir = scratch("sources-missing");
    let path = dir.join("missing.safetensors");
    let e = weights::load::<Sequential<f32>>(&path).unwrap_err();
    let NnError::Io {
        access,
        path: named,
        ..
    } = &e
    else {
        panic!("expected an I/O error, found {e:?}")
    };
    assert_eq!((*access, named), (Access::Read, &path));
    let errors = chain(&e);
    assert_eq!(errors.len(), 2, "{e:?}");
    let os = errors[1].downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(os.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!(
            "cannot read \"{}\": No such file or directory",
            path.display()
        )
    );
}

#[test]
fn a_failed_save_is_an_io_error_with_the_os_error_as_its_source() {
    let dir = scratch("sources-save");
    let path = dir.join("no-such-dir").join("m.safetensors");
    let e = weights::save(&small_model::<f32>(0, false), &path).unwrap_err();
    assert!(
        matches!(&e, NnError::Io { access: Access::Write, path: p, .. } if *p == path),
        "{e:?}"
    );
    let os = e
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(os.kind(), ErrorKind::NotFound);
}

#[test]
fn a_corrupt_file_wraps_the_file_error_and_the_parser_error() {
    let dir = scratch("sources-corrupt");
    let path = dir.join("corrupt.safetensors");
    let mut bytes = weights::to_bytes(&small_model::<f32>(1, false)).unwrap();
    bytes[9] = b'!'; // inside the JSON header
    std::fs::write(&path, &bytes).unwrap();
    let mut model: Sequential<f32> = small_model(2, false);
    let e = weights::load_into(&mut model, &path).unwrap_err();
    assert!(matches!(e, NnError::Weights { .. }), "{e:?}");
    let errors = chain(&e);
    assert_eq!(errors.len(), 3, "{e:?}");
    let file = errors[1].downcast_ref::<FileError>().unwrap();
    assert!(matches!(file, FileError::Invalid { .. }), "{file:?}");
    assert_eq!(e.to_string(), format!("weights: {file}"));
    assert!(
        file.to_string().starts_with(&format!(
            "\"{}\" is not a valid safetensors file: ",
            path.display()
        )),
        "{file}"
    );
    // The parser's own error is the root cause.
    assert!(errors[2].source().is_none());
}

#[test]
fn a_file_that_does_not_match_the_model_is_a_root_cause() {
    let bytes = weights::to_bytes(&small_model::<f32>(3, false)).unwrap();
    let mut other = small_model::<f32>(4, true);
    let e = weights::load_into_bytes(&mut other, &bytes).unwrap_err();
    assert!(matches!(e, NnError::Weights { source: None, .. }), "{e:?}");
    assert!(e.source().is_none());
    assert!(e
        .to_string()
        .starts_with("weights: the data does not match the model: "));
}

#[test]
fn errors_clone_and_compare_by_kind_and_message() {
    let dir = scratch("sources-eq");
    let e = weights::load::<Sequential<f32>>(dir.join("a")).unwrap_err();
    assert_eq!(e.clone(), e);
    assert_ne!(
        e,
        weights::load::<Sequential<f32>>(dir.join("b")).unwrap_err()
    );
    let boxed: Box<dyn Error + Send + Sync> = Box::new(e);
    assert!(boxed.source().is_some());
}
