"""The web service: a thin FastAPI shell over the engine and the store."""
