//! Downloadable import templates: the same for every tenant, behind the tenant's credentials
//! like the rest of the API (a template names the tenant's endpoints and nothing else).

use crate::domain::auth::{Permission, Principal};
use crate::domain::sheet_columns::TemplateKind;
use crate::error::{AppError, AppResult};
use crate::reports::templates::list_values;
use crate::services::require;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    /// `customers`, `products`, `customer-contacts`, `documents`, `bank-statement` or
    /// `customer-statement`.
    pub kind: String,
    pub title: String,
    /// Where to download it.
    pub download: String,
    /// Where a filled template is sent.
    pub send_to: String,
    pub columns: Vec<TemplateColumn>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateColumn {
    /// The header (the CSV column name).
    pub name: String,
    /// The Chinese label, accepted as the header too.
    pub label: String,
    pub required: bool,
    pub format: String,
    /// The values a column with a drop-down list takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    pub example: String,
}

fn view(kind: TemplateKind) -> TemplateView {
    TemplateView {
        kind: kind.as_str().to_string(),
        title: kind.title().to_string(),
        download: format!("/api/v1/templates/{}.xlsx", kind.as_str()),
        send_to: kind.endpoint().to_string(),
        columns: kind
            .columns()
            .iter()
            .map(|c| TemplateColumn {
                name: c.name.to_string(),
                label: c.label.to_string(),
                required: c.required,
                format: c.help.to_string(),
                values: list_values(c.cell).map(|v| v.iter().map(|s| s.to_string()).collect()),
                example: c.example.to_string(),
            })
            .collect(),
    }
}

pub fn list(principal: &Principal) -> AppResult<Vec<TemplateView>> {
    require(principal, Permission::Read)?;
    Ok(TemplateKind::ALL.into_iter().map(view).collect())
}

/// The template's kind from its file name's stem; unknown kinds are 404 naming the kinds.
pub fn kind(name: &str) -> AppResult<TemplateKind> {
    TemplateKind::parse(name).ok_or_else(|| {
        let kinds: Vec<&str> = TemplateKind::ALL.iter().map(|k| k.as_str()).collect();
        AppError::not_found(format!("template {name:?} (templates: {})", kinds.join(", ")))
    })
}

/// The workbook of a template, and its file name.
pub fn render(principal: &Principal, name: &str) -> AppResult<(Vec<u8>, String)> {
    require(principal, Permission::Read)?;
    workbook(kind(name)?)
}

/// The customer statement template, for a customer's portal token.
pub fn customer_statement() -> AppResult<(Vec<u8>, String)> {
    workbook(TemplateKind::CustomerStatement)
}

fn workbook(kind: TemplateKind) -> AppResult<(Vec<u8>, String)> {
    let bytes = crate::reports::templates::template(kind).map_err(AppError::internal)?;
    Ok((bytes, format!("duizhang-template-{}.xlsx", kind.as_str())))
}
