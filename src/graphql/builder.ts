/** The Pothos builder: plugins and context types only. Types live in ./types, one file each. */
import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { resolveNodes } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import { type GraphQLContext, PRISMA_PLUGIN_CLIENT } from './context.ts';
import { isLoadableGlobalId, NODE_ID_DESCRIPTION } from './ids.ts';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: { authenticated: boolean };
  Scalars: { DateTime: { Input: Date; Output: Date | string }; ID: { Input: string; Output: string | number } };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx[PRISMA_PLUGIN_CLIENT],
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // A forged global id (unknown type, `Order:abc`, out of Int range) names nothing: null, never a database error.
    // node/nodes take only global ids: a bare database id names no type. The typed fields (order(id:), …) take both.
    nodeQueryOptions: {
      args: { id: { description: NODE_ID_DESCRIPTION } },
      authScopes: { authenticated: true },
      resolve: (_root, { id }, _ctx, _info, resolveNode): unknown => (isLoadableGlobalId(id) ? resolveNode(id) : null),
    },
    nodesQueryOptions: {
      args: { ids: { description: NODE_ID_DESCRIPTION } },
      authScopes: { authenticated: true },
      resolve: (_root, { ids }, ctx, info): Promise<unknown[]> =>
        resolveNodes(
          builder as never,
          ctx,
          info,
          ids.map((id) => (isLoadableGlobalId(id) ? id : null)),
        ),
    },
  },
  scopeAuth: {
    authScopes: (ctx) => ({ authenticated: ctx.actor !== null }),
    unauthorizedError: (_parent, ctx) => unauthenticated(ctx),
  },
});

/** The refusal every field gives without a valid token (SPEC §3): the token's own problem when one was sent. */
export function unauthenticated(ctx: Pick<GraphQLContext, 'authError'>): GraphQLError {
  return new GraphQLError(ctx.authError?.message ?? 'Authentication required: send a valid bearer token', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

builder.queryType({});
builder.mutationType({});

// graphql-scalars' DateTime (serializes a Date, which JSON writes as ISO-8601 UTC) under this schema's description.
builder.addScalarType('DateTime', GraphQLDateTime, {
  description: 'An ISO-8601 timestamp in UTC, e.g. 2026-11-21T09:30:00.000Z',
  specifiedByURL: undefined,
});
