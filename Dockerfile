# caprobe in a container: Debian 12 slim, two stages. The first builds the release tarball with
# the same make targets CI runs (make deps, make dist: one binary that needs only glibc); the
# second holds that binary, its licence and third-party notices, the CA bundle (root-store-dump's
# public roots) and a non-root user.
#   docker build -t caprobe .
#   docker run --rm caprobe app.example.com
# tests/integration/test_dockerfile.py checks that these steps are make targets CI runs;
# test_package.py runs the build stage's make dist and tar lines and checks what they make.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make deps
RUN make dist DIST_BUILD=/dist && mkdir /out && tar -xzf /dist/caprobe-*.tar.gz -C /out --strip-components=1

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin caprobe
COPY --from=build /out/bin/caprobe /usr/local/bin/caprobe
COPY --from=build /out/share/doc/caprobe/LICENSE /out/share/doc/caprobe/third-party-notices.txt /usr/local/share/doc/caprobe/
USER caprobe
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/caprobe"]
CMD ["--help"]
