//! Customers: master data the ledger and matching hang on, keyed by the tenant's own code.

use super::import::{ImportFormat, ImportReport, ParsedRows, RejectedRow};
use super::import_sheet::{parse_rows, ReadRows};
use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::customers::{self as customers_db, Customer, CustomerFilter};
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::{
    check_country, check_email, check_identifier, check_name, normalize_account, CustomerStatus,
};
use crate::domain::import_mapping::ImportMapping;
use crate::domain::money::{format_amount, Currency};
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use crate::services::data_safety::sealing::{store_account_hashes_many, CustomerSealer};
use crate::services::data_safety::Keyring;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

pub use super::customer_balance::{balance, CurrencyBalance, CustomerBalance};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The tenant's own customer number, unique per tenant.
    pub code: String,
    pub name: String,
    /// Other names the customer pays under (trading names, local-script names).
    #[serde(default)]
    #[graphql(default)]
    pub aliases: Vec<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// IBANs or account numbers the customer pays from.
    #[serde(default)]
    #[graphql(default)]
    pub bank_accounts: Vec<String>,
    pub email: Option<String>,
    /// ISO 4217.
    pub default_currency: Option<String>,
    pub payment_terms_days: Option<i32>,
    /// Decimal string, e.g. "50000.00".
    pub credit_limit: Option<String>,
    pub status: Option<CustomerStatus>,
}

/// A partial update: absent fields stay as they are; `null` clears a nullable field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub aliases: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    pub bank_accounts: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub default_currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<i32>)]
    pub payment_terms_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub credit_limit: Option<Option<String>>,
    pub status: Option<CustomerStatus>,
    /// The user who looks after the customer: collection tasks go to them (null: nobody).
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_user_id: Option<Option<Uuid>>,
}

// GraphQL adds `paymentBehaviour` to it (resolved in `api::graphql::query`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[graphql(complex)]
pub struct CustomerView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub country: Option<String>,
    pub bank_accounts: Vec<String>,
    pub email: Option<String>,
    pub default_currency: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub credit_limit: Option<String>,
    pub status: CustomerStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The user who looks after the customer (collection tasks go to them).
    pub owner_user_id: Option<Uuid>,
    /// The customer group it belongs to (`/customer-groups`), if any.
    pub group: Option<super::customer_groups::CustomerGroupRef>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        let credit_limit = c.credit_limit.map(|v| match &c.default_currency {
            Some(cur) => format_amount(cur, v),
            None => v.normalize().to_string(),
        });
        CustomerView {
            id: c.id,
            code: c.code,
            name: c.name,
            aliases: c.aliases,
            country: c.country,
            bank_accounts: c.bank_accounts,
            email: c.email,
            default_currency: c.default_currency,
            payment_terms_days: c.payment_terms_days,
            credit_limit,
            status: c.status,
            created_at: c.created_at,
            updated_at: c.updated_at,
            owner_user_id: c.owner_user_id,
            group: None,
        }
    }
}

/// The validated, normalised fields of a customer (everything but identity and timestamps).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFields {
    name: String,
    aliases: Vec<String>,
    country: Option<String>,
    bank_accounts: Vec<String>,
    email: Option<String>,
    default_currency: Option<String>,
    payment_terms_days: Option<i32>,
    credit_limit: Option<Decimal>,
    status: CustomerStatus,
}

impl CustomerFields {
    fn of(c: &Customer) -> CustomerFields {
        CustomerFields {
            name: c.name.clone(),
            aliases: c.aliases.clone(),
            country: c.country.clone(),
            bank_accounts: c.bank_accounts.clone(),
            email: c.email.clone(),
            default_currency: c.default_currency.clone(),
            payment_terms_days: c.payment_terms_days,
            credit_limit: c.credit_limit,
            status: c.status,
        }
    }

