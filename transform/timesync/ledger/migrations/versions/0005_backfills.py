"""The backfills a new or widened link asks for, so its history syncs without a manual full refresh."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create backfills."""
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("forecast_id", sa.String(64), nullable=False),
        sa.Column("timelog_id", sa.String(64), nullable=False),
        sa.Column("since", sa.Date, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_index("ix_backfills_state", "backfills", ["state"])


def downgrade() -> None:
    """Drop backfills."""
    op.drop_index("ix_backfills_state", table_name="backfills")
    op.drop_table("backfills")
