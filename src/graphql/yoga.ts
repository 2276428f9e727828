/** graphql-yoga over the Pothos schema. Unexpected errors are masked for clients and logged with the request id. */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection as disableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Container } from '../container.ts';
import type { Actor } from '../domain/auth.ts';
import { renderGraphiQL } from '../http/graphiql.ts';
import { createLoaders, type GraphQLContext } from './context.ts';
import { schema } from './schema.ts';

/**
 * Abuse limits (SPEC §4): a query deeper, costlier or longer than these is refused during validation with a
 * GraphQL error, before any resolver runs. The order list with items, restaurant, rider and history is depth 7.
 */
export const QUERY_LIMITS = { maxDepth: 10, maxCost: 20_000, maxAliases: 20, maxDirectives: 20, maxTokens: 3_000 } as const;

/** What the HTTP layer hands to yoga for each request. */
export type GraphQLServerContext = { actor: Actor | null; authError: Error | null; requestId: string };

/** One yoga instance per process: its parse and validation caches are shared by every request. */
export function createGraphQLServer(container: Container) {
  return createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: container.config.graphiqlEnabled,
    // CORS is decided once, by the Hono app (closed unless CORS_ORIGINS is set); yoga's default would reflect any origin.
    cors: false,
    renderGraphiQL,
    logging: false,
    context: ({ actor, authError, requestId }): Omit<GraphQLContext, keyof GraphQLServerContext> & GraphQLServerContext => ({
      actor,
      authError,
      requestId,
      prisma: container.db.prisma,
      container,
      loaders: createLoaders(container.db.prisma, actor),
    }),
    plugins: [
      ...(container.config.introspectionEnabled ? [] : [disableIntrospection()]),
      EnvelopArmorPlugin({
        maxDepth: { n: QUERY_LIMITS.maxDepth, ignoreIntrospection: true },
        costLimit: { maxCost: QUERY_LIMITS.maxCost, ignoreIntrospection: true },
        maxAliases: { n: QUERY_LIMITS.maxAliases },
        maxDirectives: { n: QUERY_LIMITS.maxDirectives },
        maxTokens: { n: QUERY_LIMITS.maxTokens },
        // Field suggestions ("did you mean …") stay on outside production: they help while exploring.
        blockFieldSuggestion: { enabled: container.config.isProduction },
      }),
      {
        onExecute({ args }: Parameters<NonNullable<Plugin['onExecute']>>[0]) {
          const started = performance.now();
          const operation = args.document.definitions.find((definition: { kind: string }) => definition.kind === 'OperationDefinition');
          return {
            onExecuteDone() {
              container.metrics.graphqlDuration.observe(
                { operation: args.operationName ?? operation?.name?.value ?? 'anonymous', type: operation?.operation ?? 'unknown' },
                (performance.now() - started) / 1000,
              );
            },
          };
        },
      },
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
        container.logger.error({ err: original }, 'unexpected error in a GraphQL resolver');
        return new GraphQLError(message, {
          nodes: isGraphQLError(error) ? error.nodes : undefined,
          path: isGraphQLError(error) ? error.path : undefined,
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
      },
    },
  });
}
