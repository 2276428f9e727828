/**
 * Where the service may send a webhook (SPEC §9). Outside production any http(s) URL, loopback included, so that a
 * developer's receiver on localhost works. In production only `https`, and only public addresses: no loopback,
 * private, link-local (the cloud metadata service at 169.254.169.254 among them), unique-local or otherwise reserved
 * address — checked once when the endpoint is registered, and again on every connection, against the address the
 * socket actually connects to (request-filtering-agent's lookup hook), so DNS that changes after registration
 * (DNS rebinding) cannot reach inside.
 */
import { lookup } from 'node:dns/promises';
import type { Agent } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { ValidationError } from '../errors.ts';

export const MAX_URL_LENGTH = 2048;

/** Why a resolved address may not be connected to in production, or null when it may. */
export function forbiddenAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'is not an IP address';
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : `resolves to a ${range} address (${address})`;
}

/**
 * Parses and checks an endpoint URL; throws a ValidationError on `url` otherwise. In production the host is resolved
 * and every address it resolves to must be public.
 */
export async function checkEndpointUrl(raw: string, production: boolean): Promise<URL> {
  const refuse = (message: string) => ValidationError.of('url', message);
  if (raw.length > MAX_URL_LENGTH) throw refuse(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('must be an http(s) URL');
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (!production) return url;
  if (url.protocol !== 'https:') throw refuse('must be https');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch {
    throw refuse(`host ${host} does not resolve`);
  }
  for (const address of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason) throw refuse(`must be a public address: ${host} ${reason}`);
  }
  return url;
}

/**
 * The connection pools deliveries use, one per endpoint (so that one endpoint's hanging requests never take the
 * sockets of another endpoint on the same host); in production each connection is checked against the forbidden
 * ranges.
 */
export function deliveryAgents(
  production: boolean,
  maxSockets: number,
): { agentFor(endpointId: number, url: URL): Agent; destroy(): void } {
  const options = { keepAlive: true, maxSockets };
  const pools = new Map<string, Agent>();
  return {
    agentFor(endpointId, url) {
      const key = `${endpointId} ${url.protocol}`;
      let agent = pools.get(key);
      if (!agent) {
        if (url.protocol === 'https:') agent = production ? new RequestFilteringHttpsAgent(options) : new HttpsAgent(options);
        else agent = production ? new RequestFilteringHttpAgent(options) : new HttpAgent(options);
        pools.set(key, agent);
      }
      return agent;
    },
    destroy() {
      for (const agent of pools.values()) agent.destroy();
      pools.clear();
    },
  };
}
