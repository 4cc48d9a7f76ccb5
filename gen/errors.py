"""Input errors: what a user got wrong, said in one line (exit status 2 at the CLI)."""


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
        super().__init__(f"{field}: {value!r} is not allowed; expected {allowed}")
