"""CPU per labeling request, in-process: what ``bench/load.py`` scenario (a) costs the app itself.

Builds the same throwaway world as ``bench/load.py`` (a fresh PostgreSQL database migrated with
Alembic, ``--labelers`` labelers with API tokens, ``--items`` tasks), then drives the app through
Flask's test client the way a labeler does: ``POST /api/v1/tasks/next`` -> ``PUT
.../annotation`` (one box) -> ``POST .../submit``, round-robin over the labelers, with bearer
tokens, no pauses and no HTTP server. For each endpoint it prints the CPU time of this
process per request (``time.process_time``: the app, the test client, the driver; the database
runs in its own processes) and the SQL statements per request. The first ``--warmup`` cycles
are not counted.

Usage::

    .venv/bin/python bench/api_cpu.py                       # 600 counted cycles
    .venv/bin/python bench/api_cpu.py --cycles 300 --profile next   # cProfile of one endpoint
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/load.py, for the same world
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import load

ENDPOINTS = ("next", "save", "submit")


def main(argv: list[str] | None = None) -> int:
    """Seed, drive, print; the database and media folder are removed at the end.

    Returns:
        0 when the run completed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--items", type=int, default=1200, help="tasks to seed (one per cycle plus warm-up)")
    parser.add_argument("--cycles", type=int, default=600, help="counted next -> save -> submit cycles")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", choices=ENDPOINTS, help="print a cProfile of this endpoint's counted calls")
    parser.add_argument("--sql", action="store_true", help="print the statements of the last cycle")
    args = parser.parse_args(argv)
    if args.items < args.cycles + args.warmup + args.labelers:
        parser.error("need at least cycles + warmup + labelers items")

    from sqlalchemy import event

    from annotate import create_app
    from annotate.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="annotate_cpu_"))
    database_url = load.create_database()
    try:
        config = {"DATABASE_URL": database_url, "REDIS_URL": load.REDIS_URL, "MEDIA_ROOT": str(tmp / "media"),
                  "INSTANCE_PATH": str(tmp / "instance"), "SECRET_KEY": uuid.uuid4().hex}  # fmt: skip
        world = load.seed(config, args.labelers, args.items)
        app = create_app(config)
        client = app.test_client()
        statements = [0]
        last: list[str] = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
            if args.sql:
                event.listen(db.engine, "before_cursor_execute", lambda conn, cursor, text, *a: last.append(" ".join(text.split())[:160]))
        cpu: dict[str, float] = defaultdict(float)
        sql: dict[str, int] = defaultdict(int)
        calls: dict[str, int] = defaultdict(int)
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        rng = random.Random(1)

        def call(endpoint: str, counted: bool, method: str, path: str, token: str, body: dict | None = None):
            last.append(f"-- {endpoint}")
            before_sql, before_cpu = statements[0], time.process_time()
            profiling = profiler is not None and counted and endpoint == args.profile
            if profiling:
                profiler.enable()
            response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
            if profiling:
                profiler.disable()
            if counted:
                cpu[endpoint] += time.process_time() - before_cpu
                sql[endpoint] += statements[0] - before_sql
                calls[endpoint] += 1
            if response.status_code != 200:
                raise RuntimeError(f"{endpoint}: {response.status_code} {response.get_data(as_text=True)[:300]}")
            return response.get_json()

        for cycle in range(args.warmup + args.cycles):
            counted = cycle >= args.warmup
            last.clear()
            _, token = world.tokens[cycle % len(world.tokens)]
            task = call("next", counted, "POST", f"/api/v1/tasks/next?project={world.project_id}", token)
            body = {"base_revision": task["revision"], "annotation": load.one_box_document(rng), "active_seconds": 1.0}
            saved = call("save", counted, "PUT", f"/api/v1/tasks/{task['id']}/annotation", token, body)
            call("submit", counted, "POST", f"/api/v1/tasks/{task['id']}/submit", token, {"base_revision": saved["revision"]})
        print(f"{args.cycles} counted cycles over {args.labelers} labelers (Flask test client, bearer tokens, PostgreSQL)")
        print(f"   {'endpoint':<8} {'CPU ms/request':>15} {'SQL/request':>12}")
        for endpoint in ENDPOINTS:
            n = calls[endpoint]
            print(f"   {endpoint:<8} {cpu[endpoint] / n * 1000:>15.2f} {sql[endpoint] / n:>12.1f}")
        total = sum(cpu.values()) / sum(calls.values()) * 1000
        print(f"   {'mean':<8} {total:>15.2f} {sum(sql.values()) / sum(calls.values()):>12.1f}")
        if args.sql:
            print("\n".join(last))
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 0
    finally:
        load.drop_database(database_url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
