"""The ``station`` command: a thin, scriptable layer over the services.

Every command takes ``--data-dir`` (default: ``$STATION_HOME`` or the per-user data folder)
and ``--json``. Passphrases come from a hidden prompt, or from ``STATION_PASSPHRASE`` (user
from ``STATION_USER``) when a script runs it. Errors print their Chinese title and details
(or a JSON object with ``--json``) and exit non-zero; never a traceback.
"""
from __future__ import annotations

from station.store import prederive

# A script's passphrase key is derived in a thread while the imports below load (station/store/prederive.py).
prederive.start_for_command_line()

import contextlib
import functools
import json
import os
import sys
import unicodedata
from pathlib import Path

import click
import platformdirs

from station import cli_i18n
from station.core import limits
from station.core.cases import RATING_LABELS, EventType
from station.core.jsondoc import parse_document
from station.core.models import Role
from station.errors import FieldError, StationError, ValidationFailed
from station.services import audit, cases, users
from station.services import calendar as calendar_service
from station.services import search as search_service
from station.services.session import Session, StationHome
from station.store import failures as storage_failures

cli_i18n.install()  # Click's own usage lines, headings and errors in Chinese

CASE_JSON_HELP = """\b
收件 JSON 格式(从文件或标准输入读取):
{
  "resident": {"id_number": "18位身份证号", "name": "姓名",
               "phone": "手机号(可选)", "address": "住址(可选)", "village_group": "村民小组(可选)"},
  "item": "事项编码,如 MZ-001",
  "materials_received": ["已收材料名称", "..."],
  "accept_with_gaps": {"promised_date": "2026-12-01"},   (可选,容缺受理)
  "proxy": {"name": "受托人", "relation": "关系", "id_number": "...", "phone": "..."},  (可选,委托代办)
  "home_visit": false,                                    (可选,上门服务)
  "received_on": "2026-11-20",                             (可选,补录纸质件时的收件日期)
  "note": "备注(可选)"
}"""


def default_data_dir() -> Path:
    env = os.environ.get("STATION_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("village-station", appauthor=False))


class Out:
    """Where a command's result goes: human text, or one JSON document."""

    def __init__(self, as_json: bool):
        self.json = as_json

    def emit(self, data, human=None) -> None:
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))
        elif human is not None:
            click.echo(human(data) if callable(human) else human)


def command_options(home_of, data_dir_help: str):
    """--data-dir and --json on every command; StationError → clean message and exit code.
    ``home_of(data_dir or None)`` builds the folder the command works on (station or hub)."""
    def decorate(fn):
        @click.option("--json", "as_json", is_flag=True, help="以 JSON 输出,供脚本使用")
        @click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=data_dir_help)
        @functools.wraps(fn)
        def wrapper(*args, as_json: bool, data_dir: Path | None, **kwargs):
            out = Out(as_json)
            home = home_of(data_dir)
            try:
                return fn(*args, out=out, home=home, **kwargs)
            except Exception as exc:  # noqa: BLE001 - only station and storage errors are caught, the rest re-raised
                # A storage failure that got past the store (a full disk while writing keys.json,
                # read-only media) is said as what it is, never as an English traceback.
                error = exc if isinstance(exc, StationError) else storage_failures.translate(exc, getattr(home, "dir", None))
                if error is None:
                    raise
                if as_json:
                    click.echo(json.dumps(error.as_dict(), ensure_ascii=False, indent=1))
                else:
                    click.echo(f"错误:{error}", err=True)
                sys.exit(error.exit_code)
        return wrapper
    return decorate


def common(fn=None, *, subdir: str | None = None):
    """The station's commands: the folder is --data-dir, else STATION_HOME (or its ``subdir``)."""
    if fn is None:
        return functools.partial(common, subdir=subdir)

    def home_of(data_dir: Path | None) -> StationHome:
        return StationHome(data_dir or (default_data_dir() / subdir if subdir else default_data_dir()))
    return command_options(home_of, "服务站数据目录(默认:环境变量 STATION_HOME 或用户数据目录)")(fn)


