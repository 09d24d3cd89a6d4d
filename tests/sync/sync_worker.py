"""Helper process for the station-kill test: syncs over HTTP until killed (or done)."""
import sys

from station.services.session import StationHome
from sync import client
from sync.http import HttpTransport

if __name__ == "__main__":
    data_dir, passphrase, url = sys.argv[1:4]
    session = StationHome(data_dir).unlock("zhanzhang", passphrase)
    print("ready", flush=True)
    try:
        client.sync_once(session, HttpTransport(url))
    except client.SyncFailed as exc:
        print(exc.title, flush=True)
    print("done", flush=True)
