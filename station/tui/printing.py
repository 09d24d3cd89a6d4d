"""Print keys of the app: the same ``printouts.render`` and ``printouts.printing.send`` the CLI
uses, run in a worker (building and spooling can take a second on an old PC)."""
from __future__ import annotations

from textual.screen import Screen

from station.errors import StationError


def print_document(screen: Screen, kind: str, ref: str) -> None:
    app = screen.app

    def run() -> None:
        from printouts import printing
        from printouts.render import render
        try:
            doc = render(app.session, kind, ref)
            message = printing.send(doc.pdf, doc.title)
        except StationError as exc:
            app.call_from_thread(app.show_error, exc)
            return
        note = f"\n注意:{doc.warning}" if doc.warning else ""
        app.call_from_thread(app.notify, message + note, title=doc.title)
    screen.run_worker(run, thread=True, exit_on_error=False, group="print")
    app.notify("正在生成并发送到打印机…", title="打印", timeout=3)
