# One image for both roles: the web app (default command) and the worker (`annotate worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ANNOTATE_MEDIA_ROOT=/data/media
WORKDIR /app
RUN useradd --create-home --uid 1000 annotate && mkdir -p /data/media && chown -R annotate /data

COPY pyproject.toml setup.cfg README.md ./
COPY annotate ./annotate
COPY workflows ./workflows
COPY prelabel ./prelabel
COPY schemas ./schemas
RUN pip install '.[ml]'

USER annotate
EXPOSE 8000
# Migrations run before the web app starts; workers need ANNOTATE_REDIS_URL.
CMD ["sh", "-c", "annotate db upgrade && exec gunicorn --workers 4 --bind 0.0.0.0:8000 'annotate:create_app()'"]
