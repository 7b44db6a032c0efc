import { isHostAllowed } from './allowedHosts';

describe('isHostAllowed', () => {
  it('allows everything without a list, and only listed hosts with one', () => {
    expect(isHostAllowed('evil.internal', undefined)).toBe(true);
    const list = ['ghcr.io', '*.example.com', 'localhost:5000', 'docker.io'];
    expect(isHostAllowed('ghcr.io', list)).toBe(true);
    expect(isHostAllowed('ghcr.io:443', list)).toBe(true);
    expect(isHostAllowed('a.example.com', list)).toBe(true);
    expect(isHostAllowed('example.com', list)).toBe(false);
    expect(isHostAllowed('localhost:5000', list)).toBe(true);
    expect(isHostAllowed('localhost:5001', list)).toBe(false);
    expect(isHostAllowed('index.docker.io', list)).toBe(true);
    expect(isHostAllowed('169.254.169.254', list)).toBe(false);
  });
});
