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
        );
    }
}
