//! Data access of data safety: data keys, sealed values, key rotations, retention, erasure and
//! the backup manifest, tenant export and import.

pub mod backup;
pub mod erasure;
pub mod keys;
pub mod retention;
pub mod rotation;
pub mod sealed;
pub mod transfer;
