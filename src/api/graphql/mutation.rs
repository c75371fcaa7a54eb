use super::inputs::{CustomerPatchInput, DocumentPatchInput};
use super::run;
use crate::services::customers::{self, CustomerInput, CustomerView};
use crate::services::documents::{self, DocumentInput, DocumentView};
use async_graphql::{Context, Object};
use uuid::Uuid;

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerInput) -> async_graphql::Result<CustomerView> {
        run(ctx, move |conn, p| customers::create(conn, p, input)).await
    }

    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        code: String,
        patch: CustomerPatchInput,
    ) -> async_graphql::Result<CustomerView> {
        run(ctx, move |conn, p| customers::update(conn, p, &code, patch.into())).await
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

    /// Void a document nothing has been applied to.
    async fn cancel_document(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<DocumentView> {
        run(ctx, move |conn, p| documents::cancel(conn, p, id)).await
    }
}
