//! Data access of data safety: data keys, sealed values, key rotations, retention, erasure and
//! the backup manifest.

pub mod backup;
pub mod erasure;
pub mod keys;
pub mod retention;
pub mod rotation;
pub mod sealed;
