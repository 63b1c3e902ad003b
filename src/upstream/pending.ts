// One outstanding upstream query on a transport.
export interface PendingQuery {
  /** Called with each reply carrying this query's ID; returns true when the reply was accepted. */
  onReply(msg: Uint8Array): boolean;
  /** The transport failed under this query (connection closed, reset, refused). */
  onError(err: Error): void;
}
