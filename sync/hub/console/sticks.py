"""U盘: sticks the console noticed (removable drives via psutil, and the folders in its settings),
imported with a progress bar through the hub's USB import service, which writes each station's
acknowledgement back onto the stick; what was refused is listed with the reason."""
from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from sync.hub.console.screens import ConsoleScreen
from sync.usb import ACK_DIR


def bundle_count(root: Path) -> int:
    """Bundles and enrolment replies on a stick: in its top folder and the station folders in it
    (never through a link: anyone could plant one on a stick)."""
    count = 0
    try:
        with os.scandir(root) as top:
            entries = list(top)
    except OSError:
        return 0
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and entry.name.endswith((".vsb", ".json")):
            count += entry.name.endswith(".vsb") or entry.name.startswith("enrol-reply-")
        elif entry.is_dir(follow_symlinks=False) and entry.name != ACK_DIR:
            try:
                with os.scandir(entry.path) as inner:
                    count += sum(1 for e in inner if e.is_file(follow_symlinks=False) and
                                 (e.name.endswith(".vsb") or e.name.startswith("enrol-reply-")))
            except OSError:
                continue
    return count


def find_sticks(folders: list[Path]) -> list[tuple[Path, int]]:
    """Every stick (or watched folder) with something to import on it."""
    from sync.usb import removable_drives
    roots = list(folders)
    try:
        roots += [r for r in removable_drives() if r not in roots]
    except Exception:  # noqa: BLE001 - psutil may fail on odd mounts: the folders still work
        pass
    return [(r, n) for r in roots if (n := bundle_count(r))]


class StickScreen(ConsoleScreen):
    """U盘:导入各服务站的数据包,确认文件写回U盘"""

    BINDINGS = [("escape", "app.go('overview')", "返回"), ("enter", "import_stick", "导入"), ("r", "refresh", "刷新")]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="")
        yield Static("发现的U盘和文件夹(回车导入):", classes="section")
        yield DataTable(id="sticks", cursor_type="row")
        yield ProgressBar(id="stick-progress", show_eta=False)
        yield Static("", id="stick-status", classes="status-line")
        yield DataTable(id="stick-report", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sticks", DataTable).add_columns("位置", "数据包")
        report = self.query_one("#stick-report", DataTable)
        report.add_column("结果", width=10)
        report.add_column("说明", width=60)
        self.query_one("#stick-progress", ProgressBar).display = False
        self.query_one("#sticks", DataTable).focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        table = self.query_one("#sticks", DataTable)
        table.clear()
        for root, n in find_sticks(self.app.stick_folders()):
            table.add_row(str(root), f"{n} 个", key=str(root))
        if not table.row_count:
            self.query_one("#stick-status", Static).update("没有发现带数据包的U盘。插入U盘后按 R 刷新。")

    @on(DataTable.RowSelected, "#sticks")
    def action_import_stick(self) -> None:
        table = self.query_one("#sticks", DataTable)
        if not table.row_count:
            return
        root = Path(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        bar = self.query_one("#stick-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.query_one("#stick-status", Static).update(f"正在导入 {root} …")
        self._import(root)

    @work(thread=True, exclusive=True, exit_on_error=False, group="stick-import")
    def _import(self, root: Path) -> None:
        from sync.hub.usb import import_path
        self.hub.require("import")
        report = import_path(self.hub, root, progress=lambda done, total: self.app.call_from_thread(self._progress, done, total))
        self.app.call_from_thread(self._done, root, report)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#stick-progress", ProgressBar).update(total=total, progress=done)

    def _done(self, root: Path, report) -> None:
        table = self.query_one("#stick-report", DataTable)
        table.clear()
        for code, r in sorted(report.stations.items()):
            table.add_row("已导入", f"{code}:数据包 {r.bundles} 个,新记录 {r.records} 条" + (f",{r.already} 个已导入过" if r.already else "")
                          + (",确认文件已写回" if r.ack_file else ""))
            for h in r.held:
                table.add_row(Text("暂存", style="yellow"), h)
        for c in report.enrolled:
            table.add_row("登记", f"服务站 {c} 登记完成")
        for x in report.rejected:
            table.add_row(Text("拒收", style="bold red"), f"{x['file']}:{x['reason']}")
        for x in report.skipped:
            table.add_row("跳过", f"{x['file']}:{x['reason']}")
        refused = len(report.rejected)
        self.query_one("#stick-status", Static).update(
            f"{root} 导入完成" + (f",拒收 {refused} 个文件(见下表原因)" if refused else ",全部接收") + "。可以拔出U盘带回服务站。")
        self.app.stick_done(root)
