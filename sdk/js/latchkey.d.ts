// Type declarations for latchkey.js (hand-written; keep them in step with the module).
/// <reference lib="dom" />

/** The server's `extensions.code` values. */
export type ServerErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** Failures found by the client itself. */
export type ClientErrorCode =
  /** The server could not be reached. */
  | 'NETWORK'
  /** The caller's signal, or another ceremony of the same client, stopped the request. */
  | 'ABORTED'
  /** No WebAuthn here, or not the kind of passkey asked for. */
  | 'NOT_SUPPORTED'
  /** The person cancelled, the request timed out, or no passkey matched. */
  | 'NOT_ALLOWED'
  /** The authenticator already holds a passkey for this account. */
  | 'PASSKEY_EXISTS'
  /** Any other failure of the WebAuthn call (see `cause`). */
  | 'WEBAUTHN';

export type LatchkeyErrorCode = ServerErrorCode | ClientErrorCode;

export class LatchkeyError extends Error {
  constructor(
    message: string,
    code: LatchkeyErrorCode,
    options?: { retryAfter?: number; field?: string; cause?: unknown },
  );
  readonly name: 'LatchkeyError';
  readonly code: LatchkeyErrorCode;
  /** Seconds to wait before trying again (`RATE_LIMITED`). */
  readonly retryAfter: number | undefined;
  /** The input field a `BAD_USER_INPUT` is about, such as `"email"`. */
  readonly field: string | undefined;
}

/** The stored form of a session's tokens; `expiresAt` is the access token's, in ms since the epoch. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

/** Where a client keeps its tokens. Either method may be synchronous or return a promise. */
export interface TokenStorage {
  load(): Tokens | null | Promise<Tokens | null>;
  /** `null` forgets the tokens. */
  save(tokens: Tokens | null): void | Promise<void>;
}

/** In this object only (the default). */
export function memoryTokens(): TokenStorage;
/** In `localStorage` under `key`: survives reloads, shared by the origin's tabs. */
export function localStorageTokens(key: string): TokenStorage;
/** In `sessionStorage` under `key`: one tab, until it is closed. */
export function sessionStorageTokens(key: string): TokenStorage;

/**
 * What the client needs of `navigator.credentials` (which it defaults to). An authenticator
 * injected outside a browser implements these; `isConditionalMediationAvailable` replaces the
 * browser's `PublicKeyCredential.isConditionalMediationAvailable()` when present.
 */
export interface CredentialsProvider {
  create(options: CredentialCreationOptions): Promise<Credential | null>;
  get(options: CredentialRequestOptions): Promise<Credential | null>;
  isConditionalMediationAvailable?(): Promise<boolean>;
}

export interface LatchkeyOptionsBase {
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Default: `navigator.credentials`. */
  credentials?: CredentialsProvider;
  /** Default: `memoryTokens()`. */
  storage?: TokenStorage;
}

export type LatchkeyOptions = LatchkeyOptionsBase &
  (
    | {
        /** `{public URL}/t/{slug}`: the access tokens' `iss`. */
        issuer: string;
        baseUrl?: never;
        tenant?: never;
      }
    | {
        issuer?: never;
        /** The server's public URL; `''` for the page's own origin. */
        baseUrl: string;
        /** The tenant's slug. */
        tenant: string;
      }
  );

/** Who is signed in, from the stored tokens. */
export interface Session {
  /** The access token's `sub` claim. */
  identityId: string;
  /** The access token's `sid` claim. */
  sessionId: string;
  /** When the access token expires, in ms since the epoch (this client's clock). */
  accessTokenExpiresAt: number;
}

export interface Identity {
  id: string;
  email: string;
  displayName: string | null;
}

export interface Passkey {
  id: string;
  name: string;
}

export interface SignInResult {
  identity: Identity;
  /** The new passkey after `signUp` or `recover`; null after a sign-in or a password sign-up. */
  passkey: Passkey | null;
  session: Session;
  accessToken: string;
}

/** What every ceremony takes. */
export interface CeremonyOptions {
  signal?: AbortSignal;
  /**
   * Called once the authenticator has answered (with autofill: once the person has picked a
   * passkey), before the server checks the answer: for a progress message.
   */
  onCredential?: () => void;
}

