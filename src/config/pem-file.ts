// Certificate files named in the configuration are read when the configuration is loaded, so a missing or
// unreadable file is refused by `config check`, at start and at reload, never found out by the first request.

import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Parsed } from './forms.js';

export interface PemFile {
  readonly path: string;
  readonly pem: string;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export function readCertificateFile(path: string): Parsed<PemFile> {
  if (!isAbsolute(path)) return { ok: false, message: 'expected an absolute path to a PEM file of CA certificates' };
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (!CERTIFICATE.test(pem)) return { ok: false, message: 'the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  return { ok: true, value: { path, pem } };
}
