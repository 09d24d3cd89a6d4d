"""Smoke test of an installed wheel, run by .ci/wheel-smoke with the fresh venv's python, from a
folder outside the source tree: nothing may come from the checkout, only from the wheel.

Checks: the package is imported from the venv; ``station doctor`` finds the install complete;
``station demo --no-tui`` builds a demo station; the app starts headless to its login screen
(its stylesheet loads from the package); a receipt is built to a PDF with ``station print --out``;
``township init`` makes a hub and the township console starts headless to its login screen (its
own stylesheet from the package too).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path


def command(program: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """One of the wheel's console scripts, from this venv."""
    exe = Path(sys.executable).with_name(program)
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    print(f"$ {program} {' '.join(args)} → {done.returncode}")
    return done


def station(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return command("station", *args, env=env)


def main(source: Path, work: Path) -> None:
    import station as package
    where = Path(package.__file__).resolve()
    assert source not in where.parents, f"imported from the source tree: {where}"
    assert Path(sys.prefix).resolve() in where.parents, f"not from this venv: {where}"

    doctor = station("doctor", "--json", "--data-dir", str(work / "doctor"))
    findings = json.loads(doctor.stdout)["findings"]
    install = [f for f in findings if f["area"] == "安装"]
    assert install and install[0]["level"] == "ok", install

    data = work / "demo"
    demo = station("demo", "--no-tui", "--json", "--cases", "12", "--data-dir", str(data))
    assert demo.returncode == 0, demo.stdout + demo.stderr
    info = json.loads(demo.stdout)
    assert info["created"] and (data / "station.db").is_file()

    from station.tui import AppConfig, make_app
    from station.tui.screens.unlock import UnlockScreen

    async def headless() -> str:
        app = make_app(AppConfig(data_dir=data, watch_scans=False, background_sync=False, watch_sticks=False))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, UnlockScreen), type(app.screen)
            return type(app.screen).__name__
    print("app:", asyncio.run(headless()))

    env = {"STATION_USER": "daiban", "STATION_PASSPHRASE": info["passphrase"]}
    listed = station("case", "list", "--json", "--data-dir", str(data), env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = json.loads(listed.stdout)
    number = (rows["cases"] if isinstance(rows, dict) else rows)[0]["number"]
    pdf = work / "receipt.pdf"
    printed = station("print", "receipt", number, "--out", str(pdf), "--data-dir", str(data), env=env)
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000

    hub = work / "hub"
    made = command("township", "init", "--code", "JZ01", "--name", "旧州镇便民服务中心", "--user", "admin", "--data-dir", str(hub),
                   env={"TOWNSHIP_PASSPHRASE": "wheel-smoke-hub-2026"})
    assert made.returncode == 0, made.stdout + made.stderr
    from sync.hub.console.app import ConsoleConfig
    from sync.hub.console.app import make_app as make_console
    from sync.hub.console.screens import LoginScreen

    async def console_headless() -> str:
        app = make_console(ConsoleConfig(data_dir=hub, watch_sticks=False))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen), type(app.screen)
            return type(app.screen).__name__
    print("console:", asyncio.run(console_headless()))
    print("wheel smoke: ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
