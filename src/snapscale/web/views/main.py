from __future__ import annotations

from flask import Blueprint, render_template

from snapscale.core.accounts import service as account_service
from snapscale.web.core_access import run

bp = Blueprint("main", __name__)

NEWEST_MEMBERS = 12


@bp.get("/")
def home() -> str:
    newest = run(account_service.list_users, cursor=None, limit=NEWEST_MEMBERS)
    return render_template("home.html", newest=newest.items)
