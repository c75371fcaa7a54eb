//! Queries on master data beside customers: products and services, customer groups (and a
//! group's statement of account).

use super::page::Page;
use super::{max_limit, run, run_read};
use crate::services::customer_groups::{self as groups, CustomerGroupQuery, CustomerGroupView};
use crate::services::portal::{self, StatementOfAccount};
use crate::services::products::{self, ProductQuery, ProductView};
use async_graphql::{Context, Object};
use chrono::NaiveDate;

type ProductPage = Page<ProductView>;
type CustomerGroupPage = Page<CustomerGroupView>;

#[derive(Default)]
pub struct MasterDataQuery;

#[Object]
impl MasterDataQuery {
    /// Products and services, filtered, one page at a time.
    async fn products(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        name: Option<String>,
        active: Option<bool>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ProductPage> {
        let max = max_limit(ctx);
        let q = ProductQuery { code, name, active, limit, cursor };
        let page = run_read(ctx, move |conn, p| products::list(conn, p, q, max)).await?;
        Ok(ProductPage { items: page.items, next_cursor: page.next_cursor })
    }

    async fn product(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<ProductView> {
        run_read(ctx, move |conn, p| products::get(conn, p, &code)).await
    }

    /// Customer groups (a parent company and its subsidiaries) with their members.
    async fn customer_groups(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        name: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<CustomerGroupPage> {
        let max = max_limit(ctx);
        let q = CustomerGroupQuery { code, name, limit, cursor };
        let page = run(ctx, move |conn, p| groups::list(conn, p, q, max)).await?;
        Ok(CustomerGroupPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// One customer group by code (or id).
    async fn customer_group(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<CustomerGroupView> {
        run(ctx, move |conn, p| groups::get(conn, p, &code)).await
    }

    /// A customer group's statement of account: its members' items together, each naming its member.
    async fn group_statement_of_account(
        &self,
        ctx: &Context<'_>,
        code: String,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        #[graphql(desc = "Invoices and credit notes show their lines.")] lines: Option<bool>,
    ) -> async_graphql::Result<StatementOfAccount> {
        run(ctx, move |conn, p| {
            let mut st = crate::services::statement_of_account::group_statement_of_account(conn, p, &code, from, to)?;
            if lines.unwrap_or(false) {
                portal::add_document_lines(conn, p.tenant_id, &mut st)?;
            }
            Ok(st)
        })
        .await
    }
}
