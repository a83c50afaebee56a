// `oms-gateway cert generate|show|request`: the certificates of the gateway's TLS listeners. `generate` makes a
// private CA and a server certificate (the CA certificate is what agents and `curl --proxy-cacert` trust);
// `request` makes a key and a CSR for an enterprise CA; `show` prints what a PEM file holds.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../config/write.js';
import { CertificateToolError, createCertificateRequest, describeCertificateRequest, generateCertificates, KEY_SIZES, type KeySize } from '../../tls/certs.js';
import { describeCertificate, type CertificateDescription } from '../../tls/describe.js';
import { parseSubjectPattern, type SubjectAttribute } from '../../tls/subjects.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';

const DEFAULT_DIR = 'certs';
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
const MAX_DAYS = 36_500;
/** RFC 1123 labels; a leading `*.` for a wildcard SAN. */
const HOST_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

const COMMON = { out: { type: 'string' }, host: { type: 'string', multiple: true }, 'key-size': { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } } as const;
const GENERATE_OPTIONS = { ...COMMON, days: { type: 'string' }, 'ca-days': { type: 'string' }, 'ca-cert': { type: 'string' }, 'ca-key': { type: 'string' } } as const;
const REQUEST_OPTIONS = { ...COMMON, subject: { type: 'string' }, key: { type: 'string' } } as const;

interface Output {
  readonly path: string;
  readonly text: string;
  readonly mode: number;
}

function hostsFrom(command: string, given: readonly string[] | undefined): string[] {
  const hosts = given ?? [hostname().toLowerCase(), 'localhost', '127.0.0.1', '::1'];
  const checked = hosts.map((host) => {
    const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (isIP(name) === 0 && (!HOST_NAME.test(name) || name.length > 253)) {
      throw new UsageError(`${command}: --host "${host}" is neither a DNS name nor an IP address`);
    }
    return name;
  });
  return [...new Set(checked)];
}

function keySizeFrom(command: string, text: string | undefined): KeySize {
  if (text === undefined) return 2048;
  const size = KEY_SIZES.find((candidate) => String(candidate) === text);
  if (size === undefined) throw new UsageError(`${command}: --key-size must be one of ${KEY_SIZES.join(', ')}`);
  return size;
}

function daysFrom(command: string, flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const days = Number(text);
  if (!/^[1-9][0-9]*$/.test(text) || days > MAX_DAYS) throw new UsageError(`${command}: ${flag} must be a whole number of days from 1 to ${MAX_DAYS}`);
  return days;
}

