"""The operator console: a Textual client of the Pantau server."""
