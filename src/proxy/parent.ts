// gateway → parent proxy (CONNECT host:port, the parent's own Basic credentials) → target. Its settings are
// `relayProxy:` and the `relay-proxy` command, names kept as they were published.
// The outbound leg of a tunnel, and of a plain-HTTP request too: that one is also a CONNECT to host:port
// (one code path, and a parent that only speaks CONNECT still works). The policy has already allowed the
// target; the parent resolves the name, so the address rules cannot be applied to names sent there.
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates } from 'node:tls';
import type { ParentProxyConfig } from '../config/types.js';
import { PatternMap } from '../policy/patterns.js';
import { formatAuthority } from '../policy/target.js';
import type { Target } from '../policy/types.js';
import { ProxyError, type ProxyErrorCode } from './errors.js';

export interface CompiledParent {
  readonly config: ParentProxyConfig;
  /** The `Proxy-Authorization` value sent to the parent, or undefined without credentials. */
  readonly authorization: string | undefined;
  readonly bypass: PatternMap<true>;
  /** Trusted CAs for an https:// parent: the system's plus the configured file's. */
  readonly ca: readonly string[] | undefined;
}

/** The parent's answer head is small; more than this without the blank line is not a proxy talking. */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

export function compileParent(config: ParentProxyConfig): CompiledParent {
  const bypass = new PatternMap<true>();
  for (const pattern of config.bypass) bypass.add(pattern, true);
  const { username, password } = config;
  const authorization =
    username === undefined || password === undefined
      ? undefined
      : `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  const ca = config.ca === undefined ? undefined : [...rootCertificates, config.ca];
  return { config, authorization, bypass, ca };
}

/** The parent proxy `target` is reached through: none when none is configured or its bypass list names the target. */
export function parentFor(parent: CompiledParent | undefined, target: Target): CompiledParent | undefined {
  return parent !== undefined && parent.bypass.match(target.host).length === 0 ? parent : undefined;
}

/**
 * A failure at the parent proxy: its URL (never its credentials), what went wrong and, when it answered, its
 * status code. For the audit log only: the client's answer names neither the parent nor what it said.
 */
export class ParentError extends ProxyError {
  readonly parentUrl: string;
  readonly parentStatus: number | undefined;
  /** What went wrong, for the operator: "answered 407 (check relayProxy.username and password)". */
  readonly why: string;

  constructor(code: ProxyErrorCode, parentUrl: string, why: string, parentStatus?: number, cause?: unknown) {
    super(code, { cause, detail: `relay proxy ${parentUrl} ${why}` });
    this.name = 'ParentError';
    this.parentUrl = parentUrl;
    this.parentStatus = parentStatus;
    this.why = why;
  }
}

/** Audit fields of a failure at the parent proxy (named relay*, as published); none for other failures. */
export function parentAuditFields(err: unknown): Record<string, unknown> {
  return err instanceof ParentError ? { relay: err.parentUrl, relayStatus: err.parentStatus, relayError: err.why } : {};
}


/**
 * Opens a tunnel to `target` through the parent proxy within `timeoutMs` (TCP, TLS for an https:// parent,
 * and the parent's answer). Resolves with a socket whose next bytes come from the target; throws ParentError
 * 'relay-refused' (any answer but 2xx), 'relay-unreachable' or 'relay-timeout'.
 */
export function dialViaParent(target: Target, parent: CompiledParent, timeoutMs: number): Promise<Socket> {
  const { config } = parent;
  return new Promise((resolve, reject) => {
    let settled = false;
    const tcp = connect({ host: config.host, port: config.port, allowHalfOpen: true, noDelay: true });
    let socket: Socket = tcp;
    const fail = (err: ParentError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      tcp.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ParentError('relay-timeout', config.url, `did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      fail(new ParentError('relay-unreachable', config.url, `could not be reached (${err.code ?? err.message})`, undefined, err));
    };
    const sendConnect = (): void => {
      const credentials = parent.authorization === undefined ? '' : `Proxy-Authorization: ${parent.authorization}\r\n`;
      socket.write(`CONNECT ${formatAuthority(target)} HTTP/1.1\r\nHost: ${formatAuthority(target)}\r\n${credentials}\r\n`);
      readAnswer(socket, (answer) => {
        if (answer.kind === 'closed') {
          fail(new ParentError('relay-unreachable', config.url, 'closed the connection without answering'));
        } else if (answer.kind === 'garbled') {
          fail(new ParentError('relay-unreachable', config.url, 'did not answer like an HTTP proxy'));
        } else if (answer.status < 200 || answer.status > 299) {
          const hint = answer.status === 407 ? ' (check relayProxy.username and password)' : '';
          fail(new ParentError('relay-refused', config.url, `answered ${answer.status}${hint}`, answer.status));
        } else if (!settled) {
          settled = true;
          clearTimeout(timer);
          socket.off('error', onError);
          if (answer.rest.length > 0) socket.unshift(answer.rest);
          resolve(socket);
        }
      });
    };
    tcp.once('error', onError);
    tcp.once('connect', () => {
      if (config.protocol === 'http') {
        sendConnect();
        return;
      }
      tcp.off('error', onError);
      const tls = tlsConnect({
        socket: tcp,
        // SNI carries names only (RFC 6066 §3).
        servername: isIP(config.host) === 0 ? config.host : undefined,
        ...(parent.ca === undefined ? {} : { ca: [...parent.ca] }),
      });
      socket = tls;
      tls.once('error', onError);
      tls.once('secureConnect', sendConnect);
    });
  });
}

type Answer =
  | { readonly kind: 'head'; readonly status: number; readonly rest: Buffer }
  | { readonly kind: 'closed' }
  | { readonly kind: 'garbled' };

/** Reads the parent's response head without consuming a byte past it (those belong to the tunnel). */
function readAnswer(socket: Socket, done: (answer: Answer) => void): void {
  let received = Buffer.alloc(0);
  const finish = (answer: Answer): void => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    done(answer);
  };
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]);
    const end = received.indexOf(HEAD_END);
    if (end === -1) {
      if (received.length > MAX_HEAD_BYTES) finish({ kind: 'garbled' });
      return;
    }
    const statusLine = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
    const match = /^HTTP\/1\.[01] ([0-9]{3})(?: |$)/.exec(statusLine);
    if (match?.[1] === undefined) finish({ kind: 'garbled' });
    else finish({ kind: 'head', status: Number(match[1]), rest: received.subarray(end + HEAD_END.length) });
  };
  const onEnd = (): void => finish({ kind: 'closed' });
  socket.on('data', onData);
  socket.once('end', onEnd);
}
