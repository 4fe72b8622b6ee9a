/** Exit codes of every hashgate command (docs/cli.md). */
export const ExitCode = Object.freeze({
  /** Success: the share is valid, the audit found nothing wrong. */
  Ok: 0,
  /** The answer is "no": an invalid share, a recorded verdict that disagrees with the recomputed one. */
  Negative: 1,
  /** Unusable input or command line: nothing was checked. */
  Usage: 2,
  /** audit only: damaged or unreadable journal records (and no verdict disagreements). */
  Damaged: 3,
  /** A bug in hashgate. */
  Internal: 70,
});
