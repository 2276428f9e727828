# QuickEats order service. Build: docker build -t quickeats-orders .
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts/postinstall.mjs ./scripts/postinstall.mjs
# Dev dependencies are needed to generate the Prisma client at install time.
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
# The same bundle `npm start` builds: dist/server.js, with node_modules external.
RUN npm run build
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-old-space-size=128", "--heap-growing-percent=100", "dist/server.js"]
