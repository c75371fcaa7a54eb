//! Customers' contacts and addresses: several per customer; one receives statements of account,
//! one dunning letters (setting the flag on a contact moves it off the one that had it).

use super::import::{ImportFormat, ImportReport, ParsedRows, RejectedRow};
use super::import_sheet::{parse_rows, ReadRows};
use super::require;
use crate::db::audit as audit_db;
use crate::db::customer_contacts::{self as contacts_db, Contact};
use crate::db::customers::{self as customers_db, Customer};
use crate::domain::auth::{Permission, Principal};
use crate::domain::contact::{check_address_lines, check_phone, check_short_text};
use crate::domain::customer::{check_country, check_email, check_name};
use crate::domain::import_mapping::ImportMapping;
use crate::domain::sheet_columns::ImportKind;
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use crate::services::data_safety::sealing::ContactSealer;
use crate::services::data_safety::Keyring;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// A person or a department ("Accounts payable").
    pub name: String,
    /// Their role, e.g. "AP clerk", "CFO", "财务".
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Postal address lines above postal code and city (at most 5).
    #[serde(default)]
    #[graphql(default)]
    pub address_lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// This contact receives statements of account (at most one per customer).
    pub for_statements: Option<bool>,
    /// This contact receives dunning letters (at most one per customer).
    pub for_dunning: Option<bool>,
}

/// A partial update: absent fields stay as they are; `null` clears a nullable field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub role: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub address_lines: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    pub for_statements: Option<bool>,
    pub for_dunning: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct ContactView {
    pub id: Uuid,
    pub customer_code: String,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address_lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub for_statements: bool,
    pub for_dunning: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ContactView {
    fn new(c: Contact, customer_code: &str) -> ContactView {
        ContactView {
            id: c.id,
            customer_code: customer_code.to_string(),
            name: c.name,
            role: c.role,
            email: c.email,
            phone: c.phone,
            address_lines: c.address_lines,
            postal_code: c.postal_code,
            city: c.city,
            country: c.country,
            for_statements: c.for_statements,
            for_dunning: c.for_dunning,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The validated fields of a contact (everything but identity, customer and timestamps).
#[derive(Debug, Clone, PartialEq)]
struct ContactFields {
    name: String,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    address_lines: Vec<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: Option<String>,
    for_statements: bool,
    for_dunning: bool,
}

impl ContactFields {
    fn of(c: &Contact) -> ContactFields {
        ContactFields {
            name: c.name.clone(),
            role: c.role.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            address_lines: c.address_lines.clone(),
            postal_code: c.postal_code.clone(),
            city: c.city.clone(),
            country: c.country.clone(),
            for_statements: c.for_statements,
            for_dunning: c.for_dunning,
        }
    }

    fn apply(self, c: &mut Contact) {
        c.name = self.name;
        c.role = self.role;
        c.email = self.email;
        c.phone = self.phone;
        c.address_lines = self.address_lines;
        c.postal_code = self.postal_code;
        c.city = self.city;
        c.country = self.country;
        c.for_statements = self.for_statements;
        c.for_dunning = self.for_dunning;
    }
}

fn optional<T>(field: &str, value: Option<&str>, check: impl Fn(&str) -> Result<T, String>) -> AppResult<Option<T>> {
    value.map(check).transpose().map_err(|e| AppError::invalid(field, e))
}

fn validate(input: &ContactInput) -> AppResult<ContactFields> {
    Ok(ContactFields {
        name: check_name(&input.name).map_err(|e| AppError::invalid("name", e))?,
        role: optional("role", input.role.as_deref(), |v| check_short_text(v, 100))?,
        email: optional("email", input.email.as_deref(), check_email)?,
        phone: optional("phone", input.phone.as_deref(), check_phone)?,
        address_lines: check_address_lines(&input.address_lines).map_err(|(i, e)| AppError::invalid(&i, e))?,
        postal_code: optional("postal_code", input.postal_code.as_deref(), |v| check_short_text(v, 20))?,
        city: optional("city", input.city.as_deref(), |v| check_short_text(v, 100))?,
        country: optional("country", input.country.as_deref(), check_country)?,
        for_statements: input.for_statements.unwrap_or(false),
        for_dunning: input.for_dunning.unwrap_or(false),
    })
}

fn customer_for_update(conn: &mut PgConnection, principal: &Principal, code: &str) -> AppResult<Customer> {
    customers_db::find_by_code_for_update(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))
}

/// Moves the statement and dunning flags off the customer's other contacts when `fields` takes them.
fn take_purposes(
    conn: &mut PgConnection,
    customer: &Customer,
    fields: &ContactFields,
    current: Option<&Contact>,
) -> AppResult<()> {
    if fields.for_statements && !current.is_some_and(|c| c.for_statements) {
        contacts_db::clear_purpose(conn, customer.tenant_id, customer.id, true)?;
    }
    if fields.for_dunning && !current.is_some_and(|c| c.for_dunning) {
        contacts_db::clear_purpose(conn, customer.tenant_id, customer.id, false)?;
    }
    Ok(())
}

fn audit(
    principal: &Principal,
    sealer: &ContactSealer,
    action: &str,
    before: Option<&ContactView>,
    after: Option<&ContactView>,
) -> crate::db::audit::NewAuditEntry {
    let id = after.or(before).map(|v| v.id.to_string()).unwrap_or_default();
    let mut e = entry(principal, action, "customer_contact", &id);
    e.before = before.and_then(|v| sealer.for_audit(snapshot(v)));
    e.after = after.and_then(|v| sealer.for_audit(snapshot(v)));
    e
}

fn new_contact(customer: &Customer, fields: ContactFields) -> Contact {
    let now = Utc::now();
    let mut c = Contact {
        id: Uuid::now_v7(),
        tenant_id: customer.tenant_id,
        customer_id: customer.id,
        name: String::new(),
        role: None,
        email: None,
        phone: None,
        address_lines: vec![],
        postal_code: None,
        city: None,
        country: None,
        for_statements: false,
        for_dunning: false,
        created_at: now,
        updated_at: now,
    };
    fields.apply(&mut c);
    c
}

pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    code: &str,
    input: ContactInput,
) -> AppResult<ContactView> {
    require(principal, Permission::WriteLedger)?;
    let fields = validate(&input)?;
    let customer = customer_for_update(conn, principal, code)?;
    let sealer = ContactSealer::new(keys, conn, principal.tenant_id)?;
    take_purposes(conn, &customer, &fields, None)?;
    let contact = new_contact(&customer, fields);
    contacts_db::insert_many(conn, &[sealer.seal(&contact)])?;
    let view = ContactView::new(contact, &customer.code);
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audit(principal, &sealer, "customer_contact.created", None, Some(&view))],
    )?;
    Ok(view)
}

