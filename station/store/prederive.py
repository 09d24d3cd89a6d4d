"""Derive a script's passphrase key while the rest of the program is still being imported.

A script that sets ``STATION_PASSPHRASE`` pays Scrypt (deliberately about 0.3 s) and the program's
imports (about 0.25 s) one after the other. Scrypt runs in C without holding the GIL, so it can run
in a thread while the interpreter imports everything else: ``start`` reads the user's entry of
``keys.json`` (its salt and cost, which are not secret) and derives in the background, and
``station.store.keys`` takes the result when it derives the very same key (same passphrase, salt and
cost), or derives as usual when nothing matches. Best effort by design: no such file, another
directory chosen later, a changed entry — then nothing is taken and nothing is different. On a
one-core PC the thread simply runs first; the work is the same.

The ``station`` command line starts it (``python -m station.cli`` or the console script), only with
``--data-dir`` or ``STATION_HOME`` naming the folder; importing ``station.cli`` does not. The app
starts it for a login given up front (``station.tui.make_app``), before Textual is loaded, so the
KDF's 64 MiB is given back before the store's libraries and the screens load.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import threading
from pathlib import Path

_lock = threading.Lock()
_pending: dict[tuple, tuple[threading.Thread, list]] = {}


def _data_dir(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg == "--data-dir" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--data-dir="):
            return Path(arg.split("=", 1)[1])
    home = os.environ.get("STATION_HOME")
    return Path(home) if home else None


def _is_command_line() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return spec.name == "station.cli"
    return Path(sys.argv[0]).name in ("station", "station.exe") if sys.argv else False


def start_for_command_line(argv: list[str] | None = None) -> None:
    """Begin deriving the key of ``STATION_USER``'s entry under ``STATION_PASSPHRASE``, if this
    process is the ``station`` command and both are set."""
    passphrase, user = os.environ.get("STATION_PASSPHRASE"), os.environ.get("STATION_USER")
    if not passphrase or not user or not _is_command_line():
        return
    folder = _data_dir(sys.argv[1:] if argv is None else argv)
    if folder is not None:
        start_for(folder, user, passphrase)


def start_for(folder: Path, user: str, passphrase: str) -> None:
    """Begin deriving the key of ``user``'s entry in the station folder's key ring under ``passphrase``
    (nothing when the ring cannot be read: the unlock then says why, as usual)."""
    try:
        entry = json.loads((Path(folder) / "keys.json").read_text("utf-8"))["users"][user]
        salt, n, r, p = base64.b64decode(entry["salt"]), int(entry["n"]), int(entry["r"]), int(entry["p"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    start(passphrase, salt, n, r, p)


def start(secret: str, salt: bytes, n: int, r: int, p: int) -> None:
    """Derive this key in a background thread; ``take`` with the same arguments returns it."""
    key = (secret, salt, n, r, p)
    with _lock:
        if key in _pending:  # ``python -m station.cli`` runs the module twice (as __main__, then imported by its parts)
            return
    out: list = []

    def derive() -> None:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
        try:
            out.append(Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8")))
        except Exception:  # derived again by the caller, whose error is the one to show
            pass
    thread = threading.Thread(target=derive, name="prederive", daemon=True)
    with _lock:
        _pending[key] = (thread, out)
    thread.start()


def take(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes | None:
    """The key derived in the background for exactly these arguments (waiting for it), or None."""
    with _lock:
        found = _pending.pop((secret, salt, n, r, p), None)
    if found is None:
        return None
    thread, out = found
    thread.join()
    return out[0] if out else None
