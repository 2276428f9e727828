/**
 * The OpenAPI 3.1 document, generated from the v1 and v2 route definitions, and a page rendering it with Swagger UI
 * served from the project's own node_modules (no CDN: the docs work without internet access).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RestEnv } from './env.ts';

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
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'QuickEats order API',
      version: '2.0.0',
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
