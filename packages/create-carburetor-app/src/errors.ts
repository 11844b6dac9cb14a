/** What went wrong, as a stable string a program can switch on. */
export type CreateAppErrorCode =
  | 'bad_option'
  | 'bad_name'
  | 'missing_name'
  | 'folder_not_empty'
  | 'wrong_package_manager'
  | 'install_failed';

/**
 * Every error the CLI reports. `message` says what was wrong and what to do;
 * every code but `install_failed` is raised before any file is written.
 */
export class CreateAppError extends Error {
  readonly code: CreateAppErrorCode;

  constructor(code: CreateAppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CreateAppError';
    this.code = code;
  }
}
