//! Large uploads (bank and statement files): received to memory or, past a threshold, to a temporary file,
//! hashed on the way for idempotency, never held whole in memory.

use super::{declared_length, too_large};
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest};
use sha2::{Digest, Sha256};

/// Bodies up to this size stay in memory; larger ones are spooled to a temporary file as they
/// arrive. Memory per request is bounded by this either way (the spool buffers this much between
/// writes), and most uploads are small: for them a temporary file would only add two hops through
/// the blocking pool and a re-open.
pub const SPOOL_THRESHOLD: usize = 1 << 20;

/// Where a received body is: in memory when small, in a temporary file (deleted when dropped)
/// when large.
pub enum BodyStore {
    Memory(web::Bytes),
    File(tempfile::NamedTempFile),
}

/// A request body received without ever holding a large upload in memory whole.
pub struct SpooledBody {
    pub store: BodyStore,
    pub sha256: [u8; 32],
    pub bytes: u64,
    /// The first 8 KiB, for sniffing the format.
    pub head: Vec<u8>,
}

impl SpooledBody {
    /// The whole body as a statement file: the bytes in memory, or the spooled file (which the
    /// parser may map into memory).
    pub fn statement_input(&self) -> std::io::Result<crate::bank_formats::Input<'_>> {
        Ok(match &self.store {
            BodyStore::Memory(bytes) => crate::bank_formats::Input::Bytes(bytes),
            BodyStore::File(file) => crate::bank_formats::Input::File(file.reopen()?),
        })
    }

    /// A fresh reader over the whole body (call it again to read it again).
    pub fn open(&self) -> std::io::Result<Box<dyn std::io::BufRead + Send>> {
        Ok(match &self.store {
            BodyStore::Memory(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
            BodyStore::File(file) => Box::new(std::io::BufReader::with_capacity(256 * 1024, file.reopen()?)),
        })
    }
}

pub async fn spool_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> AppResult<SpooledBody> {
    use futures_util::StreamExt;
    use std::io::Write;
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // Chunks are gathered into ~1 MiB buffers; once a body outgrows the first one it goes to a
    // temporary file, written on the blocking pool.
    let mut writer: Option<std::io::BufWriter<tempfile::NamedTempFile>> = None;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(8192);
    let mut bytes = 0u64;
    let mut buffer = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(SPOOL_THRESHOLD));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > limit as u64 {
            return Err(too_large(limit));
        }
        if head.len() < 8192 {
            let take = (8192 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= SPOOL_THRESHOLD {
            let full = std::mem::replace(&mut buffer, web::BytesMut::with_capacity(SPOOL_THRESHOLD));
            let current = writer.take();
            writer = Some(
                web::block(move || {
                    let mut w = match current {
                        Some(w) => w,
                        None => std::io::BufWriter::with_capacity(
                            SPOOL_THRESHOLD,
                            crate::services::data_safety::retention::spool_file()?,
                        ),
                    };
                    w.write_all(&full).map(|_| w)
                })
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?,
            );
        }
    }
    let store = match writer {
        None => BodyStore::Memory(buffer.freeze()),
        Some(mut writer) => BodyStore::File(
            web::block(move || {
                writer.write_all(&buffer)?;
                writer.into_inner().map_err(|e| e.into_error())
            })
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?,
        ),
    };
    Ok(SpooledBody { store, sha256: hasher.finalize().into(), bytes, head })
}
