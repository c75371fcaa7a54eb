use super::inputs::{CollectionTaskPatchInput, CustomerPatchInput, DocumentPatchInput};
use super::{run, run_portal};
use crate::domain::auth::Role;
use crate::domain::work_order::SlaHours;
use crate::error::AppError;
use crate::services::auth::{self, TokenResponse};
use crate::services::cash_application::{
    self as matching, AllocationView, LearnedFactDetail, ManualAllocation, RunRequest, RunView,
};
use crate::services::connectors::{self, ConnectorInput, ConnectorPatch, ConnectorView};
use crate::services::customer_statements::{self as statements, Source, StatementInput, StatementView};
use crate::services::customers::{self, CustomerInput, CustomerView};
use crate::services::difference_causes::{self, CauseInput};
use crate::services::differences::{self, Action, CommentInput, CommentView, DifferenceDetail, Party, ResolveInput};
use crate::services::documents::{self, DocumentInput, DocumentView};
use crate::services::portal::{self, BalanceConfirmationInput, BalanceConfirmationView};
use crate::services::users::{self, NewUser, PasswordResetIssued, UserView};
use crate::services::webhooks::{self, WebhookDeliveryDetail, WebhookEndpointInput, WebhookEndpointView};
use crate::services::work_orders::{
    self, WorkOrderCommentInput, WorkOrderCommentView, WorkOrderInput, WorkOrderPatch, WorkOrderView,
};
use crate::state::AppState;
use async_graphql::{Context, ErrorExtensions, Object};
use uuid::Uuid;

pub struct MutationRoot;

/// A lifecycle step on a difference.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum DifferenceAction {
    Send,
    Confirm,
    Dispute,
    Resolve,
    Cancel,
}

impl From<DifferenceAction> for Action {
    fn from(a: DifferenceAction) -> Action {
        match a {
            DifferenceAction::Send => Action::Send,
            DifferenceAction::Confirm => Action::Confirm,
            DifferenceAction::Dispute => Action::Dispute,
            DifferenceAction::Resolve => Action::Resolve,
            DifferenceAction::Cancel => Action::Cancel,
        }
    }
}

#[Object(name = "MutationRootFields")]
impl MutationRoot {
    /// Run dunning as of a date (default today).
    async fn run_dunning(
        &self,
        ctx: &Context<'_>,
        input: Option<crate::services::dunning::DunningRunRequest>,
    ) -> async_graphql::Result<crate::services::dunning::DunningRunView> {
        let input = input.unwrap_or_default();
        run(ctx, move |conn, p| crate::services::dunning::run(conn, p, input)).await
    }

    /// Work a collection task: status, assignee, due date, note.
    async fn update_collection_task(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        patch: CollectionTaskPatchInput,
    ) -> async_graphql::Result<crate::services::collection_tasks::CollectionTaskView> {
        let patch = patch.into();
        run(ctx, move |conn, p| crate::services::collection_tasks::update(conn, p, id, patch)).await
    }

    /// Log a contact with a customer (or for a task: give `taskId` and the task's customer is
    /// used); outcome `promise_to_pay` needs `promise`.
    async fn log_contact(
        &self,
        ctx: &Context<'_>,
        customer_code: Option<String>,
        task_id: Option<Uuid>,
        input: crate::services::contact_log::ContactLogInput,
    ) -> async_graphql::Result<crate::services::contact_log::ContactLogEntry> {
        use crate::services::contact_log;
        match (customer_code, task_id) {
            (None, Some(task)) => run(ctx, move |conn, p| contact_log::log_for_task(conn, p, task, input)).await,
            (Some(code), None) => run(ctx, move |conn, p| contact_log::log(conn, p, &code, input)).await,
            _ => Err(AppError::invalid("customerCode", "give exactly one of customerCode and taskId").extend()),
        }
    }

    /// Set a customer's credit policy by hand, with an explanation.
    async fn put_credit_policy(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: crate::services::credit_policy::CreditPolicyInput,
    ) -> async_graphql::Result<crate::services::credit_policy::CreditPolicyView> {
        run(ctx, move |conn, p| crate::services::credit_policy::put(conn, p, &code, input)).await
    }

    /// Start a statement run; poll `statementRun(id)`.
    async fn start_statement_run(
        &self,
        ctx: &Context<'_>,
        input: crate::services::statement_runs::StatementRunRequest,
    ) -> async_graphql::Result<crate::services::statement_runs::StatementRunView> {
        run(ctx, move |conn, p| crate::services::statement_runs::start(conn, p, input)).await
    }