def secret(env_var: str, prompt: str, confirm: bool = False) -> str:
    """A passphrase from the environment (scripts), else a hidden prompt (never from a pipe)."""
    env = os.environ.get(env_var)
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise StationError(f"需要密码:请在终端中运行,或设置环境变量 {env_var}")
    return click.prompt(prompt, hide_input=True, confirmation_prompt="请再输入一次" if confirm else False)


def _passphrase(prompt: str, confirm: bool = False) -> str:
    return secret("STATION_PASSPHRASE", prompt, confirm)


def _username(home: StationHome, given: str | None = None) -> str:
    name = given or os.environ.get("STATION_USER")
    if name:
        return name
    known = home.keyring().users()
    if len(known) == 1:
        return known[0]
    if not sys.stdin.isatty():
        raise StationError("请用环境变量 STATION_USER 指定用户,可用:" + "、".join(known))
    return click.prompt("用户名(" + "、".join(known) + ")")


def unlock(home: StationHome, user: str | None = None) -> Session:
    return unlock_with_passphrase(home, user)[0]


def unlock_with_passphrase(home: StationHome, user: str | None = None) -> tuple[Session, str]:
    username = _username(home, user)
    passphrase = _passphrase(f"{username} 的密码")
    return home.unlock(username, passphrase), passphrase


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="不带子命令时:打开该目录的服务站(默认:STATION_HOME 或用户数据目录)")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """村便民服务站代办系统。不带子命令时打开终端界面。"""
    if ctx.invoked_subcommand is None:
        home = StationHome(data_dir or default_data_dir())
        if not home.exists():
            click.echo(f"目录 {home.dir} 中还没有服务站。先运行 station init 建立服务站,或运行 station demo 打开演示站。", err=True)
            sys.exit(7)
        run_app(home.dir)


def run_app(data_dir: Path, hint: str | None = None) -> None:
    """Open the terminal app on a station (Textual is imported only here)."""
    from station.tui import AppConfig, make_app
    config = AppConfig(data_dir=data_dir, user=os.environ.get("STATION_USER") if os.environ.get("STATION_PASSPHRASE") else None,
                       passphrase=os.environ.get("STATION_PASSPHRASE"), hint=hint)
    result = make_app(config).run()
    if isinstance(result, str):
        click.echo(result, err=True)


# --- station set-up ---------------------------------------------------------------------
@main.command()
@click.option("--code", required=True, help="服务站编码(2-12位大写字母或数字)")
@click.option("--name", required=True, help="服务站名称,如 旧州镇石板村便民服务站")
@click.option("--user", "username", required=True, help="站长登录名(小写字母开头)")
@click.option("--display-name", required=True, help="站长姓名")
@click.option("--phone", help="服务站电话(印在回执和告知书上)")
@common
def init(code, name, username, display_name, phone, out: Out, home: StationHome):
    """建立新的服务站(首位站长在此创建)。恢复码只显示这一次。"""
    from station.services import settings
    if phone:  # checked before anything is written
        from station.core.identity import check_phone
        checked = check_phone(phone, "phone")
        if isinstance(checked, FieldError):
            raise ValidationFailed("无法建立服务站", [checked])
    session, recovery = home.init(code, name, username, display_name, _passphrase("站长密码(至少8位)", confirm=True))
    with session:
        if phone:
            settings.set_station_phone(session, phone)
    out.emit({"data_dir": str(home.dir), "station_code": code.upper(), "supervisor": username, "recovery_code": recovery},
             lambda d: f"服务站已建立:{d['data_dir']}\n\n恢复码(只显示这一次,请抄写后交乡镇保险柜保管):\n\n    {recovery}\n\n"
                       "忘记站长密码时,用 station recover 和此恢复码设置新密码。")


def _this_command() -> str:
    """This program as the user's shell can run it again: ``station`` when that name on PATH is this
    program, otherwise its full path (README starts ``.venv/bin/station`` with nothing activated)."""
    import shlex
    import shutil
    started = Path(sys.argv[0])
    if started.stem == "station" and started.is_file():
        found = shutil.which("station")
        if found and Path(found).absolute() == started.absolute():
            return "station"
        return shlex.quote(str(started.absolute()))
    return f"{shlex.quote(sys.executable)} -m station.cli"


