//! Customer groups: a corporate family (a parent company and its subsidiaries) as data, keyed by
//! the tenant's own code. A customer is a member of one group at most, as finance teams model a
//! family; the parent, when recorded, is a member too. Matching reads the groups (a member may
//! pay for another), and the reports can cover a whole group.

use super::pagination::{effective_limit, page, parse_cursor, Page};
use super::require;
use crate::db::audit as audit_db;
use crate::db::customer_groups::{self as groups_db, CustomerGroup, GroupFilter, Member};
use crate::db::customers as customers_db;
use crate::domain::auth::{Permission, Principal};
use crate::domain::customer::{check_identifier, check_name};
use crate::error::{AppError, AppResult};
use crate::services::audit::{entry, snapshot};
use crate::services::customers::CustomerView;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// Most members one group may have (a request names them all).
pub const MAX_MEMBERS: usize = 10_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct CustomerGroupInput {
    /// The tenant's own group code, unique per tenant.
    pub code: String,
    pub name: String,
    /// Code of the parent company; it becomes a member too.
    pub parent_customer: Option<String>,
    /// Codes of the member customers (each may be in one group only).
    #[serde(default)]
    #[graphql(default)]
    pub members: Vec<String>,
}

/// A partial update: absent fields stay as they are; `null` clears the parent (which stays a
/// member).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerGroupPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub parent_customer: Option<Option<String>>,
}

/// The whole member list (it replaces the current one).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
pub struct GroupMembersInput {
    /// Customer codes; the parent, if the group has one, must be among them.
    pub customers: Vec<String>,
}

/// A customer as a group lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct GroupMemberView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CustomerGroupView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// The parent company (also listed among the members).
    pub parent_customer: Option<GroupMemberView>,
    /// By customer code.
    pub members: Vec<GroupMemberView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The group a customer belongs to, as the customer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct CustomerGroupRef {
    pub code: String,
    pub name: String,
}

fn view(g: CustomerGroup, members: Vec<Member>) -> CustomerGroupView {
    let members: Vec<GroupMemberView> =
        members.into_iter().map(|m| GroupMemberView { id: m.customer_id, code: m.code, name: m.name }).collect();
    CustomerGroupView {
        parent_customer: g.parent_customer_id.and_then(|p| members.iter().find(|m| m.id == p).cloned()),
        id: g.id,
        code: g.code,
        name: g.name,
        members,
        created_at: g.created_at,
        updated_at: g.updated_at,
    }
}

fn views(conn: &mut PgConnection, tenant_id: Uuid, groups: Vec<CustomerGroup>) -> AppResult<Vec<CustomerGroupView>> {
    let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
    let mut by_group: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for m in groups_db::members_of(conn, tenant_id, &ids)? {
        by_group.entry(m.group_id).or_default().push(m);
    }
    Ok(groups
        .into_iter()
        .map(|g| {
            let m = by_group.remove(&g.id).unwrap_or_default();
            view(g, m)
        })
        .collect())
}

fn one_view(conn: &mut PgConnection, g: CustomerGroup) -> AppResult<CustomerGroupView> {
    let members = groups_db::members_of(conn, g.tenant_id, &[g.id])?;
    Ok(view(g, members))
}

/// The group `key` (its code, or its id), 404 when the tenant has none.
fn find(conn: &mut PgConnection, tenant_id: Uuid, key: &str, lock: bool) -> AppResult<CustomerGroup> {
    groups_db::find(conn, tenant_id, key, lock)?.ok_or_else(|| AppError::not_found(format!("customer group {key:?}")))
}

