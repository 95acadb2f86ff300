# syntax=docker/dockerfile:1
# The Tessera hub as a container image (README.md "Operations"):
#
#   docker build -t tessera .
#   docker run -p 8080:8080 -v tessera-keys:/app/keys -v tessera-data:/app/data \
#     -e TESSERA_PUBLIC_URL=https://login.example.com tessera
#
# Three stages: `toolchain` has the compilers the native modules (argon2, better-sqlite3) may
# need; `deps` installs the production dependencies only; `build` installs everything and
# compiles TypeScript. The runtime image gets `deps`' node_modules and `build`'s dist/ and
# nothing else: no compiler, no TypeScript, no test tools, no sources. It runs as the unprivileged
# `node` user; signing keys and the SQLite file live on volumes, never in the image.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
# Used only when no prebuilt binary fits this platform (node-gyp needs Python, make and a C++ compiler).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./

FROM toolchain AS deps
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json README.md ./
# keys/ and data/ (the defaults of TESSERA_KEYS_DIR and TESSERA_STORE) belong to the user the
# hub runs as; a named volume mounted there starts with this ownership.
RUN mkdir -p keys data \
 && chown node:node keys data \
 && chmod 0700 keys
USER node
VOLUME ["/app/keys", "/app/data"]
# 8080: the hub. 9464: the metrics listener, when TESSERA_METRICS_LISTEN=0.0.0.0:9464.
EXPOSE 8080 9464
# Liveness only (/healthz): an orchestrator's readiness probe should ask /readyz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TESSERA_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `tessera serve` drains requests in flight on SIGTERM (docker stop), then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
