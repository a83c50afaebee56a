// Real TLS handshakes for the parser and inspection tests, captured at test time from the clients agents are
// built on: Node's tls, curl and openssl s_client. A client connects to a loopback listener that records what
// it sends; for a whole handshake, the listener forwards to an HTTPS server and records both directions.
// Nothing binary is committed, so the captures follow whatever the installed clients send today.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { readHandshakeStream } from '../../src/tls/records.js';
import { testPki } from '../fixtures/pki.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

const execFileAsync = promisify(execFile);

/** The workspace and agent IDs of the agent-like client certificate. */
export const AGENT_WORKSPACE = '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
export const AGENT_GUID = '7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9';

export interface ClientCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A client certificate made the way the Linux agent's omsadmin.sh makes its own: self-signed, by openssl. */
export async function agentCertificate(subject = `/CN=${AGENT_WORKSPACE}/CN=${AGENT_GUID}/OU=Linux Monitoring Agent/O=Microsoft`): Promise<ClientCertificate> {
  requireCommand('openssl');
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-agent-cert-'));
  const certFile = join(dir, 'agent.crt');
  const keyFile = join(dir, 'agent.key');
  await execFileAsync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', subject]);
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  process.once('exit', () => void rm(dir, { recursive: true, force: true }));
  return { certFile, keyFile, certPem, keyPem };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: Server, sockets: Iterable<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A client run against `port`; resolves when it has finished or failed (the capture cuts it off). */
export type Client = (port: number) => Promise<unknown>;

/**
 * What a client sends first: its bytes up to a complete first handshake message (the ClientHello). The
 * connection is then cut, which ends the client.
 */
export async function captureHello(client: Client): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  let complete: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (complete = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (sockets.size > 1) return;
      chunks.push(chunk);
      if (readHandshakeStream(Buffer.concat(chunks), 1 << 20).messages.length > 0) {
        socket.destroy();
        complete();
      }
    });
  });
  const port = await listen(server);
  await Promise.all([client(port), done]);
  await close(server, sockets);
  return Buffer.concat(chunks);
}

export interface Recording {
  /** Bytes from the client to the server, in order. */
  readonly client: Buffer;
  readonly server: Buffer;
}

export interface HandshakeServerOptions {
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Ask for a client certificate (any is accepted). */
  readonly requestCert?: boolean;
}

/** A whole exchange of one client with an HTTPS server (the test PKI's certificate), both directions recorded. */
export async function captureHandshake(options: HandshakeServerOptions, client: Client): Promise<Recording> {
  const pki = await testPki();
  const https = createHttpsServer(
    { key: pki.keyPem, cert: pki.certPem, maxVersion: options.maxVersion ?? 'TLSv1.3', requestCert: options.requestCert ?? false, rejectUnauthorized: false },
    (_req, res) => res.end('ok'),
  );
  const httpsPort = await listen(https);
  const fromClient: Buffer[] = [];
  const fromServer: Buffer[] = [];
  const sockets = new Set<Socket>();
  const recorder = createServer((socket) => {
    const upstream = connect(httpsPort, '127.0.0.1');
    sockets.add(socket).add(upstream);
    for (const s of [socket, upstream]) s.on('error', () => s.destroy());
    socket.on('data', (chunk: Buffer) => fromClient.push(chunk));
    upstream.on('data', (chunk: Buffer) => fromServer.push(chunk));
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  const port = await listen(recorder);
  await client(port);
  await close(recorder, sockets);
  https.closeAllConnections();
  await new Promise((resolve) => https.close(resolve));
  return { client: Buffer.concat(fromClient), server: Buffer.concat(fromServer) };
}

export const SERVER_NAME = 'ws1.ods.opinsights.azure.com';

export interface MutualTlsOrigin {
  readonly port: number;
  /** Handshakes the origin completed. */
  readonly secure: () => number;
  close(): Promise<void>;
}

/**
 * An HTTPS origin for the Azure names that asks for a client certificate (any is accepted, as the service
 * accepts the agent's self-signed one) and answers every request with the certificate's subject.
 */
export async function startMutualTlsOrigin(maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<MutualTlsOrigin> {
  const pki = await testPki();
  let secure = 0;
  const server = createHttpsServer({ key: pki.keyPem, cert: pki.certPem, maxVersion, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerX509Certificate();
    res.end(peer === undefined ? 'no certificate' : peer.subject.split('\n').join(', '));
  });
  server.on('secureConnection', () => (secure += 1));
  const port = await listen(server);
  return {
    port,
    secure: () => secure,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Node's tls client: handshake (verified against the test CA unless told otherwise), then close. */
export function nodeClient(options: ConnectionOptions = {}): Client {
  return async (port) => {
    const pki = await testPki();
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca: pki.caPem, ...options });
      socket.once('secureConnect', () => socket.end());
      socket.once('close', () => resolve());
      socket.on('error', () => undefined);
    });
  };
}

/** curl fetching https://SERVER_NAME:port/ with extra arguments (--tls-max 1.2, --cert, ...). */
export function curlClient(extra: readonly string[] = []): Client {
  return async (port) => {
    requireCommand('curl');
    const pki = await testPki();
    await runCommand('curl', ['-sS', '--max-time', '10', '--cacert', pki.caFile, '--resolve', `${SERVER_NAME}:${port}:127.0.0.1`, ...extra, `https://${SERVER_NAME}:${port}/`]);
  };
}

/** openssl s_client: one handshake, then end of input closes it. */
export function opensslClient(extra: readonly string[] = []): Client {
  return async (port) => {
    requireCommand('openssl');
    const pki = await testPki();
    await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', pki.caFile, ...extra], 15_000);
  };
}
