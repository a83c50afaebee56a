// The checks every proxy request passes before anything is sent upstream, in this order:
// 1. authenticate (407), 2. parse and normalise the target (400), 3. policy decision (403).
import type { IncomingMessage } from 'node:http';
import type { Target, Decision, TargetResult } from '../policy/types.js';
import { decide } from '../policy/decide.js';
import type { AuthFailure } from '../auth/authenticator.js';
import type { ProxyErrorCode } from './errors.js';
import type { Runtime } from './runtime.js';

export type Admission =
  | { readonly ok: true; readonly target: Target; readonly user: string | undefined; readonly entry: string }
  | { readonly ok: false; readonly code: 'auth-required'; readonly authFailure: AuthFailure }
  | { readonly ok: false; readonly code: 'bad-target'; readonly targetError: string; readonly user: string | undefined }
  | { readonly ok: false; readonly code: 'denied'; readonly decision: Extract<Decision, { allow: false }>; readonly target: Target; readonly user: string | undefined };

export type Refusal = Extract<Admission, { ok: false }>;
export type RefusalCode = Refusal['code'] & ProxyErrorCode;

export async function admit(
  runtime: Runtime,
  req: IncomingMessage,
  client: string,
  parseTarget: () => TargetResult,
): Promise<Admission> {
  const credentials = req.headersDistinct['proxy-authorization'];
  const authResult =
    credentials !== undefined && credentials.length > 1
      ? ({ ok: false, reason: 'malformed' } as const)
      : await runtime.auth.authenticate(credentials?.[0]);
  if (!authResult.ok) return { ok: false, code: 'auth-required', authFailure: authResult.reason };

  const parsed = parseTarget();
  if (!parsed.ok) return { ok: false, code: 'bad-target', targetError: parsed.code, user: authResult.user };

  const decision = decide(runtime.policy, { target: parsed.target, client, user: authResult.user });
  if (!decision.allow) return { ok: false, code: 'denied', decision, target: parsed.target, user: authResult.user };
  return { ok: true, target: parsed.target, user: authResult.user, entry: decision.entry };
}
