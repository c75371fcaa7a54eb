//! utoipa inlines a generic parameter (`Page<CustomerView>` becomes `Page_CustomerView` with a
//! copy of `CustomerView` in `items`), so generated clients would get a second, anonymous type
//! for every listed row. This modifier points the page's `items` back at the named schema when
//! the copy is identical to it.

use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::Modify;

pub struct NamedPageItems;

impl Modify for NamedPageItems {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else { return };
        let named = components.schemas.clone();
        for (name, page) in components.schemas.iter_mut() {
            let Some(row) = name.strip_prefix("Page_") else { continue };
            let (Some(RefOr::T(row_schema)), RefOr::T(Schema::Object(page))) = (named.get(row), page) else { continue };
            let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") else { continue };
            if let ArrayItems::RefOrSchema(inlined) = &mut items.items {
                if matches!(inlined.as_ref(), RefOr::T(copy) if copy == row_schema) {
                    **inlined = RefOr::Ref(Ref::from_schema_name(row));
                }
            }
        }
    }
}
