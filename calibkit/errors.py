"""The one error type a user can fix.

Every error whose message says what to change (an unknown model, a missing
data file, a run folder of another configuration, nothing to compare)
derives from :class:`UserError`; the command line prints its message as
one line and exits with code 2. Anything else is a bug and is reported as
an internal error. This module imports nothing.
"""


class UserError(Exception):
    """A problem the user can fix; the message names the problem and the fix, on one line."""
