"""The SQLAlchemy implementations of the services' ports, one module an area (`services/<area>/ports.py` names them)."""
