# The control plane and agent image used by docker-compose.yml.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md hatch_build.py ./
COPY turnout ./turnout
COPY alembic ./alembic
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --extra controlplane
ENV PATH="/app/.venv/bin:${PATH}"
EXPOSE 8080
CMD ["turnout", "--help"]
