"""The web desk: REST API under /api/v1 and server-rendered pages."""
