/** Rider with its location (visible per SPEC §3); the rider query and updateRiderLocation. */
import { ForbiddenError, ValidationError } from '../../domain/errors.ts';
import { builder } from '../builder.ts';
import { byIdField, loadById, NODE_BY_ID } from '../ids.ts';

const LocationRef = builder.objectRef<{ lat: number; lng: number }>('Location').implement({
  fields: (t) => ({ lat: t.exposeFloat('lat'), lng: t.exposeFloat('lng') }),
});

export const RiderRef = builder.prismaNode('Rider', {
  ...NODE_BY_ID,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name'),
    currentLocation: t.field({
      type: LocationRef,
      nullable: true,
      description: 'Visible to the rider, admins, and the customer and restaurant of an order the rider is assigned to.',
      resolve: async (rider, _args, ctx) => {
        if (rider.lat === null || rider.lng === null) return null;
        return (await ctx.loaders.riderLocationVisible.load(rider.id)) ? { lat: rider.lat, lng: rider.lng } : null;
      },
    }),
  }),
});

builder.queryField('rider', (t) =>
  t.prismaField({ type: 'Rider', ...byIdField(t), resolve: loadById('Rider', (ctx) => ctx.queries.rider) }),
);

const UpdateRiderLocationInput = builder.inputType('UpdateRiderLocationInput', {
  fields: (t) => ({ lat: t.float({ required: true }), lng: t.float({ required: true }) }),
});

const UpdateRiderLocationSuccess = builder.objectRef<{ riderId: number }>('UpdateRiderLocationSuccess').implement({
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'riderId' in value,
  fields: (t) => ({
    rider: t.prismaField({
      type: 'Rider',
      resolve: async (query, result, _args, ctx) => (await ctx.queries.rider(result.riderId, query))!,
    }),
  }),
});

builder.mutationField('updateRiderLocation', (t) =>
  t.field({
    type: UpdateRiderLocationSuccess,
    description: 'A rider reports where it is.',
    authScopes: { authenticated: true },
    errors: { types: [ValidationError, ForbiddenError], directResult: true, union: { name: 'UpdateRiderLocationResult' } },
    args: { input: t.arg({ type: UpdateRiderLocationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const rider = await ctx.orders.updateRiderLocation({ actor: ctx.actor!, lat: input.lat, lng: input.lng });
      return { riderId: rider.id };
    },
  }),
);
