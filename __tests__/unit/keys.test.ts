import { describe, it, expect } from '@jest/globals';
import { keys } from '../../lib/stores/keys.js';

describe('store keys', () => {
  it('keeps the grant record key of stored records (sess:{sid}) under its internal name keys.grant', () => {
    expect(keys.grant('abc')).toBe('sess:{abc}');
    expect(keys.vault('abc', 'crm')).toBe('vault:{abc}:crm');
  });
});
