"""vouchers without the wallet index

Revision ID: 0012
Revises: 0011

``ix_vouchers_wallet (citizen_id, id)`` goes: a citizen's vouchers are found through
``uq_vouchers_claim_key (citizen_id, claim_key)``, whose leading column is the same, and the
few vouchers one citizen holds are put in id order after. Every voucher row written (opening a
batch, each claim, grant and lottery issuance: PostgreSQL updates are never HOT here, so each
writes an entry in every index) now maintains six indexes instead of seven.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_vouchers_wallet", table_name="vouchers")


def downgrade() -> None:
    op.create_index("ix_vouchers_wallet", "vouchers", ["citizen_id", "id"], unique=False)
