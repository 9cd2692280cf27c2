//! Library errors as exceptions of the `barstore._errors` family.

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

/// The Python exception for a library error: the class of its error type (and of its
/// kind: input, connection, schema) from `barstore._errors`, with `retryable` set: true
/// when running the same call again may succeed (a timeout, an unreachable cluster).
pub(crate) fn to_py(e: impl Into<barstore::Error>) -> PyErr {
    use barstore::{Error as E, FileError, OpenError, StoreError};
    let e = e.into();
    let store_kind = |s: &StoreError| match s {
        StoreError::Cql { .. } | StoreError::Busy { .. } => "Connection",
        StoreError::Schema { .. }
        | StoreError::Unexpected { .. }
        | StoreError::Unreadable { .. } => "Schema",
        _ => "",
    };
    let class = match &e {
        E::Cancelled => return PyKeyboardInterrupt::new_err(e.to_string()),
        E::Option(_) => "OptionError".to_string(),
        E::Read(_) => "ReadError".to_string(),
        E::Open(OpenError::Connect { .. }) => "_OpenConnection".to_string(),
        E::Open(_) => "_OpenInput".to_string(),
        E::File(FileError::Store { source, .. }) => match store_kind(source) {
            "" => "FileError".to_string(),
            kind => format!("_File{kind}"),
        },
        E::File(_) => "_FileInput".to_string(),
        E::Store(s) => match store_kind(s) {
            "" => "StoreError".to_string(),
            kind => format!("_Store{kind}"),
        },
        _ => "InputError".to_string(),
    };
    Python::attach(|py| {
        let made = py
            .import("barstore._errors")
            .and_then(|m| m.getattr(class.as_str()))
            .and_then(|c| c.call1((e.to_string(),)));
        match made {
            Ok(value) => {
                // a fresh exception object takes any attribute
                let _ = value.setattr("retryable", e.is_retryable());
                PyErr::from_value(value)
            }
            Err(lost) => lost,
        }
    })
}
