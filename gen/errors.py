"""Input errors: what a user got wrong, said in one line (exit status 2 at the CLI)."""

import reprlib

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 100
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6
_SHORT.maxlevel = 3


def short_repr(value):
    """``repr(value)`` kept to one short line: long strings, numbers and containers abridged
    with ``...`` (a config value may be a huge array), newlines escaped as ``repr`` does."""
    return _SHORT.repr(value)


class InputError(Exception):
    """A bad config, workload or command-line value.

    The message is one line that names the field, the value and what is allowed. The CLI prints it
    and exits with status 2; nothing else reaches the user.
    """


class ConfigError(InputError):
    """A config value that is not allowed.

    Parameters
    ----------
    field : str
        Dotted path of the offending key, e.g. ``"tpe.b"``.
    value : object
        The value found.
    allowed : str
        What would be accepted, as a phrase ("an integer from 1 to 64").
    """

    def __init__(self, field, value, allowed):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {short_repr(value)} is not allowed; expected {allowed}")


class ToolFailure(Exception):
    """An external tool failed on a valid input: a Verilator or Icarus build, a simulation, Yosys.

    The message is one line naming the tool and the log that holds its output; the CLI prints it
    and exits with status 1.

    Parameters
    ----------
    what : str
        What failed, as a phrase ("the verilator build of accel_small").
    log : path-like or None
        The log file that holds the tool's output.
    detail : str or None
        The tool's own last error line or exit status, when known.
    """

    def __init__(self, what, log=None, detail=None):
        self.what = what
        self.log = log
        self.detail = detail
        super().__init__(f"{what} failed" + (f" ({detail})" if detail else "") +
                         (f"; its log: {log}" if log else ""))
