//! Statements kept prepared where diesel would not keep them (issue 20).

use diesel::PgConnection;

/// A query whose SQL text is fixed (written out in the source, not
/// assembled from input), kept in the connection's prepared statement
/// cache under its text. Diesel never caches `sql_query` or `sql` literal
/// queries, any UPDATE, or an INSERT of several rows or of a struct (it
/// cannot know their text is bounded), so without this a hot query of
/// those forms is parsed and planned on every call.
///
/// Only what is run by value is kept: `load`, `get_result`, and for a
/// write [`Prepared::written`] (with a `RETURNING` clause). `execute`
/// hands diesel the query by reference, and diesel then asks the wrapped
/// query's parts, not this wrapper, whether it may keep it: an UPDATE, an
/// INSERT or a raw query says no, and it is parsed and planned each time
/// (the test `statements::a_decisions_writes_are_kept_prepared` shows
/// both). So `.execute(conn)` on a [`Prepared`] does not compile (see
/// [`Prepared::execute`]): four statements once went that way and were
/// never kept.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(Q);

/// Wraps `query` (whose SQL text must be a constant) as [`Prepared`].
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Prepared<Q>
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> diesel::query_builder::QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> diesel::RunQueryDsl<C> for Prepared<Q> {}

impl<Q> Prepared<Q> {
    /// Refused: run this way the statement would not be kept (see
    /// [`Prepared`]). It stands in for diesel's `RunQueryDsl::execute`,
    /// which a method of the type's own comes before, and asks for a value
    /// that cannot exist, so `.execute(conn)` fails to compile. Use
    /// [`Prepared::written`] with a `RETURNING` clause, or the query
    /// unwrapped.
    pub fn execute(self, refused: std::convert::Infallible) -> ! {
        match refused {}
    }

    /// Runs a write whose `RETURNING` clause gives a row of type `U` per
    /// row written, kept prepared (see [`Prepared`]), and counts the rows.
    pub fn written<'q, U>(self, conn: &mut PgConnection) -> diesel::QueryResult<usize>
    where
        Self: diesel::query_dsl::LoadQuery<'q, PgConnection, U>,
    {
        use diesel::RunQueryDsl;
        Ok(self.load::<U>(conn)?.len())
    }
}
