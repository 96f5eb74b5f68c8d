"""``field__any=values``: membership in a list as one array parameter.

``__in`` writes one placeholder per value; for the thousands of ids and emails a sync page
looks up, Django's per-value processing and psycopg's splitting of the long statement cost
more than the query. On PostgreSQL this is ``column = ANY(%s::type[])`` (served by the same
indexes); elsewhere it is ``__in`` itself.
"""

from django.db import models
from django.db.models.lookups import In


class Any(models.Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        lhs, params = self.process_lhs(compiler, connection)
        # The element type without modifiers: varchar(320)[] would cut long values short.
        db_type = self.lhs.output_field.db_type(connection).split("(")[0]
        return f"{lhs} = ANY(%s::{db_type}[])", [*params, self.rhs]


# Foreign keys keep lookups of their own (RelatedIn and friends): register there too.
models.Field.register_lookup(Any)
models.ForeignObject.register_lookup(Any)