@main.command()
@click.option("--no-tui", is_flag=True, help="只建立演示服务站,不打开界面")
@click.option("--cases", "cases_count", default=160, show_default=True, help="演示代办件数量")
@common(subdir="demo")
def demo(no_tui, cases_count, out: Out, home: StationHome):
    """建立(或打开已有的)演示服务站,里面有各种状态的群众和代办件。"""
    from station.services import demo as demo_data
    me = _this_command()
    created = False
    if not home.exists():
        demo_data.build(home.dir, cases_count=cases_count).close()
        created = True
    info = {"data_dir": str(home.dir), "created": created, "station_code": demo_data.DEMO_CODE,
            "users": {demo_data.DEMO_SUPERVISOR[0]: "站长", demo_data.DEMO_CLERK[0]: "代办员"},
            "passphrase": demo_data.DEMO_PASSPHRASE}
    out.emit(info, lambda d: (f"演示服务站{'已建立' if created else '已存在'}:{d['data_dir']}\n"
                              f"登录:站长 {demo_data.DEMO_SUPERVISOR[0]} 或 代办员 {demo_data.DEMO_CLERK[0]},"
                              f"密码 {demo_data.DEMO_PASSPHRASE}\n\n试一试:\n"
                              f"  export STATION_HOME={d['data_dir']} STATION_USER={demo_data.DEMO_CLERK[0]} "
                              f"STATION_PASSPHRASE={demo_data.DEMO_PASSPHRASE}\n"
                              f"  {me} case list --overdue\n  {me} search 秀英\n  {me} audit verify"))
    if not no_tui and not out.json:
        run_app(home.dir, hint=f"演示站 · 用户 {demo_data.DEMO_CLERK[0]}(代办员)或 {demo_data.DEMO_SUPERVISOR[0]}(站长)"
                               f" · 密码 {demo_data.DEMO_PASSPHRASE}")


@main.command()
@click.option("--user", "username", required=True, help="要重设密码的站长登录名")
@common
def recover(username, out: Out, home: StationHome):
    """用恢复码为站长设置新密码。"""
    code = os.environ.get("STATION_RECOVERY_CODE") or (click.prompt("恢复码") if sys.stdin.isatty() else None)
    if not code:
        raise StationError("需要恢复码:请在终端中运行,或设置环境变量 STATION_RECOVERY_CODE")
    session = home.recover(code, username, _passphrase("新密码(至少8位)", confirm=True))
    session.close()
    out.emit({"user": username, "recovered": True}, f"已为站长 {username} 设置新密码。")


# --- users ------------------------------------------------------------------------------
@main.group("user")
def user_group():
    """用户(代办员、站长)。"""


@user_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="姓名")
@click.option("--role", type=click.Choice(["clerk", "supervisor"]), default="clerk", show_default=True,
              help="clerk=代办员,supervisor=站长")
@common
def user_add(username, display_name, role, out: Out, home: StationHome):
    """添加用户(站长操作)。新用户的密码从 STATION_NEW_PASSPHRASE 或提示输入。"""
    with unlock(home) as session:
        new = os.environ.get("STATION_NEW_PASSPHRASE") or _prompt_new(f"{username} 的密码(至少8位)")
        row = users.add(session, username, display_name, Role(role), new)
    out.emit({"username": row["username"], "role": row["role"]}, f"已添加{Role(role).label} {display_name}({username})")


def _prompt_new(label: str) -> str:
    if not sys.stdin.isatty():
        raise StationError("需要新密码:请在终端中运行,或设置环境变量 STATION_NEW_PASSPHRASE")
    return click.prompt(label, hide_input=True, confirmation_prompt="请再输入一次")


@user_group.command("list")
@common
def user_list(out: Out, home: StationHome):
    """列出用户。"""
    with unlock(home) as session:
        rows = users.list_users(session)
    out.emit(rows, lambda rs: "\n".join(f"{r['username']:<16}{r['display_name']:<8}{r['role_label']}"
                                        f"{'' if r['active'] else '(已停用)'}" for r in rs))


