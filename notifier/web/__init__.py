"""The FastAPI app: tracking page, REST API, webhooks, health and metrics. Routers stay thin."""
