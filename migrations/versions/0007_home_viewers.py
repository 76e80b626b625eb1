"""home viewers: the reps who have opened their Home, the only ones whose Home is republished on a change

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 01:20:20.816599
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coach.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_viewers",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("first_opened_at", coach.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("home_viewers")
