'use client';

import { useEffect, useState, useTransition } from 'react';
import { signOut } from '../app/actions.ts';
import { closeReplica, useActivePhoneBooks, useSyncStatus } from '../client/carburetor.ts';
import { trpc } from '../client/trpc.ts';
import { AddContactForm } from './add-contact-form.tsx';
import { ContactItem } from './contact-item.tsx';
import { FirstSyncProgress } from './first-sync-progress.tsx';
import { SyncBadge } from './sync-badge.tsx';

type Tab = 'mine' | 'directory';

export function PhoneBook({ userId }: { userId: string }) {
  const [tab, setTab] = useState<Tab>('mine');
  const [search, setSearch] = useState('');
  const term = search.trim();
  // A local SQL query on the replica: instant, offline too, refreshed on every change.
  const contacts = useActivePhoneBooks((q) => {
    const query = term
      ? q.where((eb) =>
          eb.or([
            eb('name', 'like', `%${term}%`),
            eb('phone_number', 'like', `%${term}%`),
            eb('note', 'like', `%${term}%`),
          ]),
        )
      : q;
    return query.orderBy('name').orderBy('id');
  });
  const rows = contacts.data ?? [];
  const mine = rows.filter((c) => c.owner_id === userId);
  const directory = rows.filter((c) => c.published);
  const shown = tab === 'mine' ? mine : directory;

  return (
    <div className="app" data-ready={contacts.status === 'success' ? 'true' : 'false'}>
      <header className="topbar">
        <h1>
          <span className="logo" aria-hidden="true">
            ☎
          </span>{' '}
          Phone book
        </h1>
        <div className="topbar-right">
          <SyncBadge userId={userId} />
          <UserMenu userId={userId} />
        </div>
      </header>

      <main className="content">
        <FirstSyncProgress />
        <AddContactForm userId={userId} />

        <section className="card list-card" aria-label="Contacts">
          <div className="list-head">
            <div className="tabs" role="tablist">
              <button
                type="button"
                role="tab"
                aria-selected={tab === 'mine'}
                onClick={() => setTab('mine')}
              >
                My contacts <span className="count">{mine.length}</span>
              </button>
              <button
                type="button"
                role="tab"
                aria-selected={tab === 'directory'}
                onClick={() => setTab('directory')}
              >
                Directory <span className="count">{directory.length}</span>
              </button>
            </div>
            <input
              type="search"
              className="search"
              data-testid="search"
              placeholder="Search name, phone or note"
              aria-label="Search contacts"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
          {contacts.status === 'pending' ? (
            <p className="empty">Opening your phone book…</p>
          ) : contacts.status === 'error' ? (
            <p className="empty error-text">
              Could not read the phone book: {contacts.error.message}
            </p>
          ) : shown.length === 0 ? (
            <p className="empty">
              {term
                ? `Nothing matches “${term}”.`
                : tab === 'mine'
                  ? 'No contacts yet. Add one above: it is saved here at once and synced when you are online.'
                  : 'Nobody has listed a contact in the directory yet.'}
            </p>
          ) : (
            <ul className="contacts">
              {shown.map((contact) => (
                <ContactItem key={contact.id} contact={contact} userId={userId} />
              ))}
            </ul>
          )}
        </section>
        <ServerFooter />
      </main>
    </div>
  );
}

function UserMenu({ userId }: { userId: string }) {
  const status = useSyncStatus();
  const [signingOut, startSignOut] = useTransition();
  return (
    <div className="user">
      <span className="avatar small" aria-hidden="true">
        {userId.slice(0, 1).toUpperCase()}
      </span>
      <span data-testid="user-id">{userId}</span>
      <button
        type="button"
        disabled={signingOut}
        onClick={() => {
          if (
            status.pendingCount > 0 &&
            !status.online &&
            !window.confirm(
              `${status.pendingCount} change(s) are not uploaded yet and will be lost. Sign out anyway?`,
            )
          ) {
            return;
          }
          startSignOut(async () => {
            await closeReplica(userId);
            await signOut();
            window.location.assign('/');
          });
        }}
      >
        {signingOut ? 'Signing out…' : 'Sign out'}
      </button>
    </div>
  );
}

/** One of the app's own tRPC queries, beside the sync router on the same endpoint. */
function ServerFooter() {
  const whoami = trpc.whoami.useQuery(undefined, { staleTime: Number.POSITIVE_INFINITY });
  const stats = trpc.stats.useQuery(undefined, { retry: false });
  // Asked again after each sync: the server's count changes when uploads land.
  const { lastSyncedAt } = useSyncStatus();
  const { refetch } = stats;
  useEffect(() => {
    if (lastSyncedAt) void refetch();
  }, [lastSyncedAt, refetch]);
  return (
    <footer className="footer muted small">
      Server database: {whoami.data?.database ?? '…'} ·{' '}
      {stats.data
        ? `${stats.data.total} contacts stored, ${stats.data.published} in the directory`
        : stats.isError
          ? 'unreachable right now; your changes are kept on this device'
          : '…'}
    </footer>
  );
}
