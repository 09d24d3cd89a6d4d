"""``station`` commands that move data out of the station: printing, receipt checks, and sync
with the township over the network or a USB stick. Registered on ``station.cli.main``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from station.cli import Out, StationHome, common, main, unlock
from station.errors import FieldError, ValidationFailed
from station.services import cases

# `station import-ack`: the township's answers that could be read were applied, but at least one
# file on the stick was refused (the message says which). Same code as `township import`.
EXIT_REFUSED = 15


# --- sync with the township --------------------------------------------------------------
def _enrol_code(given: str | None) -> str:
    """The one-time code from the township's paper slip: --code, STATION_ENROL_CODE, or a prompt."""
    code = given or os.environ.get("STATION_ENROL_CODE")
    if code:
        return code
    if not sys.stdin.isatty():
        raise ValidationFailed("需要登记码", [FieldError("code", "required", "请用 --code 给出乡镇的一次性登记码,或设置 STATION_ENROL_CODE")])
    return click.prompt("乡镇给的一次性登记码")


@main.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--hub", "url", help="乡镇服务器地址,如 https://10.1.2.3:8470(联网登记)")
@click.option("--code", help="乡镇给的一次性登记码(也可用环境变量 STATION_ENROL_CODE,或在提示时输入)")
@click.option("--ca", "ca_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="乡镇服务器的证书(https 时),之后的同步也用它核验服务器")
@common
def enroll(file, url, code, ca_file, out: Out, home: StationHome):
    """在乡镇登记本站:station enroll 登记文件(U盘),或 station enroll --hub 地址(联网);都要乡镇给的登记码。"""
    from sync import client, enrolment
    if (file is None) == (url is None):
        raise ValidationFailed("请给出登记文件,或用 --hub 给出乡镇服务器地址(二选一)", [FieldError("file", "required", "缺少登记方式")])
    ca_pem = None
    if ca_file is not None:
        from sync.http import load_ca
        ca_pem = load_ca(ca_file)
    with unlock(home) as session:
        code = _enrol_code(code)
        if file is not None:
            reply = enrolment.enroll_file(session, file, code)
            peer = client.hub(session)
            out.emit({"hub": peer["hub_id"], "reply_file": str(reply)},
                     f"已登记到 {peer['name']}。请把回执文件 {reply} 带回乡镇导入(township station confirm 或 township import)。")
            return
        from sync.http import HttpTransport
        info = enrolment.enroll_online(session, code, HttpTransport(url, ca_pem=ca_pem), url, ca_pem)
    out.emit({"hub": info["hub_id"], "url": url}, f"已在 {info['hub_name']} 登记,可以同步了(station sync)。")


@main.command()
@click.option("--hub", "url", help="乡镇服务器地址(默认用登记时的地址)")
@click.option("--status", "status_only", is_flag=True, help="只显示同步状态")
@common
def sync(url, status_only, out: Out, home: StationHome):
    """与乡镇同步一次:上传未确认的记录,接收办理结果、事项清单和节假日安排。"""
    from station.services import syncstate
    from sync import client
    with unlock(home) as session:
        if status_only:
            state = syncstate.status(session)
            quarantined = session.store.query("SELECT source, seq, kind, reason, at FROM sync_quarantine ORDER BY id")
            out.emit({**state, "quarantined": quarantined},
                     lambda d: syncstate.describe(d) + "".join(f"\n搁置:{q['at'][:16]} 第{q['seq']}号 {q['reason']}" for q in quarantined))
            return
        peer = client.hub(session)
        target = url or (peer and peer["url"])
        if not target:
            raise ValidationFailed("没有乡镇服务器地址", [FieldError("hub", "required", "本站尚未联网登记:请用 --hub 指定地址,或用U盘交换")])
        from sync.http import for_station
        result = client.sync_once(session, for_station(session, target))
        left = client.pending(session)
    out.emit({"sent": result.sent, "received": result.received, "quarantined": result.quarantined, "pending": left,
              "clock_problem": result.clock_problem},
             f"同步完成:上传 {result.sent} 条,接收 {result.received} 条,待上传 {left} 条"
             + (f";{len(result.quarantined)} 条被搁置(station sync --status 查看)" if result.quarantined else "")
             + (f"\n注意:{result.clock_problem}" if result.clock_problem else ""))


@main.command()
@click.option("--to", "target", required=True, type=click.Path(path_type=Path), help="U盘(或文件夹)路径")
@click.option("--max-mb", default=16.0, show_default=True, help="单个数据包文件的大小上限(MB)")
@common
def export(target, max_mb, out: Out, home: StationHome):
    """把尚未被乡镇确认的记录导出到U盘(断网时使用),交乡镇导入。"""
    from sync import usb
    with unlock(home) as session:
        def progress(done, total):
            if not out.json:
                click.echo(f"\r已写入 {done}/{total} 条", nl=False, err=True)
        result = usb.export_to(session, target, max_mb, progress)
    if not out.json:
        click.echo("", err=True)
    out.emit({"folder": str(result.folder), "files": result.files, "records": result.records, "unchanged": result.skipped},
             f"已导出到 {result.folder}:数据包 {len(result.files)} 个,共 {result.records} 条记录。请交乡镇导入后带回U盘。")


@main.command("import-ack")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@common
def import_ack(path, out: Out, home: StationHome):
    """导入乡镇写回U盘的确认文件:确认已送达的记录,接收办理结果、事项清单和节假日安排。"""
    from sync import usb
    with unlock(home) as session:
        r = usb.import_acks(session, path)
    out.emit(vars(r), lambda d: (f"已导入乡镇确认 {r.files} 个:确认至第 {r.acked_through} 号,接收乡镇记录 {r.applied} 条"
                                 if r.files else "U盘上没有本站的确认文件")
             + "".join(f"\n暂存:{h}" for h in r.held) + "".join(f"\n拒收 {x['file']}:{x['reason']}" for x in r.rejected))
    if r.rejected:
        sys.exit(EXIT_REFUSED)


# --- printing ---------------------------------------------------------------------------
@main.command("print")
@click.argument("kind", type=click.Choice(["receipt", "notice", "proxy", "register", "ledger", "posting", "poster", "board", "correction"]))
@click.argument("ref", required=False)
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="保存为 PDF 文件(不送打印机)")
@click.option("--from", "period_from", type=click.DateTime(["%Y-%m-%d"]),
              help="register:起始日期(默认本月1日);posting:公示开始日期(默认今天)")
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]),
              help="register:截止日期(默认今天);posting:公示截止日期(默认7天)")
