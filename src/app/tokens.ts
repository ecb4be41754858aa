// API tokens: issuing one (a random secret shown once, only its SHA-256 kept), checking a
// presented one in constant time, the scopes (read < write < admin), and the admin token made on
// the first start of a database that has none.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import type { Stores, TokenRow } from '../db/port.js';
import { ServiceError } from '../errors/problem.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who a request is: the token's id and name (the actor of the events it appends) and its scopes. */
export interface Principal {
  tokenId: string;
  name: string;
  scopes: Scope[];
}

export interface TokenView {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** `dbt_` + 16 hex digits of id + `_` + 43 base64url characters of secret (256 bits). */
const TOKEN_FORMAT = /^dbt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const digest = (secret: string) => createHash('sha256').update(secret).digest();
/** Compared against when the id is unknown, so an unknown id costs what a wrong secret does. */
const NO_TOKEN = digest('no such token');

/** A scope grants itself and every scope below it. */
export function grants(scopes: readonly Scope[], required: Scope): boolean {
  const need = SCOPES.indexOf(required);
  return scopes.some((scope) => SCOPES.indexOf(scope) >= need);
}

export function tokenView(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

export interface NewToken {
  name: string;
  scopes: Scope[];
  expiresAt?: string;
}

/** Creates a token; the secret is in the answer and nowhere else. `first`: only into an empty table (undefined otherwise). */
export async function issueToken(stores: Stores, request: NewToken, now?: Date): Promise<TokenView & { token: string }>;
export async function issueToken(
  stores: Stores,
  request: NewToken,
  now: Date,
  first: true,
): Promise<(TokenView & { token: string }) | undefined>;
export async function issueToken(
  stores: Stores,
  request: NewToken,
  now = new Date(),
  first = false,
): Promise<(TokenView & { token: string }) | undefined> {
  let expiresAt: string | null = null;
  if (request.expiresAt !== undefined) {
    const when = Date.parse(request.expiresAt);
    const pointer = [{ pointer: '/expiresAt', detail: 'expiresAt must be a date-time in the future' }];
    if (Number.isNaN(when) || when <= now.getTime())
      throw new ServiceError(
        'VALIDATION_FAILED',
        `expiresAt ${JSON.stringify(request.expiresAt)} is not in the future`,
        {
          errors: pointer,
        },
      );
    expiresAt = new Date(when).toISOString();
  }
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const scopes = SCOPES.filter((scope) => request.scopes.includes(scope));
  const row = {
    id,
    name: request.name,
    scopes: JSON.stringify(scopes),
    secretHash: digest(secret).toString('hex'),
    createdAt: now.toISOString(),
    expiresAt,
  };
  if (first) {
    if (!(await stores.tokens.insertFirst(row))) return undefined;
  } else if (!(await stores.tokens.insert(row)))
    throw new ServiceError('TOKEN_NAME_TAKEN', `a live token is already named ${JSON.stringify(request.name)}`, {
      errors: [{ pointer: '/name', detail: 'name is in use by another token; revoke it or pick another name' }],
    });
  return { ...tokenView({ ...row, seq: 0, lastUsedAt: null, revokedAt: null }), token: `dbt_${id}_${secret}` };
}

export type Verdict = { principal: Principal } | { refused: 'malformed' | 'unknown' | 'expired' | 'revoked' };

/** Checks a presented token; the secret's digest is compared in constant time. */
export async function verifyToken(stores: Stores, presented: string, now = Date.now()): Promise<Verdict> {
  const match = TOKEN_FORMAT.exec(presented);
  if (match === null) return { refused: 'malformed' };
  const [, id, secret] = match as unknown as [string, string, string];
  const row = await stores.tokens.find(id);
  const expected = row === undefined ? NO_TOKEN : Buffer.from(row.secretHash, 'hex');
  const same = timingSafeEqual(expected, digest(secret));
  if (row === undefined || !same) return { refused: 'unknown' };
  if (row.revokedAt !== null) return { refused: 'revoked' };
  if (row.expiresAt !== null && Date.parse(row.expiresAt) <= now) return { refused: 'expired' };
  return { principal: { tokenId: row.id, name: row.name, scopes: JSON.parse(row.scopes) as Scope[] } };
}

/** The live tokens, oldest first: few (one per person or automation), so read whole. */
export async function listTokens(stores: Pick<Stores, 'tokens'>): Promise<TokenView[]> {
  const { rows } = await stores.tokens.live(Number.MAX_SAFE_INTEGER, 0);
  return rows.map(tokenView);
}

/** A token, live or revoked; 404 when there is none. */
export async function readToken(stores: Pick<Stores, 'tokens'>, id: string): Promise<TokenView> {
  const row = await stores.tokens.find(id);
  if (row === undefined) throw new ServiceError('TOKEN_NOT_FOUND', `no token ${JSON.stringify(id)}`);
  return tokenView(row);
}

/** Revokes a token, unless it is the last live admin token (that would lock every admin out). */
export async function revokeToken(stores: Stores, id: string, now = new Date()): Promise<TokenView> {
  const isAdmin = (r: TokenRow) => (JSON.parse(r.scopes) as Scope[]).includes('admin');
  const revoked = await stores.tokens.revoke(id, now.toISOString(), isAdmin);
  if (revoked === 'not-found') throw new ServiceError('TOKEN_NOT_FOUND', `no live token ${JSON.stringify(id)}`);
  if (revoked === 'last-admin')
    throw new ServiceError(
      'LAST_ADMIN_TOKEN',
      `token ${id} is the last live admin token; create another admin token before revoking it`,
    );
  return tokenView(revoked);
}

/** last_used_at is written at most once a minute per token: a write per request would cost an fsync. */
export class LastUsed {
  private readonly written = new Map<string, number>();
  constructor(
    private readonly stores: Stores,
    private readonly everyMs = 60_000,
  ) {}

  seen(tokenId: string, now = Date.now()): void {
    if (now - (this.written.get(tokenId) ?? Number.NEGATIVE_INFINITY) < this.everyMs) return;
    this.written.set(tokenId, now);
    // Not awaited: a lost touch only delays last_used_at; the request does not wait for it.
    this.stores.tokens.touch(tokenId, new Date(now).toISOString()).catch(() => this.written.delete(tokenId));
  }
}

/** Where the first admin token is written: beside the database, readable by its owner only. */
export const adminTokenFile = (databasePath: string) => `${databasePath}.admin-token`;

/**
 * On the first start of a database without any token (a new one, or one from before tokens), an
 * admin token is made and written to a file with mode 0600 beside the database (not for
 * ':memory:'). Returns the token for the caller to print once, or undefined when tokens exist.
 */
export async function bootstrapAdminToken(
  stores: Stores,
  databasePath: string,
): Promise<{ token: string; file: string | undefined } | undefined> {
  const issued = await issueToken(stores, { name: 'admin', scopes: ['admin'] }, new Date(), true);
  if (issued === undefined) return undefined;
  // No file beside a database that is not a file: the token is printed once, and only there.
  if (databasePath === ':memory:' || stores.engine !== 'sqlite') return { token: issued.token, file: undefined };
  const file = adminTokenFile(databasePath);
  const fd = openSync(file, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${issued.token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token: issued.token, file };
}