@user_group.command("passwd")
@click.argument("username", required=False)
@common
def user_passwd(username, out: Out, home: StationHome):
    """修改自己的密码,或(站长)重设他人的密码。新密码从 STATION_NEW_PASSPHRASE 或提示输入。"""
    session, current = unlock_with_passphrase(home)
    with session:
        target = username or session.user.username
        new = os.environ.get("STATION_NEW_PASSPHRASE") or _prompt_new("新密码(至少8位)")
        users.change_passphrase(session, target, new, old_passphrase=current)
    out.emit({"username": target, "changed": True}, f"{target} 的密码已修改。")


@user_group.command("role")
@click.argument("username")
@click.option("--role", type=click.Choice(["clerk", "supervisor"]), required=True, help="clerk=代办员,supervisor=站长")
@common
def user_role(username, role, out: Out, home: StationHome):
    """更改用户角色(站长操作,记入审计)。"""
    with unlock(home) as session:
        code = users.set_role(session, username, Role(role))
    out.emit({"username": username, "role": role, "recovery_code": code},
             lambda r: "\n".join([f"{username} 现在是{Role(role).label}。"] + (["原站长知道旧恢复码,已更换数据库密钥和恢复码:"]
                                                                              + _recovery_lines(code) if code else [])))


@user_group.command("deactivate")
@click.argument("username")
@click.option("--no-rekey", is_flag=True, help="只停用,不更换数据库密钥(不推荐:其保留的旧密钥文件仍能打开数据库)")
@common
def user_deactivate(username, no_rekey, out: Out, home: StationHome):
    """停用用户(站长操作):不能再登录;默认同时更换数据库密钥,使其保留的旧密钥文件作废。"""
    with unlock(home) as session:
        result = users.deactivate(session, username, rekey=not no_rekey)

    def human(r):
        lines = [f"已停用 {username}。"]
        if r["rekeyed"]:
            lines.append("数据库密钥已更换:该用户保留的旧密钥文件已作废。")
        elif r["rekey_blocked"]:
            lines.append(f"注意:数据库密钥未能更换。{r['rekey_blocked']}")
        else:
            lines.append("注意:未更换数据库密钥;需要时运行 station rekey。")
        if r["recovery_code"]:
            lines += _recovery_lines(r["recovery_code"])
        return "\n".join(lines)
    out.emit(result, human)
    if result["rekey_blocked"]:
        sys.exit(12)  # deactivated, but the key change waits (see the message)


def _recovery_lines(code: str) -> list[str]:
    return ["", "新的恢复码(旧恢复码已作废;只显示这一次,请抄写后交乡镇保险柜保管):", "", f"    {code}", ""]


@user_group.command("activate")
@click.argument("username")
@common
def user_activate(username, out: Out, home: StationHome):
    """恢复已停用的用户(站长操作),并为其设置新密码(STATION_NEW_PASSPHRASE 或提示输入)。"""
    with unlock(home) as session:
        new = os.environ.get("STATION_NEW_PASSPHRASE") or _prompt_new(f"{username} 的新密码(至少8位)")
        users.activate(session, username, new)
    out.emit({"username": username, "active": True}, f"已恢复 {username},可用新密码登录。")


@main.command("rekey")
@click.option("--new-recovery-code", is_flag=True, help="同时生成新的恢复码(旧恢复码作废)")
@common
def rekey_command(new_recovery_code, out: Out, home: StationHome):
    """更换数据库密钥(站长操作):新密钥只交给在用的用户和恢复码,不需要其他人的密码。"""
    from station.services.rekey import rekey
    with unlock(home) as session:
        code = rekey(session, new_recovery_code=new_recovery_code)
    out.emit({"rekeyed": True, "recovery_code": code},
             lambda d: "\n".join(["数据库密钥已更换;停用用户保留的旧密钥文件已作废。"] + (_recovery_lines(code) if code else [])))


@main.group("recovery")
def recovery_group():
    """恢复码。"""


@recovery_group.command("show")
@common
def recovery_show(out: Out, home: StationHome):
    """再次显示恢复码以便打印交乡镇保管(只有站长能看,每次查看记入审计)。"""
    with unlock(home) as session:
        code = users.recovery_code(session)
    out.emit({"recovery_code": code}, f"恢复码:{code}")


