"""``station ledger``: import township spreadsheets with a validation report, list, totals, lock,
correct, export, verify the chain. Registered on ``station.cli.main``."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from station.cli import Out, StationHome, common, main, pad, unlock
from station.core.ids import short
from station.errors import FieldError, ValidationFailed

LEDGER = click.option("--ledger", type=click.Choice(["subsidy", "relief"]), default="subsidy", show_default=True,
                      help="subsidy=涉农补贴,relief=民政救济")


@main.group("ledger")
def ledger_group():
    """台账:涉农补贴、民政救济。"""


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValidationFailed("列对应格式不对", [FieldError("map", "bad_map", f"“{pair}”应写成 项目=表头名,如 户主姓名=户主")])
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _with_map_hint(exc: ValidationFailed) -> ValidationFailed:
    """The service's message names the missing column; on the command line, say how to name it."""
    details = [FieldError(d.field, d.code, d.message + (f"。可用 --map {m.group(1)}=表头名 指定这一列"
                                                        if d.code == "missing_column" and (m := re.search(r"“(.+?)”", d.message)) else ""))
               for d in exc.details]
    return ValidationFailed(exc.title, details)


@ledger_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@LEDGER
@click.option("--program", required=True, help="项目,如 耕地地力保护补贴、低保")
@click.option("--period", required=True, help="期间,如 2026 或 2026-11")
@click.option("--map", "maps", multiple=True, help="纠正列对应:项目=表头名(可多次),如 户主姓名=户主、金额=发放金额")
@click.option("--dry-run", is_flag=True, help="只检查并显示校验报告,不写入")
@click.option("--valid-only", is_flag=True, help="有错误时只导入正确的行(默认:有错误则全部不导入)")
@click.option("--sheet", help="工作簿中要读的工作表名称(默认:找含名单的那一个)")
@common
def ledger_import(file, ledger, program, period, maps, dry_run, valid_only, sheet, out: Out, home: StationHome):
    """导入乡镇发来的 .xlsx、.xls 或 .csv(UTF-8/GBK)名单;先显示校验报告。"""
    from ledgers import rules, service
    with unlock(home) as session:
        try:
            report = service.import_file(session, file, ledger, program, period, _mapping(maps), dry_run, valid_only, sheet)
        except ValidationFailed as exc:
            raise _with_map_hint(exc) from None

    def human(d):
        if d["already_imported"]:
            return f"{file.name} 已导入过本期台账,未重复导入。"
        lines = [(f"工作表“{d['sheet']}”(共 {len(d['sheets'])} 个:{'、'.join(d['sheets'])})," if len(d["sheets"]) > 1 else "")
                 + f"表头在第 {d['header_row']} 行;列对应:" + ",".join(f"{rules.FIELD_LABELS[k]}←{v}" for k, v in d["mapping"].items()),
                 f"共 {d['rows']} 行,正确 {d['valid']} 行,合计 {d['total']} 元;错误 {d['error_count']} 处"]
        lines += [f"  注意:{note}" for note in d["notes"]]
        lines += [f"  {service.where(e)}:{e['message']}" for e in d["errors"]]
        lines += [f"  第 {s['row']} 行:{s['reason']}" for s in d["skipped"]]
        if d["error_count"] > len(d["errors"]):
            lines.append(f"  ……另有 {d['error_count'] - len(d['errors'])} 处未列出(请先修正以上各处)")
        lines.append("(试导入,未写入)" if dry_run else f"已写入 {d['written']} 行。")
        return "\n".join(lines)
    out.emit(report.as_dict(), human)
    if dry_run and report.error_count:
        sys.exit(2)


@ledger_group.command("list")
@LEDGER
@click.option("--program")
@click.option("--period")
@click.option("--group", "village_group", help="村民小组")
@click.option("--limit", default=200, show_default=True)
@common
def ledger_list(ledger, program, period, village_group, limit, out: Out, home: StationHome):
    """台账明细(身份证、银行卡、电话已脱敏)。"""
    from ledgers import service
    with unlock(home) as session:
        rows = service.entries(session, ledger, program, period, village_group, limit=limit)
    out.emit(rows, lambda rs: "\n".join(f"{pad(r['head_name'], 8)} {r['id_number']}  {pad(r['village_group'] or '', 6)} "
                                        f"{r['amount']:>12}  {r['status']}  {service.KIND_LABELS[r['kind']]}"
                                        f"{'(' + r['reason'] + ')' if r['reason'] else ''}  {short(r['id'])}" for r in rs) or "没有记录")


@ledger_group.command("totals")
@LEDGER
@click.option("--program")
@click.option("--period")
@click.option("--by", type=click.Choice(["program", "period", "village_group"]), multiple=True, help="分组(可多次;默认 项目、期间、村民小组)")
@common
def ledger_totals(ledger, program, period, by, out: Out, home: StationHome):
    """合计(精确到分,含更正)。"""
    from ledgers import service
    with unlock(home) as session:
        rows = service.totals(session, ledger, program, period, by=tuple(by) or ("program", "period", "village_group"))
    out.emit(rows, lambda rs: "\n".join("  ".join(str(r.get(k) or "") for k in ("program", "period", "village_group") if k in r)
                                        + f"  {r['households']} 户次  {r['total']} 元" for r in rs) or "没有记录")


