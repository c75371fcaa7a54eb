//! Export of every row of one tenant into a tenant archive (see [`super::tenant_archive`]), read
//! in one repeatable-read snapshot: the tables, the counts and the audit head agree with each
//! other while the service keeps writing. Rows are read through a cursor, a thousand at a time,
//! and written compressed into a file, so memory does not grow with the tenant.

use super::keyring::Keyring;
use super::tenant_archive::{self as archive, FileEntry, Manifest, SealedKind};
use crate::db::data_safety::transfer as db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::envelope::TenantKeys;
use crate::error::{AppError, AppResult};
use diesel::{Connection, PgConnection};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use uuid::Uuid;

const FETCH_ROWS: i64 = 1000;

/// The caller's tenant (admin only) as an archive in a temporary file, removed when dropped.
pub fn export_for(
    conn: &mut PgConnection,
    keyring: &Keyring,
    principal: &Principal,
) -> AppResult<(tempfile::NamedTempFile, Manifest)> {
    crate::services::require(principal, Permission::Admin)?;
    let mut file = super::retention::spool_file().map_err(AppError::internal)?;
    let manifest = export(conn, keyring, principal.tenant_id, file.as_file_mut())?;
    Ok((file, manifest))
}

/// Writes the tenant's archive into `out` (from its start) and returns its manifest.
pub fn export(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
    out: &mut std::fs::File,
) -> AppResult<Manifest> {
    conn.transaction(|conn| crate::services::audit_sealer::seal_tenant(conn, tenant_id))?;
    // Made (on first use) before the read-only snapshot.
    let keys = keyring.tenant(conn, tenant_id)?;
    let manifest = conn.build_transaction().repeatable_read().read_only().run(|conn| {
        check_tables(conn)?;
        write_archive(conn, keyring, &keys, tenant_id, &mut *out)
    })?;
    stamp_digest(out).map_err(AppError::internal)?;
    Ok(manifest)
}

/// The list of exported tables must name every table with a `tenant_id`: a new table that is
/// not listed would silently be missing from every archive.
fn check_tables(conn: &mut PgConnection) -> AppResult<()> {
    let mut missing = Vec::new();
    for table in db::tenant_scoped_tables(conn)? {
        if !archive::TABLES.contains(&table.as_str()) && !archive::NOT_EXPORTED.contains(&table.as_str()) {
            missing.push(table);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::internal(format!("tenant tables missing from the export list: {}", missing.join(", "))))
    }
}

fn write_archive(
    conn: &mut PgConnection,
    keyring: &Keyring,
    keys: &TenantKeys,
    tenant_id: Uuid,
    out: &mut std::fs::File,
) -> AppResult<Manifest> {
    let zip_err = |e: zip::result::ZipError| AppError::internal(format!("writing the archive: {e}"));
    let io_err = |e: std::io::Error| AppError::internal(format!("writing the archive: {e}"));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    let mut zip = zip::ZipWriter::new(&mut *out);
    let mut files = Vec::with_capacity(archive::TABLES.len());
    for table in archive::TABLES {
        let file = archive::file_name(table);
        zip.start_file(file.as_str(), options).map_err(zip_err)?;
        let (rows, sha256) = write_table(conn, keyring, keys, tenant_id, table, &mut zip)?;
        files.push(FileEntry { table: table.to_string(), file, rows, sha256 });
    }
    let tenant = crate::db::tenants::find(conn, tenant_id)?;
    let migrations = db::migrations(conn)?;
    let manifest = Manifest {
        format: archive::FORMAT.into(),
        format_version: archive::FORMAT_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        migrations_version: migrations.last().cloned().unwrap_or_default(),
        migrations,
        created_at: chrono::Utc::now(),
        tenant_id,
        tenant_slug: tenant.slug,
        tenant_name: tenant.name,
        files,
        audit_head: crate::db::audit::chain_head(conn, tenant_id)?,
        sealed_values: "opened".into(),
    };
    zip.start_file(archive::MANIFEST_FILE, options).map_err(zip_err)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest).map_err(AppError::internal)?).map_err(io_err)?;
    zip.set_comment("0".repeat(archive::DIGEST_HEX_LEN)).map_err(zip_err)?;
    zip.finish().map_err(zip_err)?;
    Ok(manifest)
}

