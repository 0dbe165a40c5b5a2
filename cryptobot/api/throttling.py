"""Request throttles; rates come from THROTTLE_USER_RATE and THROTTLE_ANON_RATE."""

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    scope = "user"


class AnonThrottle(AnonRateThrottle):
    scope = "anon"
