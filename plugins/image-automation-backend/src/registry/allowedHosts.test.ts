import { isHostAllowed } from './allowedHosts';

describe('isHostAllowed', () => {
  it('allows nothing without a list or with an empty one (fails closed, #13)', () => {
    for (const host of [
      'evil.internal',
      '169.254.169.254',
      '127.0.0.1:5000',
      'ghcr.io',
      '[::1]:80',
    ]) {
      expect(isHostAllowed(host, undefined)).toBe(false);
      expect(isHostAllowed(host, [])).toBe(false);
    }
  });

  it("allows every host with '*' only, not with '*.' patterns or blanks", () => {
    for (const host of [
      'evil.internal',
      '169.254.169.254',
      '127.0.0.1:5000',
      'ghcr.io',
      '[::1]:80',
    ]) {
      expect(isHostAllowed(host, ['*'])).toBe(true);
      expect(isHostAllowed(host, [' * '])).toBe(true);
    }
    expect(isHostAllowed('example.com', ['*.example.com'])).toBe(false);
    expect(isHostAllowed('evil.internal', [''])).toBe(false);
    expect(isHostAllowed('evil.internal', ['*:5000'])).toBe(false);
  });

  it('allows only listed hosts with a list', () => {
    const list = ['ghcr.io', '*.example.com', 'localhost:5000', 'docker.io'];
    expect(isHostAllowed('ghcr.io', list)).toBe(true);
    expect(isHostAllowed('ghcr.io:443', list)).toBe(true);
    expect(isHostAllowed('a.example.com', list)).toBe(true);
    expect(isHostAllowed('example.com', list)).toBe(false);
    expect(isHostAllowed('localhost:5000', list)).toBe(true);
    expect(isHostAllowed('localhost:5001', list)).toBe(false);
    expect(isHostAllowed('index.docker.io', list)).toBe(true);
    expect(isHostAllowed('169.254.169.254', list)).toBe(false);
    // `127.0.0.1` allows that address on any port (the test bed's registries use random ports).
    expect(isHostAllowed('127.0.0.1:39123', ['127.0.0.1'])).toBe(true);
    expect(isHostAllowed('127.0.0.2:39123', ['127.0.0.1'])).toBe(false);
  });
});