export interface SignUpOptions extends CeremonyOptions {
  /** From `completeEmailVerification` with purpose `SIGN_UP`: the account gets a verified address. */
  emailProof?: string;
  /** Without a proof, for tenants that do not require verified addresses (`requireVerifiedEmail: false`). */
  email?: string;
  displayName?: string;
  /** Default "Passkey". */
  passkeyName?: string;
  /** From a registration link: registers a new passkey to that account instead of a new account. */
  registrationToken?: string;
}

export interface RecoverOptions extends CeremonyOptions {
  /** From `completeEmailVerification` with purpose `RECOVERY`. */
  emailProof: string;
  /** End the account's other sessions (default false). */
  signOutEverywhere?: boolean;
  /** Default "Passkey". */
  passkeyName?: string;
}

/** What an emailed code is for. */
export type EmailVerificationPurpose = 'SIGN_UP' | 'SIGN_IN' | 'RECOVERY' | 'EMAIL_CHANGE' | 'VERIFY_ADDRESS';

export interface EmailVerificationChallenge {
  challengeId: string;
  /** Seconds until the code stops working. */
  expiresIn: number;
}

export interface EmailProof {
  /** Proof that the caller controls `email`, for `purpose` only. */
  emailProof: string;
  /** Seconds until the proof stops working. */
  expiresIn: number;
  purpose: EmailVerificationPurpose;
  email: string;
}

export interface AccountRecoveryRequest {
  id: string;
  status: 'PENDING' | string;
  createdAt: string;
}

export interface GraphqlOptions {
  signal?: AbortSignal;
}

/** The identity as the password and authenticator-app calls answer it. */
export interface AccountIdentity extends Identity {
  hasPassword: boolean;
  totpEnrolled: boolean;
}

/** `signInWithPassword` for an account without an authenticator app: signed in, tokens stored. */
export type PasswordSignInResult = SignInResult & { secondFactorRequired: false };

/** `signInWithPassword` for an account with an authenticator app: nothing stored yet. */
export interface SecondFactorRequired {
  secondFactorRequired: true;
  /** For `completeSecondFactor`: valid 5 minutes, for 5 tries. */
  secondFactorToken: string;
}

export interface TotpEnrollment {
  /** Base32, without padding: what a person types into the app. */
  secret: string;
  /** `otpauth://totp/{tenant}:{email}?secret=…&issuer={tenant}&algorithm=SHA1&digits=6&period=30`. */
  otpauthUri: string;
}

export interface TotpRecoveryCodes {
  /** Ten single-use codes (`xxxxx-xxxxx`), shown to the person once. */
  recoveryCodes: string[];
}

/** A current consent decision (`Identity.consents`). */
export interface Consent {
  /** A key of the tenant's `consentPurposes`. */
  purpose: string;
  granted: boolean;
  /** The purpose's version the decision was made on. */
  version: number;
  /** ISO 8601. */
  decidedAt: string | null;
}

/** A custom attribute's value: by its kind in the tenant's `attributeSchema` (`DATE` is `YYYY-MM-DD`). */
export type AttributeValue = string | number | boolean;

/** The identity as the profile, email-change and consent calls answer it. */
export interface ProfileIdentity extends Identity {
  emailVerified: boolean;
  phone: string | null;
  /** BCP 47. */
  locale: string | null;
  attributes: Record<string, AttributeValue>;
  consents: Consent[];
}

export class Latchkey {
  constructor(options: LatchkeyOptions);
  /** The tenant GraphQL endpoint this client calls. */
  readonly endpoint: string;

