"""The HTTP transport: POST a bundle, get the reply bundle; hub errors become clear messages."""
from __future__ import annotations

import requests

from sync.client import SyncFailed

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 120


class HttpTransport:
    def __init__(self, url: str, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.http = session or requests.Session()

    def _post(self, path: str, **kw) -> requests.Response:
        try:
            return self.http.post(self.url + path, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kw)
        except requests.ConnectionError:
            raise SyncFailed(f"连不上乡镇服务器 {self.url}:请检查网络(政务外网)是否接通;断网时可用U盘导出") from None
        except requests.Timeout:
            raise SyncFailed("乡镇服务器长时间没有响应:网络可能很慢,稍后会自动重试") from None
        except requests.RequestException as exc:
            raise SyncFailed(f"与乡镇服务器通信出错:{exc.__class__.__name__}") from None

    def _check(self, r: requests.Response) -> requests.Response:
        if r.status_code >= 400:
            try:
                reason = r.json().get("reason")
            except ValueError:
                reason = None
            if r.status_code >= 500:
                raise SyncFailed(f"乡镇服务器内部出错({r.status_code}):请告知乡镇技术人员,稍后会自动重试")
            raise SyncFailed(f"乡镇服务器拒收:{reason or r.status_code}")
        return r

    def push(self, bundle: bytes) -> bytes:
        return self._check(self._post("/v1/push", data=bundle, headers={"Content-Type": "application/octet-stream"})).content

    def enroll(self, request: dict) -> dict:
        return self._check(self._post("/v1/enroll", json=request)).json()
