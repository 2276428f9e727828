/** graphql-yoga over the Pothos schema. Unexpected errors are masked for clients and logged with the request id. */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection as disableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { Actor } from '../domain/auth.ts';
import type { OrderService } from '../domain/orders/order.service.ts';
import type { Webhooks } from '../domain/webhooks/webhooks.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { graphiqlHeaders, renderGraphiQL } from '../http/graphiql.ts';
import type { Database } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { OrderPubSub } from '../infra/pubsub.ts';
import { compiledOrders } from './compiled-orders.ts';
import { createLoaders, createReadQueries, type GraphQLContext, PRISMA_PLUGIN_CLIENT } from './context.ts';
import { schema } from './schema.ts';
import { singleConnectionSSE } from './single-connection-sse.ts';

/**
 * Abuse limits (SPEC §4): a query deeper, costlier or longer than these is refused during validation with a
 * GraphQL error, before any resolver runs. Depth and cost count fields only, as a reader counts them: a fragment,
 * spread or inline, adds no level of its own, so a Relay page built of fragments is as deep and as costly as the same
 * selection written out (graphql-armor's `flattenFragments`).
 * The order list with items, restaurant, rider and history is depth 7.
 */
export const QUERY_LIMITS = { maxDepth: 10, maxCost: 20_000, maxAliases: 20, maxDirectives: 20, maxTokens: 3_000 } as const;

/** The `extensions.code` of each limit's refusal. */
export const QUERY_LIMIT_CODES = {
  maxDepth: 'QUERY_DEPTH_LIMIT_EXCEEDED',
  maxCost: 'QUERY_COST_LIMIT_EXCEEDED',
  maxAliases: 'QUERY_ALIAS_LIMIT_EXCEEDED',
  maxDirectives: 'QUERY_DIRECTIVE_LIMIT_EXCEEDED',
  maxTokens: 'QUERY_TOKEN_LIMIT_EXCEEDED',
} as const satisfies Record<keyof typeof QUERY_LIMITS, string>;

/** A refusal by one of the abuse limits, thrown by graphql-armor's rule (its own error says "Syntax Error:"). */
class QueryLimitRefusal extends GraphQLError {}

/** Makes a graphql-armor limit refuse with `code` and a message naming the limit. */
function refuseWith(code: string) {
  return {
    onReject: [
      (_context: ValidationContext | null, error: GraphQLError) => {
        throw new QueryLimitRefusal(error.message.replace(/^Syntax Error: /, ''), { extensions: { code } });
      },
    ],
  };
}

/**
 * graphql-armor refuses by throwing out of validation, which stops validating at once (a hostile document costs no
 * more than the limit that refuses it), but yoga answers a validation that throws as a failed execution: 200, no data,
 * no code. Returned as the validation's result instead, a refusal is an ordinary validation error: 400 under
 * application/graphql-response+json, as the GraphQL over HTTP spec requires of a response without data. (The token
 * limit refuses inside the parser, where yoga already answers 400.)
 */
const limitRefusalsAsValidationErrors: Plugin = {
  onValidate({ validateFn, setValidationFn }) {
    setValidationFn((...args) => {
      try {
        return validateFn(...args);
      } catch (error) {
        if (error instanceof QueryLimitRefusal) return [error];
        throw error;
      }
    });
  },
};

/** What the HTTP layer hands to yoga for each request. */
export type GraphQLServerContext = { actor: Actor | null; authError: Error | null; requestId: string };

/** What the GraphQL door uses: the order service, the database its reads run on, pub/sub, and its settings. */
export type GraphQLServices = {
  prisma: PrismaClient;
  /** The compiled order list's statement runner (Database.readRows). */
  readRows: Database['readRows'];
  orders: OrderService;
  webhooks: Webhooks;
  pubsub: OrderPubSub;
  metrics: Pick<Metrics, 'graphqlDuration'>;
  logger: Logger;
  config: Pick<Config, 'graphiqlEnabled' | 'introspectionEnabled' | 'isProduction' | 'seedDemoData' | 'jwtSecret'>;
};