pub fn list(conn: &mut PgConnection, principal: &Principal, keys: &Keyring, code: &str) -> AppResult<Vec<ContactView>> {
    require(principal, Permission::Read)?;
    let customer = customers_db::find_by_code(conn, principal.tenant_id, code)
        .map_err(|_| AppError::not_found(format!("customer {code:?}")))?;
    let sealer = ContactSealer::new(keys, conn, principal.tenant_id)?;
    contacts_db::of_customer(conn, principal.tenant_id, customer.id)?
        .into_iter()
        .map(|c| sealer.open(c).map(|c| ContactView::new(c, &customer.code)))
        .collect()
}

fn merge(current: &ContactView, patch: ContactPatch) -> ContactInput {
    ContactInput {
        name: patch.name.unwrap_or(current.name.clone()),
        role: patch.role.unwrap_or(current.role.clone()),
        email: patch.email.unwrap_or(current.email.clone()),
        phone: patch.phone.unwrap_or(current.phone.clone()),
        address_lines: patch.address_lines.unwrap_or(current.address_lines.clone()),
        postal_code: patch.postal_code.unwrap_or(current.postal_code.clone()),
        city: patch.city.unwrap_or(current.city.clone()),
        country: patch.country.unwrap_or(current.country.clone()),
        for_statements: Some(patch.for_statements.unwrap_or(current.for_statements)),
        for_dunning: Some(patch.for_dunning.unwrap_or(current.for_dunning)),
    }
}

