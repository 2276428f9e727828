/**
 * The OpenAPI 3.1 document, generated from the v1 and v2 route definitions, and a page rendering it with Swagger UI
 * served from the project's own node_modules (no CDN: the docs work without internet access).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RestEnv } from './env.ts';
import { EventSchema } from './v2/schemas.ts';

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The only files of swagger-ui-dist the page loads, with their media types. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const assetCache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
const readAsset = (file: string) => {
  let cached = assetCache.get(file);
  if (!cached) {
    cached = readFile(path.join(SWAGGER_UI_DIR, file)).then((buffer) => new Uint8Array(buffer));
    cached.catch(() => assetCache.delete(file));
    assetCache.set(file, cached);
  }
  return cached;
};

/** The script that starts Swagger UI on the page; a file rather than inline, so a strict CSP can forbid inline scripts. */
const initScript = (documentUrl: string) => `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(documentUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  });
});
`;

const page = (assets: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>QuickEats REST API</title>
  <link rel="stylesheet" href="${assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${assets}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${assets}/swagger-ui-bundle.js"></script>
  <script src="${assets}/swagger-ui-standalone-preset.js"></script>
  <script src="${assets}/init.js"></script>
</body>
</html>
`;

/** Where the REST app is mounted (e.g. `/api`), from a request to one of its own paths ending in `suffix`. */
const mountOf = (c: Context, suffix: string) => c.req.path.slice(0, c.req.path.length - suffix.length);

/** Adds `/openapi.json`, `/docs` and `/docs/assets/*` to the REST app (after its versions are mounted). */
export function mountOpenApi(app: OpenAPIHono<RestEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'HS256 token with claims sub (actor id), role (customer | restaurant | rider | admin) and exp',
  });
  // What the service sends to webhook endpoints (SPEC §9): OpenAPI 3.1's `webhooks`, so clients can generate receivers.
  app.openAPIRegistry.registerWebhook({
    method: 'post',
    path: 'orderEvent',
    operationId: 'webhook_orderEvent',
    summary: 'An order event, POSTed to every webhook endpoint that asked for its type',
    description:
      'Verify `QuickEats-Signature` (t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret>) ' +
      'and answer 2xx within 10 s; anything else is retried with backoff for 3 days. At least once: dedupe by event id. ' +
      "An order's events arrive in version order. The body is the event as GET /v2/events shows it.",
    request: {
      headers: z.object({
        'quickeats-event-id': z.string().openapi({ example: 'evt_42' }),
        'quickeats-signature': z
          .string()
          .openapi({ example: 't=1796000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd' }),
      }),
      body: { content: { 'application/json': { schema: EventSchema } }, required: true },
    },
    responses: { 200: { description: 'Any 2xx acknowledges the event' } },
    // The receiver authenticates the sender by the signature, not by a security scheme of this API.
    security: [],
  });
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'QuickEats order API',
      version: '2.0.0',
      license: { name: 'Proprietary', identifier: 'LicenseRef-QuickEats-Proprietary' },
      description:
        'REST façade over the QuickEats order service. v2 is action-oriented: every action needs If-Match (428 when missing, ' +
        '412 when stale) and accepts Idempotency-Key. v1 is deprecated and kept for old app builds. Errors of v2 are ' +
        'application/problem+json (RFC 9457).',
    },
    servers: [{ url: mountOf(c, '/openapi.json') || '/' }],
    tags: [
      { name: 'v2', description: 'Action-oriented REST (/v2)' },
      { name: 'v1 (deprecated)', description: 'Legacy REST (/v1): Deprecation and Sunset headers on every response' },
    ],
  }));
  app.get('/docs', (c) => c.html(page(`${c.req.path}/assets`)));
  app.get('/docs/assets/init.js', (c) =>
    c.body(initScript(`${mountOf(c, '/docs/assets/init.js')}/openapi.json`), 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) return c.notFound();
    return c.body(await readAsset(file), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
}
