/** The one bound on request bodies, shared by /graphql and /api (SPEC §7: a huge body gets a clear 4xx). */

/** Request bodies larger than this are refused with 413 before anything parses them. */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Headers every 413 carries. The refusal is sent while the rest of the body may still be on its way, and nothing
 * reads it any more: Node's adapter stops draining it after a moment and destroys the socket, so a keep-alive client
 * reusing the connection got "socket hang up" (behind a reverse proxy, a 502 for whichever request came next on it).
 * Saying `Connection: close` makes Node close the connection right after the 413 and tells the client and any proxy
 * not to reuse it; draining instead would mean reading up to an unbounded remainder just to keep one connection.
 */
export const PAYLOAD_TOO_LARGE_HEADERS = { Connection: 'close' } as const;
