// The typed API client (openapi-fetch over the types generated from the edge's own
// OpenAPI document, src/api/schema.d.ts) and the browser session.
//
// The access token lives in this module's memory only: a reload or a new tab gets a
// fresh one from the refresh cookie, which the edge sets httpOnly (no script reads
// it), SameSite=Strict and for the refresh and logout paths only. Login, refresh and
// logout carry the web client header, which tells the edge to use the cookie.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { ApiError, networkMessage, type ApiErrorBody } from "../errors";

export type Schemas = components["schemas"];
export type Account = Schemas["v1Account"];

const webClient = { "X-Healthcore-Client": "web" } as const;

let access: { token: string; expires: number } | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

export const api = createClient<paths>({ baseUrl: "" });

const auth: Middleware = {
  async onRequest({ request }) {
    const b = await bearer();
    if (b) request.headers.set("Authorization", b);
    return request;
  },
};
api.use(auth);

function keep(tokens: Schemas["v1TokenPair"] | undefined) {
  access = tokens?.accessToken
    ? { token: tokens.accessToken, expires: Date.parse(tokens.accessTokenExpireTime ?? "") || Date.now() + 60_000 }
    : null;
  listeners.forEach((f) => f());
}

/** onSessionChange calls f when the session starts or ends. */
export function onSessionChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function signedIn(): boolean {
  return access !== null;
}

/** bearer is the Authorization header for a call made outside openapi-fetch (an upload
 * by XMLHttpRequest, which reports its progress), renewed first when about to expire. */
export async function bearer(): Promise<string | null> {
  if (access && access.expires - Date.now() < 30_000) await refresh();
  return access ? `Bearer ${access.token}` : null;
}

/** must returns the data of an openapi-fetch answer, or throws its ApiError. */
export async function must<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r;
  try {
    r = await p;
  } catch {
    throw new ApiError(0, { message: networkMessage });
  }
  if (r.error !== undefined || !r.response.ok) throw new ApiError(r.response.status, r.error as ApiErrorBody);
  return r.data as T;
}

/** A login's first step: the session, or (the account has a second factor) the token
 * LoginMfa wants with a code. */
export type LoginStep = { account?: Account; mfaToken?: string };

/** login by e-mail or CPF (what has an @ is an e-mail). */
export function login(who: string, password: string): Promise<LoginStep> {
  const body = who.includes("@") ? { email: who.trim(), password } : { cpf: who.replace(/\D/g, ""), password };
  return firstStep(body);
}

/** loginDoctor by CRM number and UF. */
export function loginDoctor(number: string, uf: string, password: string): Promise<LoginStep> {
  return firstStep({ crm: { number: number.replace(/\D/g, ""), uf }, password });
}

async function firstStep(body: Schemas["v1LoginRequest"]): Promise<LoginStep> {
  const data = await must(api.POST("/v1/auth/login", { body, headers: webClient }));
  if (data.mfaRequired) return { mfaToken: data.mfaToken };
  keep(data.tokens);
  return { account: data.account };
}

/** A second factor offered: the authenticator app's 6-digit code, or one of the
 * account's single-use recovery codes (xxxxx-xxxxx). */
export type Factor = { code: string } | { recoveryCode: string };

/** factor is what the user typed, as the API takes it. */
export function factor(kind: "code" | "recovery", typed: string): Factor {
  return kind === "code" ? { code: typed.replace(/\D/g, "") } : { recoveryCode: typed.trim() };
}

/** loginMfa completes a login with the authenticator app's code or a recovery code. */
export async function loginMfa(mfaToken: string, f: Factor): Promise<Account | undefined> {
  const data = await must(api.POST("/v1/auth/login:mfa", { body: { mfaToken, ...f }, headers: webClient }));
  keep(data.tokens);
  return data.account;
}

/** confirmTotp enables the enrolled authenticator with its current code; the session
 * is renewed as password + code (the edge moves the new refresh token into the cookie,
 * the previous one is spent) and the recovery codes are answered this once. */
export async function confirmTotp(code: string): Promise<string[]> {
  const data = await must(api.POST("/v1/me/mfa/totp:confirm", { body: { code: code.replace(/\D/g, "") }, headers: webClient }));
  keep(data.tokens);
  return data.recoveryCodes ?? [];
}

/** refresh renews the access token from the cookie; false when there is no session. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const r = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...webClient },
        body: "{}",
        credentials: "same-origin",
      });
      if (!r.ok) {
        keep(undefined);
        return false;
      }
      const data = (await r.json()) as Schemas["v1RefreshResponse"];
      keep(data.tokens);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout(): Promise<void> {
  try {
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...webClient },
      body: "{}",
      credentials: "same-origin",
    });
  } finally {
    keep(undefined);
  }
}
