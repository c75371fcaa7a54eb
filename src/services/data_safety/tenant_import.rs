//! `duizhang tenant import FILE`: a tenant archive (see [`super::tenant_archive`]) into this
//! database as a new tenant with the same id, in one transaction. Before anything is written
//! the archive's digest is checked (any changed byte is refused), then its manifest (format,
//! migrations, every table listed); while the rows go in, each file's SHA-256 and row count are
//! checked against the manifest; at the end the sealed values are sealed with this instance's
//! keys and the audit chain is verified and compared with the manifest's head. Any failure
//! rolls everything back.

use super::keyring::Keyring;
use super::sealing;
use super::tenant_archive::{self as archive, FileEntry, Manifest, SealedKind};
use crate::db::data_safety::transfer as db;
use crate::error::AppError;
use diesel::{Connection, PgConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use uuid::Uuid;

/// Rows per INSERT, and the most JSON text one INSERT carries.
const INSERT_ROWS: usize = 500;
const INSERT_BYTES: usize = 4 * 1024 * 1024;
/// Sealed values re-sealed per page.
const SEAL_PAGE: i64 = 500;
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct ImportOptions {
    /// The slug to give the tenant instead of the archive's (when that one is taken here).
    pub slug: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub tenant_id: Uuid,
    pub slug: String,
    pub rows: BTreeMap<String, i64>,
    pub audit_entries_checked: i64,
    pub values_sealed: u64,
}

/// Why an import was refused, worded for the operator; nothing was written.
#[derive(Debug)]
pub struct Refused(pub String);

impl From<diesel::result::Error> for Refused {
    fn from(e: diesel::result::Error) -> Self {
        Refused(format!("database: {e}"))
    }
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Refused(e.message)
    }
}

fn refused<T>(message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(message.into()))
}

/// Imports the archive at `path`; nothing is written unless everything checks out.
pub fn import(
    conn: &mut PgConnection,
    keyring: &Keyring,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, Refused> {
    let mut file = std::fs::File::open(path).map_err(|e| Refused(format!("{}: {e}", path.display())))?;
    check_digest(&mut file)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| Refused(format!("not a tenant archive: {e}")))?;
    let manifest = read_manifest(&mut zip)?;
    check_manifest(conn, &manifest)?;
    let slug = options.slug.clone().unwrap_or_else(|| manifest.tenant_slug.clone());
    let (id_taken, slug_taken) = db::tenant_exists(conn, manifest.tenant_id, &slug)?;
    if id_taken {
        return refused(format!("tenant {} already exists in this database", manifest.tenant_id));
    }
    if slug_taken {
        return refused(format!("a tenant with the slug {slug:?} exists: give another with --slug"));
    }
    let tenant_id = manifest.tenant_id;
    let result = conn.transaction::<_, Refused, _>(|conn| {
        let rows = insert_all(conn, &mut zip, &manifest, options.slug.as_deref())?;
        let values_sealed = seal_imported(conn, keyring, tenant_id)?;
        let audit_entries_checked = verify_audit(conn, &manifest)?;
        Ok(ImportReport { tenant_id, slug: slug.clone(), rows, audit_entries_checked, values_sealed })
    });
    if result.is_err() {
        // The data key made for it was rolled back with everything else.
        keyring.forget(tenant_id);
    }
    result
}

/// The zip comment must be the SHA-256 of every byte before it.
fn check_digest(file: &mut std::fs::File) -> Result<(), Refused> {
    let io = |e: std::io::Error| Refused(format!("reading the archive: {e}"));
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    if len < archive::DIGEST_HEX_LEN as u64 + 22 {
        return refused("not a tenant archive: too short");
    }
    file.seek(SeekFrom::Start(len - archive::DIGEST_HEX_LEN as u64)).map_err(io)?;
    let mut stored = vec![0u8; archive::DIGEST_HEX_LEN];
    file.read_exact(&mut stored).map_err(io)?;
    let actual = super::tenant_export::archive_digest(file).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    if stored != actual.as_bytes() {
        return refused(format!(
            "the archive is damaged or was changed: its SHA-256 is {actual}, the digest it carries {}",
            String::from_utf8_lossy(&stored)
        ));
    }
    Ok(())
}

