import { describe, expect, it } from 'vitest';
import { appNameOf } from '../app-name.ts';
import { CreateAppError } from '../errors.ts';
import { parseCli } from '../options.ts';
import { requirePnpm } from '../package-manager.ts';

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof CreateAppError) return { code: error.code, message: error.message };
    throw error;
  }
  return undefined;
};

describe('the command line', () => {
  it('reads the folder and every flag; leaves what is not given undefined', () => {
    expect(
      parseCli(['my-app', '--database', 'pg', '--no-example', '--no-install', '--yes']),
    ).toEqual({
      directory: 'my-app',
      database: 'pg',
      example: false,
      install: false,
      yes: true,
      help: false,
      version: false,
    });
    expect(parseCli([])).toMatchObject({
      directory: undefined,
      database: undefined,
      example: undefined,
      install: true,
    });
  });

  it('refuses an unknown database, naming the two it takes', () => {
    const error = codeOf(() => parseCli(['my-app', '--database', 'mysql']));
    expect(error?.code).toBe('bad_option');
    expect(error?.message).toContain('--database mysql is not supported');
    expect(error?.message).toContain('--database pg');
  });

  it('refuses an unknown flag and two folders, pointing at --help', () => {
    expect(codeOf(() => parseCli(['my-app', '--typescript']))).toMatchObject({
      code: 'bad_option',
      message: expect.stringContaining("'--typescript'"),
    });
    expect(codeOf(() => parseCli(['a', 'b']))?.message).toContain('Give one folder, not 2');
  });
});

describe('the app name', () => {
  it('is the folder name, valid as a package name and scope', () => {
    expect(appNameOf('apps/my-app')).toBe('my-app');
    expect(codeOf(() => appNameOf('My App'))).toMatchObject({
      code: 'bad_name',
      message: expect.stringContaining('"My App" cannot name the app'),
    });
    expect(codeOf(() => appNameOf('.hidden'))?.code).toBe('bad_name');
  });
});

describe('the package manager', () => {
  it('goes ahead under pnpm, or run directly', () => {
    expect(() => requirePnpm('pnpm/12.4.2 npm/? node/v22.23.5 linux x64')).not.toThrow();
    expect(() => requirePnpm(undefined)).not.toThrow();
  });

  it.each([
    ['npm', 'npm/11.6.0 node/v22.23.5 linux x64 workspaces/false'],
    ['yarn', 'yarn/4.9.0 npm/? node/v22.23.5 linux x64'],
    ['bun', 'bun/1.2.0 npm/? node/v22.23.5 linux x64'],
  ])('refuses %s with the pnpm command to run instead', (manager, agent) => {
    const error = codeOf(() => requirePnpm(agent));
    expect(error?.code).toBe('wrong_package_manager');
    expect(error?.message).toContain(`runs only under pnpm, not ${manager}`);
    expect(error?.message).toContain('pnpm create carburetor-app my-app');
  });
});