    /// Reconcile a customer's statement (JSON form) with our books.
    async fn submit_statement(
        &self,
        ctx: &Context<'_>,
        customer_code: String,
        input: StatementInput,
    ) -> async_graphql::Result<StatementView> {
        run(ctx, move |conn, p| statements::reconcile(conn, p, &customer_code, input, Source::Api)).await
    }

    /// Move a difference along its lifecycle (send, confirm, dispute, resolve, cancel).
    async fn act_on_difference(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        action: DifferenceAction,
        input: Option<ResolveInput>,
    ) -> async_graphql::Result<DifferenceDetail> {
        let input = input.unwrap_or_default();
        run(ctx, move |conn, p| differences::transition(conn, &Party::Tenant(p), id, action.into(), input)).await
    }

    /// Set a difference's cause by hand (audited).
    async fn set_difference_cause(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: CauseInput,
    ) -> async_graphql::Result<DifferenceDetail> {
        run(ctx, move |conn, p| difference_causes::set_cause(conn, p, id, input)).await
    }

    /// Open a dispute work order by hand from differences and/or documents.
    async fn create_work_order(
        &self,
        ctx: &Context<'_>,
        input: WorkOrderInput,
    ) -> async_graphql::Result<WorkOrderView> {
        run(ctx, move |conn, p| work_orders::create(conn, p, input)).await
    }

    /// Change a work order; `assigneeId` assigns, `unassign: true` clears the assignee.
    /// Replaces the hours to resolve a work order, per cause (admin), like
    /// `PUT /work-order-settings`.
    async fn replace_work_order_settings(&self, ctx: &Context<'_>, input: SlaHours) -> async_graphql::Result<SlaHours> {
        run(ctx, move |conn, p| work_orders::put_settings(conn, p, input)).await
    }

    async fn update_work_order(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: WorkOrderPatch,
        assignee_id: Option<Uuid>,
        #[graphql(default)] unassign: bool,
    ) -> async_graphql::Result<WorkOrderView> {
        let mut patch = input;
        if unassign {
            patch.assignee_id = Some(None);
        } else if assignee_id.is_some() {
            patch.assignee_id = Some(assignee_id);
        }
        run(ctx, move |conn, p| work_orders::update(conn, p, id, patch)).await
    }

    /// Comment on a work order (visible ones are shared in the linked differences' threads).
    async fn comment_on_work_order(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: WorkOrderCommentInput,
    ) -> async_graphql::Result<WorkOrderCommentView> {
        run(ctx, move |conn, p| work_orders::comment(conn, p, id, input)).await
    }

    async fn comment_on_difference(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: CommentInput,
    ) -> async_graphql::Result<CommentView> {
        run(ctx, move |conn, p| differences::comment(conn, &Party::Tenant(p), id, input)).await
    }

    /// Portal (customer token only): confirm a difference sent to the customer.
    async fn portal_confirm_difference(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: Option<CommentInput>,
    ) -> async_graphql::Result<DifferenceDetail> {
        let c = input.unwrap_or_default();
        let input = ResolveInput { body: c.body, attachments: c.attachments, adjustment: None };
        run_portal(ctx, move |conn, p| differences::transition(conn, &Party::Customer(p), id, Action::Confirm, input))
            .await
    }

    /// Portal (customer token only): dispute a difference, saying why.
    async fn portal_dispute_difference(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: CommentInput,
    ) -> async_graphql::Result<DifferenceDetail> {
        let input = ResolveInput { body: input.body, attachments: input.attachments, adjustment: None };
        run_portal(ctx, move |conn, p| differences::transition(conn, &Party::Customer(p), id, Action::Dispute, input))
            .await
    }

    /// Portal (customer token only): comment on a difference.
    async fn portal_comment_on_difference(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: CommentInput,
    ) -> async_graphql::Result<CommentView> {
        run_portal(ctx, move |conn, p| differences::comment(conn, &Party::Customer(p), id, input)).await
    }

