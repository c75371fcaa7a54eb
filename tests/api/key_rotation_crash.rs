//! `duizhang rotate-keys --data-keys` killed with SIGKILL in the middle of re-sealing, then run
//! again: it continues the same rotation, and afterwards every sealed value opens with the keys
//! of the key file (nothing was sealed with a key that got lost).

use crate::helpers::TestDatabase;
use diesel::RunQueryDsl;
use duizhang::services::data_safety::{key_rotation, sealing, Keyring};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_duizhang");
const CUSTOMERS: i64 = 3000;

#[derive(diesel::QueryableByName)]
struct Progress {
    #[diesel(sql_type = diesel::sql_types::Text)]
    phase: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    batches: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    finished: bool,
}

fn progress(conn: &mut diesel::PgConnection) -> Option<Progress> {
    diesel::sql_query(
        "SELECT phase, batches, finished_at IS NOT NULL AS finished FROM key_rotations ORDER BY started_at DESC LIMIT 1",
    )
    .get_result(conn)
    .ok()
}

fn rotate_keys(db: &TestDatabase, data_dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["rotate-keys", "--data-keys"])
        .env("DATABASE_URL", &db.url)
        .env_remove("DUIZHANG_CONNECTOR_KEY")
        .env("DUIZHANG_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

#[test]
fn rotate_keys_killed_mid_way_continues_and_every_secret_still_opens() {
    let db = TestDatabase::create();
    let data = tempfile::tempdir().unwrap();
    let mut conn = db.connect();
    let tenant = duizhang::services::tenants::create(&mut conn, "Crash Test", "EUR").unwrap().tenant_id;
    diesel::sql_query(format!(
        "INSERT INTO customers (id, tenant_id, code, name, bank_accounts, email) \
         SELECT gen_random_uuid(), '{tenant}', 'K' || g, 'Customer ' || g, ARRAY['DE' || lpad(g::text, 20, '0')], \
                'ap' || g || '@example.com' FROM generate_series(1, {CUSTOMERS}) g"
    ))
    .execute(&mut conn)
    .unwrap();
    let keys = Keyring::load(None, data.path()).unwrap();
    assert!(sealing::seal_existing(&mut conn, &keys).unwrap() >= CUSTOMERS as u64);
    drop(keys);

    let mut child = rotate_keys(&db, data.path()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if progress(&mut conn).is_some_and(|p| p.phase == "reseal" && p.batches >= 4) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "rotate-keys ended before it was killed: add rows");
        assert!(Instant::now() < deadline, "the rotation did not reach the re-seal phase");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL: no clean-up of any kind.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = progress(&mut conn).unwrap();
    assert!(!killed.finished, "the rotation finished before the kill: the test proves nothing");
    let half = key_rotation::check_all_open(&mut conn, &Keyring::load(None, data.path()).unwrap());
    assert!(half.is_ok(), "mid-way, every value opens with the key file's keys: {half:?}");

    let out = rotate_keys(&db, data.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resumed"], true, "{report}");
    assert_eq!(report["finished"], true, "{report}");
    assert!(report["batches"].as_i64().unwrap() > killed.batches as i64, "{report}");

    let fresh = Keyring::load(None, data.path()).unwrap();
    assert_eq!(fresh.masters().len(), 1, "the old master key left the key file");
    let opened = key_rotation::check_all_open(&mut conn, &fresh).unwrap();
    assert!(opened >= CUSTOMERS as u64, "{opened}");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let stale: N = diesel::sql_query(
        "SELECT count(*) AS n FROM customers WHERE email NOT LIKE 'dz1:2:%' \
         OR EXISTS (SELECT 1 FROM unnest(bank_accounts) a WHERE a NOT LIKE 'dz1:2:%')",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(stale.n, 0, "every value re-sealed with the new data key");
    let tenant_keys = fresh.tenant(&mut conn, tenant).unwrap();
    let c: Vec<Email> =
        diesel::sql_query("SELECT email AS v FROM customers WHERE code = 'K2345'").load(&mut conn).unwrap();
    assert_eq!(tenant_keys.open_text(&c[0].v).unwrap(), "ap2345@example.com");
}

#[derive(diesel::QueryableByName)]
struct Email {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}
