import { type JSX, useEffect, useState } from 'react';
import type { InspectedClient } from './inspected-client.ts';
import { QuerySection } from './query-section.tsx';
import {
  ActivitySection,
  CursorsSection,
  PendingSection,
  RejectedSection,
  StatusSection,
} from './sections.tsx';
import { styles, tabStyle } from './styles.ts';
import { useInspectedStatus, useInspection } from './use-inspection.ts';

const TABS = ['Status', 'Pending', 'Rejected', 'Cursors', 'Activity', 'Query'] as const;
type Tab = (typeof TABS)[number];

/** Props of {@link CarburetorDevtools}. */
export interface CarburetorDevtoolsProps {
  /** The sync client to inspect, or the promise `createSyncClient` returned (null: nothing yet). */
  client: InspectedClient | Promise<InspectedClient> | null;
  /** Open at first render. Default false: a small button in the corner opens it. */
  initialIsOpen?: boolean;
  /**
   * Called by the panel's close button instead of folding it into the corner
   * button: for an app that opens the inspector with a toggle of its own.
   */
  onClose?: () => void;
}

function useClient(input: CarburetorDevtoolsProps['client']): InspectedClient | undefined {
  const [client, setClient] = useState<InspectedClient>();
  useEffect(() => {
    let current = true;
    Promise.resolve(input).then(
      (resolved) => current && setClient(resolved ?? undefined),
      () => current && setClient(undefined),
    );
    return () => {
      current = false;
    };
  }, [input]);
  return client;
}

/**
 * The Carburetor inspector: the sync status; pending rows with their dirty
 * columns and write times; rejected and quarantined rows with a discard
 * button; cursors per (group, table) with their last pass; a log of recent
 * sync requests; the replica's tables with a read-only query box. It reads
 * through the client's public API only. Mount it in development; it is
 * its own entry point, so a build that does not import it carries none of it.
 *
 * @example
 * ```tsx
 * import { CarburetorDevtools } from '@carburetor/react/devtools';
 *
 * {process.env.NODE_ENV === 'development' && <CarburetorDevtools client={client} />}
 * ```
 */
export function CarburetorDevtools({
  client: input,
  initialIsOpen = false,
  onClose,
}: CarburetorDevtoolsProps): JSX.Element | null {
  const [open, setOpen] = useState(initialIsOpen);
  const client = useClient(input);
  if (!open) {
    return (
      <button type="button" style={styles.toggle} onClick={() => setOpen(true)}>
        Carburetor
      </button>
    );
  }
  return (
    <section aria-label="Carburetor inspector" style={styles.panel}>
      {client ? (
        <Panel client={client} close={onClose ?? (() => setOpen(false))} />
      ) : (
        <p style={styles.muted}>Waiting for the sync client…</p>
      )}
    </section>
  );
}

function Panel({ client, close }: { client: InspectedClient; close(): void }) {
  const [tab, setTab] = useState<Tab>('Status');
  const status = useInspectedStatus(client);
  const { data } = useInspection(client);
  const counts: Partial<Record<Tab, number>> = {
    Pending: data.pending.length,
    Rejected: data.rejected.length,
  };
  return (
    <>
      <div role="tablist" style={styles.header}>
        <strong style={{ marginRight: 8 }}>Carburetor</strong>
        {TABS.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            style={tabStyle(tab === name)}
            onClick={() => setTab(name)}
          >
            {name}
            {counts[name] ? ` (${counts[name]})` : ''}
          </button>
        ))}
        <span style={{ flex: 1 }} />
        <button
          type="button"
          style={styles.button}
          onClick={() => void client.sync().catch(() => undefined)}
        >
          Sync now
        </button>
        <button
          type="button"
          style={styles.button}
          aria-label="Close the inspector"
          onClick={close}
        >
          ×
        </button>
      </div>
      <div role="tabpanel" aria-label={tab} style={styles.body}>
        {data.error ? <p style={styles.error}>{data.error}</p> : null}
        {tab === 'Status' && <StatusSection status={status} />}
        {tab === 'Pending' && <PendingSection data={data} />}
        {tab === 'Rejected' && <RejectedSection data={data} client={client} />}
        {tab === 'Cursors' && <CursorsSection data={data} />}
        {tab === 'Activity' && <ActivitySection data={data} />}
        {tab === 'Query' && <QuerySection client={client} />}
      </div>
    </>
  );
}
