import { splitImageRef } from './splitImageRef';

describe('splitImageRef', () => {
  it.each([
    [
      'ghcr.io/acme/app:1.0.0',
      { repository: 'ghcr.io/acme/app', tag: '1.0.0' },
    ],
    ['localhost:5000/app:v2', { repository: 'localhost:5000/app', tag: 'v2' }],
    ['localhost:5000/app', { repository: 'localhost:5000/app' }],
    [
      'app:1.0@sha256:0123',
      { repository: 'app', tag: '1.0', digest: 'sha256:0123' },
    ],
    ['app@sha256:0123', { repository: 'app', digest: 'sha256:0123' }],
  ])('%s', (input, expected) => {
    expect(splitImageRef(input)).toEqual(expected);
  });
});
