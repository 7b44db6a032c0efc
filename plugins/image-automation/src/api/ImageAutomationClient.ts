import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AutomationObjectView,
  IMAGE_AUTOMATION_PLUGIN_ID,
  ObjectAction,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageAutomationApi, ObjectRef } from './ImageAutomationApi';

/**
 * {@link ImageAutomationApi} over HTTP: the backend's base URL comes from discovery and requests go
 * through the fetch API, which adds the user's Backstage token.
 * @public
 */
export class ImageAutomationClient implements ImageAutomationApi {
  private readonly discoveryApi: Pick<DiscoveryApi, 'getBaseUrl'>;
  private readonly fetchApi: Pick<FetchApi, 'fetch'>;

  constructor(options: {
    discoveryApi: Pick<DiscoveryApi, 'getBaseUrl'>;
    fetchApi: Pick<FetchApi, 'fetch'>;
  }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async getEntityObjects(entity: ObjectRef): Promise<AutomationObjectView[]> {
    const body = await this.request<{ items: AutomationObjectView[] }>(
      `/entities/${refPath(entity)}/objects`,
    );
    return body.items;
  }

  async getScans(
    object: ObjectRef,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ScanRecord>> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const search = query.toString();
    return this.request<Page<ScanRecord>>(
      `/objects/${refPath(object)}/scans${search ? `?${search}` : ''}`,
    );
  }

  async runAction(
    object: ObjectRef,
    action: ObjectAction,
  ): Promise<AutomationObjectView> {
    return this.request<AutomationObjectView>(
      `/objects/${refPath(object)}/${action}`,
      { method: 'POST' },
    );
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl(
      IMAGE_AUTOMATION_PLUGIN_ID,
    );
    const response = await this.fetchApi.fetch(`${baseUrl}${path}`, init);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}

function refPath(ref: ObjectRef): string {
  return [ref.kind, ref.namespace, ref.name].map(encodeURIComponent).join('/');
}
