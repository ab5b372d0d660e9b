//! A school's calendar day. Stored as `YYYY-MM-DD` text on both databases
//! (which sorts and compares like the day itself), sent as an RFC 3339 full
//! date; what "today" is at a school comes from `clock::school_local`.

use crate::db::MultiBackend;
use chrono::NaiveDate;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;

const FORMAT: &str = "%Y-%m-%d";

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    AsExpression,
    FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = Text)]
pub struct LocalDate(pub NaiveDate);

impl LocalDate {
    pub fn date(self) -> NaiveDate {
        self.0
    }

    pub fn parse(s: &str) -> Option<LocalDate> {
        NaiveDate::parse_from_str(s, FORMAT).ok().map(LocalDate)
    }
}

impl From<NaiveDate> for LocalDate {
    fn from(d: NaiveDate) -> Self {
        LocalDate(d)
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(FORMAT))
    }
}

impl ToSql<Text, Sqlite> for LocalDate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_string());
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Pg> for LocalDate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.to_string().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl ToSql<Text, MultiBackend> for LocalDate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl<DB: Backend> FromSql<Text, DB> for LocalDate
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let s = String::from_sql(bytes)?;
        LocalDate::parse(&s).ok_or_else(|| format!("not a date: {s:?}").into())
    }
}

impl utoipa::PartialSchema for LocalDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .into()
    }
}

impl utoipa::ToSchema for LocalDate {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::AnyConnection;
    use diesel::prelude::*;

    #[test]
    fn a_date_round_trips_through_the_database_and_sorts_as_text() {
        let mut conn = AnyConnection::establish(":memory:").unwrap();
        let d = LocalDate(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        let back: LocalDate = diesel::select(d.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, d);
        let as_text: String = diesel::select(d.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(as_text, "2026-03-09");
        let later = LocalDate(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert!(d.to_string() < later.to_string());
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2026-03-09\"");
        assert_eq!(LocalDate::parse("2026-13-01"), None);
    }
}
