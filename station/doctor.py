"""``station doctor``: is this machine ready for the station? Each check says in Chinese what it
found, what is wrong and what to do; a finding that ``blocks`` stops the station's work (the
install is broken, nothing can be printed, the data folder cannot be written, the disk is full).

Checks: the install (package data: the app's stylesheet, the service catalog), the fonts (each
candidate on the machine and what it lacks; the one printouts will use), the printers, the data
folder (exists or can be made, readable and writable by this user, not open to other users), and
the free disk space where the data lives.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

OK, WARN, BLOCK = "ok", "warn", "block"
LABEL = {OK: "正常", WARN: "提醒", BLOCK: "问题"}
DISK_BLOCK = 200 * 1024 * 1024  # below this, a backup or a day's scans may not fit
DISK_WARN = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    area: str
    level: str
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"[{LABEL[self.level]}] {self.area}:{self.message}" + (f"\n       办法:{self.fix}" if self.fix else "")


def check(data_dir: Path) -> list[Finding]:
    return [*install(), *fonts(), *printers(), *data_folder(data_dir), *disk(data_dir)]


def install() -> list[Finding]:
    missing = []
    try:
        if not resources.files("station.tui").joinpath("station.tcss").is_file():
            missing.append("界面样式表 station.tcss")
    except (ModuleNotFoundError, OSError):
        missing.append("界面程序 station.tui")
    try:
        from station.catalog import shipped_catalog
        items = len(shipped_catalog().items)
    except Exception as exc:  # noqa: BLE001 - a missing or damaged catalog file, whatever the error
        missing.append(f"事项清单 catalog.json({type(exc).__name__})")
        items = 0
    if missing:
        return [Finding("安装", BLOCK, "安装不完整,缺少:" + "、".join(missing),
                        "请用完整的安装包重新安装(pip install --force-reinstall 安装包文件)")]
    return [Finding("安装", OK, f"界面样式表、事项清单({items} 项)齐全")]


def fonts() -> list[Finding]:
    from printouts import fonts as f
    found = []
    for path, lacking in f.survey():
        if lacking is None:
            found.append(Finding("字体", WARN, f"{path} 不是可嵌入的 TrueType 字体,已跳过"))
        elif lacking:
            found.append(Finding("字体", WARN, f"{path} 不能用:{f._why(path, lacking)},用它打印会缺字,已跳过"))
        else:
            found.append(Finding("字体", OK, f"{path} 含打印所需的全部文字"))
    try:
        choice = f.cjk_font()
    except f.FontMissing:
        return found + [Finding("字体", BLOCK, "没有能打印回执、台账全部文字的中文字体,打印会被拒绝", f.install_hint())]
    return found + [Finding("字体", OK, f"打印使用 {choice.path}" + (f"({choice.warning})" if choice.warning else ""))]


def printers() -> list[Finding]:
    from printouts import output
    found = output.printers()
    if found.names:
        return [Finding("打印机", OK, "本机的打印机:" + "、".join(found.names))]
    if found.can_print:
        return [Finding("打印机", OK, "有打印命令,将送到系统默认打印机(列不出打印机名称)")]
    return [Finding("打印机", WARN, "本机没有找到打印机(没有打印服务或未安装打印机)",
                    "安装打印机驱动(如 CUPS 和打印机的驱动);在此之前,打印时选“保存PDF”,拷到有打印机的电脑上打印")]


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def data_folder(data_dir: Path) -> list[Finding]:
    if not data_dir.exists():
        parent = _existing(data_dir)
        if not os.access(parent, os.W_OK | os.X_OK):
            return [Finding("数据目录", BLOCK, f"{data_dir} 不存在,且不能在 {parent} 中建立(没有写权限)",
                            "换一个数据目录(环境变量 STATION_HOME),或请管理员给这个文件夹写权限")]
        return [Finding("数据目录", WARN, f"{data_dir} 尚未建立服务站", "运行 station init 建立服务站,或 station demo 试用")]
    if not data_dir.is_dir():
        return [Finding("数据目录", BLOCK, f"{data_dir} 不是文件夹", "换一个数据目录(环境变量 STATION_HOME)")]
    problems = []
    if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
        problems.append(Finding("数据目录", BLOCK, f"{data_dir} 不能读写(权限不够)", "请管理员把这个文件夹交给当前用户,或换一个数据目录"))
    for name in ("station.db", "keys.json"):
        f = data_dir / name
        if f.exists() and not os.access(f, os.R_OK | os.W_OK):
            problems.append(Finding("数据目录", BLOCK, f"{f} 不能读写(权限不够)", "请管理员把这个文件交给当前用户"))
    if os.name == "posix" and stat.S_IMODE(data_dir.stat().st_mode) & 0o077:
        problems.append(Finding("数据目录", WARN, f"{data_dir} 其他用户也能进入(虽已加密,仍不宜公开)", f"chmod 700 {data_dir}"))
    if problems:
        return problems
    state = "已建立服务站" if (data_dir / "station.db").exists() else "尚未建立服务站"
    return [Finding("数据目录", OK, f"{data_dir} 可读写,{state}")]


def disk(data_dir: Path) -> list[Finding]:
    where = _existing(data_dir)
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return [Finding("磁盘空间", WARN, f"查不到 {where} 所在磁盘的剩余空间:{exc.strerror or exc}")]
    text = f"{where} 所在磁盘剩余 {free / 1024**3:.1f} GB"
    if free < DISK_BLOCK:
        return [Finding("磁盘空间", BLOCK, text + ",不够保存数据和备份", "删除不用的文件(如旧的扫描件、下载),或换一块空间大的磁盘")]
    if free < DISK_WARN:
        return [Finding("磁盘空间", WARN, text + ",快满了", "尽快清理不用的文件")]
    return [Finding("磁盘空间", OK, text)]


def as_dict(findings: list[Finding]) -> dict:
    return {"ok": not any(f.level == BLOCK for f in findings), "findings": [asdict(f) for f in findings]}
