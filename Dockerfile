# hotcert as a sidecar container: `hotcert run` beside HAProxy and Certbot containers that share its volumes
# (README, "HAProxy in Docker"). Builds with the legacy builder as well as BuildKit: no "# syntax" line and no
# "RUN --mount", so it builds where only the classic builder is available.
#   docker build -t hotcert .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# package.json's allowScripts keeps npm from running the install scripts of dockerode's optional SSH transport.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="hotcert" \
      org.opencontainers.image.description="Hot-swaps Certbot certificates into running HAProxy instances through the Runtime API" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
# /livez answers while the daemon's event loop does (HEALTHCHECK below); certificate expiry is not a liveness
# question, and /healthz (every target reachable) would restart hotcert for HAProxy's faults.
ENV NODE_ENV=production \
    HOTCERT_METRICS_LISTEN=127.0.0.1:9639
WORKDIR /opt/hotcert
COPY --from=build /build/node_modules ./node_modules
# The two bundles are the program (npm run build); tsc's module tree beside them is for the tests.
COPY --from=build /build/dist/main.js /build/dist/main.js.map /build/dist/assess-worker.js /build/dist/assess-worker.js.map ./dist/
COPY package.json ./
COPY config/hotcert.example.yaml /etc/hotcert/hotcert.example.yaml
RUN ln -s /opt/hotcert/dist/main.js /usr/local/bin/hotcert && chmod 755 /opt/hotcert/dist/main.js \
    && mkdir -p /var/lib/hotcert
# Root by default: Certbot's archive/ is 0700 and its keys 0600 (README lists the non-root alternative).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:9639/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/hotcert/dist/main.js"]
CMD ["run"]
