/** Announces a deprecated API version on every response, errors included (RFC 9745 Deprecation, RFC 8594 Sunset). */
import { createMiddleware } from 'hono/factory';

export type DeprecationOptions = {
  /** When the version was deprecated. */
  deprecatedAt: Date;
  /** When it may stop answering. */
  sunsetAt: Date;
  /** The successor of the requested path (as sent, percent-encoded), e.g. /api/v1/orders/7 → /api/v2/orders/7. */
  successor: (path: string) => string;
};

/**
 * @example app.use('*', deprecation({ deprecatedAt, sunsetAt, successor: (path) => path.replace('/v1/', '/v2/') }))
 */
export function deprecation(options: DeprecationOptions) {
  const deprecationValue = `@${Math.floor(options.deprecatedAt.getTime() / 1000)}`;
  const sunsetValue = options.sunsetAt.toUTCString();
  return createMiddleware(async function announceDeprecation(c, next) {
    await next();
    c.header('Deprecation', deprecationValue);
    c.header('Sunset', sunsetValue);
    // The raw path: the decoded one may hold characters a header value cannot carry (e.g. %00).
    c.header('Link', `<${options.successor(new URL(c.req.url).pathname)}>; rel="successor-version"`, { append: true });
  });
}
