/**
 * Builds the HTTP application (never listens): /graphql, /api/v1, /api/v2, health and readiness.
 * Tests call app.request(...) directly; src/server.ts puts it on a port.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { type RequestIdVariables, requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { createRestApi } from '../rest-compat/index.ts';
import type { Container } from './container.ts';
import { createGraphQLServer } from './graphql/yoga.ts';
import { type AuthVariables, authenticate } from './http/auth.ts';
import { MAX_BODY_BYTES, PAYLOAD_TOO_LARGE_HEADERS } from './http/body-limit.ts';
import { GRAPHIQL_ASSETS_PATH, graphiqlAssets } from './http/graphiql.ts';
import { rateLimit } from './http/rate-limit.ts';

export type AppVariables = RequestIdVariables & AuthVariables;

export type AppState = {
  /** Flipped on SIGTERM: /readyz answers 503 so load balancers stop sending traffic. */
  shuttingDown: boolean;
};

/** The whole HTTP surface of one process. */
export function createApp(container: Container, state: AppState = { shuttingDown: false }) {
  const app = new Hono<{ Variables: AppVariables }>();
  const yoga = createGraphQLServer({
    prisma: container.db.prisma,
    readRows: container.db.readRows,
    orders: container.orders,
    webhooks: container.webhooks,
    pubsub: container.pubsub,
    metrics: container.metrics,
    logger: container.logger,
    config: container.config,
  });

  app.use('*', requestId());
  // GraphiQL and the API docs run inline scripts from this origin only; everything else gets the strict defaults.
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
      },
    }),
  );
  if (container.config.corsOrigins.length) {
    app.use(
      '*',
      cors({
        origin: container.config.corsOrigins.includes('*') ? '*' : container.config.corsOrigins,
        allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-GraphQL-Event-Stream-Token'],
        exposeHeaders: ['ETag', 'Location', 'Idempotent-Replayed', 'Retry-After', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }
  app.use('*', async function logRequest(c, next) {
    const started = performance.now();
    await next();
    container.metrics.httpDuration.observe(
      { method: c.req.method, route: c.req.routePath, status: String(c.res.status) },
      (performance.now() - started) / 1000,
    );
    const actor = c.get('actor');
    container.logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
        actor: actor ? `${actor.role}:${actor.id}` : undefined,
      },
      'request',
    );
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await Promise.all([
      container.db.ping().then(
        () => 'ok',
        (error: Error) => `down: ${error.message}`,
      ),
      container.redis.ping().then(
        () => 'ok',
        (error: Error) => `down: ${error.message}`,
      ),
    ]);
    const [database, redis] = checks;
    const ready = !state.shuttingDown && checks.every((check) => check === 'ok');
    return c.json({ status: ready ? 'ready' : 'not ready', shuttingDown: state.shuttingDown, database, redis }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) =>
    c.body(await container.metrics.registry.metrics(), 200, { 'content-type': container.metrics.registry.contentType }),
  );
  app.route(GRAPHIQL_ASSETS_PATH, graphiqlAssets());

  app.use(
    '/graphql',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          { errors: [{ message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
          413,
          PAYLOAD_TOO_LARGE_HEADERS,
        ),
    }),
  );
  app.use('/graphql', authenticate(container.authenticator));
  app.use(
    '/graphql',
    rateLimit({
      limiter: container.rateLimiter,
      onLimited: (retryAfter) =>
        Response.json(
          { errors: [{ message: `Rate limit exceeded: retry in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED' } }] },
          { status: 429 },
        ),
    }),
  );
  // PUT and DELETE are graphql-sse's single connection mode (reserve a stream, stop an operation on it).
  app.on(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'], '/graphql', async (c) => {
    const response = await yoga.fetch(c.req.raw, { actor: c.get('actor'), authError: c.get('authError'), requestId: c.get('requestId') });
    // yoga refuses a POST body in an unsupported media type with a bare 415; answer it as every other refusal: JSON errors.
    if (response.status === 415 && !response.headers.get('content-type')) {
      const message = 'Unsupported media type: send the POST body as application/json';
      return c.json({ errors: [{ message, extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] }, 415);
    }
    return response;
  });
  const { orders, db, logger, authenticator, rateLimiter } = container;
  app.route(
    '/api',
    createRestApi(
      { orders, webhooks: container.webhooks, prisma: db.prisma, readRows: db.readRows, logger, authenticator, rateLimiter },
      { maxBodyBytes: MAX_BODY_BYTES },
    ),
  );

  return app;
}
