"""The barstore error family: one class per error type of the library, under
:class:`Error`, beside the three classes by kind that came first.

=====================  ==================================================================
class                  raised for
=====================  ==================================================================
``OptionError``        a value given for an option (a time, a timeframe, a zone...)
``OpenError``          opening a store: a bad URL, TLS files, replication, an unreachable
                       cluster
``FileError``          one input file that could not be loaded whole
``ReadError``          stored series that cannot be read as asked (unknown symbol...)
``StoreError``         the store's own work: disk I/O, its files or tables, a version
                       it does not have, a failed request
=====================  ==================================================================

The earlier classes by kind still catch what they caught: ``InputError`` (bad input),
``ConnectionError`` (the database could not be reached or a request failed) and
``SchemaError`` (a store's tables or files are not as expected). Every error has
``retryable``: true when the same call may succeed later.
"""


class Error(Exception):
    """Base class of every barstore error."""

    retryable = False


class InputError(Error):
    """Bad input: a file, a symbol, an option or a time."""


class ConnectionError(Error):  # noqa: A001 - the package's own name, kept
    """The database could not be reached or a request failed."""


class SchemaError(Error):
    """A store's tables or files are missing or not as expected."""


class OptionError(InputError):
    """A value given for an option cannot be used."""


class ReadError(InputError):
    """Stored series cannot be read as asked."""


class OpenError(Error):
    """A store could not be opened."""


class FileError(Error):
    """An input file could not be loaded whole (its bad rows are logged, not raised)."""


class StoreError(Error):
    """The store failed: disk I/O, its files or tables, a version it does not have, a
    request."""


# What the library raises: a class per error type, also of the kind it is.
class _OpenInput(OpenError, InputError):
    pass


class _OpenConnection(OpenError, ConnectionError):
    pass


class _FileInput(FileError, InputError):
    pass


class _FileConnection(FileError, ConnectionError):
    pass


class _FileSchema(FileError, SchemaError):
    pass


class _StoreConnection(StoreError, ConnectionError):
    pass


class _StoreSchema(StoreError, SchemaError):
    pass


__all__ = ["Error", "InputError", "ConnectionError", "SchemaError", "OptionError", "ReadError",
           "OpenError", "FileError", "StoreError"]
