"""The terminal operations wall: a read-only, big-screen view of the whole room."""
