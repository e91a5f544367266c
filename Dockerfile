# Build: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm run build

# Run: production dependencies, the compiled code and the Lua scripts only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY src/redis/scripts ./src/redis/scripts
COPY bin ./bin
USER node
EXPOSE 8080
ENTRYPOINT ["node", "bin/coupon.js"]
CMD ["api"]
