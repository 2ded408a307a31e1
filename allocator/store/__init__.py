"""The durable store of registries and rounds (SQLAlchemy 2; SQLite by default, PostgreSQL).

Only the command line and the web service import this package; the engine
itself never does.
"""