async function readInput(command: string, flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CommandFailed(`${command}: cannot read ${flag} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes every output atomically with its mode; refuses to replace files unless --force. */
async function writeOutputs(command: string, dir: string, outputs: readonly Output[], force: boolean): Promise<void> {
  if (!force) {
    const present = [];
    for (const output of outputs) if (await exists(output.path)) present.push(output.path);
    if (present.length > 0) throw new CommandFailed(`${command}: ${present.join(', ')} already exist; give --force to replace them`);
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    for (const output of outputs) await writeFileAtomic(output.path, output.text, output.mode);
  } catch (err) {
    throw new CommandFailed(`${command}: cannot write to ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function toolFailure(command: string, err: unknown): never {
  if (err instanceof CertificateToolError) throw new CommandFailed(`${command}: ${err.message}`);
  throw err;
}

async function generate(args: readonly string[]): Promise<number> {
  const command = 'cert generate';
  const { values, positionals } = parse(command, args, GENERATE_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`);
  if ((values['ca-cert'] === undefined) !== (values['ca-key'] === undefined)) throw new UsageError(`${command}: --ca-cert and --ca-key go together`);
  const dir = resolve(values.out ?? DEFAULT_DIR);
  const hosts = hostsFrom(command, values.host);
  const ca =
    values['ca-cert'] === undefined || values['ca-key'] === undefined
      ? undefined
      : { certPem: await readInput(command, '--ca-cert', values['ca-cert']), keyPem: await readInput(command, '--ca-key', values['ca-key']) };
  let pki;
  try {
    pki = generateCertificates({
      hosts,
      keySize: keySizeFrom(command, values['key-size']),
      days: daysFrom(command, '--days', values.days, 397),
      caDays: daysFrom(command, '--ca-days', values['ca-days'], 3650),
      ...(ca === undefined ? {} : { ca }),
    });
  } catch (err) {
    return toolFailure(command, err);
  }
  const files = { ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'gateway.crt'), key: join(dir, 'gateway.key') };
  const outputs: Output[] = [
    { path: files.cert, text: pki.certPem, mode: CERT_MODE },
    { path: files.key, text: pki.keyPem, mode: KEY_MODE },
  ];
  // An existing CA's certificate is copied beside the others (clients trust it); its key stays where it is.
  if (values['ca-cert'] === undefined || resolve(values['ca-cert']) !== files.ca) outputs.push({ path: files.ca, text: pki.caCertPem, mode: CERT_MODE });
  if (pki.caKeyPem !== undefined) outputs.push({ path: files.caKey, text: pki.caKeyPem, mode: KEY_MODE });
  await writeOutputs(command, dir, outputs, values.force === true);

  const served = describeCertificate(new X509Certificate(pki.certPem));
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ files: outputs.map((output) => output.path), certificate: served })}\n`);
    return 0;
  }
  process.stdout.write(
    [
      ...outputs.map((output) => `wrote ${output.path} (mode ${output.mode.toString(8).padStart(4, '0')})`),
      `server certificate for ${served.subjectAltNames.join(', ')}, valid until ${served.notAfter}`,
      `SHA-256 fingerprint ${served.fingerprint256}`,
      '',
      'Serve it from a listener of the configuration file:',
      `  listen: [{address: "0.0.0.0:8080", tls: {cert: ${files.cert}, key: ${files.key}}}]`,
      `Clients trust the CA: curl -x https://<gateway>:8080 --proxy-cacert ${files.ca} ...`,
      pki.caKeyPem === undefined ? '' : `Keep ${files.caKey} offline once the certificates you need are made.`,
    ].join('\n') + '\n',
  );
  return 0;
}

function subjectFrom(command: string, text: string | undefined, hosts: readonly string[]): SubjectAttribute[] {
  const written = text ?? `CN=${hosts[0] ?? hostname()}`;
  const parsed = parseSubjectPattern(written);
  if (!parsed.ok) throw new UsageError(`${command}: --subject: ${parsed.message}`);
  return [...parsed.pattern.attributes];
}

async function request(args: readonly string[]): Promise<number> {
  const command = 'cert request';
  const { values, positionals } = parse(command, args, REQUEST_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`);
  const dir = resolve(values.out ?? DEFAULT_DIR);
  const hosts = hostsFrom(command, values.host);
  const keyPem = values.key === undefined ? undefined : await readInput(command, '--key', values.key);
  let made;
  try {
    made = createCertificateRequest({
      hosts,
      subject: subjectFrom(command, values.subject, hosts),
      keySize: keySizeFrom(command, values['key-size']),
      ...(keyPem === undefined ? {} : { keyPem }),
    });
  } catch (err) {
    return toolFailure(command, err);
  }
  const files = { csr: join(dir, 'gateway.csr'), key: join(dir, 'gateway.key') };
  const outputs: Output[] = [{ path: files.csr, text: made.csrPem, mode: CERT_MODE }];
  if (made.keyPem !== undefined) outputs.push({ path: files.key, text: made.keyPem, mode: KEY_MODE });
  await writeOutputs(command, dir, outputs, values.force === true);
  const described = describeCertificateRequest(made.csrPem);
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ files: outputs.map((output) => output.path), request: described })}\n`);
    return 0;
  }
  const keyFile = values.key === undefined ? files.key : resolve(values.key);
  process.stdout.write(
    [
      ...outputs.map((output) => `wrote ${output.path} (mode ${output.mode.toString(8).padStart(4, '0')})`),
      `request for ${described.subject}; SANs ${described.subjectAltNames.join(', ')}`,
      '',
      `Have your CA sign ${files.csr} for TLS server authentication, save the certificate (then its`,
      `intermediate certificates) as ${join(dir, 'gateway.crt')}, and serve it with the key ${keyFile}.`,
    ].join('\n') + '\n',
  );
  return 0;
}

