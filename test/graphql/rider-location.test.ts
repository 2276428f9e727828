import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, graphql, setUpTestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const service = setUpTestService({}, { resetEach: false });
beforeAll(async () => {
  await service.reset();
  // Rider 1 claims an order of customer 1 at restaurant 1, then reports where it is.
  await orderIn(service, 'preparing', { withRider: true });
  const moved = await graphql(
    service,
    DEMO.rider1,
    'mutation { updateRiderLocation(input: { lat: 37.5326, lng: 126.9905 }) { __typename } }',
  );
  expect(moved.data.updateRiderLocation.__typename).toBe('UpdateRiderLocationSuccess');
});

const locationSeenBy = async (actor: Actor) =>
  (await graphql(service, actor, '{ rider(id: "1") { name currentLocation { lat lng } } }')).data.rider.currentLocation;

describe(`Rider.currentLocation visibility (${backend})`, () => {
  it.each([
    ['the rider itself', DEMO.rider1],
    ['an admin', DEMO.admin],
    ['the customer of an order it is assigned to', DEMO.customer1],
    ['the restaurant of an order it is assigned to', DEMO.restaurant1],
  ])('is visible to %s', async (_who, actor) => {
    expect(await locationSeenBy(actor)).toEqual({ lat: 37.5326, lng: 126.9905 });
  });

  it.each([
    ['another rider', DEMO.rider2],
    ['another customer', DEMO.customer2],
    ['another restaurant', DEMO.restaurant2],
  ])('is hidden from %s', async (_who, actor) => {
    expect(await locationSeenBy(actor)).toBeNull();
  });

  it('is refused to anyone but a rider reporting for itself', async () => {
    const body = await graphql(service, DEMO.customer1, 'mutation { updateRiderLocation(input: { lat: 1, lng: 1 }) { __typename } }');
    expect(body.data.updateRiderLocation.__typename).toBe('ForbiddenError');
    const bad = await graphql(
      service,
      DEMO.rider1,
      'mutation { updateRiderLocation(input: { lat: 91, lng: 0 }) { __typename ... on ValidationError { fields { path } } } }',
    );
    expect(bad.data.updateRiderLocation).toEqual({ __typename: 'ValidationError', fields: [{ path: ['lat'] }] });
  });
});
