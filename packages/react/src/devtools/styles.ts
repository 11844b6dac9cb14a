import type { CSSProperties } from 'react';

// Inline styles: the panel needs no CSS file, so no bundler setting, and
// cannot clash with the app's stylesheet.
const mono = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

export const styles = {
  toggle: {
    position: 'fixed',
    bottom: 12,
    right: 12,
    zIndex: 2147483646,
    font: `12px ${mono}`,
    padding: '6px 10px',
    borderRadius: 6,
    border: '1px solid #334155',
    background: '#0f172a',
    color: '#e2e8f0',
    cursor: 'pointer',
  },
  panel: {
    position: 'fixed',
    left: 0,
    right: 0,
    bottom: 0,
    height: '42vh',
    zIndex: 2147483647,
    display: 'flex',
    flexDirection: 'column',
    background: '#0f172a',
    color: '#e2e8f0',
    font: `12px ${mono}`,
    borderTop: '2px solid #334155',
  },
  header: {
    display: 'flex',
    gap: 4,
    alignItems: 'center',
    padding: '4px 8px',
    borderBottom: '1px solid #334155',
    flexWrap: 'wrap',
  },
  tab: { padding: '3px 8px', border: 0, borderRadius: 4, cursor: 'pointer', font: 'inherit' },
  body: { overflow: 'auto', padding: 8, flex: 1 },
  table: { borderCollapse: 'collapse', width: '100%' },
  cell: {
    borderBottom: '1px solid #1e293b',
    padding: '2px 6px',
    textAlign: 'left',
    verticalAlign: 'top',
  },
  muted: { color: '#94a3b8' },
  error: { color: '#f87171' },
  button: {
    font: 'inherit',
    padding: '2px 8px',
    borderRadius: 4,
    border: '1px solid #475569',
    background: '#1e293b',
    color: '#e2e8f0',
    cursor: 'pointer',
  },
  input: {
    font: 'inherit',
    width: '100%',
    minHeight: 48,
    boxSizing: 'border-box',
    background: '#020617',
    color: '#e2e8f0',
    border: '1px solid #475569',
    borderRadius: 4,
    padding: 6,
  },
} satisfies Record<string, CSSProperties>;

/** A tab button's style: the selected one stands out. */
export function tabStyle(selected: boolean): CSSProperties {
  return { ...styles.tab, background: selected ? '#334155' : 'transparent', color: '#e2e8f0' };
}
