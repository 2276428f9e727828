/** npm run db:seed — fills an empty database with the demo data (after migrating), then exits. */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/infra/db.ts';
import { migrate } from '../src/infra/migrate.ts';
import { seedDemoData } from '../src/infra/seed.ts';

const config = loadConfig();
const db = await openDatabase({ url: config.databaseUrl, embeddedDataDir: config.embeddedDataDir });
try {
  await migrate(db);
  console.log((await seedDemoData(db)) ? 'demo data inserted' : 'the database already has data: nothing inserted');
} finally {
  await db.close();
}
