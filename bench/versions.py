"""One process builds a version of SIZE sessions, then a one-session edit; prints JSON.

Run by bench/serving.py in a process of its own (its peak memory is measured
there): the full build is the first publication of the file and the prebuild of
every body; the edit is a new revision of one session (its city renamed), its
publication and the prebuild of what may differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WRITE = (
    "import sys; sys.path.insert(0, sys.argv[1]); from bench.run import schedule_text; "
    "open(sys.argv[2], 'w', encoding='utf-8').write(schedule_text(int(sys.argv[3])))"
)


def main() -> int:
    size = int(sys.argv[1])
    os.environ["AGENDA_WATCH"] = "0"
    os.environ["AGENDA_SETTLE"] = "0"
    from agenda import create_app

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sessions.toml"
        # Written by a child process: the text of 10,000 sessions is not this one's memory.
        subprocess.run([sys.executable, "-c", WRITE, str(ROOT), str(path), str(size)],
                       check=True)
        began = time.perf_counter()
        app = create_app({"AGENDA_DATA": str(path), "AGENDA_PREBUILD": True})
        full = time.perf_counter() - began
        store = app.extensions["agenda.store"]
        middle = size // 2 or 1
        with open(path, "r+b") as handle:  # in place: the new name has as many bytes
            at = handle.read().index(f'city = "Ville {middle}"\n'.encode())
            handle.seek(at)
            handle.write(f'city = "Bourg {middle}"\n'.encode())
        info = os.stat(path)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        began = time.perf_counter()
        store.poll()
        edit = time.perf_counter() - began
        assert store.served().number == 2, "the edit was not published"
        print(json.dumps({"full": full, "edit": edit}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