# --- cases ------------------------------------------------------------------------------
@main.group("case", help="代办件。\n\n" + CASE_JSON_HELP)
def case_group():
    pass


def _read_json(source: str) -> object:
    """One JSON document from a file or standard input (``-``), read no further than the limit
    (``station.core.limits``) and parsed by ``jsondoc`` (bounded depth, Chinese refusals)."""
    cap = limits.MAX_JSON_DOCUMENT_BYTES + 1  # one byte over is enough to know it is too large
    try:
        if source == "-":
            data = sys.stdin.buffer.read(cap)
        else:
            with open(source, "rb") as f:
                data = f.read(cap)
    except OSError as exc:
        raise StationError(f"无法读取文件 {source}:{exc.strerror}") from None
    return parse_document(data, "标准输入" if source == "-" else Path(source).name)


def _json_lines(source: str):
    """``(line number, document or the StationError refusing it)`` for each non-blank line of a
    JSON Lines file or standard input, read one line at a time (a script's thousand records
    never sit in memory at once), each line bounded and parsed like a single document."""
    cap = limits.MAX_JSON_DOCUMENT_BYTES
    try:
        f = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as exc:
        raise StationError(f"无法读取文件 {source}:{exc.strerror}") from None
    with contextlib.ExitStack() as stack:
        if source != "-":
            stack.enter_context(f)
        number = 0
        while line := f.readline(cap + 1):
            number += 1
            if len(line) > cap and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the overlong line
                    line = f.readline(cap)
                yield number, ValidationFailed(f"第 {number} 行过长", [FieldError(
                    "document", "too_large", f"一行超过 {cap // 1024} KB 的上限")])
                continue
            if not line.strip():
                continue
            try:
                yield number, parse_document(line, f"第 {number} 行")
            except StationError as exc:
                yield number, exc


def _run_lines(source: str, out: Out, home: StationHome, apply, done_text) -> None:
    """Apply ``apply(session, doc)`` to every line under one unlock, each line in its own
    transaction (one bad line loses nothing else), reporting each line as it is done so a
    script sees what landed even if the run is cut short. Exit code: that of the first failure."""
    first_error: StationError | None = None
    done = failed = 0
    with unlock(home) as session:
        for number, doc in _json_lines(source):
            if not isinstance(doc, StationError):
                try:
                    result = apply(session, doc)
                except StationError as exc:
                    doc = exc
            if isinstance(doc, StationError):
                failed += 1
                first_error = first_error or doc
                if out.json:
                    click.echo(json.dumps({"line": number, "ok": False, **doc.as_dict()}, ensure_ascii=False))
                else:
                    click.echo(f"第 {number} 行:未办理 — {doc.title}" + "".join(f";{d.message}" for d in doc.details))
                continue
            done += 1
            if out.json:
                click.echo(json.dumps({"line": number, "ok": True, **result}, ensure_ascii=False, default=str))
            else:
                click.echo(f"第 {number} 行:{done_text(result)}")
    click.echo(f"共 {done + failed} 行:成功 {done} 行,失败 {failed} 行", err=True)
    if first_error is not None:
        sys.exit(first_error.exit_code)


@case_group.command("new", help="收件登记:从文件或标准输入(-)读取 JSON。\n\n" + CASE_JSON_HELP
                    + "\n\n批量:--lines 时每行一个上述 JSON(JSON Lines),只解锁一次,每行单独提交、逐行报告结果。")
@click.argument("source", default="-")
@click.option("--lines", "many", is_flag=True, help="每行一个收件 JSON,一次解锁批量收件(某行出错不影响其他行)")
@common
def case_new(source, many, out: Out, home: StationHome):
    if many:
        _run_lines(source, out, home, cases.intake,
                   lambda r: f"已收件 {r['number']}  {r['status_label']}" + (f"  尚缺 {len(r['missing'])} 项材料" if r["missing"] else ""))
        return
    doc = _read_json(source)
    with unlock(home) as session:
        result = cases.intake(session, doc)

    def human(r):
        lines = [f"已收件:{r['number']}  状态:{r['status_label']}"]
        lines.append(f"办结期限:{r['due_on']}" if r["due_on"] else "办结期限:材料补齐后开始计算")
        if r["missing"]:
            lines.append("一次性告知:尚缺 " + "、".join(r["missing"]))
        lines += [f"注意:{w}" for w in r["warnings"]]
        return "\n".join(lines)
    out.emit(result, human)


