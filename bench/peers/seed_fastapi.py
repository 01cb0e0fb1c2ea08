"""The classic guide's FastAPI example, completed the obvious way: a declarative model,
a sync engine (psycopg 3), a session per request from a `get_db()` dependency and a sync
path function returning a Pydantic model. It reads Snapscale's own `users` table.

    BENCH_PEER_DATABASE_URL=postgresql+psycopg://user@host/db \\
        gunicorn -k uvicorn_worker.UvicornWorker --workers N bench.peers.seed_fastapi:app

`GET /users/{user_id}` answers one user by integer id (one indexed row lookup, as
Snapscale's read by username is).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, DateTime, Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SQLALCHEMY_DATABASE_URL = os.environ["BENCH_PEER_DATABASE_URL"]

engine = create_engine(SQLALCHEMY_DATABASE_URL)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)


class Base(DeclarativeBase):
    pass


class UserDB(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(50))
    bio: Mapped[str] = mapped_column(String(300))
    followers_count: Mapped[int] = mapped_column(Integer)
    following_count: Mapped[int] = mapped_column(Integer)
    photos_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    bio: str
    followers_count: int
    following_count: int
    photos_count: int
    created_at: datetime


app = FastAPI()


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/users/{user_id}", response_model=User)
def get_user(user_id: int, db: Session = Depends(get_db)) -> UserDB:  # noqa: B008 (the guide's idiom)
    user = db.query(UserDB).filter(UserDB.id == user_id).first()
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user
