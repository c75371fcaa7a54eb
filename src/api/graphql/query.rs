//! Long file: the GraphQL query root is one object holding every query field of the API, each a thin call
//! into a service; splitting it would rename the root type clients see.

use super::page::Page;
use super::{max_limit, run, run_portal, run_read};
use crate::db::audit::AuditFilter;
use crate::domain::customer::CustomerStatus;
use crate::domain::difference::{DifferenceKind, DifferenceStatus};
use crate::domain::difference_cause::{Cause, SubCause};
use crate::domain::document::{DocStatus, DocType};
use crate::domain::work_order::{SlaHours, WorkOrderStatus};
use crate::services::audit::{self, AuditEntryView, ChainVerification};
use crate::services::bank::{self, BankAccountView, BankLineQuery, BankLineStatus, BankLineView, ImportedStatement};
use crate::services::cash_application::{
    self as matching, AllocationQuery, AllocationView, DryRunReport, DryRunRequest, LearnedFactDetail,
    LearnedFactQuery, LearnedFactView, RunView,
};
use crate::services::collection_tasks::{self, CollectionTaskView};
use crate::services::connectors::{self, ConnectorSyncView, ConnectorView};
use crate::services::contact_log::{self, ContactLogEntry};
use crate::services::credit_check::{self, CreditCheckView};
use crate::services::credit_policy::{self, CreditPolicyView};
use crate::services::credit_rules::{self, CreditRule};
use crate::services::customer_statements::{self as statements, StatementView};
use crate::services::customers::{self, CustomerBalance, CustomerQuery, CustomerView};
use crate::services::difference_causes::{self, CauseReport, CauseReportQuery};
use crate::services::differences::{self, DifferenceDetail, DifferenceQuery, DifferenceView};
use crate::services::documents::{self, DocumentQuery, DocumentView};
use crate::services::pagination::effective_limit;
use crate::services::payment_behaviour::{self, BehaviourQuery, PaymentBehaviour};
use crate::services::portal::{self, PortalAccount, StatementOfAccount};
use crate::services::promises::{self, PromiseView};
use crate::services::reports::{
    self, AgingBasis, AgingQuery, AgingReport, CollectionQuery, CollectionReport, OverdueRanking,
};
use crate::services::users::{self, UserView};
use crate::services::webhooks::{self, DeliveryQuery, WebhookDeliveryDetail, WebhookDeliveryView, WebhookEndpointView};
use crate::services::work_orders::{self, WorkOrderQuery, WorkOrderView};
use async_graphql::{ComplexObject, Context, Object};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

type CustomerPage = Page<CustomerView>;
type DocumentPage = Page<DocumentView>;
type BankLinePage = Page<BankLineView>;
type AllocationPage = Page<AllocationView>;
type LearnedFactPage = Page<LearnedFactView>;
type AuditPage = Page<AuditEntryView>;
type DifferencePage = Page<DifferenceView>;
type WebhookEndpointPage = Page<WebhookEndpointView>;
type WebhookDeliveryPage = Page<WebhookDeliveryView>;
type ConnectorPage = Page<ConnectorView>;
type ConnectorSyncPage = Page<ConnectorSyncView>;
type WorkOrderPage = Page<WorkOrderView>;
type CollectionTaskPage = Page<CollectionTaskView>;
type ContactLogPage = Page<ContactLogEntry>;

/// The query root: the fields below and those of the files beside this one.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "QueryRootFields")]
pub struct QueryRoot(CoreQuery, super::query_master_data::MasterDataQuery);

