# The sidecar image is built in a later step (multi-stage, current Node LTS); until then this builds and runs the CLI.
FROM node:22-bookworm-slim
WORKDIR /opt/hotcert
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev
ENTRYPOINT ["node", "/opt/hotcert/dist/main.js"]
CMD ["check-config"]
