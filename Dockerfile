# Frontdoor: one image for the service, its job workers and the map viewer (compose.yaml runs all three).
# Build: docker build -t frontdoor .
# Lint (Docker does not run on the build machine; CI lints): hadolint Dockerfile  (tests/deploy)

# -- build: a virtualenv with Frontdoor and its dependencies --------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/frontdoor/bin:$PATH
# SDV needs torch: the CPU build of the pinned version (PyPI's default build is a multi-GB CUDA one).
RUN python -m venv /opt/frontdoor \
    && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY synth ./synth
COPY service ./service
COPY viewer ./viewer
COPY fixtures ./fixtures
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu .

# -- run: the virtualenv only, as an unprivileged user ----------------------------------------------
FROM python:3.11-slim AS run
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/frontdoor/bin:$PATH \
    FRONTDOOR_DATA_DIR=/data
RUN useradd --create-home --uid 10001 frontdoor \
    && mkdir -p /data \
    && chown frontdoor /data \
    && chmod 0700 /data
COPY --from=build /opt/frontdoor /opt/frontdoor
USER 10001
WORKDIR /home/frontdoor
VOLUME ["/data"]
EXPOSE 8000 5006
# The service's health; compose.yaml gives the worker and the viewer their own checks (`frontdoor health`).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["frontdoor", "health", "--url", "http://127.0.0.1:8000/api/v1/health"]
ENTRYPOINT ["frontdoor"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
