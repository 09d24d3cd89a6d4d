"""The ``station`` command as a script uses it: real processes, real files, real KDF cost."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station.core.ids import short
from tests.conftest import make_id

PASS = "cli-pass-2026"


def run(data_dir: Path, *args: str, stdin: str | None = None, env: dict | None = None, user: str = "zhanzhang"):
    full_env = {**os.environ, "STATION_PASSPHRASE": PASS, "STATION_USER": user, **(env or {})}
    full_env.pop("STATION_HOME", None)
    return subprocess.run([sys.executable, "-m", "station.cli", *args, "--data-dir", str(data_dir)],
                          input=stdin or "", capture_output=True, text=True, env=full_env, timeout=120)


def ok(result) -> dict | str:
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.stdout


@pytest.fixture(scope="module")
def station(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli") / "st"
    out = ok(run(d, "init", "--code", "XX0101", "--name", "石板村便民服务站", "--user", "zhanzhang", "--display-name", "罗世芬", "--json"))
    assert len(out["recovery_code"]) == 29
    (d.parent / "recovery.txt").write_text(out["recovery_code"])
    return d


def audit_entries(d: Path) -> int:
    return ok(run(d, "audit", "verify", "--json"))["entries"]


DOC = {"resident": {"id_number": make_id(), "name": "张秀英", "phone": "13812345678"}, "item": "MZ-003",
       "materials_received": ["申请人居民身份证", "户口簿", "临时救助申请书"]}


def test_case_lifecycle_from_the_command_line(station, tmp_path):
    created = ok(run(station, "case", "new", "-", "--json", stdin=json.dumps(DOC, ensure_ascii=False)))
    number = created["number"]
    assert created["notice_issued"] and created["due_on"] is None
    f = tmp_path / "case.json"
    f.write_text(json.dumps({**DOC, "materials_received": [], "item": "SB-001"}, ensure_ascii=False), encoding="utf-8")
    assert ok(run(station, "case", "new", str(f), "--json"))["number"].endswith("000002")
    ok(run(station, "case", "event", number, "materials_added", "--material", "致困原因证明(医疗费用票据、事故证明等)",
           "--material", "家庭经济状况核对授权书", "--material", "本人银行卡(社保卡)"))
    ok(run(station, "case", "event", number, "submitted"))
    ok(run(station, "case", "event", number, "decided", "--outcome", "approved", "--summary", "准予临时救助800元"))
    ok(run(station, "case", "event", number, "result_delivered", "--method", "当面领取"))
    refused = run(station, "case", "event", number, "rated", "--level", "1")
    assert refused.returncode != 0 and "差评须选择原因" in refused.stdout + refused.stderr
    rated = ok(run(station, "case", "event", number, "rated", "--level", "1", "--reason-category", "其他", "--reason", "窗口没人",
                   "--channel", "二维码评价", "--json"))
    assert rated["follow_up"] == "open"
    export = tmp_path / "ratings.json"
    ok(run(station, "ratings", "export", "--out", str(export)))
    row = json.loads(export.read_text("utf-8"))["rows"][0]
    assert (row["办件编号"], row["评价等级"], row["评价渠道"], row["差评原因"]) == (number, "非常不满意", "二维码评价", "其他:窗口没人")
    assert "差评整改时限:15 个工作日" in ok(run(station, "rules", "show"))
    shown = ok(run(station, "case", "show", number))
    assert "非常不满意" in shown and "差评待整改回访" in shown and "138****5678" in shown and make_id() not in shown
    assert "差评原因:其他 窗口没人" in shown and "整改期限 20" in shown
    listed = ok(run(station, "case", "list", "--follow-up", "--json"))
    assert [r["number"] for r in listed] == [number]
    found = ok(run(station, "search", "秀英", "--json"))
    assert found["residents"][0]["id_number"].startswith("520402****")
    text = ok(run(station, "search", make_id()[-4:]))
    assert "张秀英" in text and make_id() not in text


@pytest.mark.parametrize("doc,code,word", [
    ({**DOC, "resident": {**DOC["resident"], "id_number": make_id()[:-1] + ("1" if make_id()[-1] != "1" else "2")}}, "id_checksum", "校验位"),
    ({**DOC, "resident": {**DOC["resident"], "id_number": "520402190002300011"}}, "id_birth_date", "出生日期"),
    ({**DOC, "resident": {**DOC["resident"], "phone": "1234"}}, "phone_shape", "电话"),
    ({**DOC, "item": "NO-SUCH-ITEM"}, "unknown_item", "事项"),
])
def test_bad_case_input_clear_chinese_message_nonzero_nothing_written(station, doc, code, word):
    before = audit_entries(station)
    result = run(station, "case", "new", "-", stdin=json.dumps(doc, ensure_ascii=False))
    assert result.returncode == 2 and word in result.stderr and "Traceback" not in result.stderr
    as_json = run(station, "case", "new", "-", "--json", stdin=json.dumps(doc, ensure_ascii=False))
    assert json.loads(as_json.stdout)["details"][0]["code"] == code
    assert audit_entries(station) == before


def test_illegal_transition_and_garbage_json(station):
    number = ok(run(station, "case", "new", "-", "--json", stdin=json.dumps(DOC, ensure_ascii=False)))["number"]
    before = audit_entries(station)
    result = run(station, "case", "event", number, "rated", "--level", "5")
    assert result.returncode == 4 and "不能进行“群众评价”" in result.stderr
    result = run(station, "case", "new", "-", stdin="{not json")
    assert result.returncode == 2 and "JSON 格式错误" in result.stderr
    assert audit_entries(station) == before


def test_second_init_refused_and_station_untouched(station):
    before = audit_entries(station)
    result = run(station, "init", "--code", "YY0202", "--name", "别的村", "--user", "other", "--display-name", "某某")
    assert result.returncode == 8 and "已经有一个服务站" in result.stderr
    assert audit_entries(station) == before


def test_short_passphrase_at_init(tmp_path):
    result = run(tmp_path / "new", "init", "--code", "XX0102", "--name", "某村", "--user", "zz", "--display-name", "某某",
                 env={"STATION_PASSPHRASE": "short"})
    assert result.returncode == 2 and "密码太短" in result.stderr
    assert not (tmp_path / "new" / "station.db").exists()


def test_wrong_passphrase_and_users(station):
    result = run(station, "case", "list", env={"STATION_PASSPHRASE": "wrong-passphrase"})
    assert result.returncode == 5 and "密码不正确" in result.stderr
    ok(run(station, "user", "add", "daiban", "--name", "杨光明", env={"STATION_NEW_PASSPHRASE": "clerk-pass-2026"}))
    listed = ok(run(station, "user", "list", "--json"))
    assert {u["username"]: u["role"] for u in listed} == {"zhanzhang": "supervisor", "daiban": "clerk"}
    clerk = {"STATION_PASSPHRASE": "clerk-pass-2026"}
    result = run(station, "user", "add", "other", "--name", "某某", user="daiban", env={**clerk, "STATION_NEW_PASSPHRASE": "x-pass-2026"})
    assert result.returncode == 6 and "只有站长" in result.stderr
    ok(run(station, "user", "passwd", user="daiban", env={**clerk, "STATION_NEW_PASSPHRASE": "clerk-pass-2027"}))
    assert run(station, "case", "list", user="daiban", env=clerk).returncode == 5
    ok(run(station, "case", "list", user="daiban", env={"STATION_PASSPHRASE": "clerk-pass-2027"}))


def test_recover_with_code(tmp_path):
    d = tmp_path / "r"
    code = ok(run(d, "init", "--code", "XX0103", "--name", "某村", "--user", "zhanzhang", "--display-name", "某某", "--json"))["recovery_code"]
    assert run(d, "recover", "--user", "zhanzhang", env={"STATION_RECOVERY_CODE": "X" * 25, "STATION_PASSPHRASE": "new-pass-2026"}).returncode == 5
    ok(run(d, "recover", "--user", "zhanzhang", env={"STATION_RECOVERY_CODE": code, "STATION_PASSPHRASE": "new-pass-2026"}))
    ok(run(d, "case", "list", env={"STATION_PASSPHRASE": "new-pass-2026"}))
    assert ok(run(d, "recovery", "show", "--json", env={"STATION_PASSPHRASE": "new-pass-2026"}))["recovery_code"] == code


def test_no_station_and_no_passphrase_messages(station, tmp_path):
    result = run(tmp_path / "none", "case", "list")
    assert result.returncode == 7 and "station init" in result.stderr
    env = {k: v for k, v in os.environ.items() if k != "STATION_PASSPHRASE"}
    result = subprocess.run([sys.executable, "-m", "station.cli", "case", "list", "--data-dir", str(station)],
                            capture_output=True, text=True, env={**env, "STATION_USER": "zhanzhang"}, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "STATION_PASSPHRASE" in result.stderr and "Traceback" not in result.stderr


def test_every_command_has_chinese_help():
    from click.testing import CliRunner

    from station.cli import main
    runner = CliRunner()

    def walk(group, path):
        for name, cmd in group.commands.items():
            result = runner.invoke(main, [*path, name, "--help"])
            assert result.exit_code == 0, (path, name)
            assert any("\u4e00" <= c <= "\u9fff" for c in (cmd.help or cmd.short_help or "")), (path, name)
            if hasattr(cmd, "commands"):
                walk(cmd, [*path, name])
            else:
                assert "--data-dir" in result.output and "--json" in result.output, (path, name)
            assert "用法:" in result.output and "显示本帮助并退出" in result.output and "Show this message" not in result.output
    walk(main, [])
    bad = runner.invoke(main, ["case", "list", "--no-such-flag"])
    assert bad.exit_code == 2 and "没有选项" in bad.output and "No such option" not in bad.output


def test_print_and_verify_receipt(station, tmp_path, fake_lp):
    number = ok(run(station, "case", "new", "-", "--json", stdin=json.dumps(DOC, ensure_ascii=False)))["number"]
    out = tmp_path / "receipt.pdf"
    ok(run(station, "print", "receipt", number, "--out", str(out)))
    assert out.read_bytes().startswith(b"%PDF")
    printed = ok(run(station, "print", "notice", number, "--json"))  # no --out: to the printer
    assert printed["message"] == "已发送到打印机" and (fake_lp / "job.pdf").read_bytes().startswith(b"%PDF")
    scanned = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert number in scanned
    from tests.printouts.test_documents import squash
    code = re.search(r"VS1:[A-Z0-9:-]+", squash(scanned)).group(0)
    good = ok(run(station, "verify-receipt", code, "--json"))
    assert good["valid"] and good["number"] == number and good["status"] == "已收件"
    forged = code.replace(number, number[:-1] + str((int(number[-1]) + 1) % 10))
    result = run(station, "verify-receipt", forged)
    assert result.returncode == 11 and "签名不符" in result.stdout


def test_notice_commands(station):
    nid = ok(run(station, "notice", "new", "--title", "停水通知", "--body", "明天停水。", "--json"))["id"]
    ok(run(station, "notice", "edit", short(nid), "--body", "明天上午停水。"))
    refused = run(station, "notice", "publish", short(nid))
    assert refused.returncode == 2 and "公示期" in refused.stderr
    ok(run(station, "notice", "publish", short(nid), "--from", "2099-01-01", "--to", "2099-01-07"))
    board = ok(run(station, "notice", "list", "--json"))
    assert [n["title"] for n in board["upcoming"]] == ["停水通知"]
    edit_after = run(station, "notice", "edit", short(nid), "--title", "改标题")
    assert edit_after.returncode == 4 and "不能修改" in edit_after.stderr


def test_users_keys_and_audit_from_the_command_line(tmp_path):
    from station.store import keys
    from station.store.db import open_store
    d = tmp_path / "st"
    code = ok(run(d, "init", "--code", "XX0104", "--name", "某村", "--user", "zhanzhang", "--display-name", "某某", "--json"))["recovery_code"]
    weak = run(d, "user", "add", "daiban", "--name", "杨光明", env={"STATION_NEW_PASSPHRASE": "12345678"})
    assert weak.returncode == 2 and "常见密码" in weak.stderr and "例如" in weak.stderr
    ok(run(d, "user", "add", "daiban", "--name", "杨光明", env={"STATION_NEW_PASSPHRASE": "clerk-pass-2026"}))
    clerk = {"STATION_PASSPHRASE": "clerk-pass-2026"}
    result = run(d, "recovery", "show", user="daiban", env=clerk)
    assert result.returncode == 6 and "只有站长" in result.stderr
    assert ok(run(d, "recovery", "show", "--json"))["recovery_code"] == code
    assert run(d, "user", "deactivate", "zhanzhang", user="daiban", env=clerk).returncode == 6
    assert run(d, "user", "deactivate", "zhanzhang").returncode == 6  # not yourself
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(d / "keys.json", old / "keys.json")
    done = ok(run(d, "user", "deactivate", "daiban", "--json"))
    assert done["rekeyed"] and done["recovery_code"] is None
    result = run(d, "case", "list", user="daiban", env=clerk)
    assert result.returncode == 5 and "已停用" in result.stderr
    shutil.copy(d / "station.db", old / "station.db")  # the rekeyed store beside the kept key file
    result = run(old, "case", "list", user="daiban", env=clerk)
    assert result.returncode == 7 and "密钥" in result.stderr and "Traceback" not in result.stderr
    listed = {u["username"]: u["active"] for u in ok(run(d, "user", "list", "--json"))}
    assert listed == {"zhanzhang": 1, "daiban": 0}
    new_code = ok(run(d, "rekey", "--new-recovery-code", "--json"))["recovery_code"]
    assert new_code != code and ok(run(d, "recovery", "show", "--json"))["recovery_code"] == new_code
    audit = ok(run(d, "audit", "verify", "--json"))
    assert audit["ok"]
    # A role changed in the database behind the app's back.
    with open_store(d / "station.db", keys.KeyRing.load(d / "keys.json").unlock("zhanzhang", PASS)) as store:
        store.conn.execute("UPDATE users SET role = 'supervisor', active = 1 WHERE username = 'daiban'")
    result = run(d, "audit", "verify")
    assert result.returncode == 9 and "daiban" in result.stdout and "不符" in result.stdout


def test_demo_hints_name_a_command_that_runs_where_station_is_not_on_path(tmp_path):
    """README starts the demo as ``.venv/bin/station demo`` with nothing activated: the hints it prints
    must be commands that run as they are, from that shell."""
    script = Path(sys.executable).parent / "station"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
    env["PATH"] = "/usr/bin:/bin"  # no venv on PATH, as in a fresh shell
    r = subprocess.run([str(script), "demo", "--no-tui", "--cases", "3", "--data-dir", str(tmp_path / "demo")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    commands = [line.strip() for line in r.stdout.splitlines() if line.strip().endswith(("--overdue", "verify"))]
    assert commands, r.stdout
    for line in commands:
        program = line.split()[0]
        assert shutil.which(program, path=env["PATH"]) or Path(program).is_file(), line
    # and the printed line works, pasted as it is after the printed export line
    export = next(line.strip() for line in r.stdout.splitlines() if line.strip().startswith("export "))
    done = subprocess.run(["bash", "-c", f"{export} && {commands[-1]}"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