/// The customer (locked), its contact `id` opened, and the sealer.
fn locked_contact(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    code: &str,
    id: Uuid,
) -> AppResult<(Customer, Contact, ContactSealer)> {
    let customer = customer_for_update(conn, principal, code)?;
    let sealer = ContactSealer::new(keys, conn, principal.tenant_id)?;
    let stored = contacts_db::of_customer_for_update(conn, principal.tenant_id, customer.id)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::not_found(format!("contact {id} of customer {code:?}")))?;
    let contact = sealer.open(stored)?;
    Ok((customer, contact, sealer))
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    code: &str,
    id: Uuid,
    patch: ContactPatch,
) -> AppResult<ContactView> {
    require(principal, Permission::WriteLedger)?;
    let (customer, existing, sealer) = locked_contact(conn, principal, keys, code, id)?;
    let current = ContactView::new(existing.clone(), &customer.code);
    let fields = validate(&merge(&current, patch))?;
    if fields == ContactFields::of(&existing) {
        return Ok(current);
    }
    take_purposes(conn, &customer, &fields, Some(&existing))?;
    let mut updated = existing;
    fields.apply(&mut updated);
    updated.updated_at = Utc::now();
    contacts_db::update(conn, &sealer.seal(&updated))?;
    let view = ContactView::new(updated, &customer.code);
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audit(principal, &sealer, "customer_contact.updated", Some(&current), Some(&view))],
    )?;
    Ok(view)
}

pub fn delete(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    code: &str,
    id: Uuid,
) -> AppResult<ContactView> {
    require(principal, Permission::WriteLedger)?;
    let (customer, existing, sealer) = locked_contact(conn, principal, keys, code, id)?;
    contacts_db::delete(conn, principal.tenant_id, id)?;
    let view = ContactView::new(existing, &customer.code);
    audit_db::append(
        conn,
        principal.tenant_id,
        vec![audit(principal, &sealer, "customer_contact.deleted", Some(&view), None)],
    )?;
    Ok(view)
}

/// The contact flagged for statements (or dunning) of a customer, opened; `None` when no contact has it.
pub fn for_purpose(
    conn: &mut PgConnection,
    keys: &Keyring,
    tenant_id: Uuid,
    customer_id: Uuid,
    statements: bool,
) -> AppResult<Option<Contact>> {
    let sealer = ContactSealer::new(keys, conn, tenant_id)?;
    contacts_db::of_customer(conn, tenant_id, customer_id)?
        .into_iter()
        .find(|c| if statements { c.for_statements } else { c.for_dunning })
        .map(|c| sealer.open(c))
        .transpose()
}

pub const CSV_COLUMNS: [&str; 11] = [
    "customer_code",
    "name",
    "role",
    "email",
    "phone",
    "address",
    "postal_code",
    "city",
    "country",
    "for_statements",
    "for_dunning",
];

/// A contact row of an import: the contact's fields and its customer's code.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactImportRow {
    pub customer_code: String,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub address_lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub for_statements: Option<bool>,
    pub for_dunning: Option<bool>,
}

impl ContactImportRow {
    fn split(self) -> (String, ContactInput) {
        let input = ContactInput {
            name: self.name,
            role: self.role,
            email: self.email,
            phone: self.phone,
            address_lines: self.address_lines,
            postal_code: self.postal_code,
            city: self.city,
            country: self.country,
            for_statements: self.for_statements,
            for_dunning: self.for_dunning,
        };
        (self.customer_code, input)
    }
}

/// A role flag: a yes/no cell, or the `x` people tick a column with.
fn parse_flag(field: &str, v: &str) -> Result<bool, String> {
    if v.trim().eq_ignore_ascii_case("x") {
        return Ok(true);
    }
    super::import::parse_yes_no(field, v)
}

