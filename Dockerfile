# The sidecar image (multi-stage, runtime deps only, healthcheck) comes with Docker targets; until then this builds
# and runs the CLI on the current Node LTS.
FROM node:24-bookworm-slim
WORKDIR /opt/hotcert
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev
ENTRYPOINT ["node", "/opt/hotcert/dist/main.js"]
CMD ["check-config"]
