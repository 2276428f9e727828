/** Bounds request bodies (413) and treats a JSON content type with an empty body as "no body". */
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { PAYLOAD_TOO_LARGE_HEADERS } from '../../src/http/body-limit.ts';
import { HttpProblem } from '../errors.ts';

/**
 * Refuses bodies over `maxBytes` with 413 (by Content-Length when sent, else while streaming) and closes the
 * connection after it (src/http/body-limit.ts says why). Many clients send `Content-Type: application/json` on a POST
 * without a body; such a request is passed on without the content type, so a route whose body is optional sees no
 * body instead of "malformed JSON".
 * @example app.use('*', requestBody({ maxBytes: MAX_BODY_BYTES }))
 */
export function requestBody(options: { maxBytes: number }) {
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new HttpProblem(
        413,
        'PAYLOAD_TOO_LARGE',
        'Payload too large',
        `Request bodies are limited to ${options.maxBytes} bytes`,
        PAYLOAD_TOO_LARGE_HEADERS,
      );
    },
  });
  return createMiddleware(async function boundRequestBody(c, next) {
    await limit(c, async () => {
      const raw = c.req.raw;
      if (raw.headers.has('content-type') && (raw.body === null || raw.headers.get('content-length') === '0')) {
        const headers = new Headers(raw.headers);
        headers.delete('content-type');
        headers.delete('content-length');
        c.req.raw = new Request(raw.url, { method: raw.method, headers, signal: raw.signal });
      }
      await next();
    });
  });
}
