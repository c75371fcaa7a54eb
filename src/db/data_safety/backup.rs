//! The backup manifest's view of the database: migrations, per-tenant row counts and audit
//! chain heads; the server's version and an exported snapshot for `pg_dump`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub migrations: Vec<String>,
    /// tenant id -> table -> rows.
    pub row_counts: BTreeMap<String, BTreeMap<String, i64>>,
    /// tenant id -> (last sequence number, last hash) of its audit chain.
    pub audit_heads: BTreeMap<String, (i64, String)>,
}

/// What the database holds now, as a manifest.
pub fn describe(conn: &mut PgConnection) -> Result<Manifest, String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        tenant: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Head {
        #[diesel(sql_type = Text)]
        tenant: String,
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Text)]
        hash: String,
    }
    let e = |e: diesel::result::Error| e.to_string();
    let migrations: Vec<Name> =
        diesel::sql_query("SELECT version AS name FROM __diesel_schema_migrations ORDER BY version")
            .load(conn)
            .map_err(e)?;
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT c.table_name AS name FROM information_schema.columns c JOIN information_schema.tables t \
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' \
         WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' ORDER BY 1",
    )
    .load(conn)
    .map_err(e)?;
    let mut row_counts: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for t in &tables {
        let counts: Vec<Count> = diesel::sql_query(format!(
            "SELECT tenant_id::text AS tenant, count(*) AS n FROM \"{}\" GROUP BY tenant_id",
            t.name.replace('"', "")
        ))
        .load(conn)
        .map_err(e)?;
        for c in counts {
            row_counts.entry(c.tenant).or_default().insert(t.name.clone(), c.n);
        }
    }
    let heads: Vec<Head> = diesel::sql_query(
        "SELECT tenant_id::text AS tenant, last_seq AS seq, last_hash AS hash FROM audit_chain_heads",
    )
    .load(conn)
    .map_err(e)?;
    Ok(Manifest {
        version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: Utc::now(),
        migrations: migrations.into_iter().map(|m| m.name).collect(),
        row_counts,
        audit_heads: heads.into_iter().map(|h| (h.tenant, (h.seq, h.hash))).collect(),
    })
}

pub fn server_major(conn: &mut PgConnection) -> Option<u32> {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        v: String,
    }
    let v: V = diesel::sql_query("SELECT current_setting('server_version_num') AS v").get_result(conn).ok()?;
    v.v.parse::<u32>().ok().map(|n| n / 10000)
}

/// Exports the transaction's snapshot for `pg_dump --snapshot`.
pub fn export_snapshot(conn: &mut PgConnection) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Snapshot {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result(conn)?;
    Ok(snapshot.id)
}

/// Tables in the public schema (0: an empty database).
pub fn public_table_count(conn: &mut PgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let tables: N =
        diesel::sql_query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")
            .get_result(conn)?;
    Ok(tables.n)
}
