"""``station backup`` and ``station restore``: the whole station onto a stick and back onto a new PC.
A thin layer over ``station.services.backup``; registered on ``station.cli.main``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from station.cli import Out, StationHome, common, main, secret, unlock
from station.errors import FieldError, StationError, ValidationFailed
from station.services import backup as backup_service

_STAGES = {"copy": "复制数据库", "verify": "校验副本", "restore": "写入新文件夹"}


def _progress(out: Out):
    if out.json or not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        click.echo(f"\r{_STAGES.get(stage, stage)} {100 * done // max(total, 1):3d}%", nl=False, err=True)
    return show


@main.command()
@click.option("--to", "target", type=click.Path(path_type=Path), help="U盘(或文件夹)路径,如 E:\\ 或 /media/usb")
@click.option("--list", "list_dir", type=click.Path(path_type=Path), help="列出U盘(或文件夹)上的备份,不做备份")
@click.option("--keep", type=click.IntRange(1, 100), help="U盘上保留几份备份(默认:设置中的份数,出厂为5)")
@common
def backup(target, list_dir, keep, out: Out, home: StationHome):
    """把整个服务站(加密的数据库和密钥文件)备份到U盘,写完读回校验;旧备份超出保留份数的自动删除。

    备份没有密码或恢复码就打不开:恢复时需要一位用户的密码,或乡镇保管的恢复码。"""
    if (target is None) == (list_dir is None):
        raise ValidationFailed("请给出 --to U盘路径(备份),或 --list U盘路径(查看备份)",
                               [FieldError("to", "required", "缺少U盘路径")])
    if list_dir is not None:
        infos = backup_service.list_backups(list_dir)
        out.emit([i.as_dict() for i in infos], lambda rows: "\n".join(
            f"{r['created_at'] or '?':<26}{r['station_code'] or '?':<9}"
            + (f"可用  {r['bytes'] / 1024 / 1024:.1f} MB  代办件 {r['counts']['cases']} 件" if r["ok"] else f"不可用:{r['problem']}")
            + f"\n    {r['folder']}" for r in rows) or "没有找到备份")
        return
    with unlock(home) as session:
        result = backup_service.create(session, target, keep, progress=_progress(out))
    if _progress(out):
        click.echo("", err=True)
    warning = "" if result.audit_ok else "\n注意:本站审计链校验有问题,这份备份恢复时会被拒绝;请先运行 station audit verify 并联系乡镇。"
    out.emit(result.as_dict(), f"备份完成:{result.folder}\n{backup_service.counts_text(result.manifest['counts'])}。"
             + (f"\n已删除较早的备份 {len(result.pruned)} 份。" if result.pruned else "")
             + "\n请拔下U盘,放在服务站以外的安全地方。恢复时需要一位用户的密码或乡镇保管的恢复码。" + warning)


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--user", "username", help="用哪位用户的密码解锁备份(默认:STATION_USER,或备份中唯一的用户)")
@click.option("--recovery", is_flag=True, help="用乡镇保管的恢复码解锁(提示输入,或 STATION_RECOVERY_CODE)")
@common
def restore(source, username, recovery, out: Out, home: StationHome):
    """从U盘上的备份恢复服务站到一个新的空文件夹(--data-dir;默认 STATION_HOME),决不覆盖已有的服务站。

    SOURCE 为一份备份的文件夹,或U盘/备份目录(取其中最新的一份)。先核对每个文件的校验值,再要密码。"""
    folder = backup_service.resolve(source)
    manifest = backup_service.check(folder)  # a damaged backup is refused before anyone types a secret
    backup_service.refuse_existing(home)
    station = manifest["station"]
    if not out.json:
        click.echo(f"备份:{station['name']}({station['code']}),{manifest['created_at']},"
                   f"{backup_service.counts_text(manifest['counts'])}", err=True)
    use_code = recovery or (os.environ.get("STATION_RECOVERY_CODE") and not os.environ.get("STATION_PASSPHRASE"))
    if use_code:
        code = secret("STATION_RECOVERY_CODE", "恢复码")
        result = backup_service.restore(folder, home.dir, recovery_code=code, progress=_progress(out))
    else:
        username = username or os.environ.get("STATION_USER") or _only_user(folder)
        passphrase = secret("STATION_PASSPHRASE", f"{username} 的密码")
        result = backup_service.restore(folder, home.dir, username=username, passphrase=passphrase, progress=_progress(out))
    if _progress(out):
        click.echo("", err=True)
    out.emit(result.as_dict(), f"已恢复到 {result.data_dir}:{backup_service.counts_text(result.counts)};审计链完好(共 {result.audit_entries} 条)。\n"
                               f"用 station --data-dir {result.data_dir} 打开。若本站与乡镇联网同步,请先告知乡镇已从备份恢复。")


def _only_user(folder: Path) -> str:
    users = backup_service.users_in(folder)
    if len(users) == 1:
        return users[0]
    if not sys.stdin.isatty():
        raise StationError("请用 --user 或环境变量 STATION_USER 指定用户,可用:" + "、".join(users) + ";或用 --recovery 恢复码")
    return click.prompt("用户名(" + "、".join(users) + ")")
