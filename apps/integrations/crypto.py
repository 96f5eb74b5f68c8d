"""Moved to ``apps.orgs.crypto`` (MFA secrets use it too, and orgs is the bottom layer)."""

from apps.orgs.crypto import _fernet, decrypt, encrypt, rotate

__all__ = ["_fernet", "decrypt", "encrypt", "rotate"]