fn read_manifest(zip: &mut zip::ZipArchive<std::fs::File>) -> Result<Manifest, Refused> {
    let entry = zip.by_name(archive::MANIFEST_FILE).map_err(|e| Refused(format!("{}: {e}", archive::MANIFEST_FILE)))?;
    let mut text = Vec::new();
    entry
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| Refused(format!("{}: {e}", archive::MANIFEST_FILE)))?;
    serde_json::from_slice(&text).map_err(|e| Refused(format!("{}: {e}", archive::MANIFEST_FILE)))
}

fn check_manifest(conn: &mut PgConnection, m: &Manifest) -> Result<(), Refused> {
    if m.format != archive::FORMAT || m.format_version != archive::FORMAT_VERSION {
        return refused(format!(
            "archive format {} {} is not {} {}",
            m.format,
            m.format_version,
            archive::FORMAT,
            archive::FORMAT_VERSION
        ));
    }
    let here = db::migrations(conn)?;
    if here != m.migrations {
        return refused(format!(
            "the archive was written at migration {}, this database is at {}: import into the same version",
            m.migrations_version,
            here.last().map(String::as_str).unwrap_or("none")
        ));
    }
    let tables: Vec<&str> = m.files.iter().map(|f| f.table.as_str()).collect();
    if tables != archive::TABLES {
        return refused("the manifest does not list the tenant tables of this version");
    }
    if m.files.iter().any(|f| f.file != archive::file_name(&f.table)) {
        return refused("the manifest names an unexpected file");
    }
    Ok(())
}

/// Every table in order (the tenant with `slug` instead of its own, when given); returns the
/// rows per table.
fn insert_all(
    conn: &mut PgConnection,
    zip: &mut zip::ZipArchive<std::fs::File>,
    manifest: &Manifest,
    slug: Option<&str>,
) -> Result<BTreeMap<String, i64>, Refused> {
    let mut rows = BTreeMap::new();
    for entry in &manifest.files {
        let overrides = match slug {
            Some(slug) if entry.table == "tenants" => serde_json::json!({ "slug": slug }).to_string(),
            _ => "{}".to_string(),
        };
        let n = insert_table(conn, zip, entry, &overrides)?;
        // Rows of any other tenant in the file would be missed here.
        let here = db::count_rows(conn, &entry.table, manifest.tenant_id)?;
        if here != entry.rows {
            return refused(format!(
                "{}: {here} rows of tenant {} after the import, the manifest says {}",
                entry.file, manifest.tenant_id, entry.rows
            ));
        }
        rows.insert(entry.table.clone(), n);
    }
    Ok(rows)
}

/// Inserts one file's rows; its SHA-256 and row count must be the manifest's.
fn insert_table(
    conn: &mut PgConnection,
    zip: &mut zip::ZipArchive<std::fs::File>,
    entry: &FileEntry,
    overrides: &str,
) -> Result<i64, Refused> {
    let skip: Vec<&str> = archive::NOT_IMPORTED.iter().filter(|(t, _)| *t == entry.table).map(|(_, c)| *c).collect();
    let columns: Vec<String> =
        db::columns(conn, &entry.table)?.into_iter().filter(|c| !skip.contains(&c.as_str())).collect();
    let file = zip.by_name(&entry.file).map_err(|e| Refused(format!("{}: {e}", entry.file)))?;
    let mut reader = std::io::BufReader::new(file);
    let mut hasher = Sha256::new();
    let (mut rows, mut inserted) = (0i64, 0i64);
    let mut batch = String::from("[");
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| Refused(format!("{}: {e}", entry.file)))?;
        if n > 0 {
            hasher.update(&line);
            let text = std::str::from_utf8(&line).map_err(|_| Refused(format!("{}: not UTF-8", entry.file)))?;
            let Some(text) = text.strip_suffix('\n') else {
                return refused(format!("{}: the last line is cut off", entry.file));
            };
            if batch.len() > 1 {
                batch.push(',');
            }
            batch.push_str(text);
            rows += 1;
        }
        let full = rows - inserted >= INSERT_ROWS as i64 || batch.len() >= INSERT_BYTES;
        if (n == 0 || full) && rows > inserted {
            batch.push(']');
            let done = db::insert_json_rows(conn, &entry.table, &columns, &batch, overrides)
                .map_err(|e| Refused(format!("{}: rows {}..{}: {e}", entry.file, inserted + 1, rows)))?;
            inserted += done as i64;
            batch.truncate(1);
        }
        if n == 0 {
            break;
        }
    }
    let sha256 = hex::encode(hasher.finalize());
    if sha256 != entry.sha256 {
        return refused(format!("{}: SHA-256 {sha256} differs from the manifest's {}", entry.file, entry.sha256));
    }
    if rows != entry.rows || inserted != rows {
        return refused(format!("{}: {rows} rows, the manifest says {}", entry.file, entry.rows));
    }
    Ok(rows)
}