@click.option("--ledger", type=click.Choice(["subsidy", "relief"]), default="subsidy", help="ledger/posting:台账类型")
@click.option("--program", help="ledger/posting:项目")
@click.option("--period", help="ledger/posting:期间")
@click.option("--printer", help="打印机名称(默认:app 设置中选的打印机,否则系统默认打印机)")
@common
def print_command(kind, ref, out_file, period_from, period_to, ledger, program, period, printer, out: Out, home: StationHome):
    """打印:receipt=受理回执,notice=一次性告知书,proxy=代办委托书(REF 为件号);register=代办登记台账;
    ledger=补贴/救助台账;posting=公示名单(由台账生成,号码脱敏);poster=九个一公示牌;board=公示栏上的一则公示(REF 为编号)。"""
    from printouts import printing
    from printouts.render import render
    with unlock(home) as session:
        doc = render(session, kind, ref, period_from and period_from.date(), period_to and period_to.date(),
                     ledger=ledger, program=program, period=period)
        if printer is None:
            from station.services import print_settings
            printer = print_settings.printer(session)  # the one chosen under 设置 in the app
    if doc.warning:
        click.echo(f"注意:{doc.warning}", err=True)
    if out_file:
        out_file.write_bytes(doc.pdf)
        message = f"已保存 {out_file}(请妥善保管:含群众信息)"
    else:
        message = printing.send(doc.pdf, doc.title, printer)
    out.emit({"title": doc.title, "bytes": len(doc.pdf), "out": str(out_file) if out_file else None, "message": message},
             f"{doc.title}:{message}")


@main.command("verify-receipt")
@click.argument("code")
@common
def verify_receipt(code, out: Out, home: StationHome):
    """核验回执二维码(扫描得到或手工输入的回执码)是否为本站出具的真实回执。"""
    from station.services import signing
    with unlock(home) as session:
        check = signing.verify_token(code, session.station_code, signing.public_key(session))
        status = None
        if check.valid:
            state, _ = cases.load(session, check.number)
            status = state.status.label
    out.emit({"valid": check.valid, "number": check.number, "due": check.due, "reason": check.reason, "status": status},
             lambda d: (f"真实回执:{d['number']},办结期限 {d['due']},当前状态:{d['status']}" if d["valid"]
                        else f"核验不通过:{d['reason']}"))
    if not check.valid:
        sys.exit(11)


