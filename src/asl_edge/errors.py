"""One exception type for every user-facing failure, so each command can print one line."""


class AslEdgeError(Exception):
    """A problem the user can fix: bad input file, missing data, absent GPU or library.

    The message is a single line that says what went wrong and what to do next. Commands
    catch it, print ``error: <message>`` and exit with status 2.
    """


class DataError(AslEdgeError):
    """The dataset is missing or malformed."""
