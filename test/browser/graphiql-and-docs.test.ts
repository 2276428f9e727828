/**
 * GraphiQL (/graphql) and the REST docs (/api/docs) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against a real server process: both pages must work offline, loading nothing from other hosts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKey, signToken } from '../../src/domain/auth.ts';
import { backend, createScratchDatabase, DEMO } from '../support/harness.ts';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const JWT_SECRET = 'browser-test-secret-of-at-least-32-chars';
const QUERY = '{ viewer { role databaseId } restaurants(first: 2) { edges { node { name } } } }';
const TIMEOUT = 120_000;

/** The CodeMirror 5 instance GraphiQL 3 keeps on each editor's `.CodeMirror` element, with GraphiQL's own fields. */
type CodeMirrorElement = HTMLElement & {
  CodeMirror: { getValue(): string; operationName?: string | null; operations?: unknown[] | null };
};

describe(`GraphiQL and the REST docs in headless Chromium (${backend})`, () => {
  let server: ServerProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let token: string;
  const screenshots = fs.mkdtempSync(path.join(os.tmpdir(), 'quickeats-browser-'));
  /** Every URL any page of the context asked for. */
  const requested: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const scratch = backend === 'postgres' ? await createScratchDatabase() : null;
    drop = scratch?.drop;
    server = await startServerProcess(
      {
        JWT_SECRET,
        RATE_LIMIT_PER_MINUTE: '0',
        DATABASE_URL: scratch?.url,
        REDIS_URL: process.env.TEST_REDIS_URL,
        REDIS_KEY_PREFIX: `quickeats-test:${randomBytes(4).toString('hex')}:`,
        EMBEDDED_DATA_DIR: 'memory://',
      },
      TIMEOUT,
    );
    token = await signToken(DEMO.customer1, secretKey(JWT_SECRET), '1h');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
      timeout: TIMEOUT,
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(60_000);
    context.on('request', (request) => requested.push(request.url()));
    context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`)));
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    console.info(`browser test screenshots: ${screenshots}`);
    if (server) {
      server.kill('SIGKILL');
      await server.exited;
    }
    await drop?.();
  }, TIMEOUT);

  /** Fails if any page asked for anything but this server (the pages must work without internet access). */
  const expectOnlyLocalRequests = () => {
    expect(requested.length).toBeGreaterThan(0);
    const foreign = requested.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server!.url);
    expect(foreign).toEqual([]);
  };

  const screenshot = async (page: Page, name: string) => {
    const file = path.join(screenshots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: false });
    return file;
  };

  it('GraphiQL loads from local assets, sends the Authorization header typed into its headers editor, shows the result', {
    timeout: TIMEOUT,
  }, async () => {
    const page = await context.newPage();
    await page.goto(`${server!.url}/graphql`);
    const queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
    await queryEditor.waitFor();

    // The headers editor: its tab, then replace the placeholder JSON. insertText goes through CodeMirror's input
    // handling like typing does, without its bracket/quote auto-closing.
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await headersEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));

    await queryEditor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(QUERY);
    expect(await queryEditor.evaluate((element) => (element as CodeMirrorElement).CodeMirror.getValue())).toBe(QUERY);
    expect(await headersEditor.evaluate((element) => JSON.parse((element as CodeMirrorElement).CodeMirror.getValue()))).toEqual({
      Authorization: `Bearer ${token}`,
    });
    // GraphiQL re-parses the query 100 ms after an edit (debounced); running before that would still send the old
    // operationName (MyOrders from the default query), which the server rightly refuses.
    await page.waitForFunction(() => {
      const editor = (document.querySelector('.graphiql-query-editor .CodeMirror') as CodeMirrorElement | null)?.CodeMirror;
      return editor?.operationName === null && editor.operations?.length === 1;
    });

    const execution = page.waitForRequest(
      (request) => request.method() === 'POST' && request.postData()?.includes('restaurants(first: 2)') === true,
    );
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const sent = await execution;
    expect(sent.headers().authorization).toBe(`Bearer ${token}`);

    const result = page.locator('.graphiql-response .result-window');
    await expect.poll(() => result.textContent(), { timeout: 60_000 }).toContain('Seoul Kitchen');
    const text = await result.textContent();
    expect(text).toContain('"role": "CUSTOMER"');
    expect(text).toContain('"databaseId": 1');
    expect(text).not.toContain('"errors"');
    await screenshot(page, 'graphiql');

    expect(requested.some((url) => url.endsWith('/graphiql-assets/graphiql.js'))).toBe(true);
    expectOnlyLocalRequests();
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('/api/docs renders the OpenAPI document with Swagger UI from local assets', { timeout: TIMEOUT }, async () => {
    const page = await context.newPage();
    await page.goto(`${server!.url}/api/docs`);
    const title = page.locator('.swagger-ui .info .title');
    await expect.poll(() => title.textContent().catch(() => ''), { timeout: 60_000 }).toContain('QuickEats order API');
    // Paths render relative to the document's server, /api: /api + /v2/orders/{id}/acceptance.
    await expect
      .poll(
        () =>
          page
            .locator('.swagger-ui .servers select')
            .inputValue()
            .catch(() => ''),
        { timeout: 60_000 },
      )
      .toBe('/api');
    const paths = page.locator('.swagger-ui .opblock-summary-path');
    await expect
      .poll(async () => (await paths.allTextContents()).map((text) => text.trim()), { timeout: 60_000 })
      .toContain('/v2/orders/{id}/acceptance');
    await screenshot(page, 'api-docs');

    expect(requested.some((url) => url.endsWith('/api/openapi.json'))).toBe(true);
    expectOnlyLocalRequests();
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
