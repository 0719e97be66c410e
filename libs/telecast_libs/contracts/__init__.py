"""The messages telecast services exchange, as msgspec Structs (camelCase on the wire)."""

# messages first, whichever contract module is imported: its unions import the modules
# (segments, …) whose requests derive from its Request, which would otherwise be circular.
from telecast_libs.contracts import messages as messages
