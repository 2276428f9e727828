import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { secretKey, signToken } from '../../src/domain/auth.ts';
import { UnauthenticatedError } from '../../src/domain/errors.ts';
import { backend, DEMO, setUpTestService } from '../support/harness.ts';

const service = setUpTestService({}, { resetEach: false });
let key: Uint8Array;
beforeAll(() => {
  key = secretKey(service.config.jwtSecret);
});

const authenticate = (header: string | undefined) => service.container.authenticator.authenticate(header);
const bearer = (token: string) => `Bearer ${token}`;
const hs256 = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });

async function viewerOver(header: string | undefined) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (header !== undefined) headers.authorization = header;
  const response = await service.app.request('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: '{ viewer { role databaseId } }' }),
  });
  return (await response.json()) as {
    data?: { viewer: { role: string; databaseId: number } };
    errors?: { extensions: { code: string } }[];
  };
}

describe(`authentication (${backend})`, () => {
  it('accepts a valid token of every demo actor', async () => {
    for (const actor of Object.values(DEMO)) {
      expect(await authenticate(bearer(await signToken(actor, key)))).toEqual(actor);
    }
  });

  it('returns no actor when no header is sent', async () => {
    expect(await authenticate(undefined)).toBeNull();
  });

  it('refuses a token once it expires, although it was accepted (and remembered) before', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 30;
    const token = await hs256({ role: 'customer' }).setSubject('1').setExpirationTime(expiresAt).sign(key);
    expect(await authenticate(bearer(token))).toEqual(DEMO.customer1);
    vi.useFakeTimers({ toFake: ['Date'], now: (expiresAt + 1) * 1000 });
    try {
      await expect(authenticate(bearer(token))).rejects.toBeInstanceOf(UnauthenticatedError);
    } finally {
      vi.useRealTimers();
    }
  });

  const refused: [string, () => Promise<string>][] = [
    [
      'an expired token',
      () =>
        hs256({ role: 'customer' })
          .setSubject('1')
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key),
    ],
    [
      'a bad signature',
      () =>
        hs256({ role: 'customer' }).setSubject('1').setExpirationTime('1h').sign(secretKey('another-secret-of-at-least-32-characters!')),
    ],
    ['an unknown role value', () => hs256({ role: 'superuser' }).setSubject('1').setExpirationTime('1h').sign(key)],
    ['a role in the wrong case', () => hs256({ role: 'Customer' }).setSubject('1').setExpirationTime('1h').sign(key)],
    ['no exp', () => hs256({ role: 'customer' }).setSubject('1').sign(key)],
    ['a string exp', () => hs256({ role: 'customer', exp: '9999999999' }).setSubject('1').sign(key)],
    ['no sub', () => hs256({ role: 'customer' }).setExpirationTime('1h').sign(key)],
    ['a non-numeric sub', () => hs256({ role: 'customer' }).setSubject('abc').setExpirationTime('1h').sign(key)],
    ['a sub that is no actor of that role', () => hs256({ role: 'customer' }).setSubject('999').setExpirationTime('1h').sign(key)],
    ['a customer id claimed as admin', () => hs256({ role: 'admin' }).setSubject('2').setExpirationTime('1h').sign(key)],
    ['alg none', async () => new UnsecuredJWT({ role: 'admin' }).setSubject('1').setExpirationTime('1h').encode()],
    [
      'HS512',
      () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS512' }).setSubject('1').setExpirationTime('1h').sign(key),
    ],
    ['garbage', async () => 'not.a.jwt'],
  ];

  it.each(refused)('refuses %s', async (_name, make) => {
    await expect(authenticate(bearer(await make()))).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it.each(refused)('answers UNAUTHENTICATED in GraphQL for %s', async (_name, make) => {
    const body = await viewerOver(bearer(await make()));
    expect(body.data?.viewer ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a header that is not a bearer token', async () => {
    await expect(authenticate(`Basic ${Buffer.from('a:b').toString('base64')}`)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect((await viewerOver(undefined)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('puts the actor in the GraphQL context', async () => {
    const body = await viewerOver(bearer(await signToken(DEMO.restaurant2, key)));
    expect(body.data?.viewer).toEqual({ role: 'RESTAURANT', databaseId: 2 });
  });
});
