# CreativeAI: one image for the web/API service and the model workers (see docker-compose.yml).
# The libtorch addon is built from source against Debian's libtorch, as `npm install` does anywhere.

FROM node:20-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libtorch-dev libopenblas0-pthread g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# npm ci runs the package's install script (the addon build); then the TypeScript build, then dev tools go.
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Runtime libraries only: libtorch and the threaded OpenBLAS (the reference BLAS is ~6× slower).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libtorch1.13 libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build/creativeai_torch.node ./build/
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY --from=build /app/web/public ./web/public
COPY --from=build /app/assets ./assets
COPY --from=build /app/models ./models
ENV NODE_ENV=production
EXPOSE 8050
RUN mkdir -p /runs && chown node /runs
USER node
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:8050/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/src/cli/index.js", "serve", "--host", "0.0.0.0", "--port", "8050", "--game-stats", "/tmp/game-stats.json"]
