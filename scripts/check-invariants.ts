/** npm run check:invariants — checks the configured database; exits 1 with a readable report on any violation. */
import { loadConfig } from '../src/config.ts';
import { findViolations, formatViolations } from '../src/domain/invariants.ts';
import { openDatabase } from '../src/infra/db.ts';

const config = loadConfig();
const db = await openDatabase({ url: config.databaseUrl, embeddedDataDir: config.embeddedDataDir });
try {
  const violations = await findViolations(db.prisma);
  console.log(formatViolations(violations));
  process.exitCode = violations.length ? 1 : 0;
} finally {
  await db.close();
}
