"""The classic guide's Flask example: a Flask-SQLAlchemy model over Snapscale's own
`users` table and one route returning `jsonify(...)`.

    BENCH_PEER_DATABASE_URL=postgresql+psycopg://user@host/db \\
        gunicorn -w N bench.peers.seed_flask:app

`GET /users/<int:user_id>` answers one user by integer id (one indexed row lookup).
"""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_PEER_DATABASE_URL"]
db = SQLAlchemy(app)


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id = db.Column(db.BigInteger, primary_key=True)
    username = db.Column(db.String(30), unique=True, nullable=False)
    display_name = db.Column(db.String(50), nullable=False)
    bio = db.Column(db.String(300), nullable=False)
    followers_count = db.Column(db.Integer, nullable=False)
    following_count = db.Column(db.Integer, nullable=False)
    photos_count = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)


@app.get("/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    return jsonify(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        followers_count=user.followers_count,
        following_count=user.following_count,
        photos_count=user.photos_count,
        created_at=user.created_at.isoformat(),
    )
