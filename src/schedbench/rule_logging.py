"""What every workflow script does first: log to the rule's log file and fail with a clear message."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from schedbench.config import ConfigError
from schedbench.data import DataError
from schedbench.schedules import ScheduleError
from schedbench.tables import TableError

# Errors about the user's input or files (a data file, a result table edited by hand): their message is the whole
# story, a traceback would only hide it.
USER_ERRORS = (ConfigError, DataError, ScheduleError, TableError)


@contextlib.contextmanager
def rule_logging(log_path: str, name: str) -> Iterator[logging.Logger]:
    """Send logging and stderr to the rule's log; on a user error, log it, echo it to the terminal, exit 1."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log_file:
        handler = logging.StreamHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # TensorFlow's C++ side writes to file descriptor 2 directly: point the descriptor itself at the log.
        console = os.fdopen(os.dup(2), "w")
        sys.stderr.flush()
        os.dup2(log_file.fileno(), 2)
        try:
            yield logging.getLogger(f"schedbench.{name}")
        except USER_ERRORS as error:
            logging.getLogger(f"schedbench.{name}").error("%s", error)
            print(f"schedbench {name}: {error}", file=console)
            sys.exit(1)
        except Exception:
            logging.getLogger(f"schedbench.{name}").exception("failed")
            raise
        finally:
            sys.stderr.flush()
            os.dup2(console.fileno(), 2)
            console.close()
            root.removeHandler(handler)
