"""ORM models, one file per table. Importing this package registers every table on Base.metadata."""

from snapscale.core.models.photo import Photo, PhotoStatus
from snapscale.core.models.refresh_token import RefreshToken
from snapscale.core.models.user import User

__all__ = ["Photo", "PhotoStatus", "RefreshToken", "User"]
