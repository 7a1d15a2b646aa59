# syntax=docker/dockerfile:1
# routeshift controller image. Build: docker build -t ghcr.io/routeshift/routeshift:0.1.0 .
# scripts/build-image-steps.sh runs the same build steps without a Docker engine, and
# test/unit/deploy-image-steps.test.ts keeps the two in step: change both together.

# --- build: compile TypeScript, then drop dev dependencies --------------------------------------------
FROM node:20-bookworm AS build
WORKDIR /src
# Lockfile first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# src without the tools (src/sandbox, src/bench) and tests: .dockerignore keeps them out of the context.
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev

# --- runtime: Node only (no npm, no shell), non-root -----------------------------------------------------
FROM gcr.io/distroless/nodejs20-debian12:nonroot
LABEL org.opencontainers.image.title="routeshift" \
      org.opencontainers.image.description="Progressive delivery for Gateway API meshes: shifts HTTPRoute weights from Prometheus analysis" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Data files the code reads at run time, found from the package root (src/core/paths.ts): the built-in
# metric templates and the CRD schemas used to validate Canaries.
COPY analysis ./analysis
COPY deploy/crds ./deploy/crds
# The distroless "nonroot" user; the Deployment's securityContext runs as the same uid.
USER 65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
CMD ["controller"]
