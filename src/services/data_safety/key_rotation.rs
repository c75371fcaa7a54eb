//! `duizhang rotate-keys`: every tenant's data keys re-wrapped by the current master key and,
//! with `--data-keys`, a new data key per tenant that re-seals every value. Online: batches of
//! rows, each its own short transaction taking only rows nobody holds (SKIP LOCKED), while
//! instances keep serving (they open both old and new forms). Resumable: the rotation and its
//! position are a row of `key_rotations`; a crashed rotation continues where it stopped the
//! next time the command runs.

use super::keyring::Keyring;
use super::sealing::{self, Target};
use crate::db::data_safety::rotation::{self as rotation_db, Rotation};
use crate::domain::envelope::Key;
use crate::error::{AppError, AppResult};
use diesel::{Connection, PgConnection};
use serde::Serialize;
use uuid::Uuid;

/// Data keys re-wrapped per batch.
const WRAP_BATCH: i64 = 100;

#[derive(Debug, Clone, Default)]
pub struct RotationOptions {
    /// Also a new data key per tenant, and every sealed value re-sealed with it.
    pub rotate_data_keys: bool,
    /// Stop (as if the process died) after this many batches: how tests interrupt a rotation.
    pub stop_after_batches: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    pub rotation_id: Uuid,
    /// True when an interrupted rotation was continued.
    pub resumed: bool,
    pub master_key_id: String,
    pub rotate_data_keys: bool,
    /// Batches done over the rotation's whole life, and in this run.
    pub batches: i32,
    pub batches_this_run: u32,
    pub rows: i64,
    pub finished: bool,
    /// Sealed values opened after the rotation finished (every one must open).
    pub values_checked: Option<u64>,
}

/// Starts a rotation (or continues the unfinished one) and runs it to the end, or until
/// `stop_after_batches`.
pub fn rotate(conn: &mut PgConnection, keyring: &Keyring, options: &RotationOptions) -> AppResult<RotationReport> {
    let (mut rotation, resumed) = start_or_resume(conn, keyring, options)?;
    let master = keyring.master(&rotation.master_key_id).expect("checked above");
    let mut this_run = 0u32;
    let stop = |n: u32| options.stop_after_batches.is_some_and(|max| n >= max);
    loop {
        if stop(this_run) {
            return Ok(report(&rotation, resumed, this_run, false, None));
        }
        let progressed = conn.transaction(|conn| -> AppResult<bool> {
            let (rows, next_phase, cursor) = match rotation.phase.as_str() {
                "wrap" => {
                    let n = rewrap_batch(conn, keyring, &master)?;
                    let next = if n > 0 {
                        "wrap"
                    } else if rotation.rotate_data_keys {
                        "new_data_keys"
                    } else {
                        "done"
                    };
                    (n, next, None)
                }
                "new_data_keys" => {
                    let n = new_data_keys_batch(conn, keyring, &master, rotation.started_at)?;
                    (n, if n > 0 { "new_data_keys" } else { "reseal" }, None)
                }
                // Passes over every sealed value until one pass finds nothing left to re-seal: a
                // row a request held (skipped) or wrote with the old key meanwhile is caught by
                // the next pass.
                "reseal" => reseal_step(conn, keyring, rotation.cursor.as_deref())?,
                _ => return Ok(false),
            };
            rotation.batches += 1;
            rotation.rows_done += rows as i64;
            rotation.phase = next_phase.to_string();
            rotation.cursor = cursor;
            rotation_db::save(conn, &rotation, false)?;
            Ok(true)
        })?;
        if !progressed {
            break;
        }
        this_run += 1;
    }
    let checked = check_all_open(conn, keyring)?;
    rotation_db::save(conn, &rotation, true)?;
    retire_unused_masters(conn, keyring)?;
    Ok(report(&rotation, resumed, this_run, true, Some(checked)))
}

/// The unfinished rotation (resumed: true) or a new one to the current master key.
fn start_or_resume(
    conn: &mut PgConnection,
    keyring: &Keyring,
    options: &RotationOptions,
) -> AppResult<(Rotation, bool)> {
    match rotation_db::unfinished(conn)? {
        Some(r) => {
            if keyring.master(&r.master_key_id).is_none() {
                return Err(AppError::internal(format!(
                    "the interrupted rotation wraps with master key {}, which is not configured",
                    r.master_key_id
                )));
            }
            Ok((r, true))
        }
        None => {
            // With a key file: a new master key goes first in it (the old ones stay until no data
            // key is wrapped by them). With keys from the environment the operator put the new
            // key first there; everything is re-wrapped to it.
            if keyring.key_file().is_some() {
                keyring.promote(Key::generate()).map_err(AppError::internal)?;
            }
            let master = keyring.current_master();
            let id = Uuid::now_v7();
            rotation_db::insert(conn, id, options.rotate_data_keys, &master.id())?;
            Ok((rotation_db::unfinished(conn)?.ok_or_else(|| AppError::internal("rotation row vanished"))?, false))
        }
    }
}

