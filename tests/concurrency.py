"""Start jobs in threads at the same instant, each on its own database connection."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_in_parallel(*jobs: Callable[[], Any]) -> list[BaseException]:
    """Run every job at once (a barrier releases them together); returns what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