type Shown = { readonly kind: 'certificate'; readonly certificate: CertificateDescription } | { readonly kind: 'request'; readonly request: ReturnType<typeof describeCertificateRequest> } | { readonly kind: 'private-key'; readonly key: string };

function describeBlock(command: string, label: string, pem: string): Shown | undefined {
  try {
    if (label === 'CERTIFICATE') return { kind: 'certificate', certificate: describeCertificate(new X509Certificate(pem)) };
    if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') return { kind: 'request', request: describeCertificateRequest(pem) };
    if (label.endsWith('PRIVATE KEY')) {
      // Only the kind of key: its contents are never printed.
      const key = createPrivateKey(pem);
      const details = key.asymmetricKeyDetails;
      const size = details?.modulusLength === undefined ? (details?.namedCurve ?? '') : `${details.modulusLength} bits`;
      return { kind: 'private-key', key: `${(key.asymmetricKeyType ?? 'unknown').toUpperCase()} ${size}`.trim() };
    }
  } catch (err) {
    if (err instanceof CertificateToolError) throw new CommandFailed(`${command}: a ${label} block: ${err.message}`);
    throw new CommandFailed(`${command}: a ${label} block cannot be read (${(err as Error).message})`);
  }
  return undefined;
}

function showText(shown: Shown, index: number, total: number): string {
  const heading = `${shown.kind} ${index + 1} of ${total}`;
  if (shown.kind === 'private-key') return `${heading}\n  key:          ${shown.key} (not shown)\n`;
  if (shown.kind === 'request') {
    const r = shown.request;
    return `${heading}\n  subject:      ${r.subject}\n  SANs:         ${r.subjectAltNames.join(', ') || '(none)'}\n  key:          ${r.publicKey}\n  signature:    ${r.signatureValid ? 'valid' : 'INVALID'}\n`;
  }
  const c = shown.certificate;
  const state = c.expired ? 'EXPIRED' : `${c.daysLeft} days left`;
  return [
    heading,
    `  subject:      ${c.subject}`,
    `  issuer:       ${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}`,
    `  SANs:         ${c.subjectAltNames.join(', ') || '(none)'}`,
    `  valid:        ${c.notBefore} to ${c.notAfter} (${state})`,
    `  serial:       ${c.serialNumber}`,
    `  SHA-256:      ${c.fingerprint256}`,
    `  key:          ${c.publicKey}`,
    `  CA:           ${c.ca ? 'yes' : 'no'}`,
  ].join('\n') + '\n';
}

async function show(args: readonly string[]): Promise<number> {
  const command = 'cert show';
  const { values, positionals } = parse(command, args, { json: { type: 'boolean' } });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) throw new UsageError(`${command}: give exactly one FILE`);
  const text = await readInput(command, 'FILE', file);
  const shown = [...text.matchAll(PEM_BLOCK)].flatMap((match) => {
    const described = describeBlock(command, match[1] ?? '', match[0]);
    return described === undefined ? [] : [described];
  });
  if (shown.length === 0) throw new CommandFailed(`${command}: ${file} holds no PEM certificate, certificate request or private key`);
  if (values.json === true) process.stdout.write(`${JSON.stringify(shown)}\n`);
  else process.stdout.write(shown.map((item, index) => showText(item, index, shown.length)).join('\n'));
  return 0;
}

export async function cert(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'generate') return generate(rest);
  if (action === 'request') return request(rest);
  if (action === 'show') return show(rest);
  throw new UsageError('cert: expected generate, show or request (see: oms-gateway cert --help)');
}
