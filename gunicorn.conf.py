# Read by gunicorn from its working directory (the Dockerfile's CMD runs it in /app).
# Access-log lines go through a logger that takes password-reset keys out of them.
logger_class = "config.log_redaction.RedactingGunicornLogger"