/// Writes the tenant's rows of `table` as NDJSON; returns (rows, SHA-256 hex).
fn write_table(
    conn: &mut PgConnection,
    keyring: &Keyring,
    keys: &TenantKeys,
    tenant_id: Uuid,
    table: &str,
    out: &mut impl Write,
) -> AppResult<(i64, String)> {
    let sealed = archive::sealed_columns(table);
    db::open_cursor(conn, table, tenant_id, &sealed, &archive::derived_columns(table))?;
    let mut hasher = Sha256::new();
    let mut rows = 0i64;
    loop {
        let page = db::fetch(conn, FETCH_ROWS)?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let mut line = if sealed.is_empty() { row.rest.clone() } else { opened_line(keyring, keys, table, row)? };
            line.push('\n');
            hasher.update(line.as_bytes());
            out.write_all(line.as_bytes()).map_err(AppError::internal)?;
            rows += 1;
        }
    }
    db::close(conn)?;
    Ok((rows, hex::encode(hasher.finalize())))
}

/// The row with its sealed columns opened: `{"<sealed>": ..., <rest>}`.
fn opened_line(keyring: &Keyring, keys: &TenantKeys, table: &str, row: &db::ExportRow) -> AppResult<String> {
    let mut sealed: serde_json::Map<String, Value> = serde_json::from_str(&row.sealed).map_err(AppError::internal)?;
    for (column, value) in sealed.iter_mut() {
        let kind = archive::sealed_kind(table, column).ok_or_else(|| AppError::internal("unknown sealed column"))?;
        *value = open_value(keyring, keys, kind, value)
            .map_err(|e| AppError::internal(format!("cannot open {table}.{column}: {e}")))?;
    }
    let opened = serde_json::to_string(&sealed).map_err(AppError::internal)?;
    // Both are JSON objects; `rest` always has the row's key columns, so it is never empty.
    Ok(format!("{},{}", &opened[..opened.len() - 1], &row.rest[1..]))
}

fn open_value(keyring: &Keyring, keys: &TenantKeys, kind: SealedKind, value: &Value) -> Result<Value, String> {
    let open_text = |v: &Value| match v {
        Value::String(s) => keys.open_text(s).map(Value::String),
        other => Ok(other.clone()),
    };
    match (kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (SealedKind::Text, v) => open_text(v),
        (SealedKind::TextArray, Value::Array(items)) => items.iter().map(open_text).collect::<Result<_, _>>(),
        (SealedKind::Bytes, Value::String(s)) => {
            let stored = hex::decode(s.trim_start_matches("\\x")).map_err(|e| e.to_string())?;
            let plain = keys.open_bytes(&stored, |s| keyring.open_legacy(s))?;
            Ok(Value::String(format!("\\x{}", hex::encode(plain))))
        }
        (_, other) => Err(format!("unexpected stored value {other}")),
    }
}

/// Puts the SHA-256 of every byte before the zip comment into the comment (written as zeros).
fn stamp_digest(file: &mut std::fs::File) -> std::io::Result<()> {
    let digest = archive_digest(file)?;
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(len - archive::DIGEST_HEX_LEN as u64))?;
    file.write_all(digest.as_bytes())?;
    file.sync_all()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// SHA-256 (hex) of the file without its last [`archive::DIGEST_HEX_LEN`] bytes.
pub fn archive_digest(file: &mut std::fs::File) -> std::io::Result<String> {
    let len = file.seek(SeekFrom::End(0))?;
    let covered = len.checked_sub(archive::DIGEST_HEX_LEN as u64).ok_or(std::io::ErrorKind::UnexpectedEof)?;
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut Read::take(&mut *file, covered), &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
