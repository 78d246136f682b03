"""Gate's ``GET /auth/user`` (gate-web AuthController.user): who the credentials belong to."""

from __future__ import annotations

from .routes import ROUTER, Call, Reply


@ROUTER.route("GET", r"/auth/user")
def user(call: Call) -> Reply:
    with call.state.lock:
        account = call.state.users.get(call.user)
        admin = account.admin if account is not None else call.user == "anonymous"
    return Reply(200, {"username": call.user, "email": None, "roles": [], "admin": admin})