/// Seals the imported (opened) values with this instance's data key for the tenant, and
/// computes the customers' keyed account hashes; returns how many rows changed.
fn seal_imported(conn: &mut PgConnection, keyring: &Keyring, tenant_id: Uuid) -> Result<u64, Refused> {
    let keys = keyring.tenant(conn, tenant_id)?;
    let mut sealed = 0u64;
    // Customers and their contacts follow the tenant's setting and have their own sealing.
    let own_sealing = ["customers", "customer_contacts"];
    for (table, column, kind) in archive::SEALED.iter().filter(|(t, _, _)| !own_sealing.contains(t)) {
        let mut after = Uuid::nil();
        loop {
            let last = match kind {
                SealedKind::Bytes => {
                    let page = db::bytes_values(conn, table, column, tenant_id, after, SEAL_PAGE)?;
                    for v in &page {
                        let plain = v.value.as_deref().unwrap_or_default();
                        crate::db::data_safety::sealed::update_bytes(
                            conn,
                            table,
                            column,
                            (tenant_id, v.id),
                            &keys.seal_bytes(plain),
                        )?;
                    }
                    sealed += page.len() as u64;
                    page.last().map(|v| v.id)
                }
                _ => {
                    let page = db::text_values(conn, table, column, tenant_id, after, SEAL_PAGE)?;
                    for v in &page {
                        db::set_text(conn, table, column, v.id, &keys.seal_text(&v.value))?;
                    }
                    sealed += page.len() as u64;
                    page.last().map(|v| v.id)
                }
            };
            match last {
                Some(id) => after = id,
                None => break,
            }
        }
    }
    let contacts = crate::services::data_safety::sealing::seal_tenant_contacts(conn, keyring, tenant_id)?;
    Ok(sealed + contacts + seal_customers(conn, &keys, tenant_id)?)
}

fn seal_customers(
    conn: &mut PgConnection,
    keys: &crate::domain::envelope::TenantKeys,
    tenant_id: Uuid,
) -> Result<u64, Refused> {
    let encrypt = sealing::encrypts_customer_data(conn, tenant_id)?;
    let mut after = Uuid::nil();
    let mut n = 0u64;
    loop {
        let page = db::customers_page(conn, tenant_id, after, SEAL_PAGE)?;
        let Some(last) = page.last().map(|c| c.id) else { return Ok(n) };
        for mut c in page {
            let hashes = sealing::seal_customer(keys, encrypt, &mut c);
            crate::db::data_safety::sealed::update_customer_sealed(
                conn,
                c.tenant_id,
                c.id,
                &c.bank_accounts,
                &c.email,
                &hashes,
            )?;
            n += 1;
        }
        after = last;
    }
}

/// The imported chain must verify and end at the manifest's head.
fn verify_audit(conn: &mut PgConnection, manifest: &Manifest) -> Result<i64, Refused> {
    let v = crate::services::audit::verify_chain(conn, manifest.tenant_id)?;
    if !v.valid {
        return refused(format!("the audit chain does not verify: first broken entry {:?}", v.first_broken_seq));
    }
    let head = crate::db::audit::chain_head(conn, manifest.tenant_id)?;
    if head != manifest.audit_head {
        return refused(format!("the audit chain ends at {head:?}, the manifest says {:?}", manifest.audit_head));
    }
    Ok(v.entries_checked)
}
