"""``station rules`` (the county's rules: show, import from a file) and ``station ratings export``
(the 好差评 records for the provincial system). Registered on ``station.cli.main``."""
from __future__ import annotations

from pathlib import Path

import click

from station.cli import Out, StationHome, _read_json, common, main, unlock


@main.group("rules")
def rules_group():
    """考核规则:差评回访、整改、公示异议答复的时限等(由乡镇下发)。"""


@rules_group.command("show")
@common
def rules_show(out: Out, home: StationHome):
    """显示正在执行的考核规则。"""
    from station.services import rules
    with unlock(home) as session:
        data = rules.describe(session)
    out.emit(data, lambda d: "\n".join(f"{label}:{value}" for label, value in d["lines"]))


@rules_group.command("import")
@click.argument("source")
@common
def rules_import(source, out: Out, home: StationHome):
    """导入乡镇以文件下发的考核规则(JSON)。已定的期限不变,新规则从下一件事起执行。"""
    from station.services import rules
    doc = _read_json(source)
    with unlock(home) as session:
        result = rules.import_doc(session, doc, f"文件 {Path(source).name}")
    out.emit(result, lambda d: f"已启用考核规则 {d['version']}" if d["installed"] else f"考核规则 {d['version']} 已导入过,未改变")


@main.group("ratings")
def ratings_group():
    """好差评记录。"""


@ratings_group.command("close-unrated")
@common
def ratings_close_unrated(out: Out, home: StationHome):
    """按考核规则结束送达后逾期未评价件的评价期(规则未设定时不做任何事)。"""
    from station.services import cases
    with unlock(home) as session:
        closed = cases.close_unrated(session)
    out.emit({"closed": closed}, lambda d: f"结束评价期 {len(d['closed'])} 件" + ("" if not d["closed"] else ":" + "、".join(d["closed"])))


@ratings_group.command("export")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="导出文件(.xlsx 或 .json)")
@common
def ratings_export(out_path, out: Out, home: StationHome):
    """导出好差评记录(办件编号、事项编码、评价等级、评价时间、评价渠道、差评原因、整改情况、回访时间)。"""
    from station.services import ratings
    with unlock(home) as session:
        n = ratings.export(session, out_path)
    out.emit({"rows": n, "out": str(out_path)}, lambda d: f"已导出 {d['rows']} 条评价到 {d['out']}")
