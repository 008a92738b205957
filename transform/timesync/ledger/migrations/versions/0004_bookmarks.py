"""The bookmarks each run handed on to Meltano, so a ledger that is lost or older than Meltano's state is seen."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create bookmarks."""
    op.create_table(
        "bookmarks",
        sa.Column("direction", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop bookmarks."""
    op.drop_table("bookmarks")
