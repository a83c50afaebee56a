// The checks every proxy request passes before anything is sent upstream, in this order:
// 1. authenticate (407), 2. parse and normalise the target (400), 3. policy decision (403; in report mode an
// allowlist denial is admitted with `wouldDeny` set instead, see policy/decide.ts).
import type { IncomingMessage } from 'node:http';
import type { Target, Decision, TargetResult } from '../policy/types.js';
import type { DenyHint } from '../policy/hints.js';
import { verdictFor } from '../policy/verdict.js';
import { claimedUser, type AuthFailure } from '../auth/authenticator.js';
import type { Lockout } from '../auth/throttle.js';
import type { ProxyErrorCode } from './errors.js';
import { sourceRule, type Runtime } from './runtime.js';
import { getContext } from './context.js';
import { connectionAuth } from '../tls/security.js';

/** A denial that report mode relayed: what enforce mode would have refused, and why. */
export interface WouldDeny {
  readonly decision: Extract<Decision, { allow: false }>;
  readonly hint: DenyHint | undefined;
}

export type Admission =
  | {
      readonly ok: true;
      readonly target: Target;
      readonly user: string | undefined;
      /** The allowlist entry that admitted it; undefined when report mode relayed a name in no entry. */
      readonly entry: string | undefined;
      readonly wouldDeny: WouldDeny | undefined;
      /** The per-source rule the client fell under (`clients:`); undefined: the gateway's own settings. */
      readonly clientRule: string | undefined;
    }
  | {
      readonly ok: false;
      /**
       * 407, or 429 while locked out or with too many attempts under way, and 503 when credentials could
       * not be checked in time (auth/throttle.ts).
       */
      readonly code: 'auth-required' | 'auth-locked' | 'auth-concurrent' | 'auth-busy' | 'plain-credentials';
      readonly authFailure: AuthFailure;
      /** The CONNECT authority or the absolute URI's host, as the client sent it (not yet validated). */
      readonly claimedTarget: string;
      /** The user name the credentials claim, whether or not it exists; never the password. */
      readonly claimedUser: string | undefined;
      /** Lockouts this failure started. */
      readonly lockouts: readonly Lockout[];
      readonly clientRule?: string | undefined;
    }
  | { readonly ok: false; readonly code: 'bad-target'; readonly targetError: string; readonly user: string | undefined; readonly clientRule?: string | undefined }
  | {
      readonly ok: false;
      readonly code: 'denied';
      readonly decision: Extract<Decision, { allow: false }>;
      readonly target: Target;
      readonly user: string | undefined;
      /** What the operator could change; refusals built after admission (address rules) carry none. */
      readonly hint?: DenyHint | undefined;
      readonly clientRule?: string | undefined;
    };

export type Refusal = Extract<Admission, { ok: false }>;
export type RefusalCode = Refusal['code'] & ProxyErrorCode;

const AUTH_REFUSALS: Partial<Record<AuthFailure, 'auth-locked' | 'auth-concurrent' | 'auth-busy' | 'plain-credentials'>> = {
  'locked-out': 'auth-locked',
  'too-many-attempts': 'auth-concurrent',
  busy: 'auth-busy',
  'plain-credentials': 'plain-credentials',
};

export async function admit(
  runtime: Runtime,
  req: IncomingMessage,
  client: string,
  parseTarget: () => TargetResult,
): Promise<Admission> {
  const credentials = req.headersDistinct['proxy-authorization'];
  // Per-source rules choose the authentication and the allowlist by the client's (real) address.
  const source = sourceRule(runtime, client);
  const clientRule = source.name;
  // A TLS listener may refuse credentials sent in clear, or take a client certificate instead of them.
  const byConnection = connectionAuth(getContext(req.socket).security, credentials !== undefined, source.auth.mode);
  const authResult =
    byConnection.kind === 'refuse'
      ? ({ ok: false, reason: 'plain-credentials', lockouts: [] } as const)
      : byConnection.kind === 'certificate'
        ? ({ ok: true, user: byConnection.user } as const)
        : credentials !== undefined && credentials.length > 1
          ? ({ ok: false, reason: 'malformed', lockouts: [] } as const)
          : await runtime.authThrottle.authenticate(source.auth, credentials?.[0], client);
  if (!authResult.ok) {
    const header = credentials?.[0];
    return {
      ok: false,
      code: AUTH_REFUSALS[authResult.reason] ?? 'auth-required',
      authFailure: authResult.reason,
      lockouts: authResult.lockouts,
      claimedTarget: claimedTarget(req),
      claimedUser: header === undefined ? undefined : claimedUser(header),
      clientRule,
    };
  }

  const parsed = parseTarget();
  if (!parsed.ok) return { ok: false, code: 'bad-target', targetError: parsed.code, user: authResult.user, clientRule };

  const { target } = parsed;
  const { decision, hint } = verdictFor(source.policy, { target, client, user: authResult.user });
  if (decision.allow) return { ok: true, target, user: authResult.user, entry: decision.entry, wouldDeny: undefined, clientRule };
  if (decision.reportOnly) return { ok: true, target, user: authResult.user, entry: decision.entry, wouldDeny: { decision, hint }, clientRule };
  return { ok: false, code: 'denied', decision, target, user: authResult.user, hint, clientRule };
}

/** The CONNECT authority, or the host of an absolute URI (the whole target when it does not parse). */
function claimedTarget(req: IncomingMessage): string {
  const target = req.url ?? '';
  return req.method !== 'CONNECT' && URL.canParse(target) ? new URL(target).host : target;
}
