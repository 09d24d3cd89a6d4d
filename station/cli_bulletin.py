"""``station bulletin`` (the 九个一 profile and its checklist) and ``station notice`` (the board).
Registered on ``station.cli.main``."""
from __future__ import annotations

import sys

import click

from station.cli import Out, StationHome, common, main, pad, unlock
from station.core.ids import short

STATUS = {"draft": "草稿", "published": "已发布", "archived": "已归档"}


@main.group("bulletin")
def bulletin_group():
    """九个一:服务站公开信息与检查清单。"""


@bulletin_group.command("show")
@common
def bulletin_show(out: Out, home: StationHome):
    """显示服务站公开信息。"""
    from station.services import bulletin
    with unlock(home) as session:
        p = bulletin.profile(session)
    out.emit(p, lambda d: "\n".join(f"{k}:{v if not isinstance(v, (dict, list)) else ('、'.join(v) if isinstance(v, list) else '')}"
                                    for k, v in d.items()) + "\n制度:\n" + "\n".join(f"  {k}:{v}" for k, v in d["rules"].items()))


@bulletin_group.command("check")
@common
def bulletin_check(out: Out, home: StationHome):
    """九个一检查清单:哪些已具备,缺什么。"""
    from station.services import bulletin
    with unlock(home) as session:
        items = bulletin.check(session)
    out.emit([vars(i) for i in items], lambda _: "\n".join(("✓ " if i.ok else "✗ ") + i.label + ("" if i.ok else f":{i.missing}")
                                                          for i in items))
    if not all(i.ok for i in items):
        sys.exit(13)


@bulletin_group.command("set")
@click.argument("key", type=click.Choice(["name", "address", "hours", "market_day_hours", "phone", "one_stop", "clerks_on_duty", "rule"]))
@click.argument("value")
@click.option("--rule-name", help="设置制度时:制度名称,如 首问负责制")
@common
def bulletin_set(key, value, rule_name, out: Out, home: StationHome):
    """修改公开信息(站长):name 名称,address 地址,hours 办公时间,market_day_hours 赶集日时间,phone 电话,
    one_stop 一站式办结说明,clerks_on_duty 在岗代办员(用、分隔),rule 制度(配合 --rule-name)。"""
    from station.errors import FieldError, ValidationFailed
    from station.services import bulletin
    with unlock(home) as session:
        if key == "rule":
            if not rule_name:
                raise ValidationFailed("请用 --rule-name 指定制度名称", [FieldError("rule_name", "required", "缺少制度名称")])
            rules = dict(bulletin.profile(session)["rules"], **{rule_name: value})
            p = bulletin.set_profile(session, rules=rules)
        elif key == "clerks_on_duty":
            p = bulletin.set_profile(session, clerks_on_duty=[c.strip() for c in value.replace(",", "、").split("、") if c.strip()])
        else:
            p = bulletin.set_profile(session, **{key: value})
    out.emit(p, "已保存")


@main.group("notice")
def notice_group():
    """公示栏:公示、公告与异议。"""


@notice_group.command("new")
@click.option("--kind", type=click.Choice(["公示", "公告"]), default="公告", show_default=True)
@click.option("--title")
@click.option("--body")
@click.option("--from-ledger", "from_ledger", type=click.Choice(["subsidy", "relief"]), help="由台账生成公示(号码脱敏)")
@click.option("--program", help="--from-ledger 时:项目")
@click.option("--period", help="--from-ledger 时:期间")
@common
def notice_new(kind, title, body, from_ledger, program, period, out: Out, home: StationHome):
    """写一则公示或公告(草稿);或由台账某期生成补贴/救助公示。"""
    from station.services import bulletin
    with unlock(home) as session:
        if from_ledger:
            from ledgers.posting import draft_notice
            nid = draft_notice(session, from_ledger, program or "", period or "")
        else:
            nid = bulletin.new_notice(session, kind, title or "", body or "")
    out.emit({"id": nid}, f"已保存草稿 {short(nid)}:发布时须填写公示期(station notice publish {short(nid)} --from … --to …)")


@notice_group.command("edit")
@click.argument("notice_id")
@click.option("--title", help="新标题")
@click.option("--body", help="新内容")
@common
def notice_edit(notice_id, title, body, out: Out, home: StationHome):
    """修改草稿(发布后不能再改)。"""
    from station.services import bulletin
    with unlock(home) as session:
        bulletin.edit_notice(session, notice_id, title, body)
    out.emit({"edited": True}, "草稿已修改")


@notice_group.command("publish")
@click.argument("notice_id")
@click.option("--from", "posting_from", help="公示开始日期")
@click.option("--to", "posting_to", help="公示截止日期")
@common
def notice_publish(notice_id, posting_from, posting_to, out: Out, home: StationHome):
    """发布(须有公示期)。"""
    from station.services import bulletin
    with unlock(home) as session:
        n = bulletin.publish(session, notice_id, posting_from, posting_to)
    out.emit(n, f"已发布:{n['title']}(公示期 {n['posting_from']} 至 {n['posting_to']})")


@notice_group.command("list")
@common
def notice_list(out: Out, home: StationHome):
    """公示栏:正在公示、即将公示、已到期待归档、已归档、草稿。"""
    from station.services import bulletin
    with unlock(home) as session:
        b = bulletin.board(session)
    labels = {"current": "正在公示", "upcoming": "即将公示", "ended": "已到期(待归档)", "archived": "已归档", "drafts": "草稿"}
    out.emit(b, lambda d: "\n".join(f"{labels[k]}:\n" + "\n".join(
        f"  {short(r['id'])}  {r['kind']}  {pad(r['title'], 40)} {r['posting_from'] or ''}~{r['posting_to'] or ''}  "
        f"异议 {r['objections']}(未答复 {r['open_objections'] or 0})" for r in rows) for k, rows in d.items() if rows) or "公示栏是空的")


@notice_group.command("archive")
@click.argument("notice_id")
@common
def notice_archive(notice_id, out: Out, home: StationHome):
    """公示期结束、异议全部答复后归档。"""
    from station.services import bulletin
    with unlock(home) as session:
        bulletin.archive(session, notice_id)
    out.emit({"archived": True}, "已归档")


@notice_group.group("objection")
def objection_group():
    """公示期内的异议。"""


@objection_group.command("add")
@click.argument("notice_id")
@click.option("--who", required=True, help="提出异议的人")
@click.option("--what", required=True, help="异议内容")
@click.option("--on", "on", help="日期(默认今天,须在公示期内)")
@common
def objection_add(notice_id, who, what, on, out: Out, home: StationHome):
    """登记一条异议。"""
    from station.services import bulletin
    with unlock(home) as session:
        oid = bulletin.add_objection(session, notice_id, who, what, on)
    out.emit({"id": oid}, f"已登记异议 {short(oid)}:须答复后公示才能归档")


@objection_group.command("answer")
@click.argument("objection_id")
@click.option("--answer", required=True, help="答复内容")
@common
def objection_answer(objection_id, answer, out: Out, home: StationHome):
    """答复异议。"""
    from station.services import bulletin
    with unlock(home) as session:
        bulletin.answer_objection(session, objection_id, answer)
    out.emit({"answered": True}, "已答复")
