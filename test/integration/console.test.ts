// The web console in a real browser against a real cluster. A power-domain outage takes both
// copies of a volume: the customer sees "Awaiting Action: Enable IO", reviews the bytes written
// before the outage, clicks Enable I/O and sees "IO Enabled" — a write issued during the hold
// completes only after the click. The operator sees the nodes go down and come back, the
// recovery's phases and a link to its workflow in the Temporal UI; the volume recovery's current
// details say it waits for the owner; a snapshot policy is set and removed on the volume page. Every page is scanned with
// axe-core (no serious or critical violation) and photographed into test-results/console/.
import { Client, Connection } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { powerOffBothCopies, restoreAndAwaitReview } from '../support/outage.js';
import { axeScan, launchChromium, saveJson, screenshot, type AxeFinding } from '../support/browser.js';
import { copiesOf, eventually, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const TEMPORAL_UI = 'http://127.0.0.1:8233';
const TEXT = 'Blackstart review: these bytes were written before the outage. ';

describe('the web console', () => {
  let t: TestCluster;
  let browser: Browser;
  let customer: Page;
  let operator: Page;
  let volumeId = '';
  const findings: AxeFinding[] = [];
  const before = Buffer.from(TEXT.repeat(64));

  beforeAll(async () => {
    t = await startTestCluster('console', { env: { TEMPORAL_UI_URL: TEMPORAL_UI } });
    volumeId = (await t.customer.createVolume(1024 * 1024)).volumeId;
    await t.customer.write(volumeId, 0, before);
    browser = await launchChromium();
    customer = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    operator = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  });
  afterAll(async () => {
    await saveJson('axe.json', findings);
    await browser?.close();
    await t?.stop();
  });

  async function signIn(page: Page, role: 'customer' | 'operator', token: string) {
    await page.goto(`${t.cluster.apiUrl}/console/`);
    await shoot(page, 'sign-in');
    await page.getByLabel(role === 'customer' ? 'a customer' : 'an operator').check();
    await page.getByLabel(role === 'customer' ? 'API key' : 'Operator token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: role === 'customer' ? 'Volumes' : 'Fleet' }).waitFor();
  }

  /** A screenshot and an axe scan of the page as it is now. */
  async function shoot(page: Page, name: string) {
    await screenshot(page, name);
    findings.push(...(await axeScan(page, name)));
  }

  const go = async (page: Page, hash: string, heading: string | RegExp) => {
    await page.goto(`${t.cluster.apiUrl}/console/#${hash}`);
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await page
      .getByText(/^Loading /)
      .first()
      .waitFor({ state: 'detached', timeout: 15_000 });
  };

  it('when both copies lose power, then the customer reviews the data and enables I/O, and the held write completes only then', async () => {
    await signIn(customer, 'customer', t.customer.token);
    await signIn(operator, 'operator', t.cluster.operatorToken);
    await go(customer, `/volumes/${volumeId}`, `Volume ${volumeId}`);
    await customer.getByText('I/O is already enabled.').waitFor();
    expect(await customer.getByRole('button', { name: 'Archive', exact: true }).isDisabled()).toBe(true);

    const killed = await powerOffBothCopies(t, volumeId);
    await eventually(
      'the operator seeing the nodes down',
      async () => (await operator.locator('li.node-down').count()) >= killed.length,
      30_000,
    );
    await shoot(operator, 'operator-fleet-outage');
    await restoreAndAwaitReview(t, volumeId, killed);
    // the volume recovery's page in the Temporal UI says what it waits for: the owner, and until when
    await eventually('the volume recovery waiting for the owner', async () =>
      /waiting for the owner's decision .* until \d{4}-\d\d-\d\dT/.test(await volumeRecoveryDetails(t, volumeId)),
    );

    await go(customer, '/volumes', 'Volumes');
    await customer.getByText('Awaiting Action: Enable IO').first().waitFor({ timeout: 30_000 });
    await shoot(customer, 'customer-volumes-awaiting');

    let settledAt = 0;
    const held = t.customer.write(volumeId, 0, Buffer.from('written while held')).finally(() => (settledAt = Date.now()));
    held.catch(() => undefined); // awaited below; a failed test must not leave it unhandled

    await go(customer, `/volumes/${volumeId}/review`, `Review ${volumeId}`);
    await customer.getByRole('button', { name: 'Show' }).click();
    // the hex view's text column, 16 bytes a line
    await customer
      .locator('pre.hex')
      .getByText('|Blackstart revie|', { exact: false })
      .first()
      .waitFor()
      .catch(async (err: unknown) => {
        await screenshot(customer, 'failed-review');
        throw err;
      });
    await shoot(customer, 'customer-review');

    await go(customer, `/volumes/${volumeId}`, `Volume ${volumeId}`);
    await customer.getByRole('button', { name: 'Enable I/O', exact: true }).first().waitFor();
    await shoot(customer, 'customer-volume-awaiting');
    expect(settledAt).toBe(0);
    const clickedAt = Date.now();
    await customer.getByRole('button', { name: 'Enable I/O', exact: true }).first().click();
    await shoot(customer, 'customer-confirm-enable');
    await customer.locator('dialog[open]').getByRole('button', { name: 'Enable I/O' }).click();
    await customer
      .getByText(/IO Enabled/)
      .first()
      .waitFor({ timeout: 60_000 });
    expect((await held).writeSeq).toBeGreaterThan(0);
    expect(settledAt).toBeGreaterThanOrEqual(clickedAt);
    await customer.getByText('IO Enabled', { exact: true }).first().waitFor({ timeout: 10_000 });
    await shoot(customer, 'customer-volume-enabled');
  });

  it('when the nodes are back, then the operator sees them in service, the phases and the workflow link', async () => {
    await go(operator, '/operator/fleet', 'Fleet');
    await eventually(
      'every node in service',
      async () => (await operator.locator('li.node-down, li.node-recovering').count()) === 0,
      30_000,
    );
    await shoot(operator, 'operator-fleet');

    const winner = (await copiesOf(t, volumeId)).find((c) => c.role === 'primary')!.nodeId;
    const recovery = (await t.operator.recoveries()).recoveries.find((r) => r.nodeId === winner)!;
    await go(operator, '/operator/recoveries', 'Recoveries');
    const link = operator.locator(`a[href*="/workflows/${encodeURIComponent(recovery.workflowId)}/"]`);
    await link.first().waitFor();
    expect(await link.first().getAttribute('href')).toMatch(
      new RegExp(`^${TEMPORAL_UI}/namespaces/default/workflows/${recovery.workflowId}/[0-9a-f-]+/history$`),
    );
    expect(await operator.locator('.phases').first().textContent()).toContain('configuration');
    await shoot(operator, 'operator-recoveries');

    // the workflow explains itself in the Temporal UI: a summary naming the node and incident
    const connection = await Connection.connect({ address: t.cluster.temporalAddress });
    try {
      const described = await new Client({ connection }).workflow.getHandle(recovery.workflowId).describe();
      expect(await described.staticSummary()).toMatch(new RegExp(`^Server recovery of ${winner}, incident \\d+`));
    } finally {
      await connection.close();
    }

    await go(operator, '/operator/admission', 'Admission and breaker');
    await shoot(operator, 'operator-admission');
    await go(operator, '/operator/reviews', 'Review queue');
    await shoot(operator, 'operator-review-queue');
  });

  it('when only the keyboard is used, then a customer signs in, opens a volume and reaches its decisions', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${t.cluster.apiUrl}/console/`);
    // Tab through the skip link, the navigation and the role choice ("a customer" is checked) to the key
    for (let i = 0; i < 8 && (await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)) !== 'password'; i++) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.type(t.customer.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Volumes', level: 1 }).waitFor();
    const link = page.getByRole('link', { name: volumeId });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Volume ${volumeId}`, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Snapshot', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    await page.close();
  });

  it('when the customer sets a snapshot policy on the volume page, then its Schedule exists, and it can be removed', async () => {
    await go(customer, `/volumes/${volumeId}`, `Volume ${volumeId}`);
    await customer.getByLabel('Every (hours)').fill('2');
    await customer.getByLabel('Snapshots to keep').fill('3');
    await customer.getByRole('button', { name: 'Set policy' }).click();
    await customer.getByText(/Saved\. Snapshots every 2 h 0 min, keeping the newest 3/).waitFor();
    expect(await t.customer.snapshotPolicy(volumeId)).toMatchObject({ intervalSeconds: 7200, retention: 3 });
    await shoot(customer, 'customer-snapshot-policy');
    await customer.getByRole('button', { name: 'Remove policy', exact: true }).click();
    await customer.locator('dialog[open]').getByRole('button', { name: 'Remove policy' }).click();
    await customer.getByText('The policy is removed; its snapshots are kept.').waitFor();
    await customer.getByText('There is no policy to remove.').waitFor();
    await expect(t.customer.snapshotPolicy(volumeId)).rejects.toThrow();
  });

  it('every page has no serious or critical accessibility violation, and works at phone width', async () => {
    await go(customer, '/events', 'Events');
    await customer.getByText('IO Enabled').first().waitFor();
    await shoot(customer, 'customer-events');
    await go(customer, '/webhook', 'Webhook');
    await shoot(customer, 'customer-webhook');
    await customer.setViewportSize({ width: 375, height: 800 });
    await go(customer, '/volumes', 'Volumes');
    await shoot(customer, 'phone-customer-volumes');
    await go(customer, `/volumes/${volumeId}`, `Volume ${volumeId}`);
    await shoot(customer, 'phone-customer-volume');
    await operator.setViewportSize({ width: 375, height: 800 });
    await go(operator, '/operator/fleet', 'Fleet');
    await shoot(operator, 'phone-operator-fleet');
    await customer.goto(`${t.cluster.apiUrl}/docs`);
    await shoot(customer, 'phone-api-reference');

    const blocking = findings.filter((f) => f.impact === 'serious' || f.impact === 'critical');
    expect(blocking, JSON.stringify(blocking, null, 2)).toEqual([]);
  });
});

/** The running volume recovery's current details (what the Temporal UI shows on its page), or ''. */
async function volumeRecoveryDetails(t: TestCluster, volumeId: string): Promise<string> {
  const connection = await Connection.connect({ address: t.cluster.temporalAddress });
  try {
    const client = new Client({ connection });
    const query = `WorkflowType="volumeRecovery" AND VolumeId="${volumeId}" AND ExecutionStatus="Running"`;
    for await (const run of client.workflow.list({ query })) {
      const metadata = await client.workflow.getHandle(run.workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      return metadata.currentDetails ?? '';
    }
    return '';
  } finally {
    await connection.close();
  }
}