def pad(text: str, width: int) -> str:
    """Cut or pad to a terminal width, counting a Chinese character as two columns."""
    out, used = "", 0
    for ch in text or "":
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def _status_text(r: dict) -> str:
    flag = "  [超期]" if r.get("overdue") else ""
    return (f"{r['number']}  {r['received_on']}  {pad(r['item_name'], 32)}  {pad(r['status_label'], 12)}"
            f"期限 {r['due_on'] or '待补齐':<10}  {r['owner']}{flag}")


@case_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in cases.Status]), help="按状态筛选")
@click.option("--item", help="按事项编码筛选")
@click.option("--owner", help="按首问代办员筛选")
@click.option("--overdue", is_flag=True, help="只看已超期")
@click.option("--due-soon", is_flag=True, help=f"只看 {cases.DUE_SOON_WORKDAYS} 个工作日内到期")
@click.option("--follow-up", is_flag=True, help="只看待整改回访的差评件")
@click.option("--from", "received_from", type=click.DateTime(["%Y-%m-%d"]), help="收件日期起")
@click.option("--to", "received_to", type=click.DateTime(["%Y-%m-%d"]), help="收件日期止")
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0)
@common
def case_list(status, item, owner, overdue, due_soon, follow_up, received_from, received_to, limit, offset,
              out: Out, home: StationHome):
    """代办件列表(新收件在前)。"""
    with unlock(home) as session:
        rows = cases.list_cases(session, status=status, item=item, owner=owner, overdue=overdue, due_soon=due_soon,
                                follow_up_open=follow_up, received_from=received_from and received_from.date(),
                                received_to=received_to and received_to.date(), limit=limit, offset=offset)
    out.emit(rows, lambda rs: "\n".join(map(_status_text, rs)) or "没有符合条件的代办件")


@case_group.command("show")
@click.argument("ref")
@click.option("--reveal", "reveal_reason", metavar="原因",
              help="站长:显示完整身份证号码和电话(须写明原因,记入审计)")
@common
def case_show(ref, reveal_reason, out: Out, home: StationHome):
    """一件的详情与完整时间线。REF 为件号。身份证号码和电话均脱敏显示。"""
    with unlock(home) as session:
        data = cases.view(session, ref, reveal_reason)
    person = data["resident"]

    def human(d):
        c = d["case"]
        lines = [f"件号:{c['number']}    事项:{c['item_name']}({c['item_code']})",
                 f"群众:{person['name']}  身份证 {person['id_number']}  电话 {person['phone'] or '—'}",
                 f"状态:{d['status_label']}    首问代办员:{c['owner']}    收件:{c['received_on']}    "
                 f"期限:{c['due_on'] or '材料补齐后计算'}{'(估算)' if c['due_estimated'] else ''}"]
        if d["missing"]:
            lines.append("尚缺材料:" + "、".join(d["missing"]))
        if c.get("gap_promise"):
            lines.append(f"容缺受理:承诺 {c['gap_promise']} 前补交")
        if c.get("follow_up") == "open":
            lines.append(f"差评待整改回访:回访期限 {c.get('revisit_due') or '—'}"
                         + (f"(已回访 {c['revisited_on']})" if c.get("revisited_on") else "")
                         + f",整改期限 {c.get('rectify_due') or '—'}")
        if c.get("bad_reason"):
            lines.append(f"差评原因:{c['bad_reason'].get('category')} {c['bad_reason'].get('text') or ''}".rstrip())
        if c.get("appeal"):
            lines.append({"pending": "申诉待乡镇复核", "upheld": "申诉复核:维持原评价", "overturned": "申诉复核:已撤销该评价"}[c["appeal"]])
        if d.get("catalog", {}).get("text"):
            lines.append(d["catalog"]["text"])
        lines.append("时间线:")
        for e in d["timeline"]:
            extra = {k: v for k, v in e["payload"].items() if k in ("reason", "summary", "method", "text")}
            if e["type"] == "rated":
                extra = {"评价": RATING_LABELS[e["payload"]["level"]]}
            who = e["user"] if e["node"] == c["number"].split("-")[0] else f"乡镇({e['node']})"
            if e["transcribed"]:
                extra = {"source": "纸质录入", **extra}
            lines.append(f"  {e['on']}  {pad(e['label'], 16)} {pad(who or '', 12)} "
                         + " ".join(str(v) for v in extra.values()))
        for conflict in c["conflicts"]:
            lines.append(f"  冲突(未生效):{conflict['type']} — {conflict['reason']}")
        return "\n".join(lines)
    out.emit(data, human)


