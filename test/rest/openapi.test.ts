/** The OpenAPI 3.1 document is generated from the routes: it validates, and it lists exactly the routes /api serves. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { backend, setUpTestService } from '../support/harness.ts';
import { rest } from '../support/rest-client.ts';

const service = setUpTestService({}, { resetEach: false });

type Operation = { deprecated?: boolean; security?: unknown[]; responses: Record<string, unknown>; operationId?: string };
type Document = { openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, Operation>> };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

async function document(): Promise<Document> {
  const response = await rest(service, null, 'GET', '/api/openapi.json');
  expect(response.status).toBe(200);
  return response.body as Document;
}

/** `METHOD /api/v2/orders/:id` for every operation of the document. */
function documented(doc: Document): string[] {
  const base = doc.servers[0]!.url.replace(/\/$/, '');
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${base}${path.replace(/\{([^}]+)\}/g, ':$1')}`),
  );
}

/** `METHOD path` for every endpoint the app serves under /api/v1 and /api/v2 (middleware and fallbacks excluded). */
function served(): string[] {
  const routes = service.app.routes.filter(
    (route) => /^\/api\/v[12]\//.test(route.path) && route.method !== 'ALL' && !route.path.endsWith('*'),
  );
  return [...new Set(routes.map((route) => `${route.method} ${route.path}`))];
}

describe(`OpenAPI document (${backend})`, () => {
  it('is a valid OpenAPI 3.1 document, served without authentication', async () => {
    const doc = await document();
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\.1/);
  });

  it('lists every route the app serves under /api/v1 and /api/v2, and nothing else', async () => {
    const doc = await document();
    const fromDoc = documented(doc).sort();
    const fromApp = served().sort();
    expect(fromApp.length).toBeGreaterThanOrEqual(20);
    expect(fromDoc).toEqual(fromApp);
    for (const route of [
      'GET /api/v2/orders',
      'GET /api/v2/orders/:id',
      'POST /api/v2/orders',
      'POST /api/v2/orders/:id/payment',
      'POST /api/v2/orders/:id/cancellation',
      'POST /api/v2/orders/:id/acceptance',
      'POST /api/v2/orders/:id/rejection',
      'POST /api/v2/orders/:id/preparation-complete',
      'POST /api/v2/orders/:id/rider-assignment',
      'POST /api/v2/orders/:id/pickup',
      'POST /api/v2/orders/:id/delivery',
      'GET /api/v2/restaurants',
      'GET /api/v2/restaurants/:id',
      'GET /api/v2/riders/:id',
      'PUT /api/v2/riders/:id/location',
      'GET /api/v1/orders',
      'GET /api/v1/orders/:id',
      'POST /api/v1/orders',
      'PUT /api/v1/orders/:id',
      'PATCH /api/v1/orders/:id',
      'POST /api/v1/orders/:id/pay',
    ]) {
      expect(fromDoc).toContain(route);
    }
  });

  it('paths under /api outside the versions are problem+json 404s', async () => {
    for (const path of ['/api', '/api/v3/orders', '/api/openapi.yaml']) {
      const response = await rest(service, null, 'GET', path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('NOT_FOUND');
    }
  });

  it('marks v1 deprecated, requires the bearer token, and documents the conditional and idempotency headers', async () => {
    const doc = await document();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.deprecated ?? false, `${method} ${path}`).toBe(path.startsWith('/v1/'));
        expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
        expect(operation.responses).toHaveProperty('401');
      }
    }
    const accept = doc.paths['/v2/orders/{id}/acceptance']!.post as unknown as {
      parameters: { name: string; in: string }[];
      responses: Record<string, unknown>;
    };
    expect(accept.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['path:id', 'header:if-match', 'header:idempotency-key']),
    );
    expect(Object.keys(accept.responses)).toEqual(expect.arrayContaining(['200', '409', '412', '422', '428']));
    expect((doc as unknown as { components: { securitySchemes: object } }).components.securitySchemes).toHaveProperty('bearerAuth');
  });

  it('/api/docs renders it with assets served by this process (no CDN)', async () => {
    const page = await rest(service, null, 'GET', '/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      const response = await service.app.request(asset);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const init = await (await service.app.request('/api/docs/assets/init.js')).text();
    expect(init).toContain('"/api/openapi.json"');
    expect((await service.app.request('/api/docs/assets/..%2Fpackage.json')).status).toBe(404);
    expect((await service.app.request('/api/docs/assets/index.html')).status).toBe(404);
  });
});
