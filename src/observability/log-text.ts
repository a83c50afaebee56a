// Text a client chose (a claimed user name, a request target), made fit for an audit field: JSON escapes
// only what JSON needs, so line and paragraph separators, bidirectional overrides and other invisible or
// control characters would reach a terminal, a log viewer or a JavaScript consumer raw.

// C0 and C1 controls, DEL, zero-width and bidi formatting characters, line and paragraph separators,
// the BOM, lone surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Characters kept by default: the longest user name the configuration accepts. */
const MAX_CHARS = 256;

/**
 * `text` with every unsafe character written as `\uXXXX`, cut to `maxChars` characters (code points) and
 * marked `…` when cut, so a record stays small whatever the client sent.
 */
export function clientText(text: string, maxChars = MAX_CHARS): string {
  const chars = [...text];
  const kept = chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}…` : text;
  return kept.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
