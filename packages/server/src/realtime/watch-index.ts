import type { ResolvedGroup } from '@carburetor/core';
import type { ContextValues } from '../download/download.ts';
import { notifyScopeKey } from '../schema/notify-trigger.ts';
import { restrictionValueText, type TableChange } from './change-message.ts';

/** One subscriber's interest in one SQL table, under one of its table keys. */
export interface Watch<S> {
  readonly subscriber: S;
  readonly tableKey: string;
  readonly sqlName: string;
  /** Its scope's key: a restriction column (`r`), `<filter key>:<column or ''>` (`s`), or ''. */
  readonly scope: string;
  /** Its restriction value as PostgreSQL prints it; undefined when unrestricted. */
  readonly value: string | undefined;
}

/** Everyone who listens to one SQL table, by scope key. */
interface TableWatchers<S> {
  /** scope key → watches of unrestricted groups. */
  readonly open: Map<string, Set<Watch<S>>>;
  /** scope key → restriction value → watches. */
  readonly restricted: Map<string, Map<string, Set<Watch<S>>>>;
}

/**
 * Who listens to what: subscribers filed by SQL table, scope and restriction
 * value, so a notification finds the subscribers it concerns without
 * looking at the others.
 */
export class WatchIndex<S> {
  readonly #tables = new Map<string, TableWatchers<S>>();

  /** Files a subscriber of `group` with its context values; returns its watches, for {@link remove}. */
  add(subscriber: S, group: ResolvedGroup, contextValues: ContextValues): Watch<S>[] {
    const watches: Watch<S>[] = [];
    for (const entry of group.tables) {
      const { sqlName, key: tableKey } = entry.table;
      let watchers = this.#tables.get(sqlName);
      if (!watchers) {
        watchers = { open: new Map(), restricted: new Map() };
        this.#tables.set(sqlName, watchers);
      }
      const restriction = entry.restrictTo;
      const filtered = entry.filter !== undefined && Object.keys(entry.filter).length > 0;
      const scope = filtered
        ? notifyScopeKey(entry.filter!, restriction?.column)
        : (restriction?.column ?? '');
      if (!restriction) {
        const watch: Watch<S> = { subscriber, tableKey, sqlName, scope, value: undefined };
        setIn(watchers.open, scope).add(watch);
        watches.push(watch);
        continue;
      }
      const column = entry.table.column[restriction.column];
      const value = restrictionValueText(column?.kind, contextValues[restriction.context]!);
      let byValue = watchers.restricted.get(scope);
      if (!byValue) {
        byValue = new Map();
        watchers.restricted.set(scope, byValue);
      }
      const watch: Watch<S> = { subscriber, tableKey, sqlName, scope, value };
      setIn(byValue, value).add(watch);
      watches.push(watch);
    }
    return watches;
  }

  remove(watches: readonly Watch<S>[]): void {
    for (const watch of watches) {
      const watchers = this.#tables.get(watch.sqlName);
      if (!watchers) continue;
      if (watch.value === undefined) {
        const set = watchers.open.get(watch.scope);
        set?.delete(watch);
        if (set?.size === 0) watchers.open.delete(watch.scope);
      } else {
        const byValue = watchers.restricted.get(watch.scope);
        const set = byValue?.get(watch.value);
        set?.delete(watch);
        if (set?.size === 0) byValue?.delete(watch.value);
        if (byValue?.size === 0) watchers.restricted.delete(watch.scope);
      }
      if (watchers.open.size === 0 && watchers.restricted.size === 0) {
        this.#tables.delete(watch.sqlName);
      }
    }
  }

  /** Calls `hit` for every watch a table change concerns. */
  match(payload: TableChange, hit: (watch: Watch<S>) => void): void {
    const watchers = this.#tables.get(payload.t);
    if (!watchers) return;
    for (const [scope, set] of watchers.open) {
      // A filtered scope the payload says nothing of (an older trigger) concerns everyone.
      if (scope !== '' && payload.s?.[scope] === false) continue;
      for (const watch of set) hit(watch);
    }
    for (const [scope, byValue] of watchers.restricted) {
      const values = scope.includes(':') ? payload.s?.[scope] : payload.r?.[scope];
      if (Array.isArray(values)) {
        for (const value of values) {
          const set = byValue.get(value);
          if (set) for (const watch of set) hit(watch);
        }
      } else {
        // "*" (too many to list), or a payload without the scope: everyone.
        for (const set of byValue.values()) for (const watch of set) hit(watch);
      }
    }
  }

  /** Calls `hit` for every watch (changes may have been missed, or a message was unreadable). */
  matchAll(hit: (watch: Watch<S>) => void): void {
    for (const watchers of this.#tables.values()) {
      for (const set of watchers.open.values()) for (const watch of set) hit(watch);
      for (const byValue of watchers.restricted.values()) {
        for (const set of byValue.values()) for (const watch of set) hit(watch);
      }
    }
  }

  clear(): void {
    this.#tables.clear();
  }
}

/** The set filed under `key`, made on first use. */
function setIn<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}
