# The sandbox as a container (see docker-compose.yml): `docker compose up mock`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY mock_server ./mock_server
COPY fixtures ./fixtures
COPY contract_tests ./contract_tests
# EXTRAS=test adds what `altoviz-mock contract` needs (the compose file's contract service).
ARG EXTRAS=""
RUN pip install ".${EXTRAS:+[$EXTRAS]}"

RUN useradd --create-home --uid 10001 sandbox && mkdir /data && chown sandbox /data
USER sandbox
WORKDIR /home/sandbox
# Tenants' data survive restarts in this volume.
ENV ALTOVIZ_MOCK_DATA=/data
VOLUME /data

EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_mock/health', timeout=2)"]
ENTRYPOINT ["altoviz-mock"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
