//! One page of a list, for every GraphQL list query: the items and the cursor of the next page. One generic
//! type, instantiated once per item type under the name clients already know (`CustomerPage`, ...).

use crate::services::audit::AuditEntryView;
use crate::services::bank::BankLineView;
use crate::services::cash_application::{AllocationView, LearnedFactView};
use crate::services::collection_tasks::CollectionTaskView;
use crate::services::connectors::{ConnectorSyncView, ConnectorView};
use crate::services::contact_log::ContactLogEntry;
use crate::services::customer_groups::CustomerGroupView;
use crate::services::customers::CustomerView;
use crate::services::differences::DifferenceView;
use crate::services::documents::DocumentView;
use crate::services::products::ProductView;
use crate::services::webhooks::{WebhookDeliveryView, WebhookEndpointView};
use crate::services::work_orders::WorkOrderView;
use async_graphql::{OutputType, SimpleObject};

#[derive(SimpleObject)]
#[graphql(
    concrete(name = "CustomerPage", params(CustomerView)),
    concrete(name = "DocumentPage", params(DocumentView)),
    concrete(name = "ProductPage", params(ProductView)),
    concrete(name = "BankLinePage", params(BankLineView)),
    concrete(name = "AllocationPage", params(AllocationView)),
    concrete(name = "LearnedFactPage", params(LearnedFactView)),
    concrete(name = "AuditPage", params(AuditEntryView)),
    concrete(name = "DifferencePage", params(DifferenceView)),
    concrete(name = "WebhookEndpointPage", params(WebhookEndpointView)),
    concrete(name = "WebhookDeliveryPage", params(WebhookDeliveryView)),
    concrete(name = "ConnectorPage", params(ConnectorView)),
    concrete(name = "ConnectorSyncPage", params(ConnectorSyncView)),
    concrete(name = "WorkOrderPage", params(WorkOrderView)),
    concrete(name = "CollectionTaskPage", params(CollectionTaskView)),
    concrete(name = "ContactLogPage", params(ContactLogEntry)),
    concrete(name = "CustomerGroupPage", params(CustomerGroupView))
)]
pub struct Page<T: OutputType> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
