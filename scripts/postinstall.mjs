// Generates the Prisma client and Pothos types after `npm install`.
// Prisma's CLI tries to download a native schema engine first; generation does not need it, so point it at a
// binary that exists and does nothing (the download is impossible on machines without internet access).
import { execFileSync } from 'node:child_process';

execFileSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
