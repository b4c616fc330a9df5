"""deploy/nginx.conf as shipped, run by Debian's nginx in front of two app processes (PostgreSQL,
Redis): the file passes `nginx -t`, plain HTTP is sent to HTTPS, bodies over 64 KB stop at the
proxy, a long-polling handshake is refused (the app serves WebSocket only), and two partners go
through it over WebSocket, as the room page does, and finish the greeting ritual.
Behind it the app counts each client's own address for the login limit (COUPLES_TRUSTED_PROXIES=1).

Only what cannot run here is changed, each line checked to be there: the upstream ports, the
listen addresses, the certificate paths (a throwaway self-signed one) and the static folder.

Run: make test-multiprocess (installs nginx from Debian's packages, like Chromium for the browser suite).
"""
import http.client
import json
import os
import random
import shutil
import ssl
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from support.clients import Duo, Peer
from support.people import Api, pair_over_api, sign_up
from support.server import EASY_LOGIN, ROOT, free_port, serve_many
from support.services import service_unavailable

from .mp_support import play, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def site_config(tmp: Path, upstreams, http_port, https_port) -> str:
    """deploy/nginx.conf with only the machine-specific lines replaced (each must be there once)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    replace = {
        "server 127.0.0.1:5001 max_fails=0;": f"server 127.0.0.1:{upstreams[0]} max_fails=0;",
        "server 127.0.0.1:5002 max_fails=0;": f"server 127.0.0.1:{upstreams[1]} max_fails=0;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/couples.example.org/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/letsencrypt/live/couples.example.org/privkey.pem": str(tmp / "key.pem"),
        "alias /srv/couples/static/;": f"alias {ROOT / 'static'}/;",
    }
    for old, new in replace.items():
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} once: update this test"
        text = text.replace(old, new)
    return text


def main_config(tmp: Path, site: str) -> str:
    """What /etc/nginx/nginx.conf would hold around the site: everything under `tmp`."""
    temp_paths = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers read the repository's static files
    return (f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
            f"events {{ worker_connections 512; }}\n"
            f"http {{\n    access_log {tmp / 'access.log'};\n{temp_paths}\n"
            f"    types {{ text/css css; application/javascript js; }}\n{site}\n}}\n")


@pytest.fixture(scope="module")
def behind_nginx(mp_database, redis_queue, tmp_path_factory):
    if not Path(NGINX).is_file():
        service_unavailable("nginx", FileNotFoundError(f"nothing at {NGINX} (`make nginx` installs Debian's)"))
    tmp = tmp_path_factory.mktemp("nginx")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True)
    ca = str(tmp / "cert.pem")  # clients verify against it: real TLS, no "insecure" switch
    http_port, https_port = free_port(), free_port()
    public = f"https://127.0.0.1:{https_port}"
    env = {"REDIS_URL": redis_queue, "SECRET_KEY": "nginx-shared-secret", "COUPLES_TRUSTED_PROXIES": "1",
           **EASY_LOGIN, "COUPLES_LOGIN_RATE_LIMIT": "3 per minute"}
    with serve_many(tmp, mp_database, 2, origins=[public], env=env) as procs:
        conf = tmp / "nginx.conf"
        conf.write_text(main_config(tmp, site_config(tmp, [p.port for p in procs], http_port, https_port)))
        check = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused deploy/nginx.conf:\n{check.stderr}"
        nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: _answers(public, ca), 10, "nginx to answer")
            # The partners sign up beforehand, straight to a process under an address of their own,
            # so that their logins do not count against the limit tested through nginx.
            people = {name: sign_up(procs[0].url, name, headers={"X-Forwarded-For": "192.0.2.10"}).token
                      for name in ("alice", "bob")}
            yield SimpleNamespace(url=public, http=f"http://127.0.0.1:{http_port}", https_port=https_port,
                                  procs=procs, tmp=tmp, test_output=check.stderr, people=people, ca=ca)
        finally:
            nginx.terminate()
            nginx.wait(10)


def _answers(url, ca) -> bool:
    try:
        return requests.get(url + "/login", verify=ca, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class HttpsPeer(Peer):
    """The suite's recording client, over HTTPS checked against our throwaway certificate."""

    def __init__(self, *args, ca, **kwargs):
        super().__init__(*args, **kwargs)
        http = requests.Session()
        http.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace `verify`
        http.verify = ca  # engine.io also hands it to the WebSocket as its CA file
        self.client_options = {"http_session": http}


def test_the_shipped_config_passes_nginx_t_and_serves_the_app(behind_nginx):
    assert "syntax is ok" in behind_nginx.test_output and "test is successful" in behind_nginx.test_output
    plain = requests.get(behind_nginx.http + "/login", allow_redirects=False, timeout=5)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    page = requests.get(behind_nginx.url + "/login", verify=behind_nginx.ca, timeout=5)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    css = requests.get(behind_nginx.url + "/static/css/app.css", verify=behind_nginx.ca, timeout=5)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    too_big = requests.post(behind_nginx.url + "/api/v1/tokens", data=b"x" * 70_000, verify=behind_nginx.ca, timeout=5,
                            headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413  # refused by nginx before any app process reads it


def test_two_partners_finish_the_greeting_through_nginx(behind_nginx):
    """Over WebSocket, the only transport the app serves (the room page asks for it alone): nginx
    passes the upgrade through. Long-polling, asked through nginx, gets the app's refusal."""
    polling = requests.get(behind_nginx.url + "/socket.io/?EIO=4&transport=polling", verify=behind_nginx.ca,
                           timeout=5)
    assert (polling.status_code, polling.text) == (400, '"Invalid transport"')
    direct = behind_nginx.procs[0].url  # pairing through one process directly; playing through nginx
    alice, bob = behind_nginx.people["alice"], behind_nginx.people["bob"]
    pair_over_api(Api(direct, alice), Api(direct, bob))
    session = Api(direct, alice).call("POST", "/api/v1/sessions", {})["session"]["id"]
    a = HttpsPeer("alice", "a", alice, session, behind_nginx.url, ca=behind_nginx.ca)
    b = HttpsPeer("bob", "b", bob, session, behind_nginx.url, ca=behind_nginx.ca)
    try:
        a.connect()
        b.connect()
        assert a.sio.transport() == "websocket" and b.sio.transport() == "websocket"
        duo = Duo(a, b, ["greeting"], rng=random.Random(7))
        play(duo, None, lambda: a.view and a.view["phase"] == "ready" and a.view["completed"].get("greeting"))
        assert a.problems == [] and b.problems == []
        assert b.view["completed"].get("greeting") == 1
    finally:
        a.close()
        b.close()


def test_the_login_limit_counts_each_client_behind_nginx(behind_nginx):
    """nginx appends the address it saw to X-Forwarded-For and the app believes that one hop:
    a forged first hop changes nothing, and a client from another address is counted apart."""
    def guess(source, forged):
        conn = http.client.HTTPSConnection("127.0.0.1", behind_nginx.https_port, timeout=5,
                                           source_address=(source, 0),
                                           context=ssl.create_default_context(cafile=behind_nginx.ca))
        try:
            conn.request("POST", "/api/v1/tokens", headers={"X-Forwarded-For": forged, "Content-Type": "application/json"},
                         body=json.dumps({"email": f"nobody.{forged}@example.com", "password": "wrong guess!"}))
            return conn.getresponse().status
        finally:
            conn.close()

    assert [guess("127.0.0.1", f"203.0.113.{i}") for i in range(4)] == [401, 401, 401, 429]
    assert guess("127.0.0.2", "203.0.113.99") == 401  # another client, same forged header: not blocked
