"""The HTTP side: webmail, self-service, administration, REST API, `/healthz` (FastAPI, same loop)."""
