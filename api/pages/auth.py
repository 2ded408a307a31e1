"""Signing in to the pages with an API token; the browser then holds a session cookie.

The cookie (HttpOnly, SameSite=Lax) carries a random session id, never the API
token; signing out ends the session on the server. Every form that changes
something carries a CSRF token derived from the session id, and a POST from
another site (its Origin header) is refused, sign-in included.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from allocator.store.models import User
from allocator.store.users import (
    SESSION_HOURS,
    end_session,
    start_session,
    user_for_session,
    user_for_token,
)
from api.deps import SessionDep
from api.pages.render import LANG_COOKIE, error_page, page

router = APIRouter()
COOKIE = "allocator_session"
MAX_TOKEN = 200


class LoginRequired(Exception):
    """Raised by a page that needs a user; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Refused(Exception):
    """A signed-in user asked for something their role does not allow."""

    def __init__(self, status_code: int, message: str, user: User | None = None) -> None:
        self.status_code, self.message, self.user = status_code, message, user


def safe_next(path: str | None, default: str = "/") -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path[:500]


def csrf_token(request: Request) -> str:
    token = request.cookies.get(COOKIE, "")
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:32] if token else ""


def same_site(request: Request) -> None:
    """A form posted from another site is refused (the browser names its Origin)."""
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Refused(403, "Yêu cầu từ trang khác bị từ chối. / "
                           "A form from another site was refused.")


def check_csrf(request: Request, sent: str) -> None:
    same_site(request)
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode("utf-8",
                                                                              "replace")):
        raise Refused(403, "Phiên làm việc đã hết hạn, vui lòng tải lại trang. / "
                           "The form has expired; reload the page and try again.")


def signed_in(request: Request, session: SessionDep) -> User | None:
    sid = request.cookies.get(COOKIE, "")
    if not sid or len(sid) > MAX_TOKEN:
        return None
    return user_for_session(session, sid)


def page_user(request: Request, user: Annotated[User | None, Depends(signed_in)]) -> User:
    if user is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}"
                                                if request.url.query else ""))
    return user


def page_planner(user: Annotated[User, Depends(page_user)]) -> User:
    if user.role != "planner":
        raise Refused(403, "Trang này chỉ dành cho cán bộ lập kế hoạch. / Planners only.", user)
    return user


PageUser = Annotated[User, Depends(page_user)]
PagePlanner = Annotated[User, Depends(page_planner)]
MaybeUser = Annotated[User | None, Depends(signed_in)]
Csrf = Annotated[str, Form(max_length=64)]


def home_of(user: User) -> str:
    return "/rounds" if user.role == "planner" else "/portal"


@router.get("/", response_class=HTMLResponse)
def home(user: MaybeUser) -> Response:
    return RedirectResponse(home_of(user) if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: MaybeUser, next: str = "") -> Response:
    return page(request, "login.html", user, title="Đăng nhập / Sign in",
                next=safe_next(next, ""), error="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep,
          token: Annotated[str, Form(max_length=MAX_TOKEN)] = "",
          next: Annotated[str, Form(max_length=500)] = "") -> Response:
    same_site(request)
    user = user_for_token(session, token.strip()) if token.strip() else None
    if user is None:
        return page(request, "login.html", None, 401, title="Đăng nhập / Sign in",
                    next=safe_next(next, ""),
                    error="Mã truy cập không đúng hoặc đã bị thu hồi. / "
                          "Unknown or revoked token.")
    response = RedirectResponse(safe_next(next, home_of(user)), status_code=303)
    response.set_cookie(COOKIE, start_session(session, user), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=SESSION_HOURS * 3600)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    end_session(session, request.cookies.get(COOKIE, "")[:MAX_TOKEN])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/lang/{code}")
def choose_language(code: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in ("vi", "en"):
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
    return response


def refused_page(request: Request, error: Refused) -> Response:
    return error_page(request, error.status_code, error.message, error.user)
