"""ORM models, one file per table. Importing this package registers every table on Base.metadata."""

from snapscale.core.models.comment import Comment
from snapscale.core.models.follow import Follow
from snapscale.core.models.like import Like
from snapscale.core.models.photo import Photo, PhotoStatus
from snapscale.core.models.recovery_code import RecoveryCode
from snapscale.core.models.refresh_token import RefreshToken
from snapscale.core.models.two_factor_credential import TwoFactorCredential
from snapscale.core.models.user import User

__all__ = [
    "Comment",
    "Follow",
    "Like",
    "Photo",
    "PhotoStatus",
    "RecoveryCode",
    "RefreshToken",
    "TwoFactorCredential",
    "User",
]
