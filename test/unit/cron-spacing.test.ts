// A snapshot policy's schedule is checked by its actual spacing, whatever form it takes.
import { describe, expect, it } from 'vitest';
import { minCronSpacingSeconds } from '../../api/use-cases/cron-spacing.js';

describe('cron spacing', () => {
  it('reads the spacing of every accepted form', () => {
    expect(minCronSpacingSeconds('@every 1s')).toBe(1);
    expect(minCronSpacingSeconds('@every 1h30m')).toBe(5400);
    expect(minCronSpacingSeconds('@every 10m/2m')).toBe(600);
    expect(minCronSpacingSeconds('@hourly')).toBe(3600);
    expect(minCronSpacingSeconds('@daily')).toBe(86400);
    expect(minCronSpacingSeconds('* * * * *')).toBe(60);
    expect(minCronSpacingSeconds('*/5 * * * *')).toBe(300);
    expect(minCronSpacingSeconds('0,1 * * * *')).toBe(60);
    expect(minCronSpacingSeconds('0 */6 * * *')).toBe(6 * 3600);
    expect(minCronSpacingSeconds('15 2 * * MON-FRI')).toBe(86400);
    expect(minCronSpacingSeconds('50 23 * * *')).toBe(86400);
    expect(minCronSpacingSeconds('55 23,0 * * *')).toBe(3600); // 23:55 then 00:55 the next day
    expect(minCronSpacingSeconds('0 22 * * *')).toBe(86400);
    expect(minCronSpacingSeconds('5/15 * * * *')).toBe(900);
    expect(minCronSpacingSeconds('0-4 3 1 1 *')).toBe(60);
  });

  it('refuses forms whose spacing it cannot read', () => {
    for (const expr of [
      '* * * * * *',
      '@every 1.5s',
      '@every 1ms',
      'CRON_TZ=UTC 0 * * * *',
      '60 * * * *',
      '* 24 * * *',
      '5-1 * * * *',
      '*/0 * * * *',
      '@reboot',
      'H * * * *',
      '',
      '* * * *',
      '@every',
    ]) {
      expect(minCronSpacingSeconds(expr), expr).toBeNull();
    }
  });
});
