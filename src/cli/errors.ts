// Errors the CLI turns into an exit status: 2 for bad usage or bad configuration (as the issue fixes it),
// 1 for everything that fails at run time.

export class UsageError extends Error {
  readonly code = 'USAGE';
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class CommandFailed extends Error {
  readonly code = 'COMMAND_FAILED';
  readonly exitCode = 1;
  /** The command already wrote its JSON result (which says what failed): no second object follows it. */
  readonly reportedAsJson: boolean;

  constructor(message: string, options: { readonly reportedAsJson?: boolean } = {}) {
    super(message);
    this.name = 'CommandFailed';
    this.reportedAsJson = options.reportedAsJson ?? false;
  }
}
