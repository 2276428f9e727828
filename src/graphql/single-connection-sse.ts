/**
 * graphql-sse's single connection mode on the GraphQL endpoint (the graphql-sse PROTOCOL.md): `PUT` reserves a stream
 * and answers its token, `GET` with the token opens it, `POST` with the token runs an operation on it, and
 * `DELETE ?operationId=` stops one. graphql-sse's own handler serves the protocol; this file decides which requests
 * are its, runs their operations through yoga (the same parse, limits, validation, context, masking) and ties each
 * stream to the actor who reserved it. Everything else on the endpoint (queries, mutations, and subscriptions in
 * distinct connections mode) stays with yoga itself.
 *
 * Why not @graphql-yoga/plugin-graphql-sse, which does the same in fewer lines: it hands graphql-sse `{ errors }`
 * for an invalid document or a refused subscription, which graphql-sse 2.6 takes for execution arguments (its
 * isExecutionResult wants a `data` key) and answers 400 "Unable to detect operation AST"; and a document that does
 * not parse escapes it as a 500. Here those are a 400 with the document's own errors, and a refused subscription is
 * an error result on the stream, as in the other mode.
 *
 * A stream lives in the process that reserved it: behind several processes, its requests must reach that process
 * (route by the token), or clients use distinct connections mode, which any process serves.
 */
import { randomUUID } from 'node:crypto';
import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import { type ResponseInit as StreamResponseInit, TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Actor } from '../domain/auth.ts';
import { unauthenticated } from './builder.ts';

/** What the HTTP layer tells yoga about each request (part of GraphQLServerContext). */
type RequestActor = { actor: Actor | null; authError: Error | null };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * graphql-sse keeps a stream's operations in a plain object keyed by the client's operation id, so an id naming a
 * member of Object.prototype would find that member there instead of nothing.
 */
const PROTOTYPE_MEMBERS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** A refusal in graphql-sse's `[body, init]` form, JSON errors like every other GraphQL error answer. */
const refusal = (
  status: number,
  statusText: string,
  errors: object[],
  headers: Record<string, string> = {},
): [string, StreamResponseInit] => [
  JSON.stringify({ errors }),
  { status, statusText, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } },
];

/** The token of a stream, if the request names one (header, or query parameter for EventSource-style clients). */
const streamToken = (request: Request, url: URL) => request.headers.get(TOKEN_HEADER_KEY) ?? url.searchParams.get(TOKEN_QUERY_KEY);

/** Whether a request is part of single connection mode; a GraphQL request never uses PUT, DELETE or a stream token. */
const isSingleConnectionRequest = (request: Request, url: URL) =>
  request.method === 'PUT' || request.method === 'DELETE' || streamToken(request, url) !== null;

/** The operation id a request names: the `operationId` parameter of a DELETE, `extensions.operationId` of a POST. */
async function operationIdOf(request: Request, url: URL): Promise<unknown> {
  if (request.method === 'DELETE') return url.searchParams.get('operationId');
  if (request.method !== 'POST') return undefined;
  const body: unknown = await request
    .clone()
    .json()
    .catch(() => undefined);
  const extensions =
    typeof body === 'object' && body !== null && Object.hasOwn(body, 'extensions')
      ? (body as { extensions: unknown }).extensions
      : undefined;
  return typeof extensions === 'object' && extensions !== null && Object.hasOwn(extensions, 'operationId')
    ? (extensions as { operationId: unknown }).operationId
    : undefined;
}

/** A GraphQL error as yoga would send it: without the `http` extension yoga keeps for itself. */
function errorJson(error: GraphQLError): object {
  const { http: _http, ...extensions } = error.extensions ?? {};
  return { ...error.toJSON(), extensions };
}

/** The HTTP status yoga gave a refused document (405 for a mutation over GET), else 400. */
const statusOf = (error: GraphQLError) => (error.extensions?.http as { status?: number } | undefined)?.status ?? 400;

/** Serves graphql-sse's single connection mode at `endpoint`, for authenticated actors, each on its own streams. */
export function singleConnectionSSE(endpoint: string): Plugin {
  const serverContexts = new WeakMap<Request, RequestActor>();
  let handle: (request: Request) => Promise<Response>;
  return {
    onYogaInit({ yoga }) {
      handle = createHandler(
        {
          // A token is `<role>-<id>:<uuid>`: only the actor who reserved a stream can open it, run operations on it or
          // stop them; anyone else's token, or a made-up one, names no stream (404, as graphql-sse answers an unknown one).
          authenticate(req) {
            const context = serverContexts.get(req.raw);
            if (!context?.actor) {
              const error = unauthenticated({ authError: context?.authError ?? null }).toJSON();
              return refusal(401, 'Unauthorized', [error], { 'www-authenticate': 'Bearer realm="quickeats"' });
            }
            const owner = `${context.actor.role}-${context.actor.id}:`;
            if (req.method === 'PUT') return `${owner}${randomUUID()}`;
            const token = streamToken(req.raw, new URL(req.raw.url));
            if (token?.startsWith(owner) && UUID.test(token.slice(owner.length))) return token;
            return refusal(404, 'Not Found', [{ message: 'Stream not found', extensions: { code: 'NOT_FOUND' } }]);
          },
          async onSubscribe(req, params) {
            const enveloped = yoga.getEnveloped({ ...serverContexts.get(req.raw), request: req.raw, params });
            let document: DocumentNode;
            try {
              document = enveloped.parse(params.query);
            } catch (error) {
              if (!(error instanceof GraphQLError)) throw error;
              const status = statusOf(error);
              return refusal(status, status === 405 ? 'Method Not Allowed' : 'Bad Request', [errorJson(error)]);
            }
            const errors = enveloped.validate(enveloped.schema, document);
            if (errors.length) return refusal(400, 'Bad Request', errors.map(errorJson));
            const operation = getOperationAST(document, params.operationName);
            const run = operation?.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
            const result = await run({
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables,
              operationName: params.operationName,
            });
            return isAsyncIterable(result) || 'data' in result ? result : { data: null, ...result };
          },
        },
        yoga.fetchAPI,
      );
    },
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint || !isSingleConnectionRequest(request, url)) return;
      const operationId = await operationIdOf(request, url);
      if (typeof operationId === 'string' && PROTOTYPE_MEMBERS.has(operationId)) {
        const message = `"${operationId}" cannot be an operation id`;
        const [body, init] = refusal(400, 'Bad Request', [{ message, extensions: { code: 'BAD_REQUEST' } }]);
        return endResponse(new fetchAPI.Response(body, init));
      }
      serverContexts.set(request, serverContext as unknown as RequestActor);
      endResponse(await handle(request));
    },
  };
}
