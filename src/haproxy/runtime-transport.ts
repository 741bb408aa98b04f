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
  /**
   * Several requests in one write, one reply each, in order: a round trip per batch instead of per command. In
   * prompt mode every HAProxy version answers each line with its own prompt (a `;`-chain gets one prompt per
   * command on 2.6 to 3.0 but one for the whole line on 3.2 and later, so batches are never `;`-joined).
   * Transports that cannot split the replies send them one by one.
   */
  sendBatch(requests: readonly RuntimeRequest[]): Promise<string[]>;
  /** Closes a connection kept open, if any; the next request opens a new one. */
  close?(): void;
}

export interface SendOptions {
  /** Use a new connection even where a session is kept open: to reach the worker that serves now (after a reload). */
  readonly fresh?: boolean;
}
