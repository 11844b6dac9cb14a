// What a user does in the demo, and what they see, as page helpers.
import type { Locator, Page } from 'playwright-core';

/** Long enough for a realtime poke, short enough that the interval (15 s) does not hide a miss. */
export const SYNC_WAIT_MS = 8_000;

export interface ContactInput {
  name: string;
  phone?: string;
  note?: string;
  published?: boolean;
}

/** Opens the demo and waits until the phone book shows the replica's contents. */
export async function openApp(page: Page, origin: string): Promise<void> {
  await page.goto(origin);
  await waitReady(page);
}

export async function waitReady(page: Page): Promise<void> {
  await page.locator('[data-ready="true"]').waitFor({ timeout: 30_000 });
}

/** Signs in by name on the sign-in form (the page must show it), then waits for the app. */
export async function signIn(page: Page, origin: string, name: string): Promise<void> {
  if (!page.url().startsWith(origin)) await page.goto(origin);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitReady(page);
  await badge(page).and(page.locator(':not([data-last-synced=""])')).waitFor({ timeout: 30_000 });
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Your name').waitFor({ timeout: 30_000 });
}

export function badge(page: Page): Locator {
  return page.getByTestId('sync-badge');
}

/** Waits until nothing is waiting to upload and no sync is running. */
export async function waitSynced(page: Page, timeout = 20_000): Promise<void> {
  await page
    .locator('[data-testid="sync-badge"][data-pending="0"][data-phase="idle"][data-online="true"]')
    .waitFor({ timeout });
}

/** "Sync now" in the sync badge's panel. */
export async function syncNow(page: Page): Promise<void> {
  await badge(page).locator('.badge-main').click();
  await page.getByRole('button', { name: 'Sync now' }).click();
  await badge(page).locator('.badge-main').click();
}

export async function showTab(page: Page, tab: 'My contacts' | 'Directory'): Promise<void> {
  await page.getByRole('tab', { name: tab }).click();
}

export async function addContact(page: Page, contact: ContactInput): Promise<void> {
  const form = page.getByRole('form', { name: 'Add a contact' });
  await form.getByLabel('Name').fill(contact.name);
  await form.getByLabel('Phone').fill(contact.phone ?? '');
  await form.getByLabel('Note').fill(contact.note ?? '');
  await form.getByLabel('List in the directory').setChecked(contact.published ?? false);
  await form.getByRole('button', { name: 'Add contact' }).click();
  if (contact.name.trim() !== '') await contactRow(page, contact.name).waitFor();
}

export function contactRow(page: Page, name: string): Locator {
  return page.locator(`[data-testid="contact"][data-name="${name}"]`);
}

/** Edits the contact named `name`: only the fields given are changed. */
export async function editContact(
  page: Page,
  name: string,
  changes: { name?: string; phone?: string; note?: string; published?: boolean },
): Promise<void> {
  const row = contactRow(page, name);
  const id = await row.getAttribute('data-id');
  await row.getByRole('button', { name: 'Edit' }).click();
  const form = page.locator(`[data-testid="contact"][data-id="${id}"] form`);
  if (changes.name !== undefined) await form.getByLabel('Name').fill(changes.name);
  if (changes.phone !== undefined) await form.getByLabel('Phone').fill(changes.phone);
  if (changes.note !== undefined) await form.getByLabel('Note').fill(changes.note);
  if (changes.published !== undefined) {
    await form.getByLabel('List in the directory').setChecked(changes.published);
  }
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
}

export async function deleteContact(page: Page, name: string): Promise<void> {
  await contactRow(page, name).getByRole('button', { name: 'Delete' }).click();
  await contactRow(page, name).waitFor({ state: 'detached' });
}

/** The names the current tab lists, in order. */
export function shownNames(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="contact"]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name') ?? ''));
}

/** What a contact row shows. */
export async function shownContact(
  page: Page,
  name: string,
): Promise<{ phone: string; note: string | null }> {
  const row = contactRow(page, name);
  const phone = (await row.locator('.contact-phone').textContent()) ?? '';
  const note = row.locator('.contact-note');
  return { phone, note: (await note.count()) > 0 ? await note.textContent() : null };
}

/** A row of the replica, as the page's sync client reads it from OPFS. */
export interface ReplicaRow {
  id: string;
  owner_id: string;
  name: string;
  phone_number: string;
  note: string | null;
  published: boolean;
  is_deleted: boolean;
}

/** Every row of the signed-in user's replica (deleted ones too), read through the page. */
export function replicaRows(page: Page): Promise<ReplicaRow[]> {
  return page.evaluate(async () => {
    const handle = window.__carburetor;
    if (!handle) throw new Error('No sync client on this page (window.__carburetor).');
    const rows = await handle.client.db
      .selectFrom('phone_books')
      .select(['id', 'owner_id', 'name', 'phone_number', 'note', 'published', 'is_deleted'])
      .execute();
    return rows as ReplicaRow[];
  });
}
