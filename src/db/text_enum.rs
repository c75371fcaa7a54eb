//! Domain enums stored in TEXT columns: diesel reads and writes them as their `as_str()` text,
//! the same snake_case as in JSON, and refuses unknown text when reading.

macro_rules! text_column {
    ($($t:ty),* $(,)?) => {$(
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $t {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $t {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                <$t>::parse(&text).ok_or_else(|| format!("unknown {} {text:?}", stringify!($t)).into())
            }
        }

        impl diesel::deserialize::Queryable<diesel::sql_types::Text, diesel::pg::Pg> for $t {
            type Row = Self;
            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl diesel::expression::AsExpression<diesel::sql_types::Text> for $t {
            type Expression = <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(self.as_str())
            }
        }

        impl<'a> diesel::expression::AsExpression<diesel::sql_types::Text> for &'a $t {
            type Expression = <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(self.as_str())
            }
        }

        // A nullable column (`Option<$t>` in a row) takes the same text.
        impl diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>> for $t {
            type Expression = <&'static str as diesel::expression::AsExpression<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Nullable<diesel::sql_types::Text>>::as_expression(
                    self.as_str(),
                )
            }
        }

        impl<'a> diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>> for &'a $t {
            type Expression = <&'static str as diesel::expression::AsExpression<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >>::Expression;
            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Nullable<diesel::sql_types::Text>>::as_expression(
                    self.as_str(),
                )
            }
        }
    )*};
}

text_column!(
    crate::domain::run_status::RunStatus,
    crate::domain::run_status::AllocationState,
    crate::domain::run_status::SyncStatus,
    crate::domain::cash_application::WriteOffReason,
    crate::domain::dunning::DunningActionKind,
    crate::domain::bank_line::BankLineStatus,
    crate::domain::customer::CustomerStatus,
    crate::domain::document::DocType,
    crate::domain::document::DocStatus,
    crate::domain::difference::DifferenceKind,
    crate::domain::difference::DifferenceStatus,
    crate::domain::webhook_delivery::DeliveryStatus,
    crate::domain::product::ProductKind,
    crate::domain::document_lines::TaxRounding,
    crate::domain::sheet_columns::ImportKind,
    crate::domain::difference_cause::Cause,
    crate::domain::difference_cause::SubCause,
    crate::domain::difference_cause::CauseSource,
    crate::domain::work_order::WorkOrderStatus,
    crate::domain::work_order::Priority,
    crate::domain::collection::TaskKind,
    crate::domain::collection::TaskStatus,
    crate::domain::collection::TaskSource,
    crate::domain::collection::ContactChannel,
    crate::domain::collection::ContactOutcome,
    crate::domain::collection::PromiseStatus,
    crate::domain::collection::AssignmentRule,
    crate::domain::collection::BrokenPromiseAction,
);

#[cfg(test)]
mod tests {
    /// Every stored enum: its JSON text is its database text, and that text reads back as it.
    #[test]
    fn json_and_database_text_are_the_same() {
        macro_rules! check {
            ($($t:ty),* $(,)?) => {$(
                for v in <$t>::ALL {
                    assert_eq!(serde_json::to_value(v).unwrap(), v.as_str(), "{}", stringify!($t));
                    assert_eq!(<$t>::parse(v.as_str()), Some(v), "{}", stringify!($t));
                }
                assert_eq!(<$t>::parse("unknown"), None);
            )*};
        }
        check!(
            crate::domain::run_status::RunStatus,
            crate::domain::run_status::AllocationState,
            crate::domain::run_status::SyncStatus,
            crate::domain::cash_application::WriteOffReason,
            crate::domain::dunning::DunningActionKind,
            crate::domain::bank_line::BankLineStatus,
            crate::domain::customer::CustomerStatus,
            crate::domain::document::DocType,
            crate::domain::document::DocStatus,
            crate::domain::difference::DifferenceKind,
            crate::domain::difference::DifferenceStatus,
            crate::domain::webhook_delivery::DeliveryStatus,
            crate::domain::collection::TaskKind,
            crate::domain::collection::TaskStatus,
            crate::domain::collection::TaskSource,
            crate::domain::collection::ContactChannel,
            crate::domain::collection::ContactOutcome,
            crate::domain::collection::PromiseStatus,
            crate::domain::collection::AssignmentRule,
            crate::domain::collection::BrokenPromiseAction,
            crate::domain::product::ProductKind,
            crate::domain::document_lines::TaxRounding,
            crate::domain::sheet_columns::ImportKind,
            crate::domain::difference_cause::Cause,
            crate::domain::difference_cause::SubCause,
            crate::domain::difference_cause::CauseSource,
            crate::domain::work_order::WorkOrderStatus,
            crate::domain::work_order::Priority,
        );
    }

