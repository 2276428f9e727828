/** npm run db:migrate — applies pending migrations to the configured database, then exits. */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/infra/db.ts';
import { migrate } from '../src/infra/migrate.ts';

const config = loadConfig();
const db = await openDatabase({ url: config.databaseUrl, embeddedDataDir: config.embeddedDataDir });
try {
  const applied = await migrate(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} finally {
  await db.close();
}
