"""Middleware of the access app; the policy itself lives in ``access.policy``."""

from legionary.access.policy import AccessPolicyMiddleware

__all__ = ["AccessPolicyMiddleware"]