  /**
   * Emails a one-time code (and a link carrying it) to `email`. Anonymous; answers the same
   * whether or not the address has an account.
   */
  startEmailVerification(
    options: { email: string; purpose: EmailVerificationPurpose; signal?: AbortSignal },
  ): Promise<EmailVerificationChallenge>;
  /**
   * Exchanges the emailed code for an email proof. A wrong code is `BAD_USER_INPUT` with
   * `field: "code"`; an unknown, expired or used challenge `field: "challengeId"`; one that
   * saw five wrong codes `FORBIDDEN`.
   */
  completeEmailVerification(
    options: { challengeId: string; code: string; signal?: AbortSignal },
  ): Promise<EmailProof>;
  /**
   * Signs in with the code of a `SIGN_IN` challenge and stores the tokens (like `signIn`). A
   * wrong code, and any code for an address without an account, are `BAD_USER_INPUT` with
   * `field: "code"`; a challenge of another purpose or unknown `field: "challengeId"`;
   * `FORBIDDEN` where the tenant does not allow `EMAIL_CODE`.
   */
  signInWithEmailCode(
    options: { challengeId: string; code: string; signal?: AbortSignal },
  ): Promise<SignInResult>;

  /**
   * Creates an account (with `emailProof`, or `email` where the tenant allows unverified
   * addresses) and its first passkey, or, with `registrationToken`, a new passkey for that
   * account; signs in.
   */
  signUp(options: SignUpOptions): Promise<SignInResult>;
  /** A new passkey for the account of a `RECOVERY` proof; signs in. */
  recover(options: RecoverOptions): Promise<SignInResult>;
  /** Where recoveries need an administrator's approval: files the request (`PENDING`). */
  requestAccountRecovery(options: { emailProof: string; signal?: AbortSignal }): Promise<AccountRecoveryRequest>;
  /** Signs in with a passkey: that account's passkeys with `email`, any of the site's without. */
  signIn(options?: CeremonyOptions & { email?: string }): Promise<SignInResult>;
  /**
   * Offers the site's passkeys in the autofill of an `autocomplete="username webauthn"` field
   * and signs in with the one picked. Rejects with `ABORTED` when `signal` aborts or this client
   * starts another ceremony; `NOT_SUPPORTED` where autofill is unavailable.
   */
  signInWithAutofill(options?: CeremonyOptions): Promise<SignInResult>;
  /** Whether passkeys can be offered in autofill (conditional mediation). */
  isConditionalMediationAvailable(): Promise<boolean>;
  /** Adds a passkey to the signed-in person's account. */
  addPasskey(options?: CeremonyOptions & { passkeyName?: string }): Promise<Passkey>;

  /**
   * Creates an account with a password for the address of a `SIGN_UP` proof and signs in.
   * A password the rules refuse is `BAD_USER_INPUT` with `field: "password"` and the reason.
   */
  signUpWithPassword(options: {
    emailProof: string;
    password: string;
    displayName?: string;
    signal?: AbortSignal;
  }): Promise<SignInResult>;
  /**
   * Signs in with a password: signed in (tokens stored), or, for an account with an
   * authenticator app, `{ secondFactorRequired: true, secondFactorToken }` for
   * `completeSecondFactor`. A wrong address or password is `FORBIDDEN`.
   */
  signInWithPassword(options: {
    email: string;
    password: string;
    signal?: AbortSignal;
  }): Promise<PasswordSignInResult | SecondFactorRequired>;
  /** The authenticator app's 6-digit code, or a recovery code, for a password sign-in; signs in. */
  completeSecondFactor(options: {
    secondFactorToken: string;
    code: string;
    signal?: AbortSignal;
  }): Promise<SignInResult>;
  /**
   * As the signed-in person: changes the password (`currentPassword` required when there is
   * one) or sets the first one; `signOutOtherSessions` ends their other sessions.
   */
  changePassword(options: {
    currentPassword?: string;
    newPassword: string;
    signOutOtherSessions?: boolean;
    signal?: AbortSignal;
  }): Promise<AccountIdentity>;
  /**
   * A new password for the account of a `RECOVERY` proof; `signOutEverywhere` defaults to
   * true. Does not sign in.
   */
  resetPassword(options: {
    emailProof: string;
    newPassword: string;
    signOutEverywhere?: boolean;
    signal?: AbortSignal;
  }): Promise<Identity>;
  /** As the signed-in person, who has a password: the secret and URI for an authenticator app. */
  beginTotpEnrollment(options?: { signal?: AbortSignal }): Promise<TotpEnrollment>;
  /** Confirms the app with one of its codes; answers the ten recovery codes, shown once. */
  finishTotpEnrollment(options: { code: string; signal?: AbortSignal }): Promise<TotpRecoveryCodes>;
  /** As the signed-in person: removes the authenticator app and its recovery codes. */
  removeTotp(options?: { signal?: AbortSignal }): Promise<AccountIdentity>;

