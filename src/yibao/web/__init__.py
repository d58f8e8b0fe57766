"""Server-rendered pages (Jinja2), Chinese first."""
