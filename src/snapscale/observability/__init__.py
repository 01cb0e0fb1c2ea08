"""Operating Snapscale: metrics, logs and error reporting."""
