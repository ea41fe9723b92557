"""The errors a user can meet, each with the exit code the CLI gives it.

The CLI catches ``LineageError`` once and prints ``Error: <message>``; everything else is a bug.
"""

from __future__ import annotations


class LineageError(Exception):
    """Base of every error meant for the user: one line saying what was wrong and what to do."""

    exit_code = 1


class UsageError(LineageError):
    """The command was called wrongly: a bad option, a malformed value."""

    exit_code = 2


class NotFound(LineageError):
    """A ref, step, key or artifact names nothing that exists."""

    exit_code = 1


class Ambiguous(UsageError):
    """A ref or name matches more than one thing."""


class InvalidPipeline(UsageError):
    """``lineage.toml`` is malformed: syntax, unknown step, cycle, bad parameter."""


class InvalidTime(UsageError):
    """A time or date that cannot be parsed."""


class InvalidRef(UsageError):
    """A ref that cannot be parsed."""


class InvalidFilter(UsageError):
    """A search filter that is not a comparison, or names an unknown field."""


class InvalidName(UsageError):
    """An artifact name that is empty, absolute, or leaves its folder."""


class OutputExists(UsageError):
    """A file or folder is where an artifact would be written, and overwriting was not asked."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class CatalogError(LineageError):
    """The catalog cannot be opened, read or written."""


class StoreError(LineageError):
    """The artifact store cannot be reached, or holds a corrupt object."""


class StepFailed(LineageError):
    """A launched step exited non-zero."""


class NoChain(LineageError):
    """No coherent chain exists and launching was not allowed."""


class FileError(LineageError):
    """A local file or folder cannot be read or written: permissions, a full disk, a bad path."""


class Refused(LineageError):
    """An operation would break recorded lineage (a run others depend on); nothing changed."""


class HasDependents(Refused):
    """Runs to remove have other runs depending on them; removing them alone would orphan those.

    The message says the remedy in library words (``cascade``); a front end may say it in its
    own (a command-line flag) with ``with_remedy``.
    """

    def __init__(self, problem: str, *, first: str | None = None) -> None:
        self.problem = problem
        self.first = first  # what to remove first instead ("it", "those"), if that is an option
        super().__init__(self.with_remedy("remove the dependents too (cascade)"))

    def with_remedy(self, remedy: str) -> str:
        """Return the message with ``remedy`` as the way to remove the dependents too."""
        first = f"remove {self.first} first or " if self.first else ""
        return f"{self.problem}; {first}{remedy}"


class CatalogUnreadable(CatalogError):
    """The catalog database cannot be read: a file that is not one, a server that is down.

    The message points at the catalog URL in library words; a front end may name its own
    option for it with ``with_remedy``.
    """

    def __init__(self, problem: str, *, is_file: bool) -> None:
        self.problem = problem
        self.is_file = is_file  # a SQLite file (check the file) rather than a server
        if is_file:
            remedy = (
                "check the file, or point the catalog URL (LINEAGE_CATALOG_URL) at a lineage "
                "catalog"
            )
        else:
            remedy = (
                "check that the server is up and the catalog URL (LINEAGE_CATALOG_URL) is right"
            )
        super().__init__(self.with_remedy(remedy))

    def with_remedy(self, remedy: str) -> str:
        """Return the message with ``remedy`` as what to do."""
        return f"{self.problem}: {remedy}"


class LineageWarning(UserWarning):
    """Something the user should know that did not stop the command (the CLI prints it once)."""


class InterchangeError(LineageError):
    """Another tool cannot be reached or read: an MLflow store, an OpenLineage endpoint."""
