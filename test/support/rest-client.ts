/** A small REST client over service.app.request (no port) for the REST tests. */
import type { Actor } from '../../src/domain/auth.ts';
import type { TestService } from './harness.ts';

export type RestResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export type RestOptions = {
  /** Sent as JSON with Content-Type: application/json. */
  json?: unknown;
  /** Sent as is (with Content-Type: application/json unless headers say otherwise). */
  body?: string;
  headers?: Record<string, string>;
};

/** Sends one request as `actor` (null: no Authorization header) and parses a JSON body when there is one. */
export async function rest<T = any>(
  service: TestService,
  actor: Actor | null,
  method: string,
  path: string,
  options: RestOptions = {},
): Promise<RestResponse<T>> {
  const headers: Record<string, string> = {};
  if (actor) headers.authorization = `Bearer ${await service.token(actor)}`;
  let body: string | undefined;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (options.body !== undefined) body = options.body;
  if (body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, options.headers);
  const response = await service.app.request(path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  if (text && /json/.test(response.headers.get('content-type') ?? '')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** The v2 create body for `items` at restaurant 1 (item 1 × 2 = 22,000 KRW by default). */
export const createBody = (items = [{ menu_item_id: 1, quantity: 2 }], restaurantId = 1) => ({
  restaurant_id: restaurantId,
  items,
  delivery_address: '1 Test Street',
});

/** The order row as stored (what operators query). */
export async function storedOrder(service: TestService, id: number) {
  return service.container.db.prisma.order.findUniqueOrThrow({ where: { id }, select: { status: true, version: true, riderId: true } });
}

/** The strong ETag the API gives an order version. */
export const etag = (id: number, version: number) => `"o${id}-v${version}"`;