EVENT_HELP = ("事件类型:" + ", ".join(f"{e.value}={e.label}" for e in EventType
                                      if e not in (EventType.RECEIVED, EventType.DUE_CORRECTED, EventType.APPEAL_DECIDED,
                                                   EventType.RATING_CLOSED)))


@case_group.command("event", help="为一件记录一个事件。\n\n" + EVENT_HELP
                    + "\n\n批量:station case event --lines 文件(或 - 表示标准输入),每行一个 JSON:"
                    "{\"ref\": \"件号\", \"type\": \"事件类型\", 其余为事件内容},只解锁一次,每行单独提交。")
@click.argument("ref", required=False)
@click.argument("event_type", required=False)
@click.option("--lines", "source", metavar="文件", help="每行一个事件 JSON(含 ref 与 type),一次解锁批量记录;- 为标准输入")
@click.option("--data", "data_json", help="事件内容 JSON,例如 '{\"outcome\": \"approved\", \"summary\": \"准予\"}'")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="发生日期(默认今天)")
@click.option("--reason", help="退回或撤回原因")
@click.option("--outcome", type=click.Choice(["approved", "rejected"]), help="办理结果:准予/不予")
@click.option("--summary", help="办理结果说明")
@click.option("--method", help="送达方式:当面领取、电话告知、上门送达、邮寄")
@click.option("--level", type=click.IntRange(1, 5), help="评价:5=非常满意 … 1=非常不满意")
@click.option("--material", "materials", multiple=True, help="补交的材料(可多次)")
@click.option("--text", help="备注内容")
@click.option("--verification", help="差评核实情况")
@click.option("--rectification", help="差评整改情况")
@click.option("--revisit", help="回访结果")
@click.option("--reason-category", help="差评原因类别:服务态度差、办理时间长、材料多或反复跑、政策不落实、结果不满意、其他")
@click.option("--channel", help="评价渠道:现场评价、二维码评价、电话回访评价、短信评价")
@click.option("--result", help="差评回访情况")
@click.option("--grounds", help="申诉理由")
@click.option("--confirm-gap", "gap_confirmed", is_flag=True, default=None, help="容缺材料仍未补交时,确认仍要送达或撤回")
@common
def case_event(ref, event_type, source, data_json, on, out: Out, home: StationHome, **fields):
    if source:
        if ref or event_type or data_json or on or any(v not in (None, ()) for v in fields.values()):
            raise StationError("批量记录时事件内容写在文件的每一行里,不能再给件号、事件类型或其他选项")
        _run_lines(source, out, home, _line_event, lambda d: f"{d['number']} {d['event_label']}已记录,当前状态:{d['status_label']}")
        return
    if not (ref and event_type):
        raise StationError("请给出件号和事件类型,例如:station case event 件号 submitted")
    payload = {}
    if data_json:
        payload = parse_document(data_json, "--data")
        if not isinstance(payload, dict):
            raise ValidationFailed("--data 不是有效的事件内容", [FieldError("data", "not_object", "事件内容应为一个 JSON 对象")])
    payload.update({k: v for k, v in fields.items() if v not in (None, ())})
    if "materials" in payload:
        payload["materials"] = list(payload["materials"])
    if on:
        payload["on"] = on.date().isoformat()
    with unlock(home) as session:
        state = cases.add_event(session, ref, event_type, payload)
    out.emit({"number": state.number, "status": state.status.value, "status_label": state.status.label,
              "due_on": state.due_on, "follow_up": state.follow_up},
             lambda d: f"{d['number']}:{EventType(event_type).label}已记录,当前状态:{d['status_label']}"
                       + ("(差评,须整改回访)" if d["follow_up"] == "open" else ""))


