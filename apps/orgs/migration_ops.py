"""Operations shared by migrations."""

from django.db import migrations


def drop_single_column_indexes(state_operations, indexes):
    """Drops only the indexes of ``indexes`` ((name, table, column) triples), recreating them
    when reversed, while ``state_operations`` (AlterField ... db_index=False) update the models.

    Django's own AlterField would also drop and re-validate each foreign key: a long lock on a
    large table for no change.
    """
    return migrations.SeparateDatabaseAndState(
        state_operations=state_operations,
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{name}"',
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
            )
            for name, table, column in indexes
        ],
    )
