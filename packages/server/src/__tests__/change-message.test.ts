import { describe, expect, it } from 'vitest';
import {
  changeMessageOrigin,
  decodeChangeMessage,
  encodeChangeMessage,
} from '../realtime/change-message.ts';

describe('change messages', () => {
  const changes = [{ t: 'contacts', r: { owner_id: ['u1', 'u2'] } }];

  it('carry the sending hub, which the hub reads back to skip its own', () => {
    const text = encodeChangeMessage(changes, undefined, 'hub-1');
    expect(changeMessageOrigin(text)).toBe('hub-1');
    expect(decodeChangeMessage(text)).toEqual(changes);
  });

  it('without an origin (older instances, the notify triggers) nobody skips them', () => {
    expect(changeMessageOrigin(encodeChangeMessage(changes))).toBeUndefined();
    expect(changeMessageOrigin('{"t":"contacts"}')).toBeUndefined();
    expect(changeMessageOrigin('not json')).toBeUndefined();
  });

  it('keep the origin when values give way to fit the bus', () => {
    const many = [
      { t: 'contacts', r: { owner_id: Array.from({ length: 100 }, (_, i) => `user-${i}`) } },
    ];
    const text = encodeChangeMessage(many, 200, 'hub-1');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(200);
    expect(changeMessageOrigin(text)).toBe('hub-1');
    expect(decodeChangeMessage(text)).toEqual([{ t: 'contacts', r: { owner_id: '*' } }]);
  });
});
