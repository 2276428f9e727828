/** The caller (`viewer`) and the Customer type. */
import { canSeeCustomer } from '../../domain/orders/order-access.ts';
import { builder } from '../builder.ts';
import { NODE_BY_ID } from '../ids.ts';
import { ActorRoleEnum } from './enums.ts';

builder.prismaNode('Customer', {
  ...NODE_BY_ID,
  findUnique: (id, ctx) => ({ id: canSeeCustomer(ctx.actor, Number(id)) ? Number(id) : -1 }),
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name'),
  }),
});

const ViewerRef = builder.objectRef<{ role: string; id: number }>('Viewer').implement({
  description: 'Who the bearer token says you are.',
  fields: (t) => ({
    role: t.field({ type: ActorRoleEnum, resolve: (viewer) => viewer.role as never }),
    databaseId: t.exposeInt('id'),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.actor!,
  }),
);