    /// Portal (customer token only): confirm the account balance as of a date (对账确认).
    async fn portal_confirm_balance(
        &self,
        ctx: &Context<'_>,
        input: BalanceConfirmationInput,
    ) -> async_graphql::Result<BalanceConfirmationView> {
        run_portal(ctx, move |conn, p| portal::confirm_balance(conn, p, input)).await
    }

    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerInput) -> async_graphql::Result<CustomerView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| customers::create(conn, p, &keys, input)).await
    }

    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        code: String,
        patch: CustomerPatchInput,
    ) -> async_graphql::Result<CustomerView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| customers::update(conn, p, &keys, &code, patch.into())).await
    }

    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: crate::services::products::ProductInput,
    ) -> async_graphql::Result<crate::services::products::ProductView> {
        run(ctx, move |conn, p| crate::services::products::create(conn, p, input)).await
    }

    async fn update_product(
        &self,
        ctx: &Context<'_>,
        code: String,
        patch: super::inputs::ProductPatchInput,
    ) -> async_graphql::Result<crate::services::products::ProductView> {
        run(ctx, move |conn, p| crate::services::products::update(conn, p, &code, patch.into())).await
    }

    /// Creates a customer group (a parent company and its subsidiaries; a customer is in one group at most).
    async fn create_customer_group(
        &self,
        ctx: &Context<'_>,
        input: crate::services::customer_groups::CustomerGroupInput,
    ) -> async_graphql::Result<crate::services::customer_groups::CustomerGroupView> {
        run(ctx, move |conn, p| crate::services::customer_groups::create(conn, p, input)).await
    }

    /// Renames a customer group or sets its parent (null clears it).
    async fn update_customer_group(
        &self,
        ctx: &Context<'_>,
        code: String,
        patch: super::inputs::CustomerGroupPatchInput,
    ) -> async_graphql::Result<crate::services::customer_groups::CustomerGroupView> {
        run(ctx, move |conn, p| crate::services::customer_groups::update(conn, p, &code, patch.into())).await
    }

    /// Replaces a customer group's members (the parent must stay).
    async fn replace_customer_group_members(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: crate::services::customer_groups::GroupMembersInput,
    ) -> async_graphql::Result<crate::services::customer_groups::CustomerGroupView> {
        run(ctx, move |conn, p| crate::services::customer_groups::put_members(conn, p, &code, input)).await
    }

    /// Deletes a customer group; its members are released. Answers the group as it was.
    async fn delete_customer_group(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<crate::services::customer_groups::CustomerGroupView> {
        run(ctx, move |conn, p| crate::services::customer_groups::delete(conn, p, &code)).await
    }

    /// Adds a contact to the customer `code`.
    async fn create_customer_contact(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: crate::services::customer_contacts::ContactInput,
    ) -> async_graphql::Result<crate::services::customer_contacts::ContactView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| crate::services::customer_contacts::create(conn, p, &keys, &code, input)).await
    }

    async fn update_customer_contact(
        &self,
        ctx: &Context<'_>,
        code: String,
        id: Uuid,
        patch: super::inputs::ContactPatchInput,
    ) -> async_graphql::Result<crate::services::customer_contacts::ContactView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| crate::services::customer_contacts::update(conn, p, &keys, &code, id, patch.into()))
            .await
    }

    async fn delete_customer_contact(
        &self,
        ctx: &Context<'_>,
        code: String,
        id: Uuid,
    ) -> async_graphql::Result<crate::services::customer_contacts::ContactView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| crate::services::customer_contacts::delete(conn, p, &keys, &code, id)).await
    }

    async fn create_document(&self, ctx: &Context<'_>, input: DocumentInput) -> async_graphql::Result<DocumentView> {
        run(ctx, move |conn, p| documents::create(conn, p, input)).await
    }

    async fn update_document(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        patch: DocumentPatchInput,
    ) -> async_graphql::Result<DocumentView> {
        run(ctx, move |conn, p| documents::update(conn, p, id, patch.into())).await
    }

    /// Start a matching run over unapplied bank lines; poll `reconciliation(id)`.
    async fn start_reconciliation(
        &self,
        ctx: &Context<'_>,
        bank_account: Option<String>,
        booked_from: Option<chrono::NaiveDate>,
        booked_to: Option<chrono::NaiveDate>,
    ) -> async_graphql::Result<RunView> {
        let req = RunRequest { bank_account, booked_from, booked_to };
        run(ctx, move |conn, p| matching::start_run(conn, p, req)).await
    }

    /// Confirm a proposed allocation (with its candidate set); answers the line's allocations.
    async fn confirm_allocation(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<AllocationView>> {
        run(ctx, move |conn, p| matching::confirm(conn, p, id)).await
    }

    /// Apply a bank line to documents by hand, in any split.
    async fn allocate(&self, ctx: &Context<'_>, input: ManualAllocation) -> async_graphql::Result<Vec<AllocationView>> {
        run(ctx, move |conn, p| matching::allocate_manually(conn, p, input)).await
    }

    /// Reject a proposal or unapply an applied allocation.
    async fn reject_allocation(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Vec<AllocationView>> {
        run(ctx, move |conn, p| matching::reject(conn, p, id)).await
    }

    /// Revoke a learned fact (like `DELETE /learned-facts/{id}`).
    async fn revoke_learned_fact(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<LearnedFactDetail> {
        run(ctx, move |conn, p| matching::revoke_learned_fact(conn, p, id)).await
    }

    /// Register a webhook endpoint (admin); the answer's `secret` is shown only here and on rotation.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpointView> {
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| webhooks::create_endpoint(conn, p, &keys, input)).await
    }

    /// A new signing secret (admin); the previous one keeps signing for a while.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<WebhookEndpointView> {
        let overlap = ctx
            .data::<crate::state::AppState>()
            .map(|s| s.settings.webhooks.rotation_overlap)
            .unwrap_or(std::time::Duration::from_secs(86400));
        let keys = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| webhooks::rotate_secret(conn, p, &keys, id, overlap)).await
    }

    /// Send a delivery again from the start of its retry schedule (admin).
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<WebhookDeliveryDetail> {
        run(ctx, move |conn, p| webhooks::redeliver(conn, p, id)).await
    }

    /// Register a connector (admin); credentials are stored encrypted and never returned.
    async fn create_connector(&self, ctx: &Context<'_>, input: ConnectorInput) -> async_graphql::Result<ConnectorView> {
        let secrets = ctx.data::<crate::state::AppState>()?.keyring.clone();
        run(ctx, move |conn, p| connectors::create(conn, p, &secrets, input)).await
    }

    /// Change a connector (admin): name, config, credentials (replaced), schedule, enabled, reset the cursor.
    async fn update_connector(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        patch: ConnectorPatch,
    ) -> async_graphql::Result<ConnectorView> {
        let state = ctx.data::<crate::state::AppState>()?;
        let secrets = state.keyring.clone();
        let updated = run(ctx, move |conn, p| connectors::update(conn, p, &secrets, id, patch)).await;
        state.api_keys.clear(); // its push keys may have stopped working
        updated
    }

    /// Delete a connector and its history (admin); imported data stays.
    async fn delete_connector(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<ConnectorView> {
        let deleted = run(ctx, move |conn, p| connectors::delete(conn, p, id)).await;
        ctx.data::<crate::state::AppState>()?.api_keys.clear(); // its push keys are gone
        deleted
    }

    /// Sync now (admin): the connector becomes due and the scheduler takes it within its poll interval.
    async fn sync_connector(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<ConnectorView> {
        run(ctx, move |conn, p| connectors::request_sync(conn, p, id)).await
    }

    /// Void a document nothing has been applied to.
    async fn cancel_document(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<DocumentView> {
        run(ctx, move |conn, p| documents::cancel(conn, p, id)).await
    }

    /// Create a user who logs in with e-mail and password (admin).
    async fn create_user(&self, ctx: &Context<'_>, input: NewUser) -> async_graphql::Result<UserView> {
        users::validate_new_user(&input).map_err(|e| e.extend())?;
        let password = input.password.clone();
        let hash = actix_web::web::block(move || auth::hash_password(&password))
            .await
            .map_err(|e| AppError::internal(e).extend())?
            .map_err(|e| e.extend())?;
        run(ctx, move |conn, p| users::create_user(conn, p, input, hash)).await
    }

    /// Change a user's role (admin); their tokens stop working.
    async fn set_user_role(&self, ctx: &Context<'_>, id: Uuid, role: Role) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::set_role(conn, p, id, role)).await
    }

    /// Disable a user (admin): no login, their tokens stop at once.
    async fn disable_user(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::disable(conn, p, id)).await
    }

    /// Enable a disabled user again (admin).
    async fn enable_user(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::enable(conn, p, id)).await
    }

    /// End every session of a user (admin, or the user themselves).
    async fn logout_user_everywhere(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::logout_everywhere(conn, p, id)).await
    }

    /// A one-time password reset token for a user (admin); their password and sessions end.
    async fn reset_user_password(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<PasswordResetIssued> {
        let ttl = ctx.data::<AppState>()?.settings.password_reset_ttl;
        run(ctx, move |conn, p| users::issue_password_reset(conn, p, id, ttl)).await
    }

    /// Delete a user (admin); the audit trail keeps what they did.
    async fn delete_user(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UserView> {
        run(ctx, move |conn, p| users::delete(conn, p, id)).await
    }

    /// Change your own password (a user's token): every other session ends; a new token for this one.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<TokenResponse> {
        let (state, principal) = super::caller(ctx)?;
        auth::change_own_password(state.auth(), &principal, current_password, new_password, None)
            .await
            .map_err(|e| e.extend())
    }
}
