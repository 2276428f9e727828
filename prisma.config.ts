// Prisma 7 reads this file instead of .env. The CLI is only used for `prisma generate` on these machines;
// migrations are applied by src/infra/migrate.ts (see README "Migrations").
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/quickeats' },
});
