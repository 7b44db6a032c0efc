import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FluxController, launchFluxController } from './fluxControllers';
import { freePort } from './freePort';
import { request } from './httpRequest';
import type { TestKubernetes } from './kube/kubernetes';

/**
 * The real Flux notification-controller, built from the Go module proxy
 * (`build-notification-controller.sh`), run against the test bed's kube-apiserver for the
 * comparison corpus of Alerts, Providers and Receivers (issue #18).
 */

/** The notification-controller release the comparison runs. @public */
export const NOTIFICATION_CONTROLLER_VERSION = 'v1.5.0';

/** What `build-notification-controller.sh` made. @public */
export interface NotificationControllerBuild {
  binary: string;
  /** The release's directory in the Go module cache (its `config/crd/bases` holds the CRDs). */
  moduleDir: string;
  buildInfo: string;
}

let build: NotificationControllerBuild | undefined;

/**
 * The notification-controller binary, built once per machine when missing (cold: minutes;
 * `scripts/test.sh` builds it before the jest pass). @public
 */
export function notificationControllerBuild(): NotificationControllerBuild {
  if (!build) {
    const dir = execFileSync(
      path.join(__dirname, 'build-notification-controller.sh'),
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          NOTIFICATION_CONTROLLER_VERSION,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
    const read = (name: string) =>
      fs.existsSync(path.join(dir, name))
        ? fs.readFileSync(path.join(dir, name), 'utf8').trim()
        : '';
    build = {
      binary: path.join(dir, 'notification-controller'),
      moduleDir: read('MODULE-DIR'),
      buildInfo: read('BUILD-INFO'),
    };
  }
  return build;
}

/** A running notification-controller: where its event and webhook receiver servers listen. @public */
export interface NotificationController extends FluxController {
  /** `http://127.0.0.1:PORT/`: POST Flux events (`event/v1beta1.Event` JSON) here, as the controllers' event recorders do. */
  eventsUrl: string;
  /** `http://127.0.0.1:PORT`: the Receivers' `/hook/<digest>` paths are below it. */
  receiverUrl: string;
}

/**
 * Starts notification-controller against `kube` (admin kubeconfig), watching all namespaces,
 * leader election off; its metrics, health, event and receiver servers all on 127.0.0.1 (free
 * ports). Ready when `/readyz` answers 200 and the event and receiver servers accept connections.
 * The CRDs are already installed by `startKubernetes` (same module version, `kube/versions.env`).
 * @public
 */
export async function startNotificationController(
  kube: TestKubernetes,
): Promise<NotificationController> {
  const [eventsPort, receiverPort] = [await freePort(), await freePort()];
  const eventsUrl = `http://127.0.0.1:${eventsPort}/`;
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;
  const controller = await launchFluxController({
    name: 'notification-controller',
    version: NOTIFICATION_CONTROLLER_VERSION,
    binary: notificationControllerBuild().binary,
    kube,
    args: () => [
      `--events-addr=127.0.0.1:${eventsPort}`,
      `--receiverAddr=127.0.0.1:${receiverPort}`,
      '--enable-leader-election=false',
      '--watch-all-namespaces=true',
      '--log-encoding=json',
      '--log-level=info',
    ],
    ready: async () =>
      // Any answer (404 for an unknown path) says the server listens.
      (
        await request(`${receiverUrl}/hook/ready`, { method: 'POST' })
      ).status === 404 &&
      // An empty body is not an event: 400 once the event server listens.
      (await request(eventsUrl, { method: 'POST', body: '' })).status === 400,
  });
  return { ...controller, eventsUrl, receiverUrl };
}
