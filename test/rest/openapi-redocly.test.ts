/**
 * The OpenAPI document passes a third-party linter: Redocly CLI's `lint` with its recommended rules (structure,
 * operation ids, security on every operation, the webhook SPEC §9 sends, …), run as a separate process on the
 * document the service serves.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { setUpTestService } from '../support/harness.ts';

const service = setUpTestService({}, { resetEach: false });

describe('the OpenAPI document under Redocly lint', () => {
  it('has no errors and no warnings with the recommended rules, and documents the webhook', async () => {
    const document = await (await service.app.request('/api/openapi.json')).json();
    expect(Object.keys(document.webhooks)).toEqual(['orderEvent']);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
    await writeFile(file, JSON.stringify(document));
    const cli = path.resolve('node_modules/@redocly/cli/bin/cli.js');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'lint', file, '--format', 'json'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout: string }) => error);
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: { message: string }[] };
    expect(report.problems.map((problem) => problem.message)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
