// Issue 20, for the web console: it moves to another API when the one that served it stops
// answering, as nodes, attach and the CLI do. The customer opens the console from API 1 and signs
// in; API 1 is SIGKILLed; both copies of a volume lose power and return. The page API 1 served
// keeps working through API 2: it lists the volume awaiting a decision and enables its I/O, with
// no error shown.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTopology } from '../../cluster/topology.js';
import { launchChromium, screenshot } from '../support/browser.js';
import { powerOffBothCopies, restoreAndAwaitReview } from '../support/outage.js';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('the web console on a control plane of two APIs', () => {
  let t: TestCluster;
  let browser: Browser;
  let page: Page;
  let volumeId = '';
  /** The origins that answered the console's API requests. */
  const answeredBy = new Set<string>();

  beforeAll(async () => {
    t = await startTestCluster('console-two-apis', { apis: 2, nodes: defaultTopology(4) });
    volumeId = (await t.customer.createVolume(1024 * 1024)).volumeId;
    await t.customer.write(volumeId, 0, Buffer.from('written before the outage'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.pathname.startsWith('/v1/')) answeredBy.add(url.origin);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function signIn(consoleUrl: string) {
    await page.goto(consoleUrl);
    await page.getByLabel('a customer').check();
    await page.getByLabel('API key').fill(t.customer.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Volumes' }).waitFor();
    await page.getByRole('link', { name: volumeId }).waitFor();
  }

  it('when the API that served the console dies, then the console lists the volumes and enables I/O through the other API, with no error shown', async () => {
    const [api1, api2] = t.cluster.apiUrls as [string, string];
    await signIn(`${api1}/console/`);
    expect([...answeredBy]).toEqual([api1]);

    await t.cluster.apis[0]!.kill();
    const killed = await powerOffBothCopies(t, volumeId);
    await restoreAndAwaitReview(t, volumeId, killed);

    try {
      // The volumes page polls: it reads the list through API 2 by itself.
      await page.getByText('Awaiting Action: Enable IO').first().waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: volumeId }).click();
      await page.getByRole('heading', { name: `Volume ${volumeId}`, level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Enable I/O', exact: true }).first().click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Enable I/O' }).click();
      await page.getByText(/^IO Enabled: serving from /).waitFor({ timeout: 60_000 });
    } finally {
      await screenshot(page, 'two-apis-after-api-1-died');
    }
    expect(await page.locator('.note.error').allTextContents()).toEqual([]);
    expect(page.url()).toMatch(new RegExp(`^${api1}/console/`));
    expect(answeredBy).toContain(api2);
    expect((await t.customer.volume(volumeId)).ioState).toBe('enabled');
  });
});
