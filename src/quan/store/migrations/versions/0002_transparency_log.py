"""transparency log

Revision ID: 0002
Revises: 0001

Tables of quan.store.log_tables, append-only triggers on the log's history, and the trigger that
queues every new event for the sequencer (existing events are queued here once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("log_entries", "log_nodes", "log_checkpoints")
TABLES = ("log_queue", "log_entries", "log_nodes", "log_checkpoints")


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_queue",
        sa.Column("event_id", _big_id(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_log_queue")),
    )
    op.create_table(
        "log_entries",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", _big_id(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("log_index >= 0", name=op.f("ck_log_entries_index")),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_log_entries_event_id")),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("level >= 1 AND node_index >= 0", name=op.f("ck_log_nodes_key")),
        sa.PrimaryKeyConstraint("level", "node_index", name="pk_log_nodes"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_log_checkpoints_size")),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_checkpoints")),
    )
    dialect = op.get_bind().dialect.name
    _append_only(dialect)
    _queue_new_events(dialect)
    # Events written before the log existed join it in id order on the first sequencer run.
    op.execute("INSERT INTO log_queue (event_id) SELECT id FROM events")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP TRIGGER IF EXISTS events_log_enqueue" + (" ON events" if _pg(dialect) else ""))
    if _pg(dialect):
        op.execute("DROP FUNCTION IF EXISTS quan_log_enqueue()")
    for table in reversed(TABLES):
        op.drop_table(table)


def _pg(dialect: str) -> bool:
    return dialect == "postgresql"


def _append_only(dialect: str) -> None:
    """The log's history refuses UPDATE and DELETE; quan_refuse_change() comes from 0001."""
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if _pg(dialect):
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION quan_refuse_change()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'quan: {table} is append-only'); END"
                )


def _queue_new_events(dialect: str) -> None:
    """Every event inserted from now on is queued in the same transaction as itself."""
    if _pg(dialect):
        # A statement-level trigger with a transition table: one INSERT … SELECT per statement,
        # so bulk event inserts do not pay a trigger call per row.
        op.execute(
            """
            CREATE FUNCTION quan_log_enqueue() RETURNS trigger LANGUAGE plpgsql
            -- Resolve log_queue in the schema the log was created in, whatever the caller's path.
            SET search_path FROM CURRENT AS $$
            BEGIN
              INSERT INTO log_queue (event_id) SELECT id FROM new_events;
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER events_log_enqueue AFTER INSERT ON events "
            "REFERENCING NEW TABLE AS new_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION quan_log_enqueue()"
        )
    else:
        op.execute(
            "CREATE TRIGGER events_log_enqueue AFTER INSERT ON events "
            "BEGIN INSERT INTO log_queue (event_id) VALUES (NEW.id); END"
        )
