"""``station doctor``: checks this machine for the station and says in Chinese what to fix
(see ``station.doctor``); exit code 20 when something blocks the station's work."""
from __future__ import annotations

import sys

from station.cli import Out, common, main
from station.services.session import StationHome

BLOCKED_EXIT = 20


@main.command("doctor")
@common
def doctor(out: Out, home: StationHome):
    """体检:检查安装、字体、打印机、数据目录权限和磁盘空间,说明哪里有问题、怎么办。"""
    from station import doctor as checks
    findings = checks.check(home.dir)
    report = checks.as_dict(findings)
    blocked = sum(f.level == checks.BLOCK for f in findings)
    warned = sum(f.level == checks.WARN for f in findings)
    verdict = (f"结论:有 {blocked} 项问题会影响使用,请按上面的办法处理。" if blocked
               else "结论:可以正常使用" + (f"(有 {warned} 项提醒)。" if warned else "。"))
    out.emit(report, lambda d: f"村站通体检(数据目录 {home.dir})\n" + "\n".join(f.line() for f in findings) + "\n" + verdict)
    if blocked:
        sys.exit(BLOCKED_EXIT)
