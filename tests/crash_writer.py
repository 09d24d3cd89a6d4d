"""Helper process for the crash test: writes cases in a loop and reports each one that committed.

A line is printed (and flushed) only after ``intake`` has returned, i.e. after COMMIT; the test
kills this process with SIGKILL at a random moment and then checks every reported case is there.
"""
import json
import sys

from station.services import cases
from station.services.session import StationHome
from tests.conftest import make_id


def main(data_dir: str, passphrase: str, start: int) -> None:
    session = StationHome(data_dir).unlock("zhanzhang", passphrase)
    print("ready", flush=True)
    i = start
    while True:
        doc = {"resident": {"id_number": make_id(seq=i % 1000, birth=f"19{50 + i // 1000 % 50}0101"), "name": f"李{i}号"},
               "item": "MZ-003", "materials_received": ["申请人居民身份证"]}
        r = cases.intake(session, doc)
        cases.add_event(session, r["number"], "note_added", {"text": "测试"})
        print(json.dumps({"number": r["number"]}), flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