    /// The words a table's CHECK constraint allows in a column (`CHECK (col IN ('a', 'b'))` in the
    /// `CREATE TABLE` of the migrations).
    fn allowed_by_migrations(table: &str, column: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut sql = String::new();
        let mut dirs: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        dirs.sort();
        for d in dirs {
            sql += &std::fs::read_to_string(d.join("up.sql")).unwrap_or_default();
        }
        let start = sql.find(&format!("CREATE TABLE {table} (")).unwrap_or_else(|| panic!("no table {table}"));
        let body = &sql[start..start + sql[start..].find("\n);").unwrap()];
        let check = format!("CHECK ({column} IN (");
        let at = body.find(&check).unwrap_or_else(|| panic!("no CHECK on {table}.{column}")) + check.len();
        let list = &body[at..at + body[at..].find("))").unwrap()];
        list.split(',').map(|w| w.trim().trim_matches('\'').to_string()).collect()
    }

    /// The database accepts exactly the enum's words, so every value written can be read back.
    #[test]
    fn migrations_allow_exactly_the_enum_words() {
        use crate::domain::*;
        fn words<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<String> {
            all.iter().map(|v| text(*v).to_string()).collect()
        }
        let cases: Vec<(&str, &str, Vec<String>)> = vec![
            ("reconciliation_runs", "status", words(&run_status::RunStatus::ALL, run_status::RunStatus::as_str)),
            ("statement_runs", "status", words(&run_status::RunStatus::ALL, run_status::RunStatus::as_str)),
            ("allocations", "state", words(&run_status::AllocationState::ALL, run_status::AllocationState::as_str)),
            ("connector_syncs", "status", words(&run_status::SyncStatus::ALL, run_status::SyncStatus::as_str)),
            (
                "write_offs",
                "reason",
                words(&cash_application::WriteOffReason::ALL, cash_application::WriteOffReason::as_str),
            ),
            ("dunning_actions", "kind", words(&dunning::DunningActionKind::ALL, dunning::DunningActionKind::as_str)),
            ("bank_lines", "status", words(&bank_line::BankLineStatus::ALL, bank_line::BankLineStatus::as_str)),
            ("customers", "status", words(&customer::CustomerStatus::ALL, customer::CustomerStatus::as_str)),
            ("documents", "doc_type", words(&document::DocType::ALL, document::DocType::as_str)),
            ("customer_statement_lines", "kind", words(&document::DocType::ALL, document::DocType::as_str)),
            ("documents", "status", words(&document::DocStatus::ALL, document::DocStatus::as_str)),
            ("differences", "kind", words(&difference::DifferenceKind::ALL, difference::DifferenceKind::as_str)),
            ("differences", "status", words(&difference::DifferenceStatus::ALL, difference::DifferenceStatus::as_str)),
            (
                "webhook_deliveries",
                "status",
                words(&webhook_delivery::DeliveryStatus::ALL, webhook_delivery::DeliveryStatus::as_str),
            ),
            ("products", "kind", words(&product::ProductKind::ALL, product::ProductKind::as_str)),
            (
                "document_settings",
                "tax_rounding",
                words(&document_lines::TaxRounding::ALL, document_lines::TaxRounding::as_str),
            ),
            ("import_mappings", "kind", words(&sheet_columns::ImportKind::ALL, sheet_columns::ImportKind::as_str)),
            ("work_orders", "status", words(&work_order::WorkOrderStatus::ALL, work_order::WorkOrderStatus::as_str)),
            ("work_orders", "priority", words(&work_order::Priority::ALL, work_order::Priority::as_str)),
            ("work_orders", "cause", words(&difference_cause::Cause::ALL, difference_cause::Cause::as_str)),
            ("collection_tasks", "kind", words(&collection::TaskKind::ALL, collection::TaskKind::as_str)),
            ("collection_tasks", "status", words(&collection::TaskStatus::ALL, collection::TaskStatus::as_str)),
            ("collection_tasks", "source", words(&collection::TaskSource::ALL, collection::TaskSource::as_str)),
            ("contact_log", "channel", words(&collection::ContactChannel::ALL, collection::ContactChannel::as_str)),
            ("contact_log", "outcome", words(&collection::ContactOutcome::ALL, collection::ContactOutcome::as_str)),
            ("payment_promises", "status", words(&collection::PromiseStatus::ALL, collection::PromiseStatus::as_str)),
            (
                "collection_settings",
                "assignment",
                words(&collection::AssignmentRule::ALL, collection::AssignmentRule::as_str),
            ),
            (
                "collection_settings",
                "broken_promise_action",
                words(&collection::BrokenPromiseAction::ALL, collection::BrokenPromiseAction::as_str),
            ),
        ];
        for (table, column, mut expected) in cases {
            let mut allowed = allowed_by_migrations(table, column);
            allowed.sort();
            expected.sort();
            assert_eq!(allowed, expected, "{table}.{column}");
        }
    }
}
