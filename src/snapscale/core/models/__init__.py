"""ORM models, one file per table. Importing this package registers every table on Base.metadata."""

from snapscale.core.models.refresh_token import RefreshToken
from snapscale.core.models.user import User

__all__ = ["RefreshToken", "User"]
