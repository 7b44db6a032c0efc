import { isHostAllowed } from './allowedHosts';

// The corners of imageAutomation.allowedRegistries patterns: case, blanks, ports, IPv6 literals and
// what a `*.` wildcard may and may not stand for.
describe('allowedRegistries patterns', () => {
  it('compares names without regard to case or surrounding blanks', () => {
    expect(isHostAllowed('GHCR.io', ['ghcr.io'])).toBe(true);
    expect(isHostAllowed('ghcr.io', [' GHCR.IO '])).toBe(true);
    expect(isHostAllowed('A.Example.COM', ['*.example.com'])).toBe(true);
    expect(isHostAllowed('a.example.com', [' *.EXAMPLE.com:5000 '])).toBe(
      false,
    );
    expect(isHostAllowed('a.example.com:5000', [' *.EXAMPLE.com:5000 '])).toBe(
      true,
    );
  });

  it('binds a pattern with a port to that port only, also for wildcards', () => {
    expect(isHostAllowed('registry.local', ['registry.local:5000'])).toBe(
      false,
    );
    expect(isHostAllowed('registry.local:50000', ['registry.local:5000'])).toBe(
      false,
    );
    expect(isHostAllowed('a.example.com:5001', ['*.example.com:5000'])).toBe(
      false,
    );
  });

  it('matches IPv6 literals with and without a port', () => {
    expect(isHostAllowed('[::1]:5000', ['[::1]'])).toBe(true);
    expect(isHostAllowed('[::1]', ['[::1]'])).toBe(true);
    expect(isHostAllowed('[::1]:5000', ['[::1]:5000'])).toBe(true);
    expect(isHostAllowed('[::1]:5001', ['[::1]:5000'])).toBe(false);
    expect(isHostAllowed('[::1]', ['[::1]:5000'])).toBe(false);
    expect(isHostAllowed('[::2]:5000', ['[::1]'])).toBe(false);
    // A bracketed literal followed by a bare ':' has no port.
    expect(isHostAllowed('[::1]:', ['[::1]'])).toBe(true);
  });

  it('lets `*.` stand for one or more labels, never for nothing or a partial label', () => {
    expect(isHostAllowed('a.b.example.com', ['*.example.com'])).toBe(true);
    expect(isHostAllowed('.example.com', ['*.example.com'])).toBe(false);
    expect(isHostAllowed('evilexample.com', ['*.example.com'])).toBe(false);
    expect(isHostAllowed('example.com.evil.io', ['*.example.com'])).toBe(false);
  });

  it('widens docker.io to index.docker.io only, not the other way round', () => {
    expect(isHostAllowed('index.docker.io', ['docker.io'])).toBe(true);
    expect(isHostAllowed('docker.io', ['index.docker.io'])).toBe(false);
    expect(isHostAllowed('index.ghcr.io', ['ghcr.io'])).toBe(false);
    expect(isHostAllowed('index.docker.io', ['ghcr.io'])).toBe(false);
    expect(isHostAllowed('index.docker.io', ['*.ghcr.io', 'quay.io'])).toBe(
      false,
    );
  });

  it('keeps looking past patterns that do not match', () => {
    expect(
      isHostAllowed('ghcr.io', ['quay.io:443', '*.example.com', 'ghcr.io']),
    ).toBe(true);
  });
});
