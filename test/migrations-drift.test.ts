import { describe, expect, it } from 'vitest';
import { diffMigrationsAgainstSchema } from '../scripts/db-diff.ts';

// Fails when prisma/schema.prisma changed without a migration (or a migration was hand-edited away from the schema).
// The fix is `npm run db:diff -- --name <what_changed>`; the expected value below shows the SQL that is missing.
describe('prisma/migrations', () => {
  it('build exactly the database described by prisma/schema.prisma', { timeout: 60_000 }, async () => {
    expect(await diffMigrationsAgainstSchema()).toBe('');
  });
});
