"""Initial ledger: links, pairs, runs and run items."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("forecast_id", sa.String(64), nullable=False),
        sa.Column("timelog_id", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date, nullable=True),
        sa.UniqueConstraint("kind", "forecast_id", name="uq_links_forecast"),
        sa.UniqueConstraint("kind", "timelog_id", name="uq_links_timelog"),
    )
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("forecast_id", sa.String(128), nullable=True),
        sa.Column("timelog_id", sa.String(128), nullable=True),
        sa.Column("project", sa.String(64), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("base", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=True),
        sa.Column("pending", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("conflict", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "forecast_id", name="uq_pairs_forecast"),
        sa.UniqueConstraint("kind", "timelog_id", name="uq_pairs_timelog"),
    )
    op.create_index("ix_pairs_state", "pairs", ["state"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
    )
    op.create_table(
        "run_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("pair_id", sa.Integer, sa.ForeignKey("pairs.id"), nullable=True),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_run_items_run", "run_items", ["run_id"])


def downgrade() -> None:
    """Drop the four tables."""
    for table in ("run_items", "runs", "pairs", "links"):
        op.drop_table(table)
