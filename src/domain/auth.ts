/**
 * Actors and authentication (SPEC §3): HS256 JWTs whose `sub` names an existing actor of the claimed role.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { UnauthenticatedError } from './errors.ts';
import { isDatabaseId } from './orders/commands.ts';

export const ROLES = ['customer', 'restaurant', 'rider', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Actor = { role: Role; id: number };

const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Verifies a bearer token and returns its actor; throws UnauthenticatedError for anything not perfectly valid. */
export async function verifyToken(token: string, secret: Uint8Array): Promise<Actor> {
  return (await verifyTokenClaims(token, secret)).actor;
}

/** verifyToken, also returning when the token expires (ms since the epoch). */
async function verifyTokenClaims(token: string, secret: Uint8Array): Promise<{ actor: Actor; expiresAt: number }> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    // The algorithm is pinned: `none`, RS256 with a public key as HMAC secret, etc. are all refused.
    ({ payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] }));
  } catch (error) {
    const reason = error instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is invalid';
    throw new UnauthenticatedError(`Authentication failed: ${reason}`);
  }
  if (typeof payload.exp !== 'number') throw new UnauthenticatedError('Authentication failed: exp must be a number');
  if (!isRole(payload.role)) throw new UnauthenticatedError('Authentication failed: unknown role');
  if (typeof payload.sub !== 'string' || !/^[1-9][0-9]{0,9}$/.test(payload.sub) || !isDatabaseId(Number(payload.sub))) {
    throw new UnauthenticatedError('Authentication failed: sub must be an actor id');
  }
  return { actor: { role: payload.role, id: Number(payload.sub) }, expiresAt: payload.exp * 1000 };
}

/** True when the actor exists in its role's table. */
export async function actorExists(prisma: PrismaClient, actor: Actor): Promise<boolean> {
  const where = { where: { id: actor.id }, select: { id: true } } as const;
  switch (actor.role) {
    case 'customer':
      return (await prisma.customer.findUnique(where)) !== null;
    case 'restaurant':
      return (await prisma.restaurant.findUnique(where)) !== null;
    case 'rider':
      return (await prisma.rider.findUnique(where)) !== null;
    case 'admin':
      return (await prisma.admin.findUnique(where)) !== null;
  }
}

/** Signs a token for an actor (demo tokens, tests and benchmarks). */
export async function signToken(actor: Actor, secret: Uint8Array, expiresIn: string | number = '30d'): Promise<string> {
  return new SignJWT({ role: actor.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(actor.id))
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}

/** The HMAC key for a configured secret. */
export const secretKey = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/**
 * Turns an Authorization header into an actor. Actors are never deleted, so "this actor exists" is cached briefly
 * to keep a database round trip off every request. A token whose signature was verified is remembered too, until
 * it expires (at most a minute): HMAC verification through WebCrypto was ~4% of a list request's CPU.
 */
export class Authenticator {
  private readonly known = new LRUCache<string, true>({ max: 10_000, ttl: 60_000 });
  private readonly verified = new LRUCache<string, { actor: Actor; expiresAt: number }>({ max: 10_000, ttl: 60_000 });
  private readonly key: Uint8Array;

  constructor(
    private readonly prisma: PrismaClient,
    secret: string,
  ) {
    this.key = secretKey(secret);
  }

  /** null when no Authorization header was sent; UnauthenticatedError when one was sent and is not valid. */
  async authenticate(authorization: string | undefined | null): Promise<Actor | null> {
    if (authorization === undefined || authorization === null || authorization === '') return null;
    const match = /^Bearer +([A-Za-z0-9_\-.]+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new UnauthenticatedError('Authentication failed: use "Authorization: Bearer <token>"');
    const token = match[1];
    let claims = this.verified.get(token);
    if (!claims || claims.expiresAt <= Date.now()) {
      claims = await verifyTokenClaims(token, this.key);
      this.verified.set(token, claims);
    }
    const { actor } = claims;
    const cacheKey = `${actor.role}:${actor.id}`;
    if (!this.known.has(cacheKey)) {
      if (!(await actorExists(this.prisma, actor))) throw new UnauthenticatedError('Authentication failed: unknown actor');
      this.known.set(cacheKey, true);
    }
    return actor;
  }
}
