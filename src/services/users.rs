//! A tenant's users and their lifecycle (admin-only, audited): created with a password, disabled
//! and enabled again, their role changed, logged out everywhere, their password reset through a
//! one-time token an admin hands over, and deleted (softly: the row stays for the audit trail and
//! the address becomes free). Every step bumps the user's token version, so every token issued
//! before it stops working at the next request (`services::auth::authenticate`).

use super::require;
use crate::db::{audit as audit_db, password_resets, users};
use crate::domain::auth::{Actor, Permission, Principal, Role};
use crate::domain::customer::check_email;
use crate::error::{AppError, AppResult};
use crate::services::audit::entry;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "NewUserInput")]
pub struct NewUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// `active`, `disabled` or `deleted`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl From<users::User> for UserView {
    fn from(u: users::User) -> Self {
        let status = match (u.deleted_at, u.disabled_at) {
            (Some(_), _) => "deleted",
            (None, Some(_)) => "disabled",
            (None, None) => "active",
        };
        UserView {
            id: u.id,
            email: u.email,
            role: Role::parse(&u.role).unwrap_or(Role::Viewer),
            status: status.into(),
            created_at: u.created_at,
            disabled_at: u.disabled_at,
            deleted_at: u.deleted_at,
            password_changed_at: u.password_changed_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Role,
}

/// A password reset an admin hands to the user (as a link of their own front end).
#[derive(Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct PasswordResetIssued {
    pub user_id: Uuid,
    /// Shown only in this answer; redeemed once with `POST /auth/password-reset`.
    pub reset_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The password rules, checked before the (slow) hash is computed.
pub fn validate_password(field: &str, password: &str) -> AppResult<()> {
    if password.chars().count() < 12 {
        return Err(AppError::invalid(field, "must be at least 12 characters"));
    }
    if password.len() > 1024 {
        return Err(AppError::invalid(field, "must be at most 1024 bytes"));
    }
    Ok(())
}

/// The password hash is computed by the caller (slow, off the transaction).
pub fn validate_new_user(input: &NewUser) -> AppResult<()> {
    check_email(&input.email).map_err(|e| AppError::invalid("email", e))?;
    validate_password("password", &input.password)
}

pub fn create_user(
    conn: &mut PgConnection,
    principal: &Principal,
    input: NewUser,
    password_hash: String,
) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    validate_new_user(&input)?;
    let user = users::User {
        id: Uuid::now_v7(),
        tenant_id: principal.tenant_id,
        email: input.email.trim().to_string(),
        password_hash,
        role: input.role.as_str().into(),
        created_at: Utc::now(),
        disabled_at: None,
        token_version: 0,
        deleted_at: None,
        password_changed_at: None,
    };
    users::insert(conn, &user).map_err(|e| match AppError::from(e) {
        err if err.code == crate::error::ErrorCode::Conflict => {
            AppError::conflict("a user with this e-mail already exists")
        }
        err => err,
    })?;
    let mut e = entry(principal, "user.created", "user", &user.id.to_string());
    e.after = Some(serde_json::json!({ "email": user.email, "role": user.role }));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(user.into())
}

pub fn list_users(conn: &mut PgConnection, principal: &Principal) -> AppResult<Vec<UserView>> {
    require(principal, Permission::Admin)?;
    Ok(users::list(conn, principal.tenant_id)?.into_iter().map(UserView::from).collect())
}

pub fn get_user(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    Ok(target(conn, principal, id)?.into())
}

/// A not deleted user of the caller's tenant, locked for the change.
fn target(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<users::User> {
    users::find_for_update(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("user"))
}

/// An admin cannot lock themselves out (disable, delete, demote): another admin, an admin API
/// key or the command line can.
fn not_oneself(principal: &Principal, id: Uuid, what: &str) -> AppResult<()> {
    if principal.actor == (Actor::User { id }) {
        return Err(AppError::conflict(format!("you cannot {what} your own account; another admin can")));
    }
    Ok(())
}

/// Applies one lifecycle step and records it: `before` and `after` are the user's views.
fn apply(
    conn: &mut PgConnection,
    principal: &Principal,
    user: users::User,
    action: &str,
    change: users::UserChange,
) -> AppResult<UserView> {
    let before = UserView::from(user.clone());
    let updated = users::update(conn, principal.tenant_id, user.id, change)?;
    let after = UserView::from(updated);
    let mut e = entry(principal, action, "user", &user.id.to_string());
    e.before = Some(lifecycle_snapshot(&before));
    e.after = Some(lifecycle_snapshot(&after));
    audit_db::append(conn, principal.tenant_id, vec![e])?;
    Ok(after)
}

fn lifecycle_snapshot(v: &UserView) -> serde_json::Value {
    serde_json::json!({ "email": v.email, "role": v.role, "status": v.status })
}

pub fn set_role(conn: &mut PgConnection, principal: &Principal, id: Uuid, role: Role) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    if role != Role::Admin {
        not_oneself(principal, id, "demote")?;
    }
    let user = target(conn, principal, id)?;
    let change = users::UserChange { role: Some(role.as_str().into()), ..Default::default() };
    apply(conn, principal, user, "user.role_changed", change)
}

