"""The event store of ASN: catalogue, framing, writer, reader, follow and the CLI.

Layering (dependencies point one way): ``journal`` stands alone; ``asnd.core`` builds on
it; venues, actors and entry points build on core; ``evolution`` uses journal and core only.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from journal.codec import SCHEMA_MAJOR, SCHEMA_MINOR, decode, encode
from journal.events import CATALOGUE, Event, kind_name, kind_of

# The one version of the project (pyproject.toml's, as installed), here at the bottom layer so
# every command can print it (`--version`) and the daemon can journal it.
try:
    __version__ = _distribution_version("asn")
except PackageNotFoundError:  # a source tree used without installing it
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "CATALOGUE",
    "SCHEMA_MAJOR",
    "SCHEMA_MINOR",
    "Event",
    "decode",
    "encode",
    "kind_name",
    "kind_of",
]