    fn apply(&self, c: &mut Customer) {
        c.name = self.name.clone();
        c.aliases = self.aliases.clone();
        c.country = self.country.clone();
        c.bank_accounts = self.bank_accounts.clone();
        c.email = self.email.clone();
        c.default_currency = self.default_currency.clone();
        c.payment_terms_days = self.payment_terms_days;
        c.credit_limit = self.credit_limit;
        c.status = self.status;
    }
}
/// The id of the customer a list or report is filtered by (`?customer=CODE`); an unknown code is
/// a 422 on that parameter, not an empty answer, so a typo is not mistaken for "no rows".
pub fn filter_id(conn: &mut PgConnection, tenant_id: Uuid, code: Option<&str>) -> AppResult<Option<Uuid>> {
    let Some(code) = code else { return Ok(None) };
    match customers_db::find_by_code(conn, tenant_id, code) {
        Ok(c) => Ok(Some(c.id)),
        Err(diesel::result::Error::NotFound) => {
            Err(AppError::invalid("customer", format!("unknown customer {code:?}")))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn validate_fields(input: &CustomerInput) -> AppResult<CustomerFields> {
    let mut aliases = Vec::new();
    for (i, alias) in input.aliases.iter().enumerate() {
        let alias = check_name(alias).map_err(|e| AppError::invalid(&format!("aliases[{i}]"), e))?;
        if !aliases.contains(&alias) {
            aliases.push(alias);
        }
    }
    let mut bank_accounts = Vec::new();
    for (i, account) in input.bank_accounts.iter().enumerate() {
        let account = normalize_account(account).map_err(|e| AppError::invalid(&format!("bank_accounts[{i}]"), e))?;
        if !bank_accounts.contains(&account) {
            bank_accounts.push(account);
        }
    }
    let default_currency = input
        .default_currency
        .as_deref()
        .map(|c| Currency::parse(c).map_err(|e| AppError::invalid("default_currency", e.to_string())))
        .transpose()?;
    let credit_limit = input
        .credit_limit
        .as_deref()
        .map(|text| {
            let value = match default_currency {
                Some(cur) => cur.parse_amount(text).map_err(|e| e.to_string()),
                None => text.trim().parse::<Decimal>().map_err(|_| format!("{text:?} is not a decimal amount")),
            };
            match value {
                Ok(v) if v.is_sign_negative() && !v.is_zero() => {
                    Err(AppError::invalid("credit_limit", "must not be negative"))
                }
                Ok(v) => Ok(v),
                Err(e) => Err(AppError::invalid("credit_limit", e)),
            }
        })
        .transpose()?;
    if let Some(days) = input.payment_terms_days {
        if !(0..=3650).contains(&days) {
            return Err(AppError::invalid("payment_terms_days", "must be between 0 and 3650"));
        }
    }
    Ok(CustomerFields {
        name: check_name(&input.name).map_err(|e| AppError::invalid("name", e))?,
        aliases,
        country: input
            .country
            .as_deref()
            .map(check_country)
            .transpose()
            .map_err(|e| AppError::invalid("country", e))?,
        bank_accounts,
        email: input.email.as_deref().map(check_email).transpose().map_err(|e| AppError::invalid("email", e))?,
        default_currency: default_currency.map(|c| c.code().to_string()),
        payment_terms_days: input.payment_terms_days,
        credit_limit,
        status: input.status.unwrap_or(CustomerStatus::Active),
    })
}

pub fn validate_code(code: &str) -> AppResult<String> {
    check_identifier(code, 64).map_err(|e| AppError::invalid("code", e))
}

fn new_customer(tenant_id: Uuid, code: String, fields: &CustomerFields) -> Customer {
    let now = Utc::now();
    let mut c = Customer {
        id: Uuid::now_v7(),
        tenant_id,
        code,
        name: String::new(),
        aliases: vec![],
        country: None,
        bank_accounts: vec![],
        email: None,
        default_currency: None,
        payment_terms_days: None,
        credit_limit: None,
        status: CustomerStatus::Active,
        created_at: now,
        updated_at: now,
        owner_user_id: None,
    };
    fields.apply(&mut c);
    c
}

pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    input: CustomerInput,
) -> AppResult<CustomerView> {
    require(principal, Permission::WriteLedger)?;
    let sealer = CustomerSealer::new(keys, conn, principal.tenant_id)?;
    let code = validate_code(&input.code)?;
    let fields = validate_fields(&input)?;
    if customers_db::find_by_code(conn, principal.tenant_id, &code).is_ok() {
        return Err(AppError::conflict(format!("customer {code:?} already exists"))
            .with_details(serde_json::json!({"field": "code"})));
    }
    let customer = new_customer(principal.tenant_id, code, &fields);
    let (stored, hashes) = sealer.seal(&customer);
    customers_db::insert_many(conn, std::slice::from_ref(&stored)).map_err(|e| match AppError::from(e) {
        err if err.code == crate::error::ErrorCode::Conflict => {
            AppError::conflict(format!("customer {:?} already exists", customer.code))
        }
        err => err,
    })?;
    store_account_hashes_many(conn, principal.tenant_id, &[(customer.id, hashes)])?;
    let view = CustomerView::from(customer);
    let mut e = entry(principal, "customer.created", "customer", &view.code);
    e.after = sealer.for_audit(snapshot(&view));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(view)
}

pub fn get(conn: &mut PgConnection, principal: &Principal, keys: &Keyring, code: &str) -> AppResult<CustomerView> {
    require(principal, Permission::Read)?;
    let sealer = CustomerSealer::new(keys, conn, principal.tenant_id)?;
    let mut view = CustomerView::from(sealer.open(find(conn, principal, code)?)?);
    super::customer_groups::attach(conn, principal.tenant_id, std::slice::from_mut(&mut view))?;
    Ok(view)
}

fn find(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    code: &str,
    patch: CustomerPatch,
) -> AppResult<CustomerView> {
    require(principal, Permission::WriteLedger)?;
    let sealer = CustomerSealer::new(keys, conn, principal.tenant_id)?;
    let existing = customers_db::find_by_code_for_update(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))?;
    let existing = sealer.open(existing)?;
    let current = CustomerView::from(existing.clone());
    // Merge the patch into the current values and validate the result as a whole.
    let merged = CustomerInput {
        code: existing.code.clone(),
        name: patch.name.unwrap_or(current.name.clone()),
        aliases: patch.aliases.unwrap_or(current.aliases.clone()),
        country: patch.country.unwrap_or(current.country.clone()),
        bank_accounts: patch.bank_accounts.unwrap_or(current.bank_accounts.clone()),
        email: patch.email.unwrap_or(current.email.clone()),
        default_currency: patch.default_currency.unwrap_or(current.default_currency.clone()),
        payment_terms_days: patch.payment_terms_days.unwrap_or(current.payment_terms_days),
        credit_limit: patch.credit_limit.unwrap_or(current.credit_limit.clone()),
        status: Some(patch.status.unwrap_or(current.status)),
    };
    let fields = validate_fields(&merged)?;
    let owner = patch.owner_user_id.unwrap_or(existing.owner_user_id);
    if let Some(user) = owner.filter(|o| Some(*o) != existing.owner_user_id) {
        super::collection_tasks::active_user(conn, principal.tenant_id, user, "owner_user_id")?;
    }
    if fields == CustomerFields::of(&existing) && owner == existing.owner_user_id {
        return Ok(current);
    }
    let mut updated = existing;
    fields.apply(&mut updated);
    updated.owner_user_id = owner;
    updated.updated_at = Utc::now();
    let (stored, hashes) = sealer.seal(&updated);
    customers_db::update(conn, &stored)?;
    store_account_hashes_many(conn, principal.tenant_id, &[(updated.id, hashes)])?;
    let view = CustomerView::from(updated);
    let mut e = entry(principal, "customer.updated", "customer", &view.code);
    e.before = sealer.for_audit(snapshot(&current));
    e.after = sealer.for_audit(snapshot(&view));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    let mut view = view;
    super::customer_groups::attach(conn, principal.tenant_id, std::slice::from_mut(&mut view))?;
    Ok(view)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Exact customer code.
    pub code: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    pub status: Option<CustomerStatus>,
    /// Page size (default 50, capped at 500).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    q: CustomerQuery,
    max_limit: i64,
) -> AppResult<Page<CustomerView>> {
    require(principal, Permission::Read)?;
    let sealer = CustomerSealer::new(keys, conn, principal.tenant_id)?;
    let limit = effective_limit(q.limit, max_limit)?;
    let filter = CustomerFilter {
        code: q.code,
        name: q.name,
        status: q.status,
        after: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = customers_db::list(conn, principal.tenant_id, &filter)?
        .into_iter()
        .map(|c| sealer.open(c))
        .collect::<AppResult<Vec<_>>>()?;
    let mut page = page(rows, limit, |c| c.id, CustomerView::from);
    super::customer_groups::attach(conn, principal.tenant_id, &mut page.items)?;
    Ok(page)
}

pub const CSV_COLUMNS: [&str; 11] = [
    "code",
    "name",
    "aliases",
    "country",
    "iban",
    "bank_accounts",
    "email",
    "default_currency",
    "payment_terms_days",
    "credit_limit",
    "status",
];

fn split_list(cell: Option<&String>) -> Vec<String> {
    cell.map(|v| v.split(['|', ';']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

fn input_from_csv(cells: &HashMap<String, String>) -> Result<CustomerInput, String> {
    let mut accounts = split_list(cells.get("iban"));
    accounts.extend(split_list(cells.get("bank_accounts")));
    Ok(CustomerInput {
        code: cells.get("code").cloned().ok_or("code: missing")?,
        name: cells.get("name").cloned().ok_or("name: missing")?,
        aliases: split_list(cells.get("aliases")),
        country: cells.get("country").cloned(),
        bank_accounts: accounts,
        email: cells.get("email").cloned(),
        default_currency: cells.get("default_currency").cloned(),
        payment_terms_days: cells
            .get("payment_terms_days")
            .map(|v| v.parse().map_err(|_| format!("payment_terms_days: {v:?} is not a whole number")))
            .transpose()?,
        credit_limit: cells.get("credit_limit").cloned(),
        status: cells
            .get("status")
            .map(|v| CustomerStatus::parse(v).ok_or_else(|| format!("status: unknown status {v:?}")))
            .transpose()?,
    })
}

/// Reads an import body (CSV, an .xlsx workbook or a JSON array) into rows; no database, so it
/// can be fuzzed. Rows that cannot be read are rejections; a body that cannot be read at all is
/// an error.
pub fn parse_import(format: ImportFormat, body: &[u8]) -> AppResult<ParsedRows<CustomerInput>> {
    parse_import_with(format, body, None).map(|r| (r.rows, r.rejected))
}

/// [`parse_import`] with the tenant's column mapping for its own layout.
pub fn parse_import_with(
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&ImportMapping>,
) -> AppResult<ReadRows<CustomerInput>> {
    parse_rows(format, body, ImportKind::Customers, mapping, &["code", "name"], input_from_csv)
}

/// Upserts customers by code. Every row is validated first; the valid ones are written in the
/// caller's transaction, the others are reported. A row is written whole or not at all.
/// `mapping` names a saved import mapping for the file's own layout.
pub fn import(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&str>,
) -> AppResult<ImportReport> {
    require(principal, Permission::WriteLedger)?;
    let sealer = CustomerSealer::new(keys, conn, principal.tenant_id)?;
    let mapping = super::import_mappings::for_import(conn, principal, ImportKind::Customers, mapping)?;
    let ReadRows { rows: inputs, mut rejected, places, notes } = parse_import_with(format, body, mapping.as_ref())?;
    let mut valid: Vec<(u64, String, CustomerFields)> = Vec::with_capacity(inputs.len());
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (row, input) in inputs {
        let checked = validate_code(&input.code).and_then(|code| validate_fields(&input).map(|f| (code, f)));
        match checked {
            Err(e) => rejected.push(RejectedRow::new(row, e.message)),
            Ok((code, fields)) => {
                if let Some(first) = seen.get(&code) {
                    rejected.push(RejectedRow::new(row, format!("code {code:?} appears again (first in row {first})")));
                    continue;
                }
                seen.insert(code.clone(), row);
                valid.push((row, code, fields));
            }
        }
    }
    let codes: Vec<String> = valid.iter().map(|(_, code, _)| code.clone()).collect();
    let existing: HashMap<String, Customer> = customers_db::find_by_codes(conn, principal.tenant_id, &codes)?
        .into_iter()
        .map(|c| sealer.open(c).map(|c| (c.code.clone(), c)))
        .collect::<AppResult<_>>()?;
    let mut hashes = Vec::new();
    let mut report = ImportReport::default();
    let mut to_insert = Vec::new();
    let mut audit = Vec::new();
    for (_, code, fields) in valid {
        match existing.get(&code) {
            None => {
                let customer = new_customer(principal.tenant_id, code, &fields);
                let mut e = entry(principal, "customer.created", "customer", &customer.code);
                e.after = sealer.for_audit(snapshot(&CustomerView::from(customer.clone())));
                audit.push(e);
                let (stored, h) = sealer.seal(&customer);
                hashes.push((stored.id, h));
                to_insert.push(stored);
                report.created += 1;
            }
            Some(current) if CustomerFields::of(current) == fields => report.unchanged += 1,
            Some(current) => {
                let mut updated = current.clone();
                fields.apply(&mut updated);
                updated.updated_at = Utc::now();
                let (stored, h) = sealer.seal(&updated);
                customers_db::update(conn, &stored)?;
                hashes.push((stored.id, h));
                let mut e = entry(principal, "customer.updated", "customer", &updated.code);
                e.before = sealer.for_audit(snapshot(&CustomerView::from(current.clone())));
                e.after = sealer.for_audit(snapshot(&CustomerView::from(updated)));
                audit.push(e);
                report.updated += 1;
            }
        }
    }
    customers_db::insert_many(conn, &to_insert)?;
    store_account_hashes_many(conn, principal.tenant_id, &hashes)?;
    audit_db::append(conn, principal.tenant_id, audit)?;
    places.place_all(&mut rejected);
    report.rejected = rejected;
    report.notes = notes;
    Ok(report)
}
