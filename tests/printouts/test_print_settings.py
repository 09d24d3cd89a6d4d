"""The print settings chosen in the app (设置 → 打印与PDF) as the services and the CLI see them."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from printouts import output
from station.errors import ValidationFailed
from station.services import demo, print_settings
from station.services.session import StationHome
from tests.printouts.conftest import TODAY
from tests.printouts.test_documents import case_with


def test_the_cli_prints_to_the_printer_chosen_in_the_app(demo_dir, fake_lp):
    s = StationHome(demo_dir).unlock("zhanzhang", demo.DEMO_PASSPHRASE, today=lambda: TODAY)
    try:
        print_settings.set_printer(s, "Canon-LBP2900")
        number = case_with(s, missing=False)
    finally:
        s.close()
    env = {**os.environ, "STATION_PASSPHRASE": demo.DEMO_PASSPHRASE, "STATION_USER": "daiban"}
    env.pop("STATION_HOME", None)
    done = subprocess.run([sys.executable, "-m", "station.cli", "print", "receipt", number, "--data-dir", str(demo_dir)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "-d Canon-LBP2900" in (fake_lp / "args").read_text()


def test_pdf_folder_must_be_a_full_path_that_can_be_written(session, tmp_path):
    assert print_settings.pdf_folder(session) == print_settings.default_pdf_folder()
    assert print_settings.default_pdf_folder().name == "村站通"
    afile = tmp_path / "not-a-folder"
    afile.write_text("")
    for bad in ("", "相对路径/PDF", str(afile / "sub")):
        with pytest.raises(ValidationFailed) as refused:
            print_settings.set_pdf_folder(session, bad)
        assert refused.value.details[0].field == "pdf_folder"
    made = print_settings.set_pdf_folder(session, str(tmp_path / "新建" / "PDF"))
    assert made.is_dir() and print_settings.pdf_folder(session) == made


def test_saved_files_never_overwrite_and_names_are_safe(tmp_path):
    first = output.save(b"%PDF-1", tmp_path, "受理回执 XX0101-2026-000001")
    second = output.save(b"%PDF-2", tmp_path, "受理回执 XX0101-2026-000001")
    assert first.name == "受理回执_XX0101-2026-000001.pdf" and second.name == "受理回执_XX0101-2026-000001-2.pdf"
    assert first.read_bytes() == b"%PDF-1" and second.read_bytes() == b"%PDF-2"
    assert output.file_name('台账 · 耕地/2026:一组*"?') == "台账_·_耕地_2026_一组.pdf"


DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"


@pytest.mark.skipif(not os.path.isfile(DROID), reason="needs fonts-droid-fallback")
def test_the_cli_refuses_to_print_or_save_when_no_font_covers_the_text(demo_dir, fake_lp, tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    os.symlink(DROID, fonts / "DroidSansFallbackFull.ttf")
    s = StationHome(demo_dir).unlock("daiban", demo.DEMO_PASSPHRASE, today=lambda: TODAY)
    try:
        number = case_with(s, missing=False)
    finally:
        s.close()
    env = {**os.environ, "STATION_PASSPHRASE": demo.DEMO_PASSPHRASE, "STATION_USER": "daiban", "STATION_FONT_DIRS": str(fonts)}
    env.pop("STATION_HOME", None)
    env.pop("STATION_FONT", None)
    for extra in ([], ["--out", str(tmp_path / "r.pdf")]):
        done = subprocess.run([sys.executable, "-m", "station.cli", "print", "receipt", number, *extra, "--data-dir", str(demo_dir)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 10, done.stdout + done.stderr
        assert "不能打印" in done.stderr and "fonts-wqy-microhei" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r.pdf").exists() and not (fake_lp / "job.pdf").exists()
