"""The HTTP transport: POST a bundle, get the reply bundle; hub errors become clear messages.

``https://`` hub URLs are checked against the township's own certificate or CA when one was
given at enrolment (``station enroll --ca FILE``), and only against it; otherwise against the
system's CAs.
"""
from __future__ import annotations

import ssl

import requests
from requests.adapters import HTTPAdapter

from sync.client import SyncFailed

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 120


class _TrustOnly(HTTPAdapter):
    """Verifies the server against the given PEM certificates only (not the system's CAs)."""

    def __init__(self, ca_pem: str):
        self.context = ssl.create_default_context(cadata=ca_pem)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self.context
        return super().init_poolmanager(*args, **kwargs)

    def send(self, request, **kwargs):
        kwargs["verify"] = True  # not a CA bundle named in the environment (REQUESTS_CA_BUNDLE): ours only
        return super().send(request, **kwargs)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        conn.ca_certs = conn.ca_cert_dir = None  # else urllib3 adds requests' own CA bundle to our context


def load_ca(path) -> str:
    """The township's certificate (PEM) as text, checked to be one."""
    from pathlib import Path

    from station.errors import FieldError, ValidationFailed
    try:
        pem = Path(path).read_text("ascii")
        ssl.create_default_context(cadata=pem)
    except (OSError, UnicodeDecodeError, ssl.SSLError, ValueError):
        raise ValidationFailed("证书文件无效", [FieldError("ca", "bad_ca", f"{path} 不是 PEM 格式的证书")]) from None
    return pem


class HttpTransport:
    def __init__(self, url: str, session: requests.Session | None = None, ca_pem: str | None = None):
        self.url = url.rstrip("/")
        self.http = session or requests.Session()
        if ca_pem:
            self.http.mount("https://", _TrustOnly(ca_pem))

    def _post(self, path: str, **kw) -> requests.Response:
        return self._call("post", path, **kw)

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        try:
            return self.http.request(method, self.url + path, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kw)
        except requests.exceptions.SSLError:
            raise SyncFailed(f"无法验证乡镇服务器 {self.url} 的证书:请使用乡镇提供的证书文件登记") from None
        except requests.ConnectionError:
            raise SyncFailed(f"连不上乡镇服务器 {self.url}:请检查网络(政务外网)是否接通;断网时可用U盘导出") from None
        except requests.Timeout:
            raise SyncFailed("乡镇服务器长时间没有响应:网络可能很慢,稍后会自动重试") from None
        except requests.RequestException as exc:
            raise SyncFailed(f"与乡镇服务器通信出错:{exc.__class__.__name__}") from None

    def _check(self, r: requests.Response, prefix: str = "乡镇服务器拒收:") -> requests.Response:
        if r.status_code >= 400:
            try:
                reason = r.json().get("reason")
            except ValueError:
                reason = None
            if r.status_code == 503 and reason:  # busy (too many uploads at once): says so, and sync retries later
                raise SyncFailed(reason)
            if r.status_code >= 500:
                raise SyncFailed(f"乡镇服务器内部出错({r.status_code}):请告知乡镇技术人员,稍后会自动重试")
            raise SyncFailed(f"{prefix}{reason or r.status_code}")
        return r

    def _json(self, r: requests.Response) -> dict:
        try:
            value = r.json()
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise SyncFailed(f"{self.url} 的应答不像乡镇服务器:请核对地址")
        return value

    def push(self, bundle: bytes) -> bytes:
        return self._check(self._post("/v1/push", data=bundle, headers={"Content-Type": "application/octet-stream"})).content

    def health(self) -> dict:
        return self._json(self._check(self._call("get", "/v1/health")))

    def enrol_start(self, request: dict) -> dict:
        return self._json(self._check(self._post("/v1/enroll/start", json=request), prefix=""))

    def enrol_finish(self, request: dict) -> dict:
        return self._json(self._check(self._post("/v1/enroll/finish", json=request), prefix=""))


def for_station(session, url: str | None = None) -> HttpTransport:
    """The transport to the hub this station enrolled with (its URL and certificate)."""
    from sync import client
    peer = client.hub(session)
    return HttpTransport(url or (peer and peer["url"]), ca_pem=client.hub_ca(session))
