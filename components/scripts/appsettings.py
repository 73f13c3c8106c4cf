"""Applies the stack's Ant Media settings (components/appsettings.go).

appsettings.py secrets|apply|server FILE; exit 1 failed, 4 login refused.
Secret values come on standard input, never in arguments or output.
"""

import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

PROPERTY = re.compile(r"\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*?)\s*$")


class Failure(Exception):
    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def document(text):
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise Failure(f"the settings document is not JSON: {err}") from None
    for key in ("apps", "settings", "secrets", "server"):
        doc.setdefault(key, {})
    return doc


def call(opener, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(os.environ["APPSET_URL"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=15) as resp:
            raw = resp.read()
            return json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as err:
        raise Failure(f"{method} {path} answered HTTP {err.code}") from None
    except (OSError, ValueError) as err:
        raise Failure(f"{method} {path}: {err}") from None


def apply(doc, password_md5, secrets, quiet):
    wanted = dict(doc["settings"], **secrets)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    email = os.environ["APPSET_EMAIL"]
    answer = call(opener, "POST", "/rest/v2/users/authenticate", {"email": email, "password": password_md5})
    if not answer or answer.get("success") is not True:
        raise Failure(f"the panel refused {email}: {(answer or {}).get('message', '')}", 4)
    failed = False
    for app in doc["apps"]:
        path = "/rest/v2/applications/settings/" + urllib.parse.quote(app, safe="")
        current = call(opener, "GET", path)
        if not isinstance(current, dict):
            if not quiet:
                print(f"{app}: not on this node; skipped")
            continue
        changed = sorted(k for k, v in wanted.items() if current.get(k) != v)
        if not changed:
            if not quiet:
                print(f"{app}: settings as managed ({len(wanted)} fields)")
            continue
        answer = call(opener, "POST", path, dict(current, **wanted))
        if not answer or answer.get("success") is not True:
            print(f"{app}: the server refused the settings (changing {', '.join(changed)})")
            failed = True
        else:
            print(f"{app}: changed {', '.join(changed)}")
    return failed


def server(doc, path):
    wanted = {k: str(v) for k, v in doc["server"].items()}
    with open(path, "r+", encoding="utf-8") as f:
        lines = f.readlines()
        current = dict(m.groups() for m in map(PROPERTY.match, lines) if m)
        changed = sorted(k for k, v in wanted.items() if current.get(k) != v)
        if changed:
            kept = [l if l.endswith("\n") else l + "\n" for l in lines
                    if not (PROPERTY.match(l) and PROPERTY.match(l).group(1) in wanted)]
            f.seek(0)
            f.truncate()
            f.writelines(kept + [f"{k}={wanted[k]}\n" for k in sorted(wanted)])
    for key in changed:
        print(f"set {key} in {os.path.basename(path)}, which Ant Media reads when it starts")


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "secrets":
        doc = document(sys.stdin.read())
        for field in sorted(doc["secrets"]):
            print(doc["secrets"][field])
        return 0
    if command == "apply":
        parts = sys.stdin.buffer.read().split(b"\0")[:-1]
        if len(parts) < 2:
            raise Failure("apply reads the document and the password's MD5")
        doc = document(parts[0].decode())
        fields = sorted(doc["secrets"])
        if len(parts) - 2 != len(fields):
            raise Failure(f"apply got {len(parts) - 2} secret values for {len(fields)} secret fields")
        secrets = dict(zip(fields, (p.decode() for p in parts[2:])))
        return 1 if apply(doc, parts[1].decode().strip(), secrets, bool(os.environ.get("APPSET_QUIET"))) else 0
    if command == "server" and len(argv) == 3:
        server(document(sys.stdin.read()), argv[2])
        return 0
    raise Failure(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as err:
        print(err)
        sys.exit(err.status)
