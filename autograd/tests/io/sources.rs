//! Every [`FileError`] built from a real failure keeps its cause: walking
//! [`Error::source`](std::error::Error::source) reaches the OS or parser error.

use std::error::Error;
use std::io::ErrorKind;

use safetensors::SafeTensorError;
use smoothgrad_autograd::io::{self, Access, FileError, TensorFile, Writer};
use smoothgrad_autograd::Tensor;

use super::{hand_file, scratch};

/// The messages of `e` and of each error below it, top first.
fn chain(e: &(dyn Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(e), |&e| e.source())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_missing_file_has_the_os_error_as_its_source() {
    let dir = scratch("sources-missing");
    let path = dir.join("missing.safetensors");
    let e = io::read_file(&path).unwrap_err();
    let FileError::Io {
        access,
        path: named,
        ..
    } = &e
    else {
        panic!("expected an I/O error, found {e:?}")
    };
    assert_eq!((*access, named), (Access::Read, &path));
    let os = e
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(os.kind(), ErrorKind::NotFound);
    assert!(os.source().is_none());
    let messages = chain(&e);
    assert_eq!(messages.len(), 2);
    assert!(
        messages[1].starts_with("No such file or directory"),
        "{messages:?}"
    );
}

#[test]
fn a_failed_write_has_the_os_error_as_its_source() {
    let dir = scratch("sources-write");
    let path = dir.join("no-such-dir").join("x.safetensors");
    let e = Writer::new().write(&path).unwrap_err();
    assert!(
        matches!(
            e,
            FileError::Io {
                access: Access::Write,
                ..
            }
        ),
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
fn a_corrupt_header_has_the_parser_error_as_its_source() {
    let dir = scratch("sources-corrupt");
    let path = dir.join("corrupt.safetensors");
    let header = "not json";
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    std::fs::write(&path, bytes).unwrap();
    let e = io::read_file(&path).unwrap_err();
    let FileError::Invalid { file, .. } = &e else {
        panic!("expected an invalid-file error, found {e:?}")
    };
    assert_eq!(*file, format!("\"{}\"", path.display()));
    let parser = e.source().unwrap().downcast_ref::<SafeTensorError>();
    assert!(
        matches!(parser, Some(SafeTensorError::InvalidHeaderDeserialization)),
        "{parser:?}"
    );
    assert_eq!(chain(&e).len(), 2);
}

#[test]
fn problems_found_before_the_parser_are_root_causes() {
    // Too short for the header length, and a number larger than the file: this module's own
    // checks, with no error below them.
    let short = TensorFile::from_bytes(vec![1, 2, 3]).unwrap_err();
    assert!(matches!(short, FileError::Invalid { source: None, .. }));
    assert!(short.source().is_none());
    let n = usize::MAX - 4;
    let entry = format!(r#""a":{{"dtype":"U8","shape":[{n}],"data_offsets":[0,{n}]}}"#);
    let huge = TensorFile::from_bytes(hand_file(&entry, &[])).unwrap_err();
    assert!(huge.source().is_none(), "{huge:?}");
    // A wrong name or dtype is a leaf too.
    let mut w = Writer::new();
    w.tensor("x", &Tensor::<f32>::zeros(&[1]));
    let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert!(file.get::<f32>("y").unwrap_err().source().is_none());
    assert!(file.get_i64("x").unwrap_err().source().is_none());
}

#[test]
fn errors_are_send_sync_clone_and_compare_by_kind_and_message() {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    let dir = scratch("sources-eq");
    let e = io::read_file(dir.join("a")).unwrap_err();
    send_sync(&e);
    assert_eq!(e.clone(), e);
    assert_ne!(e, io::read_file(dir.join("b")).unwrap_err());
    let boxed: Box<dyn Error + Send + Sync> = Box::new(e);
    assert!(boxed.source().is_some());
}
