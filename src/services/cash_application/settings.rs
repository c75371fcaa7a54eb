//! The tenant's cash-application settings (thresholds, tolerances) and FX rates.

use crate::db::audit as audit_db;
use crate::db::cash_application as cash_db;
use crate::domain::auth::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use crate::services::require;
use chrono::{NaiveDate, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct MatchingSettingsView {
    /// Confidence (0..1) at or above which a match is applied without review.
    pub auto_apply_threshold: String,
    /// Short payments within the smaller of these settle the item (bank fee, discount).
    pub tolerance_percent: String,
    pub tolerance_absolute: String,
    /// Accepted deviation of a foreign-currency payment from the rate table.
    pub fx_tolerance_percent: String,
    /// A payment without reference that equals several open items of its (identified) payer
    /// settles the oldest due one automatically; off: it is only proposed.
    pub auto_apply_oldest_first: bool,
    /// Learning from people (docs/cash-application.md): off, runs use no learned fact and
    /// decisions teach nothing.
    #[serde(default = "learning_on")]
    pub learning_enabled: bool,
    /// Confirmations (distinct bank lines) a learned payer IBAN needs before it may apply a
    /// payment without review; at least 1.
    #[serde(default = "one")]
    pub learned_iban_min_confirmations: i32,
    /// The same for a learned payer name.
    #[serde(default = "two")]
    pub learned_name_min_confirmations: i32,
    /// The same for a customer's habit of paying several invoices with one amount.
    #[serde(default = "two")]
    pub learned_combined_min_confirmations: i32,
}

fn learning_on() -> bool {
    true
}

fn one() -> i32 {
    1
}

fn two() -> i32 {
    2
}

pub(super) fn default_settings(tenant_id: Uuid) -> cash_db::Settings {
    cash_db::Settings {
        tenant_id,
        auto_apply_threshold: Decimal::new(900, 3),
        tolerance_percent: Decimal::new(200, 4),
        tolerance_absolute: Decimal::new(25, 0),
        fx_tolerance_percent: Decimal::new(150, 4),
        auto_apply_oldest_first: false,
        updated_at: Utc::now(),
        learning_enabled: true,
        learned_iban_min_confirmations: 1,
        learned_name_min_confirmations: 2,
        learned_combined_min_confirmations: 2,
    }
}

fn settings_view(s: &cash_db::Settings) -> MatchingSettingsView {
    MatchingSettingsView {
        auto_apply_threshold: s.auto_apply_threshold.normalize().to_string(),
        tolerance_percent: s.tolerance_percent.normalize().to_string(),
        tolerance_absolute: s.tolerance_absolute.normalize().to_string(),
        fx_tolerance_percent: s.fx_tolerance_percent.normalize().to_string(),
        auto_apply_oldest_first: s.auto_apply_oldest_first,
        learning_enabled: s.learning_enabled,
        learned_iban_min_confirmations: s.learned_iban_min_confirmations,
        learned_name_min_confirmations: s.learned_name_min_confirmations,
        learned_combined_min_confirmations: s.learned_combined_min_confirmations,
    }
}

pub fn get_settings(conn: &mut PgConnection, principal: &Principal) -> AppResult<MatchingSettingsView> {
    require(principal, Permission::Read)?;
    let s = cash_db::settings(conn, principal.tenant_id)?.unwrap_or_else(|| default_settings(principal.tenant_id));
    Ok(settings_view(&s))
}

pub fn put_settings(
    conn: &mut PgConnection,
    principal: &Principal,
    input: MatchingSettingsView,
) -> AppResult<MatchingSettingsView> {
    require(principal, Permission::Admin)?;
    let dec = |field: &str, v: &str, max: Option<Decimal>| -> AppResult<Decimal> {
        let d: Decimal = v.trim().parse().map_err(|_| AppError::invalid(field, format!("{v:?} is not a decimal")))?;
        if d.is_sign_negative() || max.is_some_and(|m| d > m) {
            return Err(AppError::invalid(field, "out of range"));
        }
        Ok(d)
    };
    let before = cash_db::settings(conn, principal.tenant_id)?.map(|s| settings_view(&s));
    let s = cash_db::Settings {
        tenant_id: principal.tenant_id,
        auto_apply_threshold: dec("auto_apply_threshold", &input.auto_apply_threshold, Some(Decimal::ONE))?,
        tolerance_percent: dec("tolerance_percent", &input.tolerance_percent, Some(Decimal::ONE))?,
        tolerance_absolute: dec("tolerance_absolute", &input.tolerance_absolute, None)?,
        fx_tolerance_percent: dec("fx_tolerance_percent", &input.fx_tolerance_percent, Some(Decimal::ONE))?,
        auto_apply_oldest_first: input.auto_apply_oldest_first,
        updated_at: Utc::now(),
        learning_enabled: input.learning_enabled,
        learned_iban_min_confirmations: at_least_one(
            "learned_iban_min_confirmations",
            input.learned_iban_min_confirmations,
        )?,
        learned_name_min_confirmations: at_least_one(
            "learned_name_min_confirmations",
            input.learned_name_min_confirmations,
        )?,
        learned_combined_min_confirmations: at_least_one(
            "learned_combined_min_confirmations",
            input.learned_combined_min_confirmations,
        )?,
    };
    cash_db::save_settings(conn, &s)?;
    let view = settings_view(&s);
    let mut e = entry(principal, "matching_settings.updated", "matching_settings", &principal.tenant_id.to_string());
    e.before = before.and_then(|b| serde_json::to_value(b).ok());
    e.after = serde_json::to_value(&view).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

fn at_least_one(field: &str, n: i32) -> AppResult<i32> {
    if n < 1 {
        return Err(AppError::invalid(field, "must be at least 1"));
    }
    Ok(n)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct FxRateInput {
    pub from_currency: String,
    pub to_currency: String,
    /// Decimal string: units of `to_currency` for one unit of `from_currency`.
    pub rate: String,
    pub valid_on: NaiveDate,
}

pub fn put_rates(
    conn: &mut PgConnection,
    principal: &Principal,
    input: Vec<FxRateInput>,
) -> AppResult<Vec<FxRateInput>> {
    require(principal, Permission::WriteLedger)?;
    let mut rows = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let cur = |f: &str, c: &str| {
            crate::domain::money::Currency::parse(c)
                .map(|c| c.code().to_string())
                .map_err(|e| AppError::invalid(&format!("[{i}].{f}"), e.to_string()))
        };
        let rate: Decimal =
            r.rate.trim().parse().map_err(|_| AppError::invalid(&format!("[{i}].rate"), "not a decimal"))?;
        if rate <= Decimal::ZERO {
            return Err(AppError::invalid(&format!("[{i}].rate"), "must be positive"));
        }
        rows.push(cash_db::FxRate {
            tenant_id: principal.tenant_id,
            from_currency: cur("from_currency", &r.from_currency)?,
            to_currency: cur("to_currency", &r.to_currency)?,
            valid_on: r.valid_on,
            rate,
        });
    }
    cash_db::upsert_rates(conn, &rows)?;
    let mut e = entry(principal, "fx_rates.updated", "fx_rates", &principal.tenant_id.to_string());
    e.after = serde_json::to_value(&input).ok();
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    list_rates(conn, principal)
}

pub fn list_rates(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<FxRateInput>> {
    require(principal, Permission::Read)?;
    Ok(cash_db::rates(conn, principal.tenant_id)?
        .into_iter()
        .map(|r| FxRateInput {
            from_currency: r.from_currency,
            to_currency: r.to_currency,
            rate: r.rate.normalize().to_string(),
            valid_on: r.valid_on,
        })
        .collect())
}
