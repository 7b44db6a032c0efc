import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** PEM files of a test certificate authority and what it signed. @public */
export interface TestCertificates {
  /** CA certificate (PEM text). */
  ca: string;
  caFile: string;
  /** Server certificate for 127.0.0.1, ::1 and localhost, and its key (paths). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate and key for mutual TLS (PEM text and paths). */
  clientCert: string;
  clientKey: string;
  clientCertFile: string;
  clientKeyFile: string;
}

async function openssl(dir: string, args: string[]) {
  await execFileAsync('openssl', args, { cwd: dir });
}

/**
 * Makes a fresh CA with openssl, a server certificate for the loopback addresses (and
 * `options.serverNames`, e.g. `*.azurecr.io` for a stand-in reached through a test resolver) and
 * a client certificate, all under `dir`.
 * @public
 */
export async function makeCertificates(
  dir: string,
  options: { serverNames?: string[] } = {},
): Promise<TestCertificates> {
  await fs.promises.mkdir(dir, { recursive: true });
  const ext = path.join(dir, 'server.ext');
  const names = (options.serverNames ?? [])
    .map(name => `,DNS:${name}`)
    .join('');
  await fs.promises.writeFile(
    ext,
    `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost${names}\nextendedKeyUsage=serverAuth\n`,
  );
  const clientExt = path.join(dir, 'client.ext');
  await fs.promises.writeFile(clientExt, 'extendedKeyUsage=clientAuth\n');
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=testbed CA',
  ]);
  await Promise.all(
    [
      ['server', ext, '2'],
      ['client', clientExt, '3'],
    ].map(async ([name, extFile, serial]) => {
      await openssl(dir, [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=testbed ${name}`,
      ]);
      await openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        serial,
        '-days',
        '2',
        '-extfile',
        extFile,
        '-out',
        `${name}.crt`,
      ]);
    }),
  );
  const read = (name: string) =>
    fs.promises.readFile(path.join(dir, name), 'utf8');
  return {
    ca: await read('ca.crt'),
    caFile: path.join(dir, 'ca.crt'),
    serverCertFile: path.join(dir, 'server.crt'),
    serverKeyFile: path.join(dir, 'server.key'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
  };
}
