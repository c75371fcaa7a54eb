//! Cursor pagination shared by every list: keyset on the row id (UUIDv7, so time-ordered),
//! never OFFSET, so pages stay fast and stable while rows are added; and the comma-separated
//! filters lists take (`?status=open,sent`).

use crate::error::{AppError, AppResult};
use serde::Serialize;
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Limits above the maximum are capped, not refused: a client asking for "everything" gets the
/// largest page and a cursor.
pub fn effective_limit(requested: Option<i64>, max: i64) -> AppResult<i64> {
    match requested {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(n) if n < 1 => Err(AppError::invalid("limit", "must be at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

pub fn parse_cursor(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| Uuid::parse_str(c).map_err(|_| AppError::invalid("cursor", "not a cursor returned by this API")))
        .transpose()
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says that more exist.
pub fn page<R, T>(mut rows: Vec<R>, limit: i64, id_of: impl Fn(&R) -> Uuid, view: impl Fn(R) -> T) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| id_of(r).to_string()) } else { None };
    Page { items: rows.into_iter().map(view).collect(), next_cursor }
}

/// A comma-separated filter (`open,sent`) read with `parse`; empty or absent: no filter. An
/// unknown word is a 422 on `field` naming the words it may be (`one_of`).
pub fn parse_word_list<T>(
    field: &str,
    text: Option<&str>,
    one_of: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> AppResult<Vec<T>> {
    let words = text.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty());
    words
        .map(|w| {
            parse(w)
                .ok_or_else(|| AppError::invalid(field, format!("unknown {field} {w:?}; one of {}", one_of.join(", "))))
        })
        .collect()
}