/** The per-request context over the services (also how tests run an operation through the resolvers alone). */
export function contextFactory({ prisma, orders, webhooks, pubsub }: Pick<GraphQLServices, 'prisma' | 'orders' | 'webhooks' | 'pubsub'>) {
  const queries = createReadQueries(prisma);
  return ({ actor, authError, requestId }: GraphQLServerContext): GraphQLContext => ({
    actor,
    authError,
    requestId,
    orders,
    webhooks,
    queries,
    pubsub,
    loaders: createLoaders(queries, actor),
    [PRISMA_PLUGIN_CLIENT]: prisma,
  });
}

/** One yoga instance per process: its parse and validation caches are shared by every request. */
export function createGraphQLServer({ prisma, readRows, orders, webhooks, pubsub, metrics, logger, config }: GraphQLServices) {
  return createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.graphiqlEnabled && (async () => ({ defaultHeaders: await graphiqlHeaders(config) })),
    // CORS is decided once, by the Hono app (closed unless CORS_ORIGINS is set); yoga's default would reflect any origin.
    cors: false,
    renderGraphiQL,
    logging: false,
    context: contextFactory({ prisma, orders, webhooks, pubsub }),
    plugins: [
      ...(config.introspectionEnabled ? [] : [disableIntrospection()]),
      singleConnectionSSE('/graphql'),
      EnvelopArmorPlugin({
        maxDepth: {
          n: QUERY_LIMITS.maxDepth,
          ignoreIntrospection: true,
          flattenFragments: true,
          ...refuseWith(QUERY_LIMIT_CODES.maxDepth),
        },
        costLimit: {
          maxCost: QUERY_LIMITS.maxCost,
          ignoreIntrospection: true,
          flattenFragments: true,
          ...refuseWith(QUERY_LIMIT_CODES.maxCost),
        },
        maxAliases: { n: QUERY_LIMITS.maxAliases, ...refuseWith(QUERY_LIMIT_CODES.maxAliases) },
        maxDirectives: { n: QUERY_LIMITS.maxDirectives, ...refuseWith(QUERY_LIMIT_CODES.maxDirectives) },
        maxTokens: { n: QUERY_LIMITS.maxTokens, ...refuseWith(QUERY_LIMIT_CODES.maxTokens) },
        // Field suggestions ("did you mean …") stay on outside production: they help while exploring.
        blockFieldSuggestion: { enabled: config.isProduction },
      }),
      limitRefusalsAsValidationErrors,
      {
        onExecute({ args }: Parameters<NonNullable<Plugin['onExecute']>>[0]) {
          const started = performance.now();
          const operation = args.document.definitions.find((definition: { kind: string }) => definition.kind === 'OperationDefinition');
          return {
            onExecuteDone() {
              metrics.graphqlDuration.observe(
                { operation: args.operationName ?? operation?.name?.value ?? 'anonymous', type: operation?.operation ?? 'unknown' },
                (performance.now() - started) / 1000,
              );
            },
          };
        },
      },
      // Last, so that the metrics above still time a compiled execution.
      compiledOrders(readRows, schema),
    ],
    maskedErrors: {
      maskError(error, message) {
        // By name, not instanceof: a second copy of `graphql` (ESM/CJS) would make instanceof lie.
        const isGraphQLError = (value: unknown): value is GraphQLError => value instanceof Error && value.name === 'GraphQLError';
        const original = isGraphQLError(error) ? error.originalError : error;
        if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
        // Pothos refuses bad connection arguments (first: -1, a forged cursor) with its own GraphQLError subclass:
        // the client's mistake, not ours.
        if (original instanceof Error && original.name === 'PothosValidationError') {
          return new GraphQLError(original.message, {
            nodes: isGraphQLError(error) ? error.nodes : undefined,
            path: isGraphQLError(error) ? error.path : undefined,
            extensions: { code: 'BAD_USER_INPUT' },
          });
        }
        logger.error({ err: original }, 'unexpected error in a GraphQL resolver');
        return new GraphQLError(message, {
          nodes: isGraphQLError(error) ? error.nodes : undefined,
          path: isGraphQLError(error) ? error.path : undefined,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      },
    },
  });
}
