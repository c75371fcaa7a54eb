//! Who is calling and what they may do. Roles grant permissions; an API key's scopes can only
//! narrow its role, never widen it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Accountant,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Accountant => "accountant",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "accountant" => Some(Role::Accountant),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
    fn grants(self, permission: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::Accountant => permission != Permission::Admin,
            Role::Viewer => permission == Permission::Read,
        }
    }
}

/// What an operation needs. The scope string of each is what API keys list in `scopes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read any of the tenant's data.
    Read,
    /// Create and change customers and ledger documents (ERP feeds).
    WriteLedger,
    /// Import bank statements (bank feeds).
    WriteBank,
    /// Run matching, confirm and reject allocations.
    WriteMatching,
    /// Collection work: log contacts and promises to pay, work and reassign collection tasks.
    WriteCollections,
    /// Change a customer's credit policy (limit, terms, prepayment, hold).
    WriteCredit,
    /// Manage users and API keys; read the audit trail.
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::Read,
        Permission::WriteLedger,
        Permission::WriteBank,
        Permission::WriteMatching,
        Permission::WriteCollections,
        Permission::WriteCredit,
        Permission::Admin,
    ];

    pub fn scope(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::WriteLedger => "ledger:write",
            Permission::WriteBank => "bank:write",
            Permission::WriteMatching => "matching:write",
            Permission::WriteCollections => "collections:write",
            Permission::WriteCredit => "credit:write",
            Permission::Admin => "admin",
        }
    }

    pub fn is_known_scope(scope: &str) -> bool {
        Self::ALL.iter().any(|p| p.scope() == scope)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey {
        id: Uuid,
    },
    User {
        id: Uuid,
    },
    /// The command line (`duizhang tenant create`): the operator of the installation.
    System,
    /// A connector's system pushing a request signed with the connector's push secret.
    Connector {
        id: Uuid,
    },
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::ApiKey { .. } => "api_key",
            Actor::User { .. } => "user",
            Actor::System => "system",
            Actor::Connector { .. } => "connector",
        }
    }
    pub fn id(&self) -> String {
        match self {
            Actor::ApiKey { id } | Actor::User { id } | Actor::Connector { id } => id.to_string(),
            Actor::System => "system".into(),
        }
    }
}

/// An authenticated caller, always bound to exactly one tenant.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
    pub role: Role,
    /// Empty: everything the role grants.
    pub scopes: Vec<String>,
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.grants(permission) && (self.scopes.is_empty() || self.scopes.iter().any(|s| s == permission.scope()))
    }
}

/// A customer's portal, authenticated by a customer-scoped token: it sees one customer of one
/// tenant and nothing else.
#[derive(Debug, Clone)]
pub struct PortalPrincipal {
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub customer_code: String,
    pub token_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, scopes: &[&str]) -> Principal {
        Principal {
            tenant_id: Uuid::nil(),
            actor: Actor::System,
            role,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn roles_grant_what_they_should() {
        assert!(principal(Role::Admin, &[]).can(Permission::Admin));
        assert!(principal(Role::Accountant, &[]).can(Permission::WriteLedger));
        assert!(!principal(Role::Accountant, &[]).can(Permission::Admin));
        assert!(principal(Role::Viewer, &[]).can(Permission::Read));
        assert!(!principal(Role::Viewer, &[]).can(Permission::WriteLedger));
    }

    #[test]
    fn scopes_narrow_but_never_widen() {
        let bank_feed = principal(Role::Accountant, &["bank:write"]);
        assert!(bank_feed.can(Permission::WriteBank));
        assert!(!bank_feed.can(Permission::WriteLedger));
        assert!(!bank_feed.can(Permission::Read));
        assert!(!principal(Role::Viewer, &["ledger:write"]).can(Permission::WriteLedger));
    }
}
