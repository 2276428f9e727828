/**
 * How the benchmarks start the service: exactly as `npm start` does — the bundle that scripts/build.mjs writes,
 * run with the node flags of package.json's `start` script (read from there, so the two cannot drift apart).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function buildServiceCommand(repoRoot: string): { command: string; args: string[] } {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [program, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (program !== 'node') throw new Error(`package.json "start" must run node directly, found: ${pkg.scripts.start}`);
  return { command: process.execPath, args };
}
