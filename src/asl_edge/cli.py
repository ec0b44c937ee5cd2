"""What every console command shares: logging, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Sequence

from .errors import AslEdgeError

EXIT_USAGE = 2  # bad input, missing file/data/GPU: the user can fix it


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults and keep the examples in the epilog as written."""


def parser(prog: str, description: str, examples: str = "") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter,
                                epilog=f"examples:\n{examples}" if examples else None)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None
        ) -> int:
    """Run a command's main; turn user errors into ``error: ...`` and exit status 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return int(main(argv) or 0)
    except AslEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def set_verbosity(verbose: bool) -> None:
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.INFO)
