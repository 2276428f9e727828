/** Writes schema.graphql from the code (npm run schema:print). A test fails when the file drifts. */
import fs from 'node:fs';
import { printedSchema } from '../src/graphql/schema.ts';

fs.writeFileSync(new URL('../schema.graphql', import.meta.url), printedSchema());
console.log('wrote schema.graphql');