def _line_event(session: Session, doc: object) -> dict:
    """One line of ``case event --lines``: ``{"ref", "type", ...payload}``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("ref"), str) or not isinstance(doc.get("type"), str):
        raise ValidationFailed("这一行不是有效的事件", [FieldError("document", "not_event",
                               "每行应为一个 JSON 对象,含件号 ref 和事件类型 type")])
    payload = {k: v for k, v in doc.items() if k not in ("ref", "type")}
    state = cases.add_event(session, doc["ref"], doc["type"], payload)
    return {"number": state.number, "event": doc["type"], "event_label": EventType(doc["type"]).label,
            "status": state.status.value, "status_label": state.status.label, "due_on": state.due_on,
            "follow_up": state.follow_up}


# --- search, audit, calendar ------------------------------------------------------------
@main.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True)
@common
def search(query, limit, out: Out, home: StationHome):
    """查找群众和代办件:姓名片段(两个字即可)、身份证或电话后几位、件号。"""
    with unlock(home) as session:
        found = search_service.search(session, query, limit)

    def human(d):
        lines = [f"群众 {len(d['residents'])} 人:"]
        lines += [f"  {pad(r['name'], 8)} {r['id_number']}  {r['phone'] or '—':<12} {r['village_group'] or ''}" for r in d["residents"]]
        lines.append(f"代办件 {len(d['cases'])} 件:")
        lines += ["  " + _status_text({**c, "status_label": cases.Status(c["status"]).label}) for c in d["cases"]]
        return "\n".join(lines)
    out.emit(found, human)


@main.group("audit")
def audit_group():
    """审计日志。"""


@audit_group.command("verify")
@common
def audit_verify(out: Out, home: StationHome):
    """校验审计链:发现被改动、删除或调换顺序的记录,以及绕过本软件改动的用户(角色、状态)。"""
    with unlock(home) as session:
        count, problems = audit.verify(session.store.db)
        problems += users.verify_rows(session)
    data = {"entries": count, "ok": not problems, "problems": [{"seq": p.seq, "message": p.message} for p in problems]}
    out.emit(data, lambda d: f"审计链完好:共 {count} 条记录" if d["ok"]
             else "审计链有问题:\n" + "\n".join(f"  - {p['message']}" for p in d["problems"]))
    if problems:
        sys.exit(9)


@main.group("calendar")
def calendar_group():
    """节假日安排(计算办结期限用)。"""


@calendar_group.command("show")
@common
def calendar_show(out: Out, home: StationHome):
    """显示已知的节假日年份和提醒。"""
    with unlock(home) as session:
        data = calendar_service.status(session)
    out.emit(data, lambda d: f"已知年份:{'、'.join(map(str, d['known_years']))}(乡镇下发:{'、'.join(map(str, d['township_years'])) or '无'})"
             + (f"\n提醒:{d['warning']}" if d["warning"] else ""))


@calendar_group.command("import")
@click.argument("source")
@common
def calendar_import(source, out: Out, home: StationHome):
    """导入乡镇下发的某年节假日安排(JSON:year、holidays、workdays),并更正估算的期限。"""
    doc = _read_json(source)
    with unlock(home) as session:
        result = calendar_service.import_year(session, doc, f"文件 {Path(source).name}")
    out.emit(result, lambda d: f"已导入 {d['year']} 年节假日安排:假日 {d['holidays']} 天,调休上班 {d['workdays']} 天;"
                               f"更正办结期限 {d['deadlines_corrected']} 件")


# Commands that exchange data with the outside (printer, township, USB stick) live in their own
# module; importing it registers them on ``main``.
from station import cli_backup, cli_bulletin, cli_exchange, cli_ledger, cli_rules  # noqa: E402,F401
from station import cli_doctor as _cli_doctor  # noqa: E402,F401  (registers station doctor)

if __name__ == "__main__":
    # Run as ``python -m station.cli``: use the importable module's group, on which
    # ``station.cli_exchange`` registered its commands (this file is then a second copy).
    from station.cli import main as registered

    registered()
