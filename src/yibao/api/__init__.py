"""The REST API (FastAPI): thin routers over the services; errors as problem+json."""
