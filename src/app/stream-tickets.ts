// Tickets for GET /v1/events/stream: a browser's EventSource cannot send Authorization, so a page
// asks for a ticket with its token (POST /v1/events/stream-tickets) and opens the stream with
// ?ticket=. A ticket is short-lived, works once, and stands for the token that asked for it: the
// stream ends when that token is revoked or expires. Only a digest of a ticket is stored.

import { createHash, randomBytes } from 'node:crypto';
import type { Stores } from '../db/port.js';
import type { Principal, Scope } from './tokens.js';

/** How long a ticket can be used after it was made. */
export const TICKET_TTL_MS = 60_000;

const digest = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

/** `dbs_` + 43 base64url characters (256 bits). */
const TICKET_FORMAT = /^dbs_[A-Za-z0-9_-]{43}$/;

export async function issueStreamTicket(
  stores: Stores,
  principal: Principal | null,
  now = Date.now(),
): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = `dbs_${randomBytes(32).toString('base64url')}`;
  const expiresAt = now + TICKET_TTL_MS;
  // With authentication off there is no token: the ticket stands for nobody ('').
  await stores.streamTickets.insert(digest(ticket), principal?.tokenId ?? '', expiresAt, now);
  return { ticket, expiresAt: new Date(expiresAt).toISOString() };
}

/** Uses a ticket: the token id it stands for, or undefined when it is unknown, used or expired. */
export async function redeemStreamTicket(
  stores: Stores,
  ticket: string,
  now = Date.now(),
): Promise<string | undefined> {
  if (!TICKET_FORMAT.test(ticket)) return undefined;
  return stores.streamTickets.redeem(digest(ticket), now);
}

/** Why a token no longer reads: revoked, expired, or gone; undefined while it is good. */
export async function tokenStanding(
  stores: Stores,
  tokenId: string,
  now = Date.now(),
): Promise<'revoked' | 'expired' | 'unknown' | undefined> {
  const row = await stores.tokens.find(tokenId);
  if (row === undefined) return 'unknown';
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt !== null && Date.parse(row.expiresAt) <= now) return 'expired';
  return undefined;
}

/** The principal of a token by id (a ticket's), when it is good. */
export async function principalOf(stores: Stores, tokenId: string): Promise<Principal | undefined> {
  if ((await tokenStanding(stores, tokenId)) !== undefined) return undefined;
  const row = await stores.tokens.find(tokenId);
  if (row === undefined) return undefined;
  return { tokenId: row.id, name: row.name, scopes: JSON.parse(row.scopes) as Scope[] };
}

/** A URL with its ticket hidden, for logs. */
export const withoutTicket = (url: string) => url.replace(/([?&]ticket=)[^&#]*/g, '$1[hidden]');
