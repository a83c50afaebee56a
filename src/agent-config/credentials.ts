// Passwords generated for agents. AMA on Linux builds `http://user:pass@host` without URL-encoding, the Linux
// Log Analytics agent cannot carry '@' and its onboarding URL-decodes '%', and the lines agent-config prints
// are pasted into shells: letters and digits only need no quoting and no encoding anywhere.

import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 24 characters of 62: about 143 bits. */
const LENGTH = 24;
/** Safe unquoted in a POSIX shell and unencoded in a URL's userinfo. */
export const URL_AND_SHELL_SAFE = /^[A-Za-z0-9._-]+$/;

export function generatePassword(): string {
  let password = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < LENGTH; i += 1) password += ALPHABET[randomInt(ALPHABET.length)];
  return password;
}
