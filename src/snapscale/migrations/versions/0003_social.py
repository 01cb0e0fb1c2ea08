"""follows, likes, comments and their counters

Revision ID: 0003
Revises: 0002
Created: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for column in ("followers_count", "following_count", "photos_count"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("photos") as batch:
        for column in ("like_count", "comment_count"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    # Photos that were already ready before counters existed.
    op.execute(
        "UPDATE users SET photos_count = (SELECT count(*) FROM photos WHERE photos.owner_id ="
        " users.id AND photos.status = 'ready' AND photos.deleted_at IS NULL)"
    )

    op.create_table(
        "follows",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("follower_id", sa.BigInteger(), nullable=False),
        sa.Column("followee_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["users.id"],
            name=op.f("fk_follows_follower_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["users.id"],
            name=op.f("fk_follows_followee_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint(
            "follower_id", "followee_id", name=op.f("uq_follows_follower_id_followee_id")
        ),
    )
    op.create_index("ix_follows_followee_id_id", "follows", ["followee_id", "id"])
    op.create_index("ix_follows_follower_id_id", "follows", ["follower_id", "id"])

    op.create_table(
        "likes",
        sa.Column("photo_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photos.id"], name=op.f("fk_likes_photo_id_photos"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_likes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("photo_id", "user_id", name=op.f("pk_likes")),
    )
    op.create_index("ix_likes_user_id", "likes", ["user_id"])

    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("photo_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_comments_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index("ix_comments_photo_id_id", "comments", ["photo_id", "id"])


def downgrade() -> None:
    op.drop_table("comments")
    op.drop_table("likes")
    op.drop_table("follows")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("comment_count")
        batch.drop_column("like_count")
    with op.batch_alter_table("users") as batch:
        for column in ("photos_count", "following_count", "followers_count"):
            batch.drop_column(column)
