"""The ``township`` command for township staff: set up the hub, run it, enrol stations, work the
cases, publish catalogs and calendars, see what was quarantined, verify the hub's audit trail. Scriptable with ``--json``;
the passphrase comes from a prompt or ``TOWNSHIP_PASSPHRASE`` (user ``TOWNSHIP_USER``)."""
from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import click
import platformdirs

from station.cli import Out, command_options, pad, secret
from station.core.cases import Status
from station.errors import FieldError, StationError, ValidationFailed
from sync.hub.limits import ServeLimits
from sync.hub.service import Hub, HubHome

# `township import` (and `station import-ack`): everything readable was imported, but at least one
# file was refused or an acknowledgement could not be written back (the report says which).
EXIT_REFUSED = 15


def default_dir() -> Path:
    env = os.environ.get("TOWNSHIP_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("village-township", appauthor=False))


def _secret(prompt: str, confirm: bool = False) -> str:
    return secret("TOWNSHIP_PASSPHRASE", prompt, confirm)


def unlock(home: HubHome) -> Hub:
    """The hub signed in (with the user's staff role) as ``TOWNSHIP_USER`` or the one user, or as asked."""
    user, key = unlock_key(home)
    return home.open_hub(user, key)


def unlock_key(home: HubHome) -> tuple[str, bytes]:
    """Who is signing in, and the hub's store key their passphrase unwraps."""
    user = os.environ.get("TOWNSHIP_USER")
    if not user:
        users = home.users()
        user = users[0] if len(users) == 1 else click.prompt("用户名")
    return user, home.unlock_key(user, _secret(f"{user} 的密码"))


common = command_options(lambda data_dir: HubHome(data_dir or default_dir()), "乡镇服务器数据目录(默认 TOWNSHIP_HOME)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """乡镇便民服务中心:接收各村服务站的数据并下发办理结果。不带子命令时打开工作台。"""
    if ctx.invoked_subcommand is None:
        try:
            _run_console(default_dir())
        except StationError as exc:
            click.echo(f"错误:{exc}", err=True)
            sys.exit(exc.exit_code)


def _run_console(data_dir: Path) -> None:
    from sync.hub.console import ConsoleConfig, make_app
    HubHome(data_dir)._ring()  # no hub here: say so (township init) before the screen opens
    make_app(ConsoleConfig(data_dir=data_dir, user=os.environ.get("TOWNSHIP_USER"),
                           passphrase=os.environ.get("TOWNSHIP_PASSPHRASE"))).run()


@main.command()
@common
def console(out: Out, home: HubHome):
    """打开乡镇工作台(全屏界面):总览、待办、办件。"""
    _run_console(home.dir)


@main.command()
@click.option("--code", required=True, help="乡镇编码(2-12位大写字母或数字)")
@click.option("--name", required=True, help="名称,如 旧州镇便民服务中心")
@click.option("--user", "username", default="admin", show_default=True, help="管理员登录名")
@click.option("--db", "db", default=None, help="区县使用 PostgreSQL 时的数据库地址 postgresql://…(默认:数据目录中的加密 SQLite 文件)")
@common
def init(code, name, username, db, out: Out, home: HubHome):
    """建立乡镇服务器的加密数据库和密钥。恢复码只显示这一次。"""
    hub, recovery = home.init(code, name, username, _secret("管理员密码(至少8位)", confirm=True), db=db)
    hub.store.close()
    out.emit({"data_dir": str(home.dir), "hub_id": hub.hub_id, "recovery_code": recovery},
             f"乡镇服务器已建立:{home.dir}\n恢复码(只显示这一次,请妥善保管):{recovery}")


def _settle() -> None:
    """Before serving: what is loaded by now (modules, schemas, the app) lives as long as the server, so
    no collection need walk it again (full collections walked it a dozen times per 100,000 events
    synced, 25 ms each). Collected first, so start-up's garbage (the unlock's among it) is freed, not
    kept for good."""
    gc.collect()
    gc.freeze()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址;对外服务(如 0.0.0.0)时请同时用 --tls-cert/--tls-key")
@click.option("--port", default=8470, show_default=True, type=int)
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="HTTPS 证书(PEM),发给各服务站用 --ca 核验")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="HTTPS 证书的私钥(PEM)")
@click.option("--max-connections", type=click.IntRange(2), default=ServeLimits.max_connections, show_default=True,
              help="同时打开的连接上限,超过时答 503")
@click.option("--max-applying", type=click.IntRange(1), default=ServeLimits.max_applying, show_default=True,
              help="同时校验、解密、导入的数据包个数")
@click.option("--max-buffered-mb", type=click.IntRange(1), default=ServeLimits.max_buffered // 2**20, show_default=True,
              help="所有未完成的上传合计最多占用的内存(MB),超过时答 503 稍后重试")
@click.option("--header-timeout", type=click.FloatRange(0.1), default=ServeLimits.header_timeout, show_default=True,
              help="请求头须在几秒内送达")
@click.option("--body-timeout", type=click.FloatRange(0.1), default=ServeLimits.body_timeout, show_default=True,
              help="请求内容须在几秒内全部送达(另有 30 秒无数据即断开)")
@click.option("--keep-alive", type=click.IntRange(1), default=ServeLimits.keep_alive, show_default=True,
              help="空闲连接保持几秒")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="服务进程个数(大于 1 需要 PostgreSQL 数据库;同一服务站的数据包依次导入,不同服务站并行)")
@common
def serve(host, port, tls_cert, tls_key, max_connections, max_applying, max_buffered_mb, header_timeout, body_timeout,
          keep_alive, workers, out: Out, home: HubHome):
    """运行同步服务(HTTP 或 HTTPS)。各服务站用 station sync 与之同步。限额说明见 sync/SPEC.md。"""
    import uvicorn

    from sync.hub.limits import uvicorn_options
    from sync.hub.server import create_app
    limits = ServeLimits(max_connections=max_connections, max_applying=max_applying, max_buffered=max_buffered_mb * 2**20,
                         header_timeout=header_timeout, body_timeout=body_timeout,
                         body_idle_timeout=min(ServeLimits.body_idle_timeout, body_timeout), keep_alive=keep_alive)
    if (tls_cert is None) != (tls_key is None):
        raise ValidationFailed("HTTPS 需要证书和私钥", [FieldError("tls", "incomplete", "--tls-cert 和 --tls-key 须同时给出")])
    from sync.hub import workers as multi
    multi.check_workers(workers, home.dsn())
    user, key = unlock_key(home)
    hub = home.open_hub(user, key)
    try:
        hub.require("serve")  # a township's account on a county's hub does not run the county's server
    except StationError:
        hub.store.close()
        raise
    scheme = "https" if tls_cert else "http"
    click.echo(f"乡镇同步服务 {hub.name}({hub.hub_id})正在 {scheme}://{host}:{port} 监听", err=True)
    if not tls_cert and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("注意:未启用 HTTPS。登记和数据包本身已加密,但建议用 --tls-cert/--tls-key 再加一层保护", err=True)
    tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)} if tls_cert else {}
    if workers > 1:
        hub.store.close()  # each worker opens its own connection after the fork
        _settle()  # the workers, forked after it, also keep sharing those pages
        multi.serve(lambda: create_app(home.open_hub(user, key), limits), workers, host, port,
                    {**tls, **uvicorn_options(limits)})
        return
    try:
        app = create_app(hub, limits)
        _settle()
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **tls,
                    **uvicorn_options(limits))
    finally:
        hub.store.close()


@main.group("station")
def station_group():
    """服务站登记、停用。"""


@station_group.command("add")
@click.option("--code", required=True, help="服务站编码")
@click.option("--name", required=True, help="服务站名称")
@click.option("--url", help="服务站联网同步时使用的本服务器地址,写入登记文件")
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="登记文件保存位置(默认 enrol-<编码>.json)")
@common
def station_add(code, name, url, out_file, out: Out, home: HubHome):
    """生成一次性登记码(抄在纸上交给代办员,不写入任何文件)和登记文件(U盘带去,station enroll 文件)。
    重新生成会作废旧登记码,并解除因尝试次数过多造成的锁定。"""
    with unlock(home) as hub:
        one_time, doc = hub.add_station(code, name, url)
    _emit_enrolment(out, one_time, doc, out_file)


@station_group.command("reset")
@click.argument("code")
@click.option("--url", help="服务站联网同步时使用的本服务器地址,写入登记文件")
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="登记文件保存位置(默认 enrol-<编码>.json)")
@common
def station_reset(code, url, out_file, out: Out, home: HubHome):
    """服务站电脑损坏或更换:停用旧密钥并生成新登记码;新电脑登记后,该站已上报的数据全部发回,编号接续。"""
    with unlock(home) as hub:
        one_time, doc = hub.reset(code, url)
    _emit_enrolment(out, one_time, doc, out_file)


def _emit_enrolment(out: Out, one_time: str, doc: dict, out_file: Path | None) -> None:
    from sync.enrol_protocol import printable_code
    target = out_file or Path(f"enrol-{doc['station_code']}.json")
    target.write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    shown = printable_code(one_time)
    out.emit({"station_code": doc["station_code"], "code": one_time, "file": str(target), "expires": doc["expires"]},
             f"服务站 {doc['station_code']} 一次性登记码:{shown}(有效期至 {doc['expires'][:10]})\n"
             f"请把登记码抄在纸上当面交给代办员;登记文件 {target} 中不含登记码,可用U盘带去。\n"
             f"联网登记:station enroll --hub <本服务器地址> --code {shown}\nU盘登记:station enroll {target.name}(按提示输入登记码)")


@station_group.command("confirm")
@click.argument("reply", type=click.Path(path_type=Path))
@common
def station_confirm(reply, out: Out, home: HubHome):
    """导入服务站的登记回执文件(U盘带回),完成登记。"""
    from sync import stickfiles
    try:
        doc = json.loads(stickfiles.read_capped(reply, stickfiles.MAX_REPLY_FILE).decode("utf-8"))
    except (stickfiles.Refused, ValueError, RecursionError):
        raise ValidationFailed("登记回执无效", [FieldError("file", "bad_file", f"{reply} 不是登记回执文件")]) from None
    with unlock(home) as hub:
        hub.require("station.manage")
        code, now = hub.confirm_reply(doc)
    out.emit({"station_code": code, "active": True, "already": not now},
             f"服务站 {code} 登记完成" if now else f"服务站 {code} 早已用这份回执登记完成,无需再次确认")


@station_group.command("list")
@common
def station_list(out: Out, home: HubHome):
    """列出服务站、同步情况,以及登记码的尝试次数和锁定。"""
    from sync.enrol_protocol import MAX_ATTEMPTS
    with unlock(home) as hub:
        rows = hub.visible_stations()  # a township account: its township's stations
    labels = {"pending": "待登记", "active": "在用", "revoked": "已停用"}

    def line(r: dict) -> str:
        enrol = ""
        if r["enrol_locked_at"]:
            enrol = f"  登记码已锁定(尝试{r['enrol_attempts']}次,{r['enrol_locked_at'][:16]}):请重新生成登记码"
        elif r["enrol_attempts"]:
            enrol = f"  登记尝试 {r['enrol_attempts']}/{MAX_ATTEMPTS} 次"
        return f"{r['code']:<10}{pad(r['name'], 24)}{labels[r['status']]:<6} 已收至 {r['hwm']:<7} 最近联系 {r['last_seen'] or '—'}{enrol}"
    out.emit(rows, lambda rs: "\n".join(line(r) for r in rs) or "还没有服务站")


@station_group.command("revoke")
@click.argument("code")
@common
def station_revoke(code, out: Out, home: HubHome):
    """停用服务站:其数据包将被拒收(设备丢失或更换时)。"""
    with unlock(home) as hub:
        hub.revoke(code)
    out.emit({"station_code": code.upper(), "revoked": True}, f"服务站 {code.upper()} 已停用")


@main.group("case")
def case_group():
    """各村上报的代办件:查看、受理、退回、办结。"""


@case_group.command("list")
@click.option("--station", help="服务站编码")
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--limit", default=50, show_default=True)
@common
def case_list(station, status, limit, out: Out, home: HubHome):
    """代办件列表(乡镇账号只列本乡镇服务站的代办件)。"""
    with unlock(home) as hub:
        hub.require_station(station)
        rows = hub.store.cases(station and station.upper(), status, limit, township=hub.listing_township())
    for r in rows:
        r["status_label"] = Status(r["status"]).label
    out.emit(rows, lambda rs: "\n".join(f"{r['number']}  {r['received_on']}  {pad(r['item_name'], 30)} {r['status_label']}"
                                        for r in rs) or "没有代办件")


@case_group.command("show")
@click.argument("ref")
@common
def case_show(ref, out: Out, home: HubHome):
    """一件的状态和完整时间线(身份证号、电话等已遮蔽)。"""
    from station.core.masking import mask_document
    with unlock(home) as hub:
        row, state, events = hub.case_state(ref)
    data = {"case": row, "status_label": state.status.label, "conflicts": state.conflicts,
            "timeline": [{"type": e.type.value, "label": e.type.label, "node": e.node, "on": e.payload.get("on") or
                          e.payload.get("received_on"), "payload": mask_document(e.payload)} for e in events]}
    out.emit(data, lambda d: "\n".join([f"{row['number']} · {row['item_name']} · {d['status_label']}"] +
                                       [f"  {e['on']}  {e['label']}  {e['node']}" for e in d["timeline"]]))


def _case_action(etype: str, payload_of):
    @click.argument("ref")
    @common
    def action(ref, out: Out, home: HubHome, **kw):
        with unlock(home) as hub:
            state = hub.case_event(ref, etype, payload_of(kw))
        out.emit({"number": state.number, "status": state.status.value, "status_label": state.status.label},
                 lambda d: f"{d['number']}:{d['status_label']}(将在服务站下次同步时送达)")
    return action


case_group.command("accept", help="受理(乡镇已受理)。")(_case_action("accepted_by_township", lambda kw: {}))
case_group.command("return", help="退回补正。")(click.option("--reason", required=True, help="退回原因")(
    _case_action("returned_for_correction", lambda kw: {"reason": kw["reason"]})))
case_group.command("forward", help="转报县级(事项由县级部门办理时)。")(_case_action("forwarded_to_county", lambda kw: {}))
case_group.command("decide", help="记录办理结果。")(
    click.option("--outcome", type=click.Choice(["approved", "rejected"]), required=True, help="准予/不予")(
        click.option("--summary", required=True, help="结果说明")(
            click.option("--county", is_flag=True, help="登记县级办理结果(已转报县级的件)")(
                _case_action("decided", lambda kw: {"outcome": kw["outcome"], "summary": kw["summary"],
                                                    **({"county": True} if kw["county"] else {})})))))
case_group.command("appeal", help="复核服务站对差评的申诉:维持(upheld)或撤销(overturned)该评价;原评价不删除。")(
    click.option("--outcome", type=click.Choice(["upheld", "overturned"]), required=True, help="维持/撤销")(
        click.option("--reason", required=True, help="复核理由")(
            _case_action("appeal_decided", lambda kw: {"outcome": kw["outcome"], "reason": kw["reason"]}))))


@main.command("rules")
@common
def rules_command(out: Out, home: HubHome):
    """显示乡镇正在执行的考核规则(最近一次下发的版本;未下发时为国家默认)。"""
    with unlock(home) as hub:
        rules = hub.rules()
    out.emit(json.loads(rules.model_dump_json()), "\n".join(f"{label}:{value}" for label, value in rules.lines()))


@case_group.command("export-queue")
@click.argument("out_file", metavar="OUT", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--station", help="只导出该服务站的待办")
@common
def case_export_queue(out_file, station, out: Out, home: HubHome):
    """导出待办(已上报、已受理)为 .xlsx 模板:在“处理”列填 受理/退回补正/准予/不予,“理由”列填理由,
    再用 township case import-decisions 导入。"""
    from sync.hub.decisions import export_queue
    with unlock(home) as hub:
        n = export_queue(hub, out_file, station)
    out.emit({"file": str(out_file), "cases": n}, f"已导出 {n} 件待办到 {out_file}")


@case_group.command("import-decisions")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--valid-only", is_flag=True, help="有错误的行跳过,只记录正确的行(默认:有错则全部不记录)")
@common
def case_import_decisions(file, valid_only, out: Out, home: HubHome):
    """导入填好的待办处理表(一次解锁,逐行校验后一并记录)。有错误时默认全部不记录,并列出错误所在的行和列。"""
    from sync.hub.decisions import DecisionsRefused, import_decisions
    with unlock(home) as hub:
        try:
            report = import_decisions(hub, file, "valid" if valid_only else "all")
        except DecisionsRefused as exc:
            out.emit({"error": exc.code, "title": exc.title, **exc.report.as_dict()}, exc.report.text() + "\n" + exc.title)
            sys.exit(exc.exit_code)
    out.emit(report.as_dict(), report.text())


@main.command()
@click.argument("kind", type=click.Choice(["catalog", "calendar", "rules"]))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--station", "stations", multiple=True, help="只发给这些服务站(可重复;默认全部)")
@common
def publish(kind, source, stations, out: Out, home: HubHome):
    """下发事项清单(catalog)、某年节假日安排(calendar)或考核规则(rules)给全部(或选定的)服务站。"""
    try:
        doc = json.loads(source.read_text("utf-8"))
    except (OSError, ValueError):
        raise ValidationFailed("文件无效", [FieldError("file", "bad_json", f"{source} 不是有效的 JSON 文件")]) from None
    with unlock(home) as hub:
        n = hub.publish(kind, doc, stations=list(stations) or None)
    out.emit({"kind": kind, "stations": n}, f"已排队下发给 {n} 个服务站")


@main.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@common
def import_command(path, out: Out, home: HubHome):
    """导入U盘上的数据包(一个文件、一个文件夹或整个U盘),并把确认文件写回U盘。
    有文件被拒收时退出码为 15(其余文件照常导入)。"""
    from sync.hub.usb import import_path
    with unlock(home) as hub:
        report = import_path(hub, path)
    out.emit(report.as_dict(), report.text())
    if report.refused_any:
        sys.exit(EXIT_REFUSED)


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@common
def watch(folders, out: Out, home: HubHome):
    """监视文件夹:插入的U盘(挂载在其下)或拷入的数据包会自动导入。Ctrl+C 停止。"""
    import threading

    from sync.hub.usb import watch as watch_folders
    stop = threading.Event()

    def report(target, r):
        out.emit({"path": str(target), **r.as_dict()}, f"[{target}]\n{r.text()}")
    with unlock(home) as hub:
        click.echo("正在监视:" + "、".join(map(str, folders)), err=True)
        try:
            watch_folders(hub, list(folders), report, stop)
        except KeyboardInterrupt:
            stop.set()


@main.command("publish-notice")
@click.option("--kind", type=click.Choice(["公告", "公示"]), default="公告", show_default=True)
@click.option("--title", required=True)
@click.option("--body", required=True)
@click.option("--from", "posting_from", required=True, help="公示/公告开始日期")
@click.option("--to", "posting_to", required=True, help="截止日期")
@click.option("--station", "stations", multiple=True, help="只发给这些服务站(可重复;默认全部)")
@common
def publish_notice(kind, title, body, posting_from, posting_to, stations, out: Out, home: HubHome):
    """发布乡镇公告或公示到各服务站的公示栏(下次同步或U盘交换时送达)。"""
    with unlock(home) as hub:
        n = hub.publish_notice(kind, title, body, posting_from, posting_to, stations=list(stations) or None)
    out.emit({"stations": n}, f"已排队发往 {n} 个服务站的公示栏")


@main.command("send-list")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--station", required=True, help="服务站编码")
@click.option("--ledger", type=click.Choice(["subsidy", "relief"]), default="subsidy", show_default=True)
@click.option("--program", required=True)
@click.option("--period", required=True)
@common
def send_list(file, station, ledger, program, period, out: Out, home: HubHome):
    """把补贴或救助名单(.xlsx/.csv)下发给服务站,进入其台账(服务站按同样规则校验)。"""
    from ledgers import service as ledger_service
    # The header is found as the station finds it (under title rows); 合计 and signature rows stay behind.
    as_text = [{f: (repr(v) if isinstance(v, float) else (None if v is None else str(v))) for f, v in raw.items()}
               for raw in ledger_service.read_list(file, ledger)]
    with unlock(home) as hub:
        n = hub.send_list(station, ledger, program, period, as_text, file.name)
    out.emit({"station": station.upper(), "rows": n}, f"已排队下发 {n} 行给 {station.upper()}(下次同步或U盘交换时送达)")


def _may_discard(hub: Hub):
    """Who may discard: a 负责人 (``staff_policy``), acting as themself."""
    return lambda user: user == hub.user and hub.allowed("quarantine.discard")


@main.group("quarantine", invoke_without_command=True)
@click.option("--station")
@common
@click.pass_context
def quarantine(ctx, station, out: Out, home: HubHome):
    """未能接收、已搁置的记录和暂存的数据包:查看(不带子命令时同 list)、重新接收、丢弃。"""
    if ctx.invoked_subcommand is None:
        _quarantine_list(station, out, home)


def _quarantine_list(station, out: Out, home: HubHome) -> None:
    from sync.hub import quarantine as q
    with unlock(home) as hub:
        items, held = q.list_quarantined(hub, station), q.list_held(hub, station)

    def text(d: dict) -> str:
        lines = [f"[{r['id']}] {r['at'][:16]}  {r['station']} 第{r['seq']}号 {r['kind']}:{r['reason']}"
                 + ("" if r["retryable"] else f"(不能重新接收:{r['not_retryable']})") for r in d["quarantined"]]
        lines += [f"[暂存 {r['id']}] {r['at'][:16]}  {r['station']} 第{r['seq_from']}-{r['seq_to']}号:{r['reason']}"
                  f"(等待第 {r['waiting_for']} 号)" for r in d["held"]]
        return "\n".join(lines) or "没有搁置的记录或暂存的数据包"
    out.emit({"quarantined": items, "held": held}, text)


@quarantine.command("list")
@click.option("--station")
@common
def quarantine_list(station, out: Out, home: HubHome):
    """列出搁置的记录(及原因、能否重新接收)和暂存的数据包。"""
    _quarantine_list(station, out, home)


@quarantine.command("retry")
@click.argument("item_id", metavar="编号", type=int)
@click.option("--held", is_flag=True, help="编号是暂存的数据包(默认:搁置的记录)")
@common
def quarantine_retry(item_id, held, out: Out, home: HubHome):
    """问题解决后(如缺少的前序记录已到),重新接收一条搁置的记录或一个暂存的数据包。"""
    from sync.hub import quarantine as q
    with unlock(home) as hub:
        result = (q.retry_held if held else q.retry_quarantined)(hub, item_id)
    out.emit(result.as_dict(), "已重新接收" if result.applied else f"仍不能接收:{result.reason}")
    if not result.applied:
        sys.exit(EXIT_REFUSED)


@quarantine.command("discard")
@click.argument("item_id", metavar="编号", type=int)
@click.option("--reason", required=True, help="丢弃原因(记入审计日志)")
@click.option("--held", is_flag=True, help="编号是暂存的数据包(默认:搁置的记录)")
@common
def quarantine_discard(item_id, reason, held, out: Out, home: HubHome):
    """丢弃一条搁置的记录或一个暂存的数据包(仅负责人,须填写原因)。"""
    from sync.hub import quarantine as q
    with unlock(home) as hub:
        row = (q.discard_held if held else q.discard_quarantined)(hub, item_id, reason, hub.user, _may_discard(hub))
    out.emit(row, f"已丢弃 {row['station']} 的{'暂存数据包' if held else '搁置记录'} {item_id}")


@main.command()
@click.option("--month", help="月份,如 2026-11(默认本月)")
@click.option("--station", help="只统计该服务站")
@click.option("--township", default=None, help="区县服务器上:只统计该乡镇的服务站(乡镇账号只能统计本乡镇)")
@click.option("--xlsx", "xlsx_file", type=click.Path(path_type=Path, dir_okay=False), help="另存为 .xlsx 统计表")
@click.option("--pdf", "pdf_file", type=click.Path(path_type=Path, dir_okay=False), help="另存为打印用的月度统计报表(PDF)")
@common
def stats(month, station, township, xlsx_file, pdf_file, out: Out, home: HubHome):
    """各服务站月度统计:收件、办结、按时办结率、逾期、平均办结工作日、评价、差评率、差评回访。"""
    from datetime import date

    from sync.hub import stats as hub_stats
    month = month or f"{date.today():%Y-%m}"
    with unlock(home) as hub:
        hub.require("stats.own" if station else "stats.all")
        rows = hub_stats.monthly(hub, month, station, township=township)
        township, user = hub.name, hub.user
    subtotals = hub_stats.by_township(rows)  # a county's hub: each township, then the county's total
    if xlsx_file:
        hub_stats.to_xlsx(rows, xlsx_file)
    if pdf_file:
        hub_stats.to_pdf(rows, pdf_file, township, user)

    def line(r: dict) -> str:
        shown = {k: "—" if r[k] is None else r[k] for k in ("closed_in_time_pct", "avg_workdays", "bad_pct")}
        return (f"{pad(r['station_label'], 22)} 收件 {r['received']:<4} 办结 {r['decided']:<4} "
                f"按时率 {shown['closed_in_time_pct']}%  逾期 {r['overdue']:<3} 平均 {shown['avg_workdays']} 个工作日  "
                f"差评率 {shown['bad_pct']}%  回访 {r['follow_ups_in_time']}/{r['follow_ups']}")
    saved = [str(f) for f in (xlsx_file, pdf_file) if f]
    out.emit({"month": month, "stations": rows, "townships": subtotals, "total": hub_stats.total(rows, "全县合计" if subtotals else "合计"),
              "files": saved},
             lambda d: "\n".join([f"{month} 月度统计"] + [line(r) for r in [*rows, *subtotals, d["total"]]] +
                                 ([f"已保存:{'、'.join(saved)}"] if saved else [])))


@main.group("user")
def user_group():
    """乡镇工作人员账号:经办人办件,负责人还可管理服务站、发布和账号。"""


def _new_passphrase(label: str) -> str:
    new = os.environ.get("TOWNSHIP_NEW_PASSPHRASE")
    if new:
        return new
    if not sys.stdin.isatty():
        raise StationError("需要新密码:请在终端中运行,或设置环境变量 TOWNSHIP_NEW_PASSPHRASE")
    return click.prompt(label, hide_input=True, confirmation_prompt="请再输入一次")


_ROLE_CHOICE = click.Choice(["经办人", "负责人", "handler", "lead"])


@user_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="姓名")
@click.option("--role", type=_ROLE_CHOICE, default="经办人", show_default=True)
@click.option("--township", default=None, help="区县服务器上:只能查看和办理该乡镇服务站的代办件(默认全县)")
@common
def user_add(username, display_name, role, township, out: Out, home: HubHome):
    """添加工作人员(负责人操作)。新密码从 TOWNSHIP_NEW_PASSPHRASE 或提示输入。"""
    from sync.hub import staff, staff_policy
    with unlock(home) as hub:
        hub.require("user.manage")  # before asking for a passphrase that would be thrown away
        row = staff.add(hub, username, display_name, role, _new_passphrase(f"{username} 的密码(至少8位)"), township=township)
    label = staff_policy.ROLES[row["role"]]
    out.emit({"username": username, "role": row["role"], "township": row["township"]},
             f"已添加{label} {row['display_name']}({username}),范围:{staff_policy.reach(row['township'])}")


@user_group.command("list")
@common
def user_list(out: Out, home: HubHome):
    """列出工作人员及其角色。"""
    from sync.hub import staff
    with unlock(home) as hub:
        rows = staff.members(hub)
    out.emit(rows, lambda rs: "\n".join(f"{r['username']:<16}{pad(r['display_name'], 10)}{r['role_label']}  {r['reach_label']}"
                                        f"{'' if r['active'] else '(已停用)'}" for r in rs))


@user_group.command("township")
@click.argument("username")
@click.option("--township", default=None, help="乡镇编码:该账号只能查看和办理这个乡镇服务站的代办件")
@click.option("--county", is_flag=True, help="改为全县范围")
@common
def user_township(username, township, county, out: Out, home: HubHome):
    """设定工作人员账号的范围:一个乡镇(--township)或全县(--county)(负责人操作,记入审计)。"""
    from sync.hub import staff, staff_policy
    if bool(township) == county:
        raise ValidationFailed("请指定范围", [FieldError("township", "required", "请给出 --township 乡镇编码 或 --county 之一")])
    with unlock(home) as hub:
        staff.set_township(hub, username, None if county else township)
        row = hub.store.staff_member(username)
    out.emit({"username": username, "township": row["township"]}, f"{username} 的范围:{staff_policy.reach(row['township'])}")


@user_group.command("role")
@click.argument("username")
@click.option("--role", type=_ROLE_CHOICE, required=True)
@common
def user_role(username, role, out: Out, home: HubHome):
    """更改工作人员角色(负责人操作,记入审计)。"""
    from sync.hub import staff, staff_policy
    with unlock(home) as hub:
        staff.set_role(hub, username, role)
    code = staff_policy.role_of(role)
    out.emit({"username": username, "role": code}, f"{username} 现在是{staff_policy.ROLES[code]}")


@user_group.command("deactivate")
@click.argument("username")
@common
def user_deactivate(username, out: Out, home: HubHome):
    """停用工作人员账号(负责人操作):其密码从此打不开乡镇服务器。"""
    from sync.hub import staff
    with unlock(home) as hub:
        staff.deactivate(hub, username)
    out.emit({"username": username, "active": False}, f"已停用 {username}")


@user_group.command("activate")
@click.argument("username")
@common
def user_activate(username, out: Out, home: HubHome):
    """恢复已停用的账号(负责人操作),并设置新密码(TOWNSHIP_NEW_PASSPHRASE 或提示输入)。"""
    from sync.hub import staff
    with unlock(home) as hub:
        hub.require("user.manage")
        staff.activate(hub, username, _new_passphrase(f"{username} 的新密码(至少8位)"))
    out.emit({"username": username, "active": True}, f"已恢复 {username},可用新密码登录")


@main.group("audit")
def audit_group():
    """乡镇服务器自己的审计日志。"""


@audit_group.command("verify")
@common
def audit_verify(out: Out, home: HubHome):
    """校验乡镇服务器的审计链:发现被改动、删除或调换顺序的记录。"""
    with unlock(home) as hub:
        count, problems = hub.store.verify_audit()
    data = {"entries": count, "ok": not problems, "problems": [{"seq": p.seq, "message": p.message} for p in problems]}
    out.emit(data, lambda d: f"乡镇审计链完好:共 {count} 条记录" if d["ok"]
             else "乡镇审计链有问题:\n" + "\n".join(f"  - {p['message']}" for p in d["problems"]))
    if problems:
        sys.exit(9)


@main.command("verify-receipt")
@click.argument("code")
@common
def verify_receipt(code, out: Out, home: HubHome):
    """核验服务站出具的回执二维码(离线,用该站登记的公钥)。"""
    from station.services.signing import verify_token
    with unlock(home) as hub:
        number = code.strip().upper().split(":")[1] if code.count(":") >= 3 else ""
        st = hub.store.station(number.split("-")[0]) if number else None
    if st is None or st["sign_pub"] is None:
        check = {"valid": False, "reason": "不是已登记服务站出具的回执"}
    else:
        r = verify_token(code, st["code"], bytes(st["sign_pub"]))
        check = {"valid": r.valid, "number": r.number, "due": r.due, "reason": r.reason, "station": st["name"]}
    out.emit(check, lambda d: f"真实回执:{d['number']}({d['station']}),办结期限 {d['due']}" if d["valid"] else f"核验不通过:{d['reason']}")
    if not check["valid"]:
        sys.exit(11)


@main.command("migrate")
@click.option("--to", "to", required=True, help="区县 PostgreSQL 数据库地址 postgresql://…(须是空库)")
@common
def migrate_cmd(to, out: Out, home: HubHome):
    """把本乡镇的 SQLite 服务器数据整体迁入区县的 PostgreSQL(请先停止同步服务)。各服务站无需重新登记。"""
    from station.errors import StationError
    from sync.hub import migrate
    from sync.hub.store import SQLiteHubStore
    if home.dsn():
        raise StationError("本服务器已经使用 PostgreSQL 数据库,无需迁移")
    _, key = unlock_key(home)
    src = SQLiteHubStore(home.db_path, key)
    try:
        counts = migrate.migrate(src, to, key)
    finally:
        src.close()
    kept = migrate.switch(home, to)
    out.emit({"counts": counts, "kept": kept},
             f"已迁入 PostgreSQL 并逐表核对一致(服务站 {counts.get('stations', 0)} 个,事件 {counts.get('events', 0)} 条,"
             f"审计记录 {counts.get('audit', 0)} 条,审计链完整)。原数据库文件保留为 {kept}。")


@main.command("backup")
@click.argument("target", type=click.Path(path_type=Path))
@common
def backup_cmd(target, out: Out, home: HubHome):
    """备份乡镇服务器数据和密钥文件到新目录 TARGET(SQLite:在线复制加密数据库;PostgreSQL:pg_dump),写完读回核对。"""
    from sync.hub import backup
    if not home.db_path.exists() and not home.db_conf.exists():
        home.users()  # says there is no hub here
    _, key = unlock_key(home)
    manifest = backup.create(home, key, target)
    rows = sum(n for n, _ in manifest["tables"].values())
    out.emit({"folder": str(target), **manifest}, f"已备份到 {target}({len(manifest['tables'])} 张表,共 {rows} 行,已读回核对)。"
             "备份中的数据仍是加密的,恢复时需要管理员密码或恢复码。")


@main.command("restore")
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--db", "db", default=None, help="PostgreSQL 备份恢复到的空数据库 postgresql://…")
@common
def restore_cmd(source, db, out: Out, home: HubHome):
    """把 SOURCE 备份恢复到一个新的数据目录(--data-dir),逐表与备份时核对,并核验审计链。不会覆盖已有数据。"""
    import station.store.keys as keyring
    from sync.hub import backup
    manifest = backup.check(source)
    user = os.environ.get("TOWNSHIP_USER")
    if not user:
        users = keyring.KeyRing.load(Path(source) / backup.KEYS).users()
        user = users[0] if len(users) == 1 else click.prompt("用户名")
    backup.restore(source, home, user, _secret(f"{user} 的密码"), dsn=db)
    out.emit({"data_dir": str(home.dir), **manifest}, f"已恢复到 {home.dir},各表与备份时一致,审计链完整。")


@main.group("county")
def county_group():
    """区县:所辖乡镇、服务站归属、按乡镇或全县的代办件和统计。"""


@county_group.command("add-township")
@click.option("--code", required=True, help="乡镇编码(2-12位大写字母或数字)")
@click.option("--name", required=True, help="乡镇名称")
@common
def county_add_township(code, name, out: Out, home: HubHome):
    """添加一个所辖乡镇。"""
    from sync.hub import county
    with unlock(home) as hub:
        code = county.add_township(hub, code, name)
    out.emit({"township": code, "name": name}, f"已添加乡镇 {code} {name}")


@county_group.command("townships")
@common
def county_townships(out: Out, home: HubHome):
    """列出所辖乡镇及各自的服务站数。"""
    from sync.hub import county
    with unlock(home) as hub:
        rows = county.townships(hub)
    out.emit(rows, lambda rs: "\n".join(f"{r['code']}  {r['name']}  服务站 {r['stations']} 个" for r in rs) or "还没有添加乡镇")


@county_group.command("assign")
@click.argument("station")
@click.option("--township", required=True, help="乡镇编码")
@common
def county_assign(station, township, out: Out, home: HubHome):
    """把服务站 STATION 划归某乡镇(其代办件随之按该乡镇统计)。"""
    from sync.hub import county
    with unlock(home) as hub:
        county.assign(hub, station, township)
    out.emit({"station": station.upper(), "township": township.upper()}, f"服务站 {station.upper()} 已划归乡镇 {township.upper()}")


@county_group.command("cases")
@click.option("--township", default=None, help="只看该乡镇的服务站(默认全县)")
@click.option("--status", type=click.Choice([s.value for s in Status]), default=None)
@click.option("--limit", default=100, show_default=True, type=int)
@common
def county_cases(township, status, limit, out: Out, home: HubHome):
    """按乡镇或全县列出代办件。"""
    from sync.hub import county
    with unlock(home) as hub:
        rows = county.cases(hub, township, status, limit)
    out.emit(rows, lambda rs: "\n".join(f"{r['number']}  {r['township'] or '-'}  {Status(r['status']).label}  {r['item_name']}"
                                         for r in rs) or "没有代办件")


@county_group.command("stats")
@click.option("--township", default=None, help="只统计该乡镇(默认全县,并按乡镇分列)")
@common
def county_stats(township, out: Out, home: HubHome):
    """代办件按状态统计:各乡镇分列及全县合计。"""
    from sync.hub import county
    with unlock(home) as hub:
        st = county.statistics(hub, township)

    def text(d):
        def line(counts):
            return "、".join(f"{Status(k).label} {v}" for k, v in sorted(counts.items())) or "无"
        lines = [f"{t or '未划归乡镇'}:{line(c)}" for t, c in d["by_township"].items()]
        return "\n".join(lines + [f"{'乡镇 ' + d['scope'] if d['scope'] else '全县'}合计:{line(d['total'])}"])
    out.emit(st, text)


if __name__ == "__main__":
    main()
