//! Cash application: deciding which open items each bank line pays. A run (REST
//! `/reconciliations`) is a queued job that a background worker executes; people review its
//! proposals, confirm, reject or allocate by hand; settings and FX rates steer the engine.
//!
//! A run is one transaction: it locks the tenant's matching (an advisory lock shared with the
//! review actions), loads the open book and the unapplied lines, decides every line in memory
//! and writes allocations, write-offs, open amounts and line statuses in bulk. A crash rolls the
//! whole run back and another worker picks it up again.

mod dry_run;
mod execute;
mod learned_facts;
mod learning;
mod loading;
mod manual;
mod review;
mod rules;
mod run;
mod settings;
mod worker;

pub use dry_run::{
    dry_run, DraftRule, DryRunAllocation, DryRunDecisions, DryRunLine, DryRunOutcome, DryRunReport, DryRunRequest,
    DryRunRule, DryRunSummary, MAX_DRY_RUN_LINES,
};
pub use learned_facts::{
    get_learned_fact, list_learned_facts, revoke_learned_fact, LearnedFactDetail, LearnedFactQuery,
    LearnedFactSourceView, LearnedFactView,
};
pub use manual::{allocate_manually, ManualAllocation, ManualAllocationPart};
pub use review::{allocations_csv, confirm, list_allocations, reject, AllocationPage, AllocationQuery, AllocationView};
pub use run::{get_run, start_run, RunRequest, RunView};
pub use settings::{get_settings, list_rates, put_rates, put_settings, FxRateInput, MatchingSettingsView};
pub use worker::{process_next_run, spawn_worker};

use crate::error::AppResult;
use diesel::PgConnection;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Serialises everything that changes open amounts within one tenant (runs and review).
fn lock_tenant_matching(conn: &mut PgConnection, tenant_id: Uuid) -> AppResult<()> {
    Ok(crate::db::lock_tenant(conn, tenant_id, crate::db::TenantLock::Matching)?)
}

/// NUMERIC(20,4) comes back with four decimals: amounts in the currency's own scale.
fn rescale(currency: &str, amount: Decimal) -> Decimal {
    crate::domain::money::Currency::parse(currency).map(|c| c.rescale(amount)).unwrap_or(amount)
}
