"""``township serve --workers N``: several server processes on one port (PostgreSQL only).

The parent unlocks the hub's key once (the passphrase is asked once), binds the listening socket,
and forks N workers; each opens its own connection to PostgreSQL and runs the same app (uvicorn)
on the shared socket, so the kernel spreads connections among them. What keeps exactly-once
across processes is in the store: each bundle is applied in one transaction that first takes the
station's advisory lock (``PostgresHubStore.lock_station``), so one station's bundles apply one
at a time while other stations' apply in parallel. A worker that dies (killed, crashed) is
replaced; its half-applied transaction is rolled back by PostgreSQL and the station sends again.
Workers die with the parent (``PR_SET_PDEATHSIG``), so a killed parent leaves no orphan serving.

The SQLCipher file has one writer: ``check_workers`` refuses N > 1 there.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys

from station.errors import StationError

SQLITE_ONE_WORKER = ("本服务器的数据库是单机加密 SQLite 文件,只能由一个服务进程写入,不能使用多个工作进程(--workers 大于 1);"
                     "区县多进程部署请改用 PostgreSQL 数据库(township migrate --to postgresql://…)")


def check_workers(workers: int, dsn: str | None) -> None:
    if workers > 1 and not dsn:
        raise StationError(SQLITE_ONE_WORKER)


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:  # the parent went before the line above took effect
        os._exit(1)


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"信号 {os.WTERMSIG(status)}"
    return f"退出码 {os.waitstatus_to_exitcode(status)}"


def serve(make_app, workers: int, host: str, port: int, options: dict) -> None:
    """Run ``make_app()`` (called in each worker, after the fork) in ``workers`` processes on one socket."""
    import uvicorn
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    parent = os.getpid()
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _die_with_parent(parent)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                config = uvicorn.Config(make_app(), log_level="warning", access_log=False, **options)
                uvicorn.Server(config).run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - a worker's end is its own; the parent replaces it
                code = 1
                if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    import traceback
                    print(f"工作进程 {os.getpid()} 异常退出,将重新启动:{exc!r}", file=sys.stderr, flush=True)
                    traceback.print_exc()
            finally:
                os._exit(code)
        children[pid] = slot

    def stop(*_):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        spawn(slot)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is not None and not stopping:
            print(f"工作进程 {pid} 已退出({_status(status)}),重新启动", file=sys.stderr, flush=True)
            spawn(slot)  # a worker killed mid-apply: PostgreSQL rolled its transaction back; a new one takes its place
    sock.close()