fn row_from_csv(cells: &HashMap<String, String>) -> Result<ContactImportRow, String> {
    let flag = |f: &str| cells.get(f).map(|v| parse_flag(f, v)).transpose();
    Ok(ContactImportRow {
        customer_code: cells.get("customer_code").cloned().ok_or("customer_code: missing")?,
        name: cells.get("name").cloned().ok_or("name: missing")?,
        role: cells.get("role").cloned(),
        email: cells.get("email").cloned(),
        phone: cells.get("phone").cloned(),
        // Address lines in one cell, separated by "|" or line breaks.
        address_lines: cells
            .get("address")
            .map(|v| v.split(['|', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default(),
        postal_code: cells.get("postal_code").cloned(),
        city: cells.get("city").cloned(),
        country: cells.get("country").cloned(),
        for_statements: flag("for_statements")?,
        for_dunning: flag("for_dunning")?,
    })
}

/// Reads an import body (CSV, an .xlsx workbook or a JSON array) into rows; no database.
pub fn parse_import(format: ImportFormat, body: &[u8]) -> AppResult<ParsedRows<ContactImportRow>> {
    parse_import_with(format, body, None).map(|r| (r.rows, r.rejected))
}

/// [`parse_import`] with the tenant's column mapping for its own layout.
pub fn parse_import_with(
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&ImportMapping>,
) -> AppResult<ReadRows<ContactImportRow>> {
    parse_rows(format, body, ImportKind::CustomerContacts, mapping, &["customer_code", "name"], row_from_csv)
}

/// Upserts contacts keyed by customer and name (case-insensitive): a contact of that name is
/// updated, else created. Rows are validated first; bad rows are reported, good rows written.
pub fn import(
    conn: &mut PgConnection,
    principal: &Principal,
    keys: &Keyring,
    format: ImportFormat,
    body: &[u8],
    mapping: Option<&str>,
) -> AppResult<ImportReport> {
    require(principal, Permission::WriteLedger)?;
    let mapping = super::import_mappings::for_import(conn, principal, ImportKind::CustomerContacts, mapping)?;
    let ReadRows { rows, mut rejected, places, notes } = parse_import_with(format, body, mapping.as_ref())?;
    let sealer = ContactSealer::new(keys, conn, principal.tenant_id)?;
    let mut report = ImportReport::default();
    let mut customers: HashMap<String, (Customer, Vec<Contact>)> = HashMap::new();
    let mut audit_entries = Vec::new();
    for (row, r) in rows {
        let outcome = import_row(conn, principal, &sealer, &mut customers, r);
        match outcome {
            Ok((action, before, after)) => {
                match action {
                    RowAction::Created => report.created += 1,
                    RowAction::Updated => report.updated += 1,
                    RowAction::Unchanged => {
                        report.unchanged += 1;
                        continue;
                    }
                }
                let name = if before.is_some() { "customer_contact.updated" } else { "customer_contact.created" };
                audit_entries.push(audit(principal, &sealer, name, before.as_ref(), Some(&after)));
            }
            Err(e)
                if e.code == crate::error::ErrorCode::ValidationFailed
                    || e.code == crate::error::ErrorCode::NotFound =>
            {
                rejected.push(RejectedRow::new(row, e.message))
            }
            Err(e) => return Err(e),
        }
    }
    audit_db::append(conn, principal.tenant_id, audit_entries)?;
    places.place_all(&mut rejected);
    report.rejected = rejected;
    report.notes = notes;
    Ok(report)
}

enum RowAction {
    Created,
    Updated,
    Unchanged,
}

type RowOutcome = (RowAction, Option<ContactView>, ContactView);

fn import_row(
    conn: &mut PgConnection,
    principal: &Principal,
    sealer: &ContactSealer,
    customers: &mut HashMap<String, (Customer, Vec<Contact>)>,
    r: ContactImportRow,
) -> AppResult<RowOutcome> {
    let (customer_code, input) = r.split();
    let fields = validate(&input)?;
    if !customers.contains_key(&customer_code) {
        let customer = customers_db::find_by_code_for_update(conn, principal.tenant_id, &customer_code)
            .map_err(|_| AppError::not_found(format!("customer_code: unknown customer {:?}", customer_code)))?;
        let contacts = contacts_db::of_customer_for_update(conn, principal.tenant_id, customer.id)?
            .into_iter()
            .map(|c| sealer.open(c))
            .collect::<AppResult<Vec<_>>>()?;
        customers.insert(customer_code.clone(), (customer, contacts));
    }
    let (customer, contacts) = customers.get_mut(&customer_code).expect("inserted above");
    let existing = contacts.iter().position(|c| c.name.to_lowercase() == fields.name.to_lowercase());
    let current = existing.map(|i| contacts[i].clone());
    if current.as_ref().is_some_and(|c| ContactFields::of(c) == fields) {
        let view = ContactView::new(current.expect("checked"), &customer.code);
        return Ok((RowAction::Unchanged, None, view));
    }
    take_purposes(conn, customer, &fields, current.as_ref())?;
    for c in contacts.iter_mut() {
        c.for_statements &= !fields.for_statements;
        c.for_dunning &= !fields.for_dunning;
    }
    let (contact, action) = match existing {
        Some(i) => {
            let mut updated = current.clone().expect("found");
            fields.apply(&mut updated);
            updated.updated_at = Utc::now();
            contacts_db::update(conn, &sealer.seal(&updated))?;
            contacts[i] = updated.clone();
            (updated, RowAction::Updated)
        }
        None => {
            let created = new_contact(customer, fields);
            contacts_db::insert_many(conn, &[sealer.seal(&created)])?;
            contacts.push(created.clone());
            (created, RowAction::Created)
        }
    };
    let before = current.map(|c| ContactView::new(c, &customer.code));
    Ok((action, before, ContactView::new(contact, &customer.code)))
}
