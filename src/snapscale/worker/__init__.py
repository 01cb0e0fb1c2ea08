"""The Celery entry point: workers that run the core's background jobs."""
