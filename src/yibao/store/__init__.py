"""Persistence: SQLAlchemy tables, the mapping onto domain classes, unit of work, migrations."""
