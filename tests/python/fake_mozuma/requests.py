"""An empty stand-in for the `requests` package, which MoZuMa's GitHub
store imports (see README.md). Nothing here talks HTTP."""