pub fn disable(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    not_oneself(principal, id, "disable")?;
    let user = target(conn, principal, id)?;
    let now = Utc::now();
    password_resets::retire_unused(conn, principal.tenant_id, id, now)?;
    let disabled_at = Some(user.disabled_at.unwrap_or(now));
    apply(
        conn,
        principal,
        user,
        "user.disabled",
        users::UserChange { disabled_at: Some(disabled_at), ..Default::default() },
    )
}

pub fn enable(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    let user = target(conn, principal, id)?;
    apply(conn, principal, user, "user.enabled", users::UserChange { disabled_at: Some(None), ..Default::default() })
}

/// Ends every session of the user (their tokens), without changing anything else.
pub fn logout_everywhere(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<UserView> {
    if principal.actor != (Actor::User { id }) {
        require(principal, Permission::Admin)?;
    }
    let user = target(conn, principal, id)?;
    apply(conn, principal, user, "user.logged_out_everywhere", users::UserChange::default())
}

pub fn delete(conn: &mut PgConnection, principal: &Principal, id: Uuid) -> AppResult<UserView> {
    require(principal, Permission::Admin)?;
    not_oneself(principal, id, "delete")?;
    let user = target(conn, principal, id)?;
    let now = Utc::now();
    password_resets::retire_unused(conn, principal.tenant_id, id, now)?;
    apply(
        conn,
        principal,
        user,
        "user.deleted",
        users::UserChange { deleted_at: Some(Some(now)), ..Default::default() },
    )
}

/// A one-time reset token for the user, valid for `ttl`. The current password stops working and
/// every session ends at once: the token is how the user gets back in (it also cuts off whoever
/// had taken over the account). Earlier unused tokens of the user end.
pub fn issue_password_reset(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    ttl: std::time::Duration,
) -> AppResult<PasswordResetIssued> {
    require(principal, Permission::Admin)?;
    let user = target(conn, principal, id)?;
    if user.disabled_at.is_some() {
        return Err(AppError::conflict("the user is disabled: enable them first"));
    }
    let now = Utc::now();
    password_resets::retire_unused(conn, principal.tenant_id, id, now)?;
    let (token, token_hash) = super::auth::generate_reset_token();
    let expires_at = now + chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    password_resets::insert(
        conn,
        &password_resets::PasswordResetToken {
            id: Uuid::now_v7(),
            tenant_id: principal.tenant_id,
            user_id: id,
            token_hash,
            created_at: now,
            expires_at,
            used_at: None,
        },
    )?;
    let change = users::UserChange { password_hash: Some(super::auth::UNUSABLE_PASSWORD.into()), ..Default::default() };
    apply(conn, principal, user, "user.password_reset_issued", change)?;
    Ok(PasswordResetIssued { user_id: id, reset_token: token, expires_at })
}

/// Redeems a reset token (no credentials: the token is the proof): sets the new password, whose
/// hash the caller computed, and uses the token up. Every failure looks the same.
pub fn complete_password_reset(conn: &mut PgConnection, token_hash: &str, password_hash: String) -> AppResult<()> {
    let now = Utc::now();
    let invalid = || AppError::unauthenticated("the reset token is unknown, used or expired");
    let token = password_resets::find_usable_for_update(conn, token_hash, now)?.ok_or_else(invalid)?;
    let user = users::find_for_update(conn, token.tenant_id, token.user_id)?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(invalid)?;
    password_resets::mark_used(conn, token.tenant_id, token.id, now)?;
    let role = Role::parse(&user.role).ok_or_else(|| AppError::internal("user with unknown role"))?;
    let user_principal =
        Principal { tenant_id: user.tenant_id, actor: Actor::User { id: user.id }, role, scopes: vec![] };
    let change = users::UserChange {
        password_hash: Some(password_hash),
        password_changed_at: Some(Some(now)),
        ..Default::default()
    };
    apply(conn, &user_principal, user, "user.password_reset_completed", change)?;
    Ok(())
}

/// The caller's own password change: `verified_hash` is the stored hash the current password was
/// checked against (off the transaction); a change in between refuses this one.
pub fn change_own_password(
    conn: &mut PgConnection,
    principal: &Principal,
    verified_hash: &str,
    new_hash: String,
) -> AppResult<users::User> {
    let Actor::User { id } = principal.actor else {
        return Err(AppError::forbidden("only a user's own token can change its password"));
    };
    let user = target(conn, principal, id)?;
    if user.password_hash != verified_hash {
        return Err(AppError::conflict("the password changed meanwhile: try again"));
    }
    let change = users::UserChange {
        password_hash: Some(new_hash),
        password_changed_at: Some(Some(Utc::now())),
        ..Default::default()
    };
    apply(conn, principal, user, "user.password_changed", change)?;
    users::find_for_update(conn, principal.tenant_id, id)?.ok_or_else(|| AppError::not_found("user"))
}

/// The command line's principal for a tenant: the operator of the installation.
pub fn system_principal(tenant_id: Uuid) -> Principal {
    Principal { tenant_id, actor: Actor::System, role: Role::Admin, scopes: vec![] }
}

/// A not deleted user of the tenant by address (the command line names users so).
pub fn find_by_email(conn: &mut PgConnection, tenant_id: Uuid, email: &str) -> AppResult<UserView> {
    users::find_by_email(conn, tenant_id, email)?
        .map(UserView::from)
        .ok_or_else(|| AppError::not_found(format!("user {email:?} in this tenant")))
}