/// Customer codes to ids, in order, repeats dropped; an unknown code is a 422 on `field[i]`.
fn resolve(conn: &mut PgConnection, tenant_id: Uuid, field: &str, codes: &[String]) -> AppResult<Vec<Uuid>> {
    if codes.len() > MAX_MEMBERS {
        return Err(AppError::invalid(field, format!("at most {MAX_MEMBERS} customers")));
    }
    let found: HashMap<String, Uuid> =
        customers_db::find_by_codes_key_share(conn, tenant_id, codes)?.into_iter().map(|c| (c.code, c.id)).collect();
    let mut ids = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let id = *found
            .get(code)
            .ok_or_else(|| AppError::invalid(&format!("{field}[{i}]"), format!("unknown customer {code:?}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The parent's id, from its code (422 on `parent_customer` when unknown).
fn resolve_parent(conn: &mut PgConnection, tenant_id: Uuid, code: &str) -> AppResult<Uuid> {
    match customers_db::find_by_code(conn, tenant_id, code) {
        Ok(c) => Ok(c.id),
        Err(diesel::result::Error::NotFound) => {
            Err(AppError::invalid("parent_customer", format!("unknown customer {code:?}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// A customer already in another group is a 409 naming both: it must leave that group first.
fn check_free(conn: &mut PgConnection, tenant_id: Uuid, group_id: Uuid, ids: &[Uuid]) -> AppResult<()> {
    let taken = groups_db::memberships(conn, tenant_id, ids)?.into_iter().find(|m| m.group_id != group_id);
    let Some(m) = taken else { return Ok(()) };
    let code = customers_db::codes_by_ids(conn, tenant_id, &[m.customer_id])?.pop().map(|(_, c)| c).unwrap_or_default();
    Err(AppError::conflict(format!(
        "customer {code:?} already belongs to group {:?}; a customer is a member of one group at most",
        m.group_code
    ))
    .with_details(serde_json::json!({"field": "members", "customer": code, "group": m.group_code})))
}

fn audit(
    conn: &mut PgConnection,
    principal: &Principal,
    action: &str,
    before: Option<&CustomerGroupView>,
    after: Option<&CustomerGroupView>,
) -> AppResult<()> {
    let code = after.or(before).map(|v| v.code.clone()).unwrap_or_default();
    let mut e = entry(principal, action, "customer_group", &code);
    e.before = before.and_then(snapshot);
    e.after = after.and_then(snapshot);
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(())
}

pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    input: CustomerGroupInput,
) -> AppResult<CustomerGroupView> {
    require(principal, Permission::WriteLedger)?;
    let code = check_identifier(&input.code, 64).map_err(|e| AppError::invalid("code", e))?;
    let name = check_name(&input.name).map_err(|e| AppError::invalid("name", e))?;
    let parent = input.parent_customer.as_deref().map(|c| resolve_parent(conn, principal.tenant_id, c)).transpose()?;
    let mut members = resolve(conn, principal.tenant_id, "members", &input.members)?;
    if let Some(p) = parent.filter(|p| !members.contains(p)) {
        members.insert(0, p);
    }
    if groups_db::find(conn, principal.tenant_id, &code, false)?.is_some_and(|g| g.code == code) {
        return Err(AppError::conflict(format!("customer group {code:?} already exists"))
            .with_details(serde_json::json!({"field": "code"})));
    }
    let now = Utc::now();
    let group = CustomerGroup {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        code,
        name,
        parent_customer_id: parent,
        created_at: now,
        updated_at: now,
    };
    check_free(conn, principal.tenant_id, group.id, &members)?;
    groups_db::insert(conn, &group).map_err(|e| match AppError::from(e) {
        err if err.code == crate::error::ErrorCode::Conflict => {
            AppError::conflict(format!("customer group {:?} already exists", group.code))
        }
        err => err,
    })?;
    groups_db::replace_members(conn, principal.tenant_id, group.id, &members, now)?;
    let view = one_view(conn, group)?;
    audit(conn, principal, "customer_group.created", None, Some(&view))?;
    Ok(view)
}

pub fn get(conn: &mut PgConnection, principal: &Principal, key: &str) -> AppResult<CustomerGroupView> {
    require(principal, Permission::Read)?;
    let g = find(conn, principal.tenant_id, key, false)?;
    one_view(conn, g)
}

pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    key: &str,
    patch: CustomerGroupPatch,
) -> AppResult<CustomerGroupView> {
    require(principal, Permission::WriteLedger)?;
    let existing = find(conn, principal.tenant_id, key, true)?;
    let current = one_view(conn, existing.clone())?;
    let mut updated = existing;
    if let Some(name) = patch.name {
        updated.name = check_name(&name).map_err(|e| AppError::invalid("name", e))?;
    }
    if let Some(parent) = patch.parent_customer {
        updated.parent_customer_id =
            parent.as_deref().map(|c| resolve_parent(conn, principal.tenant_id, c)).transpose()?;
    }
    let new_parent = updated.parent_customer_id.filter(|p| !current.members.iter().any(|m| m.id == *p));
    if updated.name == current.name
        && updated.parent_customer_id == current.parent_customer.as_ref().map(|p| p.id)
        && new_parent.is_none()
    {
        return Ok(current);
    }
    let now = Utc::now();
    if let Some(p) = new_parent {
        // The parent joins the group (unless it is another group's member).
        check_free(conn, principal.tenant_id, updated.id, &[p])?;
        let mut ids: Vec<Uuid> = current.members.iter().map(|m| m.id).collect();
        ids.push(p);
        groups_db::replace_members(conn, principal.tenant_id, updated.id, &ids, now)?;
    }
    updated.updated_at = now;
    groups_db::update(conn, &updated)?;
    let view = one_view(conn, updated)?;
    audit(conn, principal, "customer_group.updated", Some(&current), Some(&view))?;
    Ok(view)
}

/// Replaces the member list: customers left out are released, new ones join (each must be in no
/// other group); the parent must stay.
pub fn put_members(
    conn: &mut PgConnection,
    principal: &Principal,
    key: &str,
    input: GroupMembersInput,
) -> AppResult<CustomerGroupView> {
    require(principal, Permission::WriteLedger)?;
    let existing = find(conn, principal.tenant_id, key, true)?;
    let current = one_view(conn, existing.clone())?;
    let ids = resolve(conn, principal.tenant_id, "customers", &input.customers)?;
    if let Some(parent) = current.parent_customer.as_ref().filter(|p| !ids.contains(&p.id)) {
        return Err(AppError::invalid(
            "customers",
            format!("must include the parent customer {:?} (clear parent_customer first to release it)", parent.code),
        ));
    }
    check_free(conn, principal.tenant_id, existing.id, &ids)?;
    let mut before: Vec<Uuid> = current.members.iter().map(|m| m.id).collect();
    let mut after = ids.clone();
    before.sort_unstable();
    after.sort_unstable();
    if before == after {
        return Ok(current);
    }
    let now = Utc::now();
    groups_db::replace_members(conn, principal.tenant_id, existing.id, &ids, now)?;
    let mut updated = existing;
    updated.updated_at = now;
    groups_db::update(conn, &updated)?;
    let view = one_view(conn, updated)?;
    audit(conn, principal, "customer_group.members_changed", Some(&current), Some(&view))?;
    Ok(view)
}

/// Deletes the group and releases its members (the customers stay; the audit entry lists who was
/// a member). Matching rules naming the group's code no longer resolve it.
pub fn delete(conn: &mut PgConnection, principal: &Principal, key: &str) -> AppResult<CustomerGroupView> {
    require(principal, Permission::WriteLedger)?;
    let existing = find(conn, principal.tenant_id, key, true)?;
    let current = one_view(conn, existing.clone())?;
    groups_db::delete(conn, principal.tenant_id, existing.id)?;
    audit(conn, principal, "customer_group.deleted", Some(&current), None)?;
    Ok(current)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerGroupQuery {
    /// Exact group code.
    pub code: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Page size (default 50, capped by the server's maximum).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn list(
    conn: &mut PgConnection,
    principal: &Principal,
    q: CustomerGroupQuery,
    max_limit: i64,
) -> AppResult<Page<CustomerGroupView>> {
    require(principal, Permission::Read)?;
    let limit = effective_limit(q.limit, max_limit)?;
    let filter =
        GroupFilter { code: q.code, name: q.name, after: parse_cursor(q.cursor.as_deref())?, limit: limit + 1 };
    let rows = groups_db::list(conn, principal.tenant_id, &filter)?;
    let Page { items, next_cursor } = page(rows, limit, |g| g.id, |g| g);
    Ok(Page { items: views(conn, principal.tenant_id, items)?, next_cursor })
}

/// The group `key` (code or id) and its members, by code; 404 when the tenant has no such group.
pub fn with_members(conn: &mut PgConnection, tenant_id: Uuid, key: &str) -> AppResult<(CustomerGroup, Vec<Member>)> {
    let g = find(conn, tenant_id, key, false)?;
    let members = groups_db::members_of(conn, tenant_id, &[g.id])?;
    Ok((g, members))
}

/// Fills in the group of each customer view.
pub fn attach(conn: &mut PgConnection, tenant_id: Uuid, customers: &mut [CustomerView]) -> AppResult<()> {
    let ids: Vec<Uuid> = customers.iter().map(|c| c.id).collect();
    let by_customer: HashMap<Uuid, CustomerGroupRef> = groups_db::memberships(conn, tenant_id, &ids)?
        .into_iter()
        .map(|m| (m.customer_id, CustomerGroupRef { code: m.group_code, name: m.group_name }))
        .collect();
    for c in customers {
        c.group = by_customer.get(&c.id).cloned();
    }
    Ok(())
}

/// The members of the group a report is filtered by (`?group=CODE`), with the group; an unknown
/// code is a 422 on that parameter. Giving `customer` too is a 422: one scope at a time.
pub fn report_scope(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group: Option<&str>,
    customer: Option<&str>,
) -> AppResult<Option<(CustomerGroup, Vec<Member>)>> {
    let Some(code) = group else { return Ok(None) };
    if customer.is_some() {
        return Err(AppError::invalid("group", "give customer or group, not both"));
    }
    let g = groups_db::find(conn, tenant_id, code, false)?
        .filter(|g| g.code == code)
        .ok_or_else(|| AppError::invalid("group", format!("unknown customer group {code:?}")))?;
    let members = groups_db::members_of(conn, tenant_id, &[g.id])?;
    Ok(Some((g, members)))
}
