//! GraphQL input types that differ from the REST bodies: patches use `MaybeUndefined` to tell
//! "leave as is" from "clear".

use crate::domain::customer::CustomerStatus;
use crate::domain::product::ProductKind;
use crate::services::collection_tasks::TaskPatch;
use crate::services::customer_contacts::ContactPatch;
use crate::services::customer_groups::CustomerGroupPatch;
use crate::services::customers::CustomerPatch;
use crate::services::documents::DocumentPatch;
use crate::services::instalments::InstalmentInput;
use crate::services::products::ProductPatch;
use async_graphql::{InputObject, MaybeUndefined};
use chrono::NaiveDate;

fn tri<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[derive(InputObject)]
pub struct CustomerPatchInput {
    pub name: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub country: MaybeUndefined<String>,
    pub bank_accounts: Option<Vec<String>>,
    pub email: MaybeUndefined<String>,
    pub default_currency: MaybeUndefined<String>,
    pub payment_terms_days: MaybeUndefined<i32>,
    pub credit_limit: MaybeUndefined<String>,
    pub status: Option<CustomerStatus>,
    pub owner_user_id: MaybeUndefined<uuid::Uuid>,
}

impl From<CustomerPatchInput> for CustomerPatch {
    fn from(p: CustomerPatchInput) -> Self {
        CustomerPatch {
            name: p.name,
            aliases: p.aliases,
            country: tri(p.country),
            bank_accounts: p.bank_accounts,
            email: tri(p.email),
            default_currency: tri(p.default_currency),
            payment_terms_days: tri(p.payment_terms_days),
            credit_limit: tri(p.credit_limit),
            status: p.status,
            owner_user_id: tri(p.owner_user_id),
        }
    }
}

#[derive(InputObject)]
pub struct DocumentPatchInput {
    pub issue_date: Option<NaiveDate>,
    pub due_date: MaybeUndefined<NaiveDate>,
    pub currency: Option<String>,
    pub amount: Option<String>,
    pub external_reference: MaybeUndefined<String>,
    pub source_system: MaybeUndefined<String>,
    /// Replaces all lines (an empty list removes them).
    pub lines: Option<Vec<crate::services::document_lines::DocumentLineInput>>,
    /// Replaces the instalment plan; null or [] removes it.
    pub instalments: MaybeUndefined<Vec<InstalmentInput>>,
}

impl From<DocumentPatchInput> for DocumentPatch {
    fn from(p: DocumentPatchInput) -> Self {
        DocumentPatch {
            issue_date: p.issue_date,
            due_date: tri(p.due_date),
            currency: p.currency,
            amount: p.amount,
            external_reference: tri(p.external_reference),
            source_system: tri(p.source_system),
            lines: p.lines,
            instalments: tri(p.instalments),
        }
    }
}

#[derive(InputObject)]
pub struct ProductPatchInput {
    pub name: Option<String>,
    pub kind: Option<ProductKind>,
    pub unit: MaybeUndefined<String>,
    pub default_price: MaybeUndefined<String>,
    pub currency: MaybeUndefined<String>,
    pub tax_rate: MaybeUndefined<String>,
    pub active: Option<bool>,
    /// Replaces the product's dated rates (`[]` removes them).
    pub tax_rate_history: Option<Vec<crate::domain::product::TaxRateChange>>,
}

impl From<ProductPatchInput> for ProductPatch {
    fn from(p: ProductPatchInput) -> Self {
        ProductPatch {
            name: p.name,
            kind: p.kind,
            unit: tri(p.unit),
            default_price: tri(p.default_price),
            currency: tri(p.currency),
            tax_rate: tri(p.tax_rate),
            active: p.active,
            tax_rate_history: p.tax_rate_history,
        }
    }
}

/// Absent fields stay; `parentCustomer: null` clears the parent (it stays a member).
#[derive(InputObject)]
pub struct CustomerGroupPatchInput {
    pub name: Option<String>,
    pub parent_customer: MaybeUndefined<String>,
}

impl From<CustomerGroupPatchInput> for CustomerGroupPatch {
    fn from(p: CustomerGroupPatchInput) -> Self {
        CustomerGroupPatch { name: p.name, parent_customer: tri(p.parent_customer) }
    }
}

#[derive(InputObject)]
pub struct ContactPatchInput {
    pub name: Option<String>,
    pub role: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub address_lines: Option<Vec<String>>,
    pub postal_code: MaybeUndefined<String>,
    pub city: MaybeUndefined<String>,
    pub country: MaybeUndefined<String>,
    pub for_statements: Option<bool>,
    pub for_dunning: Option<bool>,
}

impl From<ContactPatchInput> for ContactPatch {
    fn from(p: ContactPatchInput) -> Self {
        ContactPatch {
            name: p.name,
            role: tri(p.role),
            email: tri(p.email),
            phone: tri(p.phone),
            address_lines: p.address_lines,
            postal_code: tri(p.postal_code),
            city: tri(p.city),
            country: tri(p.country),
            for_statements: p.for_statements,
            for_dunning: p.for_dunning,
        }
    }
}

#[derive(InputObject)]
pub struct CollectionTaskPatchInput {
    /// open | done | cancelled
    pub status: Option<String>,
    /// Reassign (null: unassigned).
    pub assignee_user_id: MaybeUndefined<uuid::Uuid>,
    pub due_on: Option<NaiveDate>,
    pub note: Option<String>,
}

impl From<CollectionTaskPatchInput> for TaskPatch {
    fn from(p: CollectionTaskPatchInput) -> Self {
        TaskPatch { status: p.status, assignee_user_id: tri(p.assignee_user_id), due_on: p.due_on, note: p.note }
    }
}
