"""Schemathesis hooks for SafeCampus (loaded with SCHEMATHESIS_HOOKS=hooks).

The server runs `safecampus demo` on a fresh database, so the demo accounts
exist, all with the password in SAFECAMPUS_ST_PASSWORD. Every generated case
is sent as one of several roles (district admin, school admin, teacher,
guard, counsellor, bureau officer, parent, student), picked from the case's
own data so a failure replays with the same role. Path ids that look like
UUIDs are often swapped for ids that exist (schools, classes, students,
users, notifications, leave requests, notices), so handlers get past "not
found" and into their real work.
"""

import hashlib
import json
import os
import re
import sys
import threading
import urllib.error
import urllib.request
import uuid

import schemathesis

BASE = os.environ["SAFECAMPUS_ST_URL"].rstrip("/")
PASSWORD = os.environ["SAFECAMPUS_ST_PASSWORD"]
ROLES = [
    "admin",
    "principal.chen",
    "teacher.wang",
    "guard.liu",
    "counselor.sun",
    "bureau.zhao",
    "parent.li",
    "student.lin",
]
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as res:
        raw = res.read()
        return json.loads(raw) if raw else None


def _login(username):
    return _call("POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD})[
        "access_token"
    ]


def _known_ids(admin_token):
    """Ids of the demo district's schools, classes, students and staff."""
    ids = []
    for school in _call("GET", "/api/v1/schools?limit=100", token=admin_token)["items"]:
        ids.append(school["id"])
        classes = _call("GET", f"/api/v1/schools/{school['id']}/classes?limit=100", token=admin_token)
        for klass in classes["items"]:
            ids.append(klass["id"])
            students = _call(
                "GET", f"/api/v1/classes/{klass['id']}/students?limit=100", token=admin_token
            )
            ids.extend(s["id"] for s in students["items"])
    for username in ROLES:
        token = _login(username)
        ids.append(_call("GET", "/api/v1/me", token=token)["id"])
        # What each role can list: its notifications, leave requests, notices.
        for path in ("/api/v1/me/notifications", "/api/v1/leave-requests", "/api/v1/notices"):
            try:
                ids.extend(item["id"] for item in _call("GET", path + "?limit=20", token=token)["items"])
            except urllib.error.HTTPError:
                pass
    return ids


_lock = threading.Lock()
_ids = None
_pw_token = None
_made = set()
# Accounts of the run's own: the fuzzer may lock them out (failed password
# changes) or end their sessions (logout-all) without touching the roles.
PASSWORD_ACCOUNT = "fuzz.password"
LOGOUT_ACCOUNT = "fuzz.logout"
OWN = set(ROLES) | {PASSWORD_ACCOUNT, LOGOUT_ACCOUNT}


def _account(username):
    """Makes a parent account for this run, once."""
    if username in _made:
        return
    try:
        # Made without a password, then activated with the printed code, so
        # no password change is required before the account can be used.
        made = _call(
            "POST",
            "/api/v1/users",
            {
                "role": "parent",
                "username": username,
                "display_name": "Fuzz " + username,
            },
            token=_login("admin"),
        )
        _call(
            "POST",
            "/api/v1/auth/activate",
            {"username": username, "code": made["activation"]["code"], "new_password": PASSWORD},
        )
    except urllib.error.HTTPError as e:
        if e.code != 409:  # made already
            raise
    _made.add(username)


def password_token():
    """A parent made for this run and logged in once: failed password changes
    lock an account (by design), so the fuzzer changes only this one's."""
    global _pw_token
    with _lock:
        if _pw_token is None:
            _account(PASSWORD_ACCOUNT)
            _pw_token = _login(PASSWORD_ACCOUNT)
        return _pw_token


def logout_token():
    """A fresh session of an account of the run's own: logout-all ends every
    session of its user, and the roles' shared sessions must live on."""
    with _lock:
        _account(LOGOUT_ACCOUNT)
    return _login(LOGOUT_ACCOUNT)


def known_ids():
    global _ids
    with _lock:
        if _ids is None:
            _ids = _known_ids(_login("admin"))
        return _ids


def _pick(seed, n):
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % n


@schemathesis.auth(refresh_interval=60)
class DemoAccounts:
    """Logs every demo role in (again every minute, as the fuzzer may log a
    session out) and sends each case as one of them."""

    def get(self, case, ctx):
        tokens = {}
        for username in ROLES:
            try:
                tokens[username] = _login(username)
            except urllib.error.HTTPError as e:
                # Fewer roles is less coverage, not a failure of the API.
                print(f"hooks: {username} cannot log in any more ({e.code})", file=sys.stderr)
        if not tokens:
            raise RuntimeError("no demo account can log in")
        return tokens

    def set(self, case, tokens, ctx):
        seed = json.dumps(
            [case.operation.label, case.path_parameters, case.query, repr(case.body)],
            sort_keys=True,
            default=str,
        )
        usable = [u for u in ROLES if u in tokens]
        username = usable[_pick(seed, len(usable))]
        token = tokens[username]
        if case.operation.path == "/api/v1/me/password":
            token = password_token()
        elif case.operation.path == "/api/v1/auth/logout-all":
            token = logout_token()
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + token


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # The stateful phase links GET /me's id to POST /users/{id}/disable: the
    # accounts this run logs in with are not to be disabled.
    if case.operation.path == "/api/v1/users/{id}/disable":
        if case.path_parameters and case.path_parameters.get("id") in known_ids():
            case.path_parameters["id"] = str(uuid.uuid4())
    # It also links GET /me's username to POST /auth/login: wrong passwords
    # for the run's own accounts would lock them out (by design) mid-run.
    if case.operation.path == "/api/v1/auth/login" and isinstance(case.body, dict):
        username = case.body.get("username")
        if isinstance(username, str) and username.strip().lower() in OWN:
            case.body["username"] = "fuzz.nobody"


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    # Real ids would let the fuzzer disable the very accounts it logs in with.
    if not path_parameters or ctx.operation.path == "/api/v1/users/{id}/disable":
        return path_parameters
    ids = known_ids()
    out = dict(path_parameters)
    for name, value in path_parameters.items():
        if isinstance(value, str) and UUID.match(value):
            # Two times in three an id that exists, else the generated one.
            n = _pick(name + value, len(ids) * 3 // 2 + 1)
            if n < len(ids):
                out[name] = ids[n]
    return out
