/** What every resolver receives: the caller, the services and per-request loaders. Nothing framework-specific. */
import DataLoader from 'dataloader';
import type { Container } from '../container.ts';
import type { Actor } from '../domain/auth.ts';
import { riderLocationsVisibleTo } from '../domain/riders/rider.queries.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

export type GraphQLContext = {
  actor: Actor | null;
  /** Set when a token was sent but refused; resolvers that need an actor report it. */
  authError: Error | null;
  prisma: PrismaClient;
  container: Container;
  requestId: string;
  loaders: ReturnType<typeof createLoaders>;
};

/** Per-request DataLoaders: batch what many objects of one response ask for. */
export function createLoaders(prisma: PrismaClient, actor: Actor | null) {
  return {
    /** Whether the actor may see a rider's location (the domain's rule), for many riders in one query. */
    riderLocationVisible: new DataLoader<number, boolean>(async (riderIds) => {
      if (!actor) return riderIds.map(() => false);
      const visible = await riderLocationsVisibleTo(prisma, actor, riderIds);
      return riderIds.map((id) => visible.has(id));
    }),
  };
}
