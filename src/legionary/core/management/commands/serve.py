"""``legionary serve``: the web interface and API under gunicorn."""

from __future__ import annotations

import gc
import ipaddress
import os
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from legionary.commands import LegionaryCommand, UsageError

# Requests a worker answers before it moves what is then alive (Django, our modules, compiled
# templates, catalogues) to the collector's permanent generation: a full collection then walks only
# what requests allocate. Without it, a full collection every ~20 dashboard renders at 210k people
# took ~150 ms and set the page's p95 (docs/benchmarks.md, "garbage collection").
WARM_UP_REQUESTS = 20
_answered = 0


def freeze_after_warm_up(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gunicorn's ``post_request`` hook: freezes the worker's heap once, after its warm-up requests."""
    global _answered
    _answered += 1
    if _answered == WARM_UP_REQUESTS:
        gc.collect()
        gc.freeze()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Command(LegionaryCommand):
    help = "Serves the web interface and the API with gunicorn."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LEGIONARY_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("LEGIONARY_THREADS", "4")))

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise UsageError(f"--port must be between 1 and 65535 (got {port}).")
        if not settings.LEGIONARY_HTTPS and not _is_loopback(host):
            raise UsageError(
                f"LEGIONARY_HTTPS=0 is only allowed on loopback; {host} is not. "
                "Serve behind a TLS reverse proxy with LEGIONARY_HTTPS=1."
            )
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise UsageError("The database schema is not up to date. Run `legionary init` first.")
        from legionary.identity.services import IdentityError, check_keyring_ready

        try:
            check_keyring_ready()
        except IdentityError as exc:
            raise UsageError(str(exc)) from None
        connection.close()

        from gunicorn.app.base import BaseApplication

        from legionary.wsgi import application

        class Server(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", options["workers"])
                self.cfg.set("threads", options["threads"])
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("timeout", 60)
                self.cfg.set("graceful_timeout", 20)
                self.cfg.set("accesslog", "-")
                # Query strings can carry search terms; log method and path only.
                self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms')
                self.cfg.set("limit_request_line", 8190)
                self.cfg.set("limit_request_fields", 100)
                # No runtime control socket: it would be shared by every instance of one user
                # (~/.gunicorn/gunicorn.ctl) and is one more way to stop or reload the service.
                self.cfg.set("control_socket_disable", True)
                self.cfg.set("post_request", freeze_after_warm_up)

            def load(self) -> Any:
                return application

        self.stdout.write(f"Serving on http://{host}:{port}/ (Ctrl-C to stop)")
        # What the master has loaded is frozen before the workers fork (shared, never walked again).
        gc.collect()
        gc.freeze()
        Server().run()
