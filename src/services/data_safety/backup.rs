//! `duizhang backup --out FILE` and `duizhang restore FILE`: PostgreSQL's own `pg_dump` (custom
//! format) and `pg_restore`, wrapped in one file with a manifest: the version, the migrations
//! applied, the time, per tenant the row count of every tenant table and the head of its audit
//! chain. A restore checks the restored database against the manifest and refuses one that
//! differs.
//!
//! File layout: the line `DUIZHANG-BACKUP 1`, a line with the manifest's length in bytes, the
//! manifest (JSON), then the `pg_dump` archive.

use crate::db::pg_tools;
use diesel::{Connection, PgConnection};
use std::io::{BufRead, Read, Write};
use std::path::Path;

const MAGIC: &str = "DUIZHANG-BACKUP 1";

enum TxError {
    Db(diesel::result::Error),
    Other(String),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

pub use crate::db::data_safety::backup::{describe, Manifest};
use crate::db::data_safety::backup::{export_snapshot, public_table_count, server_major};

/// Writes a backup of the database at `url` to `out`, online: the manifest and the dump read
/// one snapshot (a repeatable-read transaction exports it to `pg_dump`), so they agree while
/// the service keeps writing.
pub fn backup(url: &str, out: &Path) -> Result<Manifest, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    crate::services::audit_sealer::seal_everything(&mut conn).map_err(|e| e.message)?;
    let major = server_major(&mut conn);
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dump = tempfile::Builder::new().prefix(".duizhang-dump-").tempfile_in(dir).map_err(|e| e.to_string())?;
    let manifest = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| -> Result<Manifest, TxError> {
            let snapshot = export_snapshot(conn)?;
            let manifest = describe(conn).map_err(TxError::Other)?;
            pg_tools::dump(url, major, Some(&snapshot), dump.path()).map_err(TxError::Other)?;
            Ok(manifest)
        })
        .map_err(|e| match e {
            TxError::Db(e) => e.to_string(),
            TxError::Other(e) => e,
        })?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let tmp = tempfile::Builder::new().prefix(".duizhang-backup-").tempfile_in(dir).map_err(|e| e.to_string())?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file());
        write!(w, "{MAGIC}\n{}\n", json.len()).map_err(|e| e.to_string())?;
        w.write_all(&json).map_err(|e| e.to_string())?;
        std::io::copy(&mut std::fs::File::open(dump.path()).map_err(|e| e.to_string())?, &mut w)
            .map_err(|e| e.to_string())?;
        w.flush().map_err(|e| e.to_string())?;
    }
    tmp.as_file().sync_all().map_err(|e| e.to_string())?;
    tmp.persist(out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(manifest)
}

/// Reads the manifest of a backup file, and copies its archive to `archive_out`.
pub fn read_backup(file: &Path, archive_out: &Path) -> Result<Manifest, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut r = std::io::BufReader::new(f);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.trim_end() != MAGIC {
        return Err(format!("{} is not a duizhang backup", file.display()));
    }
    line.clear();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    let len: usize = line.trim().parse().map_err(|_| "damaged backup header".to_string())?;
    if len > 256 * 1024 * 1024 {
        return Err("damaged backup header".into());
    }
    let mut json = vec![0u8; len];
    r.read_exact(&mut json).map_err(|e| format!("damaged backup: {e}"))?;
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|e| format!("damaged backup manifest: {e}"))?;
    let mut out = std::fs::File::create(archive_out).map_err(|e| e.to_string())?;
    std::io::copy(&mut r, &mut out).map_err(|e| e.to_string())?;
    Ok(manifest)
}

/// Restores a backup into the empty database at `url` and checks it against the manifest.
pub fn restore(file: &Path, url: &str) -> Result<Manifest, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    if public_table_count(&mut conn).map_err(|e| e.to_string())? > 0 {
        return Err("the target database is not empty: restore into a new database (or pass --replace)".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let archive = dir.path().join("dump");
    let manifest = read_backup(file, &archive)?;
    pg_tools::restore(url, server_major(&mut conn), &archive)?;
    let now = describe(&mut conn)?;
    let mut problems = Vec::new();
    if now.migrations != manifest.migrations {
        problems.push("the migrations differ".to_string());
    }
    if now.row_counts != manifest.row_counts {
        for (tenant, tables) in &manifest.row_counts {
            for (table, n) in tables {
                let got = now.row_counts.get(tenant).and_then(|t| t.get(table)).copied().unwrap_or(0);
                if got != *n {
                    problems.push(format!("tenant {tenant}: {table} has {got} rows, the manifest {n}"));
                }
            }
        }
        if problems.is_empty() {
            problems.push("rows the manifest does not list".into());
        }
    }
    if now.audit_heads != manifest.audit_heads {
        problems.push("the audit chain heads differ".into());
    }
    if !problems.is_empty() {
        return Err(format!("the restored database does not match the backup's manifest: {}", problems.join("; ")));
    }
    Ok(manifest)
}
