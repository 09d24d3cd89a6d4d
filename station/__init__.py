"""Village Station (村便民服务站): the station's core, store, services and edges.

Layers point down only: ``station.core`` (pure domain) ← ``station.store`` (encrypted
SQLite) ← ``station.services`` (the one write path) ← edges (``station.cli``, later the TUI).
"""
