"""The event store of ASN: catalogue, framing, writer, reader, follow and the CLI.

Layering (dependencies point one way): ``journal`` stands alone; ``asnd.core`` builds on
it; venues, actors and entry points build on core; ``evolution`` uses journal and core only.
"""

from journal.codec import SCHEMA_MAJOR, SCHEMA_MINOR, decode, encode
from journal.events import CATALOGUE, Event, kind_name, kind_of

__all__ = [
    "CATALOGUE",
    "SCHEMA_MAJOR",
    "SCHEMA_MINOR",
    "Event",
    "decode",
    "encode",
    "kind_name",
    "kind_of",
]
