# One image for every service of the centre; docker-compose.yml picks the service with `command`.
# Services run as compiled JavaScript (`npm run build`: one bundle per service in <workspace>/dist/, with source
# maps), with production dependencies only: no TypeScript compiler or tsx at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 and serialport bindings compile when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY modbus/package.json modbus/
COPY service-kit/package.json service-kit/
COPY test-support/package.json test-support/
COPY firmware-sim/package.json firmware-sim/
COPY edge/package.json edge/
COPY broker/package.json broker/
COPY store/package.json store/
COPY ingest/package.json ingest/
COPY lorawan/package.json lorawan/
COPY dashboard/server/package.json dashboard/server/
COPY dashboard/web/package.json dashboard/web/
COPY demo/package.json demo/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Report PDFs embed DejaVu Sans (every Vietnamese letter).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["demo/dist/cli.js"]
