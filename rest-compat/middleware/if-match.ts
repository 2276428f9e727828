/**
 * Reads `If-Match` / `If-None-Match` (RFC 9110 §13.1) into typed values. Only parses: which tag means which version,
 * and whether a missing header is 428, is the route's business (see v2/conditional.ts).
 */
import { createMiddleware } from 'hono/factory';
import { ValidationError } from '../../src/domain/errors.ts';

export type EntityTag = { weak: boolean; opaque: string };

/** `missing`: no header; `any`: `*`; `tags`: the listed entity tags (at least one). */
export type Precondition = { kind: 'missing' } | { kind: 'any' } | { kind: 'tags'; tags: EntityTag[] };

export type IfMatchVariables = { ifMatch: Precondition; ifNoneMatch: Precondition };

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

/** Splits a list on the commas outside quoted strings. */
function listElements(value: string): string[] {
  const elements: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of value) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      elements.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  elements.push(current);
  return elements;
}

/** Parses a header of the form `"*" / #entity-tag`; null when it is not syntactically valid. */
export function parsePrecondition(value: string | undefined): Precondition | null {
  if (value === undefined || value.trim() === '') return { kind: 'missing' };
  if (value.trim() === '*') return { kind: 'any' };
  const tags: EntityTag[] = [];
  for (const element of listElements(value)) {
    const trimmed = element.trim();
    if (trimmed === '') continue; // RFC 9110 §5.6.1: empty list elements are ignored
    const match = ENTITY_TAG.exec(trimmed);
    if (!match) return null;
    tags.push({ weak: match[1] !== undefined, opaque: match[2]! });
  }
  return tags.length ? { kind: 'tags', tags } : null;
}

/** RFC 9110 §13.1.2 If-None-Match uses the weak comparison: equal opaque parts, weakness ignored. */
export function noneMatchFails(condition: Precondition, currentOpaque: string): boolean {
  if (condition.kind === 'any') return true;
  return condition.kind === 'tags' && condition.tags.some((tag) => tag.opaque === currentOpaque);
}

/**
 * Puts `c.var.ifMatch`; a malformed header is 400 (it is a header syntax error, which SPEC §5 ranks before 428).
 * @example app.post('/orders/:id/acceptance', ifMatch(), handler)
 */
export function ifMatch() {
  return createMiddleware<{ Variables: IfMatchVariables }>(async function readIfMatch(c, next) {
    const condition = parsePrecondition(c.req.header('if-match'));
    if (!condition) throw ValidationError.of('If-Match', 'must be * or a comma-separated list of entity tags such as "o42-v3"');
    c.set('ifMatch', condition);
    await next();
  });
}

/**
 * Puts `c.var.ifNoneMatch`; a malformed header is ignored, since honouring it could only save a response body.
 * @example app.get('/orders/:id', ifNoneMatch(), handler)
 */
export function ifNoneMatch() {
  return createMiddleware<{ Variables: IfMatchVariables }>(async function readIfNoneMatch(c, next) {
    c.set('ifNoneMatch', parsePrecondition(c.req.header('if-none-match')) ?? { kind: 'missing' });
    await next();
  });
}
