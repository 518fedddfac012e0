import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { root } from './cli.js';

/** Debian's Chromium: the browser tests never download one. */
export const chromiumPath = '/usr/bin/chromium';

/** Launches headless Chromium with the flags that keep it quiet and offline. The caller closes it. */
export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

/** Where the browser tests write screenshots (git-ignored). */
export const screenshotDir = join(root, 'test-output', 'dashboard');

/**
 * Saves a full-page screenshot under `test-output/dashboard/<name>.png`; with
 * `UPDATE_SCREENSHOTS=1` it also copies it to `docs/<docsName>` (committed,
 * shown in the README).
 */
export const saveScreenshot = async (page: Page, name: string, docsName?: string): Promise<string> => {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (docsName !== undefined && process.env['UPDATE_SCREENSHOTS'] === '1') {
    await mkdir(join(root, 'docs'), { recursive: true });
    await copyFile(path, join(root, 'docs', docsName));
  }
  return path;
};

/** Collects what the page reports as broken (console errors, uncaught exceptions, CSP violations), to assert there is none. */
export const watchProblems = (page: Page): string[] => {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return problems;
};
