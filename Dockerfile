# The datax install in a container: `docker build -t datax-rs .`, then
#   docker run --rm -v "$PWD:/jobs" datax-rs /jobs/job.json
# or, as schedulers call DataX, with `--entrypoint datax.py`.
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends binutils gcc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/package.sh --out /dist \
    && mkdir -p /opt/datax \
    && tar -xzf /dist/datax-*.tar.gz -C /opt/datax --strip-components=1

FROM debian:bookworm-slim
# ca-certificates: the operating system's trust store for TLS; python3: bin/datax.py.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 \
    && rm -rf /var/lib/apt/lists/*
# Owned by root and not writable by the job's user: the plugin folder passes datax's trust checks.
COPY --from=build /opt/datax /opt/datax
ENV PATH=/opt/datax/bin:$PATH
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["datax"]