  /**
   * As the signed-in person: changes their own profile. Options left out are unchanged; `null`
   * clears one. `attributes`: only those to change (`null` removes one), each `userEditable` in
   * the tenant's `attributeSchema`. A refused value is `BAD_USER_INPUT` with `field` naming it
   * (`phone`, `attributes.tier`); nothing is saved then.
   */
  updateViewerProfile(options: {
    displayName?: string | null;
    /** E.164. */
    phone?: string | null;
    /** BCP 47. */
    locale?: string | null;
    attributes?: Record<string, AttributeValue | null>;
    signal?: AbortSignal;
  }): Promise<ProfileIdentity>;
  /**
   * As the signed-in person: moves the account to the address of an `EMAIL_CHANGE` proof. The
   * old address gets a notice with an undo link (7 days). `BAD_USER_INPUT` with
   * `field: "emailProof"` for the current address or one another account uses.
   */
  changeViewerEmail(options: { emailProof: string; signal?: AbortSignal }): Promise<ProfileIdentity>;
  /**
   * Anonymous: the token of an email change's undo link moves the account back to its old
   * address and ends all its sessions. Unknown, expired or used: `BAD_USER_INPUT` with
   * `field: "token"`.
   */
  undoEmailChange(options: { token: string; signal?: AbortSignal }): Promise<true>;
  /** As the signed-in person: grants or withdraws consent for a purpose, at its current version. */
  setViewerConsent(options: { purpose: string; granted: boolean; signal?: AbortSignal }): Promise<ProfileIdentity>;

  /**
   * A valid access token (refreshed first when expired or within 30 s of it), or null when
   * nobody is signed in. Throws `UNAUTHENTICATED` when the session has ended.
   */
  getAccessToken(): Promise<string | null>;
  /** Exchanges the refresh token now. */
  refresh(): Promise<Session>;
  /** Who is signed in, without a request. */
  getSession(): Promise<Session | null>;
  /** Called on every sign-in, refresh and sign-out of this client; returns the unsubscribe function. */
  onChange(listener: (session: Session | null) => void): () => void;
  /** Ends this session (with `everywhere`, all of the person's) and forgets the tokens. */
  signOut(options?: { everywhere?: boolean }): Promise<void>;

  /** Runs a query or mutation as the signed-in person; answers `data`. */
  graphql<Data = Record<string, any>, Variables extends Record<string, unknown> = Record<string, unknown>>(
    query: string,
    variables?: Variables,
    options?: GraphqlOptions,
  ): Promise<Data>;
}

/** The JSON form of `navigator.credentials.create` options (`options.publicKey` of `beginPasskeyRegistration`). */
export type CreationOptionsJSON = Record<string, any> & {
  challenge: string;
  user: Record<string, any> & { id: string };
  excludeCredentials?: Array<{ type: string; id: string; transports?: string[] }>;
};

/** The JSON form of `navigator.credentials.get` options (`options.publicKey` of `beginPasskeySignIn`). */
export type RequestOptionsJSON = Record<string, any> & {
  challenge: string;
  allowCredentials?: Array<{ type: string; id: string; transports?: string[] }>;
};

/** A credential's JSON form, as the finish mutations take it. */
export type CredentialJSON = {
  id: string;
  rawId: string;
  type: string;
  authenticatorAttachment?: string;
  clientExtensionResults: Record<string, unknown>;
  response: Record<string, unknown> & { clientDataJSON: string };
};

export function creationOptionsFromJSON(json: CreationOptionsJSON): PublicKeyCredentialCreationOptions;
export function requestOptionsFromJSON(json: RequestOptionsJSON): PublicKeyCredentialRequestOptions;
export function credentialToJSON(credential: Credential): CredentialJSON;
