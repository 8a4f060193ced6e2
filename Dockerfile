# syntax=docker/dockerfile:1
# One runtime image holding every tidemark service; each container picks its service by command:
#   docker run tidemark node apps/<gateway|journal-service|merge-service|asset-service|ops-api>/dist/main.js
# Configuration is environment only (each app's src/config.ts). HEALTHCHECK is deliberately absent:
# docker-compose.yml and the Kubernetes probes define their own, per service.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: only package.json files and the lock file, so `npm ci` stays cached across source edits ----
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json -delete \
 && find . -depth -mindepth 1 -type d -empty -delete

# ---- build: install everything, compile every project, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true
COPY --from=manifests /app ./
# No install scripts: no runtime dependency needs one (nx's and protobufjs's are housekeeping only).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -b tsconfig.json
# ops-api serves its web dashboard from apps/ops-api/dashboard/ (static files, no build step): the runtime
# stage copies it with the apps; fail here rather than ship an image without it.
RUN test -f apps/ops-api/dashboard/index.html
# The test workspaces (tests/*) stay out of the runtime image; drop their links so nothing dangles there.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && for link in node_modules/@tidemark/*; do \
      case "$(readlink "$link")" in ../../tests/*) rm "$link" ;; esac; \
    done

# ---- runtime: compiled apps and libs plus production node_modules, owned by root, run as uid 1000 ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/apps ./apps
# Numeric user (the base image's `node`), so Kubernetes' runAsNonRoot can verify it is not root.
USER 1000:1000
EXPOSE 3001 3002 3003 3004 3005
# Run under an init (compose `init: true`); every service also handles SIGTERM/SIGINT itself.
CMD ["node", "apps/gateway/dist/main.js"]