/// One batch of the reseal phase: the rows re-sealed, the next phase and the cursor to resume at.
fn reseal_step(
    conn: &mut PgConnection,
    keyring: &Keyring,
    cursor: Option<&str>,
) -> AppResult<(u64, &'static str, Option<String>)> {
    let (resume, changed) = match cursor.and_then(parse_cursor) {
        Some((table, id, changed)) => (Some((table, id)), changed),
        None => (None, 0),
    };
    let out =
        sealing::reseal_batch(conn, keyring, &Target::NotNewest, resume.as_ref().map(|(t, id)| (t.as_str(), *id)))?;
    let changed = changed + out.rows;
    Ok(match out.last {
        Some((table, id)) => (out.rows, "reseal", Some(format!("{table}:{id}:{changed}"))),
        None if changed > 0 => (out.rows, "reseal", None),
        None => (out.rows, "done", None),
    })
}

fn report(r: &Rotation, resumed: bool, this_run: u32, finished: bool, checked: Option<u64>) -> RotationReport {
    RotationReport {
        rotation_id: r.id,
        resumed,
        master_key_id: r.master_key_id.clone(),
        rotate_data_keys: r.rotate_data_keys,
        batches: r.batches,
        batches_this_run: this_run,
        rows: r.rows_done,
        finished,
        values_checked: checked,
    }
}

/// "table:last id:rows changed in this pass".
fn parse_cursor(text: &str) -> Option<(String, Uuid, u64)> {
    let mut parts = text.split(':');
    Some((parts.next()?.to_string(), parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Re-wraps up to [`WRAP_BATCH`] data keys not wrapped by `master`; returns how many.
fn rewrap_batch(conn: &mut PgConnection, keyring: &Keyring, master: &Key) -> AppResult<u64> {
    let rows = rotation_db::lock_not_wrapped_by(conn, &master.id(), WRAP_BATCH)?;
    for row in &rows {
        let old = keyring.master(&row.master_key_id).ok_or_else(|| {
            AppError::internal(format!("data key wrapped by master key {} which is not configured", row.master_key_id))
        })?;
        let data_key = old.unwrap_key(&row.wrapped_key).map_err(AppError::internal)?;
        rotation_db::rewrap(conn, row.tenant_id, row.version, &master.wrap(&data_key), &master.id())?;
    }
    Ok(rows.len() as u64)
}

/// A new data key version for up to [`WRAP_BATCH`] tenants whose newest key is older than the
/// rotation; returns how many.
fn new_data_keys_batch(
    conn: &mut PgConnection,
    keyring: &Keyring,
    master: &Key,
    started_at: chrono::DateTime<chrono::Utc>,
) -> AppResult<u64> {
    let rows = rotation_db::tenants_with_keys_before(conn, started_at, WRAP_BATCH)?;
    for r in &rows {
        let key = Key::generate();
        rotation_db::insert_key_version(conn, r.tenant_id, r.version + 1, &master.wrap(&key), &master.id())?;
        keyring.forget(r.tenant_id);
    }
    Ok(rows.len() as u64)
}

/// Opens every sealed value of every tenant; returns how many. An error names the first one
/// that does not open.
pub fn check_all_open(conn: &mut PgConnection, keyring: &Keyring) -> AppResult<u64> {
    let texts = rotation_db::all_sealed_texts(conn)?;
    let bytes = rotation_db::all_sealed_bytes(conn)?;
    let mut n = 0;
    for t in texts {
        sealing::open_text(keyring, conn, t.tenant_id, &t.value)
            .map_err(|e| AppError::internal(format!("{}: {}", t.what, e.message)))?;
        n += 1;
    }
    for b in bytes {
        sealing::open_bytes(keyring, conn, b.tenant_id, &b.value)
            .map_err(|e| AppError::internal(format!("{}: {}", b.what, e.message)))?;
        n += 1;
    }
    Ok(n)
}

/// Removes from the key file the master keys no data key is wrapped by any more.
fn retire_unused_masters(conn: &mut PgConnection, keyring: &Keyring) -> AppResult<()> {
    let used = rotation_db::used_master_ids(conn)?;
    keyring.retain_masters(|k| used.contains(&k.id())).map_err(AppError::internal)
}
