import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible, login, screenshot, signedInPage, useMockAndBrowser } from './browser';

/** The admin editors added for issue #7: recipients and escalation, rules in YAML, and who may not use them (devices: admin-devices.test.ts). */
describe('admin editors', () => {
  const env = useMockAndBrowser();
  const adminPage = (path: string): Promise<Page> => signedInPage(env.browser, env.server.url, 'admin', path);

  it('recipients: a bad phone is refused next to the field, a good one saved normalised, a new recipient added', async () => {
    const page = await adminPage('/');
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Người nhận cảnh báo' }).click();
    await page.waitForSelector('[data-testid="recipients-table"] tbody tr');
    expect(await page.locator('[data-testid="recipients-table"] tbody tr').count()).toBe(3);
    // Escalation is visible per person: the supervisor is step 2 of the flood route.
    expect(await page.locator('tr[data-recipient="duty-supervisor"]').innerText()).toContain('flood: bước 2 (sau 10 phút)');
    // …and the technician is step 1 through the on-call group.
    expect(await page.locator('tr[data-recipient="tech-ward-north"]').innerText()).toContain(
      'flood: bước 1 (sau 0 phút) (group:field-technicians)',
    );

    await page.getByRole('button', { name: 'Sửa: Trưởng ca trực IOC' }).click();
    const form = page.getByTestId('recipient-form');
    await form.getByLabel('Số điện thoại').fill('12345');
    await form.getByRole('button', { name: 'Lưu người nhận' }).click();
    await expect.poll(() => page.getByTestId('rcp-phone-error').innerText()).toContain('not a Vietnamese phone number');
    expect(await form.getByLabel('Số điện thoại').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'recipients-field-error');
    await screenshot(page, 'view-recipients-field-error');

    await form.getByLabel('Số điện thoại').fill('0905 222 333');
    await form.getByRole('button', { name: 'Lưu người nhận' }).click();
    await expect.poll(() => page.getByTestId('recipients-outcome').innerText()).toContain('Đã lưu Trưởng ca trực IOC (phiên bản 3)');
    expect(await page.locator('tr[data-recipient="duty-supervisor"]').innerText()).toContain('84905222333');
    expect(env.server.recipients().recipients.find((r) => r.id === 'duty-supervisor')?.phone).toBe('84905222333');

    // Add: the form itself refuses a missing phone for SMS/Zalo before anything is sent.
    await page.getByRole('button', { name: 'Thêm người nhận' }).click();
    await form.getByLabel('Mã người nhận').fill('env-officer');
    await form.getByLabel('Tên').fill('Cán bộ môi trường');
    await form.getByRole('button', { name: 'Lưu người nhận' }).click();
    await expect.poll(() => page.getByTestId('rcp-phone-error').innerText()).toContain('cần số điện thoại');
    expect(env.server.recipients().version).toBe(3);
    await form.getByLabel('Số điện thoại').fill('+84 905 000 301');
    await form.getByLabel('Zalo user id').fill('2468458835296197922');
    await form.getByRole('checkbox', { name: 'Email' }).check();
    await form.getByRole('textbox', { name: 'Email' }).fill('moitruong@tamky.gov.vn');
    await form.getByLabel('Ngôn ngữ tin nhắn').selectOption('en');
    await form.getByRole('button', { name: 'Lưu người nhận' }).click();
    await page.waitForSelector('tr[data-recipient="env-officer"]');
    expect(await page.locator('tr[data-recipient="env-officer"]').innerText()).toContain('Zalo → SMS → Email');
    expect(env.server.recipients().recipients.find((r) => r.id === 'env-officer')).toMatchObject({
      phone: '84905000301',
      zaloUserId: '2468458835296197922',
      channels: ['zalo', 'sms', 'email'],
      locale: 'en',
    });
    expect(env.server.adminAudit.at(-1)).toMatchObject({ user: 'admin', action: 'recipients.update', detail: { version: 4 } });
    await expectAccessible(page, 'recipients');
    await screenshot(page, 'view-recipients');
    await page.close();
  });

  it('recipients: removing one still named in escalation is refused with the route named; a stale editor gets the conflict message', async () => {
    const page = await adminPage('/admin/recipients');
    await page.waitForSelector('tr[data-recipient="flood-committee"]');
    await page.getByRole('button', { name: 'Xoá: Ban chỉ huy PCTT thành phố' }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => page.getByTestId('recipients-outcome').innerText()).toContain('routes.0.steps.2.to.0');

    // Escalation edited as YAML: a syntax error says where.
    const escalation = page.getByLabel('Nhóm và tuyến leo thang (YAML)');
    const yaml = await escalation.inputValue();
    expect(yaml).toContain('group:field-technicians');
    await escalation.fill('routes:\n  - id: flood\n    id: again\n');
    await page.getByRole('button', { name: 'Lưu leo thang' }).click();
    await expect.poll(() => page.getByTestId('escalation-error').innerText()).toMatch(/YAML không hợp lệ \(dòng 3, cột \d+\)/);
    // Valid YAML naming nobody: the server's message shows under the editor, with the path of the field.
    await escalation.fill('routes:\n  - id: flood\n    steps:\n      - to: [nobody]\n');
    await page.getByRole('button', { name: 'Lưu leo thang' }).click();
    await expect
      .poll(() => page.getByTestId('escalation-error').innerText())
      .toContain('routes.0.steps.0.to.0: unknown recipient or group "nobody"');
    await escalation.fill(yaml);

    // Someone else saves meanwhile: this editor's save is refused and says so.
    env.server.bumpRecipients();
    const before = env.server.recipients().version;
    await page.getByRole('button', { name: 'Sửa: Kỹ thuật khu Bắc' }).click();
    await page.getByTestId('recipient-form').getByLabel('Tên').fill('Kỹ thuật khu Bắc (mới)');
    await page.getByTestId('recipient-form').getByRole('button', { name: 'Lưu người nhận' }).click();
    const alert = page.getByTestId('recipients-outcome').getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('Xung đột');
    expect(env.server.recipients().version).toBe(before);
    await expectAccessible(page, 'recipients-conflict');
    await screenshot(page, 'view-recipients-conflict');
    await page.getByRole('button', { name: 'Tải lại bản mới nhất' }).click();
    await expect.poll(() => page.getByTestId('recipients-version').innerText()).toContain(`Phiên bản ${before}`);
    await page.close();
  });

  it('rules: edited as YAML, with parse errors at line and column', async () => {
    const page = await adminPage('/rules');
    await expect.poll(() => page.getByTestId('rules-version').innerText()).toContain('Phiên bản');
    await page.getByTestId('rules-format').getByLabel('YAML').check();
    const editor = page.getByLabel('Bộ quy tắc (YAML: danh sách các quy tắc)');
    await expect.poll(() => editor.inputValue()).toContain('- id: pm25-high');
    await editor.fill('- id: noise-night\n  kind: noise_meter\n  kind: air_station\n');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toMatch(/YAML không hợp lệ \(dòng 3, cột 3\)/);
    await editor.fill('- id: noise-night\n  kind: noise_meter\n');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toContain('Hợp lệ: 1');
    await expectAccessible(page, 'rules-yaml');
    await screenshot(page, 'view-rules-yaml');
    await page.close();
  });

  for (const role of ['viewer', 'operator'] as const) {
    it(`a ${role} sees no admin editors and is refused by the screens and the API`, async () => {
      const page = await env.browser.newPage();
      await login(page, env.server.url, role);
      const nav = page.getByRole('navigation', { name: 'Điều hướng chính' });
      await expect.poll(() => nav.getByRole('link').allInnerTexts()).toContain('Tổng quan');
      const links = await nav.getByRole('link').allInnerTexts();
      expect(links).not.toContain('Người nhận cảnh báo');
      expect(links).not.toContain('Thiết bị');
      for (const path of ['/admin/recipients', '/admin/devices']) {
        await page.goto(`${env.server.url}${path}`);
        await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('không có quyền');
      }
      const status = await page.evaluate(async () => (await fetch('/api/admin/recipients')).status);
      expect(status).toBe(403);
      await page.close();
    });
  }
});