@ledger_group.command("lock")
@LEDGER
@click.option("--program", required=True)
@click.option("--period", required=True)
@common
def ledger_lock(ledger, program, period, out: Out, home: StationHome):
    """锁定一期台账(站长):此后只能通过更正修改,且更正留痕。"""
    from ledgers import service
    with unlock(home) as session:
        service.lock(session, ledger, program, period)
    out.emit({"locked": True}, f"{program} {period} 已锁定")


@ledger_group.command("correct")
@click.argument("entry_id")
@click.option("--reason", required=True, help="更正原因(必填,留痕)")
@click.option("--set", "sets", multiple=True, help="替换为新值:字段=值(可多次),如 amount=812.50;不给则为冲减")
@common
def ledger_correct(entry_id, reason, sets, out: Out, home: StationHome):
    """更正一条台账记录:冲减,或冲减后按新值替换。ENTRY_ID 见 ledger list 末列(可只写末8位)。"""
    from ledgers import service
    with unlock(home) as session:
        full = session.store.resolve_id("ledger_entries", "id", entry_id)
        ids = service.correct(session, full or entry_id, reason, _mapping(sets) or None)
    out.emit({"entries": ids}, f"已记录更正:{len(ids)} 条新记录(原记录保留)")


@ledger_group.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@LEDGER
@click.option("--program")
@click.option("--period")
@click.option("--group", "village_group")
@click.option("--gbk", is_flag=True, help="CSV 用 GBK 编码(默认 UTF-8 带 BOM)")
@common
def ledger_export(file, ledger, program, period, village_group, gbk, out: Out, home: StationHome):
    """导出台账为 .xlsx 或 .csv(号码已脱敏;完整数据经加密数据包送乡镇)。"""
    from ledgers import service
    with unlock(home) as session:
        n = service.export(session, file, ledger, program, period, village_group, encoding="gb18030" if gbk else "utf-8-sig")
    out.emit({"file": str(file), "rows": n}, f"已导出 {n} 行到 {file}")


@ledger_group.command("verify")
@common
def ledger_verify(out: Out, home: StationHome):
    """校验台账哈希链:发现被改动、删除或调换的记录。"""
    from ledgers import service
    with unlock(home) as session:
        count, problems = service.verify_chain(session)
    out.emit({"entries": count, "ok": not problems, "problems": problems},
             lambda d: f"台账哈希链完好:共 {count} 条" if d["ok"] else "台账哈希链有问题:\n" + "\n".join(problems))
    if problems:
        sys.exit(9)


@ledger_group.group("infra")
def infra_group():
    """农村基础设施建设台账:项目、资金来源、预算、施工单位、进度、付款、验收。"""


def _show_project(p) -> str:
    d = p.as_dict()
    return (f"{d['name']}({short(d['id'])})· {d['status_label']} · 进度 {d['progress']}% · 资金来源 {d['funding_source']} · "
            f"施工单位 {d['contractor'] or '—'}\n  预算 {d['budget']} 元,已付 {d['paid']} 元,余 {d['remaining']} 元")


@infra_group.command("add")
@click.option("--name", required=True)
@click.option("--funding", required=True, help="资金来源,如 一事一议财政奖补")
@click.option("--budget", required=True, help="预算(元)")
@click.option("--contractor", default="", help="施工单位")
@common
def infra_add(name, funding, budget, contractor, out: Out, home: StationHome):
    """登记一个项目。"""
    from ledgers import infra
    with unlock(home) as session:
        p = infra.get(session, infra.create(session, name, funding, budget, contractor))
    out.emit(p.as_dict(), _show_project(p))


@infra_group.command("progress")
@click.argument("project")
@click.option("--percent", required=True, type=int)
@click.option("--note", default="")
@click.option("--on", "on", help="日期(默认今天)")
@common
def infra_progress(project, percent, note, on, out: Out, home: StationHome):
    """记录工程进度(百分比)。"""
    from ledgers import infra
    with unlock(home) as session:
        p = infra.progress(session, project, percent, note, on)
    out.emit(p.as_dict(), _show_project(p))


@infra_group.command("pay")
@click.argument("project")
@click.option("--amount", required=True, help="金额(元);负数为冲减,须写 --reason")
@click.option("--payee", required=True, help="收款单位")
@click.option("--reason", default="")
@click.option("--on", "on")
@common
def infra_pay(project, amount, payee, reason, on, out: Out, home: StationHome):
    """记录一笔付款(不能超过预算)。"""
    from ledgers import infra
    with unlock(home) as session:
        p = infra.pay(session, project, amount, payee, on, reason)
    out.emit(p.as_dict(), _show_project(p))


@infra_group.command("accept")
@click.argument("project")
@click.option("--note", required=True, help="验收意见")
@click.option("--on", "on")
@common
def infra_accept(project, note, on, out: Out, home: StationHome):
    """记录验收(站长;工程须已完工)。"""
    from ledgers import infra
    with unlock(home) as session:
        p = infra.accept(session, project, note, on)
    out.emit(p.as_dict(), _show_project(p))


@infra_group.command("list")
@common
def infra_list(out: Out, home: StationHome):
    """全部项目及其预算、付款、进度。"""
    from ledgers import infra
    with unlock(home) as session:
        ps = infra.projects(session)
    out.emit([p.as_dict() for p in ps], lambda _: "\n".join(_show_project(p) for p in ps) or "没有项目")
