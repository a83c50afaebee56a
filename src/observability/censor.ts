// The last guard between a log record and the destination: credentials that slipped into a record are
// replaced before it is written. Records are built from named fields and never should carry one; this is
// for the one that does (an error's properties, a diff of the users file).
//
// pino's own `redact` (path patterns with wildcards) did the same at about 18 µs a record, seven times the
// cost of writing the record, three records per tunnel (issue 14). This walks the record once, copies
// only what it censors, and never changes the caller's objects.

export const CENSORED = '[redacted]';

/** Keys whose value is a credential, at any depth the walk reaches. */
const CREDENTIAL_KEYS: ReadonlySet<string> = new Set(['password', 'passwordHash']);

/** Header names whose value is a credential, in any object under a `headers` key. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization']);

/**
 * How deep the walk looks. Records nest two or three objects at most (`user.password`,
 * `req.headers.authorization`, `users[0].passwordHash`); the bound also ends a cyclic value's walk.
 */
const MAX_DEPTH = 5;

/** `record` with every credential it holds replaced by [redacted]: the record itself when it holds none. */
export function censorCredentials<T extends object>(record: T): T {
  return censorObject(record, 0, false);
}

function censorObject<T extends object>(value: T, depth: number, isHeaders: boolean): T {
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const item = source[key];
    let replaced: unknown = item;
    if (item !== undefined && (CREDENTIAL_KEYS.has(key) || (isHeaders && CREDENTIAL_HEADERS.has(key.toLowerCase())))) {
      replaced = CENSORED;
    } else if (typeof item === 'object' && item !== null && depth < MAX_DEPTH && !ArrayBuffer.isView(item)) {
      // (Bytes are not walked: a Buffer's keys are its bytes.)
      replaced = censorObject(item, depth + 1, key.toLowerCase() === 'headers');
    }
    if (replaced === item) continue;
    copy ??= copyOf(value);
    // Defined, not assigned: the copied property may be read-only.
    Object.defineProperty(copy, key, { value: replaced, enumerable: true, writable: true, configurable: true });
  }
  return (copy ?? value) as T;
}

/** A shallow copy that serialises as the original does: an array stays an array, an Error keeps its message and stack. */
function copyOf(value: object): Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return [...(value as unknown[])];
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  // Configurable in the copy, whatever they were, so that a censored one can be redefined.
  const descriptors = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
  for (const descriptor of Object.values(descriptors)) descriptor.configurable = true;
  return Object.defineProperties(copy, descriptors);
}
