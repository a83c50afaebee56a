// Salted scrypt password hashes as stored in the configuration: `scrypt$N$r$p$saltB64$hashB64`.
// Hashing runs on libuv's thread pool (async `crypto.scrypt`) so a login never blocks the event loop.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Lane, passwordCheckLimit, threadPoolSize } from './lane.js';

interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

interface PasswordHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Cost for new hashes (issue 3): 32 MiB and 0.1-0.2 s of one core per verification. */
const NEW_HASH_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 };
const NEW_SALT_BYTES = 16;
const NEW_HASH_BYTES = 32;

/**
 * What a stored hash may ask for. The config file is operator input, so a typo such as N=2^30 must be refused
 * rather than allocate gigabytes on every login, while OWASP's recommended N=2^17, r=8 (128 MiB) still fits.
 * The floors refuse hashes too cheap to slow down guessing: Node's default N, and the 32-bit minimum salt of
 * NIST SP 800-63B section 5.1.1.2 rounded up to 8 bytes.
 */
const LIMITS = {
  minN: 2 ** 14,
  maxR: 32,
  maxP: 16,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxWork: 2 ** 22, // N·r·p, 16 times the cost of a new hash
  saltBytes: { min: 8, max: 64 },
  hashBytes: { min: 16, max: 64 },
} as const;

const DECIMAL = /^[1-9][0-9]{0,9}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes OpenSSL's EVP_PBE_scrypt allocates (B: 128·r·p, V: 128·r·(N+2)); Node refuses anything above maxmem. */
function scryptMemoryBytes({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function withinLimits(params: ScryptParams): boolean {
  const { N, r, p } = params;
  return (
    Number.isInteger(Math.log2(N)) &&
    N >= LIMITS.minN &&
    r <= LIMITS.maxR &&
    p <= LIMITS.maxP &&
    N * r * p <= LIMITS.maxWork &&
    scryptMemoryBytes(params) <= LIMITS.maxMemoryBytes
  );
}

function decodeBase64(text: string, bounds: { readonly min: number; readonly max: number }): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length >= bounds.min && bytes.length <= bounds.max ? bytes : undefined;
}

function parsePasswordHash(text: string): PasswordHash | undefined {
  const fields = text.split('$');
  if (fields.length !== 6 || fields[0] !== 'scrypt') return undefined;
  const [, nText = '', rText = '', pText = '', saltText = '', hashText = ''] = fields;
  if (!DECIMAL.test(nText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return undefined;
  const params: ScryptParams = { N: Number(nText), r: Number(rText), p: Number(pText) };
  if (!withinLimits(params)) return undefined;
  const salt = decodeBase64(saltText, LIMITS.saltBytes);
  const hash = decodeBase64(hashText, LIMITS.hashBytes);
  if (salt === undefined || hash === undefined) return undefined;
  return Object.assign({}, params, { salt, hash });
}

function deriveKey(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = Object.assign({}, params, { maxmem: scryptMemoryBytes(params) });
  // The executor turns scrypt's synchronous parameter errors into a rejection.
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, keyLength, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/**
 * Every verification in the process goes through this one lane, as every one uses the one thread pool: the
 * proxy's and the metrics listener's checks alike, whichever runtime (reload) created their authenticator.
 */
const VERIFICATIONS = new Lane(passwordCheckLimit(threadPoolSize(process.env.UV_THREADPOOL_SIZE)));

/** Verifications running in the thread pool, and waiting for a place there. */
export function verificationLoad(): { readonly limit: number; readonly running: number; readonly waiting: number } {
  return { limit: VERIFICATIONS.limit, running: VERIFICATIONS.running, waiting: VERIFICATIONS.waiting };
}

function encode({ N, r, p, salt, hash }: PasswordHash): string {
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Hashes the exact UTF-8 bytes of `password` (no trimming, no Unicode normalisation) with a fresh salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(NEW_SALT_BYTES);
  const hash = await deriveKey(password, salt, NEW_HASH_BYTES, NEW_HASH_PARAMS);
  return encode(Object.assign({}, NEW_HASH_PARAMS, { salt, hash }));
}

/** False for a wrong password and for anything `isPasswordHash` refuses; the comparison is constant-time. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const stored = parsePasswordHash(encoded);
  if (stored === undefined) return false;
  const candidate = await VERIFICATIONS.run(() => deriveKey(password, stored.salt, stored.hash.length, stored));
  return timingSafeEqual(candidate, stored.hash);
}

/** Whether `text` is a hash `verifyPassword` will use: the syntax above with parameters inside the limits. */
export function isPasswordHash(text: string): boolean {
  return parsePasswordHash(text) !== undefined;
}

/**
 * A well-formed hash at the cost of a new one, with an all-zero key. The authenticator verifies unknown user
 * names against it so that they take as long as a wrong password.
 */
export const DUMMY_PASSWORD_HASH: string = encode(
  Object.assign({}, NEW_HASH_PARAMS, {
    salt: Buffer.alloc(NEW_SALT_BYTES),
    hash: Buffer.alloc(NEW_HASH_BYTES),
  }),
);
