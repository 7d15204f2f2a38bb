"""shipment.package: the marketplace's own parcel id, for tracking through the marketplace

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shipment") as batch:
        batch.add_column(
            sa.Column("package", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("shipment") as batch:
        batch.drop_column("package")
