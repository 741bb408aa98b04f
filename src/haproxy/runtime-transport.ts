/**
 * One request to HAProxy's runtime API. `line` is the command; `payload` (a PEM bundle, a crt-list line) travels
 * after `line <<` and is never logged or put into an error.
 */
export interface RuntimeRequest {
  readonly line: string;
  readonly payload?: string;
}

/** Carries one request to a target's runtime API and returns HAProxy's reply text. */
export interface RuntimeTransport {
  /** Where it connects, for messages (`unix:/run/haproxy/admin.sock`). */
  readonly address: string;
  /**
   * @throws RuntimeTransportError when the API cannot be reached or the reply is cut off,
   *         RuntimeTimeoutError when no complete reply arrives within the transport's deadline.
   */
  send(request: RuntimeRequest, options?: SendOptions): Promise<string>;
}

export interface SendOptions {
  /**
   * Stop reading once the reply so far satisfies this, and close the connection: for the head of a long listing
   * (`show ssl cert` lists every store; whether a transaction is open is in its first lines).
   */
  readonly enoughWhen?: (replySoFar: string) => boolean;
}
