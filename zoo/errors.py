"""Errors that reach the user as a message and an exit code, never a traceback."""


class ZooError(Exception):
    """Bad input: a manifest, an argument, missing data. Exit code 2."""

    exit_code = 2


class ManifestError(ZooError):
    """A manifest problem, located by file, key path and (when known) line."""

    def __init__(self, path, key: str, problem: str, fix: str = "", line: int | None = None):
        where = f"{path}" + (f":{line}" if line else "") + (f": {key}" if key else "")
        fix = fix[:1].upper() + fix[1:]
        super().__init__(f"{where}: {problem}" + (f". {fix}" if fix else ""))
        self.path, self.key, self.problem, self.fix, self.line = path, key, problem, fix, line
