"""Signing in to the pages with a name and a password; the browser then holds a session cookie.

The cookie (HttpOnly, SameSite=Lax) carries a random session id; signing out
ends the session on the server. Every form carries a CSRF token: derived from
the session id once signed in, and before that (sign-in, setting a password)
from a random form cookie, so another site can neither post a form as the
signed-in user nor sign a browser in to an account of its choosing. A POST from
another site (its Origin header) is refused as well. Guessing is slowed per
name and per address (allocator.store.sign_in): 429 with Retry-After. API
bearer tokens are for machine clients and do not sign in to the pages.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from allocator.store.models import User
from allocator.store.sign_in import SESSION_HOURS, sign_in, sign_out, user_for_session
from allocator.store.users import (
    MAX_PASSWORD,
    PeopleError,
    link_user,
    password_problem,
    set_password_with_link,
)
from api.deps import SessionDep
from api.pages.render import LANG_COOKIE, error_page, page

router = APIRouter()
COOKIE = "allocator_session"
FORM_COOKIE = "allocator_form"  # before signing in: what the sign-in forms' CSRF derives from
MAX_TOKEN = 200
Password = Annotated[str, Form(max_length=MAX_PASSWORD)]


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


def check_csrf(request: Request, sent: str, expected: str | None = None) -> None:
    same_site(request)
    expected = csrf_token(request) if expected is None else expected
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode("utf-8",
                                                                              "replace")):
        raise Refused(403, "Phiên làm việc đã hết hạn, vui lòng tải lại trang. / "
                           "The form has expired; reload the page and try again.")


def _form_secret(request: Request) -> tuple[str, bool]:
    """The browser's form cookie, or a new one (True: it must be set on the answer)."""
    value = request.cookies.get(FORM_COOKIE, "")
    if 20 <= len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(32), True


def _form_csrf(secret: str) -> str:
    return hashlib.sha256(f"form:{secret}".encode()).hexdigest()[:32] if secret else ""


def _anonymous_page(request: Request, template: str, status_code: int = 200,
                    **context: object) -> Response:
    """A sign-in or password page: its form's CSRF token, and the cookie it derives from."""
    secret, new = _form_secret(request)
    response = page(request, template, None, status_code, form_csrf=_form_csrf(secret),
                    **context)
    if new:
        response.set_cookie(FORM_COOKIE, secret, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    # The address may hold a one-time link: api.security keeps every page out of caches
    # and sends no referrer to other sites ("no-referrer" would make the browser send
    # "Origin: null", and the form would be refused as another site's).
    return response


def check_form_csrf(request: Request, sent: str) -> None:
    """The CSRF check of a form shown before signing in."""
    secret = request.cookies.get(FORM_COOKIE, "")
    check_csrf(request, sent, _form_csrf(secret) if 20 <= len(secret) <= 100 else "")


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


def page_portal(user: Annotated[User, Depends(page_user)]) -> User:
    """The sponsor portal: sponsors, and planners previewing it; a point officer has no lots."""
    if user.role not in ("sponsor", "planner"):
        raise Refused(403, "Trang này dành cho nhà tài trợ. / Sponsors only.", user)
    return user


PageUser = Annotated[User, Depends(page_user)]
PagePlanner = Annotated[User, Depends(page_planner)]
PagePortal = Annotated[User, Depends(page_portal)]
MaybeUser = Annotated[User | None, Depends(signed_in)]
Csrf = Annotated[str, Form(max_length=64)]


def home_of(user: User) -> str:
    return {"planner": "/rounds", "point": "/point"}.get(user.role, "/portal")


@router.get("/", response_class=HTMLResponse)
def home(user: MaybeUser) -> Response:
    return RedirectResponse(home_of(user) if user else "/login", status_code=303)


def _login_page(request: Request, next: str, status_code: int = 200, error: str = "",
                notice: str = "", name: str = "") -> Response:
    return _anonymous_page(request, "login.html", status_code, title="Đăng nhập / Sign in",
                           next=safe_next(next, ""), error=error, notice=notice, tried=name)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "", done: str = "") -> Response:
    return _login_page(request, next, notice="password_set" if done == "password" else "")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep,
          name: Annotated[str, Form(max_length=200)] = "", password: Password = "",
          next: Annotated[str, Form(max_length=500)] = "", csrf: Csrf = "") -> Response:
    check_form_csrf(request, csrf)
    address = request.client.host if request.client else "unknown"
    outcome = sign_in(session, name, password, address)
    if outcome.retry_after:
        response = _login_page(request, next, 429, "too_many_failed_sign_ins", name=name)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome.user is None:
        return _login_page(request, next, 401, "wrong_name_or_password", name=name)
    response = RedirectResponse(safe_next(next, home_of(outcome.user)), status_code=303)
    response.set_cookie(COOKIE, outcome.session_id, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=SESSION_HOURS * 3600)
    response.delete_cookie(FORM_COOKIE)
    return response


def _password_page(request: Request, link: str, user: User | None, status_code: int = 200,
                   error: str = "") -> Response:
    if user is None:
        status_code, error = 400, "link_not_usable"
    return _anonymous_page(request, "set_password.html", status_code,
                           title="Đặt mật khẩu / Set your password", link=link if user else "",
                           person=user.name if user else "", error=error)


@router.get("/set-password", response_class=HTMLResponse)
def password_form(request: Request, session: SessionDep, t: str = "") -> Response:
    """The page a one-time link opens (`allocator user add` prints the link)."""
    link = t.strip()
    return _password_page(request, link,
                          link_user(session, link) if 0 < len(link) <= MAX_TOKEN else None)


@router.post("/set-password", response_class=HTMLResponse)
def password_set(request: Request, session: SessionDep,
                 t: Annotated[str, Form(max_length=MAX_TOKEN)] = "", password: Password = "",
                 again: Password = "", csrf: Csrf = "") -> Response:
    check_form_csrf(request, csrf)
    link = t.strip()
    user = link_user(session, link) if link else None
    if user is None:
        return _password_page(request, link, None)
    problem = ("passwords_differ" if password != again
               else password_problem(password, user.name))
    if problem:
        return _password_page(request, link, user, 422, problem)
    try:
        set_password_with_link(session, link, password)
    except PeopleError:  # spent by another tab a moment ago
        return _password_page(request, link, None)
    return RedirectResponse("/login?done=password", status_code=303)


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    sign_out(session, request.cookies.get(COOKIE, "")[:MAX_TOKEN])
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
