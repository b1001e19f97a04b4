# Countersign as a container: one stateless node. Run several behind a load balancer against
# one PostgreSQL (and Redis for shared request limits); see docs/deploy.md and
# deploy/compose.yaml.
#
#   docker build -t countersign .
#   docker run -e DATABASE_URL=postgres://… -e COUNTERSIGN_ENCRYPTION_KEY=… -p 8080:8080 countersign

# ── Build: install everything and build the console and the hosted challenge page ──
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
# npm ci runs postinstall, which builds apps/console/dist and apps/hosted-challenge/dist;
# build:server bundles the server into packages/server/dist/countersign.mjs (run by plain node:
# no TypeScript is compiled at start, and a node uses about 70 MB less memory).
RUN npm ci --no-audit --no-fund && npm run build:server

# ── Run: production dependencies, the server bundle and the two built pages ──
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    COUNTERSIGN_DEV_TENANT=false \
    COUNTERSIGN_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
COPY --from=build /app/examples/demo/package.json ./examples/demo/package.json
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# Liveness: the process answers; readiness (/readyz) also asks the database.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "packages/server/dist/countersign.mjs"]
CMD ["serve"]
