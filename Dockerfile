# Frontdoor: the command line now; the service, worker and viewer as later issues land.
# Build: docker build -t frontdoor .   Run: docker run --rm -v frontdoor-data:/data frontdoor --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FRONTDOOR_DATA_DIR=/data

RUN useradd --create-home --uid 10001 frontdoor && mkdir -p /data && chown frontdoor /data
WORKDIR /app

# SDV needs torch: the CPU build of the pinned version (PyPI's default build is a multi-GB CUDA one).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY synth ./synth
COPY service ./service
COPY viewer ./viewer
COPY fixtures ./fixtures
RUN pip install .

USER frontdoor
VOLUME ["/data"]
ENTRYPOINT ["frontdoor"]
CMD ["--help"]
