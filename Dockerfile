# syntax=docker/dockerfile:1
# One image for the webhook receiver and the worker; the compose command picks the role.
# glibc base (Debian bookworm): the Temporal SDK's native core bridge ships glibc builds.
# Node 24 LTS at the patch scripts/node-runtime.sh pins, the one CI runs the test suite on as well.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
# Compile, then prebuild the workflow bundle so a worker starts without running webpack.
RUN npm run build && npx tsx scripts/bundle-workflows.ts dist/workflow-bundle.js

FROM node:24.22.3-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 9464 9465
CMD ["node", "--heap-growing-percent=20", "dist/webhook/main.js"]