#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// Differences found by statement reconciliation.
    #[allow(clippy::too_many_arguments)]
    async fn differences(
        &self,
        ctx: &Context<'_>,
        customer: Option<String>,
        status: Option<Vec<DifferenceStatus>>,
        kind: Option<DifferenceKind>,
        statement_id: Option<Uuid>,
        limit: Option<i64>,
        cursor: Option<String>,
        cause: Option<Cause>,
        sub_cause: Option<SubCause>,
    ) -> async_graphql::Result<DifferencePage> {
        let max = max_limit(ctx);
        let status = status.map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","));
        let q = DifferenceQuery {
            customer,
            status,
            kind: kind.map(|k| k.as_str().to_string()),
            cause: cause.map(|c| c.as_str().to_string()),
            sub_cause: sub_cause.map(|c| c.as_str().to_string()),
            statement_id,
            cursor,
            limit,
        };
        let page = run(ctx, move |conn, p| differences::list(conn, p, q, max)).await?;
        Ok(DifferencePage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Differences counted per cause and sub-cause.
    async fn differences_by_cause(
        &self,
        ctx: &Context<'_>,
        customer: Option<String>,
        status: Option<Vec<DifferenceStatus>>,
    ) -> async_graphql::Result<CauseReport> {
        let status = status.map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","));
        let q = CauseReportQuery { customer, status };
        run(ctx, move |conn, p| difference_causes::report(conn, p, q)).await
    }

    /// Dispute work orders, filtered like `GET /work-orders`.
    #[allow(clippy::too_many_arguments)]
    async fn work_orders(
        &self,
        ctx: &Context<'_>,
        assignee: Option<Uuid>,
        status: Option<Vec<WorkOrderStatus>>,
        due_before: Option<DateTime<Utc>>,
        due_after: Option<DateTime<Utc>>,
        cause: Option<Cause>,
        customer: Option<String>,
        #[graphql(desc = "opened (default) or due_at (soonest due first)")] sort: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<WorkOrderPage> {
        let max = max_limit(ctx);
        let status = status.map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","));
        let cause = cause.map(|c| c.as_str().to_string());
        let q = WorkOrderQuery { assignee, status, due_before, due_after, cause, customer, sort, cursor, limit };
        let page = run(ctx, move |conn, p| work_orders::list(conn, p, q, max)).await?;
        Ok(WorkOrderPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Learned facts (payer IBAN or name -> customer, combined payments), filtered like
    /// `GET /learned-facts`.
    async fn learned_facts(
        &self,
        ctx: &Context<'_>,
        kind: Option<String>,
        customer: Option<String>,
        include_revoked: Option<bool>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<LearnedFactPage> {
        let max = max_limit(ctx);
        let q = LearnedFactQuery { kind, customer, include_revoked, limit, cursor };
        let page = run(ctx, move |conn, p| matching::list_learned_facts(conn, p, q, max)).await?;
        Ok(LearnedFactPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// One learned fact with its provenance.
    async fn learned_fact(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<LearnedFactDetail> {
        run(ctx, move |conn, p| matching::get_learned_fact(conn, p, id)).await
    }

    /// One work order with its links and comments.
    async fn work_order(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<WorkOrderView> {
        run(ctx, move |conn, p| work_orders::get(conn, p, id)).await
    }

    /// The service levels (hours to resolve) per cause.
    async fn work_order_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<SlaHours> {
        run(ctx, work_orders::get_settings).await
    }

    /// One difference with its comment thread.
    async fn difference(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<DifferenceDetail> {
        run(ctx, move |conn, p| differences::get(conn, p, id)).await
    }

    /// A customer statement with its balances and differences.
    async fn customer_statement(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<StatementView> {
        run(ctx, move |conn, p| statements::get(conn, p, id)).await
    }

    /// Statement of account: running balance per currency.
    async fn statement_of_account(
        &self,
        ctx: &Context<'_>,
        customer_code: String,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        #[graphql(desc = "Invoices and credit notes show their lines.")] lines: Option<bool>,
    ) -> async_graphql::Result<StatementOfAccount> {
        run(ctx, move |conn, p| {
            let mut st = portal::tenant_statement_of_account(conn, p, &customer_code, from, to)?;
            if lines.unwrap_or(false) {
                portal::add_document_lines(conn, p.tenant_id, &mut st)?;
            }
            Ok(st)
        })
        .await
    }

    /// AR aging as of a date (default today); `buckets`: upper bounds of the overdue buckets.
    async fn aging_report(
        &self,
        ctx: &Context<'_>,
        as_of: Option<NaiveDate>,
        basis: Option<AgingBasis>,
        buckets: Option<Vec<i32>>,
        customer: Option<String>,
        #[graphql(desc = "A customer group's code: its members' rows, totals for the group.")] group: Option<String>,
    ) -> async_graphql::Result<AgingReport> {
        let buckets = buckets.map(|b| b.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
        let q = AgingQuery { as_of, basis, buckets, customer, group, format: None };
        run(ctx, move |conn, p| reports::aging(conn, p, &q)).await
    }

    /// Collection figures and DSO over `days` (default 90) ending on `as_of`.
    async fn collection_report(
        &self,
        ctx: &Context<'_>,
        as_of: Option<NaiveDate>,
        days: Option<i32>,
        #[graphql(desc = "A customer group's code: its members, and totals (DSO) for the group.")] group: Option<
            String,
        >,
    ) -> async_graphql::Result<CollectionReport> {
        let q = CollectionQuery { as_of, days, limit: None, group, rank_by: None };
        run(ctx, move |conn, p| reports::collections(conn, p, &q)).await
    }

    /// Customers ranked by overdue amount in the base currency.
    async fn overdue_ranking(
        &self,
        ctx: &Context<'_>,
        as_of: Option<NaiveDate>,
        limit: Option<i64>,
        #[graphql(desc = "A customer group's code: its members only.")] group: Option<String>,
        #[graphql(desc = "overdue (default) or risk (weighted by the payment-behaviour score)")] rank_by: Option<
            String,
        >,
    ) -> async_graphql::Result<OverdueRanking> {
        let q = CollectionQuery { as_of, days: None, limit, group, rank_by };
        run(ctx, move |conn, p| reports::overdue_ranking(conn, p, &q)).await
    }

    /// The tenant's dunning levels.
    async fn dunning_levels(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::services::dunning::DunningLevel>> {
        run(ctx, crate::services::dunning::get_levels).await
    }

    /// A customer's dunning level, credit hold and history.
    async fn customer_dunning(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<crate::services::dunning::CustomerDunning> {
        run(ctx, move |conn, p| crate::services::dunning::customer_state(conn, p, &code)).await
    }

    /// Weekly recovery figures per dunning level.
    async fn dunning_recovery(
        &self,
        ctx: &Context<'_>,
        until: Option<NaiveDate>,
        weeks: Option<i32>,
    ) -> async_graphql::Result<Vec<crate::services::dunning::RecoveryFigure>> {
        let q = crate::services::dunning::RecoveryQuery { until, weeks };
        run(ctx, move |conn, p| crate::services::dunning::recovery(conn, p, q)).await
    }

    /// Collection tasks, oldest first (filters as in REST).
    async fn collection_tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<collection_tasks::TaskQuery>,
    ) -> async_graphql::Result<CollectionTaskPage> {
        let q = filter.unwrap_or_default();
        let page = run(ctx, move |conn, p| collection_tasks::list(conn, p, q)).await?;
        Ok(CollectionTaskPage { items: page.items, next_cursor: page.next_cursor })
    }

    async fn collection_task(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<CollectionTaskView> {
        run(ctx, move |conn, p| collection_tasks::get(conn, p, id)).await
    }

    /// A customer's contact log, newest first.
    async fn contact_log(
        &self,
        ctx: &Context<'_>,
        code: String,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ContactLogPage> {
        let q = contact_log::ContactLogQuery { limit, cursor };
        let page = run(ctx, move |conn, p| contact_log::list(conn, p, &code, q)).await?;
        Ok(ContactLogPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// A customer's promises to pay, newest first.
    async fn promises(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<Vec<PromiseView>> {
        run(ctx, move |conn, p| promises::of_customer(conn, p, &code)).await
    }

    /// A customer's credit policy and its history.
    async fn credit_policy(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<CreditPolicyView> {
        run(ctx, move |conn, p| credit_policy::get(conn, p, &code)).await
    }

    /// May the customer order this much? Allowed or not, why, and the figures.
    async fn credit_check(
        &self,
        ctx: &Context<'_>,
        code: String,
        amount: String,
        currency: Option<String>,
    ) -> async_graphql::Result<CreditCheckView> {
        let q = credit_check::CreditCheckQuery { amount: Some(amount), currency };
        run(ctx, move |conn, p| credit_check::check(conn, p, &code, q)).await
    }

    /// The tenant's credit rules.
    async fn credit_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CreditRule>> {
        run(ctx, credit_rules::get).await
    }

    /// A statement run's progress.
    async fn statement_run(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<crate::services::statement_runs::StatementRunView> {
        run(ctx, move |conn, p| crate::services::statement_runs::get(conn, p, id)).await
    }

    /// Portal (customer token only): the customer's account.
    async fn portal_account(&self, ctx: &Context<'_>) -> async_graphql::Result<PortalAccount> {
        run_portal(ctx, portal::account).await
    }

    /// Portal (customer token only): the customer's statement of account.
    async fn portal_statement_of_account(
        &self,
        ctx: &Context<'_>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        #[graphql(desc = "Invoices and credit notes show their lines.")] lines: Option<bool>,
    ) -> async_graphql::Result<StatementOfAccount> {
        run_portal(ctx, move |conn, c| {
            let mut st = portal::portal_statement_of_account(conn, c, from, to)?;
            if lines.unwrap_or(false) {
                portal::add_document_lines(conn, c.tenant_id, &mut st)?;
            }
            Ok(st)
        })
        .await
    }

    /// Portal (customer token only): differences sent to the customer.
    async fn portal_differences(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<DifferencePage> {
        let max = max_limit(ctx);
        let page =
            run_portal(ctx, move |conn, c| differences::list_for_customer(conn, c, cursor.as_deref(), limit, max))
                .await?;
        Ok(DifferencePage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Portal (customer token only): one difference with its thread.
    async fn portal_difference(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<DifferenceDetail> {
        run_portal(ctx, move |conn, c| differences::get_for_customer(conn, c, id)).await
    }

    /// Customers, filtered, one page at a time.
    async fn customers(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        name: Option<String>,
        status: Option<CustomerStatus>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<CustomerPage> {
        let max = max_limit(ctx);
        let q = CustomerQuery { code, name, status, limit, cursor };
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        let page = run(ctx, move |conn, p| customers::list(conn, p, &keys, q, max)).await?;
        Ok(CustomerPage { items: page.items, next_cursor: page.next_cursor })
    }

    async fn customer(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<CustomerView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| customers::get(conn, p, &keys, &code)).await
    }

    /// The customer's contacts and addresses.
    async fn customer_contacts(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Vec<crate::services::customer_contacts::ContactView>> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run_read(ctx, move |conn, p| crate::services::customer_contacts::list(conn, p, &keys, &code)).await
    }

    /// Open items and balance per currency.
    async fn customer_balance(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<CustomerBalance> {
        run_read(ctx, move |conn, p| customers::balance(conn, p, &code)).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        customer: Option<String>,
        doc_type: Option<DocType>,
        status: Option<DocStatus>,
        issued_from: Option<NaiveDate>,
        issued_to: Option<NaiveDate>,
        due_before: Option<NaiveDate>,
        open_only: Option<bool>,
        currency: Option<String>,
        q: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<DocumentPage> {
        let max = max_limit(ctx);
        let query = DocumentQuery {
            customer,
            doc_type,
            status,
            issued_from,
            issued_to,
            due_before,
            open_only,
            currency,
            q,
            limit,
            cursor,
        };
        let page = run_read(ctx, move |conn, p| documents::list(conn, p, query, max)).await?;
        Ok(DocumentPage { items: page.items, next_cursor: page.next_cursor })
    }

    async fn document(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<DocumentView> {
        run_read(ctx, move |conn, p| documents::get(conn, p, id)).await
    }

    async fn bank_accounts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BankAccountView>> {
        run(ctx, bank::list_accounts).await
    }

    /// Bank lines, filtered, one page at a time. Amounts are signed decimal strings.
    #[allow(clippy::too_many_arguments)]
    async fn bank_lines(
        &self,
        ctx: &Context<'_>,
        bank_account: Option<String>,
        statement: Option<Uuid>,
        booked_from: Option<NaiveDate>,
        booked_to: Option<NaiveDate>,
        min_amount: Option<String>,
        max_amount: Option<String>,
        status: Option<BankLineStatus>,
        q: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<BankLinePage> {
        let max = max_limit(ctx);
        let query = BankLineQuery {
            bank_account,
            statement,
            booked_from,
            booked_to,
            min_amount,
            max_amount,
            status,
            q,
            limit,
            cursor,
        };
        let page = run(ctx, move |conn, p| bank::list_lines(conn, p, query, max)).await?;
        Ok(BankLinePage { items: page.items, next_cursor: page.next_cursor })
    }

    async fn bank_statement(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<ImportedStatement> {
        run(ctx, move |conn, p| bank::get_statement(conn, p, id)).await
    }

    /// A matching run: status, progress and outcome counts.
    async fn reconciliation(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RunView> {
        run(ctx, move |conn, p| matching::get_run(conn, p, id)).await
    }

    /// Allocations of bank lines to documents, with their state, confidence and explanation.
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        reconciliation_id: Option<Uuid>,
        bank_line_id: Option<Uuid>,
        state: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<AllocationPage> {
        let max = max_limit(ctx);
        let q = AllocationQuery { reconciliation_id, bank_line_id, state, limit, cursor };
        let page = run(ctx, move |conn, p| matching::list_allocations(conn, p, q, max)).await?;
        Ok(AllocationPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Tries a draft rule set over chosen lines without writing anything: each line's outcome under
    /// the live rules and under the draft, and what changes (as `POST /matching-rules/dry-run`).
    async fn matching_rules_dry_run(
        &self,
        ctx: &Context<'_>,
        input: DryRunRequest,
    ) -> async_graphql::Result<DryRunReport> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| matching::dry_run(conn, &keys, p, input)).await
    }

    /// The audit trail, oldest first (admin).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        entity_type: Option<String>,
        entity_id: Option<String>,
        action: Option<String>,
        limit: Option<i64>,
        after_seq: Option<i64>,
    ) -> async_graphql::Result<AuditPage> {
        let max = max_limit(ctx);
        let page = run(ctx, move |conn, p| {
            let filter = AuditFilter { entity_type, entity_id, action, after_seq, limit: effective_limit(limit, max)? };
            audit::list(conn, p, filter)
        })
        .await?;
        Ok(AuditPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// The tenant's webhook endpoints (secrets are never shown here).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<WebhookEndpointPage> {
        let max = max_limit(ctx);
        let page = run(ctx, move |conn, p| webhooks::list_endpoints(conn, p, limit, cursor.as_deref(), max)).await?;
        Ok(WebhookEndpointPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Deliveries of one webhook endpoint, oldest first; `status`: pending, succeeded, failed, cancelled.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Uuid,
        status: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<WebhookDeliveryPage> {
        let max = max_limit(ctx);
        let q = DeliveryQuery { status, limit, cursor };
        let page = run(ctx, move |conn, p| webhooks::list_deliveries(conn, p, endpoint_id, q, max)).await?;
        Ok(WebhookDeliveryPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// One delivery with its payload and attempts.
    async fn webhook_delivery(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<WebhookDeliveryDetail> {
        run(ctx, move |conn, p| webhooks::get_delivery(conn, p, id)).await
    }

    /// The tenant's connectors (credentials are never shown, only `hasCredentials`).
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ConnectorPage> {
        let max = max_limit(ctx);
        let page = run(ctx, move |conn, p| connectors::list(conn, p, limit, cursor.as_deref(), max)).await?;
        Ok(ConnectorPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// One connector with its cursor and last outcome.
    async fn connector(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<ConnectorView> {
        run(ctx, move |conn, p| connectors::get(conn, p, id)).await
    }

    /// A connector's sync history, newest first.
    async fn connector_syncs(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ConnectorSyncPage> {
        let max = max_limit(ctx);
        let page = run(ctx, move |conn, p| connectors::syncs(conn, p, id, limit, cursor.as_deref(), max)).await?;
        Ok(ConnectorSyncPage { items: page.items, next_cursor: page.next_cursor })
    }

    /// Recompute the audit hash chain (admin).
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> async_graphql::Result<ChainVerification> {
        run(ctx, audit::verify).await
    }

    /// The tenant's users, deleted ones left out (admin).
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserView>> {
        run(ctx, users::list_users).await
    }

    /// One user of the tenant (admin).
    async fn user(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::get_user(conn, p, id)).await
    }
}

#[ComplexObject]
impl CustomerView {
    /// The customer's payment behaviour over `days` (default 365) up to `asOf` (default today).
    async fn payment_behaviour(
        &self,
        ctx: &Context<'_>,
        as_of: Option<NaiveDate>,
        days: Option<i32>,
    ) -> async_graphql::Result<PaymentBehaviour> {
        let code = self.code.clone();
        let q = BehaviourQuery { as_of, days };
        run_read(ctx, move |conn, p| payment_behaviour::of_code(conn, p, &code, &q)).await
    }
}
