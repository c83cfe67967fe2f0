# CreativeAI: one image for the web/API service and the model workers (see docker-compose.yml).
# The libtorch addon is built from source, as `npm install` does anywhere: against the libtorch 2.x
# inside PyTorch's wheel, installed into /app/.venv by pip (about 3x Debian's 1.13 on a CPU).
# CPU only: PIP_INDEX_URL picks the CPU wheels (override it for CUDA).

FROM node:20-bookworm AS build
ARG PIP_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_INDEX_URL=${PIP_INDEX_URL}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# npm ci runs the package's install script (.venv with torch, then the addon build); then the
# TypeScript build, then dev tools go.
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# The addon finds libtorch's libraries at the path it was linked with (an rpath into .venv).
COPY --from=build /app/.venv/lib/python3.11/site-packages/torch/lib /app/.venv/lib/python3.11/site-packages/torch/lib
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
