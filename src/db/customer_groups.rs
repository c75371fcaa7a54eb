//! Customer groups and their members (a customer is a member of one group at most).

use super::schema::{customer_group_members, customer_groups, customers};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_groups, treat_none_as_null = true)]
pub struct CustomerGroup {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub code: String,
    pub name: String,
    pub parent_customer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customer_group_members)]
struct MemberRow {
    tenant_id: Uuid,
    customer_id: Uuid,
    group_id: Uuid,
    added_at: DateTime<Utc>,
}

/// A member as the API shows it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Member {
    pub group_id: Uuid,
    pub customer_id: Uuid,
    pub code: String,
    pub name: String,
}

/// A customer's group, as the customer shows it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Membership {
    pub customer_id: Uuid,
    pub group_id: Uuid,
    pub group_code: String,
    pub group_name: String,
}

/// A group with its members' ids, as cash application and compiled rules read it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMembers {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub members: Vec<Uuid>,
}

#[derive(Debug, Default, Clone)]
pub struct GroupFilter {
    pub code: Option<String>,
    pub name: Option<String>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn insert(conn: &mut PgConnection, g: &CustomerGroup) -> QueryResult<()> {
    diesel::insert_into(customer_groups::table).values(g).execute(conn).map(|_| ())
}

pub fn update(conn: &mut PgConnection, g: &CustomerGroup) -> QueryResult<()> {
    diesel::update(customer_groups::table)
        .filter(customer_groups::tenant_id.eq(g.tenant_id))
        .filter(customer_groups::id.eq(g.id))
        .set(g)
        .execute(conn)
        .map(|_| ())
}

/// Deletes the group and releases its members.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<()> {
    diesel::delete(customer_group_members::table)
        .filter(customer_group_members::tenant_id.eq(tenant_id))
        .filter(customer_group_members::group_id.eq(id))
        .execute(conn)?;
    diesel::delete(customer_groups::table)
        .filter(customer_groups::tenant_id.eq(tenant_id))
        .filter(customer_groups::id.eq(id))
        .execute(conn)
        .map(|_| ())
}

/// The group with this code, or with this id when `key` is one; locked for a change with `lock`.
pub fn find(conn: &mut PgConnection, tenant_id: Uuid, key: &str, lock: bool) -> QueryResult<Option<CustomerGroup>> {
    let id = Uuid::parse_str(key).ok();
    let q = customer_groups::table
        .filter(customer_groups::tenant_id.eq(tenant_id))
        .filter(customer_groups::code.eq(key).or(customer_groups::id.nullable().eq(id)))
        .select(CustomerGroup::as_select());
    let rows: Vec<CustomerGroup> = if lock { q.for_update().load(conn)? } else { q.load(conn)? };
    // A code that looks like another group's id: the id wins.
    let by_id = rows.iter().position(|g| Some(g.id) == id);
    Ok(match by_id {
        Some(i) => rows.into_iter().nth(i),
        None => rows.into_iter().next(),
    })
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, f: &GroupFilter) -> QueryResult<Vec<CustomerGroup>> {
    let mut q = customer_groups::table.filter(customer_groups::tenant_id.eq(tenant_id)).into_boxed();
    if let Some(code) = &f.code {
        q = q.filter(customer_groups::code.eq(code));
    }
    if let Some(name) = &f.name {
        q = q.filter(customer_groups::name.ilike(super::like_pattern(name)));
    }
    if let Some(after) = f.after {
        q = q.filter(customer_groups::id.gt(after));
    }
    q.order(customer_groups::id.asc()).limit(f.limit).select(CustomerGroup::as_select()).load(conn)
}

/// The members of these groups, by group and customer code.
pub fn members_of(conn: &mut PgConnection, tenant_id: Uuid, group_ids: &[Uuid]) -> QueryResult<Vec<Member>> {
    customer_group_members::table
        .inner_join(
            customers::table.on(customers::tenant_id
                .eq(customer_group_members::tenant_id)
                .and(customers::id.eq(customer_group_members::customer_id))),
        )
        .filter(customer_group_members::tenant_id.eq(tenant_id))
        .filter(customer_group_members::group_id.eq_any(group_ids))
        .order((customer_group_members::group_id, customers::code))
        .select((customer_group_members::group_id, customers::id, customers::code, customers::name))
        .load(conn)
}

/// The groups of these customers (customers in no group are absent).
pub fn memberships(conn: &mut PgConnection, tenant_id: Uuid, customer_ids: &[Uuid]) -> QueryResult<Vec<Membership>> {
    customer_group_members::table
        .inner_join(
            customer_groups::table.on(customer_groups::tenant_id
                .eq(customer_group_members::tenant_id)
                .and(customer_groups::id.eq(customer_group_members::group_id))),
        )
        .filter(customer_group_members::tenant_id.eq(tenant_id))
        .filter(customer_group_members::customer_id.eq_any(customer_ids))
        .select((
            customer_group_members::customer_id,
            customer_groups::id,
            customer_groups::code,
            customer_groups::name,
        ))
        .load(conn)
}

/// Makes `customer_ids` the members of the group: others are released, new ones added.
pub fn replace_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    customer_ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(customer_group_members::table)
        .filter(customer_group_members::tenant_id.eq(tenant_id))
        .filter(customer_group_members::group_id.eq(group_id))
        .filter(customer_group_members::customer_id.ne_all(customer_ids))
        .execute(conn)?;
    let rows: Vec<MemberRow> =
        customer_ids.iter().map(|&customer_id| MemberRow { tenant_id, customer_id, group_id, added_at: now }).collect();
    for chunk in rows.chunks(10_000) {
        diesel::insert_into(customer_group_members::table)
            .values(chunk)
            .on_conflict((customer_group_members::tenant_id, customer_group_members::customer_id))
            .do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// Every group of the tenant with its members' ids, by code: what a matching run and the
/// compiled rules (group codes in candidate conditions) read.
pub fn for_matching(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<GroupMembers>> {
    let rows: Vec<(Uuid, String, String, Option<Uuid>)> = customer_groups::table
        .left_join(
            customer_group_members::table.on(customer_group_members::tenant_id
                .eq(customer_groups::tenant_id)
                .and(customer_group_members::group_id.eq(customer_groups::id))),
        )
        .filter(customer_groups::tenant_id.eq(tenant_id))
        .order((customer_groups::code, customer_group_members::customer_id))
        .select((
            customer_groups::id,
            customer_groups::code,
            customer_groups::name,
            customer_group_members::customer_id.nullable(),
        ))
        .load(conn)?;
    let mut out: Vec<GroupMembers> = Vec::new();
    for (id, code, name, member) in rows {
        if out.last().is_none_or(|g| g.id != id) {
            out.push(GroupMembers { id, code, name, members: Vec::new() });
        }
        if let (Some(m), Some(g)) = (member, out.last_mut()) {
            g.members.push(m);
        }
    }
    Ok(out)
}
